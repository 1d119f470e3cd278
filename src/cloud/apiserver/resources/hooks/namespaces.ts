import { apiErrors, ApiError } from '../../../../api/errors.ts';
import type { KubeObject } from '../../../../api/object.ts';
import type { ResourceHooks } from '../../storage/hooks.ts';
import type { RestStorage } from '../../storage/rest-storage.ts';
import { rfc3339 } from '../../../../api/time.ts';

/** The finalizer Kubernetes puts in a namespace's spec so it waits until its content is gone. */
export const NAMESPACE_FINALIZER = 'kubernetes';

/**
 * Namespaces as Kubernetes has them: created Active with the `kubernetes` spec finalizer and the
 * `kubernetes.io/metadata.name` label; deleting one only marks it Terminating until the namespace
 * controller has emptied it and cleared the finalizer (through the `finalize` subresource).
 */
export function namespaceHooks(now: () => Date = () => new Date()): ResourceHooks {
  return {
    admitCreate(obj) {
      const name = obj.metadata.name ?? '';
      obj.metadata.labels = { ...obj.metadata.labels, 'kubernetes.io/metadata.name': name };
      obj['spec'] = { finalizers: [NAMESPACE_FINALIZER] };
      obj['status'] = { phase: 'Active' };
    },
    admitUpdate(obj, old, _ctx, subresource) {
      // The name label always tells the truth; spec.finalizers change only through `finalize`,
      // which changes nothing else.
      obj.metadata.labels = { ...obj.metadata.labels, 'kubernetes.io/metadata.name': obj.metadata.name ?? '' };
      if (subresource === 'finalize') {
        const finalizers = (obj['spec'] as { finalizers?: string[] } | undefined)?.finalizers ?? [];
        const next = structuredClone(old);
        next['spec'] = { ...(old['spec'] as object | undefined), finalizers };
        for (const k of Object.keys(obj)) delete obj[k];
        Object.assign(obj, next);
        return;
      }
      if (subresource === undefined) obj['spec'] = old['spec'];
    },
    heldBeyondFinalizers(obj) {
      return ((obj['spec'] as { finalizers?: string[] } | undefined)?.finalizers ?? []).length > 0;
    },
    beforeDelete(obj) {
      const spec = obj['spec'] as { finalizers?: string[] } | undefined;
      if ((spec?.finalizers ?? []).length === 0 && (obj.metadata.finalizers ?? []).length === 0) return undefined;
      if (obj.metadata.deletionTimestamp === undefined) {
        obj.metadata.deletionTimestamp = rfc3339(now().getTime());
        obj.metadata.deletionGracePeriodSeconds = 0;
      }
      obj['status'] = { ...(obj['status'] as object | undefined), phase: 'Terminating' };
      return obj;
    },
  };
}

/**
 * The namespace lifecycle admission: namespaced objects may only be created in a namespace that
 * exists and is not being deleted.
 */
export function namespaceLifecycleHooks(namespaces: () => RestStorage | undefined): ResourceHooks {
  return {
    async admitCreate(obj: KubeObject) {
      const ns = obj.metadata.namespace ?? '';
      const storage = namespaces();
      if (storage === undefined) return;
      let namespace: KubeObject;
      try {
        namespace = await storage.get(undefined, ns, '0').catch(() => storage.get(undefined, ns));
      } catch {
        throw apiErrors.notFound({ group: '', resource: 'namespaces', name: ns });
      }
      if (namespace.metadata.deletionTimestamp !== undefined) {
        throw new ApiError('API_FORBIDDEN', 403, 'Forbidden', `unable to create new content in namespace ${ns} because it is being terminated`, { name: ns, kind: 'namespaces' });
      }
    },
  };
}
