import { PlatformError } from '../errors/platform-error.ts';
import type { KeyValue } from './backend.ts';

/** The key a create asked for already exists. */
export class KeyExistsError extends PlatformError {
  readonly key: string;
  constructor(key: string) {
    super('STORE_KEY_EXISTS', `key ${key} already exists`);
    this.key = key;
  }
}

/** The key an update or delete asked for does not exist. */
export class KeyNotFoundError extends PlatformError {
  readonly key: string;
  constructor(key: string) {
    super('STORE_NOT_FOUND', `key ${key} not found`);
    this.key = key;
  }
}

/** An update or delete carried a modRevision precondition that no longer holds. */
export class RevisionMismatchError extends PlatformError {
  readonly current: KeyValue;
  constructor(current: KeyValue, expected: number) {
    super('STORE_REVISION_MISMATCH', `key ${current.key} is at revision ${current.modRevision}, not ${expected}`);
    this.current = current;
  }
}

/** The requested revision is no longer kept. */
export class CompactedError extends PlatformError {
  readonly requested: number;
  readonly compacted: number;
  constructor(requested: number, compacted: number) {
    super('STORE_COMPACTED', `revision ${requested} has been compacted (compacted up to ${compacted})`);
    this.requested = requested;
    this.compacted = compacted;
  }
}

/** The backend was closed. */
export class StoreClosedError extends PlatformError {
  constructor() {
    super('STORE_CLOSED', 'store is closed');
  }
}

/** A stored value is not what kedge writes (a JSON object); the key names the damaged entry. */
export class CorruptValueError extends PlatformError {
  readonly key: string;
  constructor(key: string, reason: string, options?: { cause?: unknown }) {
    super('STORE_CORRUPT_VALUE', `value of ${key} is corrupt: ${reason}`, options);
    this.key = key;
  }
}

/**
 * The watch cache did not reach a revision in time (Kubernetes: 504 "Too large resource version").
 * Uses the API's timeout code because that is exactly how the API server reports it.
 */
export class RevisionTimeoutError extends PlatformError {
  readonly requested: number;
  readonly current: number;
  constructor(requested: number, current: number) {
    super('API_TIMEOUT', `too large resource version: ${requested}, current: ${current}`);
    this.requested = requested;
    this.current = current;
  }
}

/** Why the watch cache ended a watch: the client should watch again from the last revision it saw. */
export type WatchTerminationReason =
  /** The watcher had more undelivered events than the cache keeps per watcher. */
  | 'too-slow'
  /** The cache had to reload its contents from the store and cannot continue the stream. */
  | 'resync';

/**
 * The watch cache ended a watch; re-watching from the last delivered revision continues without loss
 * (or gets CompactedError when that history is gone). Carries the API's 429 code: the client is asked to
 * come back, as with too many requests.
 */
export class WatchTerminatedError extends PlatformError {
  readonly reason: WatchTerminationReason;
  constructor(reason: WatchTerminationReason, message: string) {
    super('API_TOO_MANY_REQUESTS', message);
    this.reason = reason;
  }
}
