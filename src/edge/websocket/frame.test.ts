import assert from 'node:assert/strict';
import type { Writable } from 'node:stream';
import { test } from 'node:test';
// The cloud's `ws` (a dependency for its servers) is the reference the edge's codec must agree with.
import * as wsModule from 'ws';
import { CLOSE_INVALID_DATA, CLOSE_NO_STATUS, CLOSE_PROTOCOL_ERROR, CLOSE_TOO_BIG, FrameReader, OP_BINARY, OP_CLOSE, OP_CONTINUATION, OP_PING, OP_TEXT, WebSocketProtocolError, closePayload, encodeFrame, type Incoming } from './frame.ts';

const { Receiver, Sender } = wsModule as unknown as {
  Receiver: new (o: { isServer: boolean; maxPayload: number }) => Writable;
  Sender: { frame(data: Buffer, o: { fin: boolean; opcode: number; mask: boolean; readOnly: boolean; rsv1: boolean }): Buffer[] };
};

/** A frame as a server sends it (unmasked), built by `ws`. */
function serverFrame(opcode: number, payload: Buffer | string, fin = true): Buffer {
  return Buffer.concat(Sender.frame(Buffer.from(payload), { fin, opcode, mask: false, readOnly: false, rsv1: false }));
}

/** A raw frame header with any bits, for frames `ws` refuses to build. */
function rawFrame(b0: number, payload: Buffer, maskKey?: Buffer): Buffer {
  const len = payload.length;
  const head = len < 126 ? Buffer.from([b0, len]) : len < 65536 ? Buffer.from([b0, 126, len >> 8, len & 0xff]) : Buffer.concat([Buffer.from([b0, 127]), Buffer.from(new BigUint64Array([BigInt(len)]).buffer).reverse()]);
  if (maskKey === undefined) return Buffer.concat([head, payload]);
  head[1]! |= 0x80;
  return Buffer.concat([head, maskKey, payload]);
}

/** Feeds `bytes` to a fresh reader in chunks of `chunk` bytes. */
function read(bytes: Buffer, chunk = bytes.length, maxPayload = 1 << 20): Incoming[] {
  const r = new FrameReader(maxPayload);
  const out: Incoming[] = [];
  for (let i = 0; i < bytes.length; i += chunk) out.push(...r.push(bytes.subarray(i, i + chunk)));
  return out;
}

function protocolError(fn: () => unknown, closeCode: number): void {
  assert.throws(fn, (err: unknown) => err instanceof WebSocketProtocolError && err.closeCode === closeCode);
}

/** Decodes frames the client sent, with ws's server-side receiver. */
async function decodeWithWs(frames: Buffer[], maxPayload = 1 << 20): Promise<{ kind: string; data: Buffer; binary?: boolean; code?: number }[]> {
  const rx = new Receiver({ isServer: true, maxPayload });
  const out: { kind: string; data: Buffer; binary?: boolean; code?: number }[] = [];
  rx.on('message', (data: Buffer, binary: boolean) => out.push({ kind: 'message', data, binary }));
  rx.on('ping', (data: Buffer) => out.push({ kind: 'ping', data }));
  rx.on('conclude', (code: number, data: Buffer) => out.push({ kind: 'close', data, code }));
  rx.on('error', (err: Error) => out.push({ kind: 'error', data: Buffer.from(err.message) }));
  for (const f of frames) await new Promise<void>((resolve, reject) => rx.write(f, (err) => (err ? reject(err) : resolve())));
  return out;
}

test('frames out: lengths 0, 125, 126, 65535 and 65536 take the right header and are masked; ws reads them back', async () => {
  for (const [length, header] of [
    [0, 6],
    [125, 6],
    [126, 8],
    [65535, 8],
    [65536, 14],
  ] as const) {
    const payload = Buffer.alloc(length);
    for (let i = 0; i < length; i++) payload[i] = (i * 7 + 3) & 0xff;
    const frame = encodeFrame(OP_BINARY, payload);
    assert.equal(frame.length, header + length, `length ${length}`);
    assert.equal(frame[0], 0x80 | OP_BINARY);
    assert.equal(frame[1]! & 0x80, 0x80, 'the mask bit is set');
    if (length >= 64) assert.notDeepEqual(frame.subarray(header), payload, 'the payload goes out masked');
    const [m] = await decodeWithWs([frame]);
    assert.equal(m?.kind, 'message');
    assert.equal(m.binary, true);
    assert.deepEqual(m.data, payload, `length ${length}`);
  }
});

test('frames out: text is encoded as UTF-8, unaligned and odd-sized payloads mask right, every mask is fresh', async () => {
  const text = 'grüße, 世界 🚀'.repeat(1000) + 'x';
  const unaligned = Buffer.alloc(70_001, 0xab).subarray(3, 70_000);
  const frames = [encodeFrame(OP_TEXT, text), encodeFrame(OP_BINARY, unaligned), encodeFrame(OP_PING, Buffer.from('p')), encodeFrame(OP_CLOSE, closePayload(4001, 'replaced'))];
  const out = await decodeWithWs(frames);
  assert.equal(out[0]?.binary, false);
  assert.equal(out[0]?.data.toString('utf8'), text);
  assert.deepEqual(out[1]?.data, unaligned);
  assert.deepEqual(out[2], { kind: 'ping', data: Buffer.from('p') });
  assert.equal(out[3]?.code, 4001);
  assert.equal(out[3]?.data.toString(), 'replaced');
  const keys = new Set(Array.from({ length: 100 }, () => encodeFrame(OP_TEXT, 'x').subarray(2, 6).toString('hex')));
  assert.ok(keys.size > 95, 'masking keys are random');
});

test('frames in: lengths 125/126/65535/65536, in one chunk or byte by byte', () => {
  for (const length of [0, 1, 125, 126, 65535, 65536, 200_000]) {
    const payload = Buffer.alloc(length, length & 0xff);
    const bytes = serverFrame(OP_BINARY, payload);
    for (const chunk of length > 70_000 ? [bytes.length, 1000] : [bytes.length, 1, 7]) {
      const out = read(bytes, chunk);
      assert.equal(out.length, 1);
      assert.deepEqual(out[0], { kind: 'message', data: payload, binary: true }, `length ${length} in chunks of ${chunk}`);
    }
  }
});

test('frames in: a fragmented message is reassembled around control frames; a multi-byte character may span fragments', () => {
  const text = Buffer.from('héllo wörld');
  const bytes = Buffer.concat([
    serverFrame(OP_TEXT, text.subarray(0, 2), false), // splits the é
    serverFrame(OP_PING, 'p1'),
    serverFrame(OP_CONTINUATION, text.subarray(2, 8), false),
    serverFrame(0xa, 'p2'),
    serverFrame(OP_CONTINUATION, text.subarray(8), true),
    serverFrame(OP_BINARY, Buffer.from([1, 2, 3])),
    serverFrame(OP_CLOSE, closePayload(4001, 'replaced')),
  ]);
  for (const chunk of [bytes.length, 1, 3]) {
    assert.deepEqual(read(bytes, chunk), [
      { kind: 'ping', data: Buffer.from('p1') },
      { kind: 'pong', data: Buffer.from('p2') },
      { kind: 'message', data: text, binary: false },
      { kind: 'message', data: Buffer.from([1, 2, 3]), binary: true },
      { kind: 'close', code: 4001, reason: 'replaced' },
    ]);
  }
  assert.deepEqual(read(serverFrame(OP_CLOSE, Buffer.alloc(0))), [{ kind: 'close', code: CLOSE_NO_STATUS, reason: '' }]);
});

test('frames in: protocol errors fail with the close code RFC 6455 gives them', () => {
  const p = Buffer.from('x');
  protocolError(() => read(rawFrame(0x80 | OP_TEXT, p, Buffer.from([1, 2, 3, 4]))), CLOSE_PROTOCOL_ERROR); // masked by the server
  protocolError(() => read(rawFrame(0xc0 | OP_TEXT, p)), CLOSE_PROTOCOL_ERROR); // RSV1 without an extension
  protocolError(() => read(rawFrame(0x90 | OP_TEXT, p)), CLOSE_PROTOCOL_ERROR); // RSV3
  protocolError(() => read(rawFrame(0x83, p)), CLOSE_PROTOCOL_ERROR); // reserved data opcode
  protocolError(() => read(rawFrame(0x8b, p)), CLOSE_PROTOCOL_ERROR); // reserved control opcode
  protocolError(() => read(rawFrame(OP_PING, p)), CLOSE_PROTOCOL_ERROR); // fragmented control frame
  protocolError(() => read(rawFrame(0x80 | OP_PING, Buffer.alloc(126))), CLOSE_PROTOCOL_ERROR); // control frame over 125 bytes
  protocolError(() => read(rawFrame(0x80 | OP_CONTINUATION, p)), CLOSE_PROTOCOL_ERROR); // nothing to continue
  protocolError(() => read(Buffer.concat([rawFrame(OP_TEXT, p), rawFrame(0x80 | OP_TEXT, p)])), CLOSE_PROTOCOL_ERROR); // interleaved messages
  protocolError(() => read(rawFrame(0x80 | OP_CLOSE, Buffer.from([3]))), CLOSE_PROTOCOL_ERROR); // 1-byte close payload
  protocolError(() => read(rawFrame(0x80 | OP_CLOSE, closePayload(1005, ''))), CLOSE_PROTOCOL_ERROR); // reserved close code
  protocolError(() => read(rawFrame(0x80 | OP_CLOSE, Buffer.from([0x03, 0xe8, 0xff]))), CLOSE_INVALID_DATA); // reason not UTF-8
  protocolError(() => read(rawFrame(0x80 | OP_TEXT, Buffer.from([0xc3, 0x28]))), CLOSE_INVALID_DATA);
  protocolError(() => read(Buffer.concat([rawFrame(OP_TEXT, Buffer.from([0xe2, 0x82])), rawFrame(0x80, Buffer.from([0x28]))])), CLOSE_INVALID_DATA);
  const huge = Buffer.from([0x82, 127, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]);
  protocolError(() => read(huge), CLOSE_TOO_BIG);
});

test('frames in: a message over the limit fails with 1009 from its header alone, fragments counted together', () => {
  const r = new FrameReader(1000);
  // Only the header of a 1001-byte frame: refused before its payload is waited for.
  protocolError(() => r.push(serverFrame(OP_BINARY, Buffer.alloc(1001)).subarray(0, 4)), CLOSE_TOO_BIG);
  assert.equal(read(serverFrame(OP_BINARY, Buffer.alloc(1000)), undefined, 1000).length, 1);
  const split = Buffer.concat([serverFrame(OP_BINARY, Buffer.alloc(600), false), serverFrame(OP_CONTINUATION, Buffer.alloc(401))]);
  protocolError(() => read(split, undefined, 1000), CLOSE_TOO_BIG);
  // Control frames do not count against the message limit.
  assert.equal(read(serverFrame(OP_PING, Buffer.alloc(125)), undefined, 10).length, 1);
});

test('close payloads carry the code and a reason cut to fit a control frame', () => {
  const p = closePayload(4102, 'é'.repeat(100));
  assert.ok(p.length <= 125);
  assert.equal(p.readUInt16BE(0), 4102);
});
