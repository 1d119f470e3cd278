import type { DatabaseSync, StatementSync } from 'node:sqlite';
import type { KubeObject } from '../../api/object.ts';
import type { StatusKind } from '../../protocol/envelope.ts';
import { migrate } from '../db.ts';

/**
 * One pending report to the cloud: the latest status of an object, (for this node's own Node) the
 * whole object to register, or the final delete of a pod it stopped. Keyed by (op, kind, namespace, name): writing again replaces the
 * pending value, so an edge that was offline for a day sends each object's latest status once, not
 * every intermediate one.
 */
export type DirtyWrite =
  | { readonly op: 'status'; readonly kind: StatusKind; readonly namespace?: string | undefined; readonly name: string; readonly status: Record<string, unknown> }
  | { readonly op: 'upsert'; readonly kind: 'nodes'; readonly name: string; readonly object: KubeObject }
  /** A pod this node stopped after the cloud deleted it: the kubelet's final delete (grace 0), guarded by uid. */
  | { readonly op: 'delete'; readonly kind: 'pods'; readonly namespace: string; readonly name: string; readonly uid: string };

/** A pending row: the write and the sequence number it was stored with. */
export type DirtyEntry = DirtyWrite & { readonly seq: number; readonly key: string };

const MIGRATIONS = [
  `CREATE TABLE hub_dirty (
     key TEXT PRIMARY KEY,
     seq INTEGER NOT NULL,
     body TEXT NOT NULL
   ) WITHOUT ROWID;
   CREATE INDEX hub_dirty_seq ON hub_dirty (seq);`,
];

/**
 * The edge → cloud status table: latest-wins rows in edge.db, one per object, that EdgeHub sends
 * whenever it is connected and deletes once the cloud acknowledges them. Writers (node registration,
 * later Edged and DeviceTwin) just {@link put}; they never learn whether the cloud is reachable.
 *
 * A row acknowledged while a newer write was made keeps the newer one: {@link settle} deletes only
 * the sequence number that was sent.
 */
export class StatusTable {
  readonly #put: StatementSync;
  readonly #pending: StatementSync;
  readonly #settle: StatementSync;
  readonly #count: StatementSync;
  readonly #listeners = new Set<() => void>();
  #seq: number;

  constructor(db: DatabaseSync) {
    migrate(db, 'hub_dirty', MIGRATIONS);
    this.#put = db.prepare('INSERT INTO hub_dirty (key, seq, body) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET seq = excluded.seq, body = excluded.body');
    this.#pending = db.prepare('SELECT key, seq, body FROM hub_dirty ORDER BY seq LIMIT ?');
    this.#settle = db.prepare('DELETE FROM hub_dirty WHERE key = ? AND seq = ?');
    this.#count = db.prepare('SELECT COUNT(*) AS n FROM hub_dirty');
    this.#seq = (db.prepare('SELECT COALESCE(MAX(seq), 0) AS s FROM hub_dirty').get() as { s: number }).s;
  }

  /** Records `write` as the latest for its object (durably) and wakes the sender. */
  put(write: DirtyWrite): void {
    this.#put.run(keyOf(write), ++this.#seq, JSON.stringify(write));
    for (const l of this.#listeners) l();
  }

  /** The oldest pending rows, at most `limit`, in the order they were last written. */
  pending(limit = 1000): DirtyEntry[] {
    return (this.#pending.all(limit) as { key: string; seq: number; body: string }[]).map((r) => ({ ...(JSON.parse(r.body) as DirtyWrite), seq: r.seq, key: r.key }));
  }

  /** How many rows wait to be sent. */
  get size(): number {
    return (this.#count.get() as { n: number }).n;
  }

  /** Removes the row if it still holds the write that was sent (`entry.seq`). */
  settle(entry: DirtyEntry): void {
    this.#settle.run(entry.key, entry.seq);
  }

  /** Calls `listener` after every {@link put}. @returns a function that unsubscribes. */
  onPut(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}

function keyOf(w: DirtyWrite): string {
  return `${w.op}/${w.kind}/${'namespace' in w ? (w.namespace ?? '') : ''}/${w.name}`;
}
