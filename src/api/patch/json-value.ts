/**
 * Small operations on decoded JSON that every patch flavour needs. Keys come from request bodies,
 * so every read and write goes through own-property helpers: a key such as `__proto__` or
 * `constructor` is data, never a path into `Object.prototype`.
 */
import type { JsonObject, JsonValue } from '../object.ts';

/** True for a JSON object (not an array, not null). */
export function isObject(v: JsonValue | undefined): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The value of `key` if `obj` has it as an own property. */
export function getOwn(obj: JsonObject, key: string): JsonValue | undefined {
  return Object.hasOwn(obj, key) ? obj[key] : undefined;
}

/** Sets `key` as an own data property, even when `key` is `__proto__`. */
export function setOwn(obj: JsonObject, key: string, value: JsonValue): void {
  if (key === '__proto__') Object.defineProperty(obj, key, { value, writable: true, enumerable: true, configurable: true });
  else obj[key] = value;
}

/** Removes `key` if present. */
export function deleteOwn(obj: JsonObject, key: string): void {
  if (Object.hasOwn(obj, key)) delete obj[key];
}

/** A deep copy that shares nothing with `v`. */
export function cloneJson<T extends JsonValue>(v: T): T {
  if (Array.isArray(v)) return v.map((e) => cloneJson(e)) as T;
  if (isObject(v)) {
    const out: JsonObject = {};
    for (const [k, e] of Object.entries(v)) setOwn(out, k, cloneJson(e));
    return out as T;
  }
  return v;
}

/** JSON equality: numbers by value, objects regardless of key order, arrays in order. */
export function jsonEqual(a: JsonValue, b: JsonValue): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((e, i) => jsonEqual(e, b[i]!));
  if (isObject(a)) {
    if (!isObject(b)) return false;
    const keys = Object.keys(a);
    if (keys.length !== Object.keys(b).length) return false;
    return keys.every((k) => Object.hasOwn(b, k) && jsonEqual(a[k]!, b[k]!));
  }
  return false;
}

/** `object`, `array`, `string`, `number`, `boolean` or `null`: what an error message calls a value. */
export function jsonKind(v: JsonValue | undefined): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}
