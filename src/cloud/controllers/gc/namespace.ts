import type { Namespace } from 'kubernetes-types/core/v1.d.ts';
import type { KubeObject } from '../../../api/object.ts';
import type { Logger } from '../../../log/logger.ts';
import { hasCode } from '../../../errors/platform-error.ts';
import type { KubeClient, ResourceClient, ServedResource } from '../../client/client.ts';
import type { ReconcileResult, Reconciler } from '../runtime/controller.ts';
import type { Informer } from '../runtime/informer.ts';

export type NamespaceObject = KubeObject & Namespace;

/** The spec finalizer the API server puts on every namespace; this controller owns it. */
export const KUBERNETES_FINALIZER = 'kubernetes';
/** While content lingers (pods stopping, finalizers pending), look again after this long. */
export const CONTENT_RETRY_MS = 2_000;

export interface NamespaceControllerOptions {
  readonly namespaces: Informer<NamespaceObject>;
  readonly client: KubeClient;
  readonly log: Logger;
}

/**
 * The namespace controller: a namespace marked for deletion (Terminating, with the `kubernetes`
 * spec finalizer) has everything in it deleted — every namespaced resource served, custom
 * resources included — and, once nothing is left, its finalizer cleared through the `finalize`
 * subresource, which deletes it. Content that lingers (pods stopping gracefully, objects with
 * finalizers) is looked at again every {@link CONTENT_RETRY_MS}.
 */
export class NamespaceController implements Reconciler {
  readonly name = 'namespace';
  readonly #namespaces: Informer<NamespaceObject>;
  readonly #client: KubeClient;
  readonly #log: Logger;

  constructor(options: NamespaceControllerOptions) {
    this.#namespaces = options.namespaces;
    this.#client = options.client;
    this.#log = options.log;
  }

  async reconcile(name: string): Promise<ReconcileResult> {
    const ns = this.#namespaces.get(undefined, name);
    if (ns?.metadata.deletionTimestamp === undefined) return;
    const finalizers = ns.spec?.finalizers ?? [];
    if (!finalizers.includes(KUBERNETES_FINALIZER)) return;

    let remaining = 0;
    for (const r of namespacedResources(await this.#client.serverResources())) {
      remaining += (await this.#deleteAll(this.#client.resource(r.group, r.version, r.plural), name)).length;
    }
    if (remaining > 0) {
      this.#log.debug('namespace content remains', { namespace: name, objects: remaining });
      return { requeueAfterMs: CONTENT_RETRY_MS };
    }
    await this.#client.finalizeNamespace(
      name,
      finalizers.filter((f) => f !== KUBERNETES_FINALIZER),
    );
    this.#log.info('namespace emptied and finalized', { namespace: name });
    return;
  }

  /** Deletes every object of one resource in the namespace; returns those still there. */
  async #deleteAll(client: ResourceClient, namespace: string): Promise<KubeObject[]> {
    const left: KubeObject[] = [];
    for (const obj of (await client.list(namespace)).items) {
      if (obj.metadata.deletionTimestamp !== undefined) {
        left.push(obj);
        continue;
      }
      try {
        const r = await client.delete(namespace, obj.metadata.name ?? '', { propagationPolicy: 'Background', preconditions: { uid: obj.metadata.uid } });
        if (!r.deleted) left.push(r.object);
      } catch (err) {
        if (hasCode(err, 'API_NOT_FOUND') || hasCode(err, 'API_CONFLICT')) continue;
        throw err;
      }
    }
    return left;
  }
}

/** Each namespaced resource once (one version of it), that can be listed and deleted. */
export function namespacedResources(all: readonly ServedResource[]): ServedResource[] {
  const seen = new Set<string>();
  const out: ServedResource[] = [];
  for (const r of all) {
    if (!r.namespaced || !r.verbs.includes('list') || !r.verbs.includes('delete')) continue;
    const id = `${r.group}/${r.plural}`;
    if (seen.has(id)) continue;
    seen.add(id);
    out.push(r);
  }
  // Events last: deleting the rest records some.
  return out.sort((a, b) => Number(a.plural === 'events') - Number(b.plural === 'events'));
}
