/**
 * The pymodbus simulator (`simulator.py`, Debian's python3-pymodbus) as a real Modbus device for
 * tests: Modbus TCP, RTU framing over TCP, or RTU on a pseudo-terminal; registers set and read
 * through its stdin/stdout; stopped and restarted on the same port like a device power-cycled.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

/** Debian's Python, which has pymodbus (a pyenv `python3` on PATH may not). */
export const SYSTEM_PYTHON = '/usr/bin/python3';
const SCRIPT = fileURLToPath(new URL('./simulator.py', import.meta.url));

/** The register tables: coils, discrete inputs, holding registers, input registers. */
export type Table = 'co' | 'di' | 'hr' | 'ir';

/** Options of {@link ModbusSimulator.start}. */
export interface SimulatorOptions {
  /** @default 0 (a free port) */
  readonly port?: number;
  /** `socket` = Modbus TCP; `rtu` = RTU frames over TCP. @default 'socket' */
  readonly framer?: 'socket' | 'rtu';
  /** Serve RTU on a pseudo-terminal too (its path is {@link ModbusSimulator.pty}). @default false */
  readonly pty?: boolean;
}

/** One simulator process. */
export class ModbusSimulator {
  #child: ChildProcessWithoutNullStreams | undefined;
  #port = 0;
  #pty: string | undefined;
  #options: SimulatorOptions;
  #nextId = 1;
  #lines: string[] = [];
  #waiters = new Map<number, (reply: Record<string, unknown>) => void>();
  #stderr = '';

  private constructor(options: SimulatorOptions) {
    this.#options = options;
  }

  /** Starts a simulator and resolves once it serves. */
  static async start(options: SimulatorOptions = {}): Promise<ModbusSimulator> {
    const s = new ModbusSimulator(options);
    await s.#launch(options.port ?? 0);
    return s;
  }

  /** The TCP port it serves on (kept across restarts). */
  get port(): number {
    return this.#port;
  }

  /** The serial device of the pty, with `pty: true`. */
  get pty(): string | undefined {
    return this.#pty;
  }

  get running(): boolean {
    return this.#child !== undefined && this.#child.exitCode === null && this.#child.signalCode === null;
  }

  /** What it wrote on stderr (for failure reports). */
  get log(): string {
    return this.#stderr;
  }

  async #launch(port: number): Promise<void> {
    const args = [SCRIPT, '--port', String(port), '--framer', this.#options.framer ?? 'socket', ...(this.#options.pty === true ? ['--pty'] : [])];
    const child = spawn(SYSTEM_PYTHON, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    this.#child = child;
    const killOnExit = (): void => void child.kill('SIGKILL');
    process.once('exit', killOnExit);
    child.once('exit', () => process.off('exit', killOnExit));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (this.#stderr += s));
    let partial = '';
    const ready = new Promise<Record<string, unknown>>((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`the Modbus simulator exited with ${code}: ${this.#stderr}`)));
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        const lines = (partial + chunk).split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) {
          if (line.trim() === '') continue;
          const msg = JSON.parse(line) as Record<string, unknown>;
          if (msg['ready'] === true) resolve(msg);
          else if (typeof msg['id'] === 'number') {
            this.#waiters.get(msg['id'])?.(msg);
            this.#waiters.delete(msg['id']);
          } else this.#lines.push(line);
        }
      });
    });
    const msg = await ready;
    this.#port = msg['port'] as number;
    this.#pty = typeof msg['pty'] === 'string' ? msg['pty'] : undefined;
  }

  async #command(cmd: Record<string, unknown>): Promise<Record<string, unknown>> {
    const child = this.#child;
    if (child === undefined || !this.running) throw new Error('the Modbus simulator is not running');
    const id = this.#nextId++;
    const reply = new Promise<Record<string, unknown>>((resolve) => this.#waiters.set(id, resolve));
    child.stdin.write(`${JSON.stringify({ ...cmd, id })}\n`);
    const r = await reply;
    if (typeof r['error'] === 'string') throw new Error(`simulator: ${r['error']}`);
    return r;
  }

  /** Sets registers (or bits, as 0/1) from `address`. */
  async set(table: Table, address: number, values: readonly number[]): Promise<void> {
    await this.#command({ op: 'set', table, address, values });
  }

  /** Reads `count` registers (or bits) from `address`. */
  async get(table: Table, address: number, count = 1): Promise<number[]> {
    return (await this.#command({ op: 'get', table, address, count }))['values'] as number[];
  }

  /** Requests served so far (reads and writes by clients). */
  async requests(): Promise<number> {
    return (await this.#command({ op: 'requests' }))['requests'] as number;
  }

  /** Stops it (the device goes away; its registers are lost, as with a power cut). */
  async stop(): Promise<void> {
    const child = this.#child;
    if (child === undefined || !this.running) return;
    const exited = once(child, 'exit');
    child.stdin.end();
    child.kill('SIGTERM');
    await exited;
  }

  /** Starts it again on the same port. */
  async restart(): Promise<void> {
    await this.stop();
    await this.#launch(this.#port);
  }
}
