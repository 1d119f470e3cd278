import { once } from 'node:events';
import type { Duplex } from 'node:stream';
import { describeError } from '../../errors/platform-error.ts';
import { CHANNEL_STDIN, CHANNEL_STDOUT, StreamError, type PortForwardRequest } from '../../protocol/stream.ts';
import type { MuxStream } from '../../protocol/stream-mux.ts';
import { EdgeError } from '../errors.ts';

/**
 * Serves one `kubectl port-forward` connection: a connection to the pod's port that the runtime
 * makes (`connect`), copied both ways over the stream (channel 0 towards the pod, 1 back). The
 * client's half-close is passed on; the stream ends when the pod closes its side, with the
 * runtime's error if it failed to reach the port after all.
 *
 * Ends the stream itself; rejects only with the error to end it with (before it was accepted).
 * @throws {StreamError} `STREAM_PORT_UNREACHABLE` when nothing accepts the connection
 */
export async function servePortForward(stream: MuxStream, r: PortForwardRequest, connect: () => Promise<Duplex>): Promise<void> {
  let socket: Duplex;
  try {
    socket = await connect();
  } catch (err) {
    throw new StreamError('STREAM_PORT_UNREACHABLE', `cannot connect to port ${r.port} of the pod: ${describeError(err)}`, { cause: err });
  }
  if (stream.signal.aborted) {
    socket.destroy();
    return;
  }
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
    let failure: string | undefined;
    try {
      for await (const chunk of socket as AsyncIterable<Buffer>) await stream.write(CHANNEL_STDOUT, chunk);
    } catch (err) {
      // A reset from the pod is how some connections end; a runtime that could not reach the port
      // after all (it reports that once its stream is open) is an error the client must see.
      if (err instanceof EdgeError) failure = err.message;
    }
    stream.end(failure === undefined ? {} : { error: { code: 'STREAM_PORT_UNREACHABLE', message: failure } });
    await toPod;
  } finally {
    stream.signal.removeEventListener('abort', destroy);
    socket.destroy();
  }
}
