import type { KubeObject } from '../../../../api/object.ts';
import type { ResourceHooks } from '../../storage/hooks.ts';

interface PodLike {
  spec?: { nodeName?: string; terminationGracePeriodSeconds?: number; serviceAccountName?: string; serviceAccount?: string; containers?: { resources?: { requests?: Record<string, string>; limits?: Record<string, string> } }[]; initContainers?: { resources?: { requests?: Record<string, string>; limits?: Record<string, string> } }[] };
  status?: { phase?: string; qosClass?: string };
}

/**
 * Pods: created Pending with their QoS class and the namespace's `default` service account; a pod
 * bound to a node is deleted gracefully (it lingers with a deletionTimestamp until the node has
 * stopped it), an unbound or finished one at once.
 */
export function podHooks(): ResourceHooks {
  return {
    admitCreate(obj) {
      const pod = obj as KubeObject & PodLike;
      pod.spec ??= {};
      if (pod.spec.serviceAccountName === undefined || pod.spec.serviceAccountName === '') pod.spec.serviceAccountName = pod.spec.serviceAccount || 'default';
      pod.spec.serviceAccount = pod.spec.serviceAccountName;
      pod['status'] = { phase: 'Pending', qosClass: qosClass(pod) };
    },
    gracefulDeletion(obj, requested) {
      const pod = obj as KubeObject & PodLike;
      const bound = pod.spec?.nodeName !== undefined && pod.spec.nodeName !== '';
      const finished = pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
      if (!bound || finished) return 0;
      return requested ?? pod.spec?.terminationGracePeriodSeconds ?? 30;
    },
  };
}

/** Kubernetes' QoS class: Guaranteed when every container's limits equal its requests for cpu and memory. */
export function qosClass(pod: PodLike): 'Guaranteed' | 'Burstable' | 'BestEffort' {
  const containers = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])];
  let any = false;
  let guaranteed = containers.length > 0;
  for (const c of containers) {
    const req = c.resources?.requests ?? {};
    const lim = c.resources?.limits ?? {};
    for (const r of ['cpu', 'memory']) {
      if (req[r] !== undefined || lim[r] !== undefined) any = true;
      const request = req[r] ?? lim[r];
      if (lim[r] === undefined || request !== lim[r]) guaranteed = false;
    }
  }
  if (!any) return 'BestEffort';
  return guaranteed ? 'Guaranteed' : 'Burstable';
}
