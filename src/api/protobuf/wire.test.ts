import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hasCode } from '../../errors/platform-error.ts';
import { bytes, join, string, varint, varintBytes } from './test-encoder.ts';
import { ProtobufWireError, toDouble, toInt32, toInt64, WireReader } from './wire.ts';

function rejects(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => err instanceof ProtobufWireError && hasCode(err, 'API_BAD_REQUEST') && pattern.test(err.message));
}

describe('WireReader', () => {
  it('reads keys and every wire type', () => {
    const eight = Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8);
    const r = new WireReader(join(varint(1, 150), string(2, 'hi'), Uint8Array.of((3 << 3) | 1), eight, Uint8Array.of((4 << 3) | 5, 9, 9, 9, 9)));
    assert.deepEqual(r.key(), { number: 1, wireType: 0 });
    assert.equal(r.varint(), 150n);
    assert.deepEqual(r.key(), { number: 2, wireType: 2 });
    assert.equal(new TextDecoder().decode(r.bytes()), 'hi');
    assert.deepEqual(r.key(), { number: 3, wireType: 1 });
    assert.deepEqual([...r.fixed64()], [...eight]);
    assert.deepEqual(r.key(), { number: 4, wireType: 5 });
    assert.deepEqual([...r.fixed32()], [9, 9, 9, 9]);
    assert.equal(r.done, true);
  });

  it('reads the largest varint (10 bytes) and negative int32/int64 as Go does', () => {
    const max = new WireReader(varintBytes(-1n)).varint();
    assert.equal(max, 0xffff_ffff_ffff_ffffn);
    assert.equal(toInt64(max), -1n);
    assert.equal(toInt32(max), -1);
    assert.equal(varintBytes(-5).length, 10, 'Go writes a negative int32 sign-extended to 10 bytes');
    assert.equal(toInt32(new WireReader(varintBytes(-5)).varint()), -5);
    assert.equal(toInt64(new WireReader(varintBytes(-9_007_199_254_740_993n)).varint()), -9_007_199_254_740_993n);
  });

  it('skips fields of every wire type', () => {
    const r = new WireReader(join(varint(1, 300), bytes(2, Uint8Array.of(1, 2, 3)), Uint8Array.of((3 << 3) | 5, 0, 0, 0, 0), varint(4, 7)));
    for (let i = 0; i < 3; i++) r.skip(r.key().wireType);
    assert.deepEqual(r.key(), { number: 4, wireType: 0 });
    assert.equal(r.varint(), 7n);
  });

  it('refuses a varint longer than 10 bytes or overflowing 64 bits', () => {
    rejects(() => new WireReader(new Uint8Array(11).fill(0x80)).varint(), /overflows 64 bits/);
    rejects(() => new WireReader(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02)).varint(), /overflows/);
  });

  it('refuses truncated input instead of reading past the end', () => {
    rejects(() => new WireReader(Uint8Array.of(0x80)).varint(), /truncated varint/);
    rejects(() => new WireReader(Uint8Array.of(1, 2, 3)).fixed64(), /truncated 64-bit/);
    rejects(() => new WireReader(Uint8Array.of(1)).fixed32(), /truncated 32-bit/);
  });

  it('refuses a length that runs past its message, however large, without allocating it', () => {
    rejects(() => new WireReader(join(varintBytes(5), Uint8Array.of(1, 2))).bytes(), /runs past the end/);
    rejects(() => new WireReader(varintBytes(0xffff_ffff_ffffn)).bytes(), /runs past the end/);
    // A nested reader is bounded by its own message, not by the buffer it lives in.
    const outer = join(bytes(1, varintBytes(3)), Uint8Array.of(0x41, 0x42, 0x43));
    const r = new WireReader(outer);
    r.key();
    const inner = r.bytes();
    rejects(() => new WireReader(inner).bytes(), /runs past the end/);
  });

  it('refuses field number 0, numbers beyond 2^29-1, and groups', () => {
    rejects(() => new WireReader(Uint8Array.of(0x00)).key(), /invalid field number 0/);
    rejects(() => new WireReader(varintBytes((2 ** 29) * 8)).key(), /invalid field number/);
    rejects(() => new WireReader(Uint8Array.of((1 << 3) | 3)).key(), /wire type 3/);
    rejects(() => new WireReader(Uint8Array.of((1 << 3) | 4)).key(), /wire type 4/);
    rejects(() => new WireReader(Uint8Array.of((1 << 3) | 7)).key(), /wire type 7/);
  });

  it('refuses a range outside its buffer', () => {
    rejects(() => new WireReader(new Uint8Array(2), 1, 5), /outside its buffer/);
  });

  it('reads doubles little-endian', () => {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setFloat64(0, 2.5, true);
    assert.equal(toDouble(b), 2.5);
    assert.equal(toDouble(join(Uint8Array.of(0), b).subarray(1)), 2.5, 'reads from an offset inside a larger buffer');
  });
});
