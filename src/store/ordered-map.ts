/**
 * Chunk size bounds. Inserting into or removing from a chunk moves at most MAX_CHUNK entries, and
 * locating a chunk is a binary search over n / MAX_CHUNK chunk ends, so a change costs O(log n + 512)
 * instead of the O(n) of one big sorted array (memmove of 100,000 pointers per insert).
 */
const MAX_CHUNK = 512;

/**
 * Values with string keys, kept in key order (JavaScript string order, which is byte order for the
 * ASCII keys kedge stores) and reachable by key in O(1). Built for the watch cache: `get` for single
 * reads, and a sorted scan from any key for prefix lists and pagination that costs O(log n + page).
 *
 * Values are sorted in chunks of at most 512 (a one-level B-tree). Not safe to change while a scan
 * is being iterated; the cache only scans synchronously.
 */
export class OrderedMap<V extends { readonly key: string }> {
  readonly #byKey = new Map<string, V>();
  /** Non-empty chunks in key order; every key of chunk i is below every key of chunk i + 1. */
  readonly #chunks: V[][] = [];

  get size(): number {
    return this.#byKey.size;
  }

  get(key: string): V | undefined {
    return this.#byKey.get(key);
  }

  /** Inserts `value` or replaces the value with the same key; returns the value it replaced. */
  set(value: V): V | undefined {
    const previous = this.#byKey.get(value.key);
    this.#byKey.set(value.key, value);
    if (this.#chunks.length === 0) {
      this.#chunks.push([value]);
      return previous;
    }
    const c = this.#chunkFor(value.key);
    const chunk = this.#chunks[c]!;
    const i = lowerBound(chunk, value.key);
    if (previous !== undefined) {
      chunk[i] = value;
      return previous;
    }
    chunk.splice(i, 0, value);
    if (chunk.length > MAX_CHUNK) this.#chunks.splice(c + 1, 0, chunk.splice(chunk.length >> 1));
    return undefined;
  }

  /** Removes the value with `key`; returns it, or undefined when there was none. */
  delete(key: string): V | undefined {
    const previous = this.#byKey.get(key);
    if (previous === undefined) return undefined;
    this.#byKey.delete(key);
    const c = this.#chunkFor(key);
    const chunk = this.#chunks[c]!;
    chunk.splice(lowerBound(chunk, key), 1);
    if (chunk.length === 0) {
      this.#chunks.splice(c, 1);
    } else if (chunk.length < MAX_CHUNK / 4 && c + 1 < this.#chunks.length && chunk.length + this.#chunks[c + 1]!.length <= MAX_CHUNK) {
      // Merge sparse neighbours so deletes cannot leave many tiny chunks behind.
      chunk.push(...this.#chunks[c + 1]!);
      this.#chunks.splice(c + 1, 1);
    }
    return previous;
  }

  /**
   * Values in key order, starting at the first key `>= from` (or `> from` when `exclusive`).
   */
  *scan(from: string, exclusive = false): Generator<V, void, undefined> {
    if (this.#chunks.length === 0) return;
    let c = this.#chunkFor(from);
    let i = exclusive ? upperBound(this.#chunks[c]!, from) : lowerBound(this.#chunks[c]!, from);
    for (; c < this.#chunks.length; c++, i = 0) {
      const chunk = this.#chunks[c]!;
      for (; i < chunk.length; i++) yield chunk[i]!;
    }
  }

  /** The chunk that holds `key` or should: the first whose last key is >= key, else the last chunk. */
  #chunkFor(key: string): number {
    let lo = 0;
    let hi = this.#chunks.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const chunk = this.#chunks[mid]!;
      if (chunk[chunk.length - 1]!.key < key) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/** Index of the first value whose key is >= `key`. */
function lowerBound<V extends { readonly key: string }>(values: readonly V[], key: string): number {
  let lo = 0;
  let hi = values.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (values[mid]!.key < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Index of the first value whose key is > `key`. */
function upperBound<V extends { readonly key: string }>(values: readonly V[], key: string): number {
  let lo = 0;
  let hi = values.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (values[mid]!.key <= key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
