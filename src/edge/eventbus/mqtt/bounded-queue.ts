/**
 * A FIFO of at most `capacity` items on a ring buffer: pushing onto a full one drops the oldest
 * (returned, for the caller to count and log). Array `shift()` is O(n) and a burst of 100,000
 * messages would copy the queue 100,000 times.
 */
export class BoundedQueue<T> {
  readonly capacity: number;
  #items: (T | undefined)[] = [];
  #head = 0;
  #length = 0;

  constructor(capacity: number) {
    this.capacity = capacity;
  }

  get length(): number {
    return this.#length;
  }

  /** Appends `item`; returns the item dropped to make room, if any. */
  push(item: T): T | undefined {
    let dropped: T | undefined;
    if (this.#length === this.capacity) dropped = this.shift();
    if (this.#length === this.#items.length) this.#grow();
    this.#items[(this.#head + this.#length) % this.#items.length] = item;
    this.#length++;
    return dropped;
  }

  shift(): T | undefined {
    if (this.#length === 0) return undefined;
    const item = this.#items[this.#head];
    this.#items[this.#head] = undefined;
    this.#head = (this.#head + 1) % this.#items.length;
    this.#length--;
    if (this.#length === 0) this.#head = 0;
    return item;
  }

  clear(): void {
    this.#items = [];
    this.#head = 0;
    this.#length = 0;
  }

  /** Grows the ring (by doubling, up to the capacity) only when it is full: an idle queue holds no array. */
  #grow(): void {
    const size = Math.min(this.capacity, Math.max(8, this.#items.length * 2));
    const next: (T | undefined)[] = new Array<T | undefined>(size);
    for (let i = 0; i < this.#length; i++) next[i] = this.#items[(this.#head + i) % this.#items.length];
    this.#items = next;
    this.#head = 0;
  }
}
