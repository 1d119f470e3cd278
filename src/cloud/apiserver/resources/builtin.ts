import { VERBS, type ResourceType, type ScaleSubresource } from './resource-type.ts';

interface BuiltinSpec {
  group: string;
  version: string;
  kind: string;
  plural: string;
  definition: string;
  namespaced: boolean;
  shortNames?: string[];
  categories?: string[];
  status?: boolean;
  scale?: ScaleSubresource;
  selectableFields?: string[];
  allowCreateOnUpdate?: boolean;
  verbs?: ResourceType['verbs'];
}

const APPS_SCALE: ScaleSubresource = {
  specReplicasPath: '.spec.replicas',
  statusReplicasPath: '.status.replicas',
  labelSelectorPath: '.status.selector',
};

/**
 * The built-in resources kedge serves, with the names, scopes, subresources and selectable fields
 * Kubernetes gives them (so kubectl's short names, `kubectl get all` and field selectors behave the
 * same). Objects of every type are stored under `/registry/<group or core>/<plural>/`.
 */
const SPECS: BuiltinSpec[] = [
  { group: '', version: 'v1', kind: 'Namespace', plural: 'namespaces', definition: 'io.k8s.api.core.v1.Namespace', namespaced: false, shortNames: ['ns'], status: true, selectableFields: ['status.phase'], verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'] },
  { group: '', version: 'v1', kind: 'Node', plural: 'nodes', definition: 'io.k8s.api.core.v1.Node', namespaced: false, shortNames: ['no'], status: true, selectableFields: ['spec.unschedulable'] },
  {
    group: '',
    version: 'v1',
    kind: 'Pod',
    plural: 'pods',
    definition: 'io.k8s.api.core.v1.Pod',
    namespaced: true,
    shortNames: ['po'],
    categories: ['all'],
    status: true,
    selectableFields: ['spec.nodeName', 'spec.restartPolicy', 'spec.schedulerName', 'spec.serviceAccountName', 'spec.hostNetwork', 'status.phase', 'status.podIP', 'status.nominatedNodeName'],
  },
  { group: '', version: 'v1', kind: 'ConfigMap', plural: 'configmaps', definition: 'io.k8s.api.core.v1.ConfigMap', namespaced: true, shortNames: ['cm'] },
  { group: '', version: 'v1', kind: 'Secret', plural: 'secrets', definition: 'io.k8s.api.core.v1.Secret', namespaced: true, selectableFields: ['type'] },
  { group: '', version: 'v1', kind: 'Service', plural: 'services', definition: 'io.k8s.api.core.v1.Service', namespaced: true, shortNames: ['svc'], categories: ['all'], status: true, verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch', 'deletecollection'] },
  { group: '', version: 'v1', kind: 'Endpoints', plural: 'endpoints', definition: 'io.k8s.api.core.v1.Endpoints', namespaced: true, shortNames: ['ep'], allowCreateOnUpdate: true },
  {
    group: '',
    version: 'v1',
    kind: 'Event',
    plural: 'events',
    definition: 'io.k8s.api.core.v1.Event',
    namespaced: true,
    shortNames: ['ev'],
    allowCreateOnUpdate: true,
    selectableFields: [
      'involvedObject.kind',
      'involvedObject.namespace',
      'involvedObject.name',
      'involvedObject.uid',
      'involvedObject.apiVersion',
      'involvedObject.resourceVersion',
      'involvedObject.fieldPath',
      'reason',
      'reportingComponent',
      'source',
      'type',
    ],
  },
  { group: '', version: 'v1', kind: 'ServiceAccount', plural: 'serviceaccounts', definition: 'io.k8s.api.core.v1.ServiceAccount', namespaced: true, shortNames: ['sa'] },
  { group: 'coordination.k8s.io', version: 'v1', kind: 'Lease', plural: 'leases', definition: 'io.k8s.api.coordination.v1.Lease', namespaced: true, allowCreateOnUpdate: true },
  { group: 'apps', version: 'v1', kind: 'Deployment', plural: 'deployments', definition: 'io.k8s.api.apps.v1.Deployment', namespaced: true, shortNames: ['deploy'], categories: ['all'], status: true, scale: APPS_SCALE },
  { group: 'apps', version: 'v1', kind: 'ReplicaSet', plural: 'replicasets', definition: 'io.k8s.api.apps.v1.ReplicaSet', namespaced: true, shortNames: ['rs'], categories: ['all'], status: true, scale: APPS_SCALE, selectableFields: ['status.replicas'] },
  { group: 'apps', version: 'v1', kind: 'DaemonSet', plural: 'daemonsets', definition: 'io.k8s.api.apps.v1.DaemonSet', namespaced: true, shortNames: ['ds'], categories: ['all'], status: true },
  {
    group: 'apiextensions.k8s.io',
    version: 'v1',
    kind: 'CustomResourceDefinition',
    plural: 'customresourcedefinitions',
    definition: 'io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinition',
    namespaced: false,
    shortNames: ['crd', 'crds'],
    categories: ['api-extensions'],
    status: true,
  },
];

function toResourceType(s: BuiltinSpec): ResourceType {
  const rt: ResourceType = {
    group: s.group,
    version: s.version,
    kind: s.kind,
    listKind: `${s.kind}List`,
    plural: s.plural,
    singular: s.kind.toLowerCase(),
    shortNames: s.shortNames ?? [],
    categories: s.categories ?? [],
    namespaced: s.namespaced,
    verbs: s.verbs ?? VERBS,
    statusSubresource: s.status ?? false,
    storagePrefix: `/registry/${s.group === '' ? 'core' : s.group}/${s.plural}/`,
    selectableFields: s.selectableFields ?? [],
    allowCreateOnUpdate: s.allowCreateOnUpdate ?? false,
    allowUnconditionalUpdate: true,
    strategicMergePatch: true,
    schema: { definition: s.definition },
    storageVersion: s.version,
  };
  return s.scale === undefined ? rt : { ...rt, scale: s.scale };
}

/** The built-in resource types, frozen. */
export const BUILTIN_RESOURCES: readonly ResourceType[] = Object.freeze(SPECS.map(toResourceType));
