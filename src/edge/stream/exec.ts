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
    // Once the client is gone the command is being killed: nothing waits for its exit.
    const gone = new Promise<undefined>((resolve) => stream.signal.addEventListener('abort', () => resolve(undefined), { once: true }));
    const exitCode = await Promise.race([session.exitCode, gone]);
    if (exitCode === undefined) return;
    await Promise.all(outputs);
    stream.end({ exitCode });
    await input;
  } finally {
    stream.signal.removeEventListener('abort', kill);
    session.close();
  }
}

/** What is read and dropped from a command's output after its stream ended, at most. */
const DISCARD_MAX_BYTES = 1024 * 1024;
const DISCARD_MAX_MS = 2000;

/**
 * Copies one output pipe to a channel, or drains it when the client did not ask for it, so the
 * command never blocks on a full pipe. When the stream ends first, the rest is dropped (see
 * {@link discard}).
 */
async function copyOut(stream: MuxStream, from: Readable, channel: Channel, wanted: boolean): Promise<void> {
  try {
    for await (const chunk of from.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
      if (wanted) await stream.write(channel, chunk);
    }
  } catch {
    discard(from);
  }
}

/**
 * Drops what is left in an output pipe whose stream is over. A pipe left paused with data in it
 * never reaches its end (the runtime would never see the command's exit, and keeps the pipe
 * open), so the killed command's last output is read and thrown away; but only so much and for
 * so long: a process that escaped the kill and writes forever must not keep this loop reading at
 * full speed (that is how KubeEdge's cloudcore came to spin a core, kubeedge/kubeedge#3232).
 */
function discard(from: Readable): void {
  let bytes = 0;
  const stop = (): void => {
    clearTimeout(timer);
    from.off('data', count);
    from.destroy();
  };
  const count = (chunk: Buffer): void => {
    bytes += chunk.length;
    if (bytes > DISCARD_MAX_BYTES) stop();
  };
  const timer = setTimeout(stop, DISCARD_MAX_MS);
  timer.unref();
  from.on('data', count);
  from.once('end', () => clearTimeout(timer));
  from.once('close', () => clearTimeout(timer));
  from.resume();
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
