import type { KubeObject } from '../../../api/object.ts';
import type { Logger } from '../../../log/logger.ts';
import { describeError } from '../../../errors/platform-error.ts';
import type { ResourceRegistry } from '../resources/registry.ts';
import type { RestStorage, WriteOptions } from '../storage/rest-storage.ts';
import { crdResourceTypes, crdSpec } from './resource-types.ts';

/** The finalizer that keeps a CRD until every object of it is deleted. */
export const CRD_CLEANUP_FINALIZER = 'customresourcecleanup.apiextensions.k8s.io';

const SYSTEM_WRITE: WriteOptions = { dryRun: false, fieldValidation: 'Ignore', user: 'system:apiextensions' };

/**
 * Serves the resources of every CustomResourceDefinition: registers its versions when it appears or
 * changes, and when it is deleted removes all its objects, stops serving them, and lets it go.
 * Level-triggered: each CRD is reconciled from its current state, whatever event brought it.
 */
export class CrdController {
  readonly #crds: RestStorage;
  readonly #registry: ResourceRegistry;
  readonly #log: Logger;
  /** Per CRD name, the group/version/plural triples currently served for it. */
  readonly #served = new Map<string, string[]>();
  #synced: Promise<void> | undefined;

  constructor(options: { crds: RestStorage; registry: ResourceRegistry; log: Logger }) {
    this.#crds = options.crds;
    this.#registry = options.registry;
    this.#log = options.log;
  }

  /** Serves every existing CRD, then follows changes until `signal` aborts. Resolves when the existing ones are served. */
  async start(signal: AbortSignal): Promise<void> {
    const snapshot = await this.#crds.snapshot(undefined, undefined, true);
    for (const o of snapshot.items) await this.#reconcile(this.#crds.served(o));
    this.#synced = this.#follow(snapshot.revision, signal).catch((err: unknown) => {
      if (!signal.aborted) this.#log.error('CRD watch ended', { err: describeError(err) });
    });
  }

  /** Resolves when the watch loop ends (after `signal` aborted). */
  async stopped(): Promise<void> {
    await this.#synced;
  }

  /** Registers a CRD's versions at once (used right after a create so its resources are served immediately). */
  async reconcileNow(crd: KubeObject): Promise<void> {
    await this.#reconcile(crd);
  }

  async #follow(after: number, signal: AbortSignal): Promise<void> {
    for await (const batch of this.#crds.watch(undefined, after, undefined, signal)) {
      for (const ev of batch.events) {
        const crd = this.#crds.served(ev.object);
        if (ev.type === 'DELETED') this.#unserve(crd.metadata.name ?? '');
        else await this.#reconcile(crd);
      }
    }
  }

  async #reconcile(crd: KubeObject): Promise<void> {
    const name = crd.metadata.name ?? '';
    try {
      if (crd.metadata.deletionTimestamp !== undefined) {
        await this.#cleanUp(crd);
        return;
      }
      const types = crdResourceTypes(crd);
      const ids = types.map((t) => `${t.group}/${t.version}/${t.plural}`);
      for (const stale of (this.#served.get(name) ?? []).filter((id) => !ids.includes(id))) {
        const [g = '', v = '', p = ''] = stale.split('/');
        this.#registry.remove(g, v, p);
      }
      for (const t of types) await this.#registry.add(t);
      this.#served.set(name, ids);
    } catch (err) {
      this.#log.error('cannot serve CRD', { crd: name, err: describeError(err) });
    }
  }

  async #cleanUp(crd: KubeObject): Promise<void> {
    const name = crd.metadata.name ?? '';
    if (!(crd.metadata.finalizers ?? []).includes(CRD_CLEANUP_FINALIZER)) return;
    const spec = crdSpec(crd);
    const storageVersion = spec.versions.find((v) => v.storage)?.name ?? spec.versions[0]?.name ?? '';
    const objects = this.#registry.lookup(spec.group, storageVersion, spec.names.plural);
    if (objects !== undefined) {
      await objects.deleteCollection(undefined, {}, { dryRun: false, user: 'system:apiextensions', gracePeriodSeconds: 0 });
      const left = await objects.list(undefined, {});
      if (left.items.length > 0) return; // objects with finalizers of their own: their updates bring us back here
    }
    this.#unserve(name);
    await this.#crds.mutate(undefined, name, SYSTEM_WRITE, undefined, (current) => {
      if (current === undefined) return crd;
      current.metadata.finalizers = (current.metadata.finalizers ?? []).filter((f) => f !== CRD_CLEANUP_FINALIZER);
      return current;
    });
    this.#log.info('CRD deleted with its objects', { crd: name });
  }

  #unserve(name: string): void {
    for (const id of this.#served.get(name) ?? []) {
      const [g = '', v = '', p = ''] = id.split('/');
      this.#registry.remove(g, v, p);
    }
    this.#served.delete(name);
  }
}
