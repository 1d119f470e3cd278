/**
 * Which message a protobuf body holds, from the `apiVersion` and `kind` of its envelope: the
 * built-in kinds kedge serves, their lists, and the option and status kinds clients send.
 */

const BY_GROUP_VERSION: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  v1: {
    Binding: 'core.v1.Binding',
    ConfigMap: 'core.v1.ConfigMap',
    ConfigMapList: 'core.v1.ConfigMapList',
    Endpoints: 'core.v1.Endpoints',
    EndpointsList: 'core.v1.EndpointsList',
    Event: 'core.v1.Event',
    EventList: 'core.v1.EventList',
    Namespace: 'core.v1.Namespace',
    NamespaceList: 'core.v1.NamespaceList',
    Node: 'core.v1.Node',
    NodeList: 'core.v1.NodeList',
    Pod: 'core.v1.Pod',
    PodList: 'core.v1.PodList',
    Secret: 'core.v1.Secret',
    SecretList: 'core.v1.SecretList',
    Service: 'core.v1.Service',
    ServiceAccount: 'core.v1.ServiceAccount',
    ServiceAccountList: 'core.v1.ServiceAccountList',
    ServiceList: 'core.v1.ServiceList',
    Status: 'meta.v1.Status',
  },
  'apps/v1': {
    DaemonSet: 'apps.v1.DaemonSet',
    DaemonSetList: 'apps.v1.DaemonSetList',
    Deployment: 'apps.v1.Deployment',
    DeploymentList: 'apps.v1.DeploymentList',
    ReplicaSet: 'apps.v1.ReplicaSet',
    ReplicaSetList: 'apps.v1.ReplicaSetList',
  },
  'autoscaling/v1': { Scale: 'autoscaling.v1.Scale' },
  'coordination.k8s.io/v1': { Lease: 'coordination.v1.Lease', LeaseList: 'coordination.v1.LeaseList' },
  'apiextensions.k8s.io/v1': {
    CustomResourceDefinition: 'apiextensions.v1.CustomResourceDefinition',
    CustomResourceDefinitionList: 'apiextensions.v1.CustomResourceDefinitionList',
  },
  'meta.k8s.io/v1': { Status: 'meta.v1.Status' },
};

/** Kinds client-go encodes with the version of whatever resource they go to (`apps/v1` DeleteOptions). */
const IN_EVERY_VERSION: Readonly<Record<string, string>> = { DeleteOptions: 'meta.v1.DeleteOptions' };

/**
 * The full message name (`apps.v1.Deployment`) of a kind in an API version, or undefined for a
 * kind kedge cannot decode from protobuf (custom resources never arrive as protobuf).
 */
export function messageForKind(apiVersion: string, kind: string): string | undefined {
  const inVersion = Object.hasOwn(BY_GROUP_VERSION, apiVersion) ? BY_GROUP_VERSION[apiVersion] : undefined;
  if (inVersion !== undefined && Object.hasOwn(inVersion, kind)) return inVersion[kind];
  return Object.hasOwn(IN_EVERY_VERSION, kind) ? IN_EVERY_VERSION[kind] : undefined;
}
