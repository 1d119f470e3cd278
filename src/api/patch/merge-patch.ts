/**
 * JSON Merge Patch (RFC 7386), as `application/merge-patch+json` requests carry it: objects merge
 * recursively, `null` deletes a member, anything else (arrays included) replaces what was there.
 */
import { apiErrors } from '../errors.ts';
import type { JsonObject, JsonValue } from '../object.ts';
import { cloneJson, deleteOwn, getOwn, isObject, jsonKind, setOwn } from './json-value.ts';

/**
 * RFC 7386 `MergePatch(target, patch)`. `target` may be undefined (no value yet). Neither input is
 * changed, and the result shares nothing with them.
 */
export function jsonMergePatch(target: JsonValue | undefined, patch: JsonValue): JsonValue {
  return mergeInto(target === undefined ? undefined : cloneJson(target), patch);
}

/** The merge on a `target` this module owns (a copy), so it can be changed in place. */
function mergeInto(target: JsonValue | undefined, patch: JsonValue): JsonValue {
  if (!isObject(patch)) return cloneJson(patch);
  const result: JsonObject = isObject(target) ? target : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) deleteOwn(result, key);
    else setOwn(result, key, mergeInto(getOwn(result, key), value));
  }
  return result;
}

/**
 * Merge-patches a Kubernetes object. The patch must itself be an object: anything else would
 * replace the whole object, which kube-apiserver rejects too.
 *
 * @throws ApiError 400 BadRequest when `patch` is not a JSON object.
 */
export function mergePatchObject(original: JsonObject, patch: JsonValue): JsonObject {
  if (!isObject(patch)) throw apiErrors.badRequest(`invalid JSON merge patch: the patch must be a JSON object, got ${jsonKind(patch)}`);
  return jsonMergePatch(original, patch) as JsonObject;
}
