import type { DaemonSet, Deployment, ReplicaSet } from 'kubernetes-types/apps/v1.d.ts';
import type { Node, Pod } from 'kubernetes-types/core/v1.d.ts';
import type { OwnerReference } from 'kubernetes-types/meta/v1.d.ts';
import type { KubeObject } from '../../../api/object.ts';
import { compareStrings } from '../../../api/compare.ts';

/** Objects as the informers and clients carry them: kubernetes-types' shapes with the metadata kedge always has. */
export type PodObject = KubeObject & Pod;
export type NodeObject = KubeObject & Node;
export type ReplicaSetObject = KubeObject & ReplicaSet;
export type DeploymentObject = KubeObject & Deployment;
export type DaemonSetObject = KubeObject & DaemonSet;

/** The group/version/kind an owner reference names. */
export interface OwnerKind {
  readonly apiVersion: string;
  readonly kind: string;
}

/** What the controllers' owner references name. */
export const REPLICA_SET_KIND: OwnerKind = { apiVersion: 'apps/v1', kind: 'ReplicaSet' };
export const DEPLOYMENT_KIND: OwnerKind = { apiVersion: 'apps/v1', kind: 'Deployment' };
export const DAEMON_SET_KIND: OwnerKind = { apiVersion: 'apps/v1', kind: 'DaemonSet' };

/** The owner reference with `controller: true` (`metav1.GetControllerOf`), if any. */
export function controllerOf(obj: KubeObject): OwnerReference | undefined {
  return obj.metadata.ownerReferences?.find((r) => r.controller === true);
}

/**
 * `metav1.NewControllerRef`: the reference a controller puts on what it creates or adopts.
 * `blockOwnerDeletion` makes a foreground deletion of the owner wait for the dependant.
 */
export function newControllerRef(owner: KubeObject, kind: OwnerKind): OwnerReference {
  return { apiVersion: kind.apiVersion, kind: kind.kind, name: owner.metadata.name ?? '', uid: owner.metadata.uid ?? '', controller: true, blockOwnerDeletion: true };
}

/** An RFC 3339 timestamp as milliseconds since the epoch; 0 when absent or unparsable (Go's zero time sorts first too). */
export function timeMs(t: string | undefined): number {
  if (t === undefined || t === '') return 0;
  const ms = Date.parse(t);
  return Number.isNaN(ms) ? 0 : ms;
}

/** `ReplicaSetsByCreationTimestamp` and friends: older first, then by name. */
export function byCreation(a: KubeObject, b: KubeObject): number {
  const d = timeMs(a.metadata.creationTimestamp) - timeMs(b.metadata.creationTimestamp);
  if (d !== 0) return d;
  return compareStrings(a.metadata.name ?? '', b.metadata.name ?? '');
}


/** The value of Kubernetes' `IntOrString` fields (maxSurge, maxUnavailable). */
export type IntOrString = number | string;

/**
 * `intstr.GetScaledValueFromIntOrPercent`: an integer as is, or `N%` of `total`, rounded up or down.
 * @throws Error for a string that is not a percentage (validation rejects those first)
 */
export function scaledValue(value: IntOrString, total: number, roundUp: boolean): number {
  if (typeof value === 'number') return value;
  const m = /^(-?\d+)%$/.exec(value);
  if (m === null) throw new Error(`invalid value for IntOrString: invalid type: string is not a percentage: ${value}`);
  const scaled = (Number(m[1]) * total) / 100;
  return roundUp ? Math.ceil(scaled) : Math.floor(scaled);
}

/** Informer index: an object's controller uid, or {@link orphanIndexValue} when it has none. */
export const BY_CONTROLLER = 'byController';

/** The {@link BY_CONTROLLER} value of the objects without a controller in `namespace` (uids never contain `/`). */
export function orphanIndexValue(namespace: string | undefined): string {
  return `orphan/${namespace ?? ''}`;
}

/** The index function of {@link BY_CONTROLLER}. */
export function controllerIndex(obj: KubeObject): string[] {
  const ref = controllerOf(obj);
  return [ref !== undefined ? ref.uid : orphanIndexValue(obj.metadata.namespace)];
}

/** Informer index: an object's uid. */
export const BY_UID = 'byUid';

/** The index function of {@link BY_UID}. */
export function uidIndex(obj: KubeObject): string[] {
  return obj.metadata.uid !== undefined ? [obj.metadata.uid] : [];
}
