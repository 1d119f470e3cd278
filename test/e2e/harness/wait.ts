/** Options of {@link eventually}. */
export interface EventuallyOptions {
  /** Give up after this long. @default 10_000 */
  timeoutMs?: number;
  /** Pause between attempts. @default 100 */
  intervalMs?: number;
  /** What is being waited for, for the timeout message. */
  what?: string;
}

/**
 * Retries `fn` until it returns without throwing, and returns its value; past the deadline it
 * rejects with the last failure as the cause. Polling with a bounded deadline is how these tests
 * wait for state another process produces; nothing is ordered by fixed sleeps.
 */
export async function eventually<T>(fn: () => T | Promise<T>, options: EventuallyOptions = {}): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const intervalMs = options.intervalMs ?? 100;
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      last = err;
    }
    if (Date.now() >= deadline) {
      const detail = last instanceof Error ? last.message : String(last);
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${options.what ?? 'a condition'}: ${detail}`, { cause: last });
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
