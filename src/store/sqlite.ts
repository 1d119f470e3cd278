import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { Logger } from '../log/logger.ts';
import type { Backend, KeyValue, ListOptions, ListResult, WatchEvent } from './backend.ts';
import { CompactedError, KeyExistsError, KeyNotFoundError, RevisionMismatchError, StoreClosedError } from './errors.ts';
import { prefixEnd } from './keys.ts';

/** Bumped when the table layout changes; stored in `PRAGMA user_version`. */
const SCHEMA_VERSION = 1;

/**
 * Rows read per history page during a watch replay. Bounded so a watcher resuming far back never
 * loads the whole log into memory and the event loop gets a turn between pages.
 */
const REPLAY_PAGE_ROWS = 1000;

/** Revisions deleted per compaction transaction; each chunk is one short synchronous statement pair. */
const COMPACT_CHUNK_REVISIONS = 5000;

/**
 * Live events a watcher may have queued before the backend drops the queue and re-reads the same
 * events from the table instead, so a consumer that stops iterating never grows memory without bound.
 */
const MAX_QUEUED_LIVE_EVENTS = 10_000;

/** One row of the log: a write (put or deletion record) of one key at one revision. */
interface LogRow {
  readonly rev: number;
  readonly key: string;
  readonly create_rev: number;
  readonly prev_rev: number;
  readonly deleted: number;
  readonly value: string;
}

/** A log row joined with the row it superseded (for `prev` in watch events). */
interface HistoryRow extends LogRow {
  readonly p_value: string | null;
  readonly p_create_rev: number | null;
  readonly p_deleted: number | null;
}

/** A live watcher: events are pushed synchronously at write time and pulled by its generator. */
interface Subscriber {
  readonly prefix: string;
  queue: WatchEvent[];
  /** Set when the queue overflowed: the generator re-reads from the table instead. */
  overflowed: boolean;
  /** Resolves the generator's pending wait, if it is waiting. */
  wake: (() => void) | undefined;
  closed: boolean;
}

/** Options of {@link SqliteBackend.open}. */
export interface SqliteBackendOptions {
  readonly log: Logger;
  /** How long a statement waits for a lock held by another connection, in milliseconds. @default 5000 */
  readonly busyTimeoutMs?: number;
}

/**
 * The default {@link Backend}: a log-structured table in SQLite, in the shape of kine. Every write
 * appends one row `(rev, key, create_rev, prev_rev, deleted, value)`; the current value of a key is its
 * row with the highest revision, and a deletion is a row with `deleted = 1` that keeps the last value.
 * Older rows are the history that watches replay and snapshot reads use until {@link compact} drops them.
 *
 * One process owns the file: revisions are assigned from an in-memory counter and live watch events
 * are delivered in-process, so writes from another process would be neither ordered nor watched (the
 * primary key makes a colliding revision fail rather than corrupt the log).
 *
 * Durability: WAL with `synchronous=NORMAL`. A write is acknowledged once its transaction is in the WAL
 * file, that is in the operating system's cache, so it survives the process being killed; only a power
 * loss or kernel crash can lose the last transactions (they are never torn). Writes arriving in the
 * same turn of the event loop share one transaction (group commit), acknowledged together.
 */
/** Writes of one group transaction, waiting for its commit. */
interface PendingBatch {
  readonly revisionBefore: number;
  readonly events: WatchEvent[];
  readonly waiters: { resolve: () => void; reject: (err: unknown) => void }[];
}

export class SqliteBackend implements Backend {
  readonly #db: DatabaseSync;
  #batch: PendingBatch | undefined;
  readonly #log: Logger;
  readonly #latest: StatementSync;
  readonly #insert: StatementSync;
  readonly #listBounded: StatementSync;
  readonly #listOpen: StatementSync;
  readonly #historyBounded: StatementSync;
  readonly #historyOpen: StatementSync;
  readonly #deleteSuperseded: StatementSync;
  readonly #deleteTombstones: StatementSync;
  readonly #setMeta: StatementSync;
  readonly #subscribers = new Set<Subscriber>();
  #revision: number;
  #compacted: number;
  /** Revision up to which compaction has finished deleting rows (≤ #compacted). */
  #compactDone: number;
  /** Compactions run one after another; this is the tail of that chain. */
  #compaction: Promise<void> = Promise.resolve();
  #closed = false;

  private constructor(db: DatabaseSync, log: Logger) {
    this.#db = db;
    this.#log = log;
    this.#latest = db.prepare('SELECT rev, key, create_rev, prev_rev, deleted, value FROM kv WHERE key = ? ORDER BY rev DESC LIMIT 1');
    this.#insert = db.prepare('INSERT INTO kv (rev, key, create_rev, prev_rev, deleted, value) VALUES (?, ?, ?, ?, ?, ?)');
    // Latest row per key at or below a revision, skipping keys whose latest row is a deletion. Walking
    // the (key, rev) index in key order (rather than grouping first) lets LIMIT end the scan after a page.
    const list = (bounded: boolean): string => `
      SELECT key, value, create_rev, rev FROM kv AS k
      WHERE key >= ? ${bounded ? 'AND key < ?' : ''}
        AND rev = (SELECT MAX(rev) FROM kv AS k2 WHERE k2.key = k.key AND k2.rev <= ?) AND deleted = 0
      ORDER BY key LIMIT ?`;
    this.#listBounded = db.prepare(list(true));
    this.#listOpen = db.prepare(list(false));
    // History in revision order. The unary `+` keeps SQLite from using the key index here: walking the
    // primary key from the resume point is what makes a page cost O(page), not O(history of the prefix).
    const history = (bounded: boolean): string => `
      SELECT h.rev, h.key, h.create_rev, h.prev_rev, h.deleted, h.value,
             p.value AS p_value, p.create_rev AS p_create_rev, p.deleted AS p_deleted
      FROM kv AS h LEFT JOIN kv AS p ON p.rev = h.prev_rev
      WHERE h.rev > ? AND h.rev <= ? AND +h.key >= ? ${bounded ? 'AND +h.key < ?' : ''}
      ORDER BY h.rev LIMIT ?`;
    this.#historyBounded = db.prepare(history(true));
    this.#historyOpen = db.prepare(history(false));
    // A row is superseded once a later row of the same key exists at or below the compaction
    // revision; every such later row points at it through prev_rev, so scanning the newly compacted
    // revision range finds them all (older ones went in earlier compactions).
    this.#deleteSuperseded = db.prepare('DELETE FROM kv WHERE rev IN (SELECT prev_rev FROM kv WHERE rev > ? AND rev <= ? AND prev_rev > 0)');
    this.#deleteTombstones = db.prepare('DELETE FROM kv WHERE rev > ? AND rev <= ? AND deleted = 1');
    this.#setMeta = db.prepare('INSERT INTO meta (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value');

    const meta = (name: string): number => {
      const row = db.prepare('SELECT value FROM meta WHERE name = ?').get(name) as { value: number } | undefined;
      return row?.value ?? 0;
    };
    this.#compacted = meta('compact_rev');
    this.#compactDone = meta('compact_done');
    const maxRow = db.prepare('SELECT MAX(rev) AS rev FROM kv').get() as { rev: number | null };
    // Compaction may have removed the newest row (a deletion record), so the compacted revision is
    // also a floor: revisions must never be handed out twice.
    this.#revision = Math.max(maxRow.rev ?? 0, this.#compacted);
  }

  /**
   * Opens (creating if needed) the store at `path`, e.g. `<data-dir>/state.db`.
   * @throws the SQLite error when the file cannot be opened or is not a kedge store of a known version.
   */
  static open(path: string, options: SqliteBackendOptions): Promise<SqliteBackend> {
    return new Promise((resolve) => resolve(SqliteBackend.#openSync(path, options)));
  }

  static #openSync(path: string, options: SqliteBackendOptions): SqliteBackend {
    const db = new DatabaseSync(path, { timeout: options.busyTimeoutMs ?? 5000 });
    try {
      db.exec('PRAGMA journal_mode = WAL');
      db.exec('PRAGMA synchronous = NORMAL');
      // Index lookups of a 100k-object registry stay in memory; 64 MiB is small next to the watch cache.
      db.exec('PRAGMA cache_size = -65536');
      db.exec('PRAGMA temp_store = MEMORY');
      const { user_version: version } = db.prepare('PRAGMA user_version').get() as { user_version: number };
      if (version > SCHEMA_VERSION) {
        throw new Error(`${path} has store schema version ${version}; this kedge knows up to ${SCHEMA_VERSION}`);
      }
      db.exec(`
        CREATE TABLE IF NOT EXISTS kv (
          rev INTEGER PRIMARY KEY,
          key TEXT NOT NULL,
          create_rev INTEGER NOT NULL,
          prev_rev INTEGER NOT NULL,
          deleted INTEGER NOT NULL,
          value TEXT NOT NULL
        );
        CREATE INDEX IF NOT EXISTS kv_key_rev ON kv (key, rev);
        CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
        PRAGMA user_version = ${SCHEMA_VERSION};
      `);
      const backend = new SqliteBackend(db, options.log);
      options.log.info('sqlite store opened', { path, revision: backend.#revision, compactedRevision: backend.#compacted });
      return backend;
    } catch (err) {
      db.close();
      throw err;
    }
  }

  currentRevision(): Promise<number> {
    return this.#run(() => this.#revision);
  }

  compactedRevision(): Promise<number> {
    return this.#run(() => this.#compacted);
  }

  get(key: string): Promise<KeyValue | undefined> {
    return this.#run(() => {
      const row = this.#latestRow(key);
      return row === undefined || row.deleted ? undefined : toKeyValue(row);
    });
  }

  /**
   * Keys under `prefix` in byte order. A `revision` at or above the compacted one reads that snapshot
   * (the latest write of each key at or below it); one above the current revision reads the current state
   * and reports the current revision.
   * @throws CompactedError when `options.revision` is below the compacted revision.
   */
  list(prefix: string, options: ListOptions = {}): Promise<ListResult> {
    return this.#run(() => this.#list(prefix, options));
  }

  create(key: string, value: string): Promise<KeyValue> {
    return this.#write(() => {
      const latest = this.#latestRow(key);
      if (latest !== undefined && !latest.deleted) throw new KeyExistsError(key);
      const rev = this.#append(key, value, latest, false);
      const kv: KeyValue = { key, value, createRevision: rev, modRevision: rev };
      return { result: kv, event: { type: 'put', kv } };
    });
  }

  update(key: string, value: string, expectedModRevision: number): Promise<KeyValue> {
    return this.#write(() => {
      const latest = this.#currentRow(key, expectedModRevision);
      const rev = this.#append(key, value, latest, false);
      const kv: KeyValue = { key, value, createRevision: latest.create_rev, modRevision: rev };
      return { result: kv, event: { type: 'put', kv, prev: toKeyValue(latest) } };
    });
  }

  delete(key: string, expectedModRevision?: number): Promise<KeyValue> {
    return this.#write(() => {
      const latest = this.#currentRow(key, expectedModRevision);
      // The deletion record keeps the last value, so a watch replaying history can send it.
      const rev = this.#append(key, latest.value, latest, true);
      const kv: KeyValue = { key, value: latest.value, createRevision: latest.create_rev, modRevision: rev };
      return { result: kv, event: { type: 'delete', kv, prev: toKeyValue(latest) } };
    });
  }

  /**
   * Replays the rows after `afterRevision` from the table, then streams live writes. The live
   * subscription and the replay's upper bound are taken in the same synchronous step, so the two parts
   * neither overlap nor leave a gap. Batches group consecutive events (each write is one transaction here).
   * Ends when `signal` aborts; throws StoreClosedError when the backend is closed meanwhile.
   * @throws CompactedError when `afterRevision` is below the compacted revision, or compaction overtakes
   * a replay that has not reached it yet.
   */
  async *watch(prefix: string, afterRevision: number, signal: AbortSignal): AsyncIterable<readonly WatchEvent[]> {
    this.#checkOpen();
    if (afterRevision < this.#compacted) throw new CompactedError(afterRevision, this.#compacted);
    if (signal.aborted) return;

    const sub: Subscriber = { prefix, queue: [], overflowed: false, wake: undefined, closed: false };
    const onAbort = (): void => sub.wake?.();
    signal.addEventListener('abort', onAbort, { once: true });
    this.#subscribers.add(sub);
    let position = afterRevision;
    let replayTo = this.#revision;
    try {
      for (;;) {
        while (position < replayTo) {
          if (this.#closed) throw new StoreClosedError();
          // Compaction deletes rows at or below its revision; if it got past us we may miss events.
          if (position < this.#compacted) throw new CompactedError(position, this.#compacted);
          const page = this.#historyPage(prefix, position, replayTo);
          if (page.length === 0) break;
          position = page[page.length - 1]!.kv.modRevision;
          yield page;
          if (signal.aborted) return;
          if (page.length < REPLAY_PAGE_ROWS) break;
        }
        position = replayTo;

        for (;;) {
          if (sub.closed) throw new StoreClosedError();
          if (signal.aborted) return;
          if (sub.overflowed) break;
          if (sub.queue.length > 0) {
            let batch = sub.queue;
            sub.queue = [];
            position = batch[batch.length - 1]!.kv.modRevision;
            // Only a watch from a future revision can see live events it did not ask for.
            if (batch[0]!.kv.modRevision <= afterRevision) batch = batch.filter((e) => e.kv.modRevision > afterRevision);
            if (batch.length > 0) yield batch;
            continue;
          }
          await new Promise<void>((resolve) => (sub.wake = resolve));
          sub.wake = undefined;
        }
        // The consumer fell behind by more than the live queue holds: the events are in the table, so
        // read them from there, from where the consumer is, up to now (the queue restarts empty now).
        sub.overflowed = false;
        replayTo = this.#revision;
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
      this.#subscribers.delete(sub);
    }
  }

  /**
   * Drops history at and below `revision` (clamped to the current revision): older rows of keys
   * written again since, and deletion records. The compacted revision is raised first, so watches
   * and snapshot reads that need the dropped rows fail with CompactedError instead of missing them; the
   * rows are then deleted in short transactions that leave the event loop free in between.
   * Resolves when the rows are gone (or the backend was closed meanwhile).
   */
  compact(revision: number): Promise<void> {
    if (this.#closed) return Promise.reject(new StoreClosedError());
    const run = this.#compaction.then(() => this.#compactTo(revision));
    // The chain must survive a failed compaction; the caller still sees the failure through `run`.
    this.#compaction = run.catch(() => undefined);
    return run;
  }

  /** Closes the database after any running compaction step; live watches throw StoreClosedError. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#commitBatch();
    this.#closed = true;
    for (const sub of this.#subscribers) {
      sub.closed = true;
      sub.wake?.();
    }
    await this.#compaction;
    this.#db.close();
    this.#log.info('sqlite store closed', { revision: this.#revision });
  }

  async #compactTo(requested: number): Promise<void> {
    if (this.#closed) return;
    // Compaction runs its own transactions: land the pending writes first.
    this.#commitBatch();
    const target = Math.min(requested, this.#revision);
    if (target > this.#compacted) {
      this.#setMeta.run('compact_rev', target);
      this.#compacted = target;
    }
    // Also finishes the deletion of a compaction that an earlier process did not complete.
    const started = performance.now();
    let deleted = 0;
    while (this.#compactDone < this.#compacted) {
      const lo = this.#compactDone;
      const hi = Math.min(lo + COMPACT_CHUNK_REVISIONS, this.#compacted);
      this.#commitBatch();
      this.#db.exec('BEGIN');
      try {
        // Superseded rows first: deleting a deletion record first would hide the row it superseded.
        deleted += Number(this.#deleteSuperseded.run(lo, hi).changes);
        deleted += Number(this.#deleteTombstones.run(lo, hi).changes);
        this.#setMeta.run('compact_done', hi);
        this.#db.exec('COMMIT');
      } catch (err) {
        this.#db.exec('ROLLBACK');
        throw err;
      }
      this.#compactDone = hi;
      await yieldToEventLoop();
      if (this.#closed) return;
    }
    if (deleted > 0) {
      this.#log.debug('compacted', { revision: this.#compacted, deletedRows: deleted, ms: Math.round(performance.now() - started) });
    }
  }

  #list(prefix: string, options: ListOptions): ListResult {
    let revision = this.#revision;
    if (options.revision !== undefined) {
      if (options.revision < this.#compacted) throw new CompactedError(options.revision, this.#compacted);
      revision = Math.min(options.revision, this.#revision);
    }
    // `startAfter + '\0'` is the smallest key greater than `startAfter`.
    const from = options.startAfter !== undefined && options.startAfter + '\0' > prefix ? options.startAfter + '\0' : prefix;
    const limit = options.limit !== undefined && options.limit > 0 ? options.limit : -1;
    const fetch = limit > 0 ? limit + 1 : -1;
    const end = prefixEnd(prefix);
    const rows = (end === undefined ? this.#listOpen.all(from, revision, fetch) : this.#listBounded.all(from, end, revision, fetch)) as unknown as {
      key: string;
      value: string;
      create_rev: number;
      rev: number;
    }[];
    const more = limit > 0 && rows.length > limit;
    if (more) rows.length = limit;
    const items = rows.map((r) => ({ key: r.key, value: r.value, createRevision: r.create_rev, modRevision: r.rev }));
    return { items, revision, more };
  }

  #historyPage(prefix: string, after: number, upTo: number): WatchEvent[] {
    const end = prefixEnd(prefix);
    const rows = (
      end === undefined
        ? this.#historyOpen.all(after, upTo, prefix, REPLAY_PAGE_ROWS)
        : this.#historyBounded.all(after, upTo, prefix, end, REPLAY_PAGE_ROWS)
    ) as unknown as HistoryRow[];
    return rows.map((row) => {
      const kv = toKeyValue(row);
      // A previous row that is a deletion record means this write re-created the key: no prev.
      const prev: KeyValue | undefined =
        row.p_value !== null && row.p_create_rev !== null && row.p_deleted === 0
          ? { key: row.key, value: row.p_value, createRevision: row.p_create_rev, modRevision: row.prev_rev }
          : undefined;
      const type = row.deleted ? 'delete' : 'put';
      return prev === undefined ? { type, kv } : { type, kv, prev };
    });
  }

  #latestRow(key: string): LogRow | undefined {
    return this.#latest.get(key) as LogRow | undefined;
  }

  /** The live row of `key`, checking an optional modRevision precondition. */
  #currentRow(key: string, expectedModRevision: number | undefined): LogRow {
    const latest = this.#latestRow(key);
    if (latest === undefined || latest.deleted) throw new KeyNotFoundError(key);
    if (expectedModRevision !== undefined && latest.rev !== expectedModRevision) {
      throw new RevisionMismatchError(toKeyValue(latest), expectedModRevision);
    }
    return latest;
  }

  /**
   * Runs a write inside the open group transaction (opening one if needed) and resolves once that
   * transaction has committed. Writes made in the same turn of the event loop share one commit:
   * each commit writes its pages to the WAL, so under load one commit per write would cost more
   * than the writes themselves. Watchers see the events only after the commit.
   */
  #write<T>(operation: () => { result: T; event: WatchEvent }): Promise<T> {
    return new Promise((resolve, reject) => {
      this.#checkOpen();
      const batch = this.#openBatch();
      // A precondition failure throws before anything is written and rejects this write alone.
      const { result, event } = operation();
      batch.events.push(event);
      batch.waiters.push({ resolve: () => resolve(result), reject });
    });
  }

  #openBatch(): PendingBatch {
    if (this.#batch !== undefined) return this.#batch;
    this.#db.exec('BEGIN IMMEDIATE');
    const batch: PendingBatch = { revisionBefore: this.#revision, events: [], waiters: [] };
    this.#batch = batch;
    setImmediate(() => this.#commitBatch());
    return batch;
  }

  /** Commits the open group transaction, if any; then publishes its events and acknowledges its writes. */
  #commitBatch(): void {
    const batch = this.#batch;
    if (batch === undefined) return;
    this.#batch = undefined;
    try {
      this.#db.exec('COMMIT');
    } catch (err) {
      try {
        this.#db.exec('ROLLBACK');
      } catch {
        // The transaction is already gone; the revision counter is reset below either way.
      }
      this.#revision = batch.revisionBefore;
      this.#log.error('commit failed; the writes of this batch are refused', { writes: batch.waiters.length, err: err instanceof Error ? err.message : String(err) });
      for (const w of batch.waiters) w.reject(err);
      return;
    }
    for (const event of batch.events) this.#publish(event);
    for (const w of batch.waiters) w.resolve();
  }

  /** Appends one row (in the open group transaction) and returns its revision. */
  #append(key: string, value: string, previous: LogRow | undefined, deleted: boolean): number {
    const rev = this.#revision + 1;
    const createRev = previous === undefined || previous.deleted ? rev : previous.create_rev;
    this.#insert.run(rev, key, createRev, previous?.rev ?? 0, deleted ? 1 : 0, value);
    this.#revision = rev;
    return rev;
  }

  #publish(event: WatchEvent): void {
    for (const sub of this.#subscribers) {
      if (sub.overflowed || !event.kv.key.startsWith(sub.prefix)) continue;
      if (sub.queue.length >= MAX_QUEUED_LIVE_EVENTS) {
        sub.queue = [];
        sub.overflowed = true;
      } else {
        sub.queue.push(event);
      }
      sub.wake?.();
    }
  }

  #checkOpen(): void {
    if (this.#closed) throw new StoreClosedError();
  }

  /**
   * Runs a synchronous operation as the interface's promise: the work happens now (the executor runs
   * synchronously, which keeps writes in call order) and a failure reaches the caller as a rejection,
   * never as a synchronous throw.
   */
  #run<T>(operation: () => T): Promise<T> {
    return new Promise((resolve) => {
      this.#checkOpen();
      resolve(operation());
    });
  }
}

function toKeyValue(row: LogRow): KeyValue {
  return { key: row.key, value: row.value, createRevision: row.create_rev, modRevision: row.rev };
}
