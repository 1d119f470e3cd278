import type { KubeObject } from '../../../../api/object.ts';
import type { PodSpec } from 'kubernetes-types/core/v1.d.ts';
import { podQOSClass } from '../../../../api/defaults/index.ts';
import type { ResourceHooks } from '../../storage/hooks.ts';

interface PodLike {
  spec?: { nodeName?: string; terminationGracePeriodSeconds?: number; serviceAccountName?: string; serviceAccount?: string };
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
      pod['status'] = { phase: 'Pending', qosClass: podQOSClass(pod.spec as PodSpec) };
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
