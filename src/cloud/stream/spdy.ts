import type { Duplex } from 'node:stream';
import type { Logger } from '../../log/logger.ts';
import {
  controlFrame,
  dataFrame,
  deliverData,
  drainedOrClosed,
  FLAG_FIN,
  FRAME_TYPE as TYPE,
  FrameSplitter,
  HeaderReader,
  HeaderWriter,
  RST,
  rstStreamPayload,
  SPDY_VERSION as VERSION,
  u32,
  type SpdyFrame,
} from '../../protocol/spdy.ts';

export { RST, SPDY3_DICTIONARY } from '../../protocol/spdy.ts';

/**
 * The server side of SPDY/3.1 (draft-mbelshe-httpbis-spdy-00 as amended by 3.1), as much as
 * Kubernetes' streaming protocols use it: kubectl (through moby/spdystream) upgrades an HTTP
 * request to `SPDY/3.1`, opens streams with SYN_STREAM, and expects a SYN_REPLY on each before
 * it sends data. kubectl up to 1.29 runs `exec` this way, and every kubectl runs `port-forward`
 * this way (1.31+ tunnels the same frames through a WebSocket).
 *
 * Not implemented, because spdystream does not use them: server push, HEADERS after the reply,
 * CREDENTIAL, and flow control (spdystream neither sends nor honours WINDOW_UPDATE; TCP's window
 * is the only back-pressure, which {@link SpdyStream.write} respects).
 */

/** DATA payload this side writes per frame. */
const WRITE_CHUNK = 32 * 1024;
/** Inbound bytes queued on a stream before the connection stops reading (the consumer is slow). */
const MAX_QUEUED = 1024 * 1024;

/** Options of {@link SpdyConnection}. */
export interface SpdyConnectionOptions {
  /** Called for each stream the client opens, after it was replied to. */
  readonly onStream: (stream: SpdyStream) => void;
  readonly log: Logger;
  /** Streams the client may open in all; kubectl's port-forward opens two per connection. @default 10_000 */
  readonly maxStreams?: number;
}

/**
 * One SPDY/3.1 server connection over an upgraded socket. {@link run} reads frames until the
 * socket ends or `signal` aborts, replying to every stream the client opens; the socket is
 * destroyed when it returns.
 */
export class SpdyConnection {
  readonly #socket: Duplex;
  readonly #o: SpdyConnectionOptions;
  readonly #streams = new Map<number, SpdyStream>();
  readonly #headerWriter = new HeaderWriter();
  readonly #headerReader = new HeaderReader();
  #lastClientStream = 0;
  #opened = 0;
  #closed = false;
  #goingAway = false;

  constructor(socket: Duplex, options: SpdyConnectionOptions) {
    this.#socket = socket;
    this.#o = options;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Serves the connection until the client goes away or `signal` aborts. Never rejects. */
  async run(signal: AbortSignal): Promise<void> {
    const stop = (): void => this.close();
    signal.addEventListener('abort', stop, { once: true });
    const splitter = new FrameSplitter();
    try {
      for await (const chunk of this.#socket as AsyncIterable<Buffer>) {
        for (const frame of splitter.push(chunk)) await this.#frame(frame);
        if (this.#closed) break;
      }
    } catch (err) {
      if (!this.#closed) this.#o.log.debug('SPDY connection failed', { err: err instanceof Error ? err.message : String(err) });
    } finally {
      signal.removeEventListener('abort', stop);
      this.close();
    }
  }

  /** Tells the client no more streams are taken, then closes once it has sent its last frames. */
  goAway(): void {
    if (this.#closed || this.#goingAway) return;
    this.#goingAway = true;
    const p = Buffer.alloc(8);
    p.writeUInt32BE(this.#lastClientStream & 0x7fffffff, 0);
    p.writeUInt32BE(0, 4);
    this.#write(controlFrame(TYPE.goAway, 0, p));
  }

  /** Ends every stream and destroys the socket. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const s of this.#streams.values()) s.markGone();
    this.#streams.clear();
    this.#headerReader.close();
    if (this.#goingAway) this.#socket.end();
    else this.#socket.destroy();
    // A client that does not close its side must not hold the socket open.
    setTimeout(() => this.#socket.destroy(), 1000).unref();
  }

  async #frame(frame: SpdyFrame): Promise<void> {
    const { flags, payload } = frame;
    if (!frame.control) return deliverData(frame, this.#streams.get(frame.streamId));
    if (frame.version !== VERSION) throw new Error(`SPDY version ${frame.version}`);
    switch (frame.type) {
      case TYPE.synStream: {
        if (payload.length < 10) throw new Error('short SYN_STREAM');
        const id = payload.readUInt32BE(0) & 0x7fffffff;
        // The inflater must see every block in order, even of streams refused below.
        const headers = await this.#headerReader.decode(payload.subarray(10));
        if (id % 2 === 0 || id <= this.#lastClientStream) return this.#reset(id, RST.protocolError);
        this.#lastClientStream = id;
        if (this.#goingAway || ++this.#opened > (this.#o.maxStreams ?? 10_000)) return this.#reset(id, RST.refusedStream);
        const stream = new SpdyStream(this, id, headers);
        this.#streams.set(id, stream);
        this.#write(controlFrame(TYPE.synReply, 0, Buffer.concat([u32(id), this.#headerWriter.encode(new Map())])));
        if ((flags & FLAG_FIN) !== 0) stream.remoteFinished();
        this.#o.onStream(stream);
        return;
      }
      case TYPE.headers:
        if (payload.length >= 4) await this.#headerReader.decode(payload.subarray(4));
        return;
      case TYPE.rstStream: {
        if (payload.length < 8) throw new Error('short RST_STREAM');
        const s = this.#streams.get(payload.readUInt32BE(0) & 0x7fffffff);
        s?.markGone();
        return;
      }
      case TYPE.ping:
        // Client pings have odd ids and are echoed; ours would be even, and we send none.
        if (payload.length === 4 && payload.readUInt32BE(0) % 2 === 1) this.#write(controlFrame(TYPE.ping, 0, payload));
        return;
      case TYPE.goAway:
        this.#goingAway = true;
        return;
      case TYPE.synReply:
        throw new Error('SYN_REPLY from a client');
      default:
        // SETTINGS and WINDOW_UPDATE carry nothing spdystream relies on.
        return;
    }
  }

  #reset(id: number, status: number): void {
    this.#write(controlFrame(TYPE.rstStream, 0, rstStreamPayload(id, status)));
  }

  /** @internal */
  forget(stream: SpdyStream): void {
    this.#streams.delete(stream.id);
  }

  /** @internal */
  reset(stream: SpdyStream, status: number): void {
    this.#streams.delete(stream.id);
    if (!this.#closed) this.#reset(stream.id, status);
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
  dataFrame(id: number, flags: number, data: Buffer): Buffer {
    return dataFrame(id, flags, data);
  }

  #write(frame: Buffer): boolean {
    if (this.#closed || this.#socket.destroyed) return true;
    return this.#socket.write(frame);
  }
}

/**
 * One stream the client opened: its headers (lower-case names), inbound data until the client's
 * FIN, and writes that respect the socket's back-pressure.
 */
export class SpdyStream {
  readonly id: number;
  readonly headers: ReadonlyMap<string, readonly string[]>;
  readonly #conn: SpdyConnection;
  readonly #queue: Buffer[] = [];
  #queued = 0;
  #remoteDone = false;
  #localDone = false;
  #gone = false;
  #wake: (() => void) | undefined;
  #drained: (() => void) | undefined;

  /** @internal */
  constructor(conn: SpdyConnection, id: number, headers: ReadonlyMap<string, readonly string[]>) {
    this.#conn = conn;
    this.id = id;
    this.headers = headers;
  }

  /** The first value of a header (lower-case name). */
  header(name: string): string | undefined {
    return this.headers.get(name)?.[0];
  }

  /** True once the stream was reset or the connection closed. */
  get isGone(): boolean {
    return this.#gone;
  }

  /**
   * Sends bytes, waiting while the socket's buffer is full.
   * @returns false when the stream or connection is gone (nothing more can be sent)
   */
  async write(data: Buffer): Promise<boolean> {
    for (let off = 0; off < data.length; off += WRITE_CHUNK) {
      if (this.#gone || this.#localDone || this.#conn.closed) return false;
      if (!this.#conn.write(this.#conn.dataFrame(this.id, 0, data.subarray(off, off + WRITE_CHUNK)))) await this.#conn.drained();
    }
    return !this.#gone;
  }

  /** Half-closes this side (an empty DATA frame with FIN). */
  end(): void {
    if (this.#gone || this.#localDone) return;
    this.#localDone = true;
    this.#conn.write(this.#conn.dataFrame(this.id, FLAG_FIN, Buffer.alloc(0)));
    if (this.#remoteDone) this.#conn.forget(this);
  }

  /** Abandons the stream (RST_STREAM). */
  reset(status: number = RST.cancel): void {
    if (this.#gone) return;
    this.#conn.reset(this, status);
    this.markGone();
  }

  /** The client's bytes, until its FIN (or the stream is gone). */
  async *data(): AsyncGenerator<Buffer, void, undefined> {
    for (;;) {
      const next = this.#queue.shift();
      if (next !== undefined) {
        this.#queued -= next.length;
        if (this.#queued <= MAX_QUEUED / 2) this.#drained?.();
        yield next;
        continue;
      }
      if (this.#remoteDone || this.#gone) return;
      await new Promise<void>((resolve) => (this.#wake = resolve));
      this.#wake = undefined;
    }
  }

  /** @internal Queues inbound bytes; waits (stalling the connection's reader) while the consumer is far behind. */
  async received(data: Buffer): Promise<void> {
    if (this.#remoteDone || this.#gone) return;
    this.#queue.push(data);
    this.#queued += data.length;
    this.#wake?.();
    if (this.#queued > MAX_QUEUED) await new Promise<void>((resolve) => (this.#drained = resolve));
    this.#drained = undefined;
  }

  /** @internal */
  remoteFinished(): void {
    this.#remoteDone = true;
    this.#wake?.();
    if (this.#localDone) this.#conn.forget(this);
  }

  /** @internal */
  markGone(): void {
    if (this.#gone) return;
    this.#gone = true;
    this.#wake?.();
    this.#drained?.();
  }
}
