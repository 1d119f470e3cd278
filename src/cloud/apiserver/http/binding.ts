import type { Binding, Pod, PodCondition } from 'kubernetes-types/core/v1.d.ts';
import { apiErrors } from '../../../api/errors.ts';
import { isJsonObject, type KubeObject } from '../../../api/object.ts';
import { validateBinding } from '../../../api/validation/pod.ts';
import { hasCode } from '../../../errors/platform-error.ts';
import type { Backend } from '../../../store/backend.ts';
import type { RestStorage } from '../storage/rest-storage.ts';
import { decodeBody, readBody, sendObject } from './io.ts';
import type { ResourceRequest } from './resource-handler.ts';
import { rfc3339 } from '../../../api/time.ts';

/** The pods subresource through which a scheduler assigns a pod to a node. */
export const POD_BINDING_SUBRESOURCE = 'binding';

/** Concurrent writes to the pod (status updates) are retried this often. */
const MAX_CONFLICT_RETRIES = 5;

/** Where a binding writes: the store, and the pods storage that knows the pod's key. */
export interface BindingTarget {
  readonly backend: Backend;
  readonly pods: RestStorage;
}

type StoredPod = KubeObject & Pod;

/**
 * Assigns a pod to a node, as kube-apiserver's `BindingREST` does: in one read-modify-write on the
 * store (a guaranteed update that bypasses the pod update strategy, since `spec.nodeName` may
 * change in no other way) it sets `spec.nodeName`, copies the binding's annotations onto the pod
 * and marks it PodScheduled=True. A pod can be bound once.
 *
 * @throws ApiError 400 (the binding names another pod), 404 (no such pod), 409 (already bound,
 *   being deleted, or the binding's uid is not the pod's), 422 (the target is not a Node by name)
 */
export async function bindPod(target: BindingTarget, namespace: string, name: string, binding: Binding, options: { readonly dryRun: boolean }, now: () => Date = () => new Date()): Promise<Pod> {
  const bindingName = binding.metadata?.name ?? '';
  if (bindingName !== '' && bindingName !== name) throw apiErrors.badRequest('name in URL does not match name in Binding object');
  const errors = validateBinding(binding as unknown as KubeObject);
  if (errors.length > 0) throw apiErrors.invalid('Binding', '', name, errors);
  const nodeName = binding.target.name ?? '';
  const uid = binding.metadata?.uid;
  const key = target.pods.key(namespace, name);
  const notFound = (): Error => apiErrors.notFound({ group: '', resource: 'pods', name });
  const conflict = (why: string): Error => apiErrors.conflict({ group: '', resource: 'pods/binding', name }, why);
  for (let attempt = 0; ; attempt++) {
    const kv = await target.backend.get(key);
    if (kv === undefined) throw notFound();
    // Stored without resourceVersion (it is the store's revision): what is written back stays so.
    const pod = JSON.parse(kv.value) as StoredPod;
    if (uid !== undefined && uid !== '' && uid !== pod.metadata.uid) {
      throw conflict(`Precondition failed: UID in precondition: ${uid}, UID in object meta: ${pod.metadata.uid ?? ''}`);
    }
    if (pod.metadata.deletionTimestamp !== undefined) throw conflict(`pod ${name} is being deleted, cannot be assigned to a host`);
    const bound = pod.spec?.nodeName ?? '';
    if (bound !== '') throw conflict(`pod ${name} is already assigned to node "${bound}"`);
    const annotations = binding.metadata?.annotations;
    if (annotations !== undefined) pod.metadata.annotations = { ...pod.metadata.annotations, ...annotations };
    pod.spec = { containers: [], ...pod.spec, nodeName };
    const previous = pod.status?.conditions?.find((c) => c.type === 'PodScheduled');
    const scheduled: PodCondition = {
      type: 'PodScheduled',
      status: 'True',
      lastTransitionTime: previous?.status === 'True' && previous.lastTransitionTime !== undefined ? previous.lastTransitionTime : rfc3339(now().getTime()),
    };
    const next: StoredPod = { ...pod, status: { ...pod.status, conditions: [...(pod.status?.conditions ?? []).filter((c) => c.type !== 'PodScheduled'), scheduled] } };
    if (options.dryRun) return { ...next, metadata: { ...next.metadata, resourceVersion: String(kv.modRevision) } };
    try {
      const written = await target.backend.update(key, JSON.stringify(next), kv.modRevision);
      return { ...next, metadata: { ...next.metadata, resourceVersion: String(written.modRevision) } };
    } catch (err) {
      if (hasCode(err, 'STORE_NOT_FOUND')) throw notFound();
      if (hasCode(err, 'STORE_REVISION_MISMATCH') && attempt < MAX_CONFLICT_RETRIES) continue;
      throw err;
    }
  }
}

/**
 * POST /api/v1/namespaces/<ns>/pods/<name>/binding with a v1 Binding; answers 201 with a Success
 * Status, as kube-apiserver does. Register it as `(r, storage) => podBinding(r, storage, backend)`.
 */
export async function podBinding(r: ResourceRequest, pods: RestStorage, backend: Backend): Promise<void> {
  if (r.info.verb !== 'create') throw apiErrors.methodNotAllowed(r.info.verb, { group: '', resource: 'pods/binding' });
  const body = decodeBody(await readBody(r.req), 'json');
  if (!isJsonObject(body) || !isJsonObject(body['target'])) throw apiErrors.badRequest('the request body must be a Binding with a target');
  await bindPod({ backend, pods }, r.info.namespace ?? '', r.info.name ?? '', body as unknown as Binding, { dryRun: r.query.dryRun() });
  sendObject(r.res, 201, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 });
}

