/**
 * Server-side apply (`application/apply-patch+yaml`) and the field ownership it rests on,
 * following structured-merge-diff as kube-apiserver uses it:
 *
 * - The applied configuration is merged into the live object: lists that are associative
 *   (`x-kubernetes-list-type: map`, or a patch merge key) merge element by element, set lists
 *   (`set`, or a merge strategy over scalars) as sets, other lists are replaced; maps merge key by
 *   key unless `x-kubernetes-map-type: atomic`. Undescribed fields merge like maps, lists atomic.
 * - The applier owns exactly the fields its configuration sets (`metadata.managedFields`, FieldsV1,
 *   operation `Apply`). Fields it owned before and no longer sets are removed, unless another
 *   manager owns them too.
 * - Changing a field another manager owns is a conflict (409, listing each field and manager as
 *   kube-apiserver does) unless `force`, which takes the fields over.
 * - {@link trackUpdate} records the fields an ordinary update or patch changed (operation
 *   `Update`), so appliers conflict with controllers and editors as in Kubernetes.
 *
 * Simplifications, stated plainly: no version conversion of field sets (entries of other API
 * versions are compared as if they were of the applied version); no cap on the number of Update
 * managers (Kubernetes folds the oldest into `ancient-changes`); `status` is not treated specially;
 * a `null` in the applied configuration removes the field (the applier still owns it); a client
 * cannot reset `managedFields` through an update. Key fields an associative list element leaves
 * out take their schema `default`; without one the element is rejected, as in Kubernetes (whose
 * published schemas carry such defaults, e.g. a port's protocol).
 */
import type { ManagedFieldsEntry } from 'kubernetes-types/meta/v1.d.ts';
import { ApiError, apiErrors } from '../errors.ts';
import type { JsonObject, JsonValue, KubeObject } from '../object.ts';
import type { SchemaNode, SchemaResolver } from '../schema/schema-node.ts';
import { fieldElement, FieldSet, formatPath, keyElement, removeAtPath, valueAtPath, type FieldPath, type PathElement } from './field-set.ts';
import { cloneJson, deleteOwn, getOwn, isObject, jsonEqual, setOwn } from './json-value.ts';
import { fieldMergeMeta, itemMergeMeta, mergeMetaOf, type FieldMergeMeta } from './schema-meta.ts';
import { compareStrings } from '../compare.ts';
import { rfc3339 } from '../time.ts';

/** The manager that owns, at the first apply, everything an object had before it. */
export const BEFORE_FIRST_APPLY = 'before-first-apply';

/** Options of {@link serverSideApply}. */
export interface ApplyOptions {
  /** `?fieldManager=`; required for apply. */
  readonly manager: string;
  /** `?force=true`: take over conflicting fields instead of failing. */
  readonly force: boolean;
  /** The object's definition. */
  readonly schema: SchemaNode;
  readonly resolver: SchemaResolver;
  /** The time recorded for the applier's entry. */
  readonly now: Date;
  /** `status`, `scale`...; empty or absent for the main resource. */
  readonly subresource?: string;
}

/** Options of {@link trackUpdate}. */
export type UpdateOptions = Omit<ApplyOptions, 'force'>;

/**
 * Applies `applied` (the configuration a client sent) to `live` (undefined to create), returning
 * the new object with its `metadata.managedFields`. Returns `live` itself when neither the object
 * nor the applier's fields change, so callers can skip the write.
 *
 * @throws ApiError 400 BadRequest without a manager, with `managedFields` in the configuration, or
 *   with an associative list element missing a key field or given twice.
 * @throws ApiError 409 Conflict when the configuration changes fields other managers own and
 *   `force` is false; the message and `details.causes` list every field and its manager.
 */
export function serverSideApply(live: KubeObject | undefined, applied: KubeObject, options: ApplyOptions): KubeObject {
  if (options.manager === '') throw apiErrors.badRequest('fieldManager is required for apply requests');
  if (!isObject(applied as unknown as JsonValue)) throw apiErrors.badRequest('the applied configuration must be a JSON object');
  if ((applied.metadata?.managedFields?.length ?? 0) > 0) throw apiErrors.badRequest('metadata.managedFields must be nil in an applied configuration');

  const ctx: Context = { resolver: options.resolver };
  const root = mergeMetaOf(options.schema, options.resolver);
  const liveObject = live === undefined ? {} : withoutManagedFields(live);
  const config = withoutManagedFields(applied);
  const apiVersion = applied.apiVersion ?? live?.apiVersion ?? '';
  const managers = managersOf(ctx, live, root, true);
  const mine = managerEntry(options.manager, 'Apply', apiVersion, options.subresource);
  const previous = managers.get(mine.id);

  const merged = mergeApplied(ctx, liveObject, config, root, []) as JsonObject;
  const owned = fieldsOf(ctx, config, root).set;
  if (previous !== undefined) {
    const others = [...managers.values()].filter((m) => m.id !== mine.id).reduce((acc, m) => acc.union(m.set), owned);
    prune(merged, previous.set.difference(owned), others);
  }

  const changes = compare(ctx, liveObject, merged, root);
  const changed = changes.modified.union(changes.added);
  const conflicts: Conflict[] = [];
  for (const m of managers.values()) {
    if (m.id === mine.id) continue;
    const overlap = m.set.intersection(changed);
    if (!overlap.isEmpty()) conflicts.push({ manager: m, paths: overlap.paths() });
  }
  if (conflicts.length > 0 && !options.force) throw applyConflict(conflicts);
  for (const m of managers.values()) {
    if (m.id === mine.id) continue;
    m.set = m.set.difference(changes.removed);
    // Forced: the applier takes over what it changed.
    if (options.force) m.set = m.set.difference(changed);
  }

  // As in Kubernetes, the applier's time moves when the object changes; a no-op apply is a no-op.
  const objectChanged = !jsonEqual(merged, liveObject);
  if (live !== undefined && !objectChanged && previous?.set.equals(owned) === true) return live;
  managers.set(mine.id, { ...mine, time: objectChanged || previous === undefined ? rfc3339(options.now.getTime()) : previous.time, set: owned });
  return withManagedFields(merged, managers);
}

/**
 * Records in `updated.metadata.managedFields` the fields an update or patch by `options.manager`
 * changed from `live` (undefined for a create): they become the manager's (operation `Update`)
 * and stop being anyone else's; removed fields stop being anyone's. Any `managedFields` the
 * client sent are ignored in favour of the live object's.
 */
export function trackUpdate(live: KubeObject | undefined, updated: KubeObject, options: UpdateOptions): KubeObject {
  const ctx: Context = { resolver: options.resolver };
  const root = mergeMetaOf(options.schema, options.resolver);
  const liveObject = live === undefined ? {} : withoutManagedFields(live);
  const updatedObject = withoutManagedFields(updated);
  const managers = managersOf(ctx, live, root, false);
  const mine = managerEntry(options.manager, 'Update', updated.apiVersion ?? live?.apiVersion ?? '', options.subresource);
  const previous = managers.get(mine.id);

  const changes = compare(ctx, liveObject, updatedObject, root);
  const changed = changes.modified.union(changes.added);
  for (const m of managers.values()) if (m.id !== mine.id) m.set = m.set.difference(changes.removed).difference(changed);
  const set = (previous?.set ?? new FieldSet()).difference(changes.removed).union(changed);
  // The updater's time moves when its update changed something.
  managers.set(mine.id, { ...mine, time: changed.isEmpty() && previous !== undefined ? previous.time : rfc3339(options.now.getTime()), set });
  return withManagedFields(updatedObject, managers);
}

interface Context {
  readonly resolver: SchemaResolver;
}

// ---------------------------------------------------------------------------------------------
// Managers: metadata.managedFields entries, decoded.
// ---------------------------------------------------------------------------------------------

interface Manager {
  /** What makes two entries the same manager: name, operation, subresource, and for Update the API version. */
  readonly id: string;
  readonly manager: string;
  readonly operation: 'Apply' | 'Update';
  readonly apiVersion: string;
  readonly subresource: string;
  time: string | undefined;
  set: FieldSet;
}

function managerEntry(manager: string, operation: 'Apply' | 'Update', apiVersion: string, subresource = ''): Omit<Manager, 'time' | 'set'> {
  // Appliers keep one entry across API versions; updaters get one per version, as in Kubernetes.
  const id = JSON.stringify([manager, operation, operation === 'Update' ? apiVersion : '', subresource]);
  return { id, manager, operation, apiVersion, subresource };
}

function withoutManagedFields(obj: KubeObject): JsonObject {
  const copy = cloneJson(obj as unknown as JsonObject);
  const metadata = getOwn(copy, 'metadata');
  if (isObject(metadata)) deleteOwn(metadata, 'managedFields');
  return copy;
}

/**
 * The live object's managers. Entries that are not FieldsV1 are dropped. At the first apply to an
 * object nobody manages yet, everything it has belongs to {@link BEFORE_FIRST_APPLY}, so the apply
 * conflicts where it would change those values, as in Kubernetes.
 */
function managersOf(ctx: Context, live: KubeObject | undefined, root: FieldMergeMeta, forApply: boolean): Map<string, Manager> {
  const managers = new Map<string, Manager>();
  if (live === undefined) return managers;
  const entries = live.metadata?.managedFields ?? [];
  for (const e of entries) {
    if (typeof e.manager !== 'string' || (e.operation !== 'Apply' && e.operation !== 'Update') || (e.fieldsType !== undefined && e.fieldsType !== 'FieldsV1')) continue;
    const base = managerEntry(e.manager, e.operation, e.apiVersion ?? '', e.subresource ?? '');
    const set = FieldSet.fromFieldsV1(e.fieldsV1 as JsonValue | undefined);
    const existing = managers.get(base.id);
    if (existing !== undefined) existing.set = existing.set.union(set);
    else managers.set(base.id, { ...base, time: e.time, set });
  }
  if (forApply && entries.length === 0) {
    const set = fieldsOf(ctx, withoutManagedFields(live), root).set;
    if (!set.isEmpty()) {
      const base = managerEntry(BEFORE_FIRST_APPLY, 'Update', live.apiVersion ?? '');
      managers.set(base.id, { ...base, time: undefined, set });
    }
  }
  return managers;
}

/** `obj` with the managers' entries as `metadata.managedFields`, in Kubernetes' order. */
function withManagedFields(obj: JsonObject, managers: Map<string, Manager>): KubeObject {
  const entries: ManagedFieldsEntry[] = [...managers.values()]
    .filter((m) => !m.set.isEmpty())
    .sort(
      (a, b) =>
        compareStrings(a.operation, b.operation) ||
        seconds(a.time) - seconds(b.time) ||
        compareStrings(a.manager, b.manager) ||
        compareStrings(a.apiVersion, b.apiVersion) ||
        compareStrings(a.subresource, b.subresource),
    )
    .map((m) => {
      const entry: ManagedFieldsEntry = { manager: m.manager, operation: m.operation, apiVersion: m.apiVersion };
      if (m.time !== undefined) entry.time = m.time;
      entry.fieldsType = 'FieldsV1';
      entry.fieldsV1 = m.set.toFieldsV1();
      if (m.subresource !== '') entry.subresource = m.subresource;
      return entry;
    });
  const metadata = isObject(getOwn(obj, 'metadata')) ? (getOwn(obj, 'metadata') as JsonObject) : {};
  if (entries.length > 0) metadata['managedFields'] = entries as unknown as JsonValue;
  else deleteOwn(metadata, 'managedFields');
  obj['metadata'] = metadata;
  return obj as unknown as KubeObject;
}

function seconds(time: string | undefined): number {
  const ms = time === undefined ? NaN : Date.parse(time);
  return Number.isNaN(ms) ? 0 : Math.floor(ms / 1000);
}

// ---------------------------------------------------------------------------------------------
// How the schema shapes paths: list and map kinds.
// ---------------------------------------------------------------------------------------------

type ListKind = { readonly type: 'atomic' } | { readonly type: 'set' } | { readonly type: 'map'; readonly keys: readonly string[] };

/** Explicit list types first; otherwise the patch strategy, as Kubernetes converts its schemas. */
function listKindOf(meta: FieldMergeMeta): ListKind {
  if (meta.listType === 'map' && meta.listMapKeys !== undefined && meta.listMapKeys.length > 0) return { type: 'map', keys: meta.listMapKeys };
  if (meta.listType === 'set') return { type: 'set' };
  if (meta.listType === 'atomic') return { type: 'atomic' };
  if (meta.strategy === 'merge') return meta.mergeKey !== undefined ? { type: 'map', keys: [meta.mergeKey] } : { type: 'set' };
  return { type: 'atomic' };
}

/**
 * The path element naming `item` in an associative or set list at `path`. A key field the element
 * leaves out takes its schema default, as structured-merge-diff does (e.g. a port's protocol).
 */
function elementOf(ctx: Context, item: JsonValue, kind: Exclude<ListKind, { type: 'atomic' }>, itemMeta: FieldMergeMeta, path: FieldPath): PathElement {
  if (kind.type === 'set') return { kind: 'value', value: item };
  if (!isObject(item)) throw apiErrors.badRequest(`${formatPath(path)}: elements of an associative list must be objects`);
  const fields: [string, JsonValue][] = [];
  for (const key of kind.keys) {
    const value = getOwn(item, key) ?? (fieldMergeMeta(itemMeta.schema, key, ctx.resolver).schema?.default as JsonValue | undefined);
    if (value === undefined) throw apiErrors.badRequest(`${formatPath(path)}: associative list with keys has an element that omits key field ${JSON.stringify(key)} (and doesn't have default value)`);
    fields.push([key, value]);
  }
  return keyElement(fields);
}

/** Fields Kubernetes never records as owned: identity and system metadata. */
const STRIPPED_METADATA = new Set(['name', 'namespace', 'creationTimestamp', 'selfLink', 'uid', 'clusterName', 'generation', 'managedFields', 'resourceVersion']);

function stripped(path: FieldPath, key: string): boolean {
  if (path.length === 0) return key === 'apiVersion' || key === 'kind';
  const [first] = path;
  return path.length === 1 && first!.kind === 'field' && first!.name === 'metadata' && STRIPPED_METADATA.has(key);
}

// ---------------------------------------------------------------------------------------------
// Field sets of values (structured-merge-diff's ToFieldSet).
// ---------------------------------------------------------------------------------------------

/** The paths a value sets, and among them the leaves (scalars and atomic values). */
interface Owned {
  readonly set: FieldSet;
  readonly leaves: FieldSet;
}

function fieldsOf(ctx: Context, value: JsonObject, root: FieldMergeMeta): Owned {
  const owned: Owned = { set: new FieldSet(), leaves: new FieldSet() };
  walk(ctx, value, root, [], owned);
  return owned;
}

function leaf(owned: Owned, path: FieldPath): void {
  owned.set.insert(path);
  owned.leaves.insert(path);
}

function walk(ctx: Context, value: JsonValue, meta: FieldMergeMeta, path: FieldPath, owned: Owned): void {
  if (Array.isArray(value)) {
    const kind = listKindOf(meta);
    if (kind.type === 'atomic') return leaf(owned, path);
    const itemMeta = itemMergeMeta(meta.schema, ctx.resolver);
    for (const item of value) {
      const itemPath = [...path, elementOf(ctx, item, kind, itemMeta, path)];
      walk(ctx, item, itemMeta, itemPath, owned);
      owned.set.insert(itemPath);
    }
    return;
  }
  if (isObject(value)) {
    if (meta.mapType === 'atomic') return leaf(owned, path);
    const declared = meta.schema?.properties;
    for (const [key, child] of Object.entries(value)) {
      if (stripped(path, key)) continue;
      const childPath = [...path, fieldElement(key)];
      walk(ctx, child, fieldMergeMeta(meta.schema, key, ctx.resolver), childPath, owned);
      // A struct field is owned through its leaves; a map entry, an empty map or null is owned itself.
      if (child === null || (isObject(child) && Object.keys(child).length === 0)) leaf(owned, childPath);
      else if (declared === undefined || !Object.hasOwn(declared, key)) owned.set.insert(childPath);
    }
    return;
  }
  leaf(owned, path);
}

/** What changed from `before` to `after`, as field sets. */
function compare(ctx: Context, before: JsonObject, after: JsonObject, root: FieldMergeMeta): { added: FieldSet; modified: FieldSet; removed: FieldSet } {
  const was = fieldsOf(ctx, before, root);
  const is = fieldsOf(ctx, after, root);
  const modified = new FieldSet();
  for (const path of is.leaves.intersection(was.set).paths()) {
    if (!jsonEqual(valueAtPath(before, path) ?? null, valueAtPath(after, path) ?? null)) modified.insert(path);
  }
  return { added: is.set.difference(was.set), modified, removed: was.set.difference(is.set) };
}

// ---------------------------------------------------------------------------------------------
// Merging the configuration into the live object (structured-merge-diff's Merge).
// ---------------------------------------------------------------------------------------------

function mergeApplied(ctx: Context, live: JsonValue | undefined, config: JsonValue, meta: FieldMergeMeta, path: FieldPath): JsonValue {
  if (Array.isArray(config)) {
    const kind = listKindOf(meta);
    if (kind.type === 'atomic' || !Array.isArray(live)) {
      return config.map((item) => mergeApplied(ctx, undefined, item, itemMergeMeta(meta.schema, ctx.resolver), path));
    }
    return mergeLists(ctx, live, config, kind, itemMergeMeta(meta.schema, ctx.resolver), path);
  }
  if (isObject(config)) {
    const out: JsonObject = isObject(live) && meta.mapType !== 'atomic' ? cloneJson(live) : {};
    for (const [key, value] of Object.entries(config)) {
      if (value === null) deleteOwn(out, key);
      else setOwn(out, key, mergeApplied(ctx, getOwn(out, key), value, fieldMergeMeta(meta.schema, key, ctx.resolver), [...path, fieldElement(key)]));
    }
    return out;
  }
  return config;
}

/**
 * structured-merge-diff's list merge: elements only the live list has keep their place, the
 * configuration's elements come in its order, and elements in both are merged where the
 * configuration puts them.
 */
function mergeLists(ctx: Context, live: readonly JsonValue[], config: readonly JsonValue[], kind: Exclude<ListKind, { type: 'atomic' }>, itemMeta: FieldMergeMeta, path: FieldPath): JsonValue[] {
  const elementFor = (item: JsonValue): PathElement => elementOf(ctx, item, kind, itemMeta, path);
  const encode = (item: JsonValue): string => JSON.stringify(elementFor(item));
  const livePEs = live.map(encode);
  const configPEs = config.map(encode);
  const inLive = new Map<string, JsonValue>();
  live.forEach((item, i) => {
    if (!inLive.has(livePEs[i]!)) inLive.set(livePEs[i]!, item);
  });
  const inConfig = new Map<string, JsonValue>();
  config.forEach((item, i) => {
    const pe = configPEs[i]!;
    if (inConfig.has(pe)) throw apiErrors.badRequest(`${formatPath(path)}: duplicate entries for key ${formatPath([elementFor(item)])}`);
    inConfig.set(pe, item);
  });

  const shared = configPEs.filter((pe) => inLive.has(pe));
  let nextShared = shared.shift();
  const merged = new Set<string>();
  const out: JsonValue[] = [];
  const take = (pe: string): void => {
    merged.add(pe);
    out.push(mergeApplied(ctx, inLive.get(pe), inConfig.get(pe)!, itemMeta, path));
    if (nextShared === pe) nextShared = shared.shift();
  };
  let l = 0;
  let c = 0;
  while (l < live.length || c < config.length) {
    if (l < live.length && c < config.length) {
      const pe = livePEs[l]!;
      if (pe === configPEs[c]) {
        take(pe);
        l++;
        c++;
        continue;
      }
      // A shared element the configuration wants later: skip it here, it is placed when its turn comes.
      if (inConfig.has(pe) && nextShared !== undefined && nextShared !== pe) {
        l++;
        continue;
      }
    }
    if (l < live.length) {
      const pe = livePEs[l]!;
      if (!inConfig.has(pe)) {
        out.push(cloneJson(live[l]!));
        l++;
        continue;
      }
      if (merged.has(pe)) {
        l++;
        continue;
      }
    }
    if (c < config.length) {
      take(configPEs[c]!);
      c++;
    }
  }
  return out;
}

/**
 * Removes the fields in `toRemove` from `obj`, keeping whatever `keep` (the fields of every
 * manager, the applier's new ones included) still covers, the key fields of kept list elements,
 * and containers that still hold something.
 */
function prune(obj: JsonObject, toRemove: FieldSet, keep: FieldSet): void {
  for (const path of toRemove.paths().reverse()) {
    if (keep.hasAtOrBelow(path) || isKeyField(path)) continue;
    if (!removeAtPath(obj, path)) continue;
    // Drop containers the removal emptied, as long as nobody owns them.
    for (let n = path.length - 1; n > 0; n--) {
      const parentPath = path.slice(0, n);
      const parent = valueAtPath(obj, parentPath);
      const empty = (isObject(parent) && Object.keys(parent).length === 0) || (Array.isArray(parent) && parent.length === 0);
      if (!empty || keep.hasAtOrBelow(parentPath)) break;
      removeAtPath(obj, parentPath);
    }
  }
}

function isKeyField(path: FieldPath): boolean {
  const last = path[path.length - 1];
  const parent = path[path.length - 2];
  return last?.kind === 'field' && parent?.kind === 'key' && parent.fields.some(([name]) => name === last.name);
}

// ---------------------------------------------------------------------------------------------
// Conflicts.
// ---------------------------------------------------------------------------------------------

interface Conflict {
  readonly manager: Manager;
  readonly paths: readonly FieldPath[];
}

/** Kubernetes' `printManager`: `"kubectl"`, `"kube-controller-manager" using apps/v1`, `... with subresource "status"`. */
function describeManager(m: Manager): string {
  let text = JSON.stringify(m.manager);
  if (m.subresource !== '') text += ` with subresource ${JSON.stringify(m.subresource)}`;
  if (m.operation === 'Update') text += ` using ${m.apiVersion}`;
  return text;
}

/** The 409 kube-apiserver answers: `Apply failed with 1 conflict: conflict with "x": .spec.replicas`. */
function applyConflict(conflicts: readonly Conflict[]): ApiError {
  const all = conflicts.flatMap((c) => c.paths.map((path) => ({ manager: c.manager, path })));
  let message: string;
  if (all.length === 1) {
    message = `Apply failed with 1 conflict: conflict with ${describeManager(all[0]!.manager)}: ${formatPath(all[0]!.path)}`;
  } else {
    const lines = [...conflicts]
      .sort((a, b) => compareStrings(a.manager.manager, b.manager.manager))
      .flatMap((c) => [`conflicts with ${describeManager(c.manager)}:`, ...c.paths.map((p) => `- ${formatPath(p)}`)]);
    message = `Apply failed with ${all.length} conflicts: ${lines.join('\n')}`;
  }
  const causes = all.map((c) => ({ reason: 'FieldManagerConflict', message: `conflict with ${describeManager(c.manager)}`, field: formatPath(c.path) }));
  return new ApiError('API_CONFLICT', 409, 'Conflict', message, { causes });
}
