/**
 * How long an expectation may stay unmet before the controller stops waiting for it
 * (`controller.ExpectationsTimeout`): a watch event lost to a relist must not stall an owner forever.
 */
export const EXPECTATIONS_TTL_MS = 5 * 60_000;

interface Pending {
  readonly creations: Set<string>;
  readonly deletions: Set<string>;
  readonly sinceMs: number;
}

/** Where a pod a controller created or deleted stands in its informer cache. */
export type CacheState = 'absent' | 'present' | 'terminating';

/**
 * Kubernetes' `UIDTrackingControllerExpectations`, by pod name: what an owner has created or
 * deleted but its informer cache does not show yet. While an owner has unmet expectations its
 * controller does not create or delete more pods (it would act twice on a stale cache); it still
 * writes status.
 *
 * Unlike client-go's counters, expectations here are checked against the cache itself when asked
 * (`satisfied`), so an event that arrived before the expectation was recorded cannot be missed.
 */
export class Expectations {
  readonly #pending = new Map<string, Pending>();
  readonly #now: () => number;

  constructor(options: { now?: () => number } = {}) {
    this.#now = options.now ?? Date.now;
  }

  /** Records that `owner` created the pod `name` (call after the create returned). */
  expectCreation(owner: string, name: string): void {
    this.#entry(owner).creations.add(name);
  }

  /** Records that `owner` deleted (or asked to delete) the pod `name`. */
  expectDeletion(owner: string, name: string): void {
    this.#entry(owner).deletions.add(name);
  }

  /** The cache removed `name`: a creation it never showed will not show any more. */
  observeRemoval(owner: string, name: string): void {
    const p = this.#pending.get(owner);
    if (p === undefined) return;
    p.creations.delete(name);
    p.deletions.delete(name);
    if (p.creations.size === 0 && p.deletions.size === 0) this.#pending.delete(owner);
  }

  /**
   * True when every creation of `owner` is in the cache and every deletion has left it (or is
   * terminating there), or when the expectations are older than {@link EXPECTATIONS_TTL_MS}.
   */
  satisfied(owner: string, lookup: (name: string) => CacheState): boolean {
    const p = this.#pending.get(owner);
    if (p === undefined) return true;
    for (const name of p.creations) if (lookup(name) !== 'absent') p.creations.delete(name);
    for (const name of p.deletions) if (lookup(name) !== 'present') p.deletions.delete(name);
    if ((p.creations.size === 0 && p.deletions.size === 0) || this.#now() - p.sinceMs > EXPECTATIONS_TTL_MS) {
      this.#pending.delete(owner);
      return true;
    }
    return false;
  }

  /** Forgets `owner` (it was deleted). */
  delete(owner: string): void {
    this.#pending.delete(owner);
  }

  #entry(owner: string): Pending {
    let p = this.#pending.get(owner);
    if (p === undefined) {
      p = { creations: new Set(), deletions: new Set(), sinceMs: this.#now() };
      this.#pending.set(owner, p);
    }
    return p;
  }
}
