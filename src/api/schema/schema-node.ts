/**
 * The subset of OpenAPI (v3 structural, as CRDs use it, and v2 definitions, as built-in types are
 * described) that kedge's schema-driven code reads: validation, pruning, defaulting, strategic merge
 * patch, server-side apply and the published OpenAPI documents. Built-in types and CRDs share it, so
 * one engine serves both.
 */
export interface SchemaNode {
  type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  format?: string;
  description?: string;
  properties?: Record<string, SchemaNode>;
  additionalProperties?: SchemaNode | boolean;
  items?: SchemaNode;
  required?: string[];
  enum?: unknown[];
  default?: unknown;
  nullable?: boolean;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: boolean;
  exclusiveMaximum?: boolean;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  minItems?: number;
  maxItems?: number;
  uniqueItems?: boolean;
  minProperties?: number;
  maxProperties?: number;
  multipleOf?: number;
  oneOf?: SchemaNode[];
  anyOf?: SchemaNode[];
  allOf?: SchemaNode[];
  not?: SchemaNode;
  /** A reference to a named definition: `#/definitions/<name>` (v2) or `#/components/schemas/<name>` (v3). */
  $ref?: string;
  /** Strategic merge patch: the field that identifies list elements, e.g. `name` for containers. */
  'x-kubernetes-patch-merge-key'?: string;
  /** Strategic merge patch: `merge`, `retainKeys`, `merge,retainKeys` or `replace`. */
  'x-kubernetes-patch-strategy'?: string;
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-map-type'?: 'atomic' | 'granular';
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-embedded-resource'?: boolean;
  /** On top-level kinds: which group/version/kind the definition describes. */
  'x-kubernetes-group-version-kind'?: { group: string; version: string; kind: string }[];
}

/** Looks up named definitions and follows `$ref`s. */
export interface SchemaResolver {
  /** The definition with this canonical name (e.g. `io.k8s.api.core.v1.Pod`), or undefined. */
  definition(name: string): SchemaNode | undefined;
  /** `node` itself, or the definition its `$ref` points at (transitively). */
  resolve(node: SchemaNode): SchemaNode;
}
