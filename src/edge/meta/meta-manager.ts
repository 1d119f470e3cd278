import type { DatabaseSync, StatementSync } from 'node:sqlite';
import type { KubeObject } from '../../api/object.ts';
import type { InventoryItem, SyncedKind } from '../../protocol/envelope.ts';
import type { Logger } from '../../log/logger.ts';
import { migrate, transaction } from '../db.ts';
import { EdgeError } from '../errors.ts';

/** One object the cloud sent, as stored in edge.db. */
export interface StoredObject {
  readonly kind: SyncedKind;
  /** `''` for cluster-scoped kinds (nodes). */
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  /** The object's resourceVersion in the cloud, as the cloud sent it (opaque). */
  readonly resourceVersion: string;
  /** The local revision of the write that stored this version (see {@link MetaManager.revision}). */
  readonly rev: number;
  /** The object exactly as the cloud sent it. Treat as immutable: it is shared with every reader. */
  readonly object: KubeObject;
}

/** A change to the local store, in local revision order. */
export interface Change {
  readonly type: 'ADDED' | 'MODIFIED' | 'DELETED';
  /** The local revision of this change. */
  readonly rev: number;
  /** The object after the change; for DELETED, the last stored version. */
  readonly object: StoredObject;
}

/** One write from the cloud, as EdgeHub decoded it from an `upsert` or `delete` envelope. */
export type SyncOp =
  | { readonly op: 'upsert'; readonly kind: SyncedKind; readonly object: KubeObject; readonly resourceVersion?: string | undefined }
  | { readonly op: 'delete'; readonly kind: SyncedKind; readonly namespace?: string | undefined; readonly name: string; readonly uid: string };

/**
 * What a {@link SyncOp} did: `applied` changed the store; `unchanged` was a duplicate or older
 * version of what is stored (at-least-once delivery makes both normal); `missing` was a delete of
 * an object that is not stored, or stored under another uid (a re-created object of the same name).
 * Every outcome is acknowledged: the store holds the cloud's latest for that object either way.
 */
export type SyncOutcome = 'applied' | 'unchanged' | 'missing';

/** The write side EdgeHub needs: an inventory to send on connect, and atomic application of batches. */
export interface ObjectSync {
  /** uid → resourceVersion (with kind/namespace/name) of every stored object. */
  inventory(): InventoryItem[];
  /**
   * Applies `ops` in order, in one transaction, and returns one outcome per op once it is durable.
   * @throws {EdgeError} `EDGE_META_INVALID_OBJECT` (nothing applied) when an upsert lacks name or uid
   */
  applyBatch(ops: readonly SyncOp[]): SyncOutcome[];
}

/** Options of {@link MetaManager}. */
export interface MetaManagerOptions {
  /** edge.db, opened with {@link openEdgeDatabase}. */
  readonly db: DatabaseSync;
  readonly log: Logger;
  /**
   * How many recent changes are kept in memory so a watch can resume from a recent revision; an
   * older revision gets 410 Expired and the client lists again, as with the Kubernetes API.
   * @default 4096
   */
  readonly historySize?: number;
}

const MIGRATIONS = [
  `CREATE TABLE meta_objects (
     kind TEXT NOT NULL,
     namespace TEXT NOT NULL,
     name TEXT NOT NULL,
     uid TEXT NOT NULL,
     resource_version TEXT NOT NULL,
     rev INTEGER NOT NULL,
     value TEXT NOT NULL,
     PRIMARY KEY (kind, namespace, name)
   ) WITHOUT ROWID;
   CREATE TABLE meta_revision (id INTEGER PRIMARY KEY CHECK (id = 1), rev INTEGER NOT NULL);
   INSERT INTO meta_revision (id, rev) VALUES (1, 0);`,
];

interface Row {
  kind: string;
  namespace: string;
  name: string;
  uid: string;
  resource_version: string;
  rev: number;
  value: string;
}

/**
 * MetaManager: every object the cloud sent to this node, in edge.db, keyed like OpenYurt's cache
 * (`kind/namespace/name`) with its uid and cloud resourceVersion. EdgeHub applies the cloud's
 * writes through {@link ObjectSync} and acknowledges them only after `applyBatch` returns, so an
 * acknowledged object is on disk; MetaServer and (later) Edged read from here whether or not the
 * cloud is reachable. It knows nothing about connectivity.
 *
 * Every change gets a local revision, a counter persisted with the data. Local revisions order the
 * changes as this node saw them, which the cloud's resourceVersions cannot: an inventory diff after
 * a reconnect delivers objects in any order, so a watcher resuming "after cloud version N" would
 * miss an older-versioned object that arrived later.
 */
export class MetaManager implements ObjectSync {
  readonly #db: DatabaseSync;
  readonly #log: Logger;
  readonly #historySize: number;
  readonly #select: StatementSync;
  readonly #upsert: StatementSync;
  readonly #delete: StatementSync;
  readonly #setRev: StatementSync;
  readonly #listKind: StatementSync;
  readonly #listNamespace: StatementSync;
  readonly #inventory: StatementSync;
  readonly #listeners = new Set<(changes: readonly Change[]) => void>();
  /** Recent changes, oldest first, at most #historySize. */
  #history: Change[] = [];
  #revision: number;
  /** The oldest revision a watch may resume from: changes after it are all in #history. */
  #resumableFrom: number;

  constructor(options: MetaManagerOptions) {
    this.#db = options.db;
    this.#log = options.log;
    this.#historySize = options.historySize ?? 4096;
    migrate(this.#db, 'meta', MIGRATIONS);
    this.#select = this.#db.prepare('SELECT kind, namespace, name, uid, resource_version, rev, value FROM meta_objects WHERE kind = ? AND namespace = ? AND name = ?');
    this.#upsert = this.#db.prepare(
      `INSERT INTO meta_objects (kind, namespace, name, uid, resource_version, rev, value) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (kind, namespace, name) DO UPDATE SET uid = excluded.uid, resource_version = excluded.resource_version, rev = excluded.rev, value = excluded.value`,
    );
    this.#delete = this.#db.prepare('DELETE FROM meta_objects WHERE kind = ? AND namespace = ? AND name = ?');
    this.#setRev = this.#db.prepare('UPDATE meta_revision SET rev = ? WHERE id = 1');
    this.#listKind = this.#db.prepare('SELECT kind, namespace, name, uid, resource_version, rev, value FROM meta_objects WHERE kind = ? ORDER BY namespace, name');
    this.#listNamespace = this.#db.prepare('SELECT kind, namespace, name, uid, resource_version, rev, value FROM meta_objects WHERE kind = ? AND namespace = ? ORDER BY name');
    this.#inventory = this.#db.prepare('SELECT kind, namespace, name, uid, resource_version FROM meta_objects');
    this.#revision = (this.#db.prepare('SELECT rev FROM meta_revision WHERE id = 1').get() as { rev: number }).rev;
    this.#resumableFrom = this.#revision;
  }

  /** The local revision of the latest change (0 for an empty, never-written store). */
  get revision(): number {
    return this.#revision;
  }

  inventory(): InventoryItem[] {
    const rows = this.#inventory.all() as unknown as Pick<Row, 'kind' | 'namespace' | 'name' | 'uid' | 'resource_version'>[];
    return rows.map((r) => ({
      kind: r.kind as SyncedKind,
      name: r.name,
      uid: r.uid,
      resourceVersion: r.resource_version,
      ...(r.namespace !== '' ? { namespace: r.namespace } : {}),
    }));
  }

  applyBatch(ops: readonly SyncOp[]): SyncOutcome[] {
    for (const op of ops) if (op.op === 'upsert') checkObject(op.kind, op.object);
    const changes: Change[] = [];
    let rev = this.#revision;
    const outcomes = transaction(this.#db, () => {
      const out = ops.map((op): SyncOutcome => {
        if (op.op === 'delete') {
          const namespace = op.namespace ?? '';
          const row = this.#select.get(op.kind, namespace, op.name) as Row | undefined;
          if (row === undefined || row.uid !== op.uid) return 'missing';
          this.#delete.run(op.kind, namespace, op.name);
          changes.push({ type: 'DELETED', rev: ++rev, object: { ...toStored(row), rev } });
          return 'applied';
        }
        const meta = op.object.metadata;
        const namespace = meta.namespace ?? '';
        const name = meta.name!;
        const uid = meta.uid!;
        const resourceVersion = op.resourceVersion ?? meta.resourceVersion ?? '';
        const row = this.#select.get(op.kind, namespace, name) as Row | undefined;
        if (row !== undefined && row.uid === uid && !isNewer(resourceVersion, row.resource_version)) return 'unchanged';
        if (row !== undefined && row.uid !== uid) {
          // The name now belongs to a re-created object: watchers see the old one go first.
          changes.push({ type: 'DELETED', rev: ++rev, object: { ...toStored(row), rev } });
        }
        this.#upsert.run(op.kind, namespace, name, uid, resourceVersion, ++rev, JSON.stringify(op.object));
        const stored: StoredObject = { kind: op.kind, namespace, name, uid, resourceVersion, rev, object: op.object };
        changes.push({ type: row !== undefined && row.uid === uid ? 'MODIFIED' : 'ADDED', rev, object: stored });
        return 'applied';
      });
      if (rev !== this.#revision) this.#setRev.run(rev);
      return out;
    });
    this.#revision = rev;
    if (changes.length > 0) this.#publish(changes);
    return outcomes;
  }

  /** The stored object, or undefined. */
  get(kind: SyncedKind, namespace: string, name: string): StoredObject | undefined {
    const row = this.#select.get(kind, namespace, name) as Row | undefined;
    return row === undefined ? undefined : toStored(row);
  }

  /** Every stored object of a kind, optionally in one namespace, ordered by namespace and name. */
  list(kind: SyncedKind, namespace?: string): StoredObject[] {
    const rows = (namespace === undefined ? this.#listKind.all(kind) : this.#listNamespace.all(kind, namespace)) as unknown as Row[];
    return rows.map(toStored);
  }

  /**
   * The changes after local revision `rev`, oldest first, or undefined when some of them are no
   * longer kept (the caller answers 410 Expired and the client lists again).
   */
  changesSince(rev: number): readonly Change[] | undefined {
    if (rev < this.#resumableFrom || rev > this.#revision) return rev > this.#revision ? [] : undefined;
    const first = this.#history.findIndex((c) => c.rev > rev);
    return first < 0 ? [] : this.#history.slice(first);
  }

  /**
   * Calls `listener` with every batch of changes after it is committed, synchronously and in
   * order. @returns a function that unsubscribes.
   */
  subscribe(listener: (changes: readonly Change[]) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #publish(changes: Change[]): void {
    this.#history.push(...changes);
    const excess = this.#history.length - this.#historySize;
    if (excess > 0) {
      this.#resumableFrom = this.#history[excess - 1]!.rev;
      this.#history = this.#history.slice(excess);
    }
    for (const listener of this.#listeners) {
      try {
        listener(changes);
      } catch (err) {
        // A failing reader must not make a durable write look failed to EdgeHub (it would not ack).
        this.#log.error('change listener failed', { err: err instanceof Error ? err.message : String(err) });
      }
    }
  }
}

function toStored(r: Row): StoredObject {
  return { kind: r.kind as SyncedKind, namespace: r.namespace, name: r.name, uid: r.uid, resourceVersion: r.resource_version, rev: r.rev, object: JSON.parse(r.value) as KubeObject };
}

function checkObject(kind: SyncedKind, obj: KubeObject): void {
  const m = obj.metadata;
  if (typeof m.name !== 'string' || m.name === '' || typeof m.uid !== 'string' || m.uid === '') {
    throw new EdgeError('EDGE_META_INVALID_OBJECT', `a ${kind} object from the cloud lacks metadata.name or metadata.uid`);
  }
  if (kind === 'nodes' ? m.namespace !== undefined && m.namespace !== '' : typeof m.namespace !== 'string' || m.namespace === '') {
    throw new EdgeError('EDGE_META_INVALID_OBJECT', `${kind} ${m.name} has ${kind === 'nodes' ? 'a namespace, but nodes are cluster-scoped' : 'no namespace'}`);
  }
}

const DECIMAL = /^\d+$/;

/**
 * Whether `incoming` is a later version than `stored`. resourceVersions are opaque to clients, but
 * kedge's cloud (SQLite or etcd) issues decimal revisions, and comparing them keeps a redelivered
 * older version from overwriting a newer one. Anything else that differs is taken as newer.
 */
export function isNewer(incoming: string, stored: string): boolean {
  if (DECIMAL.test(incoming) && DECIMAL.test(stored)) return BigInt(incoming) > BigInt(stored);
  return incoming !== stored;
}
