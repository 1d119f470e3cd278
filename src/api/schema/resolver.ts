import type { SchemaNode, SchemaResolver } from './schema-node.ts';

/** Where OpenAPI v2 keeps named schemas: `$ref: '#/definitions/<name>'`. */
export const V2_REF_PREFIX = '#/definitions/';
/** Where OpenAPI v3 keeps named schemas: `$ref: '#/components/schemas/<name>'`. */
export const V3_REF_PREFIX = '#/components/schemas/';

/** The definition name a `$ref` points at (v2 or v3 form), or undefined for any other reference. */
export function refName(ref: string): string | undefined {
  if (ref.startsWith(V2_REF_PREFIX)) return ref.slice(V2_REF_PREFIX.length);
  if (ref.startsWith(V3_REF_PREFIX)) return ref.slice(V3_REF_PREFIX.length);
  return undefined;
}

/** Canonical name of `metav1.ObjectMeta`, which the `metadata` of every object follows. */
export const OBJECT_META_DEFINITION = 'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta';

/**
 * Named scalar definitions whose JSON form is wider than their v2 schema says, with the JSON types
 * they accept. Kubernetes publishes them as `type: string` in v2 and as these `oneOf`s in v3
 * (kube-openapi's `OpenAPIV3OneOfTypes`); its decoders accept numbers for both.
 */
export const SCALAR_UNIONS: Readonly<Record<string, readonly ('integer' | 'number' | 'string')[]>> = {
  'io.k8s.apimachinery.pkg.api.resource.Quantity': ['string', 'number'],
  'io.k8s.apimachinery.pkg.util.intstr.IntOrString': ['integer', 'string'],
};

/** Longest `$ref` chain followed before giving up: a longer one can only be a cycle of bare refs. */
const MAX_REF_HOPS = 32;

/**
 * A {@link SchemaResolver} over a fixed set of named definitions. It understands both `$ref` forms,
 * so the same resolver serves the v2 definitions and schemas rewritten for v3.
 *
 * `resolve` returns the last node it reached: a node that still carries a `$ref` names a definition
 * that does not exist (validation reports that as an internal error).
 */
export function createResolver(definitions: Readonly<Record<string, SchemaNode>>): SchemaResolver {
  const definition = (name: string): SchemaNode | undefined => (Object.hasOwn(definitions, name) ? definitions[name] : undefined);
  // Validation resolves the same few hundred nodes for every request: remember the answers.
  const resolved = new WeakMap<SchemaNode, SchemaNode>();
  return {
    definition,
    resolve(node: SchemaNode): SchemaNode {
      if (node.$ref === undefined) return node;
      const known = resolved.get(node);
      if (known !== undefined) return known;
      let current = node;
      for (let hops = 0; current.$ref !== undefined && hops < MAX_REF_HOPS; hops++) {
        const name = refName(current.$ref);
        const target = name === undefined ? undefined : definition(name);
        if (target === undefined) return current;
        current = target;
      }
      resolved.set(node, current);
      return current;
    },
  };
}

/** A resolver with no definitions, for self-contained schemas such as a CRD version's. */
export const emptyResolver: SchemaResolver = createResolver({});
