import { apiErrors } from '../../../api/errors.ts';
import { isJsonObject, type KubeObject } from '../../../api/object.ts';
import type { RestStorage, WriteOptions } from '../storage/rest-storage.ts';
import { decodeBody, readBody, sendObject } from './io.ts';
import type { ResourceRequest } from './resource-handler.ts';

/** The subresource through which the namespace controller clears `spec.finalizers`. */
export const NAMESPACE_FINALIZE_SUBRESOURCE = 'finalize';

/**
 * PUT /api/v1/namespaces/<name>/finalize: replaces only `spec.finalizers`. A terminating namespace
 * left with no finalizer of either kind is deleted.
 */
export async function namespaceFinalize(r: ResourceRequest, storage: RestStorage): Promise<void> {
  if (r.info.verb !== 'update') throw apiErrors.methodNotAllowed(r.info.verb, { group: '', resource: 'namespaces/finalize' });
  const body = decodeBody(await readBody(r.req), 'json');
  if (!isJsonObject(body)) throw apiErrors.badRequest('the request body must be a Namespace');
  const spec = body['spec'];
  const finalizers = isJsonObject(spec) ? (spec['finalizers'] ?? []) : [];
  if (!Array.isArray(finalizers) || !finalizers.every((f) => typeof f === 'string')) throw apiErrors.badRequest('spec.finalizers must be a list of strings');
  const opts = { dryRun: r.query.dryRun(), fieldValidation: 'Ignore' as const, user: r.user.name };
  sendObject(r.res, 200, await finalizeNamespace(storage, r.info.name ?? '', finalizers, opts));
}

/**
 * Sets a namespace's `spec.finalizers`; a terminating namespace left with no finalizer of either
 * kind is deleted. Returns the namespace as stored, or its last state if it is gone.
 * @throws ApiError 404 when there is no such namespace
 */
export async function finalizeNamespace(storage: RestStorage, name: string, finalizers: readonly string[], opts: WriteOptions): Promise<KubeObject> {
  const result = await storage.mutate(undefined, name, opts, NAMESPACE_FINALIZE_SUBRESOURCE, (current) => {
    if (current === undefined) throw apiErrors.notFound({ group: '', resource: 'namespaces', name });
    return { ...current, spec: { ...(current['spec'] as object | undefined), finalizers: [...finalizers] } };
  });
  const ns = result.object;
  if (ns.metadata.deletionTimestamp === undefined || finalizers.length > 0 || (ns.metadata.finalizers ?? []).length > 0) return ns;
  return (await storage.delete(undefined, name, { dryRun: opts.dryRun, user: opts.user, gracePeriodSeconds: 0 })).object;
}
