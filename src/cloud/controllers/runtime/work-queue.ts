/**
 * A de-duplicating, rate-limited work queue with per-key exclusivity, in the shape of client-go's
 * `workqueue.RateLimitingInterface`: a key added while queued is queued once; a key added while
 * being processed is processed again afterwards (never concurrently); failures come back after an
 * exponential back-off per key, reset by `forget`.
 */
export class WorkQueue<K = string> {
  readonly #queue: K[] = [];
  readonly #queued = new Set<K>();
  readonly #processing = new Set<K>();
  /** Keys added while they were processing: re-queued when done. */
  readonly #dirty = new Set<K>();
  readonly #failures = new Map<K, number>();
  readonly #timers = new Map<K, NodeJS.Timeout>();
  readonly #waiters: ((key: K | undefined) => void)[] = [];
  readonly #baseDelayMs: number;
  readonly #maxDelayMs: number;
  #shutDown = false;

  /**
   * @param options.baseDelayMs first retry delay. @default 5
   * @param options.maxDelayMs longest retry delay. @default 60_000
   */
  constructor(options: { baseDelayMs?: number; maxDelayMs?: number } = {}) {
    this.#baseDelayMs = options.baseDelayMs ?? 5;
    this.#maxDelayMs = options.maxDelayMs ?? 60_000;
  }

  get length(): number {
    return this.#queue.length;
  }

  /** Queues `key` unless it is already queued. */
  add(key: K): void {
    if (this.#shutDown) return;
    if (this.#processing.has(key)) {
      this.#dirty.add(key);
      return;
    }
    if (this.#queued.has(key)) return;
    this.#queued.add(key);
    const waiter = this.#waiters.shift();
    if (waiter !== undefined) {
      this.#queued.delete(key);
      this.#processing.add(key);
      waiter(key);
      return;
    }
    this.#queue.push(key);
  }

  /** Queues `key` after `delayMs` (a later call with a shorter delay wins). */
  addAfter(key: K, delayMs: number): void {
    if (this.#shutDown) return;
    if (delayMs <= 0) {
      this.add(key);
      return;
    }
    const existing = this.#timers.get(key);
    if (existing !== undefined) clearTimeout(existing);
    const timer = setTimeout(() => {
      this.#timers.delete(key);
      this.add(key);
    }, delayMs);
    timer.unref();
    this.#timers.set(key, timer);
  }

  /** Queues `key` after its next back-off delay. */
  addRateLimited(key: K): void {
    const n = this.#failures.get(key) ?? 0;
    this.#failures.set(key, n + 1);
    this.addAfter(key, Math.min(this.#maxDelayMs, this.#baseDelayMs * 2 ** n));
  }

  /** Resets the back-off of `key` (after it succeeded). */
  forget(key: K): void {
    this.#failures.delete(key);
  }

  /** How many times `key` failed in a row. */
  retries(key: K): number {
    return this.#failures.get(key) ?? 0;
  }

  /** The next key, marked as processing until `done(key)`; undefined once shut down. */
  get(): Promise<K | undefined> {
    if (this.#shutDown) return Promise.resolve(undefined);
    const key = this.#queue.shift();
    if (key !== undefined) {
      this.#queued.delete(key);
      this.#processing.add(key);
      return Promise.resolve(key);
    }
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Ends the processing of `key`; re-queues it if it was added meanwhile. */
  done(key: K): void {
    this.#processing.delete(key);
    if (this.#dirty.delete(key)) this.add(key);
  }

  /** Stops handing out keys; pending `get`s resolve with undefined. */
  shutDown(): void {
    this.#shutDown = true;
    for (const t of this.#timers.values()) clearTimeout(t);
    this.#timers.clear();
    for (const w of this.#waiters.splice(0)) w(undefined);
  }
}
