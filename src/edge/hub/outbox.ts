import { randomUUID } from 'node:crypto';
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import type { KubeObject } from '../../api/object.ts';
import type { Logger } from '../../log/logger.ts';
import type { ResourceRef } from '../../protocol/envelope.ts';
import { migrate, transaction } from '../db.ts';

/** A message that must reach the cloud: today Kubernetes Events; the id is the envelope's header id. */
export interface OutboxMessage {
  readonly id: string;
  readonly op: 'event';
  readonly resource: ResourceRef;
  readonly content: KubeObject;
  /** Milliseconds since the epoch. */
  readonly createdAt: number;
  readonly expiresAt: number;
}

/** Options of {@link Outbox}. */
export interface OutboxOptions {
  readonly db: DatabaseSync;
  readonly log: Logger;
  /** Total bytes of stored messages; beyond it the oldest are dropped. @default 16 MiB */
  readonly maxBytes?: number;
  /** How long a message may wait for the cloud before it is dropped. @default 24 h */
  readonly ttlMs?: number;
  /** @default Date.now */
  readonly now?: () => number;
}

const MIGRATIONS = [
  `CREATE TABLE hub_outbox (
     seq INTEGER PRIMARY KEY AUTOINCREMENT,
     id TEXT NOT NULL UNIQUE,
     bytes INTEGER NOT NULL,
     expires_at INTEGER NOT NULL,
     body TEXT NOT NULL
   );
   CREATE INDEX hub_outbox_expiry ON hub_outbox (expires_at);`,
];

/**
 * The durable edge → cloud outbox for messages that must not be lost (events; later device data):
 * rows in edge.db, sent by EdgeHub in order whenever it is connected and deleted once the cloud
 * acknowledges them. Delivery is at least once: a message whose acknowledgement was lost with the
 * connection is sent again with the same id, which the cloud de-duplicates.
 *
 * Bounded both ways, because an edge may be offline for weeks: messages older than the TTL are
 * dropped, and past the size cap the oldest are dropped to make room (logged with
 * `EDGE_OUTBOX_FULL`): the newest data is the most useful after an outage.
 */
export class Outbox {
  readonly #db: DatabaseSync;
  readonly #log: Logger;
  readonly #maxBytes: number;
  readonly #ttlMs: number;
  readonly #now: () => number;
  readonly #insert: StatementSync;
  readonly #peek: StatementSync;
  readonly #remove: StatementSync;
  readonly #oldest: StatementSync;
  readonly #expire: StatementSync;
  readonly #listeners = new Set<() => void>();
  #bytes: number;
  #count: number;

  constructor(options: OutboxOptions) {
    this.#db = options.db;
    this.#log = options.log;
    this.#maxBytes = options.maxBytes ?? 16 * 1024 * 1024;
    this.#ttlMs = options.ttlMs ?? 24 * 60 * 60 * 1000;
    this.#now = options.now ?? Date.now;
    migrate(this.#db, 'hub_outbox', MIGRATIONS);
    this.#insert = this.#db.prepare('INSERT INTO hub_outbox (id, bytes, expires_at, body) VALUES (?, ?, ?, ?)');
    this.#peek = this.#db.prepare('SELECT seq, body FROM hub_outbox WHERE seq > ? ORDER BY seq LIMIT ?');
    this.#remove = this.#db.prepare('DELETE FROM hub_outbox WHERE id = ? RETURNING bytes');
    this.#oldest = this.#db.prepare('DELETE FROM hub_outbox WHERE seq IN (SELECT seq FROM hub_outbox ORDER BY seq LIMIT ?) RETURNING bytes');
    this.#expire = this.#db.prepare('DELETE FROM hub_outbox WHERE expires_at <= ? RETURNING bytes');
    const totals = this.#db.prepare('SELECT COUNT(*) AS n, COALESCE(SUM(bytes), 0) AS b FROM hub_outbox').get() as { n: number; b: number };
    this.#count = totals.n;
    this.#bytes = totals.b;
  }

  /** Messages waiting. */
  get size(): number {
    return this.#count;
  }

  /** Their total size, bytes. */
  get bytes(): number {
    return this.#bytes;
  }

  /**
   * Stores a message durably and wakes the sender. A message larger than the whole cap is dropped
   * at once (logged); otherwise the oldest messages make room.
   * @returns the message id (the envelope id the cloud de-duplicates by)
   */
  enqueue(op: OutboxMessage['op'], resource: ResourceRef, content: KubeObject): string {
    const now = this.#now();
    const msg: OutboxMessage = { id: randomUUID(), op, resource, content, createdAt: now, expiresAt: now + this.#ttlMs };
    const body = JSON.stringify(msg);
    const bytes = Buffer.byteLength(body);
    if (bytes > this.#maxBytes) {
      this.#log.warn('outbox message larger than the outbox; dropped', { code: 'EDGE_OUTBOX_FULL', bytes, maxBytes: this.#maxBytes, kind: resource.kind, name: resource.name });
      return msg.id;
    }
    let dropped = 0;
    transaction(this.#db, () => {
      while (this.#bytes + bytes > this.#maxBytes && this.#count > 0) {
        // Drop in chunks: one statement per chunk rather than one per message.
        const gone = this.#oldest.all(Math.max(1, Math.ceil(this.#count / 10))) as { bytes: number }[];
        for (const g of gone) this.#bytes -= g.bytes;
        this.#count -= gone.length;
        dropped += gone.length;
      }
      this.#insert.run(msg.id, bytes, msg.expiresAt, body);
    });
    this.#bytes += bytes;
    this.#count += 1;
    if (dropped > 0) this.#log.warn('outbox full; dropped the oldest messages', { code: 'EDGE_OUTBOX_FULL', dropped, maxBytes: this.#maxBytes });
    for (const l of this.#listeners) l();
    return msg.id;
  }

  /**
   * Up to `limit` messages in the order they were enqueued, starting after `afterSeq`, with the
   * expired ones dropped first.
   */
  peek(limit: number, afterSeq = 0): (OutboxMessage & { readonly seq: number })[] {
    const expired = this.#expire.all(this.#now()) as { bytes: number }[];
    if (expired.length > 0) {
      for (const e of expired) this.#bytes -= e.bytes;
      this.#count -= expired.length;
      this.#log.warn('outbox messages expired before the cloud could take them', { dropped: expired.length, ttlMs: this.#ttlMs });
    }
    return (this.#peek.all(afterSeq, limit) as { seq: number; body: string }[]).map((r) => ({ ...(JSON.parse(r.body) as OutboxMessage), seq: r.seq }));
  }

  /** Deletes a delivered message; a no-op for an id already gone. */
  remove(id: string): void {
    const gone = this.#remove.all(id) as { bytes: number }[];
    for (const g of gone) {
      this.#bytes -= g.bytes;
      this.#count -= 1;
    }
  }

  /** Calls `listener` after every enqueue. @returns a function that unsubscribes. */
  onEnqueue(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
