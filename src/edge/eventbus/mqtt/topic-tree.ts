/**
 * Subscriptions by filter, as a trie of topic levels: routing a message walks only the levels of
 * its topic (literal child, `+` child, `#` child at each), so its cost does not grow with the
 * number of subscriptions. The edge's devices bench has ~1,000 devices and ~10,000 messages/s:
 * a scan of every subscription per message would be 10 million filter matches a second.
 */

class TrieNode<S> {
  readonly parent: TrieNode<S> | undefined;
  readonly level: string;
  readonly children = new Map<string, TrieNode<S>>();
  /** `+` and `#` have their own slots: every lookup tries them, and a Map probe each would cost more. */
  plus: TrieNode<S> | undefined;
  hash: TrieNode<S> | undefined;
  /** Who subscribed with the filter that ends here, and at which QoS. */
  subs: Map<S, number> | undefined;

  constructor(parent: TrieNode<S> | undefined, level: string) {
    this.parent = parent;
    this.level = level;
  }

  child(level: string): TrieNode<S> | undefined {
    return level === '+' ? this.plus : level === '#' ? this.hash : this.children.get(level);
  }

  get empty(): boolean {
    return this.subs === undefined && this.children.size === 0 && this.plus === undefined && this.hash === undefined;
  }
}

/** Subscribers `S` by filter. Filters must be valid (`isValidFilter` of bus.ts); the tree does not check. */
export class TopicTree<S> {
  readonly #root = new TrieNode<S>(undefined, '');
  #size = 0;

  /** Subscriptions held. */
  get size(): number {
    return this.#size;
  }

  /** Subscribes `sub` to `filter` at `qos`, replacing the QoS of an existing identical subscription. */
  add(filter: string, sub: S, qos: number): void {
    let node = this.#root;
    for (const level of filter.split('/')) {
      let next = node.child(level);
      if (next === undefined) {
        next = new TrieNode(node, level);
        if (level === '+') node.plus = next;
        else if (level === '#') node.hash = next;
        else node.children.set(level, next);
      }
      node = next;
    }
    node.subs ??= new Map();
    if (!node.subs.has(sub)) this.#size++;
    node.subs.set(sub, qos);
  }

  /** Removes `sub`'s subscription to `filter`; false when there was none. */
  remove(filter: string, sub: S): boolean {
    let node: TrieNode<S> | undefined = this.#root;
    for (const level of filter.split('/')) {
      node = node.child(level);
      if (node === undefined) return false;
    }
    if (node.subs?.delete(sub) !== true) return false;
    this.#size--;
    if (node.subs.size === 0) node.subs = undefined;
    // Prune the branch the filter leaves empty, so a churn of device filters does not grow the tree.
    while (node.parent !== undefined && node.empty) {
      const parent: TrieNode<S> = node.parent;
      if (node.level === '+') parent.plus = undefined;
      else if (node.level === '#') parent.hash = undefined;
      else parent.children.delete(node.level);
      node = parent;
    }
    return true;
  }

  /**
   * Calls `visit` for each subscription matching `topic` (a topic name, no wildcards), per MQTT
   * 3.1.1 §4.7: `+` matches one level, `#` the rest including none; filters starting with a
   * wildcard do not match topics starting with `$` [MQTT-4.7.2-1]. A subscriber with several
   * matching filters is visited once per filter.
   */
  match(topic: string, visit: (sub: S, qos: number) => void): void {
    const levels = topic.split('/');
    this.#walk(this.#root, levels, 0, topic.startsWith('$'), visit);
  }

  #walk(node: TrieNode<S>, levels: readonly string[], i: number, dollar: boolean, visit: (sub: S, qos: number) => void): void {
    const wild = i > 0 || !dollar;
    if (wild && node.hash?.subs !== undefined) for (const [s, q] of node.hash.subs) visit(s, q);
    if (i === levels.length) {
      if (node.subs !== undefined) for (const [s, q] of node.subs) visit(s, q);
      return;
    }
    const next = node.children.get(levels[i]!);
    if (next !== undefined) this.#walk(next, levels, i + 1, dollar, visit);
    if (wild && node.plus !== undefined) this.#walk(node.plus, levels, i + 1, dollar, visit);
  }
}
