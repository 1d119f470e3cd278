/**
 * Helpers for the PKI and auth tests only: the real `openssl` CLI as an independent verifier and
 * temporary directories. Not used by production code.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Result of one openssl run; `code` is 0 on success. */
export interface OpensslResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `openssl <args>` with `input` on stdin; never throws on a non-zero exit. */
export function openssl(args: readonly string[], input?: string | Buffer): Promise<OpensslResult> {
  return new Promise((resolve, reject) => {
    const child = execFile('openssl', args, { encoding: 'buffer', timeout: 20_000 }, (err, stdout, stderr) => {
      // A non-zero exit is a result to assert on; failing to run openssl at all is an error.
      if (err !== null && typeof err.code !== 'number') {
        reject(new Error('cannot run openssl', { cause: err }));
        return;
      }
      resolve({ code: err === null ? 0 : Number(err.code), stdout: stdout.toString('utf8'), stderr: stderr.toString('utf8') });
    });
    child.stdin?.end(input);
  });
}

/** A temporary directory removed by `dispose()` (use with `await using`). */
export async function tempDir(prefix = 'kedge-pki-'): Promise<{ path: string; file(name: string, content: string): Promise<string>; [Symbol.asyncDispose](): Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return {
    path,
    async file(name: string, content: string): Promise<string> {
      const p = join(path, name);
      await writeFile(p, content);
      return p;
    },
    async [Symbol.asyncDispose](): Promise<void> {
      await rm(path, { recursive: true, force: true });
    },
  };
}
