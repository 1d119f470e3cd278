import { once } from 'node:events';
import type { Readable, Writable } from 'node:stream';
import { CHANNEL_STDERR, CHANNEL_STDIN, CHANNEL_STDOUT, type Channel, type ExecRequest } from '../../protocol/stream.ts';
import type { MuxStream } from '../../protocol/stream-mux.ts';
import type { ExecSession } from '../runtime/runtime.ts';
import type { StreamRuntime } from './targets.ts';

/**
 * Serves `kubectl exec`: starts the command, then copies stdin in (with back-pressure on the
 * tunnel's window), stdout and stderr out, applies terminal resizes, and ends the stream with the
 * exit code once the command has exited and its output is sent.
 *
 * Whatever ends the stream early (the client went away, the tunnel closed) kills the command and
 * releases its pipes: nothing keeps running or polling for a client that is gone (KubeEdge's
 * cloudcore spun a core on an aborted exec, kubeedge/kubeedge#3232). Everything here waits on
 * events; there is no loop that could spin.
 *
 * Ends the stream itself; rejects only with the error to end it with (before it was accepted).
 */
export async function serveExec(stream: MuxStream, r: ExecRequest, runtime: StreamRuntime, containerId: string): Promise<void> {
  const session = await runtime.exec(containerId, r.command, { stdin: r.stdin, tty: r.tty });
  const kill = (): void => session.close();
  stream.signal.addEventListener('abort', kill, { once: true });
  try {
    stream.accept();
    const input = copyIn(stream, session);
    const outputs = [copyOut(stream, session.stdout, CHANNEL_STDOUT, r.stdout), ...(session.stderr !== undefined ? [copyOut(stream, session.stderr, CHANNEL_STDERR, r.stderr)] : [])];
    const exitCode = await session.exitCode;
    await Promise.all(outputs);
    stream.end({ exitCode });
    await input;
  } finally {
    stream.signal.removeEventListener('abort', kill);
    session.close();
  }
}

/** Copies one output pipe to a channel (or drains it when the client did not ask for it, so the command never blocks on a full pipe). */
async function copyOut(stream: MuxStream, from: Readable, channel: Channel, wanted: boolean): Promise<void> {
  try {
    for await (const chunk of from as AsyncIterable<Buffer>) {
      if (wanted) await stream.write(channel, chunk);
    }
  } catch {
    // The pipe broke because the command was killed, or the stream is over: nothing to copy to.
    from.destroy();
  }
}

/** Feeds the client's stdin to the command and applies resizes, until the stream ends. */
async function copyIn(stream: MuxStream, session: ExecSession): Promise<void> {
  const stdin = session.stdin;
  // Writing to a command that has exited fails with EPIPE; the exit code tells the story.
  stdin?.on('error', () => undefined);
  for await (const e of stream.events()) {
    if (e.type === 'resize') session.resize({ width: e.width, height: e.height });
    else if (e.type === 'data' && e.channel === CHANNEL_STDIN && stdin !== undefined && stdin.writable) {
      if (!stdin.write(e.data)) await drained(stdin, stream.signal);
    } else if (e.type === 'eof' && e.channel === CHANNEL_STDIN) stdin?.end();
    else if (e.type === 'end') break;
  }
}

/** Resolves when `w` can take more, is closed, or `signal` aborts: never waits forever on a dead pipe. */
async function drained(w: Writable, signal: AbortSignal): Promise<void> {
  if (w.destroyed || w.writableEnded || signal.aborted) return;
  const ac = new AbortController();
  const stop = (): void => ac.abort();
  signal.addEventListener('abort', stop, { once: true });
  try {
    await Promise.race([once(w, 'drain', { signal: ac.signal }), once(w, 'close', { signal: ac.signal }), once(w, 'error', { signal: ac.signal })]);
  } catch {
    // aborted, or the pipe failed: either way there is nothing to wait for
  } finally {
    signal.removeEventListener('abort', stop);
    ac.abort();
  }
}
