import type { Backend } from '../../../store/backend.ts';
import { Cacher, type AttrsFn, type ObjectAttrs } from '../../../store/cacher.ts';
import type { Logger } from '../../../log/logger.ts';
import type { KubeObject } from '../../../api/object.ts';
import { RestStorage } from '../storage/rest-storage.ts';
import type { ObjectPolicy } from '../storage/policy.ts';
import type { ResourceHooks } from '../storage/hooks.ts';
import { fieldValue, type ResourceType } from './resource-type.ts';

/** Builds the parts of a storage that depend on the type. */
export interface StorageFactory {
  policy(rt: ResourceType): ObjectPolicy;
  hooks(rt: ResourceType): ResourceHooks | undefined;
}

interface CacherEntry {
  readonly cacher: Cacher;
  readonly abort: AbortController;
  users: number;
}

/**
 * The resources the API server serves right now: the built-in types, plus one entry per served
 * version of every established CRD. Each storage prefix has one watch cache, shared by all the
 * versions stored under it. Listeners hear about every change (discovery and OpenAPI follow it).
 */
export class ResourceRegistry {
  readonly #backend: Backend;
  readonly #log: Logger;
  readonly #factory: StorageFactory;
  readonly #storages = new Map<string, RestStorage>();
  readonly #cachers = new Map<string, CacherEntry>();
  readonly #listeners = new Set<() => void>();

  constructor(options: { backend: Backend; log: Logger; factory: StorageFactory }) {
    this.#backend = options.backend;
    this.#log = options.log;
    this.#factory = options.factory;
  }

  /** Serves `rt` (replacing an earlier definition of the same group/version/plural). Resolves once its cache is loaded. */
  async add(rt: ResourceType): Promise<RestStorage> {
    const id = storageId(rt.group, rt.version, rt.plural);
    const previous = this.#storages.get(id);
    if (previous !== undefined && previous.rt.storagePrefix !== rt.storagePrefix) this.#release(previous.rt.storagePrefix);
    let entry = this.#cachers.get(rt.storagePrefix);
    if (entry === undefined) {
      const abort = new AbortController();
      const cacher = new Cacher({ backend: this.#backend, prefix: rt.storagePrefix, attrs: attrsFor(rt), log: this.#log.child({ component: 'cacher', resource: rt.plural }) });
      entry = { cacher, abort, users: 0 };
      this.#cachers.set(rt.storagePrefix, entry);
      await cacher.start(abort.signal);
    }
    if (previous === undefined || previous.rt.storagePrefix !== rt.storagePrefix) entry.users++;
    const hooks = this.#factory.hooks(rt);
    const storage = new RestStorage({
      resourceType: rt,
      backend: this.#backend,
      cacher: entry.cacher,
      attrs: attrsFor(rt),
      policy: this.#factory.policy(rt),
      ...(hooks !== undefined ? { hooks } : {}),
    });
    this.#storages.set(id, storage);
    this.#changed();
    return storage;
  }

  /** Stops serving a resource version (a CRD version was removed or the CRD deleted). */
  remove(group: string, version: string, plural: string): void {
    const id = storageId(group, version, plural);
    const storage = this.#storages.get(id);
    if (storage === undefined) return;
    this.#storages.delete(id);
    this.#release(storage.rt.storagePrefix);
    this.#changed();
  }

  /** The storage serving `group/version/plural`, if any. */
  lookup(group: string, version: string, plural: string): RestStorage | undefined {
    return this.#storages.get(storageId(group, version, plural));
  }

  /** The preferred storage for a kind in a group (the first version registered). */
  byKind(group: string, kind: string): RestStorage | undefined {
    for (const s of this.#storages.values()) if (s.rt.group === group && s.rt.kind === kind) return s;
    return undefined;
  }

  /** Every served resource type. */
  resources(): ResourceType[] {
    return [...this.#storages.values()].map((s) => s.rt);
  }

  /** Calls `listener` after every change; returns a function that unsubscribes. */
  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Stops every cache. */
  stop(): void {
    for (const e of this.#cachers.values()) e.abort.abort();
    this.#cachers.clear();
    this.#storages.clear();
  }

  #release(prefix: string): void {
    const entry = this.#cachers.get(prefix);
    if (entry === undefined) return;
    entry.users--;
    if (entry.users <= 0) {
      entry.abort.abort();
      this.#cachers.delete(prefix);
    }
  }

  #changed(): void {
    for (const l of this.#listeners) {
      try {
        l();
      } catch (err) {
        this.#log.error('registry listener failed', { err: String(err) });
      }
    }
  }
}

function storageId(group: string, version: string, plural: string): string {
  return `${group}/${version}/${plural}`;
}

const EMPTY_LABELS: Readonly<Record<string, string>> = Object.freeze({});

/** Labels and selectable fields of an object of type `rt`, as the watch cache indexes them. */
export function attrsFor(rt: ResourceType): AttrsFn {
  const extra = rt.selectableFields;
  return (raw: Record<string, unknown>): ObjectAttrs => {
    const obj = raw as unknown as KubeObject;
    const meta = obj.metadata ?? {};
    const fields: Record<string, string> = { 'metadata.name': meta.name ?? '' };
    if (rt.namespaced) fields['metadata.namespace'] = meta.namespace ?? '';
    for (const f of extra) {
      // Events select on `source`, which is source.component in the object.
      fields[f] = f === 'source' ? fieldValue(obj, 'source.component') : fieldValue(obj, f);
    }
    return { labels: meta.labels ?? EMPTY_LABELS, fields };
  };
}
