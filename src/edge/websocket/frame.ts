// The RFC 6455 framing of the edge's WebSocket client: frames out (always masked, as a client must)
// and an incremental reader for frames in. No extensions are negotiated, so the reserved bits must
// be clear and there is no compression to undo.
import { isUtf8 } from 'node:buffer';
import { randomFillSync } from 'node:crypto';

export const OP_CONTINUATION = 0x0;
export const OP_TEXT = 0x1;
export const OP_BINARY = 0x2;
export const OP_CLOSE = 0x8;
export const OP_PING = 0x9;
export const OP_PONG = 0xa;

/** Close codes this client sends on its own (RFC 6455 §7.4.1). */
export const CLOSE_NORMAL = 1000;
export const CLOSE_PROTOCOL_ERROR = 1002;
/** Reported, never sent: the close frame carried no code. */
export const CLOSE_NO_STATUS = 1005;
/** Reported, never sent: the connection ended without a close frame. */
export const CLOSE_ABNORMAL = 1006;
export const CLOSE_INVALID_DATA = 1007;
export const CLOSE_TOO_BIG = 1009;

/** A control frame's payload limit (§5.5). */
const MAX_CONTROL_PAYLOAD = 125;

/** The peer broke the protocol; `closeCode` is what the RFC says to close with. */
export class WebSocketProtocolError extends Error {
  readonly closeCode: number;
  constructor(closeCode: number, message: string) {
    super(message);
    this.name = 'WebSocketProtocolError';
    this.closeCode = closeCode;
  }
}

/** Codes a close frame may carry on the wire (§7.4: 1005, 1006 and 1015 are for reporting only). */
export function isValidCloseCode(code: number): boolean {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
}

// Masking keys come from a pool refilled in one call: a randomFillSync per frame would be a
// system call per message.
const maskPool = Buffer.allocUnsafeSlow(1024);
let maskOffset = maskPool.length;

function nextMask(): Buffer {
  if (maskOffset === maskPool.length) {
    randomFillSync(maskPool);
    maskOffset = 0;
  }
  const mask = maskPool.subarray(maskOffset, maskOffset + 4);
  maskOffset += 4;
  return mask;
}

/**
 * One frame, masked. The payload is written straight into the frame (a string is encoded there,
 * not first into a buffer of its own) and masked in place, four bytes at a time where the frame's
 * memory is aligned for it: the edge runs without optimizing compilers, so a multi-MB inventory
 * masked byte by byte would cost it tens of milliseconds.
 */
export function encodeFrame(opcode: number, payload: string | Buffer, fin = true): Buffer {
  const length = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length;
  const header = 2 + (length < 126 ? 0 : length < 65536 ? 2 : 8) + 4;
  // Start the frame so that its payload falls on a 4-byte boundary (Node's buffer pool hands out
  // 8-byte aligned slices, larger buffers have memory of their own).
  const lead = (4 - (header % 4)) % 4;
  const block = Buffer.allocUnsafe(lead + header + length);
  const frame = block.subarray(lead);
  frame[0] = (fin ? 0x80 : 0) | opcode;
  if (length < 126) {
    frame[1] = 0x80 | length;
  } else if (length < 65536) {
    frame[1] = 0x80 | 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 0x80 | 127;
    frame.writeUInt32BE(Math.floor(length / 2 ** 32), 2);
    frame.writeUInt32BE(length >>> 0, 6);
  }
  const mask = nextMask();
  mask.copy(frame, header - 4);
  if (typeof payload === 'string') frame.write(payload, header, 'utf8');
  else payload.copy(frame, header);
  maskInPlace(frame, header, length, header - 4);
  return frame;
}

/** XORs `length` bytes of `buf` from `start` with the 4-byte key at `maskAt` (which precedes them). */
export function maskInPlace(buf: Buffer, start: number, length: number, maskAt: number): void {
  const offset = buf.byteOffset + start;
  const words = offset % 4 === 0 ? length >>> 2 : 0;
  if (words > 0) {
    // The key read as a word in the platform's byte order XORs each payload word byte for byte.
    const key = buf.readUInt32LE(maskAt);
    const k = new Uint32Array(1);
    new DataView(k.buffer).setUint32(0, key, true);
    const view = new Uint32Array(buf.buffer, offset, words);
    const kw = k[0]!;
    for (let i = 0; i < words; i++) view[i]! ^= kw;
  }
  for (let i = words * 4; i < length; i++) buf[start + i]! ^= buf[maskAt + (i & 3)]!;
}

/** What the reader hands up: a whole message, or a control frame. */
export type Incoming =
  | { readonly kind: 'message'; readonly data: Buffer; readonly binary: boolean }
  | { readonly kind: 'ping' | 'pong'; readonly data: Buffer }
  | { readonly kind: 'close'; readonly code: number; readonly reason: string };

/**
 * Reads frames from a byte stream in whatever chunks it arrives, and reassembles fragmented
 * messages. A frame is rejected as soon as its header shows it is bad or too big, before its
 * payload is buffered.
 */
export class FrameReader {
  readonly #maxPayload: number;
  #chunks: Buffer[] = [];
  #buffered = 0;
  // The frame being read: its header once parsed (-1 while waiting for one).
  #opcode = -1;
  #fin = false;
  #length = 0;
  // The fragmented message being reassembled.
  #messageOpcode = -1;
  #fragments: Buffer[] = [];
  #messageBytes = 0;

  /** @param maxPayload the largest message accepted, fragments together; larger ones fail with 1009 */
  constructor(maxPayload: number) {
    this.#maxPayload = maxPayload;
  }

  /**
   * Takes the next bytes and returns what they complete, in order.
   * @throws {WebSocketProtocolError} once the stream breaks the protocol; the reader is then unusable
   */
  push(chunk: Buffer): Incoming[] {
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
    const out: Incoming[] = [];
    for (;;) {
      if (this.#opcode === -1 && !this.#readHeader()) break;
      if (this.#buffered < this.#length) break;
      const payload = this.#take(this.#length);
      const opcode = this.#opcode;
      this.#opcode = -1;
      const item = this.#frame(opcode, payload);
      if (item !== undefined) out.push(item);
    }
    return out;
  }

  #readHeader(): boolean {
    if (this.#buffered < 2) return false;
    const head = this.#peek(2);
    const b0 = head[0]!;
    const b1 = head[1]!;
    const short = b1 & 0x7f;
    const extra = short === 126 ? 2 : short === 127 ? 8 : 0;
    const masked = (b1 & 0x80) !== 0;
    if (this.#buffered < 2 + extra + (masked ? 4 : 0)) return false;
    const opcode = b0 & 0x0f;
    const fin = (b0 & 0x80) !== 0;
    if ((b0 & 0x70) !== 0) throw new WebSocketProtocolError(CLOSE_PROTOCOL_ERROR, 'reserved bits set without a negotiated extension');
    // §5.1: a client closes the connection on a masked frame from the server.
    if (masked) throw new WebSocketProtocolError(CLOSE_PROTOCOL_ERROR, 'masked frame from the server');
    const control = opcode >= OP_CLOSE;
    if (control) {
      if (opcode > OP_PONG) throw new WebSocketProtocolError(CLOSE_PROTOCOL_ERROR, `unknown opcode ${opcode}`);
      if (!fin) throw new WebSocketProtocolError(CLOSE_PROTOCOL_ERROR, 'fragmented control frame');
      if (short > MAX_CONTROL_PAYLOAD) throw new WebSocketProtocolError(CLOSE_PROTOCOL_ERROR, 'control frame payload over 125 bytes');
    } else if (opcode > OP_BINARY) {
      throw new WebSocketProtocolError(CLOSE_PROTOCOL_ERROR, `unknown opcode ${opcode}`);
    } else if (opcode === OP_CONTINUATION ? this.#messageOpcode === -1 : this.#messageOpcode !== -1) {
      throw new WebSocketProtocolError(CLOSE_PROTOCOL_ERROR, opcode === OP_CONTINUATION ? 'continuation frame without a message to continue' : 'new message before the fragmented one ended');
    }
    const header = this.#take(2 + extra);
    let length = short;
    if (short === 126) {
      length = header.readUInt16BE(2);
    } else if (short === 127) {
      const high = header.readUInt32BE(2);
      // Lengths past 2^53 cannot be represented, and no sane payload limit is near them.
      if (high > 0x1fffff) throw new WebSocketProtocolError(CLOSE_TOO_BIG, 'frame length beyond 2^53');
      length = high * 2 ** 32 + header.readUInt32BE(6);
    }
    if (!control && this.#messageBytes + length > this.#maxPayload) {
      throw new WebSocketProtocolError(CLOSE_TOO_BIG, `message over the ${this.#maxPayload}-byte limit`);
    }
    this.#opcode = opcode;
    this.#fin = fin;
    this.#length = length;
    return true;
  }

  #frame(opcode: number, payload: Buffer): Incoming | undefined {
    switch (opcode) {
      case OP_PING:
        return { kind: 'ping', data: payload };
      case OP_PONG:
        return { kind: 'pong', data: payload };
      case OP_CLOSE:
        return closeOf(payload);
    }
    if (opcode !== OP_CONTINUATION) this.#messageOpcode = opcode;
    this.#fragments.push(payload);
    this.#messageBytes += payload.length;
    if (!this.#fin) return undefined;
    const data = this.#fragments.length === 1 ? this.#fragments[0]! : Buffer.concat(this.#fragments, this.#messageBytes);
    const binary = this.#messageOpcode === OP_BINARY;
    this.#fragments = [];
    this.#messageBytes = 0;
    this.#messageOpcode = -1;
    if (!binary && !isUtf8(data)) throw new WebSocketProtocolError(CLOSE_INVALID_DATA, 'text message is not valid UTF-8');
    return { kind: 'message', data, binary };
  }

  #peek(n: number): Buffer {
    const first = this.#chunks[0]!;
    return first.length >= n ? first : Buffer.concat(this.#chunks.slice(0, n), n);
  }

  /** Removes the next `n` buffered bytes; a view of the chunk when they lie in one, else a copy. */
  #take(n: number): Buffer {
    this.#buffered -= n;
    const first = this.#chunks[0];
    if (n === 0 || first === undefined) return Buffer.alloc(0);
    if (first.length > n) {
      this.#chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    if (first.length === n) {
      this.#chunks.shift();
      return first;
    }
    const out = Buffer.allocUnsafe(n);
    let at = 0;
    let used = 0;
    while (at < n) {
      const c = this.#chunks[used]!;
      const part = Math.min(c.length, n - at);
      c.copy(out, at, 0, part);
      at += part;
      if (part === c.length) used++;
      else this.#chunks[used] = c.subarray(part);
    }
    // One splice, not a shift per chunk: a payload may arrive in thousands of small reads.
    this.#chunks.splice(0, used);
    return out;
  }
}

function closeOf(payload: Buffer): Incoming {
  if (payload.length === 0) return { kind: 'close', code: CLOSE_NO_STATUS, reason: '' };
  if (payload.length === 1) throw new WebSocketProtocolError(CLOSE_PROTOCOL_ERROR, 'close frame with a 1-byte payload');
  const code = payload.readUInt16BE(0);
  if (!isValidCloseCode(code)) throw new WebSocketProtocolError(CLOSE_PROTOCOL_ERROR, `invalid close code ${code}`);
  const reason = payload.subarray(2);
  if (!isUtf8(reason)) throw new WebSocketProtocolError(CLOSE_INVALID_DATA, 'close reason is not valid UTF-8');
  return { kind: 'close', code, reason: reason.toString('utf8') };
}

/** A close frame's payload: the code and a reason cut to fit a control frame. */
export function closePayload(code: number, reason: string): Buffer {
  const r = Buffer.from(reason, 'utf8');
  const out = Buffer.allocUnsafe(2 + Math.min(r.length, MAX_CONTROL_PAYLOAD - 2));
  out.writeUInt16BE(code, 0);
  r.copy(out, 2, 0, out.length - 2);
  return out;
}
