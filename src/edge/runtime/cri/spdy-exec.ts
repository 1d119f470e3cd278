import { Writable } from 'node:stream';
import type { ExecOptions, ExecSession } from '../runtime.ts';
import { SpdyClientConnection, type SpdyClientStream } from './spdy-client.ts';

/** How long a killed command's exit status is waited for before the connection is dropped. */
const KILL_GRACE_MS = 2000;

/** What a session needs of the runtime beyond the stream: killing its command. */
export interface ExecKiller {
  /** Kills the exec's process. @returns false when it cannot be found (it exited, or the runtime cannot say) */
  kill(): Promise<boolean>;
}

/**
 * Runs an exec through a CRI streaming server's URL with SPDY/3.1 and `v4.channel.k8s.io`, as
 * the kubelet's own client does: one stream per channel (error, stdin, stdout, stderr, resize),
 * stdin closed by a FIN on its stream, the exit code in a `Status` on the error stream.
 *
 * SPDY, not WebSocket, because only SPDY can end the command's stdin: WebSocket
 * `v4.channel.k8s.io` has no close signal (v5 has one, which containerd 1.6 does not speak), and
 * `echo hi | kubectl exec -i pod -- cat` would never end.
 *
 * The streaming server does not kill the command when the connection goes (containerd runs it on
 * a context of its own), so close() kills it through `killer` before dropping the connection.
 */
export async function openSpdyExec(url: string, options: ExecOptions, killer: ExecKiller): Promise<ExecSession> {
  const conn = await SpdyClientConnection.connect(url, 'v4.channel.k8s.io');
  let error: SpdyClientStream, stdinStream: SpdyClientStream | undefined, stdout: SpdyClientStream, stderr: SpdyClientStream | undefined, resize: SpdyClientStream | undefined;
  try {
    // The server waits for exactly the channels the Exec call asked for; the order is the kubelet client's.
    error = await conn.openStream({ streamtype: 'error' });
    stdinStream = options.stdin ? await conn.openStream({ streamtype: 'stdin' }) : undefined;
    stdout = await conn.openStream({ streamtype: 'stdout' });
    stderr = options.tty ? undefined : await conn.openStream({ streamtype: 'stderr' });
    resize = options.tty ? await conn.openStream({ streamtype: 'resize' }) : undefined;
  } catch (err) {
    conn.close();
    throw err;
  }
  const status = error.text();
  const outputs = [stdout, ...(stderr !== undefined ? [stderr] : [])].map((s) => new Promise<void>((resolve) => s.readable.once('close', resolve).once('end', resolve)));
  let exited = false;
  const exitCode = (async () => {
    const text = await status;
    // The server closes the connection after the status; streams it did not finish end with it.
    await Promise.race([Promise.all(outputs), conn.done]);
    conn.close();
    exited = true;
    return exitCodeOf(text);
  })();

  const stdinWritable =
    stdinStream === undefined
      ? undefined
      : new Writable({
          write: (chunk: Buffer, _encoding, callback) => {
            // Writes to a command that is gone are dropped: its exit code tells the story.
            stdinStream.write(chunk).then(
              () => callback(),
              () => callback(),
            );
          },
          final: (callback) => {
            stdinStream.end();
            callback();
          },
        });

  let closing = false;
  return {
    stdin: stdinWritable,
    stdout: stdout.readable,
    stderr: stderr?.readable,
    resize: (size) => {
      if (resize === undefined || conn.closed) return;
      void resize.write(Buffer.from(JSON.stringify({ Width: size.width, Height: size.height })));
    },
    exitCode,
    close: () => {
      if (closing) return;
      closing = true;
      if (exited || conn.closed) {
        conn.close();
        return;
      }
      void killer
        .kill()
        .catch(() => false)
        .then(async (killed) => {
          // Killed, the command's status (137) is on its way; otherwise dropping the connection at
          // least ends its stdin, which is all the streaming server does itself.
          if (killed) await Promise.race([exitCode, new Promise((resolve) => setTimeout(resolve, KILL_GRACE_MS).unref())]);
          conn.close();
        });
    },
  };
}

/** The exit code a streaming `Status` carries: 0 for Success, the `ExitCode` cause otherwise. */
export function exitCodeOf(statusJson: string | undefined): number {
  if (statusJson === undefined || statusJson === '') return 0;
  try {
    const s = JSON.parse(statusJson) as { status?: string; details?: { causes?: { reason?: string; message?: string }[] } };
    if (s.status === 'Success') return 0;
    const code = s.details?.causes?.find((c) => c.reason === 'ExitCode')?.message;
    return code !== undefined ? Number(code) : 1;
  } catch {
    return 1;
  }
}
