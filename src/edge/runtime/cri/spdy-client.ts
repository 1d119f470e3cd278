import type { Socket } from 'node:net';
import { PassThrough } from 'node:stream';
import { EdgeError } from '../../errors.ts';
import {
  controlFrame,
  dataFrame,
  deliverData,
  drainedOrClosed,
  FLAG_FIN,
  FRAME_TYPE,
  FrameSplitter,
  HeaderReader,
  HeaderWriter,
  RST,
  rstStreamPayload,
  SPDY_VERSION,
  synStreamPayload,
  type SpdyFrame,
} from '../../../protocol/spdy.ts';

// The ESM import of node:http costs an edge 10 MB; the builtin is the same module without that.
const { request } = process.getBuiltinModule('node:http');

/** DATA payload this side writes per frame; spdystream reads frames of any size, kubectl writes 32 KiB. */
const WRITE_CHUNK = 32 * 1024;
/** How long the upgrade and each stream's reply may take: the server is a local process. */
const REPLY_TIMEOUT_MS = 30_000;

/**
 * The client side of SPDY/3.1 as the kubelet's streaming clients speak it to a CRI streaming
 * server (containerd's is k8s.io/apimachinery's httpstream over moby/spdystream): an HTTP/1.1
 * request upgraded to `SPDY/3.1` with one Kubernetes subprotocol, then one stream per channel,
 * each opened with SYN_STREAM and used once its SYN_REPLY is in.
 *
 * Like the cloud's server (src/cloud/stream/spdy.ts), no flow control: spdystream neither sends
 * nor honours WINDOW_UPDATE, so TCP's window is the back-pressure both ways. Inbound data waits
 * in each stream's `readable` until read, and the socket is not read meanwhile.
 */
export class SpdyClientConnection {
  readonly #socket: Socket;
  readonly #writer = new HeaderWriter();
  readonly #reader = new HeaderReader();
  readonly #streams = new Map<number, SpdyClientStream>();
  readonly #replies = new Map<number, { resolve: () => void; reject: (err: Error) => void }>();
  #nextId = 1;
  #closed = false;
  /** Resolves when the socket is gone and every stream has ended. */
  readonly done: Promise<void>;

  private constructor(socket: Socket, head: Buffer) {
    this.#socket = socket;
    socket.setNoDelay(true);
    if (head.length > 0) socket.unshift(head);
    this.done = this.#read();
  }

  /**
   * Upgrades a request to `url` (the streaming server's exec, attach or port-forward URL) to
   * SPDY/3.1 with `subprotocol`, e.g. `v4.channel.k8s.io`.
   * @throws {EdgeError} `EDGE_RUNTIME_ERROR` when the server refuses (its answer as the message)
   */
  static async connect(url: string, subprotocol: string): Promise<SpdyClientConnection> {
    const req = request(url, {
      method: 'POST',
      agent: false,
      headers: { Connection: 'Upgrade', Upgrade: 'SPDY/3.1', 'X-Stream-Protocol-Version': subprotocol },
      timeout: REPLY_TIMEOUT_MS,
    });
    req.end();
    try {
      const { socket, head } = await new Promise<{ socket: Socket; head: Buffer }>((resolve, reject) => {
        req.once('upgrade', (res, socket: Socket, head: Buffer) => {
          const agreed = res.headers['x-stream-protocol-version'];
          if (agreed !== subprotocol) {
            socket.destroy();
            reject(new Error(`the server agreed to ${JSON.stringify(agreed)}, not ${subprotocol}`));
          } else resolve({ socket, head });
        });
        req.once('response', (res) => {
          const body: Buffer[] = [];
          res.on('data', (b: Buffer) => body.length < 64 && body.push(b));
          res.once('end', () => reject(new Error(`HTTP ${res.statusCode}: ${Buffer.concat(body).toString('utf8').trim()}`)));
          res.once('error', reject);
        });
        req.once('timeout', () => req.destroy(new Error(`no answer within ${REPLY_TIMEOUT_MS / 1000}s`)));
        req.once('error', reject);
      });
      return new SpdyClientConnection(socket, head);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      throw new EdgeError('EDGE_RUNTIME_ERROR', `connecting to the runtime's streaming server (${subprotocol}): ${message}`, { cause: err });
    }
  }

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Opens a stream with these headers and waits for the server's reply.
   * @throws {EdgeError} `EDGE_RUNTIME_ERROR` when the server resets it or the connection is gone
   */
  async openStream(headers: Readonly<Record<string, string>>): Promise<SpdyClientStream> {
    if (this.#closed) throw new EdgeError('EDGE_RUNTIME_ERROR', 'the streaming connection is closed');
    const id = this.#nextId;
    this.#nextId += 2;
    const stream = new SpdyClientStream(this, id);
    this.#streams.set(id, stream);
    const replied = new Promise<void>((resolve, reject) => this.#replies.set(id, { resolve, reject }));
    const block = this.#writer.encode(new Map(Object.entries(headers).map(([k, v]) => [k, [v]])));
    this.#socket.write(controlFrame(FRAME_TYPE.synStream, 0, synStreamPayload(id, block)));
    const timer = setTimeout(() => this.#replies.get(id)?.reject(new Error(`no reply within ${REPLY_TIMEOUT_MS / 1000}s`)), REPLY_TIMEOUT_MS);
    try {
      await replied;
      return stream;
    } catch (err) {
      stream.markGone();
      const message = err instanceof Error ? err.message : String(err);
      throw new EdgeError('EDGE_RUNTIME_ERROR', `opening the ${JSON.stringify(headers)} stream: ${message}`, { cause: err });
    } finally {
      clearTimeout(timer);
      this.#replies.delete(id);
    }
  }

  /** Destroys the socket; every stream ends. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#socket.destroy();
  }

  async #read(): Promise<void> {
    const splitter = new FrameSplitter();
    try {
      for await (const chunk of this.#socket as AsyncIterable<Buffer>) {
        for (const frame of splitter.push(chunk)) await this.#frame(frame);
      }
    } catch {
      // A reset socket or a peer that does not speak SPDY: either way the streams end here.
    } finally {
      this.#closed = true;
      this.#socket.destroy();
      this.#reader.close();
      for (const r of this.#replies.values()) r.reject(new Error('the connection closed'));
      for (const s of this.#streams.values()) s.markGone();
      this.#streams.clear();
    }
  }

  async #frame(frame: SpdyFrame): Promise<void> {
    const { flags, payload } = frame;
    if (!frame.control) return deliverData(frame, this.#streams.get(frame.streamId));
    if (frame.version !== SPDY_VERSION) throw new Error(`SPDY version ${frame.version}`);
    switch (frame.type) {
      case FRAME_TYPE.synReply: {
        if (payload.length < 4) throw new Error('short SYN_REPLY');
        const id = payload.readUInt32BE(0) & 0x7fffffff;
        // The inflater must see every block in order, even those this side does not need.
        await this.#reader.decode(payload.subarray(4));
        this.#replies.get(id)?.resolve();
        if ((flags & FLAG_FIN) !== 0) this.#streams.get(id)?.remoteFinished();
        return;
      }
      case FRAME_TYPE.synStream: {
        // Servers of these protocols open no streams; refuse any, after reading its headers.
        if (payload.length < 10) throw new Error('short SYN_STREAM');
        await this.#reader.decode(payload.subarray(10));
        this.#write(controlFrame(FRAME_TYPE.rstStream, 0, rstStreamPayload(payload.readUInt32BE(0), RST.refusedStream)));
        return;
      }
      case FRAME_TYPE.headers:
        if (payload.length >= 4) await this.#reader.decode(payload.subarray(4));
        return;
      case FRAME_TYPE.rstStream: {
        if (payload.length < 8) throw new Error('short RST_STREAM');
        const id = payload.readUInt32BE(0) & 0x7fffffff;
        this.#replies.get(id)?.reject(new Error(`reset by the server (status ${payload.readUInt32BE(4)})`));
        this.#streams.get(id)?.markGone();
        this.#streams.delete(id);
        return;
      }
      case FRAME_TYPE.ping:
        // The server's pings have even ids and are echoed; this side sends none.
        if (payload.length === 4 && payload.readUInt32BE(0) % 2 === 0) this.#write(controlFrame(FRAME_TYPE.ping, 0, payload));
        return;
      default:
        // SETTINGS, WINDOW_UPDATE and GOAWAY: nothing this side relies on; the server closes the socket when done.
        return;
    }
  }

  /** @internal Writes a frame; false when the socket's buffer is full. */
  write(frame: Buffer): boolean {
    return this.#write(frame);
  }

  /** @internal Resolves when the socket can take more, or is gone. */
  async drained(): Promise<void> {
    if (this.#closed || this.#socket.destroyed) return;
    await drainedOrClosed(this.#socket);
  }

  /** @internal */
  forget(id: number): void {
    this.#streams.delete(id);
  }

  #write(frame: Buffer): boolean {
    if (this.#closed || this.#socket.destroyed) return true;
    return this.#socket.write(frame);
  }
}

/**
 * One stream this side opened: what the server sends arrives in {@link readable} (ended by the
 * server's FIN or the connection's end); {@link write} and {@link end} go the other way.
 */
export class SpdyClientStream {
  readonly id: number;
  /** The server's bytes. Not reading it stalls the whole connection, as a full pipe stalls a process. */
  readonly readable = new PassThrough();
  readonly #conn: SpdyClientConnection;
  #localDone = false;
  #remoteDone = false;
  #gone = false;

  /** @internal */
  constructor(conn: SpdyClientConnection, id: number) {
    this.#conn = conn;
    this.id = id;
  }

  get isGone(): boolean {
    return this.#gone;
  }

  /**
   * Sends bytes, waiting while the socket's buffer is full.
   * @returns false when the stream or the connection is gone (nothing more can be sent)
   */
  async write(data: Buffer): Promise<boolean> {
    for (let off = 0; off < data.length; off += WRITE_CHUNK) {
      if (this.#gone || this.#localDone || this.#conn.closed) return false;
      if (!this.#conn.write(dataFrame(this.id, 0, data.subarray(off, off + WRITE_CHUNK)))) await this.#conn.drained();
    }
    return !this.#gone;
  }

  /** Half-closes this side: an empty DATA frame with FIN, which the server reads as end of input. */
  end(): void {
    if (this.#gone || this.#localDone) return;
    this.#localDone = true;
    this.#conn.write(dataFrame(this.id, FLAG_FIN, Buffer.alloc(0)));
    if (this.#remoteDone) this.#conn.forget(this.id);
  }

  /** Everything the server sends on this stream, as UTF-8, once it finishes (a `Status`, an error message). */
  async text(): Promise<string> {
    let text = '';
    for await (const chunk of this.readable as AsyncIterable<Buffer>) text += chunk.toString('utf8');
    return text;
  }

  /** @internal Passes inbound bytes on, waiting (and so not reading the socket) while the reader is behind. */
  async received(data: Buffer): Promise<void> {
    if (this.#remoteDone || this.#gone || this.readable.destroyed) return;
    if (this.readable.write(data)) return;
    await drainedOrClosed(this.readable);
  }

  /** @internal */
  remoteFinished(): void {
    if (this.#remoteDone) return;
    this.#remoteDone = true;
    this.readable.end();
    if (this.#localDone) this.#conn.forget(this.id);
  }

  /** @internal */
  markGone(): void {
    if (this.#gone) return;
    this.#gone = true;
    if (!this.#remoteDone) {
      this.#remoteDone = true;
      this.readable.end();
    }
  }
}
