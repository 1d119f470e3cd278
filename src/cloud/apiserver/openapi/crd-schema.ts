import { V2_REF_PREFIX } from '../../../api/schema/resolver.ts';
import type { SchemaNode } from '../../../api/schema/schema-node.ts';
import { definitionNames, type ServedResource } from './served-resource.ts';

const OBJECT_META = 'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta';
const LIST_META = 'io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta';

const API_VERSION: SchemaNode = {
  description:
    'APIVersion defines the versioned schema of this representation of an object. Servers should convert recognized schemas to the latest internal value, and may reject unrecognized values. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources',
  type: 'string',
};
const KIND: SchemaNode = {
  description:
    'Kind is a string value representing the REST resource this object represents. Servers may infer this from the endpoint the client submits requests to. Cannot be updated. In CamelCase. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds',
  type: 'string',
};
const METADATA: SchemaNode = {
  description: "Standard object's metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata",
  $ref: `${V2_REF_PREFIX}${OBJECT_META}`,
};

/**
 * The published definitions of a custom resource version, its kind and its list kind, as
 * kube-apiserver's CRD OpenAPI builder makes them: `apiVersion`, `kind` and `metadata` (a reference
 * to ObjectMeta) at the root and in every embedded resource, the group-version-kind extension, and
 * for OpenAPI v2 the schema reduced to what v2 (and kubectl's v2 parser) can express. `$ref`s are
 * in v2 form; the v3 builder rewrites them.
 */
export function crdDefinitions(r: ServedResource, schema: SchemaNode, form: 'v2' | 'v3'): Record<string, SchemaNode> {
  const names = definitionNames(r);
  // As kube-apiserver does: reduce for v2 first, then add the properties every object has.
  let root = structuredClone(schema);
  if (form === 'v2') root = toV2(root);
  root = withEmbeddedProperties(root);
  root.type = 'object';
  root.properties = { ...root.properties, apiVersion: API_VERSION, kind: KIND, metadata: METADATA };
  root['x-kubernetes-group-version-kind'] = [{ group: r.group, version: r.version, kind: r.kind }];

  const list: SchemaNode = {
    description: `${r.kind}List is a list of ${r.kind}`,
    type: 'object',
    required: ['items'],
    properties: {
      apiVersion: API_VERSION,
      items: { description: `List of ${r.plural}. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md`, type: 'array', items: { $ref: `${V2_REF_PREFIX}${names.kind}` } },
      kind: KIND,
      metadata: { description: 'Standard list metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds', $ref: `${V2_REF_PREFIX}${LIST_META}` },
    },
    'x-kubernetes-group-version-kind': [{ group: r.group, version: r.version, kind: `${r.kind}List` }],
  };
  return { [names.kind]: root, [names.list]: list };
}

/** Children of a node that are schemas themselves. */
function eachChild(node: SchemaNode, visit: (child: SchemaNode) => SchemaNode): void {
  if (node.properties !== undefined) node.properties = Object.fromEntries(Object.entries(node.properties).map(([k, v]) => [k, visit(v)]));
  if (node.items !== undefined) node.items = visit(node.items);
  if (typeof node.additionalProperties === 'object') node.additionalProperties = visit(node.additionalProperties);
  for (const junctor of ['allOf', 'anyOf', 'oneOf'] as const) {
    if (node[junctor] !== undefined) node[junctor] = node[junctor].map(visit);
  }
  if (node.not !== undefined) node.not = visit(node.not);
}

/** Embedded resources get the same apiVersion/kind/metadata properties as the root. */
function withEmbeddedProperties(node: SchemaNode): SchemaNode {
  eachChild(node, withEmbeddedProperties);
  if (node['x-kubernetes-embedded-resource'] === true) {
    node.properties = { apiVersion: API_VERSION, kind: KIND, metadata: METADATA, ...node.properties };
  }
  return node;
}

/**
 * kube-apiserver's `ToStructuralOpenAPIV2`: OpenAPI v2 has no junctors and no `nullable`, and
 * kubectl's v2 parser rejects arrays without items, so those are dropped; a nullable or
 * unknown-preserving field becomes untyped (anything goes) rather than failing client-side checks.
 */
function toV2(node: SchemaNode): SchemaNode {
  delete node.allOf;
  delete node.anyOf;
  delete node.oneOf;
  delete node.not;
  if (node.nullable === true) {
    delete node.type;
    delete node.items;
    delete node.properties;
  }
  delete node.nullable;
  if (node['x-kubernetes-preserve-unknown-fields'] === true) {
    delete node.items;
    delete node.properties;
  }
  if (node.type === 'array' && node.items === undefined) delete node.type;
  const nullable = Object.entries(node.properties ?? {}).filter(([, p]) => p.nullable === true).map(([k]) => k);
  if (node.required !== undefined && nullable.length > 0) node.required = node.required.filter((k) => !nullable.includes(k));
  if (typeof node.additionalProperties === 'object' && node.additionalProperties.nullable === true) delete node.required;
  if (node.required?.length === 0) delete node.required;
  eachChild(node, toV2);
  return node;
}
