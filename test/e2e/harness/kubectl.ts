import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The kubectl minor versions the suite drives: the oldest and newest on the machine image. */
export const KUBECTL_VERSIONS = ['1.27', '1.33'] as const;
export type KubectlVersion = (typeof KUBECTL_VERSIONS)[number] | '1.28' | '1.29' | '1.30' | '1.31' | '1.32';

let kubectlDir: string | undefined;

/** `kubectl` on PATH resolves into a directory that also holds `kubectl.1.27` … `kubectl.1.33`. */
export function kubectlPath(version: KubectlVersion): string {
  if (kubectlDir === undefined) {
    const onPath = execFileSync('sh', ['-c', 'command -v kubectl'], { encoding: 'utf8' }).trim();
    if (onPath === '') throw new Error('kubectl is not on PATH');
    kubectlDir = dirname(realpathSync(onPath));
  }
  const path = join(kubectlDir, `kubectl.${version}`);
  if (!existsSync(path)) throw new Error(`${path} does not exist`);
  return path;
}

export interface KubectlOptions {
  /** Written to kubectl's stdin (for `apply -f -`). */
  stdin?: string;
  kubeconfig?: string;
  /** kubectl's discovery/HTTP cache; one per server and version so runs never share stale discovery. */
  cacheDir?: string;
  /** @default 30_000 */
  timeoutMs?: number;
}

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

function baseArgs(options: KubectlOptions): string[] {
  return [...(options.kubeconfig !== undefined ? ['--kubeconfig', options.kubeconfig] : []), ...(options.cacheDir !== undefined ? ['--cache-dir', options.cacheDir] : [])];
}

function env(): NodeJS.ProcessEnv {
  // No ambient KUBECONFIG or kubectl plugins/aliases from the host may leak into a run.
  const e: NodeJS.ProcessEnv = { ...process.env, KUBECTL_KUBERC: 'false' };
  delete e['KUBECONFIG'];
  return e;
}

/** Runs `kubectl.<version> <args>`; never throws on a non-zero exit (the code is the result). */
export async function kubectl(version: KubectlVersion, args: readonly string[], options: KubectlOptions = {}): Promise<KubectlResult> {
  const child = spawn(kubectlPath(version), [...baseArgs(options), ...args], { stdio: ['pipe', 'pipe', 'pipe'], env: env() });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stdout.on('data', (s: string) => (stdout += s));
  child.stderr.on('data', (s: string) => (stderr += s));
  child.stdin.on('error', () => {
    /* kubectl may exit before reading stdin; its exit code tells what happened */
  });
  child.stdin.end(options.stdin ?? '');
  const timeoutMs = options.timeoutMs ?? 30_000;
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const [code, signal] = (await once(child, 'close')) as [number | null, NodeJS.Signals | null];
  clearTimeout(timer);
  if (signal === 'SIGKILL') return { code: -1, stdout, stderr: `${stderr}\n(killed after ${timeoutMs} ms)` };
  return { code: code ?? -1, stdout, stderr };
}

/** A kubectl that keeps running (`get -w`), with its output so far. */
export interface KubectlStream {
  readonly child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves once stdout matches `pattern`; rejects after `timeoutMs` or when kubectl exits first. */
  waitFor(pattern: RegExp | ((stdout: string) => boolean), timeoutMs?: number): Promise<string>;
  /** Ends kubectl (SIGTERM) and waits for it. */
  stop(): Promise<void>;
}

export function spawnKubectl(version: KubectlVersion, args: readonly string[], options: KubectlOptions = {}): KubectlStream {
  const child = spawn(kubectlPath(version), [...baseArgs(options), ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: env() });
  let out = '';
  let err = '';
  let exited = false;
  const listeners = new Set<() => void>();
  const notify = (): void => {
    for (const l of [...listeners]) l();
  };
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stdout.on('data', (s: string) => {
    out += s;
    notify();
  });
  child.stderr.on('data', (s: string) => (err += s));
  const closed = once(child, 'close').then(() => {
    exited = true;
    notify();
  });
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    waitFor(pattern, timeoutMs = 10_000) {
      const matches = (): boolean => (typeof pattern === 'function' ? pattern(out) : pattern.test(out));
      return new Promise((ok, fail) => {
        const check = (): void => {
          if (matches()) {
            cleanup();
            ok(out);
          } else if (exited) {
            cleanup();
            fail(new Error(`kubectl.${version} ${args.join(' ')} exited (${child.exitCode}) before printing ${String(pattern)}\nstdout: ${out}\nstderr: ${err}`));
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          fail(new Error(`kubectl.${version} ${args.join(' ')}: ${String(pattern)} not printed within ${timeoutMs} ms\nstdout: ${out}\nstderr: ${err}`));
        }, timeoutMs);
        const cleanup = (): void => {
          clearTimeout(timer);
          listeners.delete(check);
        };
        listeners.add(check);
        check();
      });
    },
    async stop() {
      if (!exited) child.kill('SIGTERM');
      await closed;
    },
  };
}
