/**
 * A bounds-checked reader for the protobuf wire format (varint, 64-bit, length-delimited and 32-bit
 * fields). Every read checks the remaining length first, so a truncated or hostile buffer ends in a
 * {@link ProtobufWireError}, never in a read past the end, an endless loop or an allocation larger
 * than the input.
 */
import { PlatformError } from '../../errors/platform-error.ts';

/** The four wire types Kubernetes messages use. Groups (3, 4) are refused. */
export type WireType = 0 | 1 | 2 | 5;

export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_BYTES = 2;
export const WIRE_FIXED32 = 5;

/**
 * Input that is not well-formed protobuf, or that does not fit the message it claims to be. It
 * carries `API_BAD_REQUEST`: a body that cannot be decoded is a 400 in Kubernetes.
 */
export class ProtobufWireError extends PlatformError {
  constructor(message: string) {
    super('API_BAD_REQUEST', message);
  }
}

/** A field key: its number and wire type. */
export interface FieldKey {
  readonly number: number;
  readonly wireType: WireType;
}

/** The largest field number protobuf allows (2^29 - 1). */
const MAX_FIELD_NUMBER = 536_870_911;

/** Reads one message's bytes from `start` to `end`; nested messages get their own reader. */
export class WireReader {
  readonly #bytes: Uint8Array;
  readonly #end: number;
  #pos: number;

  constructor(bytes: Uint8Array, start = 0, end = bytes.length) {
    if (start < 0 || end > bytes.length || start > end) throw new ProtobufWireError('a message range lies outside its buffer');
    this.#bytes = bytes;
    this.#pos = start;
    this.#end = end;
  }

  /** True once every byte of the message has been read. */
  get done(): boolean {
    return this.#pos >= this.#end;
  }

  /** The offset of the next byte, for error messages. */
  get position(): number {
    return this.#pos;
  }

  /** Reads a field key. @throws ProtobufWireError for field number 0, groups and unknown wire types */
  key(): FieldKey {
    const raw = this.varint();
    const wireType = Number(raw & 7n);
    const number = raw >> 3n;
    if (number === 0n || number > BigInt(MAX_FIELD_NUMBER)) throw new ProtobufWireError(`invalid field number ${number} at offset ${this.#pos}`);
    if (wireType !== WIRE_VARINT && wireType !== WIRE_FIXED64 && wireType !== WIRE_BYTES && wireType !== WIRE_FIXED32) {
      throw new ProtobufWireError(`unsupported wire type ${wireType} for field ${number}`);
    }
    return { number: Number(number), wireType };
  }

  /** Reads a varint of at most 10 bytes as an unsigned 64-bit value. */
  varint(): bigint {
    let result = 0n;
    for (let i = 0; i < 10; i++) {
      if (this.#pos >= this.#end) throw new ProtobufWireError('truncated varint');
      const b = this.#bytes[this.#pos++]!;
      if (i === 9 && b > 1) throw new ProtobufWireError('varint overflows 64 bits');
      result |= BigInt(b & 0x7f) << BigInt(7 * i);
      if (b < 0x80) return result;
    }
    throw new ProtobufWireError('varint longer than 10 bytes');
  }

  /** Reads 8 little-endian bytes. */
  fixed64(): Uint8Array {
    return this.#take(8, 'truncated 64-bit field');
  }

  /** Reads 4 little-endian bytes. */
  fixed32(): Uint8Array {
    return this.#take(4, 'truncated 32-bit field');
  }

  /** Reads a length-delimited field's payload, without copying it. */
  bytes(): Uint8Array {
    const length = this.varint();
    if (length > BigInt(this.#end - this.#pos)) throw new ProtobufWireError(`a length of ${length} bytes runs past the end of its message`);
    return this.#take(Number(length), 'truncated length-delimited field');
  }

  /** Skips a field's value. */
  skip(wireType: WireType): void {
    switch (wireType) {
      case WIRE_VARINT:
        this.varint();
        return;
      case WIRE_FIXED64:
        this.fixed64();
        return;
      case WIRE_BYTES:
        this.bytes();
        return;
      case WIRE_FIXED32:
        this.fixed32();
        return;
    }
  }

  #take(n: number, why: string): Uint8Array {
    if (n > this.#end - this.#pos) throw new ProtobufWireError(why);
    const out = this.#bytes.subarray(this.#pos, this.#pos + n);
    this.#pos += n;
    return out;
  }
}

/** An unsigned 64-bit varint value as a signed int64 (two's complement), the way Go reads `int64`. */
export function toInt64(v: bigint): bigint {
  return BigInt.asIntN(64, v);
}

/** An unsigned 64-bit varint value as a signed int32, the way Go reads `int32` (negatives use 10 bytes). */
export function toInt32(v: bigint): number {
  return Number(BigInt.asIntN(32, v));
}

/** Eight little-endian bytes as an IEEE 754 double. */
export function toDouble(b: Uint8Array): number {
  return new DataView(b.buffer, b.byteOffset, 8).getFloat64(0, true);
}
