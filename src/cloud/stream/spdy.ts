import { once } from 'node:events';
import type { Duplex } from 'node:stream';
import { constants as zlibConstants, createInflate, type Inflate } from 'node:zlib';
import type { Logger } from '../../log/logger.ts';

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

const VERSION = 3;
const TYPE = { synStream: 1, synReply: 2, rstStream: 3, settings: 4, ping: 6, goAway: 7, headers: 8, windowUpdate: 9 } as const;
const FLAG_FIN = 0x01;
/** RST_STREAM status codes (§2.6.3). */
export const RST = { protocolError: 1, invalidStream: 2, refusedStream: 3, cancel: 5, internalError: 6 } as const;
/** Control frames are small; kubectl's DATA frames are at most 32 KiB. Anything bigger is refused. */
const MAX_FRAME = 1024 * 1024;
/** Decompressed header blocks: kubectl's are a few dozen bytes. */
const MAX_HEADER_BLOCK = 64 * 1024;
/** DATA payload this side writes per frame. */
const WRITE_CHUNK = 32 * 1024;
/** Inbound bytes queued on a stream before the connection stops reading (the consumer is slow). */
const MAX_QUEUED = 1024 * 1024;

/** The header compression dictionary of SPDY/3 (§2.6.10.1): length-prefixed names, then a tail. */
function spdy3Dictionary(): Buffer {
  const words = [
    'options', 'head', 'post', 'put', 'delete', 'trace', 'accept', 'accept-charset', 'accept-encoding', 'accept-language',
    'accept-ranges', 'age', 'allow', 'authorization', 'cache-control', 'connection', 'content-base', 'content-encoding',
    'content-language', 'content-length', 'content-location', 'content-md5', 'content-range', 'content-type', 'date', 'etag',
    'expect', 'expires', 'from', 'host', 'if-match', 'if-modified-since', 'if-none-match', 'if-range', 'if-unmodified-since',
    'last-modified', 'location', 'max-forwards', 'pragma', 'proxy-authenticate', 'proxy-authorization', 'range', 'referer',
    'retry-after', 'server', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'user-agent', 'vary', 'via', 'warning',
    'www-authenticate', 'method', 'get', 'status', '200 OK', 'version', 'HTTP/1.1', 'url', 'public', 'set-cookie', 'keep-alive',
    'origin',
  ];
  const tail =
    '100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505' +
    '203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request401 Unauthorized' +
    '403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented503 Service Unavailable' +
    'Jan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMT' +
    'chunked,text/html,image/png,image/jpg,image/gif,application/xml,application/xhtml+xml,text/plain,text/javascript,' +
    'publicprivatemax-age=gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0.';
  const parts: Buffer[] = [];
  for (const w of words) {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(w.length);
    parts.push(len, Buffer.from(w, 'latin1'));
  }
  parts.push(Buffer.from(tail, 'latin1'));
  return Buffer.concat(parts);
}

/** @internal exported for the test that checks it byte for byte */
export const SPDY3_DICTIONARY = spdy3Dictionary();

function adler32(b: Buffer): number {
  let a = 1;
  let s = 0;
  for (const byte of b) {
    a = (a + byte) % 65521;
    s = (s + a) % 65521;
  }
  return ((s << 16) | a) >>> 0;
}

/**
 * Writes header blocks as one zlib stream per connection direction, as SPDY requires, but
 * without compressing: each block is a deflate "stored" block followed by the empty stored block
 * a Z_SYNC_FLUSH ends with. The empty block matters: Go's inflater hands out what it has decoded
 * only when it meets one (or the stream's end), and otherwise reads on into the next frame's
 * bytes, fails, and keeps failing. The blocks this side sends are empty or tiny, and a stored
 * block costs no zlib state.
 */
/** An empty, non-final stored block: what zlib writes at a Z_SYNC_FLUSH. */
const SYNC_FLUSH_MARKER = Buffer.from([0x00, 0x00, 0x00, 0xff, 0xff]);

class HeaderWriter {
  #started = false;

  encode(headers: ReadonlyMap<string, readonly string[]>): Buffer {
    const pairs: Buffer[] = [u32(headers.size)];
    for (const [name, values] of headers) {
      const n = Buffer.from(name.toLowerCase(), 'latin1');
      const v = Buffer.from(values.join('\0'), 'latin1');
      pairs.push(u32(n.length), n, u32(v.length), v);
    }
    const block = Buffer.concat(pairs);
    if (block.length > 0xffff) throw new Error('header block too large');
    const out: Buffer[] = [];
    if (!this.#started) {
      this.#started = true;
      // CMF 0x78 (deflate, 32 KiB window), FLG 0xbb (FDICT set, check bits making the pair a multiple of 31).
      out.push(Buffer.from([0x78, 0xbb]), u32(adler32(SPDY3_DICTIONARY)));
    }
    const stored = Buffer.alloc(5);
    stored[0] = 0; // BFINAL 0, BTYPE 00, padding
    stored.writeUInt16LE(block.length, 1);
    stored.writeUInt16LE(~block.length & 0xffff, 3);
    out.push(stored, block, SYNC_FLUSH_MARKER);
    return Buffer.concat(out);
  }
}

/** Reads the peer's header blocks: one inflate stream for the connection, flushed per block. */
class HeaderReader {
  readonly #inflate: Inflate;
  #out: Buffer[] = [];
  #size = 0;
  #failed: Error | undefined;

  constructor() {
    this.#inflate = createInflate({ dictionary: SPDY3_DICTIONARY });
    this.#inflate.on('data', (chunk: Buffer) => {
      this.#size += chunk.length;
      if (this.#size <= MAX_HEADER_BLOCK) this.#out.push(chunk);
    });
    this.#inflate.on('error', (err) => (this.#failed = err));
  }

  /** @throws Error for a block that does not inflate, or inflates to more than {@link MAX_HEADER_BLOCK} */
  async decode(block: Buffer): Promise<Map<string, string[]>> {
    if (this.#failed !== undefined) throw this.#failed;
    this.#inflate.write(block);
    // A block that does not inflate errors the stream, and its flush never calls back.
    await new Promise<void>((resolve, reject) => {
      const failed = (err: Error): void => reject(err);
      this.#inflate.once('error', failed);
      this.#inflate.flush(zlibConstants.Z_SYNC_FLUSH, () => {
        this.#inflate.off('error', failed);
        resolve();
      });
    });
    // Output of the flushed block may be emitted on the next tick in paused-to-flowing transitions.
    await new Promise<void>((resolve) => setImmediate(resolve));
    const failed = this.#failed as Error | undefined;
    if (failed !== undefined) throw failed;
    if (this.#size > MAX_HEADER_BLOCK) throw new Error(`header block inflates to more than ${MAX_HEADER_BLOCK} bytes`);
    const data = Buffer.concat(this.#out);
    this.#out = [];
    this.#size = 0;
    return parseHeaderBlock(data);
  }

  close(): void {
    this.#inflate.destroy();
  }
}

function parseHeaderBlock(b: Buffer): Map<string, string[]> {
  const headers = new Map<string, string[]>();
  let off = 0;
  const take = (n: number): Buffer => {
    if (off + n > b.length) throw new Error('truncated header block');
    const s = b.subarray(off, off + n);
    off += n;
    return s;
  };
  const count = take(4).readUInt32BE(0);
  if (count > 256) throw new Error(`header block with ${count} headers`);
  for (let i = 0; i < count; i++) {
    const name = take(take(4).readUInt32BE(0)).toString('latin1');
    const value = take(take(4).readUInt32BE(0)).toString('latin1');
    // Names are lower-case on the wire; spdystream writes them so.
    headers.set(name.toLowerCase(), [...(headers.get(name.toLowerCase()) ?? []), ...value.split('\0')]);
  }
  return headers;
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

function controlFrame(type: number, flags: number, payload: Buffer): Buffer {
  const b = Buffer.alloc(8 + payload.length);
  b.writeUInt16BE(0x8000 | VERSION, 0);
  b.writeUInt16BE(type, 2);
  b.writeUInt32BE(((flags & 0xff) << 24) | payload.length, 4);
  payload.copy(b, 8);
  return b;
}

function dataFrame(streamId: number, flags: number, data: Buffer): Buffer {
  const b = Buffer.alloc(8 + data.length);
  b.writeUInt32BE(streamId & 0x7fffffff, 0);
  b.writeUInt32BE(((flags & 0xff) << 24) | data.length, 4);
  data.copy(b, 8);
  return b;
}

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
    let buf: Buffer = Buffer.alloc(0);
    try {
      for await (const chunk of this.#socket as AsyncIterable<Buffer>) {
        buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
        while (buf.length >= 8) {
          const length = buf.readUInt32BE(4) & 0xffffff;
          if (length > MAX_FRAME) throw new Error(`frame of ${length} bytes`);
          if (buf.length < 8 + length) break;
          const frame = buf.subarray(0, 8 + length);
          buf = buf.subarray(8 + length);
          await this.#frame(frame);
        }
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

  async #frame(frame: Buffer): Promise<void> {
    const flags = frame[4]!;
    const payload = frame.subarray(8);
    if ((frame[0]! & 0x80) === 0) {
      const id = frame.readUInt32BE(0) & 0x7fffffff;
      const s = this.#streams.get(id);
      if (s === undefined) return;
      if (payload.length > 0) await s.received(Buffer.from(payload));
      if ((flags & FLAG_FIN) !== 0) s.remoteFinished();
      return;
    }
    const version = frame.readUInt16BE(0) & 0x7fff;
    if (version !== VERSION) throw new Error(`SPDY version ${version}`);
    const type = frame.readUInt16BE(2);
    switch (type) {
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
    const p = Buffer.alloc(8);
    p.writeUInt32BE(id & 0x7fffffff, 0);
    p.writeUInt32BE(status, 4);
    this.#write(controlFrame(TYPE.rstStream, 0, p));
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
    const ac = new AbortController();
    await Promise.race([once(this.#socket, 'drain', { signal: ac.signal }), once(this.#socket, 'close', { signal: ac.signal })]).catch(() => undefined);
    ac.abort();
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
