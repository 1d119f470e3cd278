/**
 * A minimal gRPC client over node:http2 for the local unix sockets of container runtimes: unary
 * calls and the one bidirectional stream image import needs, with the codec of protobuf.ts.
 *
 * Why not @grpc/grpc-js: with @grpc/proto-loader parsing the .protos at start-up, a process that
 * made one CRI call carried about 27 MB over a bare Node.js (this client: 12 MB, most of it node:http2
 * and the http/tls modules it loads, which an edge has loaded anyway), and the edge 7 MB more heap,
 * for features a local socket does not need: name resolution, load balancing, TLS, retries,
 * compression, keepalives. An edge node's budget is 70 MB.
 *
 * The wire protocol (https://github.com/grpc/grpc/blob/master/doc/PROTOCOL-HTTP2.md): a POST to
 * `/<package.Service>/<Method>` with `content-type: application/grpc` and `te: trailers`; messages
 * framed as one flag byte (compressed or not) and a 4-byte big-endian length; the outcome in the
 * `grpc-status` and `grpc-message` trailers, or in the response headers when the server answers
 * with nothing else (trailers-only).
 */
import { connect as http2Connect, constants as h2, type ClientHttp2Session, type ClientHttp2Stream, type IncomingHttpHeaders } from 'node:http2';
import { connect as netConnect } from 'node:net';
import { EdgeError, type EdgeErrorCode } from '../../errors.ts';
import { containerdServiceTable, type ContainerdServiceName } from './containerd-messages.ts';
import { criService } from './cri-messages.ts';
import { decodeMessage, encodeMessageChunks, type MethodType, type ServiceType } from './protobuf.ts';

/** gRPC status codes (the numbers are the protocol's). */
export const GrpcStatus = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;
export type GrpcStatusCode = (typeof GrpcStatus)[keyof typeof GrpcStatus];

const STATUS_NAMES = new Map<number, string>(Object.entries(GrpcStatus).map(([k, v]) => [v, k]));

/** The CRI services (runtime.v1). */
export function criServices(): { runtime: ServiceType; image: ServiceType } {
  return { runtime: criService('runtime.v1.RuntimeService'), image: criService('runtime.v1.ImageService') };
}

/** containerd's own services (for image import). */
export function containerdServices(): Record<ContainerdServiceName, ServiceType> {
  return containerdServiceTable();
}

/**
 * `unix:///run/containerd/containerd.sock` (or a bare absolute path) → the gRPC target.
 * @throws {EdgeError} `EDGE_RUNTIME_UNAVAILABLE` for anything but a unix socket (CRI endpoints are local)
 */
export function grpcTarget(endpoint: string): string {
  if (endpoint.startsWith('unix://')) return `unix:${endpoint.slice('unix://'.length)}`;
  if (endpoint.startsWith('/')) return `unix:${endpoint}`;
  throw new EdgeError('EDGE_RUNTIME_UNAVAILABLE', `container runtime endpoint ${JSON.stringify(endpoint)} is not a unix socket (unix:///path/to.sock)`);
}

/** The path of the socket an endpoint names. */
export function socketPath(endpoint: string): string {
  return grpcTarget(endpoint).slice('unix:'.length);
}

/** Options of one call. */
export interface CallOptions {
  /** @default 120_000 for unary calls, 600_000 for streams */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
  /** Extra request metadata, e.g. containerd's namespace and lease headers. */
  readonly metadata?: Readonly<Record<string, string>>;
}

/** A gRPC error: the status code and the server's (or this client's) message. */
export interface GrpcServiceError extends Error {
  readonly code: GrpcStatusCode;
  readonly details: string;
}

/** The error a call fails with, shaped as grpc-js shaped it (`5 NOT_FOUND: …`). */
export class GrpcError extends Error implements GrpcServiceError {
  readonly code: GrpcStatusCode;
  readonly details: string;

  constructor(code: GrpcStatusCode, details: string, options?: { cause?: unknown }) {
    super(`${code} ${STATUS_NAMES.get(code) ?? 'UNKNOWN'}: ${details}`, options);
    this.name = 'GrpcError';
    this.code = code;
    this.details = details;
  }
}

/** Whether `err` (or its cause) is a gRPC error with this status. */
export function hasGrpcStatus(err: unknown, code: GrpcStatusCode): boolean {
  for (let e: unknown = err, i = 0; e instanceof Error && i < 4; e = e.cause, i++) {
    if ((e as Partial<GrpcServiceError>).code === code && typeof (e as Partial<GrpcServiceError>).details === 'string') return true;
  }
  return false;
}

/** The largest message either way; a CRI list of many containers stays far below. */
const MAX_MESSAGE_BYTES = 32 * 1024 * 1024;
/** The frame header: a compression flag and a 4-byte big-endian length. */
const FRAME_HEADER = 5;

/** A bidirectional stream: messages out with {@link write}, in by iterating. */
export interface GrpcDuplex<Req, Res> extends AsyncIterable<Res> {
  /** Sends one message. @throws GrpcError when the message cannot be encoded or is too large */
  write(message: Req): void;
  /** Half-closes: no more messages from this side. */
  end(): void;
  /** Abandons the call; the iterator ends in a CANCELLED error. */
  cancel(): void;
}

/**
 * One HTTP/2 connection to a local gRPC server, opened on the first call and again on the call
 * after it was lost (the runtime restarted), with promise-returning calls. Errors become
 * {@link EdgeError}s: `EDGE_RUNTIME_NOT_FOUND` for NOT_FOUND, `EDGE_RUNTIME_UNAVAILABLE` when the
 * socket does not answer, `EDGE_RUNTIME_ERROR` otherwise, each with the {@link GrpcError} as
 * `cause`. While no call is in flight the connection does not keep the process alive.
 */
export class GrpcChannel {
  readonly #path: string;
  readonly #what: string;
  #session: ClientHttp2Session | undefined;
  #active = 0;
  #closed = false;

  /** @param what names the peer in error messages, e.g. `containerd at /run/containerd/containerd.sock` */
  constructor(endpoint: string, what: string) {
    this.#path = socketPath(endpoint);
    this.#what = what;
  }

  /** The open session, or a new one when there is none or the last one closed or is going away. */
  #connection(): ClientHttp2Session {
    const current = this.#session;
    if (current !== undefined && !current.closed && !current.destroyed) return current;
    const session = http2Connect('http://localhost', {
      createConnection: () => netConnect(this.#path),
      // Answers of up to megabytes (lists of many containers, ExecSync output) arrive without
      // waiting for a window update every 64 KiB, HTTP/2's default.
      settings: { initialWindowSize: 4 * 1024 * 1024 },
    });
    const forget = (): void => {
      if (this.#session === session) this.#session = undefined;
    };
    // A lost connection is reported to the calls on it (as UNAVAILABLE); the next call reconnects.
    session.on('error', forget);
    session.once('close', forget);
    session.once('goaway', forget);
    if (this.#active === 0) session.unref();
    this.#session = session;
    return session;
  }

  /** Counts calls in flight: the connection keeps the process alive only while there are some. */
  #hold(): () => void {
    if (this.#active++ === 0) this.#session?.ref();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (--this.#active === 0) this.#session?.unref();
    };
  }

  /**
   * Starts a call: sends the headers and returns the stream, reconnecting once when the session
   * turns out to be unusable (closed under us between the check and the request).
   */
  #request(method: MethodType, timeoutMs: number, metadata: Readonly<Record<string, string>> | undefined): ClientHttp2Stream {
    if (this.#closed) throw new GrpcError(GrpcStatus.UNAVAILABLE, 'the channel is closed');
    const headers: Record<string, string> = {
      ':method': 'POST',
      ':path': method.path,
      'content-type': 'application/grpc',
      te: 'trailers',
      'grpc-timeout': grpcTimeout(timeoutMs),
      'user-agent': 'kedge-grpc',
    };
    for (const [k, v] of Object.entries(metadata ?? {})) headers[k.toLowerCase()] = v;
    for (let attempt = 0; ; attempt++) {
      const session = this.#connection();
      try {
        return session.request(headers, { endStream: false });
      } catch (err) {
        // ERR_HTTP2_INVALID_SESSION, ERR_HTTP2_GOAWAY_SESSION, ERR_HTTP2_OUT_OF_STREAMS: the server
        // saw nothing of this call, so a fresh connection may take it.
        if (this.#session === session) this.#session = undefined;
        session.destroy();
        if (attempt > 0) throw new GrpcError(GrpcStatus.UNAVAILABLE, `cannot start a call: ${(err as Error).message}`, { cause: err });
      }
    }
  }

  /** Calls a unary method. */
  async unary<Res>(service: ServiceType, method: string, request: object, options: CallOptions = {}): Promise<Res> {
    const m = service.methods.get(method);
    if (m === undefined) throw new Error(`no gRPC method ${method} in ${service.name}`);
    let frame: Buffer[];
    try {
      frame = encodeFrame(m, request);
      // A stream the server refused (REFUSED_STREAM) never ran: it is retried once, transparently,
      // as grpc-js does; a server restarting under a call sends that.
      for (let attempt = 0; ; attempt++) {
        try {
          return await this.#unaryOnce<Res>(m, frame, options);
        } catch (err) {
          if (!(err instanceof RefusedStream) || attempt > 0) throw err;
        }
      }
    } catch (err) {
      if (err instanceof GrpcError) throw this.wrap(err, method);
      throw err;
    }
  }

  #unaryOnce<Res>(m: MethodType, frame: readonly Buffer[], options: CallOptions): Promise<Res> {
    return new Promise<Res>((resolve, reject) => {
      const replies: Buffer[] = [];
      const call = this.#start(m, options, 120_000, {
        message: (b) => replies.push(b),
        end: (err) => {
          if (err !== undefined) return reject(err);
          if (replies.length !== 1) return reject(new GrpcError(GrpcStatus.INTERNAL, `a unary call answered with ${replies.length} messages`));
          try {
            resolve(decodeMessage(m.response, replies[0]!) as Res);
          } catch (e) {
            reject(new GrpcError(GrpcStatus.INTERNAL, `response message parsing failure: ${(e as Error).message}`, { cause: e }));
          }
        },
      });
      if (call === undefined) return;
      writeFrame(call, frame);
      call.end();
    });
  }

  /** Opens a bidirectional stream (containerd's content writes). */
  duplex<Req extends object, Res>(service: ServiceType, method: string, options: CallOptions = {}): GrpcDuplex<Req, Res> {
    const m = service.methods.get(method);
    if (m === undefined) throw new Error(`no gRPC method ${method} in ${service.name}`);
    const queue: Res[] = [];
    let failure: GrpcError | undefined;
    let ended = false;
    let waiter: { resolve: (r: IteratorResult<Res>) => void; reject: (e: unknown) => void } | undefined;
    const wake = (): void => {
      const w = waiter;
      if (w === undefined) return;
      if (queue.length > 0) w.resolve({ value: queue.shift()!, done: false });
      else if (failure !== undefined) w.reject(failure);
      else if (ended) w.resolve({ value: undefined, done: true });
      else return;
      waiter = undefined;
    };
    const stream = this.#start(m, options, 600_000, {
      message: (b) => {
        try {
          queue.push(decodeMessage(m.response, b) as Res);
        } catch (e) {
          failure ??= new GrpcError(GrpcStatus.INTERNAL, `response message parsing failure: ${(e as Error).message}`, { cause: e });
          stream?.close(h2.NGHTTP2_CANCEL);
        }
        wake();
      },
      end: (err) => {
        if (err !== undefined) failure ??= err;
        ended = true;
        wake();
      },
    });
    return {
      write: (message) => {
        if (stream === undefined || stream.closed || stream.destroyed) throw failure ?? new GrpcError(GrpcStatus.CANCELLED, 'the call has ended');
        writeFrame(stream, encodeFrame(m, message));
      },
      end: () => stream?.end(),
      cancel: () => {
        failure ??= new GrpcError(GrpcStatus.CANCELLED, 'Cancelled on client');
        stream?.close(h2.NGHTTP2_CANCEL);
      },
      [Symbol.asyncIterator]: () => ({
        next: () =>
          new Promise<IteratorResult<Res>>((resolve, reject) => {
            waiter = { resolve, reject };
            wake();
          }),
      }),
    };
  }

  /**
   * Starts a call and wires its outcome: every response message to `on.message`, then exactly one
   * `on.end` with undefined (status OK) or the {@link GrpcError}. Returns the stream to write the
   * request to, or undefined when the call failed before it started (`on.end` has been called).
   */
  #start(m: MethodType, options: CallOptions, defaultTimeoutMs: number, on: { message: (b: Buffer) => void; end: (err: GrpcError | undefined) => void }): ClientHttp2Stream | undefined {
    const timeoutMs = options.timeoutMs ?? defaultTimeoutMs;
    if (options.signal?.aborted === true) {
      on.end(new GrpcError(GrpcStatus.CANCELLED, 'Cancelled on client'));
      return undefined;
    }
    let stream: ClientHttp2Stream;
    try {
      stream = this.#request(m, timeoutMs, options.metadata);
    } catch (err) {
      on.end(err instanceof GrpcError ? err : new GrpcError(GrpcStatus.UNAVAILABLE, (err as Error).message, { cause: err }));
      return undefined;
    }
    const session = this.#session;
    const release = this.#hold();
    let local: GrpcError | undefined;
    let streamError: Error | undefined;
    let headers: IncomingHttpHeaders | undefined;
    let trailers: IncomingHttpHeaders | undefined;
    let done = false;
    const finish = (err: GrpcError | undefined): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', abort);
      release();
      on.end(err);
    };
    // Fails the call at once (the deadline, the caller's signal, a bad frame) and resets the stream.
    const fail = (err: GrpcError): void => {
      local ??= err;
      if (!stream.closed && !stream.destroyed) stream.close(h2.NGHTTP2_CANCEL);
      finish(local);
    };
    // setTimeout takes at most 2^31 - 1 ms (24.8 days) and fires at once beyond that.
    const timer = setTimeout(() => fail(new GrpcError(GrpcStatus.DEADLINE_EXCEEDED, 'Deadline exceeded')), Math.min(timeoutMs, 2 ** 31 - 1));
    const abort = (): void => fail(new GrpcError(GrpcStatus.CANCELLED, 'Cancelled on client'));
    options.signal?.addEventListener('abort', abort, { once: true });
    const frames = new FrameReader(MAX_MESSAGE_BYTES);
    stream.on('response', (h: IncomingHttpHeaders) => {
      headers = h;
    });
    stream.on('trailers', (t: IncomingHttpHeaders) => {
      trailers = t;
    });
    stream.on('data', (chunk: Buffer) => {
      if (done) return;
      try {
        for (const message of frames.push(chunk)) on.message(message);
      } catch (err) {
        fail(err as GrpcError);
      }
    });
    stream.on('error', (err: Error) => {
      streamError ??= err;
    });
    // The server's status ends the call even while this side may still send (a stream the server
    // refused halfway): the rest of the stream is reset rather than waited for.
    stream.on('end', () => {
      if (trailers?.['grpc-status'] === undefined && headers?.['grpc-status'] === undefined) return;
      finish(outcome(stream, headers, trailers, streamError, frames, false));
      if (!stream.closed && !stream.destroyed) stream.close(h2.NGHTTP2_NO_ERROR);
    });
    stream.on('close', () => finish(outcome(stream, headers, trailers, streamError, frames, session?.destroyed !== false)));
    return stream;
  }

  /** Wraps a gRPC error from `method` as an {@link EdgeError}. */
  wrap(err: GrpcServiceError, method: string): EdgeError {
    const code: EdgeErrorCode = err.code === GrpcStatus.NOT_FOUND ? 'EDGE_RUNTIME_NOT_FOUND' : err.code === GrpcStatus.UNAVAILABLE ? 'EDGE_RUNTIME_UNAVAILABLE' : 'EDGE_RUNTIME_ERROR';
    return new EdgeError(code, `${method} on ${this.#what}: ${err.details || err.message}`, { cause: err });
  }

  /** Closes the connection; calls in flight are cut off, later calls fail as UNAVAILABLE. */
  close(): void {
    this.#closed = true;
    this.#session?.destroy();
    this.#session = undefined;
  }
}

/** A stream the server refused before it ran: safe to send again. */
class RefusedStream extends GrpcError {
  constructor() {
    super(GrpcStatus.UNAVAILABLE, 'the server refused the stream (REFUSED_STREAM)');
  }
}

/**
 * A request message as one frame: the 5-byte header and the message's chunks (see
 * {@link encodeMessageChunks}), written to the stream one after another.
 * @throws GrpcError INTERNAL or RESOURCE_EXHAUSTED
 */
function encodeFrame(m: MethodType, message: object): Buffer[] {
  let body: { chunks: Buffer[]; length: number };
  try {
    body = encodeMessageChunks(m.request, message);
  } catch (err) {
    throw new GrpcError(GrpcStatus.INTERNAL, `request message serialization failure: ${(err as Error).message}`, { cause: err });
  }
  if (body.length > MAX_MESSAGE_BYTES) throw new GrpcError(GrpcStatus.RESOURCE_EXHAUSTED, `sent message larger than max (${body.length} vs. ${MAX_MESSAGE_BYTES})`);
  const header = Buffer.allocUnsafe(FRAME_HEADER);
  header[0] = 0;
  header.writeUInt32BE(body.length, 1);
  return [header, ...body.chunks];
}

/** Writes a frame's chunks in one go (one writev). */
function writeFrame(stream: ClientHttp2Stream, frame: readonly Buffer[]): void {
  stream.cork();
  for (const chunk of frame) stream.write(chunk);
  stream.uncork();
}

/**
 * Splits the response body into messages as it arrives.
 * @throws GrpcError for a compressed message (none was asked for) or one over the size limit,
 *   checked from the header before the body is buffered
 */
class FrameReader {
  readonly #max: number;
  #chunks: Buffer[] = [];
  #buffered = 0;
  /** The length of the message being read, once its header is in. */
  #need: number | undefined;

  constructor(max: number) {
    this.#max = max;
  }

  /** Whether a message has begun and not ended (a body that ends here was cut short). */
  get incomplete(): boolean {
    return this.#buffered > 0 || this.#need !== undefined;
  }

  push(chunk: Buffer): Buffer[] {
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
    const out: Buffer[] = [];
    for (;;) {
      if (this.#need === undefined) {
        if (this.#buffered < FRAME_HEADER) break;
        const header = this.#take(FRAME_HEADER);
        if (header[0] !== 0) throw new GrpcError(GrpcStatus.INTERNAL, header[0] === 1 ? 'received a compressed message, but no compression was negotiated' : `invalid frame flag ${header[0]}`);
        const length = header.readUInt32BE(1);
        if (length > this.#max) throw new GrpcError(GrpcStatus.RESOURCE_EXHAUSTED, `received message larger than max (${length} vs. ${this.#max})`);
        this.#need = length;
      }
      if (this.#buffered < this.#need) break;
      out.push(this.#take(this.#need));
      this.#need = undefined;
    }
    return out;
  }

  #take(n: number): Buffer {
    const all = this.#chunks.length === 1 ? this.#chunks[0]! : Buffer.concat(this.#chunks, this.#buffered);
    const head = all.subarray(0, n);
    const rest = all.subarray(n);
    this.#chunks = rest.length > 0 ? [rest] : [];
    this.#buffered = rest.length;
    return head;
  }
}

/**
 * A call's outcome once its stream ended: undefined for OK, the error otherwise. `connectionLost`:
 * the stream's session is gone (node:http2 then resets its streams with INTERNAL_ERROR, which is
 * not the server's doing).
 */
function outcome(
  stream: ClientHttp2Stream,
  headers: IncomingHttpHeaders | undefined,
  trailers: IncomingHttpHeaders | undefined,
  streamError: Error | undefined,
  frames: FrameReader,
  connectionLost: boolean,
): GrpcError | undefined {
  // Trailers, or the headers of a trailers-only response.
  const status = trailers?.['grpc-status'] ?? headers?.['grpc-status'];
  if (status !== undefined) {
    const code = Number(status);
    const raw = trailers?.['grpc-status'] !== undefined ? trailers['grpc-message'] : headers?.['grpc-message'];
    const message = decodeGrpcMessage(typeof raw === 'string' ? raw : '');
    if (!Number.isInteger(code) || code < 0 || code > 16) return new GrpcError(GrpcStatus.UNKNOWN, `invalid grpc-status ${JSON.stringify(status)}: ${message}`);
    if (code !== GrpcStatus.OK) return new GrpcError(code as GrpcStatusCode, message);
    if (frames.incomplete) return new GrpcError(GrpcStatus.INTERNAL, 'the response ended inside a message');
    return undefined;
  }
  if (headers !== undefined) {
    const http = Number(headers[':status']);
    if (http !== 200) return new GrpcError(httpStatusToGrpc(http), `received HTTP status code ${http}`);
    const type = headers['content-type'];
    if (typeof type !== 'string' || !type.startsWith('application/grpc')) return new GrpcError(GrpcStatus.UNKNOWN, `received content-type ${JSON.stringify(type)}`);
  }
  if (!connectionLost && stream.rstCode !== undefined && stream.rstCode !== h2.NGHTTP2_NO_ERROR) {
    if (stream.rstCode === h2.NGHTTP2_REFUSED_STREAM && headers === undefined) return new RefusedStream();
    return new GrpcError(rstToGrpc(stream.rstCode), `received RST_STREAM with code ${stream.rstCode}`);
  }
  // No status at all: the connection went away (connect failed, the server died or restarted).
  const why = streamError !== undefined ? causeOf(streamError) : 'the connection closed before the call completed';
  return new GrpcError(GrpcStatus.UNAVAILABLE, headers === undefined ? `no connection: ${why}` : `connection lost: ${why}`, { cause: streamError });
}

/** The socket error behind a stream error (`connect ENOENT /run/…/containerd.sock`). */
function causeOf(err: Error): string {
  const cause = err.cause instanceof Error ? err.cause : undefined;
  return (cause ?? err).message;
}

/** The mapping of gRPC's http-grpc-status-mapping.md. */
function httpStatusToGrpc(http: number): GrpcStatusCode {
  switch (http) {
    case 400:
      return GrpcStatus.INTERNAL;
    case 401:
      return GrpcStatus.UNAUTHENTICATED;
    case 403:
      return GrpcStatus.PERMISSION_DENIED;
    case 404:
      return GrpcStatus.UNIMPLEMENTED;
    case 429:
    case 502:
    case 503:
    case 504:
      return GrpcStatus.UNAVAILABLE;
    default:
      return GrpcStatus.UNKNOWN;
  }
}

/** RST_STREAM codes as grpc-js maps them. */
function rstToGrpc(code: number): GrpcStatusCode {
  switch (code) {
    case h2.NGHTTP2_REFUSED_STREAM:
      return GrpcStatus.UNAVAILABLE;
    case h2.NGHTTP2_CANCEL:
      return GrpcStatus.CANCELLED;
    case h2.NGHTTP2_ENHANCE_YOUR_CALM:
      return GrpcStatus.RESOURCE_EXHAUSTED;
    case h2.NGHTTP2_INADEQUATE_SECURITY:
      return GrpcStatus.PERMISSION_DENIED;
    default:
      return GrpcStatus.INTERNAL;
  }
}

/** `grpc-message` is percent-encoded; a malformed one is shown as it came. */
function decodeGrpcMessage(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

/** `grpc-timeout`: at most 8 digits and a unit. */
export function grpcTimeout(ms: number): string {
  const n = Math.max(0, Math.ceil(ms));
  if (n <= 99_999_999) return `${n}m`;
  if (n / 1000 <= 99_999_999) return `${Math.ceil(n / 1000)}S`;
  return `${Math.min(99_999_999, Math.ceil(n / 3_600_000))}H`;
}
