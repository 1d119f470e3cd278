import type { KubeObject } from '../../../api/object.ts';
import type { Logger } from '../../../log/logger.ts';
import { describeError } from '../../../errors/platform-error.ts';
import type { ResourceClient, Selection } from '../../client/client.ts';

/** Reactions to changes of the informer's cache. Handlers must be quick: they usually just enqueue keys. */
export interface EventHandler<T extends KubeObject> {
  add?(obj: T): void;
  update?(old: T, obj: T): void;
  delete?(obj: T): void;
}

/** `namespace/name`, or `name` for cluster-scoped objects: the key of the cache and of work queues. */
export function objectKey(obj: KubeObject): string {
  const ns = obj.metadata.namespace;
  return ns === undefined || ns === '' ? (obj.metadata.name ?? '') : `${ns}/${obj.metadata.name ?? ''}`;
}

/** Splits a key made by {@link objectKey}. */
export function splitKey(key: string): { namespace: string | undefined; name: string } {
  const slash = key.indexOf('/');
  return slash < 0 ? { namespace: undefined, name: key } : { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}

const RELIST_BACKOFF_MS = [100, 500, 1000, 2000, 5000] as const;

/**
 * client-go's shared informer, reduced to what kedge needs: list, then watch from the list's
 * resourceVersion, keeping an in-memory cache (the lister) and calling handlers on every change;
 * relists after a 410 or a broken watch and reports the differences as events, so handlers see a
 * level-triggered truth even across gaps. Optional indexes answer "which objects have this value".
 */
export class Informer<T extends KubeObject> {
  readonly #client: ResourceClient<T>;
  readonly #namespace: string | undefined;
  readonly #selection: Selection | undefined;
  readonly #log: Logger;
  readonly #resyncMs: number;
  readonly #cache = new Map<string, T>();
  /** Replaced, never changed in place: a handler removed while an event is dispatched does not make the loop skip another. */
  #handlers: readonly EventHandler<T>[] = [];
  readonly #indexers = new Map<string, (obj: T) => readonly string[]>();
  readonly #indexes = new Map<string, Map<string, Set<string>>>();
  #synced = false;
  #started: Promise<void> | undefined;
  /** Aborted by {@link stop}; ends the list/watch loop whatever signal `start` got. */
  readonly #stop = new AbortController();

  readonly #freeze: boolean;

  /**
   * @param options.freeze deep-freeze cached objects, so that a component sharing the informer
   *   cannot change what the others see (they must copy before modifying). @default false
   */
  constructor(options: { client: ResourceClient<T>; namespace?: string; selection?: Selection; log: Logger; resyncMs?: number; freeze?: boolean }) {
    this.#freeze = options.freeze ?? false;
    this.#client = options.client;
    this.#namespace = options.namespace;
    this.#selection = options.selection;
    this.#log = options.log;
    this.#resyncMs = options.resyncMs ?? 0;
  }

  /** True once the first list is in the cache. */
  get hasSynced(): boolean {
    return this.#synced;
  }

  /**
   * Adds handlers; call before `start` to see the initial objects as adds (added later, a handler
   * is given every cached object as an add at once). Returns a function that removes the handler,
   * for a component that stops following a shared informer others keep.
   */
  addHandler(handler: EventHandler<T>): () => void {
    this.#handlers = [...this.#handlers, handler];
    if (this.#synced) for (const obj of this.#cache.values()) handler.add?.(obj);
    let removed = false;
    return () => {
      if (removed) return;
      removed = true;
      const i = this.#handlers.indexOf(handler);
      if (i >= 0) this.#handlers = [...this.#handlers.slice(0, i), ...this.#handlers.slice(i + 1)];
    };
  }

  /**
   * Maintains an index: `byIndex(name, value)` returns the objects for which `fn` yields `value`.
   * On a shared informer an index name means one index: a second `addIndex` with a name already
   * present keeps the first.
   */
  addIndex(name: string, fn: (obj: T) => readonly string[]): void {
    if (this.#indexers.has(name)) return;
    this.#indexers.set(name, fn);
    const index = new Map<string, Set<string>>();
    this.#indexes.set(name, index);
    for (const [key, obj] of this.#cache) for (const v of fn(obj)) addTo(index, v, key);
  }

  get(namespace: string | undefined, name: string): T | undefined {
    return this.#cache.get(namespace === undefined || namespace === '' ? name : `${namespace}/${name}`);
  }

  getByKey(key: string): T | undefined {
    return this.#cache.get(key);
  }

  /** Every cached object (optionally only one namespace). */
  list(namespace?: string): T[] {
    const out: T[] = [];
    for (const obj of this.#cache.values()) if (namespace === undefined || obj.metadata.namespace === namespace) out.push(obj);
    return out;
  }

  byIndex(name: string, value: string): T[] {
    const keys = this.#indexes.get(name)?.get(value);
    if (keys === undefined) return [];
    const out: T[] = [];
    for (const k of keys) {
      const o = this.#cache.get(k);
      if (o !== undefined) out.push(o);
    }
    return out;
  }

  /**
   * Lists, then watches until `signal` aborts. Resolves once the first list is cached. A shared
   * informer is started by whoever comes first; later calls wait for the same sync.
   */
  start(signal: AbortSignal): Promise<void> {
    if (this.#started === undefined) {
      const started = this.#start(AbortSignal.any([signal, this.#stop.signal]));
      // A first list that failed (a CRD removed meanwhile) is tried again by the next `start`,
      // rather than leaving a shared informer that never lists for every later user.
      started.catch(() => {
        if (this.#started === started) this.#started = undefined;
      });
      this.#started = started;
    }
    return this.#started;
  }

  /**
   * Ends the list/watch (and resync) for good, whatever signal `start` got: for an informer whose
   * resource is no longer served and that nobody uses any more. The cache stays as it was.
   */
  stop(): void {
    this.#stop.abort();
  }

  async #start(signal: AbortSignal): Promise<void> {
    const rv = await this.#relist();
    this.#synced = true;
    void this.#run(rv, signal);
    if (this.#resyncMs > 0) {
      const timer = setInterval(() => {
        for (const obj of this.#cache.values()) for (const h of this.#handlers) h.update?.(obj, obj);
      }, this.#resyncMs);
      timer.unref();
      signal.addEventListener('abort', () => clearInterval(timer), { once: true });
    }
  }

  async #run(startRv: string, signal: AbortSignal): Promise<void> {
    let rv = startRv;
    let failures = 0;
    while (!signal.aborted) {
      try {
        for await (const ev of this.#client.watch(this.#namespace, { ...this.#selection, resourceVersion: rv, signal })) {
          failures = 0;
          rv = ev.object.metadata.resourceVersion ?? rv;
          if (ev.type === 'BOOKMARK') continue;
          if (ev.type === 'DELETED') this.#remove(ev.object);
          else this.#upsert(ev.object);
        }
        if (signal.aborted) return;
      } catch (err) {
        if (signal.aborted) return;
        this.#log.debug('watch ended; relisting', { err: describeError(err) });
      }
      const delay = RELIST_BACKOFF_MS[Math.min(failures, RELIST_BACKOFF_MS.length - 1)]!;
      failures++;
      await new Promise((r) => setTimeout(r, delay).unref());
      if (signal.aborted) return;
      try {
        rv = await this.#relist();
      } catch (err) {
        this.#log.warn('relist failed', { err: describeError(err) });
      }
    }
  }

  async #relist(): Promise<string> {
    const list = await this.#client.list(this.#namespace, this.#selection);
    const seen = new Set<string>();
    for (const obj of list.items) {
      seen.add(objectKey(obj));
      this.#upsert(obj);
    }
    for (const [key, obj] of [...this.#cache]) if (!seen.has(key)) this.#remove(obj);
    return list.resourceVersion;
  }

  #upsert(obj: T): void {
    if (this.#freeze) deepFreeze(obj);
    const key = objectKey(obj);
    const old = this.#cache.get(key);
    if (old !== undefined && old.metadata.resourceVersion === obj.metadata.resourceVersion) return;
    if (old !== undefined) this.#unindex(key, old);
    this.#cache.set(key, obj);
    this.#index(key, obj);
    for (const h of this.#handlers) {
      if (old === undefined) h.add?.(obj);
      else h.update?.(old, obj);
    }
  }

  #remove(obj: T): void {
    const key = objectKey(obj);
    const old = this.#cache.get(key);
    if (old === undefined) return;
    this.#cache.delete(key);
    this.#unindex(key, old);
    for (const h of this.#handlers) h.delete?.(obj);
  }

  #index(key: string, obj: T): void {
    for (const [name, fn] of this.#indexers) for (const v of fn(obj)) addTo(this.#indexes.get(name)!, v, key);
  }

  #unindex(key: string, obj: T): void {
    for (const [name, fn] of this.#indexers) {
      const index = this.#indexes.get(name)!;
      for (const v of fn(obj)) {
        const set = index.get(v);
        set?.delete(key);
        if (set?.size === 0) index.delete(v);
      }
    }
  }
}

function deepFreeze(value: unknown): void {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return;
  Object.freeze(value);
  for (const v of Object.values(value)) deepFreeze(v);
}

function addTo(index: Map<string, Set<string>>, value: string, key: string): void {
  let set = index.get(value);
  if (set === undefined) {
    set = new Set();
    index.set(value, set);
  }
  set.add(key);
}
