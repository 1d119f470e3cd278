/**
 * A real mosquitto (Debian's `mosquitto`) for tests: started on a free loopback port with a
 * config in a temporary directory, anonymous clients allowed, stopped by {@link Mosquitto.stop}.
 * The event bus conformance suite and the e2e tests use it as the external broker.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Where Debian puts the broker (not on a normal user's PATH). */
export const MOSQUITTO_BIN = '/usr/sbin/mosquitto';

/** Asks the kernel for a free loopback TCP port. */
export async function freeTcpPort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  await once(server, 'close');
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** Resolves once something accepts TCP connections on 127.0.0.1:`port`, or rejects after `timeoutMs`. */
export async function waitForPort(port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = createConnection({ port, host: '127.0.0.1' });
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** One mosquitto process. */
export class Mosquitto {
  readonly port: number;
  readonly #dir: string;
  #child: ChildProcess | undefined;
  #log = '';

  private constructor(port: number, dir: string) {
    this.port = port;
    this.#dir = dir;
  }

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  /** Its output so far (for failure reports). */
  get log(): string {
    return this.#log;
  }

  /** Starts mosquitto on `port` (a free one by default) and resolves once it accepts connections. */
  static async start(port?: number): Promise<Mosquitto> {
    const dir = await mkdtemp(join(tmpdir(), 'kedge-mosquitto-'));
    const m = new Mosquitto(port ?? (await freeTcpPort()), dir);
    await m.#launch();
    return m;
  }

  async #launch(): Promise<void> {
    const conf = join(this.#dir, 'mosquitto.conf');
    await writeFile(conf, `listener ${this.port} 127.0.0.1\nallow_anonymous true\npersistence false\n`);
    const child = spawn(MOSQUITTO_BIN, ['-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.#child = child;
    child.stdout.setEncoding('utf8').on('data', (s: string) => (this.#log += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (this.#log += s));
    const killOnExit = (): void => void child.kill('SIGKILL');
    process.once('exit', killOnExit);
    child.once('exit', () => process.off('exit', killOnExit));
    await waitForPort(this.port);
  }

  /** Stops the broker (SIGTERM) and waits for it to exit. */
  async stop(): Promise<void> {
    const child = this.#child;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    await exited;
  }

  /** Starts it again on the same port. */
  async restart(): Promise<void> {
    await this.stop();
    await this.#launch();
  }

  /** Stops it and removes its directory. */
  async dispose(): Promise<void> {
    await this.stop();
    await rm(this.#dir, { recursive: true, force: true });
  }
}
