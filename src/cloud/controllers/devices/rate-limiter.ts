/**
 * A token bucket: `perSecond` sustained, `burst` at once. {@link take} waits for a token in
 * order of arrival, so writers queue instead of spinning; the wait ends early when `signal` aborts.
 */
export class TokenBucket {
  readonly #perSecond: number;
  readonly #burst: number;
  readonly #now: () => number;
  #tokens: number;
  #at: number;
  /** The time the last queued taker is due: later takers wait after it. */
  #tail = 0;

  constructor(options: { perSecond: number; burst: number; now?: () => number }) {
    if (!(options.perSecond > 0) || !(options.burst >= 1)) throw new RangeError('a token bucket needs perSecond > 0 and burst >= 1');
    this.#perSecond = options.perSecond;
    this.#burst = options.burst;
    this.#now = options.now ?? (() => performance.now());
    this.#tokens = options.burst;
    this.#at = this.#now();
  }

  /** Takes a token, waiting as long as needed; rejects with the signal's reason if it aborts first. */
  async take(signal?: AbortSignal): Promise<void> {
    const now = this.#now();
    this.#tokens = Math.min(this.#burst, this.#tokens + ((now - this.#at) / 1000) * this.#perSecond);
    this.#at = now;
    this.#tokens -= 1;
    if (this.#tokens >= 0) return;
    // In debt: this taker is due when the debt is paid back, and never before the one ahead of it.
    const due = Math.max(now + (-this.#tokens / this.#perSecond) * 1000, this.#tail);
    this.#tail = due;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(done, due - now);
      function done(): void {
        signal?.removeEventListener('abort', abort);
        resolve();
      }
      function abort(): void {
        clearTimeout(timer);
        reject(signal?.reason instanceof Error ? signal.reason : new Error('aborted'));
      }
      signal?.addEventListener('abort', abort, { once: true });
    });
  }
}
