/**
 * Strategic merge patch (`application/strategic-merge-patch+json`), applied as kube-apiserver
 * applies it (`strategicpatch.StrategicMergeMapPatch`): JSON merge patch, except where the schema
 * gives a field a patch strategy.
 *
 * - Lists with strategy `merge` and a merge key (containers by `name`, ports by `containerPort`)
 *   merge element by element; lists of scalars with strategy `merge` (finalizers) merge as sets.
 *   Other lists are replaced whole. Maps merge key by key unless their strategy is `replace`.
 * - `null` deletes a key.
 * - Directives: `$patch: replace | delete` on a map (and `merge`, the default, accepted
 *   explicitly); `{$patch: delete, <mergeKey>: v}` and `{$patch: replace}` as list elements;
 *   `$deleteFromPrimitiveList/<field>: [...]`; `$retainKeys: [...]`; `$setElementOrder/<field>`.
 *
 * Order of a merged list, as apimachinery computes it: the elements the patch names (or
 * `$setElementOrder` names) keep that order, the other elements keep the original order, and the
 * two are interleaved: an original element is placed first only when the original list had it
 * before the next patch element. An element new to the list is therefore placed before the original
 * elements not yet placed, so a container added by `kubectl patch` lands first, as it does with
 * kube-apiserver. (`kubectl apply` sends `$setElementOrder`, which pins the order it wants.)
 *
 * Where apimachinery keeps raw patch content (a `$patch: replace` map, a new map or list with
 * directives or `null`s inside, a deletion from a list that does not exist), kedge applies the
 * patch to an empty value instead, so the result never contains directives or `null` members.
 */
import { apiErrors, type ApiError } from '../errors.ts';
import type { JsonObject, JsonValue } from '../object.ts';
import type { SchemaNode, SchemaResolver } from '../schema/schema-node.ts';
import { cloneJson, deleteOwn, getOwn, isObject, jsonEqual, jsonKind, setOwn } from './json-value.ts';
import { patchNotApplicable } from './patch-errors.ts';
import { fieldMergeMeta, itemMergeMeta, mergeMetaOf, type FieldMergeMeta } from './schema-meta.ts';

const DIRECTIVE = '$patch';
const RETAIN_KEYS = '$retainKeys';
const SET_ELEMENT_ORDER = '$setElementOrder';
const DELETE_FROM_PRIMITIVE_LIST = '$deleteFromPrimitiveList';

/**
 * Applies `patch` to `original` (both JSON objects) as a strategic merge patch, reading patch
 * strategies from `schema` (the object's definition) through `resolver`. Neither input is changed
 * and the result shares nothing with them.
 *
 * @throws ApiError 400 BadRequest for a malformed patch: not an object, an unknown `$patch`
 *   value, a list element without its merge key, malformed `$retainKeys`, `$setElementOrder` or
 *   `$deleteFromPrimitiveList` directives, or mixed element types in a merged list.
 * @throws ApiError 422 Invalid for a list of lists in a merged list, as kube-apiserver answers.
 */
export function strategicMergePatch(original: JsonValue, patch: JsonValue, schema: SchemaNode, resolver: SchemaResolver): JsonValue {
  if (!isObject(patch)) throw apiErrors.badRequest(`invalid JSON document: a strategic merge patch must be a JSON object, got ${jsonKind(patch)}`);
  if (!isObject(original)) throw apiErrors.badRequest(`invalid JSON document: only a JSON object can be strategic-merge patched, got ${jsonKind(original)}`);
  return mergeMap({ resolver }, cloneJson(original), patch, mergeMetaOf(schema, resolver).schema, '');
}

interface Context {
  readonly resolver: SchemaResolver;
}

function childPath(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

function where(path: string): string {
  return path === '' ? 'the object' : JSON.stringify(path);
}

function show(v: unknown): string {
  return JSON.stringify(v);
}

function unknownPatchType(directive: JsonValue, map: JsonObject): ApiError {
  return apiErrors.badRequest(`unknown patch type: ${show(directive)} in map: ${show(map)}`);
}

function missingMergeKey(map: JsonObject, mergeKey: string): ApiError {
  return apiErrors.badRequest(`map: ${show(map)} does not contain declared merge key: ${mergeKey}`);
}

/** The field a parallel-list directive key names: `$setElementOrder/containers` → `containers`. */
function directiveTarget(key: string, prefix: string): string | undefined {
  return key.startsWith(`${prefix}/`) ? key.slice(prefix.length + 1) : undefined;
}

function isDirectiveKey(key: string): boolean {
  return key === DIRECTIVE || key === RETAIN_KEYS || key.startsWith(SET_ELEMENT_ORDER) || key.startsWith(DELETE_FROM_PRIMITIVE_LIST);
}

function without(map: JsonObject, key: string): JsonObject {
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(map)) if (k !== key) setOwn(out, k, v);
  return out;
}

/**
 * Merges `patch` into `original`, which this module owns and changes in place; returns the result
 * (`original`, or a fresh map for `$patch: replace | delete`).
 */
function mergeMap(ctx: Context, original: JsonObject, patch: JsonObject, schema: SchemaNode | undefined, path: string): JsonObject {
  const directive = getOwn(patch, DIRECTIVE);
  if (directive !== undefined) {
    if (directive === 'delete') return {};
    if (directive === 'replace') return mergeMap(ctx, {}, without(patch, DIRECTIVE), schema, path);
    if (directive !== 'merge') throw unknownPatchType(directive, patch);
  }
  retainKeys(original, patch, path);
  const ordered = setElementOrders(ctx, original, patch, schema, path);
  deleteFromPrimitiveLists(original, patch, path);
  for (const [key, value] of Object.entries(patch)) {
    if (isDirectiveKey(key) || ordered.has(key)) continue;
    if (value === null) {
      deleteOwn(original, key);
      continue;
    }
    const meta = fieldMergeMeta(schema, key, ctx.resolver);
    setOwn(original, key, mergeValue(ctx, getOwn(original, key), value, meta, childPath(path, key)));
  }
  return original;
}

/** The merged value of one field; `original` (owned) is undefined when the field is new. */
function mergeValue(ctx: Context, original: JsonValue | undefined, patch: JsonValue, meta: FieldMergeMeta, path: string): JsonValue {
  if (isObject(patch)) {
    const base = meta.strategy !== 'replace' && isObject(original) ? original : {};
    return mergeMap(ctx, base, patch, meta.schema, path);
  }
  if (Array.isArray(patch)) {
    return meta.strategy === 'merge' ? mergeList(ctx, Array.isArray(original) ? original : [], patch, meta, path) : cloneJson(patch);
  }
  return patch;
}

/**
 * `$retainKeys: [...]`: clears every field of `original` the list does not name. Every field the
 * patch sets must be in the list.
 */
function retainKeys(original: JsonObject, patch: JsonObject, path: string): void {
  const list = getOwn(patch, RETAIN_KEYS);
  if (list === undefined) return;
  if (!Array.isArray(list)) throw apiErrors.badRequest(`invalid patch format of retainKeys: $retainKeys of ${where(path)} must be a list, got ${jsonKind(list)}`);
  const keep = new Set(list.filter((k) => typeof k === 'string'));
  for (const [key, value] of Object.entries(patch)) {
    if (value === null || key === RETAIN_KEYS || key === DIRECTIVE || key.startsWith(SET_ELEMENT_ORDER) || key.startsWith(DELETE_FROM_PRIMITIVE_LIST)) continue;
    if (!keep.has(key)) throw apiErrors.badRequest(`invalid patch format of retainKeys: the patch sets ${show(key)} in ${where(path)}, which $retainKeys does not list`);
  }
  for (const key of Object.keys(original)) if (!keep.has(key)) deleteOwn(original, key);
}

/** `$deleteFromPrimitiveList/<field>: [...]`: removes those values from the list in `original`. */
function deleteFromPrimitiveLists(original: JsonObject, patch: JsonObject, path: string): void {
  for (const [key, values] of Object.entries(patch)) {
    if (!key.startsWith(DELETE_FROM_PRIMITIVE_LIST)) continue;
    const field = directiveTarget(key, DELETE_FROM_PRIMITIVE_LIST);
    if (field === undefined || !Array.isArray(values)) {
      throw apiErrors.badRequest(`invalid patch format of primitive list: ${show(key)} in ${where(path)} must be "${DELETE_FROM_PRIMITIVE_LIST}/<field>" with a list value`);
    }
    const list = getOwn(original, field);
    // Deleting from a list that does not exist changes nothing.
    if (Array.isArray(list)) setOwn(original, field, list.filter((e) => !values.some((v) => jsonEqual(v, e))));
  }
}

/** How list elements are identified: by merge key for objects of a keyed list, by value otherwise. */
type Identify = (item: JsonValue) => JsonValue | undefined;

function identifier(mergeKey: string | undefined): Identify {
  return (item) => (mergeKey !== undefined && isObject(item) ? getOwn(item, mergeKey) : item);
}

function indexIn(list: readonly JsonValue[], item: JsonValue, id: Identify): number {
  const wanted = id(item);
  if (wanted === undefined) return -1;
  return list.findIndex((x) => {
    const candidate = id(x);
    return candidate !== undefined && jsonEqual(candidate, wanted);
  });
}

/**
 * apimachinery's `normalizeElementOrder`: `merged` split into the items `patchOrder` names (in its
 * order) and the others (in `serverOrder`), then interleaved: a server item goes first only when
 * the server list orders it before the next patch item.
 */
function orderList(merged: readonly JsonValue[], patchOrder: readonly JsonValue[], serverOrder: readonly JsonValue[], id: Identify): JsonValue[] {
  const byIndexIn = (list: readonly JsonValue[]) => (a: JsonValue, b: JsonValue) => rank(indexIn(list, a, id)) - rank(indexIn(list, b, id));
  const patchItems = merged.filter((x) => indexIn(patchOrder, x, id) >= 0).sort(byIndexIn(patchOrder));
  const serverOnly = merged.filter((x) => indexIn(patchOrder, x, id) < 0).sort(byIndexIn(serverOrder));
  const out: JsonValue[] = [];
  let i = 0;
  let j = 0;
  while (i < serverOnly.length || j < patchItems.length) {
    if (i >= serverOnly.length) out.push(patchItems[j++]!);
    else if (j >= patchItems.length) out.push(serverOnly[i++]!);
    else {
      const left = indexIn(serverOrder, serverOnly[i]!, id);
      const right = indexIn(serverOrder, patchItems[j]!, id);
      out.push(left >= 0 && right >= 0 && left < right ? serverOnly[i++]! : patchItems[j++]!);
    }
  }
  return out;
}

/** Unknown positions sort last (the sort is stable). */
function rank(index: number): number {
  return index < 0 ? Number.MAX_SAFE_INTEGER : index;
}

/** The one element kind of a merged list; lists of lists and mixed kinds are rejected. */
function elementKind(items: readonly JsonValue[], path: string): string | undefined {
  let kind: string | undefined;
  for (const item of items) {
    if (Array.isArray(item)) throw patchNotApplicable(`lists of lists are not supported: ${where(path)}`);
    const k = jsonKind(item);
    if (kind !== undefined && k !== kind) throw apiErrors.badRequest(`list element types are not identical in ${where(path)}: ${kind} and ${k}`);
    kind = k;
  }
  return kind;
}

/** A list with strategy `merge`: a set of scalars, or objects merged by merge key. */
function mergeList(ctx: Context, original: JsonValue[], patch: readonly JsonValue[], meta: FieldMergeMeta, path: string): JsonValue[] {
  if (original.length === 0 && patch.length === 0) return [];
  if (elementKind([...original, ...patch], path) !== 'object') {
    const merged: JsonValue[] = [];
    for (const v of [...original, ...patch]) if (!merged.some((m) => jsonEqual(m, v))) merged.push(v);
    return orderList(merged, patch, original, identifier(undefined));
  }
  const mergeKey = meta.mergeKey;
  if (mergeKey === undefined) throw apiErrors.badRequest(`cannot merge lists of objects without a merge key: ${where(path)}`);
  const itemSchema = itemMergeMeta(meta.schema, ctx.resolver).schema;
  const sameKey = (item: JsonValue, key: JsonValue): boolean => isObject(item) && jsonEqual(getOwn(item, mergeKey) ?? null, key);

  // Directive elements first: deletions from the original, or replacement of the whole list.
  let base = original;
  let replace = false;
  const elements: JsonObject[] = [];
  for (const element of patch as JsonObject[]) {
    const directive = getOwn(element, DIRECTIVE);
    if (directive === undefined) elements.push(element);
    else if (directive === 'delete') {
      const key = getOwn(element, mergeKey);
      if (key === undefined) throw missingMergeKey(element, mergeKey);
      base = base.filter((item) => !sameKey(item, key));
    } else if (directive === 'replace') replace = true;
    else if (directive === 'merge') {
      if (Object.keys(element).length > 1) elements.push(without(element, DIRECTIVE));
    } else throw unknownPatchType(directive, element);
  }
  if (replace) return elements.map((e) => mergeMap(ctx, {}, e, itemSchema, path));

  const merged = [...base];
  for (const element of elements) {
    const key = getOwn(element, mergeKey);
    if (key === undefined) throw missingMergeKey(element, mergeKey);
    const at = merged.findIndex((item) => sameKey(item, key));
    const elementPath = `${path}[${mergeKey}=${show(key)}]`;
    if (at >= 0) merged[at] = mergeMap(ctx, merged[at] as JsonObject, element, itemSchema, elementPath);
    else merged.push(mergeMap(ctx, {}, element, itemSchema, elementPath));
  }
  return orderList(merged, elements, base, identifier(mergeKey));
}

/**
 * `$setElementOrder/<field>: [...]`: merges `<field>` (if patched) and puts the elements the
 * directive names in its order, the others where the original had them. Returns the fields done,
 * which the ordinary merge then skips.
 */
function setElementOrders(ctx: Context, original: JsonObject, patch: JsonObject, schema: SchemaNode | undefined, path: string): Set<string> {
  const done = new Set<string>();
  for (const [key, order] of Object.entries(patch)) {
    if (!key.startsWith(SET_ELEMENT_ORDER)) continue;
    const field = directiveTarget(key, SET_ELEMENT_ORDER);
    if (field === undefined || !Array.isArray(order)) {
      throw apiErrors.badRequest(`invalid patch format of setElementOrder list: ${show(key)} in ${where(path)} must be "${SET_ELEMENT_ORDER}/<field>" with a list value`);
    }
    const fieldPath = childPath(path, field);
    const meta = fieldMergeMeta(schema, field, ctx.resolver);
    const mergeKey = meta.mergeKey;
    const current = getOwn(original, field);
    const originalList = Array.isArray(current) ? current : undefined;
    const patchValue = getOwn(patch, field);
    // A null deletes the list; the ordinary merge does that.
    if (patchValue === null) continue;
    if (patchValue !== undefined && !Array.isArray(patchValue)) {
      throw apiErrors.badRequest(`invalid patch format of setElementOrder list: ${where(fieldPath)} must be a list when ${show(key)} is given`);
    }
    if (mergeKey !== undefined) {
      for (const item of order) if (!isObject(item) || getOwn(item, mergeKey) === undefined) throw missingMergeKey(isObject(item) ? item : {}, mergeKey);
    }
    checkOrderCovers(patchValue ?? [], order, mergeKey, key, fieldPath);
    if (originalList === undefined && patchValue === undefined) continue;

    let merged: JsonValue[];
    if (patchValue === undefined) merged = originalList!;
    else if (meta.strategy === 'merge') merged = mergeList(ctx, originalList ?? [], patchValue, meta, fieldPath);
    else merged = cloneJson(patchValue);
    setOwn(original, field, orderList(merged, order, originalList ?? [], identifier(mergeKey)));
    done.add(field);
  }
  return done;
}

/** The patch's own elements (deletions and directive elements aside) must appear in `order`, in order. */
function checkOrderCovers(patchList: readonly JsonValue[], order: readonly JsonValue[], mergeKey: string | undefined, key: string, path: string): void {
  const id = identifier(mergeKey);
  const elements = patchList.filter((e) => !(isObject(e) && getOwn(e, DIRECTIVE) !== undefined));
  let next = 0;
  for (const item of order) {
    if (next < elements.length && jsonEqual(id(elements[next]!) ?? null, id(item) ?? null)) next++;
  }
  if (next < elements.length) {
    throw apiErrors.badRequest(`invalid patch format of setElementOrder list: the order of ${where(path)} in the patch does not match ${show(key)}: ${show(order)}`);
  }
}
