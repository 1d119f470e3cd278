import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
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
