import type { OwnerReference } from 'kubernetes-types/meta/v1.d.ts';
import { parseApiVersion, type KubeObject } from '../../../api/object.ts';
import type { Logger } from '../../../log/logger.ts';
import { describeError, hasCode } from '../../../errors/platform-error.ts';
import type { DeleteOptions, KubeClient, ServedResource } from '../../client/client.ts';
import type { ReconcileResult, Reconciler } from '../runtime/controller.ts';
import type { InformerLease, SharedInformers } from '../runtime/shared-informers.ts';
import { deleting, FOREGROUND_FINALIZER, hasFinalizer, ORPHAN_FINALIZER, OwnerGraph, resourceId, type GraphNode, type ResourceId } from './graph.ts';

/**
 * Resources the collector does not watch, as kube-controller-manager's default
 * `ignoredResources`: events are many, short-lived and never owners.
 */
const IGNORED = new Set(['/events', 'events.k8s.io/events']);
/** When an owner's kind is not served (a CRD not installed yet), look again after this long. */
const UNKNOWN_KIND_RETRY_MS = 30_000;

export interface GarbageCollectorOptions {
  readonly client: KubeClient;
  /** The cloud's informers: the collector's objects are the ones every other component reads. */
  readonly informers: SharedInformers;
  readonly log: Logger;
  /** Called with uids to look at; the controller's queue. */
  readonly enqueue: (uid: string) => void;
}

/**
 * The garbage collector: follows every served resource (CRDs included, events excepted) into an
 * {@link OwnerGraph} and enforces ownerReferences as Kubernetes does —
 *
 * - background: once an owner is gone, its dependents are deleted (their owner references all
 *   dangle; one still-living owner keeps a dependent, and only the dangling references are removed);
 * - foreground: an owner with the `foregroundDeletion` finalizer has its dependents deleted
 *   (foreground too, so grandchildren block as well) and keeps the finalizer until no dependent
 *   with `blockOwnerDeletion` is left;
 * - orphan: an owner with the `orphan` finalizer has its references removed from every dependent,
 *   then loses the finalizer.
 *
 * Whether an owner is gone is confirmed with a live read (by kind, name and uid) before anything
 * is deleted: the graph may simply not have seen the owner yet.
 *
 * The objects come from the shared informers and are frozen: the graph holds them as they are, and
 * every write starts from a copy.
 */
export class GarbageCollector implements Reconciler {
  readonly name = 'garbage-collector';
  readonly graph = new OwnerGraph();
  readonly #client: KubeClient;
  readonly #log: Logger;
  readonly #enqueue: (uid: string) => void;
  readonly #informers: SharedInformers;
  /** The resources followed: the lease on each one's shared informer, and how to remove our handler from it. */
  readonly #followed = new Map<ResourceId, Following>();
  /** `group/Kind` → the served resource (first version), for owner look-ups. */
  #byKind = new Map<string, ServedResource>();

  constructor(options: GarbageCollectorOptions) {
    this.#client = options.client;
    this.#informers = options.informers;
    this.#log = options.log;
    this.#enqueue = options.enqueue;
  }

  /** How many resources are followed. */
  get resourceCount(): number {
    return this.#followed.size;
  }

  /**
   * Follows the resources served now: handlers on the shared informers of new ones (resolving once
   * those have listed); for those no longer served, removes them, gives up the informers and
   * forgets their objects.
   */
  async syncResources(signal: AbortSignal): Promise<void> {
    const served = new Map<ResourceId, ServedResource>();
    const byKind = new Map<string, ServedResource>();
    for (const r of await this.#client.serverResources()) {
      if (!r.verbs.includes('list') || !r.verbs.includes('watch') || !r.verbs.includes('delete')) continue;
      if (IGNORED.has(`${r.group}/${r.plural}`)) continue;
      // One version per resource: every version is a view of the same stored objects.
      if (byKind.has(`${r.group}/${r.kind}`)) continue;
      byKind.set(`${r.group}/${r.kind}`, r);
      served.set(resourceId(r), r);
    }
    this.#byKind = byKind;
    for (const [id, following] of this.#followed) if (!served.has(id)) this.#unfollow(id, following);
    const starting: Promise<void>[] = [];
    for (const [id, r] of served) {
      if (this.#followed.has(id)) continue;
      const lease = this.#informers.acquire<KubeObject>(r.group, r.version, r.plural);
      // On an informer that has listed already, the handler gets its objects as adds at once.
      const removeHandler = lease.informer.addHandler({
        add: (obj) => this.#upserted(r, obj),
        update: (_old, obj) => this.#upserted(r, obj),
        delete: (obj) => this.#removed(obj.metadata.uid ?? ''),
      });
      const following: Following = { lease, removeHandler };
      this.#followed.set(id, following);
      starting.push(
        lease.informer.start(signal).catch((err: unknown) => {
          // A CRD removed between discovery and the list: give it up; the next sync follows it
          // again if it is served.
          if (this.#followed.get(id) === following) this.#unfollow(id, following);
          this.#log.debug('cannot follow resource', { resource: id, err: describeError(err) });
        }),
      );
    }
    await Promise.all(starting);
  }

  /** Stops following a resource: no more events from its informer, and its objects leave the graph. */
  #unfollow(id: ResourceId, following: Following): void {
    following.removeHandler();
    following.lease.release();
    this.#followed.delete(id);
    for (const n of this.graph.ofResource(id)) this.#removed(n.uid);
  }

  #upserted(resource: ServedResource, obj: KubeObject): void {
    const uid = obj.metadata.uid ?? '';
    this.graph.upsert(resource, obj);
    const node = this.graph.get(uid)!;
    if (node.owners.length > 0 || (deleting(node) && (hasFinalizer(node, ORPHAN_FINALIZER) || hasFinalizer(node, FOREGROUND_FINALIZER)))) this.#enqueue(uid);
    this.#enqueueWaitingOwners(node);
  }

  #removed(uid: string): void {
    const node = this.graph.remove(uid);
    if (node === undefined) return;
    for (const d of this.graph.dependents(uid)) this.#enqueue(d.uid);
    this.#enqueueWaitingOwners(node);
  }

  /** Owners being deleted wait on their dependents: tell them one changed. */
  #enqueueWaitingOwners(node: GraphNode): void {
    for (const ref of node.owners) {
      const owner = this.graph.get(ref.uid);
      if (owner !== undefined && deleting(owner)) this.#enqueue(owner.uid);
    }
  }

  async reconcile(uid: string): Promise<ReconcileResult> {
    const node = this.graph.get(uid);
    if (node === undefined) return;
    if (deleting(node)) {
      if (hasFinalizer(node, ORPHAN_FINALIZER)) return this.#orphanDependents(node);
      if (hasFinalizer(node, FOREGROUND_FINALIZER)) return this.#deleteDependents(node);
      return;
    }
    if (node.owners.length > 0) return this.#checkOwners(node);
    return;
  }

  /** Orphan: drop the owner from every dependent, then the finalizer from the owner. */
  async #orphanDependents(owner: GraphNode): Promise<ReconcileResult> {
    for (const dep of this.graph.dependents(owner.uid)) await this.#removeOwnerRefs(dep, new Set([owner.uid]));
    await this.#removeFinalizer(owner, ORPHAN_FINALIZER);
    this.#log.debug('orphaned dependents', { owner: describe(owner) });
  }

  /** Foreground: delete the dependents; the owner goes once none that blocks it is left. */
  async #deleteDependents(owner: GraphNode): Promise<ReconcileResult> {
    let blocking = 0;
    for (const dep of this.graph.dependents(owner.uid)) {
      const ref = dep.owners.find((r) => r.uid === owner.uid);
      if (ref?.blockOwnerDeletion === true) blocking++;
      if (deleting(dep)) continue;
      const others = dep.owners.filter((r) => r.uid !== owner.uid && this.#solid(r));
      if (others.length > 0) {
        // Another owner still wants it: it stays, without the reference that would block.
        await this.#removeOwnerRefs(dep, new Set([owner.uid]));
        if (ref?.blockOwnerDeletion === true) blocking--;
        continue;
      }
      await this.#delete(dep, { propagationPolicy: 'Foreground' });
    }
    if (blocking > 0) return;
    await this.#removeFinalizer(owner, FOREGROUND_FINALIZER);
    this.#log.debug('foreground deletion done', { owner: describe(owner) });
  }

  /** True when the owner is in the graph and not waiting for its dependents to go. */
  #solid(ref: OwnerReference): boolean {
    const o = this.graph.get(ref.uid);
    return o !== undefined && !(deleting(o) && hasFinalizer(o, FOREGROUND_FINALIZER));
  }

  /** A dependent: delete it when every owner is gone; drop references to gone owners otherwise. */
  async #checkOwners(node: GraphNode): Promise<ReconcileResult> {
    const solid: OwnerReference[] = [];
    const dangling: OwnerReference[] = [];
    const waiting: OwnerReference[] = [];
    for (const ref of node.owners) {
      const owner = this.graph.get(ref.uid);
      if (owner !== undefined) {
        if (deleting(owner) && hasFinalizer(owner, FOREGROUND_FINALIZER)) waiting.push(ref);
        else solid.push(ref);
        continue;
      }
      const exists = await this.#ownerExists(node, ref);
      if (exists === undefined) return { requeueAfterMs: UNKNOWN_KIND_RETRY_MS };
      (exists ? solid : dangling).push(ref);
    }
    if (solid.length > 0) {
      if (dangling.length === 0 && waiting.length === 0) return;
      await this.#removeOwnerRefs(node, new Set([...dangling, ...waiting].map((r) => r.uid)));
      return;
    }
    // Every owner is gone or going: so is the dependent. It blocks an owner in foreground deletion.
    await this.#delete(node, { propagationPolicy: waiting.length > 0 ? 'Foreground' : 'Background' });
    this.#log.debug('deleted dependent of a deleted owner', { object: describe(node) });
    return;
  }

  /** Asks the API whether the owner exists (same uid); undefined when its kind is not served. */
  async #ownerExists(dependent: GraphNode, ref: OwnerReference): Promise<boolean | undefined> {
    const { group } = parseApiVersion(ref.apiVersion);
    const r = this.#byKind.get(`${group}/${ref.kind}`);
    if (r === undefined) return undefined;
    // A cluster-scoped dependent cannot have a namespaced owner: such a reference dangles.
    const ns = dependent.object.metadata.namespace;
    if (r.namespaced && (ns === undefined || ns === '')) return false;
    const owner = await this.#client.resource(r.group, r.version, r.plural).get(r.namespaced ? ns : undefined, ref.name);
    return owner !== undefined && owner.metadata.uid === ref.uid;
  }

  async #delete(node: GraphNode, options: DeleteOptions): Promise<void> {
    const r = node.resource;
    try {
      await this.#client.resource(r.group, r.version, r.plural).delete(node.object.metadata.namespace, node.object.metadata.name ?? '', { ...options, preconditions: { uid: node.uid } });
    } catch (err) {
      // Gone already, or (409 on the uid precondition) replaced by a new object of the same name.
      if (hasCode(err, 'API_NOT_FOUND') || hasCode(err, 'API_CONFLICT')) return;
      throw err;
    }
  }

  async #removeOwnerRefs(node: GraphNode, uids: ReadonlySet<string>): Promise<void> {
    const remaining = node.owners.filter((r) => !uids.has(r.uid));
    if (remaining.length === node.owners.length) return;
    const meta = { ...node.object.metadata };
    if (remaining.length > 0) meta.ownerReferences = remaining;
    else delete meta.ownerReferences;
    await this.#update(node, { ...node.object, metadata: meta });
  }

  async #removeFinalizer(node: GraphNode, finalizer: string): Promise<void> {
    const meta = { ...node.object.metadata, finalizers: (node.object.metadata.finalizers ?? []).filter((f) => f !== finalizer) };
    await this.#update(node, { ...node.object, metadata: meta });
  }

  /** A PUT of the cached object, changed: its resourceVersion makes a stale cache a 409 (retried at once). */
  async #update(node: GraphNode, obj: KubeObject): Promise<void> {
    const r = node.resource;
    try {
      await this.#client.resource(r.group, r.version, r.plural).update(obj);
    } catch (err) {
      if (hasCode(err, 'API_NOT_FOUND')) return;
      throw err;
    }
  }
}

interface Following {
  readonly lease: InformerLease<KubeObject>;
  readonly removeHandler: () => void;
}

function describe(n: GraphNode): string {
  const m = n.object.metadata;
  return `${n.resource.plural}${m.namespace !== undefined ? ` ${m.namespace}/` : ' '}${m.name ?? ''}`;
}
