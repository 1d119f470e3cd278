/**
 * The storage contract of the cloud: a revisioned key-value store in the shape of etcd (and of kine,
 * which puts etcd's API on SQL). Every write gets a new, strictly increasing revision shared by the
 * whole keyspace; a key remembers the revision that created it and the one that last changed it.
 * Kubernetes' resourceVersion is exactly that modification revision.
 *
 * Implementations: `sqlite` (the default, in `<data-dir>/state.db`) and, later, `etcd` for HA. All of
 * them must pass `runBackendConformance` in `conformance.ts`.
 *
 * Values are opaque strings (kedge stores JSON). Keys look like `/registry/pods/default/web-1`.
 */
export interface KeyValue {
  readonly key: string;
  readonly value: string;
  /** Revision of the write that created the key (etcd's create_revision). */
  readonly createRevision: number;
  /** Revision of the write that last changed the key (etcd's mod_revision); the resourceVersion. */
  readonly modRevision: number;
}

/** One change. For `delete`, `kv` is the value the key had when it was deleted and `kv.modRevision` is the deletion's revision. */
export interface WatchEvent {
  readonly type: 'put' | 'delete';
  readonly kv: KeyValue;
  /** The value before this change, when the backend still has it (absent for a create). */
  readonly prev?: KeyValue;
}

export interface ListOptions {
  /**
   * Read the keyspace as it was at this revision (a snapshot read). Absent: the current state.
   * @throws CompactedError (`STORE_COMPACTED`) when the revision is at or below the compacted one.
   */
  readonly revision?: number;
  /** Only keys strictly greater than this one (pagination). */
  readonly startAfter?: string;
  /** At most this many items; `more` tells whether any were left. */
  readonly limit?: number;
}

export interface ListResult {
  readonly items: readonly KeyValue[];
  /** The revision the list was read at. */
  readonly revision: number;
  /** True when `limit` cut the list short. */
  readonly more: boolean;
}

export interface Backend {
  /** The revision of the latest write (0 for an empty store). */
  currentRevision(): Promise<number>;

  /** The latest revision compacted away; watches and snapshot reads must start after it. */
  compactedRevision(): Promise<number>;

  /** The current value of `key`, or undefined. */
  get(key: string): Promise<KeyValue | undefined>;

  /** Keys starting with `prefix`, in byte order of the key. */
  list(prefix: string, options?: ListOptions): Promise<ListResult>;

  /**
   * Stores `value` under a key that must not exist.
   * @throws KeyExistsError (`STORE_KEY_EXISTS`) when it does.
   */
  create(key: string, value: string): Promise<KeyValue>;

  /**
   * Replaces the value of `key` if its modRevision is still `expectedModRevision`.
   * @throws NotFoundError (`STORE_NOT_FOUND`) when the key does not exist.
   * @throws RevisionMismatchError (`STORE_REVISION_MISMATCH`) when it was changed meanwhile; the error carries the current value.
   */
  update(key: string, value: string, expectedModRevision: number): Promise<KeyValue>;

  /**
   * Deletes `key`, if given only while its modRevision is still `expectedModRevision`. Returns the
   * deleted value, with `modRevision` set to the deletion's revision.
   * @throws NotFoundError, RevisionMismatchError as `update`.
   */
  delete(key: string, expectedModRevision?: number): Promise<KeyValue>;

  /**
   * Every change to keys under `prefix` with a revision greater than `afterRevision`, in revision
   * order, first the history still kept and then live changes, until `signal` aborts. Events of one
   * write transaction arrive in one batch.
   * @throws CompactedError (`STORE_COMPACTED`) when `afterRevision` is below the compacted revision,
   * so history the caller needs is gone (Kubernetes answers 410 Gone).
   */
  watch(prefix: string, afterRevision: number, signal: AbortSignal): AsyncIterable<readonly WatchEvent[]>;

  /** Drops history at and below `revision` (older values of changed keys, deletion records). */
  compact(revision: number): Promise<void>;

  /** Releases the backend; later calls fail with `STORE_CLOSED`. */
  close(): Promise<void>;
}
