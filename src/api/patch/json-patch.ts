/**
 * JSON Patch (RFC 6902), as `application/json-patch+json` requests carry it. Decoding and applying
 * are separate steps because kube-apiserver answers them differently: a body that is not a list of
 * operation objects is a 400, too many operations a 413 (checked before the object is read), and a
 * patch that does not apply to the object a 422 Invalid.
 */
import { ApiError, apiErrors } from '../errors.ts';
import type { JsonValue } from '../object.ts';
import { arrayIndex, parseJsonPointer } from './json-pointer.ts';
import { cloneJson, getOwn, isObject, jsonEqual, jsonKind, setOwn } from './json-value.ts';
import { tooManyPatchOperations } from './patch-errors.ts';

/** kube-apiserver's `maxJSONPatchOperations`. */
export const MAX_JSON_PATCH_OPERATIONS = 10_000;

/** One decoded operation; pointers are kept as written, for messages. */
export type JsonPatchOperation =
  | { readonly op: 'add' | 'replace' | 'test'; readonly path: string; readonly value: JsonValue }
  | { readonly op: 'remove'; readonly path: string }
  | { readonly op: 'move' | 'copy'; readonly from: string; readonly path: string };

const OPERATIONS = ['add', 'remove', 'replace', 'move', 'copy', 'test'] as const;

/**
 * A JSON patch operation that is malformed or does not apply: 422 Invalid, naming the operation
 * and its path.
 */
export class JsonPatchError extends ApiError {
  /** Position of the failing operation in the patch, from 0. */
  readonly operationIndex: number;

  constructor(operationIndex: number, operationCount: number, detail: string) {
    super('API_INVALID', 422, 'Invalid', operationCount > 1 ? `${detail} (operation at index ${operationIndex})` : detail);
    this.operationIndex = operationIndex;
  }
}

/**
 * Checks the shape of a JSON patch and returns its operations.
 *
 * @throws ApiError 400 BadRequest when `patch` is not an array of objects.
 * @throws ApiError 413 RequestEntityTooLarge for more than `maxOperations` operations.
 * @throws JsonPatchError (422) for an operation with an unknown `op`, a missing or malformed
 *   `path`/`from`, or a missing `value`, as kube-apiserver reports those when applying.
 */
export function decodeJsonPatch(patch: JsonValue, maxOperations = MAX_JSON_PATCH_OPERATIONS): JsonPatchOperation[] {
  if (!Array.isArray(patch)) throw apiErrors.badRequest(`a JSON patch must be an array of operations, got ${jsonKind(patch)}`);
  patch.forEach((op, i) => {
    if (!isObject(op)) throw apiErrors.badRequest(`a JSON patch operation must be an object, got ${jsonKind(op)} at index ${i}`);
  });
  if (patch.length > maxOperations) throw tooManyPatchOperations(patch.length, maxOperations);
  return patch.map((raw, i) => decodeOperation(raw as Record<string, JsonValue>, i, patch.length));
}

function decodeOperation(raw: Record<string, JsonValue>, index: number, count: number): JsonPatchOperation {
  const fail = (detail: string): never => {
    throw new JsonPatchError(index, count, detail);
  };
  const op = getOwn(raw, 'op');
  if (typeof op !== 'string' || !(OPERATIONS as readonly string[]).includes(op)) {
    return fail(`unexpected operation ${JSON.stringify(op ?? null)}: "op" must be one of ${OPERATIONS.join(', ')}`);
  }
  const pointer = (field: 'path' | 'from'): string => {
    const p = getOwn(raw, field);
    if (typeof p !== 'string') return fail(`${op} operation is missing the string "${field}"`);
    if (parseJsonPointer(p) === undefined) return fail(`${op} operation has an invalid JSON pointer in "${field}": ${JSON.stringify(p)}`);
    return p;
  };
  const path = pointer('path');
  switch (op) {
    case 'remove':
      return { op, path };
    case 'move':
    case 'copy':
      return { op, from: pointer('from'), path };
    default: {
      const value = getOwn(raw, 'value');
      if (value === undefined) return fail(`${op} operation is missing "value"`);
      return { op: op as 'add' | 'replace' | 'test', path, value };
    }
  }
}

/** The document being patched; a holder so that operations on the root pointer can replace it. */
interface Target {
  root: JsonValue;
}

/** The value at `tokens`, or undefined when there is none. */
function valueAt(root: JsonValue, tokens: readonly string[]): JsonValue | undefined {
  let current: JsonValue | undefined = root;
  for (const token of tokens) {
    if (isObject(current)) current = getOwn(current, token);
    else if (Array.isArray(current)) {
      const i = arrayIndex(token);
      current = i !== undefined && i < current.length ? current[i] : undefined;
    } else return undefined;
  }
  return current;
}

/**
 * Applies decoded operations in order to a copy of `document`; `document` itself is never changed,
 * and nothing of the result is shared with it or with the patch.
 *
 * @throws JsonPatchError (422) for the first operation that does not apply, e.g.
 *   `replace operation does not apply: doc is missing path: "/spec/x"` or
 *   `testing value /metadata/resourceVersion failed: test failed`.
 */
export function applyJsonPatch(document: JsonValue, operations: readonly JsonPatchOperation[]): JsonValue {
  const target: Target = { root: cloneJson(document) };
  operations.forEach((op, i) => applyOperation(target, op, (detail) => new JsonPatchError(i, operations.length, detail)));
  return target.root;
}

type Failure = (detail: string) => JsonPatchError;

function applyOperation(target: Target, op: JsonPatchOperation, failure: Failure): void {
  // Pointers were checked when decoding.
  const path = parseJsonPointer(op.path)!;
  switch (op.op) {
    case 'add':
      return add(target, path, cloneJson(op.value), op.op, op.path, failure);
    case 'remove':
      remove(target, path, op.op, op.path, failure);
      return;
    case 'replace':
      return replace(target, path, cloneJson(op.value), op.path, failure);
    case 'test':
      return test(target, path, op.value, op.path, failure);
    case 'move': {
      const from = parseJsonPointer(op.from)!;
      if (valueAt(target.root, from) === undefined) throw missingPath(op.op, op.from, failure, 'from path');
      if (op.from === op.path) return;
      // RFC 6902 §4.4: a location cannot be moved into one of its own children.
      if (from.length < path.length && from.every((t, i) => t === path[i])) {
        throw failure(`move operation does not apply: cannot move ${JSON.stringify(op.from)} into its own child ${JSON.stringify(op.path)}`);
      }
      const value = remove(target, from, op.op, op.from, failure);
      return add(target, path, value, op.op, op.path, failure);
    }
    case 'copy': {
      const value = valueAt(target.root, parseJsonPointer(op.from)!);
      if (value === undefined) throw missingPath(op.op, op.from, failure, 'from path');
      return add(target, path, cloneJson(value), op.op, op.path, failure);
    }
  }
}

function outOfBounds(op: string, token: string, pointer: string, failure: Failure): JsonPatchError {
  return failure(`${op} operation does not apply: index ${JSON.stringify(token)} is out of bounds at ${JSON.stringify(pointer)}`);
}

function missingPath(op: string, pointer: string, failure: Failure, which = 'path'): JsonPatchError {
  return failure(`${op} operation does not apply: doc is missing ${which}: ${JSON.stringify(pointer)}`);
}

/** Adds a member, inserts into an array (`-` appends) or, at the root, replaces the document. */
function add(target: Target, tokens: string[], value: JsonValue, op: string, pointer: string, failure: Failure): void {
  if (tokens.length === 0) {
    target.root = value;
    return;
  }
  const last = tokens[tokens.length - 1]!;
  const parent = valueAt(target.root, tokens.slice(0, -1));
  if (isObject(parent)) {
    setOwn(parent, last, value);
  } else if (Array.isArray(parent)) {
    const i = last === '-' ? parent.length : arrayIndex(last);
    if (i === undefined || i > parent.length) throw outOfBounds(op, last, pointer, failure);
    parent.splice(i, 0, value);
  } else {
    throw missingPath(op, pointer, failure);
  }
}

/** Removes and returns the value at `tokens`, which must exist. */
function remove(target: Target, tokens: string[], op: string, pointer: string, failure: Failure): JsonValue {
  if (tokens.length === 0) throw failure(`${op} operation does not apply: the document root cannot be removed`);
  const last = tokens[tokens.length - 1]!;
  const parent = valueAt(target.root, tokens.slice(0, -1));
  if (isObject(parent)) {
    const value = getOwn(parent, last);
    if (value === undefined) throw missingPath(op, pointer, failure);
    delete parent[last];
    return value;
  }
  if (Array.isArray(parent)) {
    const i = arrayIndex(last);
    if (i === undefined || i >= parent.length) throw outOfBounds(op, last, pointer, failure);
    return parent.splice(i, 1)[0]!;
  }
  throw missingPath(op, pointer, failure);
}

/** Replaces the value at `tokens`, which must exist. */
function replace(target: Target, tokens: string[], value: JsonValue, pointer: string, failure: Failure): void {
  if (tokens.length === 0) {
    target.root = value;
    return;
  }
  const last = tokens[tokens.length - 1]!;
  const parent = valueAt(target.root, tokens.slice(0, -1));
  if (isObject(parent) && Object.hasOwn(parent, last)) {
    setOwn(parent, last, value);
  } else if (Array.isArray(parent)) {
    const i = arrayIndex(last);
    if (i === undefined || i >= parent.length) throw outOfBounds('replace', last, pointer, failure);
    parent[i] = value;
  } else {
    throw missingPath('replace', pointer, failure);
  }
}

/**
 * Compares the value at `tokens` with `expected`. As in the json-patch library Kubernetes uses, an
 * absent member of an existing object tests equal to `null`, so `{"op":"test","value":null}` can
 * assert that an annotation is not set.
 */
function test(target: Target, tokens: string[], expected: JsonValue, pointer: string, failure: Failure): void {
  const actual = valueAt(target.root, tokens);
  if (actual === undefined) {
    const parent = valueAt(target.root, tokens.slice(0, -1));
    if (tokens.length > 0 && isObject(parent) && expected === null) return;
    throw missingPath('test', pointer, failure);
  }
  if (!jsonEqual(actual, expected)) throw failure(`testing value ${pointer} failed: test failed`);
}
