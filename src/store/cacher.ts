import { describeError, hasCode } from '../errors/platform-error.ts';
import type { Logger } from '../log/logger.ts';
import type { Backend, KeyValue, WatchEvent } from './backend.ts';
import { CorruptValueError, RevisionTimeoutError, StoreClosedError, WatchTerminatedError } from './errors.ts';
import { OrderedMap } from './ordered-map.ts';

/** What label and field selectors match against: computed once per stored version of an object. */
export interface ObjectAttrs {
  readonly labels: Readonly<Record<string, string>>;
  readonly fields: Readonly<Record<string, string>>;
}

/**
 * One object as the watch cache keeps it: the JSON the API serves (with `metadata.resourceVersion`
 * set to the modification revision) and the attributes selectors need, but not the parsed object, so
 * that 100,000 pods cost their JSON text and little more.
 */
export interface CachedObject {
  readonly key: string;
  readonly json: string;
  /** The modification revision (the resourceVersion); for a deleted object, the deletion's revision. */
  readonly revision: number;
  readonly createRevision: number;
  readonly attrs: ObjectAttrs;
}

export type CacheEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

/**
 * One change as a watcher sees it. For a filtered watch the type is already adjusted to the filter,
 * as Kubernetes does: an object that stops matching arrives as DELETED (with its new state), one that
 * starts matching as ADDED.
 */
export interface CacheEvent {
  readonly type: CacheEventType;
  readonly object: CachedObject;
}

/** What a cache watch yields; an empty batch is a progress notification (a bookmark opportunity). */
export interface WatchBatch {
  readonly events: readonly CacheEvent[];
  /** Cache revision after this batch; all changes up to it were considered. */
  readonly revision: number;
}

/** Computes selector attributes from a parsed object (labels, and the fields its resource supports). */
export type AttrsFn = (obj: Record<string, unknown>) => ObjectAttrs;

/** A label/field selector compiled to a predicate. */
export type AttrsFilter = (attrs: ObjectAttrs) => boolean;

/** Options of {@link Cacher}. */
export interface CacherOptions {
  readonly backend: Backend;
  /** The resource's key prefix, e.g. `/registry/core/pods/`. */
  readonly prefix: string;
  readonly attrs: AttrsFn;
  readonly log: Logger;
  /** Changes kept in memory for watchers that resume from a recent revision. @default 10_000 */
  readonly historyLimit?: number;
  /** How often an idle watcher gets an empty batch with the current revision, in milliseconds. @default 1000 */
  readonly progressIntervalMs?: number;
  /** Undelivered events a watcher may have before it is cut off with WatchTerminatedError. @default 20_000 */
  readonly maxPendingEvents?: number;
}

/** Options of {@link Cacher.list}. */
export interface CacheListOptions {
  /** Only keys under this prefix (e.g. one namespace). @default the cacher's prefix */
  readonly prefix?: string;
  readonly filter?: AttrsFilter;
  /** Only keys strictly greater than this one (pagination). */
  readonly startAfter?: string;
  /** At most this many items (0 or absent: all); `more` tells whether matching items were left. */
  readonly limit?: number;
}

/** What {@link Cacher.list} returns. */
export interface CacheListResult {
  readonly items: CachedObject[];
  /** The cache revision the list reflects. */
  readonly revision: number;
  /** True when `limit` cut the list short and more matching items exist. */
  readonly more: boolean;
}

/** Options of {@link Cacher.watch}. */
export interface CacheWatchOptions {
  /** Only keys under this prefix (e.g. one namespace). @default the cacher's prefix */
  readonly prefix?: string;
  readonly filter?: AttrsFilter;
  /** Send changes with a revision greater than this one. */
  readonly afterRevision: number;
  /** Ends the watch (the iterable then completes normally). */
  readonly signal: AbortSignal;
}

/**
 * How long a watch from a revision the cache has not reached yet waits for it, in milliseconds
 * (kube-apiserver's "too large resource version" window), and the default of waitForRevision.
 */
const FUTURE_REVISION_WAIT_MS = 3_000;

/** Delay before the cache re-watches the store after its watch failed unexpectedly. */
const REWATCH_DELAY_MS = 1_000;

/** Objects read per page when the cache loads its contents from the store. */
const LOAD_PAGE_SIZE = 5_000;

/**
 * Parses a stored value once and turns it into what the API serves: sets `metadata.resourceVersion`
 * to the modification revision (stored values carry none, as in Kubernetes' etcd) and computes the
 * selector attributes. The cache uses it for every change, and the API server for objects it reads
 * from the backend directly, so both serve the same bytes.
 * @throws CorruptValueError (`STORE_CORRUPT_VALUE`) when the value is not a JSON object with a metadata object.
 */
export function toCachedObject(kv: KeyValue, attrs: AttrsFn): CachedObject {
  const obj = parseObject(kv);
  (obj.metadata as Record<string, unknown>).resourceVersion = String(kv.modRevision);
  return { key: kv.key, json: JSON.stringify(obj), revision: kv.modRevision, createRevision: kv.createRevision, attrs: attrs(obj) };
}

function parseObject(kv: KeyValue): Record<string, unknown> {
  let obj: unknown;
  try {
    obj = JSON.parse(kv.value);
  } catch (err) {
    throw new CorruptValueError(kv.key, 'not JSON', { cause: err });
  }
  if (!isObject(obj)) throw new CorruptValueError(kv.key, 'not a JSON object');
  if (!isObject(obj.metadata)) throw new CorruptValueError(kv.key, 'no metadata object');
  return obj;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * One change to the cached prefix, kept in the history ring and shared by every watcher it is sent
 * to: the per-filter variants (ADDED / DELETED for objects entering or leaving a selection) are made
 * at most once, so fan-out costs one reference per watcher.
 */
class Change {
  readonly event: CacheEvent;
  /** Selector attributes before the change; undefined when the object did not exist. */
  readonly previousAttrs: ObjectAttrs | undefined;
  #added: CacheEvent | undefined;
  #deleted: CacheEvent | undefined;

  constructor(type: CacheEventType, object: CachedObject, previousAttrs: ObjectAttrs | undefined) {
    this.event = { type, object };
    this.previousAttrs = previousAttrs;
  }

  get revision(): number {
    return this.event.object.revision;
  }

  /** The event a watcher with this prefix and filter gets, or undefined when it gets none. */
  eventFor(prefix: string, filter: AttrsFilter | undefined): CacheEvent | undefined {
    const { event } = this;
    if (!event.object.key.startsWith(prefix)) return undefined;
    if (filter === undefined) return event;
    // A deleted object's attributes are those of its last state.
    if (event.type === 'DELETED') return filter(event.object.attrs) ? event : undefined;
    const matchesNow = filter(event.object.attrs);
    const matchedBefore = this.previousAttrs !== undefined && filter(this.previousAttrs);
    if (matchesNow) return matchedBefore || event.type === 'ADDED' ? event : (this.#added ??= { type: 'ADDED', object: event.object });
    return matchedBefore ? (this.#deleted ??= { type: 'DELETED', object: event.object }) : undefined;
  }
}

/** The newest changes, oldest first, in a fixed-size circular buffer. */
class ChangeRing {
  readonly #buffer: (Change | undefined)[];
  #start = 0;
  #length = 0;

  constructor(capacity: number) {
    this.#buffer = new Array<Change | undefined>(capacity);
  }

  /** Appends `change`; returns the change evicted to make room, if any. */
  push(change: Change): Change | undefined {
    const capacity = this.#buffer.length;
    if (capacity === 0) return change;
    if (this.#length < capacity) {
      this.#buffer[(this.#start + this.#length++) % capacity] = change;
      return undefined;
    }
    const evicted = this.#buffer[this.#start];
    this.#buffer[this.#start] = change;
    this.#start = (this.#start + 1) % capacity;
    return evicted;
  }

  clear(): void {
    this.#buffer.fill(undefined);
    this.#start = 0;
    this.#length = 0;
  }

  /** Changes with a revision greater than `revision`, oldest first. */
  *after(revision: number): Generator<Change, void, undefined> {
    let lo = 0;
    let hi = this.#length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.#at(mid).revision <= revision) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < this.#length; i++) yield this.#at(i);
  }

  #at(i: number): Change {
    return this.#buffer[(this.#start + i) % this.#buffer.length]!;
  }
}

/** A registered watch: the cache pushes event references into `pending`, the watch's iterator drains it. */
class Watcher {
  readonly prefix: string;
  readonly filter: AttrsFilter | undefined;
  pending: CacheEvent[] = [];
  /** While the watch replays history from the store, live events wait in `pending` and get no progress. */
  replaying = false;
  /** Something was delivered since the last progress tick. */
  delivered = false;
  progressDue = false;
  /** Set when the cache ended the watch with an error. */
  failure: Error | undefined;
  /** Aborted when the cache ends the watch (with or without `failure`); stops a history replay too. */
  readonly ended = new AbortController();
  wake: (() => void) | undefined;

  constructor(prefix: string, filter: AttrsFilter | undefined) {
    this.prefix = prefix;
    this.filter = filter;
  }

  /** Ends the watch: with `failure` its iterator throws it, without it the iterator completes. */
  end(failure?: Error): void {
    this.failure = failure;
    // Free the backlog now: a stuck client may never read again.
    this.pending = [];
    this.ended.abort();
    this.notify();
  }

  /** Resolves when the cache has something for this watcher (or it was stopped). */
  next(): Promise<void> {
    return new Promise((resolve) => (this.wake = resolve));
  }

  notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}

interface RevisionWaiter {
  readonly revision: number;
  readonly resolve: () => void;
  readonly reject: (err: Error) => void;
}

/**
 * The watch cache of one resource: every object under a key prefix, in key order, kept current by
 * one watch on the store; the API server lists and watches from it instead of the store, as
 * kube-apiserver's cacher does.
 *
 * The cache watches the whole keyspace, not only its prefix, so its revision follows the store's
 * revision even when other resources change: a consistent read ("at least the store's current
 * revision") can then wait on {@link waitForRevision} without the progress notifications etcd offers
 * and the Backend contract does not.
 *
 * Watches resume from the in-memory ring of recent changes; older revisions (and every revision right
 * after a restart, when the ring is empty) are replayed from the store's history and then joined to the
 * live stream without a gap or a duplicate.
 */
export class Cacher {
  readonly #backend: Backend;
  readonly #prefix: string;
  readonly #attrs: AttrsFn;
  readonly #log: Logger;
  readonly #progressIntervalMs: number;
  readonly #maxPendingEvents: number;
  readonly #stopping = new AbortController();
  #objects = new OrderedMap<CachedObject>();
  readonly #ring: ChangeRing;
  readonly #watchers = new Set<Watcher>();
  readonly #waiters = new Set<RevisionWaiter>();
  #revision = 0;
  /** The ring holds every change after this revision. */
  #ringFrom = 0;
  /** Revision of the newest change under the prefix, when one was seen since the cache was loaded. */
  #lastChange: number | undefined;
  #started = false;
  #stopped = false;
  #loop: Promise<void> | undefined;
  #progressTimer: ReturnType<typeof setInterval> | undefined;

  constructor(options: CacherOptions) {
    this.#backend = options.backend;
    this.#prefix = options.prefix;
    this.#attrs = options.attrs;
    this.#log = options.log;
    this.#progressIntervalMs = options.progressIntervalMs ?? 1_000;
    this.#maxPendingEvents = options.maxPendingEvents ?? 20_000;
    this.#ring = new ChangeRing(options.historyLimit ?? 10_000);
  }

  /** The store revision the cache reflects: every change up to it has been applied. */
  get revision(): number {
    return this.#revision;
  }

  /** How many objects the cache holds. */
  get size(): number {
    return this.#objects.size;
  }

  /**
   * Loads every object under the prefix and starts following the store. Resolves once the cache is
   * loaded and watching; it then runs until `signal` aborts or {@link stop} is called, when open
   * watches end and pending {@link waitForRevision} calls reject with StoreClosedError.
   * @throws what the backend throws while loading.
   */
  async start(signal: AbortSignal): Promise<void> {
    if (this.#started) throw new Error('cacher already started');
    this.#started = true;
    const running = AbortSignal.any([signal, this.#stopping.signal]);
    if (running.aborted) {
      this.#shutdown();
      return;
    }
    running.addEventListener('abort', () => this.#shutdown(), { once: true });
    const started = performance.now();
    await this.#load(running);
    if (running.aborted) return;
    this.#progressTimer = setInterval(() => this.#progressTick(), this.#progressIntervalMs);
    this.#progressTimer.unref();
    this.#loop = this.#follow(running);
    this.#log.info('watch cache loaded', { prefix: this.#prefix, objects: this.#objects.size, revision: this.#revision, ms: Math.round(performance.now() - started) });
  }

  /** Stops following the store and ends every watch; resolves once the store watch has ended. */
  async stop(): Promise<void> {
    this.#stopping.abort();
    await this.#loop;
  }

  /**
   * Resolves once the cache has applied every change up to `revision`, for reads that must be at
   * least that fresh (consistent lists, "not older than" resourceVersions).
   * @param timeoutMs @default 3000
   * @throws RevisionTimeoutError (`API_TIMEOUT`) when the cache does not get there in time;
   * `signal.reason` when `signal` aborts; StoreClosedError when the cache stops.
   */
  waitForRevision(revision: number, signal?: AbortSignal, timeoutMs = FUTURE_REVISION_WAIT_MS): Promise<void> {
    if (revision <= this.#revision) return Promise.resolve();
    if (this.#stopped) return Promise.reject(new StoreClosedError());
    if (signal?.aborted === true) return Promise.reject(abortReason(signal));
    return new Promise<void>((resolve, reject) => {
      const settle = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.#waiters.delete(waiter);
      };
      const waiter: RevisionWaiter = {
        revision,
        resolve: () => {
          settle();
          resolve();
        },
        reject: (err) => {
          settle();
          reject(err);
        },
      };
      const onAbort = (): void => waiter.reject(abortReason(signal!));
      const timer = setTimeout(() => waiter.reject(new RevisionTimeoutError(revision, this.#revision)), timeoutMs);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiters.add(waiter);
    });
  }

  /** The cached object under `key`, or undefined. */
  get(key: string): CachedObject | undefined {
    return this.#objects.get(key);
  }

  /**
   * Objects under a prefix in key order, optionally filtered and paginated, all at the current cache
   * revision. Costs O(log n + items scanned): a page of a namespace does not touch other namespaces.
   */
  list(options: CacheListOptions = {}): CacheListResult {
    const prefix = options.prefix ?? this.#prefix;
    const { filter, startAfter } = options;
    const limit = options.limit !== undefined && options.limit > 0 ? options.limit : Infinity;
    const items: CachedObject[] = [];
    let more = false;
    const fromStartAfter = startAfter !== undefined && startAfter >= prefix;
    for (const obj of this.#objects.scan(fromStartAfter ? startAfter : prefix, fromStartAfter)) {
      if (!obj.key.startsWith(prefix)) break;
      if (filter !== undefined && !filter(obj.attrs)) continue;
      if (items.length === limit) {
        more = true;
        break;
      }
      items.push(obj);
    }
    return { items, revision: this.#revision, more };
  }

  /**
   * Changes under a prefix after `afterRevision`, in revision order, in batches; an idle watch gets an
   * empty batch with the current revision every progress interval. Completes when `signal` aborts or
   * the cache stops. A watch from a revision the cache has not reached waits for it first.
   * @throws CompactedError (`STORE_COMPACTED`) when the store no longer has the history to resume from
   * `afterRevision` (Kubernetes answers 410 Gone).
   * @throws WatchTerminatedError when the watcher fell more than `maxPendingEvents` behind; watching again
   * from the last revision received continues.
   * @throws RevisionTimeoutError when `afterRevision` is ahead of the store and the cache does not get there in time.
   */
  watch(options: CacheWatchOptions): AsyncIterable<WatchBatch> {
    return this.#watch(options.prefix ?? this.#prefix, options.filter, options.afterRevision, options.signal);
  }

  async *#watch(prefix: string, filter: AttrsFilter | undefined, afterRevision: number, signal: AbortSignal): AsyncGenerator<WatchBatch, void, undefined> {
    if (!this.#started) throw new Error('cacher not started');
    if (this.#stopped) throw new StoreClosedError();
    if (afterRevision > this.#revision) await this.waitForRevision(afterRevision, signal);
    if (signal.aborted || this.#stopped) return;

    // From here to registration nothing may await: the ring, the revision and the registration must
    // describe the same instant, or a change could be missed or sent twice.
    const watcher = new Watcher(prefix, filter);
    const fromRing = afterRevision >= this.#ringFrom;
    if (fromRing) {
      for (const change of this.#ring.after(afterRevision)) {
        const event = change.eventFor(prefix, filter);
        if (event !== undefined) watcher.pending.push(event);
      }
    }
    const joinAt = this.#revision;
    const lastChange = this.#lastChange;
    watcher.replaying = !fromRing;
    this.#watchers.add(watcher);
    const onAbort = (): void => watcher.notify();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      if (!fromRing) {
        yield* this.#replay(watcher, afterRevision, joinAt, lastChange, AbortSignal.any([signal, watcher.ended.signal]));
        watcher.replaying = false;
      }
      for (;;) {
        if (watcher.failure !== undefined) throw watcher.failure;
        if (signal.aborted || watcher.ended.signal.aborted) return;
        if (watcher.pending.length > 0) {
          const events = watcher.pending;
          watcher.pending = [];
          watcher.delivered = true;
          watcher.progressDue = false;
          // Every change up to the cache revision has been offered to this watcher synchronously.
          yield { events, revision: this.#revision };
        } else if (watcher.progressDue) {
          watcher.progressDue = false;
          yield { events: [], revision: this.#revision };
        } else {
          await watcher.next();
        }
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
      this.#watchers.delete(watcher);
    }
  }

  /**
   * Sends a watcher the changes in (afterRevision, joinAt] from the store's history; live changes
   * after `joinAt` collect in its pending queue meanwhile. The history watch has no "caught up"
   * marker, so it is done at the first change at or past the newest change the cache knows under its
   * prefix (`lastChange`), or, when that is unknown (no change since the cache loaded), at the first
   * change past `joinAt`, which the live queue also holds and is therefore skipped here.
   */
  async *#replay(watcher: Watcher, afterRevision: number, joinAt: number, lastChange: number | undefined, signal: AbortSignal): AsyncGenerator<WatchBatch, void, undefined> {
    const doneAt = lastChange ?? joinAt + 1;
    if (doneAt <= afterRevision) return;
    const history = this.#backend.watch(this.#prefix, afterRevision, signal);
    for await (const batch of history) {
      const events: CacheEvent[] = [];
      let revision = afterRevision;
      let done = false;
      for (const change of batch) {
        const rev = change.kv.modRevision;
        if (rev > joinAt) {
          done = true;
          break;
        }
        revision = rev;
        const event = this.#historyChange(change)?.eventFor(watcher.prefix, watcher.filter);
        if (event !== undefined) events.push(event);
        if (rev >= doneAt) {
          done = true;
          break;
        }
      }
      if (events.length > 0) yield { events, revision };
      if (done || signal.aborted) return;
    }
  }

  /** A change read back from the store's history, with the attributes of the value it replaced. */
  #historyChange(event: WatchEvent): Change | undefined {
    try {
      const object = toCachedObject(event.kv, this.#attrs);
      const previousAttrs = event.prev === undefined ? undefined : this.#attrs(parseObject(event.prev));
      if (event.type === 'delete') return new Change('DELETED', object, previousAttrs ?? object.attrs);
      return new Change(previousAttrs === undefined ? 'ADDED' : 'MODIFIED', object, previousAttrs);
    } catch (err) {
      this.#log.error('skipping a stored change that cannot be decoded', { key: event.kv.key, revision: event.kv.modRevision, err: describeError(err) });
      return undefined;
    }
  }

  /**
   * Reads every object under the prefix, page by page at one revision, and then replaces the cache's
   * contents in one step, so readers never see a half-loaded cache.
   */
  async #load(signal: AbortSignal): Promise<void> {
    for (;;) {
      try {
        const objects = new OrderedMap<CachedObject>();
        const first = await this.#backend.list(this.#prefix, { limit: LOAD_PAGE_SIZE });
        let page = first;
        for (;;) {
          for (const kv of page.items) {
            const object = this.#decode(kv);
            if (object !== undefined) objects.set(object);
          }
          if (!page.more || signal.aborted) break;
          page = await this.#backend.list(this.#prefix, { revision: first.revision, startAfter: page.items.at(-1)?.key, limit: LOAD_PAGE_SIZE });
        }
        this.#objects = objects;
        this.#ring.clear();
        this.#ringFrom = first.revision;
        this.#lastChange = undefined;
        this.#setRevision(first.revision);
        return;
      } catch (err) {
        // Compaction overtook a long load: start again at a newer revision.
        if (!hasCode(err, 'STORE_COMPACTED') || signal.aborted) throw err;
        this.#log.warn('store compacted while loading the watch cache; loading again', { prefix: this.#prefix });
      }
    }
  }

  #decode(kv: KeyValue): CachedObject | undefined {
    try {
      return toCachedObject(kv, this.#attrs);
    } catch (err) {
      // One damaged value must not take the whole resource offline; the key is in the log.
      this.#log.error('skipping a stored object that cannot be decoded', { key: kv.key, revision: kv.modRevision, err: describeError(err) });
      return undefined;
    }
  }

  /** Follows the store until `signal` aborts, re-watching (and reloading if need be) after failures. */
  async #follow(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        for await (const batch of this.#backend.watch('', this.#revision, signal)) this.#apply(batch);
        if (signal.aborted) break;
        throw new Error('the store watch ended by itself');
      } catch (err) {
        if (signal.aborted) break;
        if (hasCode(err, 'STORE_CLOSED')) {
          this.#log.info('store closed; watch cache stops following it', { prefix: this.#prefix });
          this.#shutdown();
          break;
        }
        this.#log.warn('watch cache lost its store watch', { prefix: this.#prefix, revision: this.#revision, err: describeError(err) });
        try {
          await delay(REWATCH_DELAY_MS, signal);
          if (hasCode(err, 'STORE_COMPACTED')) await this.#reload(signal);
        } catch (retryErr) {
          if (signal.aborted) break;
          this.#log.warn('watch cache could not reload', { prefix: this.#prefix, err: describeError(retryErr) });
        }
      }
    }
  }

  /**
   * Replaces the contents after the cache lost track of the store. Watchers cannot be told what
   * changed in between, so they are ended with a `resync` error and watch again.
   */
  async #reload(signal: AbortSignal): Promise<void> {
    await this.#load(signal);
    for (const watcher of this.#watchers) watcher.end(new WatchTerminatedError('resync', 'the watch cache reloaded from the store; watch again'));
    this.#watchers.clear();
    this.#log.info('watch cache reloaded', { prefix: this.#prefix, objects: this.#objects.size, revision: this.#revision });
  }

  /** Applies a batch of store changes, then offers the resulting changes to every watcher. */
  #apply(batch: readonly WatchEvent[]): void {
    const changes: Change[] = [];
    let revision = this.#revision;
    for (const event of batch) {
      const { kv } = event;
      revision = kv.modRevision;
      if (!kv.key.startsWith(this.#prefix)) continue;
      const change = this.#change(event);
      if (change === undefined) continue;
      changes.push(change);
      this.#lastChange = kv.modRevision;
      const evicted = this.#ring.push(change);
      if (evicted !== undefined) this.#ringFrom = evicted.revision;
    }
    // The revision moves before anyone is woken, so every batch and progress notification a watcher
    // sees carries a revision that covers everything already offered to it.
    this.#setRevision(revision);
    if (changes.length > 0) this.#dispatch(changes);
  }

  #change(event: WatchEvent): Change | undefined {
    const previous = this.#objects.get(event.kv.key);
    if (event.type === 'put') {
      const object = this.#decode(event.kv);
      if (object === undefined) return undefined;
      this.#objects.set(object);
      return new Change(previous === undefined ? 'ADDED' : 'MODIFIED', object, previous?.attrs);
    }
    this.#objects.delete(event.kv.key);
    try {
      const object = toCachedObject(event.kv, this.#attrs);
      return new Change('DELETED', object, previous?.attrs ?? object.attrs);
    } catch (err) {
      this.#log.error('skipping a deletion whose last value cannot be decoded', { key: event.kv.key, revision: event.kv.modRevision, err: describeError(err) });
      return undefined;
    }
  }

  #dispatch(changes: readonly Change[]): void {
    for (const watcher of this.#watchers) {
      const before = watcher.pending.length;
      for (const change of changes) {
        const event = change.eventFor(watcher.prefix, watcher.filter);
        if (event !== undefined) watcher.pending.push(event);
      }
      if (watcher.pending.length === before) continue;
      if (watcher.pending.length > this.#maxPendingEvents) {
        this.#log.debug('watcher too slow; ending its watch', { prefix: watcher.prefix, pending: watcher.pending.length });
        this.#watchers.delete(watcher);
        watcher.end(new WatchTerminatedError('too-slow', `the watcher fell more than ${this.#maxPendingEvents} events behind; watch again`));
      } else {
        watcher.notify();
      }
    }
  }

  #setRevision(revision: number): void {
    this.#revision = revision;
    for (const waiter of this.#waiters) if (waiter.revision <= revision) waiter.resolve();
  }

  #progressTick(): void {
    for (const watcher of this.#watchers) {
      if (watcher.replaying) continue;
      if (!watcher.delivered && watcher.pending.length === 0) {
        watcher.progressDue = true;
        watcher.notify();
      }
      watcher.delivered = false;
    }
  }

  #shutdown(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    clearInterval(this.#progressTimer);
    for (const watcher of this.#watchers) watcher.end();
    this.#watchers.clear();
    for (const waiter of this.#waiters) waiter.reject(new StoreClosedError());
  }
}

/** Resolves after `ms`, or rejects with the abort reason when `signal` aborts first. */
function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(abortReason(signal));
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

function abortReason(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error('aborted', { cause: signal.reason });
}
