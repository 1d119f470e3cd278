import type { KubeObject } from '../../../api/object.ts';
import type { LabelSelector } from '../../../api/selectors/labels.ts';
import { hasCode } from '../../../errors/platform-error.ts';
import type { ResourceClient } from '../../client/client.ts';
import { controllerOf, newControllerRef, type OwnerKind } from './objects.ts';

/** Options of {@link ControllerRefManager}. */
export interface ControllerRefManagerOptions<T extends KubeObject> {
  /** The controller claiming, as its informer caches it. */
  readonly owner: KubeObject;
  readonly ownerKind: OwnerKind;
  readonly selector: LabelSelector;
  /** Writes the claimed objects' owner references. */
  readonly client: ResourceClient<T>;
  /**
   * Reads the owner fresh from the API (not the cache) before the first adoption: an owner that
   * was deleted and recreated under the same name must not adopt with a stale uid.
   */
  readonly getOwner: () => Promise<KubeObject | undefined>;
}

/**
 * `controller.ControllerRefManager`: decides which objects (pods of a ReplicaSet, ReplicaSets of a
 * Deployment) a controller owns. It keeps what it owns and still selects, adopts orphans its selector
 * matches (unless it or they are being deleted) and releases what it owns but no longer selects.
 * Adoptions and releases are writes with a resourceVersion precondition, so a stale cache makes them
 * fail with a conflict (and the reconcile retry) instead of overwriting someone else's change.
 */
export class ControllerRefManager<T extends KubeObject> {
  readonly #o: ControllerRefManagerOptions<T>;
  #canAdopt: Promise<boolean> | undefined;

  constructor(options: ControllerRefManagerOptions<T>) {
    this.#o = options;
  }

  /**
   * The candidates this controller owns after adopting and releasing.
   * @throws the first write error other than NotFound, after trying every candidate (the caller retries)
   */
  async claim(candidates: readonly T[]): Promise<T[]> {
    const owner = this.#o.owner;
    const uid = owner.metadata.uid;
    const ownerDeleting = owner.metadata.deletionTimestamp !== undefined;
    const claimed: T[] = [];
    let firstError: Error | undefined;
    for (const obj of candidates) {
      const ref = controllerOf(obj);
      const matches = this.#o.selector.matches(obj.metadata.labels ?? {});
      try {
        if (ref !== undefined) {
          if (ref.uid !== uid) continue;
          if (matches) {
            // Kept even while the owner is being deleted: keeping takes no write.
            claimed.push(obj);
          } else if (!ownerDeleting) {
            await this.#release(obj);
          }
          continue;
        }
        if (ownerDeleting || !matches || obj.metadata.deletionTimestamp !== undefined) continue;
        if (obj.metadata.namespace !== owner.metadata.namespace) continue;
        if (!(await this.#mayAdopt())) continue;
        claimed.push(await this.#adopt(obj));
      } catch (err) {
        if (hasCode(err, 'API_NOT_FOUND')) continue;
        firstError ??= err instanceof Error ? err : new Error(String(err));
      }
    }
    if (firstError !== undefined) throw firstError;
    return claimed;
  }

  #mayAdopt(): Promise<boolean> {
    this.#canAdopt ??= this.#o.getOwner().then((fresh) => fresh !== undefined && fresh.metadata.uid === this.#o.owner.metadata.uid && fresh.metadata.deletionTimestamp === undefined);
    return this.#canAdopt;
  }

  async #adopt(obj: T): Promise<T> {
    const next = structuredClone(obj);
    next.metadata.ownerReferences = [...(obj.metadata.ownerReferences ?? []), newControllerRef(this.#o.owner, this.#o.ownerKind)];
    return this.#o.client.update(next);
  }

  async #release(obj: T): Promise<void> {
    const next = structuredClone(obj);
    const uid = this.#o.owner.metadata.uid;
    const refs = (obj.metadata.ownerReferences ?? []).filter((r) => r.uid !== uid);
    if (refs.length > 0) next.metadata.ownerReferences = refs;
    else delete next.metadata.ownerReferences;
    await this.#o.client.update(next);
  }
}
