/**
 * Decodes request bodies in Kubernetes' protobuf encoding (`application/vnd.kubernetes.protobuf`)
 * into the JSON object the same request would have carried as JSON, so the rest of the API server
 * never sees the difference.
 *
 * The encoding: the 4-byte magic `k8s\0`, then a `runtime.Unknown` whose `typeMeta` names the kind
 * and whose `raw` holds the object's message. The JSON follows what Go's `encoding/json` makes of
 * the decoded Go struct (field order, `omitempty`, pointers, the custom JSON of `Time`,
 * `MicroTime`, `Duration`, `Quantity`, `IntOrString`, `RawExtension`, `FieldsV1` and the CRD
 * schema types), which messages.ts records per field.
 */
import { apiErrors } from '../errors.ts';
import type { JsonObject, JsonValue } from '../object.ts';
import { messageForKind } from './kinds.ts';
import { messageSpec, type FieldSpec, type MessageSpec, type ScalarType } from './schema.ts';
import { ProtobufWireError, toDouble, toInt32, toInt64, WIRE_BYTES, WIRE_FIXED64, WIRE_VARINT, WireReader, type WireType } from './wire.ts';
import { rfc3339Milli } from '../time.ts';

/** `k8s\0`, the prefix of every Kubernetes protobuf body. */
export const KUBERNETES_PROTOBUF_MAGIC: Readonly<Uint8Array> = Uint8Array.of(0x6b, 0x38, 0x73, 0x00);

/** The media type of Kubernetes' protobuf encoding. */
export const KUBERNETES_PROTOBUF_MEDIA_TYPE = 'application/vnd.kubernetes.protobuf';

/** A decoded body: the kind its envelope names and the object as JSON (with `kind` and `apiVersion`). */
export interface DecodedProtobufBody {
  readonly apiVersion: string;
  readonly kind: string;
  readonly object: JsonObject;
}

/**
 * Messages nest at most this deep. A CRD's schema is the deepest thing kedge decodes; a real one
 * stays far below, and the limit keeps a hostile body from exhausting the stack.
 */
const MAX_DEPTH = 100;
/**
 * The JSON may hold at most this many objects and list or map elements per body byte (plus a
 * constant). An empty nested message stands for a whole tree of zero-valued structs (an empty
 * NodeStatus is six objects in two bytes), so a body can expand; real bodies stay far below one
 * per byte, and the cap keeps a 3 MiB body from becoming gigabytes of objects.
 */
const VALUES_PER_BYTE = 1;
const VALUES_BASE = 4096;

/**
 * Decodes a whole request body: magic, envelope, object.
 * @throws ApiError 400 (`API_BAD_REQUEST`) when the body is not Kubernetes protobuf, names a kind
 *   kedge does not decode, or holds a malformed or oversized message.
 */
export function decodeKubernetesProtobuf(body: Uint8Array): DecodedProtobufBody {
  try {
    return new Decoder(body.length).body(body, 0);
  } catch (err) {
    if (err instanceof ProtobufWireError) throw apiErrors.badRequest(`the request body is not valid ${KUBERNETES_PROTOBUF_MEDIA_TYPE}: ${err.message}`, { cause: err });
    throw err;
  }
}

/**
 * Decodes one message of the table (`apps.v1.DeploymentSpec`) into its JSON value.
 * @throws ProtobufWireError for malformed input; Error for a name the table does not hold
 */
export function decodeMessage(bytes: Uint8Array, message: string): JsonValue {
  if (messageSpec(message) === undefined) throw new Error(`unknown protobuf message ${message}`);
  return new Decoder(bytes.length).message(bytes, message, 0);
}

/** The values a field collected from the wire, before they become JSON. */
type Raw = bigint | Uint8Array;
interface Collected {
  /** Scalars and message chunks, in wire order. */
  values: Raw[];
  /** Map entries: key to the last value seen for it. */
  entries?: Map<string, Raw | undefined>;
}

type Special = (d: Decoder, fields: ReadonlyMap<number, Collected>, bytes: Uint8Array, depth: number) => JsonValue;

const utf8 = new TextDecoder('utf-8');

class Decoder {
  readonly #maxValues: number;
  #values = 0;

  constructor(inputLength: number) {
    this.#maxValues = inputLength * VALUES_PER_BYTE + VALUES_BASE;
  }

  /** A magic-prefixed envelope (a whole body, or an object embedded in a `RawExtension`). */
  body(bytes: Uint8Array, depth: number): DecodedProtobufBody {
    if (bytes.length < KUBERNETES_PROTOBUF_MAGIC.length || KUBERNETES_PROTOBUF_MAGIC.some((b, i) => bytes[i] !== b)) {
      throw new ProtobufWireError('it does not start with the k8s\\0 prefix');
    }
    const envelope = this.#collect(bytes.subarray(KUBERNETES_PROTOBUF_MAGIC.length), spec('runtime.Unknown'));
    const typeMeta = this.#collect(concat(envelope.get(1)?.values ?? []), spec('runtime.TypeMeta'));
    const apiVersion = stringOf(typeMeta.get(1));
    const kind = stringOf(typeMeta.get(2));
    const encoding = stringOf(envelope.get(3));
    const contentType = stringOf(envelope.get(4));
    if (encoding !== '') throw new ProtobufWireError(`content encoding ${JSON.stringify(encoding)} is not supported`);
    if (contentType !== '' && contentType !== KUBERNETES_PROTOBUF_MEDIA_TYPE) throw new ProtobufWireError(`the envelope holds ${JSON.stringify(contentType)}, not protobuf`);
    if (kind === '' || apiVersion === '') throw new ProtobufWireError('the envelope does not name the apiVersion and kind of its object');
    const message = messageForKind(apiVersion, kind);
    if (message === undefined) throw new ProtobufWireError(`objects of kind ${kind} in ${apiVersion} cannot be sent as protobuf; send JSON`);
    const decoded = this.message(concat(envelope.get(2)?.values ?? []), message, depth + 1);
    if (!isObject(decoded)) throw new ProtobufWireError(`a ${kind} does not decode to an object`);
    return { apiVersion, kind, object: { kind, apiVersion, ...decoded } };
  }

  message(bytes: Uint8Array, name: string, depth: number): JsonValue {
    if (depth > MAX_DEPTH) throw new ProtobufWireError(`messages nest deeper than ${MAX_DEPTH} levels`);
    const m = spec(name);
    const fields = this.#collect(bytes, m);
    this.count();
    const special = SPECIALS.get(name);
    if (special !== undefined) return special(this, fields, bytes, depth);
    const out: JsonObject = {};
    for (const f of m.fields) {
      const value = this.#field(f, fields.get(f.number), depth);
      if (value === undefined) continue;
      if (f.inline) {
        if (isObject(value)) Object.assign(out, value);
        continue;
      }
      out[f.json] = value;
    }
    return out;
  }

  /** Counts one JSON value against the body's budget. */
  count(n = 1): void {
    this.#values += n;
    if (this.#values > this.#maxValues) throw new ProtobufWireError('the body expands into more values than its size allows');
  }

  /** A field's JSON value, or undefined when Go's encoding/json would leave it out. */
  #field(f: FieldSpec, c: Collected | undefined, depth: number): JsonValue | undefined {
    if (f.shape === 'map') {
      const entries = c?.entries;
      if (entries === undefined || entries.size === 0) return f.presence === 'always' || f.presence === 'pointer-or-null' ? null : undefined;
      const out: JsonObject = {};
      this.count();
      for (const [key, raw] of entries) out[key] = this.#value(f, raw, depth);
      return out;
    }
    if (f.shape === 'repeated') {
      const values = c?.values ?? [];
      if (values.length === 0) return f.presence === 'always' || f.presence === 'pointer-or-null' ? null : undefined;
      this.count();
      return values.map((raw) => this.#value(f, raw, depth));
    }
    const present = c !== undefined && c.values.length > 0;
    if (f.message !== undefined) {
      if (!present) {
        if (f.presence === 'pointer') return undefined;
        if (f.presence === 'pointer-or-null') return null;
        return this.message(new Uint8Array(0), f.message, depth + 1);
      }
      // A singular message seen more than once merges, as protobuf defines: decode the concatenation.
      return this.message(concat(c.values), f.message, depth + 1);
    }
    const scalar = f.scalar!;
    if (!present) {
      if (f.presence === 'always') return scalar === 'bytes' ? null : zeroOf(scalar);
      return f.presence === 'pointer-or-null' ? null : undefined;
    }
    const value = this.#scalar(f, c.values[c.values.length - 1]!);
    if (f.presence === 'omitempty' && isZero(value)) return undefined;
    return value;
  }

  #value(f: FieldSpec, raw: Raw | undefined, depth: number): JsonValue {
    this.count();
    if (f.message !== undefined) return this.message(raw instanceof Uint8Array ? raw : new Uint8Array(0), f.message, depth + 1);
    if (raw === undefined) return f.scalar === 'bytes' ? '' : zeroOf(f.scalar!);
    return this.#scalar(f, raw);
  }

  #scalar(f: FieldSpec, raw: Raw): JsonValue {
    return scalarValue(f.scalar!, raw, f.proto);
  }

  /** Reads a message's fields, checking each wire type against the table. */
  #collect(bytes: Uint8Array, m: MessageSpec): Map<number, Collected> {
    const out = new Map<number, Collected>();
    const r = new WireReader(bytes);
    while (!r.done) {
      const key = r.key();
      const f = m.byNumber.get(key.number);
      if (f === undefined) {
        // Fields from newer Kubernetes versions are skipped, as an older API server would.
        r.skip(key.wireType);
        continue;
      }
      let c = out.get(f.number);
      if (c === undefined) {
        c = { values: [] };
        out.set(f.number, c);
      }
      if (f.shape === 'map') {
        if (key.wireType !== WIRE_BYTES) throw wrongWireType(m, f, key.wireType);
        const [k, v] = this.#entry(r.bytes(), m, f);
        c.entries ??= new Map();
        c.entries.delete(k);
        c.entries.set(k, v);
        continue;
      }
      for (const v of readValues(r, key.wireType, m, f)) c.values.push(v);
    }
    return out;
  }

  /** A map entry: key (field 1) and value (field 2). */
  #entry(bytes: Uint8Array, owner: MessageSpec, f: FieldSpec): [string, Raw | undefined] {
    const r = new WireReader(bytes);
    let key = '';
    let value: Raw | undefined;
    while (!r.done) {
      const k = r.key();
      if (k.number === 1) {
        if (k.wireType !== WIRE_BYTES) throw wrongWireType(owner, f, k.wireType);
        key = utf8.decode(r.bytes());
      } else if (k.number === 2) {
        value = readValues(r, k.wireType, owner, f).at(-1);
      } else {
        r.skip(k.wireType);
      }
    }
    return [key, value];
  }
}

function spec(name: string): MessageSpec {
  const m = messageSpec(name);
  if (m === undefined) throw new Error(`protobuf message ${name} is missing from the table`);
  return m;
}

/** The wire type a scalar of this type arrives in, unpacked. */
function wireTypeOf(f: FieldSpec): WireType {
  if (f.message !== undefined || f.scalar === 'string' || f.scalar === 'bytes') return WIRE_BYTES;
  return f.scalar === 'double' ? WIRE_FIXED64 : WIRE_VARINT;
}

/**
 * One field value from the wire: a single value, or for a repeated numeric field sent packed
 * (one length-delimited run), every number of the run.
 */
function readValues(r: WireReader, wireType: WireType, owner: MessageSpec, f: FieldSpec): Raw[] {
  const expected = wireTypeOf(f);
  if (wireType === expected) {
    if (wireType === WIRE_VARINT) return [r.varint()];
    if (wireType === WIRE_FIXED64) return [r.fixed64()];
    return [r.bytes()];
  }
  if (wireType === WIRE_BYTES && f.shape === 'repeated' && expected !== WIRE_BYTES) {
    const run = new WireReader(r.bytes());
    const out: Raw[] = [];
    while (!run.done) out.push(expected === WIRE_FIXED64 ? run.fixed64() : run.varint());
    return out;
  }
  throw wrongWireType(owner, f, wireType);
}

function wrongWireType(owner: MessageSpec, f: FieldSpec, wireType: number): ProtobufWireError {
  return new ProtobufWireError(`field ${f.proto} (${f.number}) of ${owner.name} has wire type ${wireType}`);
}

function scalarValue(type: ScalarType, raw: Raw, field: string): JsonValue {
  switch (type) {
    case 'string':
      return utf8.decode(asBytes(raw, field));
    case 'bytes':
      return Buffer.from(asBytes(raw, field)).toString('base64');
    case 'bool':
      return asVarint(raw, field) !== 0n;
    case 'int32':
      return toInt32(asVarint(raw, field));
    case 'int64':
      return Number(toInt64(asVarint(raw, field)));
    case 'double': {
      const n = toDouble(asBytes(raw, field));
      if (!Number.isFinite(n)) throw new ProtobufWireError(`field ${field} holds ${n}, which JSON cannot represent`);
      return n;
    }
  }
}

function asBytes(raw: Raw, field: string): Uint8Array {
  if (!(raw instanceof Uint8Array)) throw new ProtobufWireError(`field ${field} is not length-delimited`);
  return raw;
}

function asVarint(raw: Raw, field: string): bigint {
  if (typeof raw !== 'bigint') throw new ProtobufWireError(`field ${field} is not a varint`);
  return raw;
}

function zeroOf(type: ScalarType): JsonValue {
  switch (type) {
    case 'string':
    case 'bytes':
      return '';
    case 'bool':
      return false;
    default:
      return 0;
  }
}

function isZero(v: JsonValue): boolean {
  return v === '' || v === 0 || v === false;
}

function isObject(v: JsonValue | undefined): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function concat(chunks: readonly Raw[]): Uint8Array {
  const parts = chunks.filter((c): c is Uint8Array => c instanceof Uint8Array);
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** The last value of a string field, or `''`. */
function stringOf(c: Collected | undefined): string {
  const last = c?.values[c.values.length - 1];
  return last === undefined ? '' : utf8.decode(asBytes(last, 'string'));
}

function lastVarint(c: Collected | undefined): bigint {
  const last = c?.values[c.values.length - 1];
  return last === undefined ? 0n : asVarint(last, 'number');
}

function lastBytes(c: Collected | undefined): Uint8Array {
  const last = c?.values[c.values.length - 1];
  return last === undefined ? new Uint8Array(0) : asBytes(last, 'bytes');
}

/** Seconds between 0001-01-01 and 1970-01-01: Go's zero `time.Time` as Unix seconds. */
const GO_ZERO_TIME_SECONDS = -62_135_596_800n;
const NANOS_PER_SECOND = 1_000_000_000n;
/** Go refuses to write years outside 0..9999 as JSON. */
const MIN_SECONDS = -62_167_219_200n;
const MAX_SECONDS = 253_402_300_799n;

/**
 * `metav1.Time` and `MicroTime` as Kubernetes writes them: `null` for the zero time (an empty
 * message), otherwise RFC 3339 in UTC with seconds, or microseconds, of precision.
 */
function timeJson(fields: ReadonlyMap<number, Collected>, bytes: Uint8Array, micro: boolean): JsonValue {
  if (bytes.length === 0) return null;
  let seconds = toInt64(lastVarint(fields.get(1)));
  let nanos = BigInt(toInt32(lastVarint(fields.get(2))));
  // time.Unix carries nanoseconds outside [0, 1e9) into the seconds.
  seconds += nanos / NANOS_PER_SECOND;
  nanos %= NANOS_PER_SECOND;
  if (nanos < 0n) {
    nanos += NANOS_PER_SECOND;
    seconds -= 1n;
  }
  if (seconds === GO_ZERO_TIME_SECONDS && nanos === 0n) return null;
  if (seconds < MIN_SECONDS || seconds > MAX_SECONDS) throw new ProtobufWireError(`a time of ${seconds} seconds lies outside the years 0 to 9999`);
  const iso = rfc3339Milli(Number(seconds) * 1000);
  // Years 0..9999 always print as four digits, so the first 19 characters are the date and time.
  const whole = iso.slice(0, 19);
  return micro ? `${whole}.${String(nanos / 1000n).padStart(6, '0')}Z` : `${whole}Z`;
}

/** Go's `time.Duration.String()`: `1h2m3.5s`, `150ms`, `0s`. */
export function formatGoDuration(nanoseconds: bigint): string {
  if (nanoseconds === 0n) return '0s';
  const negative = nanoseconds < 0n;
  let u = negative ? -nanoseconds : nanoseconds;
  let text: string;
  if (u < NANOS_PER_SECOND) {
    if (u < 1_000n) text = `${u}ns`;
    else if (u < 1_000_000n) text = `${fraction(u, 3)}µs`;
    else text = `${fraction(u, 6)}ms`;
  } else {
    text = `${fraction(u % (60n * NANOS_PER_SECOND), 9)}s`;
    u /= 60n * NANOS_PER_SECOND;
    if (u > 0n) {
      text = `${u % 60n}m${text}`;
      u /= 60n;
      if (u > 0n) text = `${u}h${text}`;
    }
  }
  return negative ? `-${text}` : text;
}

/** `v / 10^digits` as a decimal with the fraction's trailing zeros (and a bare point) dropped. */
function fraction(v: bigint, digits: number): string {
  const scale = 10n ** BigInt(digits);
  const whole = v / scale;
  const frac = (v % scale).toString().padStart(digits, '0').replace(/0+$/, '');
  return frac === '' ? `${whole}` : `${whole}.${frac}`;
}

/** Raw JSON text held in bytes (`RawExtension`, `FieldsV1`, apiextensions `JSON`): `null` when empty. */
function embeddedJson(d: Decoder, raw: Uint8Array, what: string, depth: number): JsonValue {
  if (raw.length === 0) return null;
  if (raw.length >= KUBERNETES_PROTOBUF_MAGIC.length && KUBERNETES_PROTOBUF_MAGIC.every((b, i) => raw[i] === b)) return d.body(raw, depth).object;
  try {
    return JSON.parse(utf8.decode(raw)) as JsonValue;
  } catch (err) {
    throw new ProtobufWireError(`${what} does not hold valid JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** Schema fields of apiextensions' union types, decoded as whole messages. */
function schemaOf(d: Decoder, c: Collected | undefined, depth: number): JsonValue | undefined {
  if (c === undefined || c.values.length === 0) return undefined;
  return d.message(concat(c.values), 'apiextensions.v1.JSONSchemaProps', depth + 1);
}

function schemaList(d: Decoder, c: Collected | undefined, depth: number): JsonValue[] {
  return (c?.values ?? []).map((v) => d.message(asBytes(v, 'schema'), 'apiextensions.v1.JSONSchemaProps', depth + 1));
}

/** Messages whose Go type writes custom JSON. */
const SPECIALS: ReadonlyMap<string, Special> = new Map<string, Special>([
  ['meta.v1.Time', (_d, f, bytes) => timeJson(f, bytes, false)],
  ['meta.v1.MicroTime', (_d, f, bytes) => timeJson(f, bytes, true)],
  ['meta.v1.Duration', (_d, f) => formatGoDuration(toInt64(lastVarint(f.get(1))))],
  ['meta.v1.FieldsV1', (d, f, _b, depth) => embeddedJson(d, lastBytes(f.get(1)), 'fieldsV1', depth)],
  ['runtime.RawExtension', (d, f, _b, depth) => embeddedJson(d, lastBytes(f.get(1)), 'an embedded object', depth)],
  ['apiextensions.v1.JSON', (d, f, _b, depth) => embeddedJson(d, lastBytes(f.get(1)), 'a JSON value', depth)],
  // A zero Quantity is written as "0".
  ['resource.Quantity', (_d, f) => stringOf(f.get(1)) || '0'],
  [
    'intstr.IntOrString',
    (_d, f) => {
      const type = toInt64(lastVarint(f.get(1)));
      if (type === 0n) return toInt32(lastVarint(f.get(2)));
      if (type === 1n) return stringOf(f.get(3));
      throw new ProtobufWireError(`an IntOrString has the unknown type ${type}`);
    },
  ],
  [
    'apiextensions.v1.JSONSchemaPropsOrArray',
    (d, f, _b, depth) => {
      const list = schemaList(d, f.get(2), depth);
      if (list.length > 0) return list;
      return schemaOf(d, f.get(1), depth) ?? null;
    },
  ],
  [
    'apiextensions.v1.JSONSchemaPropsOrBool',
    (d, f, _b, depth) => schemaOf(d, f.get(2), depth) ?? lastVarint(f.get(1)) !== 0n,
  ],
  [
    'apiextensions.v1.JSONSchemaPropsOrStringArray',
    (d, f, _b, depth) => {
      const property = (f.get(2)?.values ?? []).map((v) => utf8.decode(asBytes(v, 'property')));
      if (property.length > 0) return property;
      return schemaOf(d, f.get(1), depth) ?? null;
    },
  ],
]);
