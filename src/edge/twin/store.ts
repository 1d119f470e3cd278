import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { migrate, transaction } from '../db.ts';

/** One side of a twin: a value, when it was set, and (for actual values) the type the mapper named. */
export interface StoredValue {
  readonly value: string;
  /** Milliseconds since the epoch. */
  readonly ts: number;
}

/** One property's twin as stored. */
export interface StoredTwin {
  /** The desired value from the cloud (`spec.properties[].desired`): KubeEdge's `expected`. */
  expected?: StoredValue;
  /** The cloud version (the Device's resourceVersion) the desired value came with. */
  expectedVersion: number;
  /** The desired value the mapper says it applied (its `expected`): the cloud's `observedDesired`. */
  observed?: StoredValue;
  /** The value read from the device: KubeEdge's `actual`, the cloud's `reported`. */
  actual?: StoredValue & { readonly type: string };
  /** Bumped on every change of the actual value (KubeEdge's edge version). */
  actualVersion: number;
}

/** One device as stored: its state, attributes and twins. */
export interface StoredDevice {
  readonly id: string;
  uid: string;
  /** `''` until a mapper reported a state. */
  state: string;
  /** RFC 3339, `''` if never online. */
  lastOnline: string;
  /** > 0 while the cloud has not taken the latest report (the uplink sequence number), 0 when clean. */
  dirty: number;
  attributes: Map<string, string>;
  twins: Map<string, StoredTwin>;
}

const MIGRATIONS = [
  `CREATE TABLE twin_devices (
     id TEXT PRIMARY KEY,
     uid TEXT NOT NULL,
     state TEXT NOT NULL,
     last_online TEXT NOT NULL,
     dirty INTEGER NOT NULL
   ) WITHOUT ROWID;
   CREATE TABLE twin_attributes (
     device TEXT NOT NULL,
     name TEXT NOT NULL,
     value TEXT NOT NULL,
     PRIMARY KEY (device, name)
   ) WITHOUT ROWID;
   CREATE TABLE twin_properties (
     device TEXT NOT NULL,
     name TEXT NOT NULL,
     expected TEXT,
     expected_ts INTEGER,
     expected_version INTEGER NOT NULL,
     observed TEXT,
     observed_ts INTEGER,
     actual TEXT,
     actual_ts INTEGER,
     actual_type TEXT,
     actual_version INTEGER NOT NULL,
     PRIMARY KEY (device, name)
   ) WITHOUT ROWID;`,
];

interface TwinRow {
  device: string;
  name: string;
  expected: string | null;
  expected_ts: number | null;
  expected_version: number;
  observed: string | null;
  observed_ts: number | null;
  actual: string | null;
  actual_ts: number | null;
  actual_type: string | null;
  actual_version: number;
}

/**
 * DeviceTwin's tables in edge.db: devices (state, last online time, whether the cloud has the
 * latest), their attributes, and one row per property twin with its desired, observed-desired and
 * actual values. DeviceTwin keeps the same in memory and writes through here, many changes per
 * transaction; this is what survives a restart and an offline period.
 */
export class TwinStore {
  readonly #db: DatabaseSync;
  readonly #putDevice: StatementSync;
  readonly #deleteDevice: StatementSync;
  readonly #deleteAttributes: StatementSync;
  readonly #putAttribute: StatementSync;
  readonly #putTwin: StatementSync;
  readonly #deleteTwin: StatementSync;
  readonly #deleteTwins: StatementSync;
  readonly #settle: StatementSync;

  constructor(db: DatabaseSync) {
    this.#db = db;
    migrate(db, 'twin', MIGRATIONS);
    this.#putDevice = db.prepare('INSERT INTO twin_devices (id, uid, state, last_online, dirty) VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET uid = excluded.uid, state = excluded.state, last_online = excluded.last_online, dirty = excluded.dirty');
    this.#deleteDevice = db.prepare('DELETE FROM twin_devices WHERE id = ?');
    this.#deleteAttributes = db.prepare('DELETE FROM twin_attributes WHERE device = ?');
    this.#putAttribute = db.prepare('INSERT INTO twin_attributes (device, name, value) VALUES (?, ?, ?)');
    this.#putTwin = db.prepare(
      `INSERT INTO twin_properties (device, name, expected, expected_ts, expected_version, observed, observed_ts, actual, actual_ts, actual_type, actual_version)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (device, name) DO UPDATE SET expected = excluded.expected, expected_ts = excluded.expected_ts, expected_version = excluded.expected_version,
         observed = excluded.observed, observed_ts = excluded.observed_ts, actual = excluded.actual, actual_ts = excluded.actual_ts,
         actual_type = excluded.actual_type, actual_version = excluded.actual_version`,
    );
    this.#deleteTwin = db.prepare('DELETE FROM twin_properties WHERE device = ? AND name = ?');
    this.#deleteTwins = db.prepare('DELETE FROM twin_properties WHERE device = ?');
    this.#settle = db.prepare('UPDATE twin_devices SET dirty = 0 WHERE id = ? AND dirty = ?');
  }

  /** Every stored device with its attributes and twins. */
  loadAll(): Map<string, StoredDevice> {
    const out = new Map<string, StoredDevice>();
    for (const r of this.#db.prepare('SELECT id, uid, state, last_online, dirty FROM twin_devices').all() as { id: string; uid: string; state: string; last_online: string; dirty: number }[]) {
      out.set(r.id, { id: r.id, uid: r.uid, state: r.state, lastOnline: r.last_online, dirty: r.dirty, attributes: new Map(), twins: new Map() });
    }
    for (const r of this.#db.prepare('SELECT device, name, value FROM twin_attributes').all() as { device: string; name: string; value: string }[]) out.get(r.device)?.attributes.set(r.name, r.value);
    for (const r of this.#db.prepare('SELECT * FROM twin_properties').all() as unknown as TwinRow[]) {
      out.get(r.device)?.twins.set(r.name, {
        ...(r.expected !== null ? { expected: { value: r.expected, ts: r.expected_ts ?? 0 } } : {}),
        expectedVersion: r.expected_version,
        ...(r.observed !== null ? { observed: { value: r.observed, ts: r.observed_ts ?? 0 } } : {}),
        ...(r.actual !== null ? { actual: { value: r.actual, ts: r.actual_ts ?? 0, type: r.actual_type ?? '' } } : {}),
        actualVersion: r.actual_version,
      });
    }
    return out;
  }

  /** Runs `fn` in one transaction (see {@link transaction}). */
  transaction<T>(fn: () => T): T {
    return transaction(this.#db, fn);
  }

  /** Writes a device's row (not its twins or attributes). */
  putDevice(d: Pick<StoredDevice, 'id' | 'uid' | 'state' | 'lastOnline' | 'dirty'>): void {
    this.#putDevice.run(d.id, d.uid, d.state, d.lastOnline, d.dirty);
  }

  /** Removes a device with its attributes and twins. */
  deleteDevice(id: string): void {
    this.#deleteDevice.run(id);
    this.#deleteAttributes.run(id);
    this.#deleteTwins.run(id);
  }

  /** Replaces a device's attributes. */
  putAttributes(id: string, attributes: ReadonlyMap<string, string>): void {
    this.#deleteAttributes.run(id);
    for (const [k, v] of attributes) this.#putAttribute.run(id, k, v);
  }

  putTwin(id: string, name: string, t: StoredTwin): void {
    this.#putTwin.run(id, name, t.expected?.value ?? null, t.expected?.ts ?? null, t.expectedVersion, t.observed?.value ?? null, t.observed?.ts ?? null, t.actual?.value ?? null, t.actual?.ts ?? null, t.actual?.type ?? null, t.actualVersion);
  }

  deleteTwin(id: string, name: string): void {
    this.#deleteTwin.run(id, name);
  }

  /** Marks the device clean if its latest report is still the one numbered `seq`. */
  settle(id: string, seq: number): void {
    this.#settle.run(id, seq);
  }
}
