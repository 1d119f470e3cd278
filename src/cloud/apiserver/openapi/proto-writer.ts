/**
 * A minimal protocol buffers (proto3) writer: just the wire types the gnostic OpenAPI messages use.
 * Scalars equal to their proto3 default are not written, as generated encoders do; embedded
 * messages are always written, because their presence is meaningful (an empty `properties` says
 * "an object with no fields", a missing one says "not an object").
 */
export class ProtoWriter {
  readonly #chunks: Uint8Array[] = [];
  #length = 0;

  /** Bytes written so far, as one buffer. */
  finish(): Buffer {
    return Buffer.concat(this.#chunks, this.#length);
  }

  /** `string` field; empty strings are the default and are skipped. */
  string(field: number, value: string | undefined): this {
    if (value === undefined || value === '') return this;
    return this.bytes(field, Buffer.from(value, 'utf8'));
  }

  /** `repeated string` field: one entry per element, empty strings included. */
  strings(field: number, values: readonly string[] | undefined): this {
    for (const value of values ?? []) this.bytes(field, Buffer.from(value, 'utf8'));
    return this;
  }

  /** `bool` field; false is skipped unless `always` (a oneof member must be written to be chosen). */
  bool(field: number, value: boolean | undefined, always = false): this {
    if (value === undefined || (!value && !always)) return this;
    this.#tag(field, 0);
    this.#varint(value ? 1 : 0);
    return this;
  }

  /** `int64` field; zero is skipped. */
  int64(field: number, value: number | undefined): this {
    if (value === undefined || value === 0) return this;
    this.#tag(field, 0);
    this.#varint(value);
    return this;
  }

  /** `double` field (fixed 64-bit); zero is skipped. */
  double(field: number, value: number | undefined): this {
    if (value === undefined || value === 0) return this;
    this.#tag(field, 1);
    const bytes = Buffer.alloc(8);
    bytes.writeDoubleLE(value);
    this.#push(bytes);
    return this;
  }

  /** Embedded message field, encoded by `build` into a nested writer. */
  message(field: number, build: (w: ProtoWriter) => void): this {
    const nested = new ProtoWriter();
    build(nested);
    return this.bytes(field, nested.finish());
  }

  /** Length-delimited field. */
  bytes(field: number, value: Uint8Array): this {
    this.#tag(field, 2);
    this.#varint(value.length);
    this.#push(value);
    return this;
  }

  #tag(field: number, wireType: 0 | 1 | 2): void {
    this.#varint(field * 8 + wireType);
  }

  /** Base-128 varint; negative numbers as their 64-bit two's complement, as int64 requires. */
  #varint(value: number): void {
    let n = BigInt.asUintN(64, BigInt(Math.trunc(value)));
    const out: number[] = [];
    while (n >= 0x80n) {
      out.push(Number(n & 0x7fn) | 0x80);
      n >>= 7n;
    }
    out.push(Number(n));
    this.#push(Uint8Array.from(out));
  }

  #push(bytes: Uint8Array): void {
    this.#chunks.push(bytes);
    this.#length += bytes.length;
  }
}
