import type { KubeObject } from '../../../api/object.ts';
import type { SchemaNode } from '../../../api/schema/schema-node.ts';

/** The verbs of the Kubernetes API, as discovery lists them and the authorizer checks them. */
export const VERBS = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete', 'deletecollection'] as const;
export type Verb = (typeof VERBS)[number];

/** Where a scale subresource finds replicas and the selector (apps types and CRDs with `subresources.scale`). */
export interface ScaleSubresource {
  readonly specReplicasPath: string;
  readonly statusReplicasPath: string;
  readonly labelSelectorPath?: string;
}

/** A CRD additionalPrinterColumns entry. */
export interface PrinterColumn {
  readonly name: string;
  readonly type: string;
  readonly format?: string;
  readonly description?: string;
  readonly priority?: number;
  readonly jsonPath: string;
}

/**
 * Everything the API server needs to serve one resource at one version: its names (for URLs,
 * discovery and kubectl's short names), its scope, its subresources, where it lives in the store,
 * which fields can be selected, and how objects are described (schema) and checked.
 * Built-in types are listed in `builtin.ts`; CRDs produce one per served version.
 */
export interface ResourceType {
  readonly group: string;
  readonly version: string;
  readonly kind: string;
  readonly listKind: string;
  /** The plural, lower-case name used in URLs: `pods`. */
  readonly plural: string;
  readonly singular: string;
  readonly shortNames: readonly string[];
  readonly categories: readonly string[];
  readonly namespaced: boolean;
  readonly verbs: readonly Verb[];
  readonly statusSubresource: boolean;
  readonly scale?: ScaleSubresource;
  /** Key prefix in the store; every version of a resource shares it. Ends with `/`. */
  readonly storagePrefix: string;
  /** Field selector labels this resource supports beyond metadata.name/metadata.namespace. */
  readonly selectableFields: readonly string[];
  /** PUT of a missing object creates it (Kubernetes' AllowCreateOnUpdate). */
  readonly allowCreateOnUpdate: boolean;
  /** PUT without metadata.resourceVersion is allowed (Kubernetes' AllowUnconditionalUpdate). */
  readonly allowUnconditionalUpdate: boolean;
  /** Strategic merge patch is accepted (built-in types only). */
  readonly strategicMergePatch: boolean;
  /** Canonical OpenAPI definition name (built-ins) or the CRD version's structural schema. */
  readonly schema: { readonly definition: string } | { readonly crd: SchemaNode | undefined; readonly preserveUnknownFields: boolean };
  /** CRD printer columns; built-in types print through src/api/table. */
  readonly printerColumns?: readonly PrinterColumn[];
  /** For CRDs: the version objects are stored at (the others are served by changing apiVersion). */
  readonly storageVersion: string;
  /** Set for resources that come from a CustomResourceDefinition. */
  readonly crdName?: string;
}

/** `pods` or `deployments.apps`: the name Kubernetes uses in messages. */
export function qualifiedResource(rt: Pick<ResourceType, 'group' | 'plural'>): string {
  return rt.group === '' ? rt.plural : `${rt.plural}.${rt.group}`;
}

/** The value of a dotted field path such as `spec.nodeName`, as a field selector compares it. */
export function fieldValue(obj: KubeObject, path: string): string {
  let cur: unknown = obj;
  for (const part of path.split('.')) {
    if (typeof cur !== 'object' || cur === null) return '';
    cur = (cur as Record<string, unknown>)[part];
  }
  if (cur === undefined || cur === null) return '';
  return typeof cur === 'string' ? cur : typeof cur === 'number' || typeof cur === 'boolean' ? String(cur) : '';
}
