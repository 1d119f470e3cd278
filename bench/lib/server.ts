// Starts `bin/kedge cloud` as a child process on a temporary data dir and a free port, so the
// benchmark can load it over HTTPS and read its memory and CPU from /proc without measuring itself.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, existsSync, mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

/** The kedge executable; KEDGE_BENCH_KEDGE points at another build (say, a worktree of an older commit) to compare. */
const KEDGE = process.env['KEDGE_BENCH_KEDGE'] || fileURLToPath(new URL('../../bin/kedge', import.meta.url));
/** Linux reports process CPU times in clock ticks; 100 per second on every platform Node.js supports. */
const CLOCK_TICKS = 100;
/** Lines of server stderr kept for the failure report. */
const STDERR_LINES = 200;

/** The admin credential and endpoint from `<data-dir>/kubeconfig`. */
export interface AdminCredential {
  readonly server: URL;
  readonly ca: Buffer;
  readonly cert: Buffer;
  readonly key: Buffer;
}

export interface ServerOptions {
  /** Extra Node.js options for the server, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof` or `--trace-gc`. */
  readonly nodeOptions?: string;
  /** Keep the data dir after `stop()` (its path is printed). */
  readonly keepDataDir?: boolean;
  /** How long to wait for the port, the kubeconfig and /readyz. @default 60_000 */
  readonly startTimeoutMs?: number;
  /** Also copy the server's stdout and stderr to this file (say, for `--trace-gc` output). */
  readonly logFile?: string;
}

/** Memory of a process, from /proc/<pid>/status. */
export interface MemoryUsage {
  /** Resident set size now, bytes. */
  readonly rss: number;
  /** Peak resident set size, bytes. */
  readonly peak: number;
}

/** A running `kedge cloud` child process. */
export class CloudServer {
  readonly dataDir: string;
  /** performance.now() when the process was spawned: its CPU profile's time zero, near enough. */
  readonly spawnedAt = performance.now();
  readonly #child: ChildProcess;
  readonly #options: ServerOptions;
  readonly #stderr: string[] = [];
  #exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  #port = 0;
  #fatal: string | undefined;

  private constructor(dataDir: string, child: ChildProcess, options: ServerOptions) {
    this.dataDir = dataDir;
    this.#child = child;
    this.#options = options;
    let partial = '';
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop()!;
      for (const line of lines) {
        this.#stderr.push(line);
        if (this.#stderr.length > STDERR_LINES) this.#stderr.shift();
        const m = /serving on port (\d+)/.exec(line);
        if (m !== null) this.#port = Number(m[1]);
        // The CLI's fatal error; the process may linger after it, so do not wait for its exit.
        if (line.startsWith('kedge: ') && this.#fatal === undefined) this.#fatal = line;
      }
    });
    if (options.logFile !== undefined) {
      const log = createWriteStream(options.logFile);
      child.stdout!.pipe(log, { end: false });
      child.stderr!.pipe(log, { end: false });
      child.once('exit', () => log.end());
    } else {
      child.stdout!.resume();
    }
    child.once('exit', (code, signal) => {
      this.#exited = { code, signal };
    });
  }

  /**
   * Starts the server and resolves once it answers /readyz with 200 and has written its kubeconfig.
   * Rejects (after stopping the child and removing the data dir) if it exits or is not ready in time.
   */
  static async start(options: ServerOptions = {}): Promise<CloudServer> {
    const dataDir = mkdtempSync(join(tmpdir(), 'kedge-bench-'));
    const args = ['cloud', '--data-dir', dataDir, '--api-port', '0', '--bind-address', '127.0.0.1', '--log-level', 'warn'];
    // Every listener on a free port, so runs never collide with another cloud on this machine;
    // older builds (KEDGE_BENCH_KEDGE) may not have all of these flags yet.
    const help = spawnSync(KEDGE, ['cloud', '--help'], { encoding: 'utf8', timeout: 30_000 }).stdout ?? '';
    for (const flag of ['--hub-port', '--join-port']) if (help.includes(flag)) args.push(flag, '0');
    const [file, argv, env] = command(args, options.nodeOptions);
    const child = spawn(file, argv, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const server = new CloudServer(dataDir, child, options);
    try {
      await server.#waitReady(options.startTimeoutMs ?? 60_000);
      return server;
    } catch (err) {
      await server.stop();
      throw err;
    }
  }

  get pid(): number {
    return this.#child.pid!;
  }

  get port(): number {
    return this.#port;
  }

  /** Whether the child is still running. */
  get running(): boolean {
    return this.#exited === undefined;
  }

  /** The last lines the server wrote to stderr, for failure reports. */
  stderrTail(lines = 40): string {
    return this.#stderr.slice(-lines).join('\n');
  }

  /** Throws, with the server's last stderr lines, if the child has exited. */
  assertRunning(): void {
    if (this.#exited === undefined) return;
    throw new Error(`kedge cloud exited (code ${this.#exited.code}, signal ${this.#exited.signal}); its stderr ended with:\n${this.stderrTail()}`);
  }

  /** Reads the admin kubeconfig the server wrote. */
  credential(): AdminCredential {
    return readKubeconfig(join(this.dataDir, 'kubeconfig'));
  }

  memory(): MemoryUsage {
    const status = readFileSync(`/proc/${this.pid}/status`, 'utf8');
    const kib = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN) * 1024;
    return { rss: kib('VmRSS'), peak: kib('VmHWM') };
  }

  /** CPU seconds (user + system) the server has used so far. */
  cpuSeconds(): number {
    const stat = readFileSync(`/proc/${this.pid}/stat`, 'utf8');
    // Fields after the parenthesised command name, which may itself contain spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  }

  /** SIGTERM, then SIGKILL if the server has not exited in time; removes the data dir unless kept. */
  async stop(): Promise<void> {
    if (this.#exited === undefined) {
      const exited = once(this.#child, 'exit');
      this.#child.kill('SIGTERM');
      // A CPU profile of a large run takes a while to write.
      const grace = this.#options.nodeOptions?.includes('prof') === true ? 120_000 : 15_000;
      const timer = setTimeout(() => this.#child.kill('SIGKILL'), grace);
      await exited;
      clearTimeout(timer);
    }
    if (this.#options.keepDataDir === true) console.log(`server data dir kept: ${this.dataDir}`);
    else rmSync(this.dataDir, { recursive: true, force: true });
  }

  async #waitReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const kubeconfig = join(this.dataDir, 'kubeconfig');
    for (;;) {
      this.assertRunning();
      if (this.#fatal !== undefined && this.#port === 0) throw new Error(`kedge cloud failed to start: ${this.#fatal}\n${this.stderrTail()}`);
      if (this.#port !== 0 && existsSync(kubeconfig) && (await this.#readyz())) return;
      if (Date.now() > deadline) throw new Error(`kedge cloud was not ready after ${timeoutMs} ms; its stderr ended with:\n${this.stderrTail()}`);
      // Polling is the only way to learn readiness of another process; /readyz is built for it.
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async #readyz(): Promise<boolean> {
    try {
      const res = await fetchReadyz(this.#port);
      return res === 200;
    } catch {
      return false;
    }
  }
}

/**
 * The command line that runs kedge with `args`. With Node.js options, kedge's own entry point is run
 * on its own Node.js directly (what bin/kedge does), since options such as --trace-gc are not
 * allowed in NODE_OPTIONS; an executable without that layout gets them through NODE_OPTIONS.
 */
function command(args: string[], nodeOptions: string | undefined): [string, string[], NodeJS.ProcessEnv] {
  if (nodeOptions === undefined || nodeOptions.trim() === '') return [KEDGE, args, process.env];
  const root = dirname(dirname(realpathSync(KEDGE)));
  const node = join(root, 'node_modules', '.bin', 'node');
  const main = join(root, 'src', 'cli', 'main.ts');
  if (existsSync(node) && existsSync(main)) return [node, ['--disable-warning=ExperimentalWarning', ...nodeOptions.trim().split(/\s+/), main, ...args], process.env];
  return [KEDGE, args, { ...process.env, NODE_OPTIONS: [process.env['NODE_OPTIONS'], nodeOptions].filter(Boolean).join(' ') }];
}

function fetchReadyz(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = https.get({ host: '127.0.0.1', port, path: '/readyz', rejectUnauthorized: false, timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

interface KubeconfigFile {
  'current-context'?: string;
  contexts?: { name: string; context: { cluster: string; user: string } }[];
  clusters?: { name: string; cluster: { server: string; 'certificate-authority-data'?: string } }[];
  users?: { name: string; user: { 'client-certificate-data'?: string; 'client-key-data'?: string } }[];
}

/** Reads the current context's server, CA and client certificate (all embedded, base64). */
export function readKubeconfig(path: string): AdminCredential {
  const kc = parse(readFileSync(path, 'utf8')) as KubeconfigFile;
  const ctx = kc.contexts?.find((c) => c.name === kc['current-context']) ?? kc.contexts?.[0];
  const cluster = kc.clusters?.find((c) => c.name === ctx?.context.cluster) ?? kc.clusters?.[0];
  const user = kc.users?.find((u) => u.name === ctx?.context.user) ?? kc.users?.[0];
  const b64 = (v: string | undefined, what: string): Buffer => {
    if (v === undefined) throw new Error(`${path}: no ${what}`);
    return Buffer.from(v, 'base64');
  };
  if (cluster === undefined || user === undefined) throw new Error(`${path}: no cluster or user`);
  return {
    server: new URL(cluster.cluster.server),
    ca: b64(cluster.cluster['certificate-authority-data'], 'certificate-authority-data'),
    cert: b64(user.user['client-certificate-data'], 'client-certificate-data'),
    key: b64(user.user['client-key-data'], 'client-key-data'),
  };
}
