/**
 * Kubernetes' defaulting for the built-in kinds kedge serves. The API server calls
 * {@link applyDefaults} on every create and update, before validation, exactly where
 * kube-apiserver runs its defaulters: the object is changed in place.
 */
import type { CustomResourceDefinition } from 'kubernetes-types/apiextensions/v1.d.ts';
import type { DaemonSet, Deployment, ReplicaSet } from 'kubernetes-types/apps/v1.d.ts';
import type { Endpoints, Namespace, Node, Pod, Secret, Service } from 'kubernetes-types/core/v1.d.ts';
import type { GroupVersionKind, KubeObject } from '../object.ts';
import { defaultCRD, defaultEndpoints, defaultNamespace, defaultNode, defaultSecret, defaultService } from './core.ts';
import { defaultPod } from './pod.ts';
import { defaultDaemonSet, defaultDeployment, defaultReplicaSet } from './workloads.ts';

export { defaultPodSpec, imageTag, podQOSClass, type QOSClass, DEFAULT_SCHEDULER_NAME, DEFAULT_TERMINATION_GRACE_PERIOD_SECONDS } from './pod.ts';
export { NAMESPACE_NAME_LABEL } from './core.ts';

type Defaulter = (obj: KubeObject) => void;

/** Defaulters by `group/kind`; kinds not listed (ConfigMap, Event, Lease...) have no defaults. */
const DEFAULTERS: ReadonlyMap<string, Defaulter> = new Map<string, Defaulter>([
  ['/Pod', (o) => defaultPod(o as Pod)],
  ['/Namespace', (o) => defaultNamespace(o as Namespace)],
  ['/Node', (o) => defaultNode(o as Node)],
  ['/Secret', (o) => defaultSecret(o as Secret)],
  ['/Service', (o) => defaultService(o as Service)],
  ['/Endpoints', (o) => defaultEndpoints(o as Endpoints)],
  ['apps/Deployment', (o) => defaultDeployment(o as Deployment)],
  ['apps/ReplicaSet', (o) => defaultReplicaSet(o as ReplicaSet)],
  ['apps/DaemonSet', (o) => defaultDaemonSet(o as DaemonSet)],
  ['apiextensions.k8s.io/CustomResourceDefinition', (o) => defaultCRD(o as unknown as CustomResourceDefinition)],
]);

/** Fills the fields Kubernetes defaults, in place. Idempotent: defaulting twice changes nothing more. */
export function applyDefaults(gvk: GroupVersionKind, obj: KubeObject): void {
  DEFAULTERS.get(`${gvk.group}/${gvk.kind}`)?.(obj);
}
