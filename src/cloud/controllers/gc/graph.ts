import type { OwnerReference } from 'kubernetes-types/meta/v1.d.ts';
import type { KubeObject } from '../../../api/object.ts';
import type { ServedResource } from '../../client/client.ts';

/** The finalizer the API server adds for `propagationPolicy: Orphan`. */
export const ORPHAN_FINALIZER = 'orphan';
/** The finalizer the API server adds for `propagationPolicy: Foreground`. */
export const FOREGROUND_FINALIZER = 'foregroundDeletion';

/** `group/version/plural`: which client reads and writes an object. */
export type ResourceId = string;

export function resourceId(r: Pick<ServedResource, 'group' | 'version' | 'plural'>): ResourceId {
  return `${r.group}/${r.version}/${r.plural}`;
}

/** One object of the cluster as the garbage collector tracks it. */
export interface GraphNode {
  readonly uid: string;
  readonly resource: ServedResource;
  /** The object as last seen (its resourceVersion is the precondition of the collector's writes). */
  readonly object: KubeObject;
  readonly owners: readonly OwnerReference[];
}

/** True when the object is being deleted. */
export function deleting(n: GraphNode): boolean {
  return n.object.metadata.deletionTimestamp !== undefined;
}

export function hasFinalizer(n: GraphNode, finalizer: string): boolean {
  return (n.object.metadata.finalizers ?? []).includes(finalizer);
}

/**
 * The owner → dependents graph of every object served, by uid, built from informers. Owners need
 * not be present: a dependent may point at an owner that is gone (dangling) or not seen yet.
 */
export class OwnerGraph {
  readonly #nodes = new Map<string, GraphNode>();
  /** Owner uid → uids of objects naming it in their ownerReferences. */
  readonly #dependents = new Map<string, Set<string>>();

  get size(): number {
    return this.#nodes.size;
  }

  get(uid: string): GraphNode | undefined {
    return this.#nodes.get(uid);
  }

  /** Records `obj` (served as `resource`); returns the previous state. */
  upsert(resource: ServedResource, obj: KubeObject): GraphNode | undefined {
    const uid = obj.metadata.uid ?? '';
    const previous = this.#nodes.get(uid);
    if (previous !== undefined) this.#unlink(previous);
    const node: GraphNode = { uid, resource, object: obj, owners: obj.metadata.ownerReferences ?? [] };
    this.#nodes.set(uid, node);
    for (const ref of node.owners) {
      let set = this.#dependents.get(ref.uid);
      if (set === undefined) this.#dependents.set(ref.uid, (set = new Set()));
      set.add(uid);
    }
    return previous;
  }

  remove(uid: string): GraphNode | undefined {
    const node = this.#nodes.get(uid);
    if (node === undefined) return undefined;
    this.#unlink(node);
    this.#nodes.delete(uid);
    return node;
  }

  /** The objects naming `ownerUid` as an owner. */
  dependents(ownerUid: string): GraphNode[] {
    const out: GraphNode[] = [];
    for (const uid of this.#dependents.get(ownerUid) ?? []) {
      const n = this.#nodes.get(uid);
      if (n !== undefined) out.push(n);
    }
    return out;
  }

  /** Every object of one resource (to forget them when it stops being served). */
  ofResource(id: ResourceId): GraphNode[] {
    return [...this.#nodes.values()].filter((n) => resourceId(n.resource) === id);
  }

  #unlink(node: GraphNode): void {
    for (const ref of node.owners) {
      const set = this.#dependents.get(ref.uid);
      set?.delete(node.uid);
      if (set?.size === 0) this.#dependents.delete(ref.uid);
    }
  }
}
