import { randomUUID } from 'node:crypto';
import type { KubeObject } from '../../../api/object.ts';
import { apiErrors, ApiError } from '../../../api/errors.ts';
import { fieldErrors, type FieldError } from '../../../api/field-error.ts';
import type { Backend, KeyValue } from '../../../store/backend.ts';
import type { AttrsFn, Cacher, CachedObject, ObjectAttrs, WatchBatch } from '../../../store/cacher.ts';
import { toCachedObject } from '../../../store/cacher.ts';
import { hasCode } from '../../../errors/platform-error.ts';
import type { ResourceType } from '../resources/resource-type.ts';
import type { ObjectPolicy, FieldValidation } from './policy.ts';
import type { ResourceHooks, RequestContext } from './hooks.ts';
import { decodeContinue, encodeContinue } from '../../../api/continue-token.ts';
import { rfc3339 } from '../../../api/time.ts';

/** Options shared by every write. */
export interface WriteOptions {
  readonly dryRun: boolean;
  readonly fieldValidation: FieldValidation;
  readonly user: string;
}

/** A list request after the HTTP layer parsed it. */
export interface ListOptions {
  readonly filter?: (attrs: ObjectAttrs) => boolean;
  readonly limit?: number;
  readonly continueToken?: string;
  readonly resourceVersion?: string;
  readonly resourceVersionMatch?: string;
}

export interface ListPage {
  readonly items: readonly CachedObject[];
  readonly revision: number;
  readonly continueToken?: string;
  readonly remainingItemCount?: number;
}

/** DeleteOptions, from the body or the query. */
export interface DeleteOptions {
  readonly gracePeriodSeconds?: number;
  readonly propagationPolicy?: 'Orphan' | 'Background' | 'Foreground';
  readonly preconditions?: { readonly uid?: string; readonly resourceVersion?: string };
  readonly dryRun: boolean;
  readonly user: string;
}

export interface DeleteResult {
  /** The object: its last state if it is gone, its terminating state if it lingers. */
  readonly object: KubeObject;
  /** True when it is gone from the store. */
  readonly deleted: boolean;
}

/** What an update or patch produced. */
export interface WriteResult {
  readonly object: KubeObject;
  readonly created: boolean;
  readonly warnings: readonly string[];
}

/**
 * The subresource a write goes through: `status` changes only status; `finalize` (namespaces)
 * is a full write whose hooks let only `spec.finalizers` change.
 */
export type Subresource = 'status' | 'finalize';

/** A function that turns the current object (undefined if missing) into the desired one. */
export type Mutation = (current: KubeObject | undefined) => Promise<KubeObject> | KubeObject;

const GENERATE_NAME_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';
const GENERATE_NAME_SUFFIX = 5;
/** How long a consistent read waits for the watch cache to catch up before answering 504. */
const FRESHNESS_TIMEOUT_MS = 3_000;
/** Conflicting writes are retried this often when the request itself carried no resourceVersion. */
const MAX_CONFLICT_RETRIES = 5;

/**
 * The generic storage of one resource type, with Kubernetes' semantics: system fields on create,
 * optimistic concurrency on update, generation bumps, finalizers and graceful deletion, status
 * subresources, dry runs. Reads are served by the shared watch cache; single-object reads and
 * writes go to the backend so they are always current.
 */
export class RestStorage {
  readonly rt: ResourceType;
  readonly #backend: Backend;
  readonly #cacher: Cacher;
  readonly #policy: ObjectPolicy;
  readonly #hooks: ResourceHooks;
  readonly #now: () => Date;
  readonly #attrs: AttrsFn;

  constructor(options: { resourceType: ResourceType; backend: Backend; cacher: Cacher; attrs: AttrsFn; policy: ObjectPolicy; hooks?: ResourceHooks; now?: () => Date }) {
    this.#attrs = options.attrs;
    this.rt = options.resourceType;
    this.#backend = options.backend;
    this.#cacher = options.cacher;
    this.#policy = options.policy;
    this.#hooks = options.hooks ?? {};
    this.#now = options.now ?? (() => new Date());
  }

  get policy(): ObjectPolicy {
    return this.#policy;
  }

  /** The store key of an object. */
  key(namespace: string | undefined, name: string): string {
    return this.rt.namespaced ? `${this.rt.storagePrefix}${namespace ?? ''}/${name}` : `${this.rt.storagePrefix}${name}`;
  }

  /** The key prefix of a list: the whole resource, or one namespace of it. */
  listPrefix(namespace: string | undefined): string {
    return this.rt.namespaced && namespace !== undefined && namespace !== '' ? `${this.rt.storagePrefix}${namespace}/` : this.rt.storagePrefix;
  }

  /**
   * The current object. With `resourceVersion: '0'` any cached state will do; otherwise it is read
   * from the backend, so a client always sees its own writes.
   * @throws ApiError 404
   */
  async get(namespace: string | undefined, name: string, resourceVersion?: string): Promise<KubeObject> {
    if (resourceVersion === '0') {
      const cached = this.#cacher.get(this.key(namespace, name));
      if (cached === undefined) throw this.#notFound(name);
      return this.#fromStorage(JSON.parse(cached.json) as KubeObject);
    }
    const kv = await this.#backend.get(this.key(namespace, name));
    if (kv === undefined) throw this.#notFound(name);
    return this.#decode(kv);
  }

  /** A page of objects, in key order, consistent with one revision. */
  async list(namespace: string | undefined, options: ListOptions): Promise<ListPage> {
    const prefix = this.listPrefix(namespace);
    const limit = options.limit !== undefined && options.limit > 0 ? options.limit : undefined;
    if (options.continueToken !== undefined && options.continueToken !== '') {
      const token = decodeContinue(options.continueToken, prefix);
      return this.#listAt(prefix, token.revision, token.startAfter, limit, options.filter);
    }
    const match = options.resourceVersionMatch;
    const rv = options.resourceVersion;
    if (match === 'Exact') {
      const revision = parseResourceVersion(rv);
      return this.#listAt(prefix, revision, undefined, limit, options.filter);
    }
    if (rv === undefined || rv === '') {
      await this.#waitFresh();
    } else if (rv !== '0') {
      await this.#waitFor(parseResourceVersion(rv));
    }
    const page = this.#cacher.list({ prefix, ...(options.filter ? { filter: options.filter } : {}), ...(limit !== undefined ? { limit } : {}) });
    return this.#page(prefix, page.items, page.revision, page.more, limit, options.filter);
  }

  /**
   * Changes after `afterRevision` (which must be > 0), as batches from the watch cache.
   * @throws CompactedError (as the iterable's error) when that history is gone
   */
  watch(namespace: string | undefined, afterRevision: number, filter: ((attrs: ObjectAttrs) => boolean) | undefined, signal: AbortSignal): AsyncIterable<WatchBatch> {
    return this.#cacher.watch({ prefix: this.listPrefix(namespace), afterRevision, signal, ...(filter ? { filter } : {}) });
  }

  /** Current objects for the initial events of a watch from "now", and the revision they reflect. */
  async snapshot(namespace: string | undefined, filter: ((attrs: ObjectAttrs) => boolean) | undefined, consistent: boolean): Promise<{ items: readonly CachedObject[]; revision: number }> {
    if (consistent) await this.#waitFresh();
    const page = this.#cacher.list({ prefix: this.listPrefix(namespace), ...(filter ? { filter } : {}) });
    return { items: page.items, revision: page.revision };
  }

  /** Converts a cached object to the version this storage serves (a no-op except for multi-version CRDs). */
  servedJson(o: CachedObject): string {
    if (this.rt.version === this.rt.storageVersion) return o.json;
    return JSON.stringify(this.#fromStorage(JSON.parse(o.json) as KubeObject));
  }

  /** Converts a cached object to a served object. */
  served(o: CachedObject): KubeObject {
    return this.#fromStorage(JSON.parse(o.json) as KubeObject);
  }

  /**
   * Creates an object: name from generateName, uid, timestamps, generation, defaults, validation.
   * @throws ApiError 400/409/422
   */
  async create(namespace: string | undefined, body: KubeObject, options: WriteOptions): Promise<WriteResult> {
    const obj = this.#checkIdentity(body, namespace, undefined);
    if (obj.metadata.resourceVersion !== undefined && obj.metadata.resourceVersion !== '') {
      throw apiErrors.badRequest('resourceVersion should not be set on objects to be created');
    }
    const warnings = this.#policy.checkSchema(obj, options.fieldValidation);
    const meta = obj.metadata;
    if ((meta.name === undefined || meta.name === '') && meta.generateName !== undefined && meta.generateName !== '') {
      meta.name = generateName(meta.generateName);
    }
    meta.uid = randomUUID();
    meta.creationTimestamp = rfc3339(this.#now().getTime());
    delete meta.deletionTimestamp;
    delete meta.deletionGracePeriodSeconds;
    if (this.#tracksGeneration()) meta.generation = 1;
    else delete meta.generation;
    const ctx: RequestContext = { user: options.user, dryRun: options.dryRun };
    await this.#hooks.admitCreate?.(obj, ctx);
    this.#policy.applyDefaults(obj);
    const errors = [...this.#policy.validateCreate(obj), ...(this.#hooks.validateCreate?.(obj) ?? [])];
    if (errors.length > 0) throw this.#invalid(obj, errors);
    if (options.dryRun) return { object: this.#fromStorage(obj), created: true, warnings };

    const name = meta.name ?? '';
    try {
      const kv = await this.#backend.create(this.key(meta.namespace, name), encodeForStorage(this.#toStorage(obj)));
      obj.metadata.resourceVersion = String(kv.modRevision);
      return { object: this.#fromStorage(obj), created: true, warnings };
    } catch (err) {
      if (hasCode(err, 'STORE_KEY_EXISTS')) throw apiErrors.alreadyExists({ group: this.rt.group, resource: this.rt.plural, name });
      throw err;
    }
  }

  /**
   * Replaces an object (PUT), or its status, honouring the resourceVersion precondition in the body.
   * @throws ApiError 400/404/409/422
   */
  async update(namespace: string | undefined, name: string, body: KubeObject, options: WriteOptions, subresource?: 'status'): Promise<WriteResult> {
    const desired = this.#checkIdentity(body, namespace, name);
    const warnings = this.#policy.checkSchema(desired, options.fieldValidation);
    const precondition = desired.metadata.resourceVersion;
    if ((precondition === undefined || precondition === '') && !this.rt.allowUnconditionalUpdate) {
      throw this.#invalid(desired, [fieldErrors.invalid('metadata.resourceVersion', 0, 'must be specified for an update')]);
    }
    const result = await this.#guaranteedUpdate(namespace, name, options, subresource, false, (current) => {
      if (current === undefined) {
        if (!this.rt.allowCreateOnUpdate || subresource !== undefined) throw this.#notFound(name);
        return structuredClone(desired);
      }
      if (precondition !== undefined && precondition !== '' && precondition !== current.metadata.resourceVersion) {
        throw this.#conflict(name, 'the object has been modified; please apply your changes to the latest version and try again');
      }
      return structuredClone(desired);
    });
    return { ...result, warnings };
  }

  /**
   * Read-modify-write with the current object: used by PATCH and by internal callers. The mutation
   * runs again on a conflicting concurrent write unless it pins a resourceVersion itself.
   */
  async mutate(namespace: string | undefined, name: string, options: WriteOptions, subresource: Subresource | undefined, mutation: Mutation, allowCreate = false): Promise<WriteResult> {
    const result = await this.#guaranteedUpdate(namespace, name, options, subresource, allowCreate, async (current) => {
      const next = await mutation(current === undefined ? undefined : structuredClone(current));
      return this.#checkIdentity(next, namespace, name);
    });
    return { ...result, warnings: [] };
  }

  /**
   * Deletes an object, or marks it for deletion when finalizers or a grace period keep it.
   * @throws ApiError 404/409
   */
  async delete(namespace: string | undefined, name: string, options: DeleteOptions): Promise<DeleteResult> {
    for (let attempt = 0; ; attempt++) {
      const kv = await this.#backend.get(this.key(namespace, name));
      if (kv === undefined) throw this.#notFound(name);
      const current = this.#decode(kv);
      const pre = options.preconditions;
      if (pre?.uid !== undefined && pre.uid !== current.metadata.uid) {
        throw this.#conflict(name, `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${current.metadata.uid ?? ''}`);
      }
      if (pre?.resourceVersion !== undefined && pre.resourceVersion !== current.metadata.resourceVersion) {
        throw this.#conflict(name, `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${current.metadata.resourceVersion ?? ''}`);
      }
      const lingering = this.#lingeringState(current, options);
      if (options.dryRun) return { object: lingering ?? current, deleted: lingering === undefined };
      try {
        if (lingering !== undefined) {
          if (JSON.stringify(lingering) === JSON.stringify(current)) return { object: current, deleted: false };
          const updated = await this.#backend.update(kv.key, encodeForStorage(this.#toStorage(lingering)), kv.modRevision);
          lingering.metadata.resourceVersion = String(updated.modRevision);
          return { object: lingering, deleted: false };
        }
        const gone = await this.#backend.delete(kv.key, kv.modRevision);
        const last = this.#decode(gone);
        await this.#hooks.afterDelete?.(last);
        return { object: last, deleted: true };
      } catch (err) {
        if ((hasCode(err, 'STORE_REVISION_MISMATCH') || hasCode(err, 'STORE_NOT_FOUND')) && attempt < MAX_CONFLICT_RETRIES) continue;
        throw err;
      }
    }
  }

  /** Deletes every object a list would return; returns what was deleted or marked. */
  async deleteCollection(namespace: string | undefined, listOptions: ListOptions, options: DeleteOptions): Promise<KubeObject[]> {
    const page = await this.list(namespace, { ...listOptions, limit: undefined, continueToken: undefined });
    const out: KubeObject[] = [];
    for (const item of page.items) {
      const obj = JSON.parse(item.json) as KubeObject;
      try {
        const r = await this.delete(obj.metadata.namespace, obj.metadata.name ?? '', options);
        out.push(r.object);
      } catch (err) {
        if (!(err instanceof ApiError && err.httpStatus === 404)) throw err;
      }
    }
    return out;
  }

  // --- internals -------------------------------------------------------------------------------

  async #guaranteedUpdate(
    namespace: string | undefined,
    name: string,
    options: WriteOptions,
    subresource: Subresource | undefined,
    allowCreate: boolean,
    produce: (current: KubeObject | undefined) => Promise<KubeObject> | KubeObject,
  ): Promise<Omit<WriteResult, 'warnings'>> {
    const key = this.key(namespace, name);
    for (let attempt = 0; ; attempt++) {
      const kv = await this.#backend.get(key);
      const current = kv === undefined ? undefined : this.#decode(kv);
      const desired = await produce(current);
      if (current === undefined) {
        if (!allowCreate && !this.rt.allowCreateOnUpdate) throw this.#notFound(name);
        delete desired.metadata.resourceVersion;
        try {
          const r = await this.create(namespace, desired, options);
          return { object: r.object, created: true };
        } catch (err) {
          if (err instanceof ApiError && err.reason === 'AlreadyExists' && attempt < MAX_CONFLICT_RETRIES) continue;
          throw err;
        }
      }
      const pinned = desired.metadata.resourceVersion;
      const next = await this.#prepareUpdate(desired, current, options, subresource);
      if (next === 'unchanged') return { object: current, created: false };
      if (options.dryRun) return { object: next, created: false };
      try {
        if (
          next.metadata.deletionTimestamp !== undefined &&
          (next.metadata.finalizers ?? []).length === 0 &&
          (next.metadata.deletionGracePeriodSeconds ?? 0) === 0 &&
          this.#hooks.heldBeyondFinalizers?.(next) !== true
        ) {
          // The last finalizer is gone from an object being deleted: it is deleted now.
          const gone = await this.#backend.delete(key, kv!.modRevision);
          const last = this.#decode(gone);
          await this.#hooks.afterDelete?.(last);
          return { object: last, created: false };
        }
        const updated = await this.#backend.update(key, encodeForStorage(this.#toStorage(next)), kv!.modRevision);
        next.metadata.resourceVersion = String(updated.modRevision);
        return { object: next, created: false };
      } catch (err) {
        const conflict = hasCode(err, 'STORE_REVISION_MISMATCH') || hasCode(err, 'STORE_NOT_FOUND');
        if (conflict && (pinned === undefined || pinned === '' || pinned === current.metadata.resourceVersion) && attempt < MAX_CONFLICT_RETRIES) continue;
        if (conflict) throw this.#conflict(name, 'the object has been modified; please apply your changes to the latest version and try again');
        throw err;
      }
    }
  }

  /** Applies Kubernetes' update rules; returns 'unchanged' for a no-op write (no new revision). */
  async #prepareUpdate(desired: KubeObject, current: KubeObject, options: WriteOptions, subresource: Subresource | undefined): Promise<KubeObject | 'unchanged'> {
    const cm = current.metadata;
    let next: KubeObject;
    if (subresource === 'status') {
      // A status write changes status only; everything else stays as stored.
      next = { ...structuredClone(current), status: desired['status'] };
      if (desired['status'] === undefined) delete next['status'];
      next.metadata = structuredClone(cm);
    } else {
      next = desired;
      if (this.rt.statusSubresource) {
        if (current['status'] === undefined) delete next['status'];
        else next['status'] = structuredClone(current['status']);
      }
      const m = next.metadata;
      if (cm.deletionTimestamp !== undefined) {
        const before = new Set(cm.finalizers ?? []);
        const added = (m.finalizers ?? []).filter((f) => !before.has(f));
        if (added.length > 0) {
          throw this.#invalid(next, [fieldErrors.forbidden('metadata.finalizers', `no new finalizers can be added if the object is being deleted, found new finalizers ${JSON.stringify(added)}`)]);
        }
      }
    }
    const m = next.metadata;
    // System fields are the server's, whatever the client sent.
    m.uid = cm.uid;
    m.creationTimestamp = cm.creationTimestamp;
    if (cm.deletionTimestamp === undefined) delete m.deletionTimestamp;
    else m.deletionTimestamp = cm.deletionTimestamp;
    if (cm.deletionGracePeriodSeconds === undefined) delete m.deletionGracePeriodSeconds;
    else m.deletionGracePeriodSeconds = cm.deletionGracePeriodSeconds;
    if (cm.generation === undefined) delete m.generation;
    else m.generation = cm.generation;
    delete m.resourceVersion;

    await this.#hooks.admitUpdate?.(next, current, { user: options.user, dryRun: options.dryRun }, subresource);
    this.#policy.applyDefaults(next);
    const errors = subresource === 'status' ? this.#policy.validateStatusUpdate(next, current) : this.#policy.validateUpdate(next, current);
    if (errors.length > 0) throw this.#invalid(next, errors);

    if (this.#tracksGeneration() && subresource === undefined && specChanged(next, current)) {
      m.generation = (cm.generation ?? 0) + 1;
    }
    const currentComparable = { ...current, metadata: { ...cm } };
    delete currentComparable.metadata.resourceVersion;
    if (JSON.stringify(next) === JSON.stringify(currentComparable)) return 'unchanged';
    return next;
  }

  /** The state an object keeps while it waits for finalizers or a grace period; undefined to delete now. */
  #lingeringState(current: KubeObject, options: DeleteOptions): KubeObject | undefined {
    const next = structuredClone(current);
    const m = next.metadata;
    const finalizers = new Set(m.finalizers ?? []);
    const deleting = m.deletionTimestamp !== undefined;
    if (!deleting) {
      if (options.propagationPolicy === 'Orphan') finalizers.add('orphan');
      if (options.propagationPolicy === 'Foreground') finalizers.add('foregroundDeletion');
    }
    const hooked = this.#hooks.beforeDelete?.(next, { user: options.user, dryRun: options.dryRun });
    if (hooked !== undefined) return hooked;
    const grace = this.#hooks.gracefulDeletion?.(current, options.gracePeriodSeconds) ?? 0;
    if (finalizers.size === 0 && grace === 0) return undefined;
    m.finalizers = [...finalizers];
    const now = this.#now();
    if (!deleting) {
      m.deletionTimestamp = rfc3339(now.getTime() + grace * 1000);
      m.deletionGracePeriodSeconds = grace;
    } else if (grace < (m.deletionGracePeriodSeconds ?? 0)) {
      // A second delete may only shorten the grace period.
      m.deletionTimestamp = rfc3339(now.getTime() + grace * 1000);
      m.deletionGracePeriodSeconds = grace;
    }
    if (m.finalizers.length === 0 && (m.deletionGracePeriodSeconds ?? 0) === 0) return undefined;
    return next;
  }

  async #listAt(prefix: string, revision: number, startAfter: string | undefined, limit: number | undefined, filter: ((attrs: ObjectAttrs) => boolean) | undefined): Promise<ListPage> {
    if (this.#cacher.revision === revision) {
      const page = this.#cacher.list({ prefix, ...(filter ? { filter } : {}), ...(startAfter !== undefined ? { startAfter } : {}), ...(limit !== undefined ? { limit } : {}) });
      return this.#page(prefix, page.items, page.revision, page.more, limit, filter);
    }
    // The cache has moved on: read the snapshot from the backend's history (410 once compacted).
    const items: CachedObject[] = [];
    let after = startAfter;
    let more = false;
    try {
      for (;;) {
        const batch = await this.#backend.list(prefix, { revision, ...(after !== undefined ? { startAfter: after } : {}), limit: 500 });
        for (const kv of batch.items) {
          const o = toCachedObject(kv, this.#attrs);
          if (filter === undefined || filter(o.attrs)) {
            if (limit !== undefined && items.length === limit) {
              more = true;
              break;
            }
            items.push(o);
          }
          after = kv.key;
        }
        if (more || !batch.more) break;
      }
    } catch (err) {
      if (hasCode(err, 'STORE_COMPACTED')) {
        throw apiErrors.gone(
          'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.',
        );
      }
      throw err;
    }
    return this.#page(prefix, items, revision, more, limit, filter);
  }

  #page(prefix: string, items: readonly CachedObject[], revision: number, more: boolean, limit: number | undefined, _filter: unknown): ListPage {
    if (!more || limit === undefined || items.length === 0) return { items, revision };
    const last = items[items.length - 1]!;
    return { items, revision, continueToken: encodeContinue(revision, last.key, prefix) };
  }

  async #waitFresh(): Promise<void> {
    await this.#waitFor(await this.#backend.currentRevision());
  }

  async #waitFor(revision: number): Promise<void> {
    if (this.#cacher.revision >= revision) return;
    try {
      await this.#cacher.waitForRevision(revision, undefined, FRESHNESS_TIMEOUT_MS);
    } catch {
      throw apiErrors.timeout(`Too large resource version: ${revision}, current: ${this.#cacher.revision}`);
    }
  }

  #checkIdentity(body: KubeObject, namespace: string | undefined, name: string | undefined): KubeObject {
    const rt = this.rt;
    const apiVersion = rt.group === '' ? rt.version : `${rt.group}/${rt.version}`;
    if (body.kind !== undefined && body.kind !== rt.kind) {
      throw apiErrors.badRequest(`the kind of the provided object (${body.kind}) does not match the resource ${rt.plural} (kind ${rt.kind})`);
    }
    if (body.apiVersion !== undefined && body.apiVersion !== apiVersion) {
      throw apiErrors.badRequest(`the API version in the data (${body.apiVersion}) does not match the expected API version (${apiVersion})`);
    }
    if (typeof body.metadata !== 'object' || body.metadata === null || Array.isArray(body.metadata)) {
      throw this.#invalid(body, [fieldErrors.required('metadata')]);
    }
    const obj: KubeObject = { ...body, apiVersion, kind: rt.kind };
    const meta = obj.metadata;
    if (rt.namespaced) {
      if (meta.namespace !== undefined && meta.namespace !== '' && namespace !== undefined && meta.namespace !== namespace) {
        throw apiErrors.badRequest('the namespace of the provided object does not match the namespace sent on the request');
      }
      meta.namespace = namespace ?? meta.namespace;
    } else {
      delete meta.namespace;
    }
    if (name !== undefined) {
      if (meta.name !== undefined && meta.name !== '' && meta.name !== name) {
        throw apiErrors.badRequest('the name of the object (' + meta.name + ') does not match the name on the URL (' + name + ')');
      }
      meta.name = name;
    }
    return obj;
  }

  #tracksGeneration(): boolean {
    return this.rt.statusSubresource || this.rt.crdName !== undefined;
  }

  #decode(kv: KeyValue): KubeObject {
    return this.#fromStorage(JSON.parse(toCachedObject(kv, this.#attrs).json) as KubeObject);
  }

  #toStorage(obj: KubeObject): KubeObject {
    if (this.rt.version === this.rt.storageVersion) return obj;
    return { ...obj, apiVersion: `${this.rt.group}/${this.rt.storageVersion}` };
  }

  #fromStorage(obj: KubeObject): KubeObject {
    if (this.rt.version === this.rt.storageVersion) return obj;
    obj.apiVersion = `${this.rt.group}/${this.rt.version}`;
    return obj;
  }

  #notFound(name: string): ApiError {
    return apiErrors.notFound({ group: this.rt.group, resource: this.rt.plural, name });
  }

  #conflict(name: string, why: string): ApiError {
    return apiErrors.conflict({ group: this.rt.group, resource: this.rt.plural, name }, why);
  }

  #invalid(obj: KubeObject, errors: readonly FieldError[]): ApiError {
    return apiErrors.invalid(this.rt.kind, this.rt.group, obj.metadata.name ?? obj.metadata.generateName ?? '', errors);
  }
}

/** JSON as stored: without resourceVersion, which is the store's revision and is added on read. */
export function encodeForStorage(obj: KubeObject): string {
  const rv = obj.metadata.resourceVersion;
  if (rv === undefined) return JSON.stringify(obj);
  delete obj.metadata.resourceVersion;
  const s = JSON.stringify(obj);
  obj.metadata.resourceVersion = rv;
  return s;
}

/** Parses a resourceVersion query parameter. @throws ApiError 400 */
export function parseResourceVersion(rv: string | undefined): number {
  if (rv === undefined || !/^[0-9]+$/.test(rv)) throw apiErrors.badRequest(`invalid resource version: ${JSON.stringify(rv ?? '')}`);
  return Number(rv);
}

function generateName(base: string): string {
  // Kubernetes keeps the whole name within 63 characters.
  const prefix = base.length > 58 ? base.slice(0, 58) : base;
  let suffix = '';
  for (let i = 0; i < GENERATE_NAME_SUFFIX; i++) suffix += GENERATE_NAME_ALPHABET[Math.floor(Math.random() * GENERATE_NAME_ALPHABET.length)];
  return prefix + suffix;
}

function specChanged(next: KubeObject, current: KubeObject): boolean {
  for (const k of new Set([...Object.keys(next), ...Object.keys(current)])) {
    if (k === 'metadata' || k === 'status' || k === 'apiVersion' || k === 'kind') continue;
    if (JSON.stringify(next[k]) !== JSON.stringify(current[k])) return true;
  }
  return false;
}
