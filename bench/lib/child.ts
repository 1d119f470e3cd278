import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

/** The kedge command the benchmarks start (KEDGE_BENCH_KEDGE runs another build). */
export const KEDGE = process.env['KEDGE_BENCH_KEDGE'] || fileURLToPath(new URL('../../bin/kedge', import.meta.url));

/** A kedge child process, its stderr kept for failure reports. */
export class Child {
  readonly process: ChildProcess;
  readonly #lines: string[] = [];
  exited = false;

  constructor(args: readonly string[], env: NodeJS.ProcessEnv) {
    this.process = spawn(KEDGE, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    let partial = '';
    this.process.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop()!;
      for (const l of lines) {
        this.#lines.push(l);
        if (this.#lines.length > 300) this.#lines.shift();
      }
    });
    this.process.stdout!.resume();
    this.process.once('exit', () => (this.exited = true));
  }

  get pid(): number {
    return this.process.pid!;
  }

  saw(text: string): boolean {
    return this.#lines.some((l) => l.includes(text));
  }

  tail(n = 40): string {
    return this.#lines.slice(-n).join('\n');
  }

  async stop(): Promise<void> {
    if (this.exited) return;
    const exited = once(this.process, 'exit');
    this.process.kill('SIGTERM');
    const t = setTimeout(() => this.process.kill('SIGKILL'), 20_000);
    await exited;
    clearTimeout(t);
  }
}

/** Resident set size of a process, in bytes. */
export function rss(pid: number): number {
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? Number.NaN) * 1024;
}

/** Kernel clock ticks per second (USER_HZ), the unit of /proc/<pid>/stat times. */
const CLOCK_TICKS = 100;

/** CPU time a process has used, user plus system, in seconds. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / CLOCK_TICKS;
}

/** A TCP port free on 127.0.0.1 right now. */
export async function freePort(): Promise<number> {
  const s = createServer();
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  const port = (s.address() as { port: number }).port;
  s.close();
  await once(s, 'close');
  return port;
}

/** Runs a kedge command to completion; resolves with its stdout, rejects with its stderr. */
export async function run(args: readonly string[], env: NodeJS.ProcessEnv): Promise<string> {
  const child = spawn(KEDGE, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (err += s));
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`kedge ${args.join(' ')} exited ${code}: ${err}`);
  return out;
}

/** Polls `ok` until it holds: other processes' state can only be observed. */
export async function until(what: string, ok: () => boolean | Promise<boolean>, timeoutMs: number, signal: AbortSignal): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await delay(50, undefined, { signal });
  }
}
