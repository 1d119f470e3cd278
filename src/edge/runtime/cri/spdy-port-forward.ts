import { Duplex } from 'node:stream';
import { EdgeError } from '../../errors.ts';
import { SpdyClientConnection } from './spdy-client.ts';

/** How long the error stream may lag behind the end of the data stream. */
const ERROR_GRACE_MS = 2000;
/** The kubelet's wording before the runtime's reason: the cloud names the port and pod itself. */
const KUBELET_PREFIX = /^error forwarding port \d+ to pod [^,]*, uid [^:]*: /;

/**
 * One `kubectl port-forward` connection through a CRI streaming server's port-forward URL, as the
 * kubelet's client makes it: SPDY/3.1 with `portforward.k8s.io`, an `error` stream (half-closed at
 * once: this side never writes to it) and a `data` stream, paired by `requestid` and naming the
 * `port`. The runtime dials the port on loopback inside the pod's network namespace and copies
 * the data stream to and from it.
 *
 * The runtime reports a failure (nothing listening, say) as text on the error stream, after it has
 * closed the data stream: the duplex is then destroyed with that text as an `EdgeError`.
 */
export async function openSpdyPortForward(url: string, port: number): Promise<Duplex> {
  const conn = await SpdyClientConnection.connect(url, 'portforward.k8s.io');
  const headers = { port: String(port), requestid: '0' };
  let errorStream, data;
  try {
    errorStream = await conn.openStream({ streamtype: 'error', ...headers });
    errorStream.end();
    data = await conn.openStream({ streamtype: 'data', ...headers });
  } catch (err) {
    conn.close();
    throw err;
  }
  const errorText = errorStream.text();
  const inbound = data.readable;
  const duplex = new Duplex({
    read: () => {
      inbound.resume();
    },
    write: (chunk: Buffer, _encoding, callback) => {
      // Bytes for a forward that is over are dropped, as a socket's peer drops them: the end of
      // the data stream (and any error) is what tells the story.
      data.write(chunk).then(
        () => callback(),
        () => callback(),
      );
    },
    final: (callback) => {
      data.end();
      callback();
    },
    destroy: (err, callback) => {
      conn.close();
      callback(err);
    },
  });
  inbound.on('data', (chunk: Buffer) => {
    if (!duplex.push(chunk)) inbound.pause();
  });
  inbound.once('end', () => {
    // The error stream ends with the runtime's message, or with the connection.
    void Promise.race([errorText, new Promise<string>((resolve) => setTimeout(resolve, ERROR_GRACE_MS, '').unref())]).then((text) => {
      if (text !== '') duplex.destroy(new EdgeError('EDGE_RUNTIME_ERROR', text.replace(KUBELET_PREFIX, '')));
      else {
        duplex.push(null);
        // The runtime's forward is over once it closed the data stream; the connection has no other use.
        conn.close();
      }
    });
  });
  return duplex;
}
