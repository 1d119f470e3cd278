import { setInterval } from 'node:timers/promises';
import { describeError, hasCode } from '../errors/platform-error.ts';
import type { Logger } from '../log/logger.ts';
import type { Backend } from './backend.ts';

/** Options of {@link Compactor}. */
export interface CompactorOptions {
  readonly backend: Backend;
  /** Time between compactions, in milliseconds. @default 300_000 (5 minutes, as kube-apiserver) */
  readonly intervalMs?: number;
  readonly log: Logger;
}

/**
 * Keeps the store's history bounded the way kube-apiserver does: on every tick it compacts up to the
 * revision that was current at the previous tick, so a watcher or paginated list always has at least
 * one interval of history to resume from, and no more than two intervals are kept.
 */
export class Compactor {
  readonly #backend: Backend;
  readonly #intervalMs: number;
  readonly #log: Logger;
  readonly #stopping = new AbortController();
  /** The revision recorded at the previous tick: what the next tick compacts to. */
  #previous: number | undefined;
  #loop: Promise<void> | undefined;

  constructor(options: CompactorOptions) {
    this.#backend = options.backend;
    this.#intervalMs = options.intervalMs ?? 300_000;
    this.#log = options.log;
  }

  /**
   * Starts compacting every interval in the background, until `signal` aborts or {@link stop} is
   * called. Returns at once; the first tick only records the current revision.
   */
  start(signal: AbortSignal): void {
    if (this.#loop !== undefined) throw new Error('compactor already started');
    this.#loop = this.#run(AbortSignal.any([signal, this.#stopping.signal]));
  }

  /** Stops the background loop and resolves once a compaction in progress has finished. */
  async stop(): Promise<void> {
    this.#stopping.abort();
    await this.#loop;
  }

  /**
   * One round: compacts to the revision recorded at the previous round (if it is newer than the
   * compacted one) and records the current revision for the next. The loop calls it every interval.
   * @returns the revision compacted to, or undefined when there was nothing to compact.
   * @throws what the backend throws.
   */
  async tick(): Promise<number | undefined> {
    const target = this.#previous;
    this.#previous = await this.#backend.currentRevision();
    if (target === undefined || target <= (await this.#backend.compactedRevision())) return undefined;
    await this.#backend.compact(target);
    this.#log.debug('store compacted', { revision: target });
    return target;
  }

  async #run(signal: AbortSignal): Promise<void> {
    this.#log.info('compactor started', { intervalMs: this.#intervalMs });
    try {
      await this.tick();
      for await (const _ of setInterval(this.#intervalMs, undefined, { signal })) {
        try {
          await this.tick();
        } catch (err) {
          if (hasCode(err, 'STORE_CLOSED')) break;
          // The next tick compacts to a later revision, which covers this one.
          this.#log.warn('compaction failed', { err: describeError(err) });
        }
      }
    } catch (err) {
      if (!signal.aborted && !hasCode(err, 'STORE_CLOSED')) this.#log.error('compactor stopped', { err: describeError(err) });
    }
    this.#log.info('compactor stopped');
  }
}
