/**
 * A minimal protobuf encoder for tests: builds messages field by field, so tests can state the
 * exact bytes a Go client would send (and bytes no client would send).
 */
import { KUBERNETES_PROTOBUF_MAGIC } from './decode.ts';

/** One encoded field (key and value), or several concatenated. */
export type Encoded = Uint8Array;

/** The varint bytes of an unsigned 64-bit value; negative numbers use two's complement (10 bytes). */
export function varintBytes(value: number | bigint): Uint8Array {
  let v = BigInt.asUintN(64, BigInt(value));
  const out: number[] = [];
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v !== 0n) b |= 0x80;
    out.push(b);
  } while (v !== 0n);
  return Uint8Array.from(out);
}

export function join(...parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function key(field: number, wireType: number): Uint8Array {
  return varintBytes((field << 3) | wireType);
}

/** A varint field (int32, int64, bool, enum). */
export function varint(field: number, value: number | bigint | boolean): Encoded {
  return join(key(field, 0), varintBytes(typeof value === 'boolean' ? (value ? 1 : 0) : value));
}

/** A length-delimited field holding these bytes. */
export function bytes(field: number, value: Uint8Array): Encoded {
  return join(key(field, 2), varintBytes(value.length), value);
}

/** A string field. */
export function string(field: number, value: string): Encoded {
  return bytes(field, new TextEncoder().encode(value));
}

/** A message field made of the given encoded fields. */
export function message(field: number, ...fields: readonly Encoded[]): Encoded {
  return bytes(field, join(...fields));
}

/** A double field (wire type 1, little-endian). */
export function double(field: number, value: number): Encoded {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setFloat64(0, value, true);
  return join(key(field, 1), b);
}

/** A packed run of varints in one length-delimited field. */
export function packed(field: number, values: readonly (number | bigint)[]): Encoded {
  return bytes(field, join(...values.map((v) => varintBytes(v))));
}

/** A `map<string, …>` entry field: key as field 1, value as field 2 (already encoded as field 2). */
export function entry(field: number, mapKey: string, value?: Encoded): Encoded {
  return message(field, string(1, mapKey), ...(value === undefined ? [] : [value]));
}

/** A whole request body: `k8s\0` and a `runtime.Unknown` naming the kind, around the object's fields. */
export function body(apiVersion: string, kind: string, ...objectFields: readonly Encoded[]): Uint8Array {
  return join(KUBERNETES_PROTOBUF_MAGIC, message(1, string(1, apiVersion), string(2, kind)), bytes(2, join(...objectFields)), string(3, ''), string(4, ''));
}
