import { DatabaseSync } from 'node:sqlite';
import { EdgeError } from './errors.ts';

/**
 * Opens (creating if needed) the edge's one SQLite file, `<data-dir>/edge.db`, shared by
 * MetaManager (objects from the cloud), the status table and the outbox, so that a status written
 * next to the object it describes commits in the same journal.
 *
 * Durability: WAL with `synchronous=NORMAL`. A transaction is durable once it is in the WAL, that
 * is in the operating system's cache, so it survives the process being killed (`kill -9`). A power
 * loss can lose the last transactions but never tears one; that is safe for the channel because
 * cloud → edge sync is level-triggered: an object whose write was lost is simply missing from the
 * next inventory and the cloud sends it again. Paying an fsync per ack would buy nothing.
 *
 * @param path a file path, or `:memory:` (benchmarks, tests)
 */
export function openEdgeDatabase(path: string): DatabaseSync {
  const db = new DatabaseSync(path);
  try {
    if (path !== ':memory:') db.exec('PRAGMA journal_mode = WAL');
    db.exec('PRAGMA synchronous = NORMAL');
    // Only this process writes, but `sqlite3 edge.db` opened by an operator must not make us fail.
    db.exec('PRAGMA busy_timeout = 5000');
    db.exec('PRAGMA temp_store = MEMORY');
  } catch (err) {
    db.close();
    throw err;
  }
  return db;
}

/**
 * Runs `fn` in one transaction: committed if it returns, rolled back if it throws. Synchronous on
 * purpose: nothing else can interleave with the statements of one edge.db transaction.
 */
export function transaction<T>(db: DatabaseSync, fn: () => T): T {
  db.exec('BEGIN IMMEDIATE');
  let result: T;
  try {
    result = fn();
  } catch (err) {
    db.exec('ROLLBACK');
    throw err;
  }
  db.exec('COMMIT');
  return result;
}

/**
 * Brings one component's tables to `version`, recorded per component in `schema_versions`, so
 * MetaManager, the status table and the outbox migrate independently in the shared file.
 * @param migrations `migrations[i]` moves the schema from version i to i + 1
 * @throws {EdgeError} `EDGE_DB_INCOMPATIBLE` when the file was written by a newer kedge
 */
export function migrate(db: DatabaseSync, component: string, migrations: readonly string[]): void {
  db.exec('CREATE TABLE IF NOT EXISTS schema_versions (component TEXT PRIMARY KEY, version INTEGER NOT NULL) WITHOUT ROWID');
  const row = db.prepare('SELECT version FROM schema_versions WHERE component = ?').get(component) as { version: number } | undefined;
  const current = row?.version ?? 0;
  if (current > migrations.length) {
    throw new EdgeError('EDGE_DB_INCOMPATIBLE', `edge.db: the ${component} tables are at schema version ${current}, newer than this kedge understands (${migrations.length})`);
  }
  if (current === migrations.length) return;
  transaction(db, () => {
    for (let v = current; v < migrations.length; v++) db.exec(migrations[v]!);
    db.prepare('INSERT INTO schema_versions (component, version) VALUES (?, ?) ON CONFLICT (component) DO UPDATE SET version = excluded.version').run(component, migrations.length);
  });
}
