import type { ServedResource } from './openapi/publisher.ts';
import type { ResourceType } from './resources/resource-type.ts';

/** What the OpenAPI documents need to know about each served resource. */
export function servedResourcesOf(resources: readonly ResourceType[]): ServedResource[] {
  return resources.map((rt) => ({
    group: rt.group,
    version: rt.version,
    kind: rt.kind,
    plural: rt.plural,
    namespaced: rt.namespaced,
    subresources: [...(rt.statusSubresource ? (['status'] as const) : []), ...(rt.scale !== undefined ? (['scale'] as const) : [])],
    verbs: [...rt.verbs],
    definition: 'definition' in rt.schema ? rt.schema.definition : (rt.schema.crd ?? { type: 'object', 'x-kubernetes-preserve-unknown-fields': true }),
  }));
}
