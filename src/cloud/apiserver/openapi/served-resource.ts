import type { SchemaNode } from '../../../api/schema/schema-node.ts';

/** A subresource that has its own operations in the OpenAPI documents. */
export type OpenApiSubresource = 'status' | 'scale';

/**
 * One resource at one version, as the OpenAPI documents describe it. The API server lists what it
 * serves; built-in types name their definition, custom resources bring their CRD version's schema.
 */
export interface ServedResource {
  /** API group; `''` is the core group. */
  readonly group: string;
  readonly version: string;
  readonly kind: string;
  /** Lower-case plural used in URLs: `pods`. */
  readonly plural: string;
  readonly namespaced: boolean;
  readonly subresources: readonly OpenApiSubresource[];
  /** Kubernetes verbs served: `get`, `list`, `watch`, `create`, `update`, `patch`, `delete`, `deletecollection`. */
  readonly verbs: readonly string[];
  /**
   * Built-in types: the canonical definition name (`io.k8s.api.core.v1.Pod`; the list kind is the
   * same name with `List` appended). Custom resources: the version's structural schema, published
   * as `<reversed group>.<version>.<Kind>` (`com.example.stable.v1.CronTab`).
   */
  readonly definition: string | SchemaNode;
}

/** `stable.example.com` → `com.example.stable`: the package prefix Kubernetes gives CRD definitions. */
export function reversedGroup(group: string): string {
  return group.split('.').reverse().join('.');
}

/** The definition names of a resource's kind and list kind. */
export function definitionNames(r: ServedResource): { kind: string; list: string } {
  const kind = typeof r.definition === 'string' ? r.definition : `${reversedGroup(r.group)}.${r.version}.${r.kind}`;
  return { kind, list: `${kind}List` };
}

/** `/api/v1` or `/apis/apps/v1`. */
export function groupVersionPath(group: string, version: string): string {
  return group === '' ? `/api/${version}` : `/apis/${group}/${version}`;
}
