import type { Duplex } from 'node:stream';
import type { Logger } from '../../log/logger.ts';
import { CHANNEL_STDIN, CHANNEL_STDOUT } from '../../protocol/stream.ts';
import type { MuxStream } from '../../protocol/stream-mux.ts';
import { SpdyConnection, type SpdyStream } from './spdy.ts';

/** The port-forward stream protocol (`X-Stream-Protocol-Version`, and after `SPDY/3.1+` as a WebSocket subprotocol). */
export const PORT_FORWARD_PROTOCOL = 'portforward.k8s.io';
/** The WebSocket subprotocol kubectl 1.31+ tunnels SPDY through. */
export const PORT_FORWARD_TUNNEL_PROTOCOL = `SPDY/3.1+${PORT_FORWARD_PROTOCOL}`;
/** How long the second stream of a pair may take to arrive (the kubelet's stream creation timeout). */
const PAIR_TIMEOUT_MS = 30_000;
/** Connections kubectl may forward at once through one session (two streams each). */
const MAX_STREAMS = 2 * 256;

interface Pair {
  error?: SpdyStream;
  data?: SpdyStream;
  timer: NodeJS.Timeout;
}

/**
 * Serves `kubectl port-forward` over an upgraded SPDY socket (or the byte stream of a WebSocket
 * tunnel): kubectl opens an `error` and a `data` stream per local connection, paired by their
 * `requestid` header and naming the `port`. Each pair gets its own tunnel stream, opened with
 * `open`; the data stream is copied both ways and a failure is written, as text, to the error
 * stream, as the kubelet does. Resolves when the client hangs up; never rejects.
 *
 * @param allowed the ports the request named, when it named any: other ports are refused
 */
export async function servePortForward(socket: Duplex, open: (port: number, signal: AbortSignal) => Promise<MuxStream>, pod: string, allowed: ReadonlySet<number> | undefined, log: Logger): Promise<void> {
  const pairs = new Map<string, Pair>();
  const forwarding = new Set<Promise<void>>();
  const lifetime = new AbortController();
  const conn = new SpdyConnection(socket, {
    log,
    maxStreams: Number.MAX_SAFE_INTEGER,
    onStream: (s) => {
      const type = s.header('streamtype');
      const id = s.header('requestid') ?? '';
      if ((type !== 'error' && type !== 'data') || id === '' || pairs.size >= MAX_STREAMS) return s.reset();
      let pair = pairs.get(id);
      if (pair === undefined) {
        pair = { timer: setTimeout(() => dropPair(id, 'its other stream never came'), PAIR_TIMEOUT_MS) };
        pairs.set(id, pair);
      }
      if (pair[type] !== undefined) return s.reset();
      pair[type] = s;
      if (pair.error === undefined || pair.data === undefined) return;
      clearTimeout(pair.timer);
      pairs.delete(id);
      const done = forward(pair.error, pair.data, s.header('port') ?? '').finally(() => forwarding.delete(done));
      forwarding.add(done);
    },
  });
  const dropPair = (id: string, why: string): void => {
    const p = pairs.get(id);
    if (p === undefined) return;
    pairs.delete(id);
    log.debug('port-forward stream dropped', { requestId: id, why });
    p.error?.reset();
    p.data?.reset();
  };

  const forward = async (error: SpdyStream, data: SpdyStream, portText: string): Promise<void> => {
    const port = Number(portText);
    const fail = async (message: string): Promise<void> => {
      await error.write(Buffer.from(`error forwarding port ${portText} to pod ${pod}: ${message}`));
      error.end();
      data.end();
    };
    if (!/^[0-9]{1,5}$/.test(portText) || port < 1 || port > 65535) return fail('invalid port');
    if (allowed !== undefined && !allowed.has(port)) return fail(`port ${port} was not among the ports requested`);
    let stream: MuxStream;
    try {
      stream = await open(port, lifetime.signal);
    } catch (err) {
      return fail(err instanceof Error ? err.message : String(err));
    }
    const toPod = (async () => {
      for await (const chunk of data.data()) await stream.write(CHANNEL_STDIN, chunk).catch(() => undefined);
      stream.eof(CHANNEL_STDIN);
    })();
    let result = stream.result;
    for await (const e of stream.events()) {
      if (e.type === 'data' && e.channel === CHANNEL_STDOUT) {
        if (!(await data.write(e.data))) stream.cancel('the client reset the connection');
      } else if (e.type === 'end') result = e.result;
    }
    if (result?.error !== undefined && result.error.code !== 'STREAM_CLOSED') await error.write(Buffer.from(`error forwarding port ${port} to pod ${pod}: ${result.error.message}`));
    data.end();
    error.end();
    await toPod;
  };

  await conn.run(lifetime.signal);
  lifetime.abort();
  for (const id of [...pairs.keys()]) dropPair(id, 'the client hung up');
  await Promise.all(forwarding);
}
