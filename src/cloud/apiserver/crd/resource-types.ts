import type { KubeObject } from '../../../api/object.ts';
import type { SchemaNode } from '../../../api/schema/schema-node.ts';
import { VERBS, type PrinterColumn, type ResourceType, type ScaleSubresource } from '../resources/resource-type.ts';

/** The parts of an apiextensions.k8s.io/v1 CustomResourceDefinition kedge reads. */
export interface CrdSpec {
  group: string;
  scope: 'Namespaced' | 'Cluster';
  names: { plural: string; singular?: string; kind: string; listKind?: string; shortNames?: string[]; categories?: string[] };
  preserveUnknownFields?: boolean;
  versions: {
    name: string;
    served: boolean;
    storage: boolean;
    schema?: { openAPIV3Schema?: SchemaNode };
    subresources?: { status?: object; scale?: ScaleSubresource };
    additionalPrinterColumns?: PrinterColumn[];
    selectableFields?: { jsonPath: string }[];
  }[];
}

export function crdSpec(crd: KubeObject): CrdSpec {
  return crd['spec'] as CrdSpec;
}

/** One ResourceType per served version of a CRD; all of them share the storage version's prefix. */
export function crdResourceTypes(crd: KubeObject): ResourceType[] {
  const spec = crdSpec(crd);
  const storage = spec.versions.find((v) => v.storage) ?? spec.versions[0];
  if (storage === undefined) return [];
  return spec.versions
    .filter((v) => v.served)
    .map((v) => {
      const rt: ResourceType = {
        group: spec.group,
        version: v.name,
        kind: spec.names.kind,
        listKind: spec.names.listKind ?? `${spec.names.kind}List`,
        plural: spec.names.plural,
        singular: spec.names.singular ?? spec.names.kind.toLowerCase(),
        shortNames: spec.names.shortNames ?? [],
        categories: spec.names.categories ?? [],
        namespaced: spec.scope === 'Namespaced',
        verbs: VERBS,
        statusSubresource: v.subresources?.status !== undefined,
        storagePrefix: `/registry/${spec.group}/${spec.names.plural}/`,
        selectableFields: (v.selectableFields ?? []).map((f) => f.jsonPath.replace(/^\./, '')),
        allowCreateOnUpdate: false,
        allowUnconditionalUpdate: false,
        strategicMergePatch: false,
        schema: { crd: v.schema?.openAPIV3Schema, preserveUnknownFields: spec.preserveUnknownFields === true },
        printerColumns: v.additionalPrinterColumns ?? [],
        storageVersion: storage.name,
        crdName: crd.metadata.name ?? '',
      };
      return v.subresources?.scale !== undefined ? { ...rt, scale: v.subresources.scale } : rt;
    });
}
