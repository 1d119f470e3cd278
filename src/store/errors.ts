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
