import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import { join } from 'node:path';
import { isLoopback, MQTT_USERNAME } from '../eventbus/credentials.ts';
import type { MapperChild, MapperExit, MapperLaunch, MapperSpawner } from './supervisor.ts';

/**
 * The kedge command line the edge itself runs from: the Node.js executable, its options, and the
 * CLI's main module (`[process.execPath, ...process.execArgv, process.argv[1]]` in `kedge edge`).
 */
export interface KedgeExecutable {
  readonly file: string;
  readonly args: readonly string[];
}

/** Longest partial line kept while waiting for its end. */
const MAX_PARTIAL_CHARS = 16 * 1024;

/**
 * Starts mappers as child processes of the edge: `<file> <args> mapper <protocol> ...` with the
 * edge's environment plus the launch's.
 *
 * stdin is a pipe the edge never writes to and never closes: the mapper runs with
 * `--stop-on-stdin-close`, and the kernel closes the edge's end however the edge ends, a kill -9
 * included. That is the one signal that holds in every case: the mapper's MQTT connection does not
 * drop with the edge when the broker is external (mosquitto), and a mapper's parent pid changes only
 * once it has been re-parented, which a mapper would have to poll for. (Node's pipes are close-on-exec,
 * so no other process the edge starts holds the pipe open.)
 */
export function processSpawner(kedge: KedgeExecutable, env: NodeJS.ProcessEnv = process.env): MapperSpawner {
  return (launch: MapperLaunch, onLine: (line: string) => void): MapperChild => {
    const child = spawn(kedge.file, [...kedge.args, ...launch.args], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...env, ...launch.env } });
    // A mapper that exits closes its end: writing is never attempted, but the stream still reports it.
    child.stdin.on('error', () => undefined);
    splitLines(child.stdout, onLine);
    splitLines(child.stderr, onLine);
    const exited = new Promise<MapperExit>((resolve) => {
      child.once('exit', (code, signal) => resolve({ code, signal }));
      // Spawning failed (ENOENT, EAGAIN): no process, and no 'exit' to wait for.
      child.once('error', (error) => {
        if (child.pid === undefined) resolve({ code: null, signal: null, error });
      });
    });
    return {
      pid: child.pid,
      exited,
      kill: (signal) => {
        if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      },
    };
  };
}

function splitLines(stream: Readable, onLine: (line: string) => void): void {
  let partial = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) onLine(line);
    if (partial.length > MAX_PARTIAL_CHARS) {
      onLine(partial);
      partial = '';
    }
  });
  stream.on('end', () => {
    if (partial !== '') onLine(partial);
    partial = '';
  });
  stream.on('error', () => undefined);
}

/** What a mapper started by the edge needs to know of it. */
export interface MapperLaunchConfig {
  readonly nodeName: string;
  readonly dataDir: string;
  readonly logLevel: string;
  /** The EventBus as started: its mode and where clients on this host connect (without credentials). */
  readonly bus: { readonly mode: 'embedded' | 'external'; readonly url: string };
  /** `--mqtt-external` as given, credentials included. */
  readonly mqttExternal: string | undefined;
}

/**
 * The `kedge mapper` command line for `protocol`: this node, the edge's log level, an OPC UA PKI
 * under the data dir, and the EventBus the edge uses. For the embedded broker that is its address
 * (loopback needs no credentials; beyond loopback the mapper logs in as `kedge` with the password
 * file in the data dir); for an external broker it is the same URL the edge uses, passed in the
 * environment when it carries credentials so they do not show in `ps`.
 */
export function mapperLaunch(c: MapperLaunchConfig, protocol: string): MapperLaunch {
  const args = ['mapper', protocol, '--node', c.nodeName, '--log-level', c.logLevel, '--pki-dir', join(c.dataDir, 'mapper-pki', protocol), '--stop-on-stdin-close'];
  const env: Record<string, string> = {};
  const external = c.bus.mode === 'external' ? c.mqttExternal : undefined;
  if (external !== undefined && hasCredentials(external)) env['KEDGE_MAPPER_MQTT'] = external;
  else args.push('--mqtt', c.bus.url);
  if (c.bus.mode === 'embedded' && !isLoopback(hostOf(c.bus.url))) args.push('--mqtt-username', MQTT_USERNAME, '--mqtt-password-file', join(c.dataDir, 'mqtt-password'));
  return { args, env };
}

function hasCredentials(url: string): boolean {
  try {
    const u = new URL(url);
    return u.username !== '' || u.password !== '';
  } catch {
    return false;
  }
}

function hostOf(url: string): string | undefined {
  try {
    return new URL(url).hostname.replace(/^\[|\]$/g, '');
  } catch {
    return undefined;
  }
}
