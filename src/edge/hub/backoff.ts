/** Options of {@link Backoff}. */
export interface BackoffOptions {
  /** The first delay's upper bound, ms. */
  readonly initialMs: number;
  /** The largest delay, ms. */
  readonly maxMs: number;
  /** Growth per attempt. @default 2 */
  readonly factor?: number;
  /** A number in [0, 1); injectable so tests are deterministic. @default Math.random */
  readonly random?: () => number;
}

/**
 * Exponential back-off with "equal jitter": attempt n waits uniformly between half and all of
 * `min(max, initial × factor^n)`. The jitter spreads a reconnect storm (thousands of nodes that
 * lost the same cloud at the same instant) over time, and the lower half-bound keeps each node's
 * delays growing so a cloud that stays down is not hammered.
 */
export class Backoff {
  readonly #initialMs: number;
  readonly #maxMs: number;
  readonly #factor: number;
  readonly #random: () => number;
  #attempt = 0;

  constructor(options: BackoffOptions) {
    this.#initialMs = options.initialMs;
    this.#maxMs = options.maxMs;
    this.#factor = options.factor ?? 2;
    this.#random = options.random ?? Math.random;
  }

  /** Attempts since the last {@link reset}. */
  get attempt(): number {
    return this.#attempt;
  }

  /**
   * The delay before the next attempt, ms.
   * @param maxMs a lower cap for this attempt (e.g. when the failure says the peer is merely
   *   unreachable, so retrying soon costs it nothing)
   */
  next(maxMs = this.#maxMs): number {
    const ceiling = Math.min(maxMs, this.#maxMs, this.#initialMs * this.#factor ** Math.min(this.#attempt, 64));
    this.#attempt++;
    return Math.round(ceiling / 2 + (this.#random() * ceiling) / 2);
  }

  /** Back to the first, short delay: call after a connection proved healthy. */
  reset(): void {
    this.#attempt = 0;
  }
}
