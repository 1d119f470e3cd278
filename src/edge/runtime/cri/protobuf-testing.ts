/**
 * Test helpers for the codec of protobuf.ts: random values of any message type (seeded, so a
 * failure repeats) and the shape a value takes after a round trip. Not used by production code.
 */
import type { FieldType, MessageType } from './protobuf.ts';

/** A seeded PRNG (mulberry32): the same seed, the same values. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const WORDS = ['', 'a', 'kedge', 'io.kubernetes.pod.name', 'sha256:4f1d', 'ünïcödé ✓', '/var/log/pods/ns_p_uid/c/0.log', 'x'.repeat(300)];

function scalar(t: string, r: () => number): unknown {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  switch (t) {
    case 'string':
      return pick(WORDS);
    case 'bytes':
      return Buffer.from(Array.from({ length: pick([0, 1, 7, 200]) }, () => Math.floor(r() * 256)));
    case 'bool':
      return r() < 0.5;
    case 'int32':
      return pick([0, 1, -1, 127, 128, 2 ** 31 - 1, -(2 ** 31), Math.floor(r() * 2 ** 31) * (r() < 0.5 ? -1 : 1)]);
    case 'uint32':
      return pick([0, 1, 127, 128, 2 ** 32 - 1, Math.floor(r() * 2 ** 32)]);
    case 'int64':
      // Nanosecond timestamps are past 2^60; values stay within 2^53, where numbers are exact.
      return pick([0, 1, -1, 2 ** 32 + 5, -(2 ** 40), Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, 1_700_000_000_123_456, Math.floor(r() * 2 ** 53)]);
    case 'uint64':
      return pick([0, 1, 2 ** 32, Number.MAX_SAFE_INTEGER, Math.floor(r() * 2 ** 53)]);
    default:
      throw new Error(`no scalar ${t}`);
  }
}

function one(t: FieldType['type'], r: () => number, depth: number): unknown {
  if (typeof t === 'string') return scalar(t, r);
  if ('numbers' in t) {
    const names = [...t.numbers.keys()];
    return names[Math.floor(r() * names.length)];
  }
  return randomValue(t, r, depth + 1);
}

/**
 * A value of `type` with a random subset of its fields set (nested messages, lists and maps
 * included, down to a few levels).
 */
export function randomValue(type: MessageType, r: () => number, depth = 0): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of type.fields) {
    if (r() < 0.25) continue;
    if (f.label === 'single') {
      if (typeof f.type !== 'string' && 'fields' in f.type && depth > 4) continue;
      out[f.name] = one(f.type, r, depth);
    } else {
      const n = depth > 3 ? 0 : Math.floor(r() * 4);
      if (f.label === 'repeated') out[f.name] = Array.from({ length: n }, () => one(f.type, r, depth));
      else out[f.name] = Object.fromEntries(Array.from({ length: n }, (_, i) => [`${String(scalar('string', r))}${i}`, one(f.type, r, depth)]));
    }
  }
  return out;
}

/** What `value` decodes to after a round trip: every field present, absent ones at their zero value. */
export function normalized(type: MessageType, value: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const norm = (t: FieldType['type'], v: unknown): unknown => (typeof t !== 'string' && 'fields' in t ? normalized(t, v as Record<string, unknown>) : v);
  for (const f of type.fields) {
    const v = value[f.name];
    if (f.label === 'repeated') out[f.name] = ((v as unknown[] | undefined) ?? []).map((x) => norm(f.type, x));
    else if (f.label === 'map') out[f.name] = Object.fromEntries(Object.entries((v as Record<string, unknown> | undefined) ?? {}).map(([k, x]) => [k, norm(f.type, x)]));
    else if (v !== undefined) out[f.name] = norm(f.type, v);
    else out[f.name] = zero(f.type);
  }
  return out;
}

function zero(t: FieldType['type']): unknown {
  if (typeof t !== 'string') return 'fields' in t ? null : t.names.get(0);
  return t === 'string' ? '' : t === 'bytes' ? Buffer.alloc(0) : t === 'bool' ? false : 0;
}
