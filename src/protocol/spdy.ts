import { once } from 'node:events';
import { constants as zlibConstants, createInflate, type Inflate } from 'node:zlib';

/**
 * The framing of SPDY/3.1 (draft-mbelshe-httpbis-spdy-00 as amended by 3.1) that both halves
 * need: the cloud serves kubectl over it (src/cloud/stream/spdy.ts), and the edge is a client of
 * the container runtime's streaming server with it (src/edge/runtime/cri/spdy-client.ts), because
 * containerd's streaming server can close an exec's stdin only there (a FIN on the stdin stream;
 * WebSocket `v4.channel.k8s.io` has no such signal). Frames and header blocks only; no I/O.
 * node:zlib is loaded with this module, so each side imports it only where it speaks SPDY.
 */

export const SPDY_VERSION = 3;
export const FRAME_TYPE = { synStream: 1, synReply: 2, rstStream: 3, settings: 4, ping: 6, goAway: 7, headers: 8, windowUpdate: 9 } as const;
export const FLAG_FIN = 0x01;
/** RST_STREAM status codes (§2.6.3). */
export const RST = { protocolError: 1, invalidStream: 2, refusedStream: 3, cancel: 5, internalError: 6 } as const;
/** Control frames are small; kubectl's and spdystream's DATA frames are at most 32 KiB. Anything bigger is refused. */
export const MAX_FRAME = 1024 * 1024;
/** Decompressed header blocks: Kubernetes' are a few dozen bytes. */
export const MAX_HEADER_BLOCK = 64 * 1024;

/** Header names (lower-case) to their values. */
export type SpdyHeaders = ReadonlyMap<string, readonly string[]>;

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

/** An empty, non-final stored block: what zlib writes at a Z_SYNC_FLUSH. */
const SYNC_FLUSH_MARKER = Buffer.from([0x00, 0x00, 0x00, 0xff, 0xff]);

/**
 * Writes header blocks as one zlib stream per connection direction, as SPDY requires, but
 * without compressing: each block is a deflate "stored" block followed by the empty stored block
 * a Z_SYNC_FLUSH ends with. The empty block matters: Go's inflater hands out what it has decoded
 * only when it meets one (or the stream's end), and otherwise reads on into the next frame's
 * bytes, fails, and keeps failing. The blocks either side sends are empty or tiny, and a stored
 * block costs no zlib state.
 */
export class HeaderWriter {
  #started = false;

  encode(headers: SpdyHeaders): Buffer {
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
export class HeaderReader {
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

  /**
   * Every block of the connection must pass through here in order, even those of streams that are
   * refused, since the peer's compressor carries its history from one block to the next.
   * @throws Error for a block that does not inflate, or inflates to more than {@link MAX_HEADER_BLOCK}
   */
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
  // An empty block (no bytes at all, not even a count) is what some peers send on a bare SYN_REPLY.
  if (b.length === 0) return headers;
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

export function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

export function controlFrame(type: number, flags: number, payload: Buffer): Buffer {
  const b = Buffer.alloc(8 + payload.length);
  b.writeUInt16BE(0x8000 | SPDY_VERSION, 0);
  b.writeUInt16BE(type, 2);
  b.writeUInt32BE(((flags & 0xff) << 24) | payload.length, 4);
  payload.copy(b, 8);
  return b;
}

export function dataFrame(streamId: number, flags: number, data: Buffer): Buffer {
  const b = Buffer.alloc(8 + data.length);
  b.writeUInt32BE(streamId & 0x7fffffff, 0);
  b.writeUInt32BE(((flags & 0xff) << 24) | data.length, 4);
  data.copy(b, 8);
  return b;
}

/** A SYN_STREAM's payload after its header block is encoded: stream id, no associated stream, priority 0. */
export function synStreamPayload(streamId: number, headerBlock: Buffer): Buffer {
  const p = Buffer.alloc(10);
  p.writeUInt32BE(streamId & 0x7fffffff, 0);
  return Buffer.concat([p, headerBlock]);
}

/** An RST_STREAM's payload. */
export function rstStreamPayload(streamId: number, status: number): Buffer {
  const p = Buffer.alloc(8);
  p.writeUInt32BE(streamId & 0x7fffffff, 0);
  p.writeUInt32BE(status, 4);
  return p;
}

/** One frame as read: control frames by type, DATA frames by stream; `payload` is a view into the input. */
export type SpdyFrame =
  | { readonly control: true; readonly type: number; readonly version: number; readonly flags: number; readonly payload: Buffer }
  | { readonly control: false; readonly streamId: number; readonly flags: number; readonly payload: Buffer };

/** Cuts a byte stream into frames; holds a partial frame until the rest arrives. */
export class FrameSplitter {
  #buf: Buffer = Buffer.alloc(0);

  /** @throws Error for a frame longer than {@link MAX_FRAME} (the peer is not speaking SPDY, or lies) */
  push(chunk: Buffer): SpdyFrame[] {
    let buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk]);
    const frames: SpdyFrame[] = [];
    while (buf.length >= 8) {
      const length = buf.readUInt32BE(4) & 0xffffff;
      if (length > MAX_FRAME) throw new Error(`frame of ${length} bytes`);
      if (buf.length < 8 + length) break;
      const flags = buf[4]!;
      const payload = buf.subarray(8, 8 + length);
      if ((buf[0]! & 0x80) !== 0) frames.push({ control: true, version: buf.readUInt16BE(0) & 0x7fff, type: buf.readUInt16BE(2), flags, payload });
      else frames.push({ control: false, streamId: buf.readUInt32BE(0) & 0x7fffffff, flags, payload });
      buf = buf.subarray(8 + length);
    }
    this.#buf = buf;
    return frames;
  }
}

/** What a DATA frame is delivered to: one side's stream. */
export interface SpdyDataSink {
  /** Takes inbound bytes; resolves once the reader can take more (the socket is not read meanwhile). */
  received(data: Buffer): Promise<void>;
  /** The peer's FIN: no more bytes come. */
  remoteFinished(): void;
}

/**
 * Delivers a DATA frame to its stream, on either end: a copy of its bytes (the frame is a view
 * into the read buffer), then the peer's FIN. A frame for a stream that is gone is dropped.
 */
export async function deliverData(frame: SpdyFrame & { readonly control: false }, stream: SpdyDataSink | undefined): Promise<void> {
  if (stream === undefined) return;
  if (frame.payload.length > 0) await stream.received(Buffer.from(frame.payload));
  if ((frame.flags & FLAG_FIN) !== 0) stream.remoteFinished();
}

/**
 * Resolves when `stream` can take more writes or is gone: the back-pressure wait both SPDY ends
 * use (TCP's window is SPDY's only flow control here), with no listener left behind.
 */
export async function drainedOrClosed(stream: NodeJS.EventEmitter): Promise<void> {
  const ac = new AbortController();
  await Promise.race([once(stream, 'drain', { signal: ac.signal }), once(stream, 'close', { signal: ac.signal })]).catch(() => undefined);
  ac.abort();
}
