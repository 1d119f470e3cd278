import { apiErrors } from '../../../api/errors.ts';
import { isJsonObject } from '../../../api/object.ts';
import type { RestStorage } from '../storage/rest-storage.ts';
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
  const name = r.info.name ?? '';
  const opts = { dryRun: r.query.dryRun(), fieldValidation: 'Ignore' as const, user: r.user.name };
  const result = await storage.mutate(undefined, name, opts, 'finalize', (current) => {
    if (current === undefined) throw apiErrors.notFound({ group: '', resource: 'namespaces', name });
    return { ...current, spec: { ...(current['spec'] as object | undefined), finalizers } };
  });
  const ns = result.object;
  if (ns.metadata.deletionTimestamp !== undefined && finalizers.length === 0 && (ns.metadata.finalizers ?? []).length === 0) {
    const gone = await storage.delete(undefined, name, { dryRun: opts.dryRun, user: opts.user, gracePeriodSeconds: 0 });
    sendObject(r.res, 200, gone.object);
    return;
  }
  sendObject(r.res, 200, ns);
}
