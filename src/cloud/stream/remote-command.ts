import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import type { Logger } from '../../log/logger.ts';
import { CHANNEL_STDERR, CHANNEL_STDIN, CHANNEL_STDOUT, type ExecRequest, type StreamResult } from '../../protocol/stream.ts';
import type { MuxStream } from '../../protocol/stream-mux.ts';
import { SpdyConnection, type SpdyStream } from './spdy.ts';

/**
 * Kubernetes' remote command protocols (`exec`), on the client's side of the API server: the
 * WebSocket channel protocol (`v5.channel.k8s.io`, kubectl 1.30+, and `v4.channel.k8s.io`) and
 * the SPDY one (`v4.channel.k8s.io` over `SPDY/3.1`, every kubectl before 1.30), each bridged onto
 * a tunnel stream that runs the command on the edge.
 */

/** WebSocket subprotocols, best first. v5 adds the CLOSE signal, so stdin can end without the connection. */
export const WEBSOCKET_EXEC_PROTOCOLS = ['v5.channel.k8s.io', 'v4.channel.k8s.io'] as const;
/** SPDY stream protocols (the `X-Stream-Protocol-Version` header). v4 reports exit codes as a Status. */
export const SPDY_EXEC_PROTOCOLS = ['v4.channel.k8s.io'] as const;

/** Channel numbers of the WebSocket protocol beyond the tunnel's three. */
const WS_CHANNEL_ERROR = 3;
const WS_CHANNEL_RESIZE = 4;
/** v5: `[255, channel]` closes that channel (stdin). */
const WS_CLOSE_SIGNAL = 255;

/** Inbound stdin queued before the client's socket is paused. */
const MAX_PENDING_STDIN = 1024 * 1024;
/** How long a SPDY client may take to open the streams it asked for (the kubelet's default). */
const STREAM_CREATION_TIMEOUT_MS = 30_000;
/** How long a finished SPDY connection waits for the client to hang up before it is cut. */
const CLOSE_GRACE_MS = 10_000;

/**
 * The `metav1.Status` the error channel carries at the end of an exec (protocol v4 and later):
 * Success, a non-zero exit code as kubectl reads it (reason `NonZeroExitCode` with an `ExitCode`
 * cause), or the error that ended the command.
 */
export function execStatus(result: StreamResult): Record<string, unknown> {
  const base = { kind: 'Status', apiVersion: 'v1', metadata: {} };
  if (result.error !== undefined) {
    return { ...base, status: 'Failure', message: result.error.message, reason: 'InternalError', code: 500, details: { causes: [{ reason: result.error.code, message: result.error.message }] } };
  }
  const code = result.exitCode ?? 0;
  if (code === 0) return { ...base, status: 'Success' };
  return {
    ...base,
    status: 'Failure',
    message: `command terminated with non-zero exit code: exit status ${code}`,
    reason: 'NonZeroExitCode',
    details: { causes: [{ reason: 'ExitCode', message: String(code) }] },
  };
}

/** Parses a terminal size message: `{"Width":80,"Height":24}` (Go's field names). */
function parseSize(text: string): { width: number; height: number } | undefined {
  try {
    const v = JSON.parse(text) as { Width?: unknown; Height?: unknown };
    if (typeof v.Width === 'number' && typeof v.Height === 'number') return { width: v.Width, height: v.Height };
  } catch {
    // a malformed resize is ignored, as the kubelet does
  }
  return undefined;
}

/** Copies the command's output from the tunnel to the client until the stream ends; returns how it ended. */
async function copyOutput(stream: MuxStream, write: (channel: number, data: Buffer) => Promise<void>): Promise<StreamResult> {
  for await (const e of stream.events()) {
    if (e.type === 'data' && (e.channel === CHANNEL_STDOUT || e.channel === CHANNEL_STDERR)) await write(e.channel, e.data);
    else if (e.type === 'end') return e.result;
  }
  return stream.result ?? { error: { code: 'STREAM_CLOSED', message: 'the stream ended' } };
}

/**
 * Serves an exec over an accepted WebSocket (`v5.channel.k8s.io` or `v4.channel.k8s.io`): each
 * binary message is a channel byte and data. Client → edge: stdin (0), resize (4, JSON), and in
 * v5 the close signal for stdin; edge → client: stdout (1), stderr (2), then the final Status on
 * the error channel (3) and a normal close. The client's socket is paused while the tunnel's
 * window for stdin is spent. Resolves when both sides are done; never rejects.
 */
export async function serveWebSocketExec(ws: WebSocket, stream: MuxStream, log: Logger): Promise<void> {
  const v5 = ws.protocol === 'v5.channel.k8s.io';
  const stdin: (Buffer | 'eof')[] = [];
  let pending = 0;
  let pumping: Promise<void> | undefined;
  const pump = async (): Promise<void> => {
    for (let next = stdin.shift(); next !== undefined; next = stdin.shift()) {
      if (next === 'eof') stream.eof(CHANNEL_STDIN);
      else {
        pending -= next.length;
        await stream.write(CHANNEL_STDIN, next).catch(() => undefined);
        if (pending < MAX_PENDING_STDIN / 2 && ws.isPaused) ws.resume();
      }
    }
    pumping = undefined;
  };
  const enqueue = (item: Buffer | 'eof'): void => {
    stdin.push(item);
    if (item !== 'eof') {
      pending += item.length;
      if (pending > MAX_PENDING_STDIN) ws.pause();
    }
    pumping ??= pump();
  };
  ws.on('message', (data: Buffer, isBinary: boolean) => {
    if (!isBinary || data.length === 0) return;
    const channel = data[0]!;
    const body = data.subarray(1);
    if (channel === CHANNEL_STDIN && body.length > 0) enqueue(Buffer.from(body));
    else if (channel === WS_CHANNEL_RESIZE) {
      const size = parseSize(body.toString('utf8'));
      if (size !== undefined) stream.resize(size.width, size.height);
    } else if (v5 && channel === WS_CLOSE_SIGNAL && body[0] === CHANNEL_STDIN) enqueue('eof');
  });
  const gone = new Promise<void>((resolve) => ws.once('close', () => resolve()));
  ws.once('close', () => stream.cancel('the client closed the connection'));
  ws.on('error', (err) => log.debug('exec client connection error', { err: err.message }));

  const send = (channel: number, data: Buffer): Promise<void> =>
    new Promise<void>((resolve) => {
      if (ws.readyState !== ws.OPEN) return resolve();
      // Resolving once the frame reached the socket is the back-pressure towards the tunnel.
      ws.send(Buffer.concat([Buffer.from([channel]), data]), () => resolve());
    });
  const result = await copyOutput(stream, send);
  if (ws.readyState === ws.OPEN) {
    await send(WS_CHANNEL_ERROR, Buffer.from(JSON.stringify(execStatus(result))));
    ws.close(1000);
  }
  // The client answers the close; one that does not is cut loose.
  const cut = setTimeout(() => ws.terminate(), CLOSE_GRACE_MS);
  await gone;
  clearTimeout(cut);
  log.debug('exec finished', { exitCode: result.exitCode, error: result.error?.code });
}

/** The streams a SPDY exec client opens, by their `streamtype` header. */
interface ExecStreams {
  error?: SpdyStream;
  stdin?: SpdyStream;
  stdout?: SpdyStream;
  stderr?: SpdyStream;
  resize?: SpdyStream;
}

/**
 * Serves an exec over an upgraded SPDY socket (stream protocol v4): waits for the streams the
 * request asked for (error always; stdin, stdout, stderr as requested; resize with a TTY),
 * copies them to and from the tunnel, writes the final Status to the error stream, and closes
 * once the client has hung up. Resolves when done; never rejects.
 */
export async function serveSpdyExec(socket: Duplex, stream: MuxStream, r: ExecRequest, log: Logger): Promise<void> {
  const streams: ExecStreams = {};
  const wanted: (keyof ExecStreams)[] = ['error'];
  if (r.stdin) wanted.push('stdin');
  if (r.stdout) wanted.push('stdout');
  if (r.stderr) wanted.push('stderr');
  if (r.tty) wanted.push('resize');
  const all = Promise.withResolvers<boolean>();
  const conn = new SpdyConnection(socket, {
    log,
    maxStreams: 16,
    onStream: (s) => {
      const type = s.header('streamtype') as keyof ExecStreams | undefined;
      if (type === undefined || !wanted.includes(type) || streams[type] !== undefined) return s.reset();
      streams[type] = s;
      if (wanted.every((w) => streams[w] !== undefined)) all.resolve(true);
    },
  });
  const lifetime = new AbortController();
  const running = conn.run(lifetime.signal).then(() => {
    all.resolve(false);
    stream.cancel('the client closed the connection');
  });
  const timer = setTimeout(() => all.resolve(false), STREAM_CREATION_TIMEOUT_MS);
  const complete = await all.promise;
  clearTimeout(timer);
  if (!complete) {
    log.info('exec client did not open its streams', { opened: Object.keys(streams) });
    stream.cancel('the client did not open its streams');
    lifetime.abort();
    await running;
    return;
  }

  const input = (async () => {
    if (streams.stdin === undefined) return;
    for await (const chunk of streams.stdin.data()) await stream.write(CHANNEL_STDIN, chunk).catch(() => undefined);
    stream.eof(CHANNEL_STDIN);
  })();
  const resizes = (async () => {
    if (streams.resize === undefined) return;
    // Go's json.Encoder writes one object per line.
    let text = '';
    for await (const chunk of streams.resize.data()) {
      text += chunk.toString('utf8');
      for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n')) {
        const size = parseSize(text.slice(0, nl));
        text = text.slice(nl + 1);
        if (size !== undefined) stream.resize(size.width, size.height);
      }
      if (text.length > 4096) text = '';
    }
  })();
  const result = await copyOutput(stream, async (channel, data) => {
    await (channel === CHANNEL_STDOUT ? streams.stdout : streams.stderr)?.write(data);
  });
  streams.stdout?.end();
  streams.stderr?.end();
  await streams.error?.write(Buffer.from(JSON.stringify(execStatus(result))));
  streams.error?.end();
  conn.goAway();
  // kubectl hangs up once it has read everything; one that does not is cut loose.
  const cut = setTimeout(() => lifetime.abort(), CLOSE_GRACE_MS);
  await running;
  clearTimeout(cut);
  await Promise.all([input, resizes]);
  log.debug('exec finished', { exitCode: result.exitCode, error: result.error?.code });
}
