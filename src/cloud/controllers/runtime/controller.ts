import type { Logger } from '../../../log/logger.ts';
import { describeError, hasCode } from '../../../errors/platform-error.ts';
import { WorkQueue } from './work-queue.ts';

/** What a reconcile asks for: nothing (done), or to look at the key again later. */
export type ReconcileResult = { readonly requeueAfterMs?: number } | undefined | void;

/**
 * A level-triggered reconciler: reads the current state of `key` from informer caches, computes
 * what should be, and writes the difference with resourceVersion preconditions. It must be
 * idempotent: it runs again for the same key whenever anything related changes.
 */
export interface Reconciler {
  readonly name: string;
  reconcile(key: string, signal: AbortSignal): Promise<ReconcileResult>;
}

/**
 * Runs a reconciler: `workers` loops take keys from a de-duplicating work queue; errors requeue
 * with exponential back-off (conflicts too: they only mean the cache was behind, and the first
 * retry comes after a few milliseconds).
 */
export class Controller {
  readonly queue: WorkQueue<string>;
  readonly #reconciler: Reconciler;
  readonly #workers: number;
  readonly #log: Logger;

  constructor(options: { reconciler: Reconciler; workers?: number; log: Logger; queue?: WorkQueue<string> }) {
    this.#reconciler = options.reconciler;
    this.#workers = options.workers ?? 2;
    this.#log = options.log;
    this.queue = options.queue ?? new WorkQueue<string>();
  }

  enqueue(key: string): void {
    this.queue.add(key);
  }

  /** Runs the workers until `signal` aborts. */
  start(signal: AbortSignal): void {
    signal.addEventListener('abort', () => this.queue.shutDown(), { once: true });
    for (let i = 0; i < this.#workers; i++) void this.#work(signal);
  }

  async #work(signal: AbortSignal): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      try {
        const result = await this.#reconciler.reconcile(key, signal);
        this.queue.forget(key);
        if (result?.requeueAfterMs !== undefined) this.queue.addAfter(key, result.requeueAfterMs);
      } catch (err) {
        if (signal.aborted) return;
        if (hasCode(err, 'API_CONFLICT')) {
          // The cache was behind: look again once it has caught up. Through the back-off (a few ms at
          // first) rather than at once, so a retry never starves the event loop the cache update
          // needs (writes are acknowledged and published from a later turn of it).
          this.queue.addRateLimited(key);
        } else {
          this.#log.warn('reconcile failed; retrying', { controller: this.#reconciler.name, key, retries: this.queue.retries(key), err: describeError(err) });
          this.queue.addRateLimited(key);
        }
      } finally {
        this.queue.done(key);
      }
    }
  }
}
