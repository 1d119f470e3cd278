/**
 * A schema-driven protobuf codec for the few gRPC services the edge talks to (the CRI, and
 * containerd's own services for image import), in place of protobufjs and @grpc/proto-loader, which
 * parsed the .proto files at every start and, with grpc-js, cost megabytes of an edge node's 70 MB
 * (see grpc.ts).
 *
 * A schema is a table that reads like the .proto it copies (see cri-messages.ts). Values have the
 * shapes @grpc/proto-loader gave them with `{ keepCase: false, longs: Number, enums: String, bytes:
 * Buffer, defaults: true }`, which the callers were written against: camelCase properties, 64-bit
 * integers as numbers, enums as their names, `bytes` as Buffers, and every field present after
 * decoding (zero values, `[]`, `{}`, and `null` for an absent message).
 *
 * Decoding reads through the bounds-checked {@link WireReader} of src/api/protobuf, so malformed
 * input ends in a {@link ProtobufWireError}, never in a read past the end or an endless loop.
 */
import { ProtobufWireError, WIRE_BYTES, WIRE_VARINT, WireReader, type WireType } from '../../../api/protobuf/wire.ts';

export { ProtobufWireError };

export type ScalarType = 'string' | 'bytes' | 'bool' | 'int32' | 'uint32' | 'int64' | 'uint64';

export interface EnumType {
  /** Full name: `runtime.v1.ContainerState`. */
  readonly name: string;
  readonly numbers: ReadonlyMap<string, number>;
  readonly names: ReadonlyMap<number, string>;
}

export interface FieldType {
  /** The property name (camelCase, as proto-loader names it). */
  readonly name: string;
  /** The name in the .proto (snake_case). */
  readonly protoName: string;
  readonly number: number;
  readonly label: 'single' | 'repeated' | 'map';
  /** For a map, the value's type (keys are strings). */
  readonly type: ScalarType | EnumType | MessageType;
}

export interface MessageType {
  /** Full name: `runtime.v1.PodSandboxConfig`. */
  readonly name: string;
  readonly fields: readonly FieldType[];
  readonly byNumber: ReadonlyMap<number, FieldType>;
}

export interface MethodType {
  readonly name: string;
  /** The HTTP/2 path gRPC posts to: `/runtime.v1.RuntimeService/Version`. */
  readonly path: string;
  readonly request: MessageType;
  readonly response: MessageType;
  readonly clientStreaming: boolean;
  readonly serverStreaming: boolean;
}

export interface ServiceType {
  /** Full name: `runtime.v1.RuntimeService`. */
  readonly name: string;
  readonly methods: ReadonlyMap<string, MethodType>;
}

export interface Schema {
  readonly messages: ReadonlyMap<string, MessageType>;
  readonly enums: ReadonlyMap<string, EnumType>;
  readonly services: ReadonlyMap<string, ServiceType>;
}

/**
 * One package of a schema table. Each entry's text is the body of its .proto declaration with `;`
 * between items:
 * - a message: `string id = 1; repeated PodIP additional_ips = 2; map<string, string> labels = 7`
 *   (types resolve in the package first, then as full names);
 * - an enum: `SANDBOX_READY = 0; SANDBOX_NOTREADY = 1`;
 * - a service: `Version(VersionRequest) VersionResponse; Write(stream Req) stream Res`.
 */
export interface PackageTable {
  readonly messages?: Readonly<Record<string, string>>;
  readonly enums?: Readonly<Record<string, string>>;
  readonly services?: Readonly<Record<string, string>>;
}

const SCALARS: ReadonlySet<string> = new Set<ScalarType>(['string', 'bytes', 'bool', 'int32', 'uint32', 'int64', 'uint64']);
const FIELD = /^(?:map<\s?string\s?,\s?([\w.]+)\s?>|(repeated )?([\w.]+)) (\w+) = (\d+)$/;
const ENUM_VALUE = /^(\w+)\s*=\s*(\d+)$/;
const METHOD = /^(\w+)\s*\(\s*(stream\s+)?([\w.]+)\s*\)\s*(stream\s+)?([\w.]+)$/;
const MAX_FIELD_NUMBER = 536_870_911;

/** The camelCase name proto-loader (protobufjs) gives a snake_case field. */
export function camelCase(name: string): string {
  return name.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
}

/**
 * Builds a schema from its table, resolving every type reference once.
 * @throws Error when the table is malformed (a programming error, caught by the unit tests)
 */
export function defineSchema(table: Readonly<Record<string, PackageTable>>): Schema {
  const enums = new Map<string, EnumType>();
  const messages = new Map<string, MessageType & { fields: FieldType[]; byNumber: Map<number, FieldType> }>();
  const items = (text: string): string[] =>
    text
      .split(';')
      .map((s) => s.trim().replace(/\s+/g, ' '))
      .filter((s) => s !== '');
  for (const [pkg, p] of Object.entries(table)) {
    for (const [name, text] of Object.entries(p.enums ?? {})) {
      const numbers = new Map<string, number>();
      const names = new Map<number, string>();
      for (const v of items(text)) {
        const m = ENUM_VALUE.exec(v);
        if (m === null) throw new Error(`${pkg}.${name}: cannot read enum value "${v}"`);
        numbers.set(m[1]!, Number(m[2]));
        if (!names.has(Number(m[2]))) names.set(Number(m[2]), m[1]!);
      }
      if (!names.has(0)) throw new Error(`${pkg}.${name}: a proto3 enum needs a zero value`);
      enums.set(`${pkg}.${name}`, { name: `${pkg}.${name}`, numbers, names });
    }
    for (const name of Object.keys(p.messages ?? {})) messages.set(`${pkg}.${name}`, { name: `${pkg}.${name}`, fields: [], byNumber: new Map() });
  }
  const resolve = (pkg: string, type: string, owner: string): ScalarType | EnumType | MessageType => {
    if (SCALARS.has(type)) return type as ScalarType;
    const found = enums.get(`${pkg}.${type}`) ?? messages.get(`${pkg}.${type}`) ?? enums.get(type) ?? messages.get(type);
    if (found === undefined) throw new Error(`${owner}: unknown type ${type}`);
    return found;
  };
  for (const [pkg, p] of Object.entries(table)) {
    for (const [name, text] of Object.entries(p.messages ?? {})) {
      const msg = messages.get(`${pkg}.${name}`)!;
      for (const f of items(text)) {
        const m = FIELD.exec(f);
        if (m === null) throw new Error(`${msg.name}: cannot read field "${f}"`);
        const [, mapValue, repeated, type, protoName = '', num] = m;
        const number = Number(num);
        if (number < 1 || number > MAX_FIELD_NUMBER) throw new Error(`${msg.name}.${protoName}: field number ${number} is out of range`);
        if (msg.byNumber.has(number)) throw new Error(`${msg.name}: field number ${number} is used twice`);
        const field: FieldType = {
          name: camelCase(protoName),
          protoName,
          number,
          label: mapValue !== undefined ? 'map' : repeated !== undefined ? 'repeated' : 'single',
          type: resolve(pkg, mapValue ?? type ?? '', `${msg.name}.${protoName}`),
        };
        if (msg.fields.some((x) => x.name === field.name)) throw new Error(`${msg.name}: field ${field.name} is declared twice`);
        msg.fields.push(field);
        msg.byNumber.set(number, field);
      }
    }
  }
  const services = new Map<string, ServiceType>();
  for (const [pkg, p] of Object.entries(table)) {
    for (const [name, text] of Object.entries(p.services ?? {})) {
      const full = `${pkg}.${name}`;
      const methods = new Map<string, MethodType>();
      for (const r of items(text)) {
        const m = METHOD.exec(r);
        if (m === null) throw new Error(`${full}: cannot read method "${r}"`);
        const message = (type: string): MessageType => {
          const t = resolve(pkg, type, `${full}.${m[1]!}`);
          if (typeof t === 'string' || !('fields' in t)) throw new Error(`${full}.${m[1]!}: ${type} is not a message`);
          return t;
        };
        methods.set(m[1]!, { name: m[1]!, path: `/${full}/${m[1]!}`, request: message(m[3]!), response: message(m[5]!), clientStreaming: m[2] !== undefined, serverStreaming: m[4] !== undefined });
      }
      services.set(full, { name: full, methods });
    }
  }
  return { messages, enums, services };
}

function isMessage(t: FieldType['type']): t is MessageType {
  return typeof t !== 'string' && 'fields' in t;
}

function isEnum(t: FieldType['type']): t is EnumType {
  return typeof t !== 'string' && 'numbers' in t;
}

/** The wire type a single value of this type is written with. */
function wireTypeOf(t: FieldType['type']): WireType {
  return t === 'string' || t === 'bytes' || isMessage(t) ? WIRE_BYTES : WIRE_VARINT;
}

// ---------------------------------------------------------------------------------------------
// Encoding

/**
 * Appends protobuf's wire format to a list of chunks. Small values go to a scratch buffer; large
 * `bytes` payloads (image layers in 1 MiB writes) are referenced, not copied, until {@link finish}.
 */
class WireWriter {
  readonly #chunks: Buffer[] = [];
  #buf = Buffer.allocUnsafe(512);
  #pos = 0;
  length = 0;

  #room(n: number): void {
    if (this.#pos + n <= this.#buf.length) return;
    this.#flush();
    this.#buf = Buffer.allocUnsafe(Math.max(512, n));
  }

  #flush(): void {
    if (this.#pos === 0) return;
    this.#chunks.push(this.#buf.subarray(0, this.#pos));
    this.#buf = this.#buf.subarray(this.#pos);
    this.#pos = 0;
  }

  /** An unsigned varint of a non-negative integer up to 2^64 - 1 (bigint) or 2^53 (number). */
  varint(v: number | bigint): void {
    this.#room(10);
    const start = this.#pos;
    if (typeof v === 'number' && v <= 0x7fff_ffff) {
      while (v > 0x7f) {
        this.#buf[this.#pos++] = (v & 0x7f) | 0x80;
        v >>>= 7;
      }
      this.#buf[this.#pos++] = v;
    } else {
      let b = BigInt(v);
      while (b > 0x7fn) {
        this.#buf[this.#pos++] = Number(b & 0x7fn) | 0x80;
        b >>= 7n;
      }
      this.#buf[this.#pos++] = Number(b);
    }
    this.length += this.#pos - start;
  }

  key(number: number, wireType: WireType): void {
    this.varint(number * 8 + wireType);
  }

  bytes(b: Uint8Array): void {
    this.varint(b.length);
    if (b.length > 256) {
      this.#flush();
      this.#chunks.push(Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength));
    } else {
      this.#room(b.length);
      this.#buf.set(b, this.#pos);
      this.#pos += b.length;
    }
    this.length += b.length;
  }

  finish(): Buffer {
    this.#flush();
    return this.#chunks.length === 1 ? this.#chunks[0]! : Buffer.concat(this.#chunks, this.length);
  }

  /** The encoding as the chunks it was written in: large payloads stay the caller's buffers. */
  chunks(): Buffer[] {
    this.#flush();
    return this.#chunks;
  }
}

/**
 * Encodes a value of `type`. Absent (undefined or null) fields and proto3 zero values are left out,
 * as every proto3 encoder may; properties the message does not declare are ignored, as protobufjs
 * ignored them.
 * @throws TypeError when a value does not fit its field (a wrong type, a name that is not in the
 *   enum, a number that is not finite): a programming error of the caller
 */
export function encodeMessage(type: MessageType, value: object): Buffer {
  const w = new WireWriter();
  writeMessage(w, type, value as Record<string, unknown>, type.name);
  return w.finish();
}

/**
 * {@link encodeMessage} without joining the result: the chunks and their total length. A top-level
 * `bytes` field (a 1 MiB layer chunk of an image import) is passed on as the caller's buffer, not
 * copied; copies of megabytes become garbage that V8 may keep for a long while in an idle process.
 */
export function encodeMessageChunks(type: MessageType, value: object): { chunks: Buffer[]; length: number } {
  const w = new WireWriter();
  writeMessage(w, type, value as Record<string, unknown>, type.name);
  return { chunks: w.chunks(), length: w.length };
}

function writeMessage(w: WireWriter, type: MessageType, value: Record<string, unknown>, path: string): void {
  for (const f of type.fields) {
    const v = value[f.name];
    if (v === undefined || v === null) continue;
    const at = `${path}.${f.name}`;
    if (f.label === 'single') {
      writeValue(w, f.number, f.type, v, at, false);
    } else if (f.label === 'repeated') {
      if (!Array.isArray(v)) throw new TypeError(`${at}: expected an array`);
      if (wireTypeOf(f.type) === WIRE_VARINT) writePacked(w, f.number, f.type, v, at);
      else for (let i = 0; i < v.length; i++) writeValue(w, f.number, f.type, v[i] as unknown, `${at}[${i}]`, true);
    } else {
      if (typeof v !== 'object' || Array.isArray(v)) throw new TypeError(`${at}: expected an object (a map)`);
      for (const [k, mv] of Object.entries(v as Record<string, unknown>)) {
        if (mv === undefined || mv === null) continue;
        // A map entry is a message of key = 1 and value = 2, written even when both are empty.
        const entry = new WireWriter();
        writeValue(entry, 1, 'string', k, `${at}[${k}]`, false);
        writeValue(entry, 2, f.type, mv, `${at}[${k}]`, false);
        w.key(f.number, WIRE_BYTES);
        w.bytes(entry.finish());
      }
    }
  }
}

/** Writes one value; `always` writes zero values too (elements of a repeated field). */
function writeValue(w: WireWriter, number: number, t: FieldType['type'], v: unknown, at: string, always: boolean): void {
  if (isMessage(t)) {
    if (typeof v !== 'object' || v === null || Array.isArray(v) || v instanceof Uint8Array) throw new TypeError(`${at}: expected an object (${t.name})`);
    const sub = new WireWriter();
    writeMessage(sub, t, v as Record<string, unknown>, at);
    // A message that is present is written even when empty: presence is what it says.
    w.key(number, WIRE_BYTES);
    w.bytes(sub.finish());
  } else if (t === 'string') {
    const s = typeof v === 'string' ? v : String(v);
    if (s === '' && !always) return;
    w.key(number, WIRE_BYTES);
    w.bytes(Buffer.from(s, 'utf8'));
  } else if (t === 'bytes') {
    if (!(v instanceof Uint8Array)) throw new TypeError(`${at}: expected a Buffer`);
    if (v.length === 0 && !always) return;
    w.key(number, WIRE_BYTES);
    w.bytes(v);
  } else {
    const n = varintOf(t, v, at);
    if (n === 0 && !always) return;
    w.key(number, WIRE_VARINT);
    w.varint(n);
  }
}

/**
 * A repeated number, bool or enum, packed into one length-delimited field as proto3 (and Go)
 * write them.
 */
function writePacked(w: WireWriter, number: number, t: FieldType['type'], list: readonly unknown[], at: string): void {
  if (list.length === 0) return;
  const sub = new WireWriter();
  for (let i = 0; i < list.length; i++) sub.varint(varintOf(t, list[i], `${at}[${i}]`));
  w.key(number, WIRE_BYTES);
  w.bytes(sub.finish());
}

/** The unsigned varint a bool, enum or integer is written as. */
function varintOf(t: FieldType['type'], v: unknown, at: string): number | bigint {
  if (t === 'bool') return v ? 1 : 0;
  let n: number | bigint;
  if (isEnum(t)) {
    const e = typeof v === 'number' ? v : t.numbers.get(String(v));
    if (e === undefined || !Number.isInteger(e)) throw new TypeError(`${at}: ${JSON.stringify(v)} is not a value of ${t.name}`);
    n = e;
  } else {
    n = typeof v === 'bigint' ? v : typeof v === 'number' || typeof v === 'string' ? Math.trunc(Number(v)) : NaN;
    if (typeof n === 'number' && !Number.isFinite(n)) throw new TypeError(`${at}: ${String(v)} is not a number`);
  }
  if (typeof n === 'number' && n >= 0 && n <= 0x7fff_ffff) return n;
  // Negative int32, int64 and enum values take ten bytes (two's complement, sign-extended to 64
  // bits); uint32 wraps at 32 bits.
  const int = BigInt(n);
  return t === 'uint32' ? BigInt.asUintN(32, int) : BigInt.asUintN(64, t === 'int32' || isEnum(t) ? BigInt.asIntN(32, int) : int);
}

// ---------------------------------------------------------------------------------------------
// Decoding

const utf8 = new TextDecoder('utf-8');

/**
 * Decodes a value of `type` with every declared field present (see the module comment). Unknown
 * fields, and known fields that arrive with a wire type they cannot have, are skipped, as Go does.
 * @throws ProtobufWireError for malformed input, naming the message
 */
export function decodeMessage(type: MessageType, bytes: Uint8Array): Record<string, unknown> {
  try {
    return readMessage(type, bytes);
  } catch (err) {
    if (err instanceof ProtobufWireError) throw new ProtobufWireError(`malformed ${type.name}: ${err.message}`);
    throw err;
  }
}

/** The value an absent field has after decoding. */
function zeroValue(f: FieldType): unknown {
  if (f.label === 'repeated') return [];
  if (f.label === 'map') return {};
  return zeroOf(f.type);
}

function zeroOf(t: FieldType['type']): unknown {
  if (isMessage(t)) return null;
  if (isEnum(t)) return t.names.get(0);
  switch (t) {
    case 'string':
      return '';
    case 'bytes':
      return Buffer.alloc(0);
    case 'bool':
      return false;
    default:
      return 0;
  }
}

/**
 * Reads a message's fields into `out` (a fresh object with every field at its zero value, or the
 * value of an earlier occurrence of the same field: a message that appears twice is merged, as
 * protobuf requires; scalars take the last value, repeated fields and maps accumulate).
 */
function readMessage(type: MessageType, bytes: Uint8Array, into?: Record<string, unknown>): Record<string, unknown> {
  let out = into;
  if (out === undefined) {
    out = {};
    for (const f of type.fields) out[f.name] = zeroValue(f);
  }
  const r = new WireReader(bytes);
  while (!r.done) {
    const { number, wireType } = r.key();
    const f = type.byNumber.get(number);
    const single = f === undefined ? undefined : wireTypeOf(f.type);
    if (f === undefined) {
      r.skip(wireType);
    } else if (f.label === 'map' && wireType === WIRE_BYTES) {
      const [k, v] = readMapEntry(f.type, r.bytes());
      (out[f.name] as Record<string, unknown>)[k] = v;
    } else if (f.label === 'repeated' && wireType === single) {
      (out[f.name] as unknown[]).push(readValue(f.type, r, wireType));
    } else if (f.label === 'repeated' && wireType === WIRE_BYTES && single === WIRE_VARINT) {
      // Packed: proto3's default for repeated numbers (Go writes them so); both forms are read.
      const list = out[f.name] as unknown[];
      const packed = new WireReader(r.bytes());
      while (!packed.done) list.push(readValue(f.type, packed, WIRE_VARINT));
    } else if (f.label === 'single' && wireType === single) {
      const prev = out[f.name];
      out[f.name] = isMessage(f.type) ? readMessage(f.type, r.bytes(), prev === null ? undefined : (prev as Record<string, unknown>)) : readValue(f.type, r, wireType);
    } else {
      // A known field with a wire type it cannot have is skipped as unknown, as Go does.
      r.skip(wireType);
    }
  }
  return out;
}

/** A map entry: key = 1 (a string), value = 2; either may be absent and then has its zero value. */
function readMapEntry(t: FieldType['type'], bytes: Uint8Array): [string, unknown] {
  const r = new WireReader(bytes);
  let key = '';
  let value: unknown;
  while (!r.done) {
    const { number, wireType } = r.key();
    if (number === 1 && wireType === WIRE_BYTES) key = utf8.decode(r.bytes());
    else if (number === 2 && wireType === wireTypeOf(t)) value = isMessage(t) ? readMessage(t, r.bytes(), value as Record<string, unknown> | undefined) : readValue(t, r, wireType);
    else r.skip(wireType);
  }
  return [key, value ?? (isMessage(t) ? readMessage(t, new Uint8Array(0)) : zeroOf(t))];
}

/** Reads one scalar, enum or message value of the given wire type. */
function readValue(t: FieldType['type'], r: WireReader, wireType: WireType): unknown {
  if (wireType === WIRE_BYTES) {
    const b = r.bytes();
    if (isMessage(t)) return readMessage(t, b);
    // A copy: a small field must not keep the whole response frame alive.
    return t === 'bytes' ? Buffer.from(b) : utf8.decode(b);
  }
  const v = r.varint();
  if (isEnum(t)) {
    const n = Number(BigInt.asIntN(32, v));
    // A number this schema does not know stays a number, as protobufjs leaves it.
    return t.names.get(n) ?? n;
  }
  switch (t) {
    case 'bool':
      return v !== 0n;
    case 'int32':
      return Number(BigInt.asIntN(32, v));
    case 'uint32':
      return Number(BigInt.asUintN(32, v));
    case 'int64':
      return Number(BigInt.asIntN(64, v));
    default:
      return Number(v);
  }
}
