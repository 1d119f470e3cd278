/**
 * Devices for the e2e tests: `kedge mapper <protocol>` processes, real device peers (the pymodbus
 * simulator, a node-opcua server, mosquitto), `mosquitto_sub` watchers, and Device status as
 * `kubectl get device -o yaml` shows it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { after, afterEach, type TestContext } from 'node:test';
import { parse as parseYaml } from 'yaml';
import type { KedgeCloud } from './cloud.ts';
import { REPO_ROOT } from './cloud.ts';

export { ModbusSimulator } from '../../../src/mappers/modbus/testing.ts';
export { OpcuaTestServer } from '../../../src/mappers/opcua/testing.ts';
export { Mosquitto, freeTcpPort } from '../../../src/edge/eventbus/testing.ts';

const KEDGE_BIN = process.env['KEDGE_E2E_BIN'] ?? join(REPO_ROOT, 'bin', 'kedge');
const STOP_TIMEOUT_MS = 15_000;

/** Prints `log` when the test that just ran failed on its own account. */
export function dumpOnFailure(ctx: TestContext, what: string, log: () => string): void {
  const t = ctx as TestContext & { passed?: boolean; error?: unknown };
  if (t.passed !== false) return;
  if ((t.error as { failureType?: string } | null)?.failureType === 'subtestsFailed') return;
  const lines = log().split('\n');
  console.error(`\n===== ${what} log for failed test "${t.fullName}" (last 150 of ${lines.length} lines) =====\n${lines.slice(-150).join('\n')}\n===== end of log =====`);
}

/** Options of {@link KedgeMapper.start}. */
export interface MapperStartOptions {
  readonly protocol: 'modbus' | 'opcua' | 'virtual';
  readonly node: string;
  /** The edge's EventBus. */
  readonly mqtt: string;
  readonly args?: readonly string[];
  readonly env?: NodeJS.ProcessEnv;
}

/** One `kedge mapper` process; stopped after the file's tests, its log printed when a test fails. */
export class KedgeMapper {
  readonly #options: MapperStartOptions;
  #child: ChildProcess | undefined;
  #log = '';

  private constructor(options: MapperStartOptions) {
    this.#options = options;
  }

  /** Starts `kedge mapper <protocol> --node <node> --mqtt <url>` and resolves once it says it serves. */
  static async start(options: MapperStartOptions): Promise<KedgeMapper> {
    const m = new KedgeMapper(options);
    after(() => m.stop());
    afterEach((ctx) => dumpOnFailure(ctx as TestContext, `kedge mapper ${options.protocol}`, () => m.log));
    await m.#launch();
    return m;
  }

  get log(): string {
    return this.#log;
  }

  get running(): boolean {
    return this.#child !== undefined && this.#child.exitCode === null && this.#child.signalCode === null;
  }

  async #launch(): Promise<void> {
    const o = this.#options;
    const child = spawn(KEDGE_BIN, ['mapper', o.protocol, '--node', o.node, '--mqtt', o.mqtt, '--reconnect-max', '2s', ...(o.args ?? [])], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...o.env } });
    this.#child = child;
    const killOnExit = (): void => void child.kill('SIGKILL');
    process.once('exit', killOnExit);
    child.once('exit', () => process.off('exit', killOnExit));
    child.stdout.setEncoding('utf8').on('data', (s: string) => (this.#log += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (this.#log += s));
    const deadline = Date.now() + 30_000;
    while (!this.#log.includes('is serving node')) {
      if (!this.running) throw new Error(`kedge mapper exited before serving:\n${this.#log}`);
      if (Date.now() > deadline) throw new Error(`kedge mapper did not start:\n${this.#log}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** SIGTERM, and waits for the exit. */
  async stop(): Promise<void> {
    const child = this.#child;
    if (child === undefined || !this.running) return;
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
  }
}

/** A `mosquitto_sub -v` on `filters`: every message seen, as topic and parsed payload. */
export class MqttWatcher {
  readonly messages: { topic: string; payload: Record<string, unknown> | string }[] = [];
  readonly #child: ChildProcess;
  #partial = '';

  private constructor(child: ChildProcess) {
    this.#child = child;
  }

  /** Starts `mosquitto_sub` and resolves once it is subscribed (it answers a probe message). */
  static async start(port: number, filters: readonly string[]): Promise<MqttWatcher> {
    const probe = `kedge-e2e/probe/${Math.random().toString(36).slice(2)}`;
    const args = ['-h', '127.0.0.1', '-p', String(port), '-v', '-q', '1', ...[...filters, probe].flatMap((f) => ['-t', f])];
    const child = spawn('mosquitto_sub', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const w = new MqttWatcher(child);
    after(() => w.stop());
    child.stdout.setEncoding('utf8').on('data', (s: string) => w.#onData(s));
    const deadline = Date.now() + 10_000;
    while (!w.messages.some((m) => m.topic === probe)) {
      if (Date.now() > deadline) throw new Error('mosquitto_sub did not subscribe');
      const pub = spawn('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(port), '-t', probe, '-m', '{}']);
      await once(pub, 'exit');
      await new Promise((r) => setTimeout(r, 100));
    }
    return w;
  }

  #onData(chunk: string): void {
    const lines = (this.#partial + chunk).split('\n');
    this.#partial = lines.pop() ?? '';
    for (const line of lines) {
      const space = line.indexOf(' ');
      if (space < 0) continue;
      const topic = line.slice(0, space);
      const text = line.slice(space + 1);
      let payload: Record<string, unknown> | string = text;
      try {
        payload = JSON.parse(text) as Record<string, unknown>;
      } catch {
        // not JSON: kept as text
      }
      this.messages.push({ topic, payload });
    }
  }

  stop(): void {
    if (this.#child.exitCode === null) this.#child.kill('SIGTERM');
  }
}

/** Publishes one message with `mosquitto_pub`. */
export async function mosquittoPub(port: number, topic: string, message: string): Promise<void> {
  const pub = spawn('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(port), '-q', '1', '-t', topic, '-m', message], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  pub.stderr.setEncoding('utf8').on('data', (s: string) => (err += s));
  const [code] = (await once(pub, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`mosquitto_pub exited ${code}: ${err}`);
}

/** A Device's status as `kubectl get device -o yaml` shows it. */
export interface DeviceStatusView {
  readonly state?: string;
  readonly lastOnlineTime?: string;
  readonly twins?: readonly { propertyName: string; reported?: { value: string; metadata?: Record<string, string> }; observedDesired?: { value: string } }[];
}

/** `kubectl get device <name> -n <ns> -o yaml`, its status parsed. */
export async function deviceStatus(cloud: KedgeCloud, namespace: string, name: string): Promise<DeviceStatusView> {
  const yaml = await cloud.kubectlOk('1.33', ['get', 'device', name, '-n', namespace, '-o', 'yaml']);
  return ((parseYaml(yaml) as { status?: DeviceStatusView }).status ?? {});
}

/** The reported value of a property in a status. */
export function reported(status: DeviceStatusView, property: string): string | undefined {
  return status.twins?.find((t) => t.propertyName === property)?.reported?.value;
}
