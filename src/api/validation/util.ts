/**
 * Small helpers shared by the validators: defensive readers for JSON that may not have the shape
 * its type promises, and the field errors Kubernetes builds the same way in many places.
 */
import { fieldErrors, type FieldError } from '../field-error.ts';
import { isJsonObject } from '../object.ts';

/** `v` when it is an array, else an empty one (a wrong type was already reported by the schema check). */
export function list<T>(v: readonly T[] | null | undefined): readonly T[] {
  return Array.isArray(v) ? (v as readonly T[]) : [];
}

/** `v` when it is a plain object, else an empty one. */
export function record<T = unknown>(v: unknown): Readonly<Record<string, T>> {
  return isJsonObject(v) ? (v as Record<string, T>) : {};
}

/**
 * `v` seen as a `T` whose fields may all be absent: a plain object stays as it is, anything else
 * becomes `{}`. Lets validators read typed objects without trusting the JSON they came from.
 */
export function shape<T extends object>(v: unknown): T {
  return (isJsonObject(v) ? v : {}) as T;
}

/** True when `v` is a plain object, keeping its declared type (unlike `isJsonObject`). */
export function isObject<T>(v: T | null | undefined): v is T {
  return isJsonObject(v);
}

/** `v` when it is a string, else `''` (Go's zero value, which is what Kubernetes would see). */
export function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

/** `v` when it is a number, else 0. */
export function num(v: unknown): number {
  return typeof v === 'number' ? v : 0;
}

/** Entries sorted by key, so errors come out in a stable order (Go's map order is random). */
export function sortedEntries<T>(r: Readonly<Record<string, T>> | null | undefined): [string, T][] {
  return Object.entries(record<T>(r)).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** Kubernetes' message for `field.Invalid` on an immutable field. */
export const FIELD_IMMUTABLE = 'field is immutable';

/** `isNegativeErrorMsg`. */
export const MUST_BE_NON_NEGATIVE = 'must be greater than or equal to 0';

/** `ValidateNonnegativeField`. */
export function nonNegative(value: number | undefined | null, path: string): FieldError[] {
  return typeof value === 'number' && value < 0 ? [fieldErrors.invalid(path, value, MUST_BE_NON_NEGATIVE)] : [];
}

/** Each message as an Invalid error on `path` with `value` (the `for _, msg := range ...` idiom). */
export function invalidEach(path: string, value: unknown, messages: readonly string[]): FieldError[] {
  return messages.map((m) => fieldErrors.invalid(path, value, m));
}

/** `field.NotFound`: `spec.containers[0].volumeMounts[0].name: Not found: "data"`. */
export function notFound(path: string, value: unknown): FieldError {
  return fieldErrors.notFound(path, value);
}

/**
 * `apiequality.Semantic.DeepEqual` for JSON: as in Go, a missing (nil) list or map equals an empty
 * one, so `[]` vs absent is not a change.
 */
export function semanticEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (isEmpty(a) && isEmpty(b)) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => semanticEqual(x, b[i]));
  if (isJsonObject(a) && isJsonObject(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const k of keys) if (!semanticEqual(a[k], b[k])) return false;
    return true;
  }
  return false;
}

function isEmpty(v: unknown): boolean {
  return v === undefined || v === null || (Array.isArray(v) && v.length === 0) || (isJsonObject(v) && Object.keys(v).length === 0);
}

/** `ValidateImmutableField`: `field is immutable` when the value changed. */
export function immutable(value: unknown, old: unknown, path: string): FieldError[] {
  return semanticEqual(value, old) ? [] : [fieldErrors.invalid(path, value, FIELD_IMMUTABLE)];
}
