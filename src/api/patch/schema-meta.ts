/**
 * What the schema says about merging one field: the patch strategy and merge key that strategic
 * merge patch reads (`x-kubernetes-patch-strategy`, `x-kubernetes-patch-merge-key`) and the list
 * and map types that server-side apply reads (`x-kubernetes-list-type`, `-list-map-keys`,
 * `-map-type`). A field the schema does not describe has no metadata: it merges like JSON merge
 * patch (objects recursively, lists replaced).
 */
import type { SchemaNode, SchemaResolver } from '../schema/schema-node.ts';

/** How one field merges. */
export interface FieldMergeMeta {
  /** The schema of the field's value with `$ref`s followed; undefined for an undescribed field. */
  readonly schema: SchemaNode | undefined;
  /** `merge` (lists by merge key or as sets, maps key by key), `replace` (whole value), or none. */
  readonly strategy: 'merge' | 'replace' | undefined;
  /** The `retainKeys` strategy: the client may send `$retainKeys` to clear unlisted fields. */
  readonly retainKeys: boolean;
  /** The field identifying elements of a merged list of objects, e.g. `name` for containers. */
  readonly mergeKey: string | undefined;
  readonly listType: 'atomic' | 'set' | 'map' | undefined;
  readonly listMapKeys: readonly string[] | undefined;
  readonly mapType: 'atomic' | 'granular' | undefined;
}

/** Metadata of a value nothing is known about. */
export const UNDESCRIBED: FieldMergeMeta = {
  schema: undefined,
  strategy: undefined,
  retainKeys: false,
  mergeKey: undefined,
  listType: undefined,
  listMapKeys: undefined,
  mapType: undefined,
};

/**
 * `node` with `$ref`s followed, looking through the `allOf: [{$ref}]` wrapper that OpenAPI v3 uses
 * to attach a description or extensions to a reference.
 */
export function resolveSchema(node: SchemaNode | undefined, resolver: SchemaResolver): SchemaNode | undefined {
  if (node === undefined) return undefined;
  let current = resolver.resolve(node);
  while (current.allOf?.length === 1 && current.type === undefined && current.properties === undefined) current = resolver.resolve(current.allOf[0]!);
  return current;
}

/** The first of the three nodes (as written, wrapped, resolved) that sets extension `key`. */
function extension<K extends keyof SchemaNode>(key: K, ...nodes: (SchemaNode | undefined)[]): SchemaNode[K] | undefined {
  for (const n of nodes) if (n?.[key] !== undefined) return n[key];
  return undefined;
}

/** How the value described by `node` (a property, an item or a root schema) merges. */
export function mergeMetaOf(node: SchemaNode | undefined, resolver: SchemaResolver): FieldMergeMeta {
  if (node === undefined) return UNDESCRIBED;
  const wrapped = node.allOf?.length === 1 ? node.allOf[0] : undefined;
  const schema = resolveSchema(node, resolver);
  // Patch strategies are attached to the field, so the node as written wins over its definition.
  const strategies = (extension('x-kubernetes-patch-strategy', node, wrapped, schema) ?? '').split(',').map((s) => s.trim());
  return {
    schema,
    strategy: strategies.includes('merge') ? 'merge' : strategies.includes('replace') ? 'replace' : undefined,
    retainKeys: strategies.includes('retainKeys'),
    mergeKey: extension('x-kubernetes-patch-merge-key', node, wrapped, schema),
    listType: extension('x-kubernetes-list-type', node, wrapped, schema),
    listMapKeys: extension('x-kubernetes-list-map-keys', node, wrapped, schema),
    mapType: extension('x-kubernetes-map-type', node, wrapped, schema),
  };
}

/** How field `key` of an object described by `parent` (already resolved) merges. */
export function fieldMergeMeta(parent: SchemaNode | undefined, key: string, resolver: SchemaResolver): FieldMergeMeta {
  if (parent === undefined) return UNDESCRIBED;
  const properties = parent.properties;
  if (properties !== undefined && Object.hasOwn(properties, key)) return mergeMetaOf(properties[key], resolver);
  const additional = parent.additionalProperties;
  return typeof additional === 'object' ? mergeMetaOf(additional, resolver) : UNDESCRIBED;
}

/** How the elements of a list described by `list` (already resolved) merge. */
export function itemMergeMeta(list: SchemaNode | undefined, resolver: SchemaResolver): FieldMergeMeta {
  return mergeMetaOf(list?.items, resolver);
}
