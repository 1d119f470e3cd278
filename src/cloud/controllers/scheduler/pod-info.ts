import type { NodeSelectorTerm, Pod, Toleration } from 'kubernetes-types/core/v1.d.ts';
import { podRequests, type Resources } from './resources.ts';

/** A host port a pod wants, with Kubernetes' defaults filled in (TCP, every address). */
export interface HostPort {
  readonly protocol: string;
  readonly ip: string;
  readonly port: number;
}

/** The address meaning "every address"; it conflicts with any other address on the same port. */
export const ANY_IP = '0.0.0.0';

/**
 * Everything the scheduler needs from a pod, computed once per pod rather than once per node
 * considered: a decision over 500 nodes reads these 500 times.
 */
export interface PodInfo {
  readonly key: string;
  readonly uid: string;
  readonly requests: Resources;
  /** Requests with 100m / 200Mi standing in for missing cpu/memory requests, for scoring. */
  readonly nonZeroRequests: Resources;
  readonly hostPorts: readonly HostPort[];
  readonly nodeSelector: Readonly<Record<string, string>>;
  readonly requiredTerms: readonly NodeSelectorTerm[] | undefined;
  readonly tolerations: readonly Toleration[];
  /** The uid of the controller owning the pod (ReplicaSet, DaemonSet, ...), whose replicas are spread. */
  readonly owner: string | undefined;
}

/** The uid of the ownerReference with `controller: true`. */
export function controllerUid(pod: Pod): string | undefined {
  return pod.metadata?.ownerReferences?.find((r) => r.controller === true)?.uid;
}

export function hostPortsOf(pod: Pod): HostPort[] {
  const out: HostPort[] = [];
  for (const c of [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])]) {
    for (const p of c.ports ?? []) {
      if (p.hostPort === undefined || p.hostPort <= 0) continue;
      out.push({ protocol: p.protocol ?? 'TCP', ip: p.hostIP === undefined || p.hostIP === '' ? ANY_IP : p.hostIP, port: p.hostPort });
    }
  }
  return out;
}

export function podInfoOf(key: string, pod: Pod): PodInfo {
  const spec = pod.spec;
  return {
    key,
    uid: pod.metadata?.uid ?? '',
    requests: podRequests(pod),
    nonZeroRequests: podRequests(pod, true),
    hostPorts: hostPortsOf(pod),
    nodeSelector: spec?.nodeSelector ?? {},
    requiredTerms: spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms,
    tolerations: spec?.tolerations ?? [],
    owner: controllerUid(pod),
  };
}
