import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { CHANNEL_STDIN, CHANNEL_STDOUT, StreamError, type PortForwardRequest } from '../../protocol/stream.ts';
import type { MuxStream } from '../../protocol/stream-mux.ts';

/** How long connecting to the pod's port may take. */
const CONNECT_TIMEOUT_MS = 10_000;

/**
 * Serves one `kubectl port-forward` connection: a TCP connection to the pod's port at `host`,
 * copied both ways over the stream (channel 0 towards the pod, 1 back). The client's half-close
 * is passed on; the stream ends when the pod closes its side.
 *
 * Ends the stream itself; rejects only with the error to end it with (before it was accepted).
 * @throws {StreamError} `STREAM_PORT_UNREACHABLE` when nothing accepts the connection
 */
export async function servePortForward(stream: MuxStream, r: PortForwardRequest, host: string): Promise<void> {
  const socket = await dial(host, r.port, stream.signal);
  const destroy = (): void => {
    socket.destroy();
  };
  stream.signal.addEventListener('abort', destroy, { once: true });
  try {
    stream.accept();
    const toPod = (async () => {
      for await (const e of stream.events()) {
        if (e.type === 'data' && e.channel === CHANNEL_STDIN && socket.writable) {
          if (!socket.write(e.data)) await Promise.race([once(socket, 'drain'), once(socket, 'close')]).catch(() => undefined);
        } else if (e.type === 'eof' && e.channel === CHANNEL_STDIN) socket.end();
        else if (e.type === 'end') return;
      }
    })();
    try {
      for await (const chunk of socket as AsyncIterable<Buffer>) await stream.write(CHANNEL_STDOUT, chunk);
    } catch {
      // The pod reset the connection, or the stream is over.
    }
    stream.end({});
    await toPod;
  } finally {
    stream.signal.removeEventListener('abort', destroy);
    socket.destroy();
  }
}

async function dial(host: string, port: number, signal: AbortSignal): Promise<Socket> {
  const socket = connect({ host, port });
  socket.setNoDelay(true);
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), CONNECT_TIMEOUT_MS);
  const stop = (): void => ac.abort();
  signal.addEventListener('abort', stop, { once: true });
  try {
    await once(socket, 'connect', { signal: ac.signal });
    return socket;
  } catch (err) {
    socket.destroy();
    const why = ac.signal.aborted ? (signal.aborted ? 'the stream ended' : `no answer within ${CONNECT_TIMEOUT_MS / 1000}s`) : err instanceof Error ? err.message : String(err);
    throw new StreamError('STREAM_PORT_UNREACHABLE', `cannot connect to port ${port} of the pod at ${host}: ${why}`, { cause: err });
  } finally {
    clearTimeout(timer);
    signal.removeEventListener('abort', stop);
  }
}
