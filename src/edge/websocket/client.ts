// The edge's WebSocket client (RFC 6455) for its two connections to the cloud, the hub session and
// the stream tunnel. The `ws` package served them before; as a client it brought about 135 KB of
// JavaScript and the zlib and querystring builtins into every edge process, for features the edge
// never uses (servers, compression, redirects). The cloud keeps `ws` for its servers.
import { createHash, randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { connect as netConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import {
  CLOSE_ABNORMAL,
  CLOSE_NO_STATUS,
  FrameReader,
  OP_BINARY,
  OP_CLOSE,
  OP_PING,
  OP_PONG,
  OP_TEXT,
  WebSocketProtocolError,
  closePayload,
  encodeFrame,
  isValidCloseCode,
  type Incoming,
} from './frame.ts';

const ACCEPT_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
/** A 101 answer's header bigger than this is not a WebSocket server talking. */
const MAX_RESPONSE_HEAD = 16 * 1024;
/** How much of a refusal's body is kept for the error: enough for a Status or a message. */
const MAX_REFUSAL_BODY = 64 * 1024;
/** How long a close handshake may take before the connection is dropped (as `ws` does). */
const CLOSE_TIMEOUT_MS = 30_000;

/** Why a connection failed before it opened. */
export type WebSocketErrorCode = 'WS_UPGRADE_REFUSED' | 'WS_HANDSHAKE_INVALID' | 'WS_HANDSHAKE_TIMEOUT' | 'WS_CLOSED_BEFORE_OPEN';

/** A failed opening handshake; the callers tell them apart by `code`. */
export class WebSocketError extends Error {
  readonly code: WebSocketErrorCode;
  constructor(code: WebSocketErrorCode, message: string) {
    super(message);
    this.name = 'WebSocketError';
    this.code = code;
  }
}

/**
 * The server answered the upgrade with something other than 101: the cloud refuses a node this way
 * (401/403 for its certificate, 409, 503), and the caller's back-off depends on which.
 */
export class WebSocketUpgradeRefused extends WebSocketError {
  readonly status: number;
  readonly body: string;
  constructor(status: number, statusText: string, body: string) {
    super('WS_UPGRADE_REFUSED', `the server refused the WebSocket upgrade with HTTP ${status}${statusText !== '' ? ` ${statusText}` : ''}${body !== '' ? `: ${body.slice(0, 200)}` : ''}`);
    this.name = 'WebSocketUpgradeRefused';
    this.status = status;
    this.body = body;
  }
}

/** Where and how to connect. */
export interface WebSocketClientOptions {
  /** A host name or an IP address (without brackets). */
  readonly host: string;
  readonly port: number;
  readonly path: string;
  /** Subprotocols offered; the server must pick one of them. */
  readonly protocols?: readonly string[];
  readonly headers?: Readonly<Record<string, string>>;
  /** The largest message accepted; a larger one closes the connection with 1009. */
  readonly maxPayload: number;
  /** TCP (when not given), TLS and the upgrade, together. */
  readonly handshakeTimeoutMs: number;
  /**
   * `wss://`: the options of `tls.connect` (a `secureContext`, or `ca`/`cert`/`key`, and
   * `rejectUnauthorized`...). `servername` defaults to `host` when it is a name. Absent: `ws://`.
   */
  readonly tls?: ConnectionOptions;
  /** A TCP socket to `host:port`, connected or connecting, to run over; one is opened otherwise. */
  readonly socket?: Socket;
}

interface Events {
  open: [];
  message: [data: Buffer, isBinary: boolean];
  ping: [data: Buffer];
  pong: [data: Buffer];
  /** At most once per connection, always before `close`. */
  error: [err: Error];
  /** Exactly once, when the socket has closed: the close frame's code, or 1006 without one. */
  close: [code: number, reason: string];
}

/**
 * A WebSocket client connection, opened by the constructor. The events come in the order that
 * callers written for `ws` rely on: `open`, then `message`/`ping`/`pong`, and finally one `close`,
 * preceded by at most one `error`. A refused upgrade is an `error` ({@link WebSocketUpgradeRefused})
 * and a `close` with 1006. When this side detects a protocol error it sends the close code the RFC
 * asks for (1002, 1007, 1009) and reports that code in `close`, since it stops reading frames then.
 */
export class WebSocketClient extends EventEmitter<Events> {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSING = 2;
  static readonly CLOSED = 3;

  readonly #socket: Socket;
  readonly #key = randomBytes(16).toString('base64');
  readonly #protocols: readonly string[];
  readonly #reader: FrameReader;
  #state = WebSocketClient.CONNECTING;
  #protocol = '';
  #head: Buffer | undefined = Buffer.alloc(0);
  #refusal: { status: number; text: string; length: number | undefined; chunked: boolean; body: Buffer } | undefined;
  #timer: NodeJS.Timeout | undefined;
  // Frames are read until a close frame or a protocol error; whatever follows is ignored.
  #reading = true;
  #closeSent = false;
  #closeReceived = false;
  #errorEmitted = false;
  #code = CLOSE_ABNORMAL;
  #reason = '';

  constructor(options: WebSocketClientOptions) {
    super();
    this.#protocols = options.protocols ?? [];
    this.#reader = new FrameReader(options.maxPayload);
    const request = requestOf(options, this.#key);
    let socket = options.socket;
    if (socket === undefined) {
      socket = netConnect({ host: options.host, port: options.port });
      socket.setNoDelay(true);
    }
    if (options.tls !== undefined) {
      // An IP address is checked against the certificate's IP SANs; SNI is for names only.
      socket = tlsConnect({ servername: isIP(options.host) === 0 ? options.host : '', ...options.tls, host: options.host, port: options.port, socket });
    }
    this.#socket = socket;
    // Written at once: both net and TLS sockets hold writes until they are connected.
    socket.write(request);
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('error', (err) => {
      // Nothing more is sent on a broken connection; `close` follows once the socket is gone.
      if (this.#state === WebSocketClient.OPEN) this.#state = WebSocketClient.CLOSING;
      this.#emitError(err);
      socket.destroy();
    });
    socket.on('close', () => this.#onClose());
    this.#timer = setTimeout(() => this.#abort(new WebSocketError('WS_HANDSHAKE_TIMEOUT', `the WebSocket handshake did not complete within ${options.handshakeTimeoutMs} ms`)), options.handshakeTimeoutMs);
  }

  /** {@link WebSocketClient.CONNECTING}, `OPEN`, `CLOSING` or `CLOSED`. */
  get readyState(): number {
    return this.#state;
  }

  /** The subprotocol the server chose ('' when none was offered). */
  get protocol(): string {
    return this.#protocol;
  }

  /**
   * Sends a text (string) or binary message. Dropped once the connection is closing, as a close
   * can race any send and the callers judge delivery by replies, not by writes.
   * @throws Error while the connection is still opening
   */
  send(data: string | Uint8Array): void {
    if (this.#state === WebSocketClient.CONNECTING) throw new Error('the WebSocket is not open yet');
    if (this.#state !== WebSocketClient.OPEN) return;
    const payload = typeof data === 'string' || Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    this.#socket.write(encodeFrame(typeof data === 'string' ? OP_TEXT : OP_BINARY, payload));
  }

  /** Sends a ping; the answer arrives as a `pong` event. Ignored unless open. */
  ping(data: Buffer = Buffer.alloc(0)): void {
    if (this.#state === WebSocketClient.OPEN) this.#socket.write(encodeFrame(OP_PING, data.subarray(0, 125)));
  }

  /**
   * Starts the close handshake; `close` follows once the server has answered and the socket has
   * closed, or after 30 s without an answer. Before the connection opened, it is aborted instead.
   * @param code sent in the close frame; none (the peer sees 1005) when omitted
   * @throws RangeError for a code a close frame may not carry
   */
  close(code?: number, reason = ''): void {
    if (code !== undefined && !isValidCloseCode(code)) throw new RangeError(`invalid WebSocket close code ${code}`);
    if (this.#state === WebSocketClient.CONNECTING) {
      this.#abort(new WebSocketError('WS_CLOSED_BEFORE_OPEN', 'the WebSocket was closed before the connection was established'));
      return;
    }
    if (this.#state === WebSocketClient.CLOSED || this.#closeSent) return;
    this.#sendClose(code, reason);
    if (this.#closeReceived) this.#socket.end();
  }

  /** Drops the connection at once, without a close handshake (`close` reports 1006). */
  terminate(): void {
    if (this.#state === WebSocketClient.CONNECTING) {
      this.#abort(new WebSocketError('WS_CLOSED_BEFORE_OPEN', 'the WebSocket was closed before the connection was established'));
      return;
    }
    if (this.#state === WebSocketClient.CLOSED) return;
    this.#state = WebSocketClient.CLOSING;
    this.#reading = false;
    this.#socket.destroy();
  }

  #sendClose(code: number | undefined, reason: string): void {
    this.#state = WebSocketClient.CLOSING;
    this.#closeSent = true;
    this.#socket.write(encodeFrame(OP_CLOSE, code === undefined ? Buffer.alloc(0) : closePayload(code, reason)));
    this.#timer = setTimeout(() => this.#socket.destroy(), CLOSE_TIMEOUT_MS);
    this.#timer.unref();
  }

  #onData(chunk: Buffer): void {
    if (this.#state === WebSocketClient.CONNECTING) {
      this.#onHandshakeData(chunk);
      return;
    }
    if (!this.#reading) return;
    let items: Incoming[];
    try {
      items = this.#reader.push(chunk);
    } catch (err) {
      if (!(err instanceof WebSocketProtocolError)) throw err;
      // Items read before the bad frame are lost with the connection; a protocol error ends it anyway.
      this.#protocolError(err);
      return;
    }
    for (const item of items) {
      if (!this.#reading) return;
      this.#dispatch(item);
    }
  }

  #dispatch(item: Incoming): void {
    switch (item.kind) {
      case 'message':
        this.emit('message', item.data, item.binary);
        break;
      case 'ping':
        if (this.#state === WebSocketClient.OPEN) this.#socket.write(encodeFrame(OP_PONG, item.data));
        this.emit('ping', item.data);
        break;
      case 'pong':
        this.emit('pong', item.data);
        break;
      case 'close':
        this.#reading = false;
        this.#closeReceived = true;
        this.#code = item.code;
        this.#reason = item.reason;
        // Echo the code (§5.5.1), then end our side; the server closes the TCP connection.
        if (!this.#closeSent) this.#sendClose(item.code === CLOSE_NO_STATUS ? undefined : item.code, '');
        this.#socket.end();
        break;
    }
  }

  #protocolError(err: WebSocketProtocolError): void {
    this.#reading = false;
    this.#code = err.closeCode;
    this.#reason = '';
    this.#emitError(err);
    if (!this.#closeSent && this.#state !== WebSocketClient.CLOSED) this.#sendClose(err.closeCode, '');
    this.#socket.end();
  }

  #onHandshakeData(chunk: Buffer): void {
    if (this.#refusal !== undefined) {
      this.#refusalData(chunk);
      return;
    }
    const head = Buffer.concat([this.#head!, chunk]);
    const end = head.indexOf('\r\n\r\n');
    if (end === -1) {
      if (head.length > MAX_RESPONSE_HEAD) this.#abort(new WebSocketError('WS_HANDSHAKE_INVALID', `the server's answer to the upgrade has a header over ${MAX_RESPONSE_HEAD} bytes`));
      else this.#head = head;
      return;
    }
    this.#head = undefined;
    const rest = head.subarray(end + 4);
    const response = parseResponse(head.subarray(0, end).toString('latin1'));
    if (response === undefined) {
      this.#abort(new WebSocketError('WS_HANDSHAKE_INVALID', 'the server did not answer the upgrade with HTTP'));
      return;
    }
    if (response.status !== 101) {
      const length = response.headers.get('content-length');
      this.#refusal = {
        status: response.status,
        text: response.text,
        length: length !== undefined && /^\d+$/.test(length) ? Number(length) : undefined,
        chunked: /\bchunked\b/i.test(response.headers.get('transfer-encoding') ?? ''),
        body: Buffer.alloc(0),
      };
      this.#refusalData(rest);
      return;
    }
    const problem = this.#checkUpgrade(response.headers);
    if (problem !== undefined) {
      this.#abort(new WebSocketError('WS_HANDSHAKE_INVALID', problem));
      return;
    }
    clearTimeout(this.#timer);
    this.#state = WebSocketClient.OPEN;
    this.emit('open');
    if (rest.length > 0 && this.#state === WebSocketClient.OPEN) this.#onData(rest);
  }

  /** Why a 101 answer is not the upgrade this client asked for (§4.1), if it is not. */
  #checkUpgrade(headers: Map<string, string>): string | undefined {
    if ((headers.get('upgrade') ?? '').toLowerCase() !== 'websocket') return 'the 101 answer does not upgrade to websocket';
    if (!/(^|,)\s*upgrade\s*(,|$)/i.test(headers.get('connection') ?? '')) return 'the 101 answer has no "Connection: Upgrade"';
    const accept = createHash('sha1').update(this.#key + ACCEPT_GUID).digest('base64');
    if (headers.get('sec-websocket-accept') !== accept) return 'the 101 answer has a wrong Sec-WebSocket-Accept';
    if (headers.has('sec-websocket-extensions')) return 'the server chose an extension this client did not offer';
    const protocol = headers.get('sec-websocket-protocol');
    if (protocol === undefined) {
      if (this.#protocols.length > 0) return 'the server chose none of the offered subprotocols';
    } else if (!this.#protocols.includes(protocol)) {
      return `the server chose the subprotocol ${JSON.stringify(protocol)}, which was not offered`;
    }
    this.#protocol = protocol ?? '';
    return undefined;
  }

  /** Collects a refusal's body (bounded) and fails the connection once it is complete. */
  #refusalData(chunk: Buffer): void {
    const r = this.#refusal!;
    if (r.body.length < MAX_REFUSAL_BODY) r.body = Buffer.concat([r.body, chunk.subarray(0, MAX_REFUSAL_BODY - r.body.length)]);
    const complete =
      r.body.length >= MAX_REFUSAL_BODY ||
      (r.length !== undefined && r.body.length >= r.length) ||
      (r.chunked && r.body.includes('0\r\n\r\n'));
    if (complete) this.#refused();
  }

  #refused(): void {
    const r = this.#refusal!;
    const body = (r.chunked ? dechunk(r.body) : r.body.subarray(0, r.length)).toString('utf8');
    this.#abort(new WebSocketUpgradeRefused(r.status, r.text, body));
  }

  /** Fails the opening handshake: `error`, then `close` (1006) once the socket is gone. */
  #abort(err: Error): void {
    if (this.#state !== WebSocketClient.CONNECTING) return;
    this.#state = WebSocketClient.CLOSING;
    this.#reading = false;
    clearTimeout(this.#timer);
    this.#emitError(err);
    this.#socket.destroy();
  }

  #emitError(err: Error): void {
    if (this.#errorEmitted) return;
    this.#errorEmitted = true;
    this.emit('error', err);
  }

  #onClose(): void {
    if (this.#state === WebSocketClient.CLOSED) return;
    if (this.#state === WebSocketClient.CONNECTING) {
      // The server answered with a refusal and closed without saying how long its body was.
      if (this.#refusal !== undefined) this.#refused();
      else this.#abort(Object.assign(new Error('the connection closed before the WebSocket handshake completed'), { code: 'ECONNRESET' }));
    }
    clearTimeout(this.#timer);
    this.#state = WebSocketClient.CLOSED;
    this.emit('close', this.#code, this.#reason);
  }
}

function requestOf(o: WebSocketClientOptions, key: string): string {
  const host = isIP(o.host) === 6 ? `[${o.host}]` : o.host;
  const lines = [`GET ${o.path} HTTP/1.1`, `Host: ${host}:${o.port}`, 'Upgrade: websocket', 'Connection: Upgrade', `Sec-WebSocket-Key: ${key}`, 'Sec-WebSocket-Version: 13'];
  if (o.protocols !== undefined && o.protocols.length > 0) lines.push(`Sec-WebSocket-Protocol: ${o.protocols.join(', ')}`);
  for (const [name, value] of Object.entries(o.headers ?? {})) lines.push(`${name}: ${value}`);
  const request = lines.join('\r\n');
  // A CR or LF from a caller's value would let it write a header (or a request) of its own.
  if (/[\r\n]/.test(request.replaceAll('\r\n', ''))) throw new TypeError('a WebSocket request header contains a line break');
  return `${request}\r\n\r\n`;
}

function parseResponse(head: string): { status: number; text: string; headers: Map<string, string> } | undefined {
  const lines = head.split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})(?: (.*))?$/.exec(lines[0] ?? '');
  if (m === null) return undefined;
  const headers = new Map<string, string>();
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    const prior = headers.get(name);
    headers.set(name, prior === undefined ? value : `${prior}, ${value}`);
  }
  return { status: Number(m[1]), text: m[2] ?? '', headers };
}

/** The payload of a chunked body, as far as it is well formed. */
function dechunk(body: Buffer): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const eol = body.indexOf('\r\n', at);
    if (eol === -1) break;
    const size = parseInt(body.subarray(at, eol).toString('latin1'), 16);
    if (!Number.isFinite(size) || size === 0) break;
    parts.push(body.subarray(eol + 2, eol + 2 + size));
    at = eol + 2 + size + 2;
  }
  return Buffer.concat(parts);
}
