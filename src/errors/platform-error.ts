import type { ErrorCode } from './codes.ts';

/**
 * Base of every error kedge raises on purpose. It carries a stable {@link ErrorCode} that tests and
 * callers match on (never the message text) and always keeps the error it wraps as `cause`.
 * Errors become Kubernetes `Status` objects only at the API boundary and error envelopes only at the
 * hub boundary.
 */
export class PlatformError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** True when `err` is a {@link PlatformError} with the given code. */
export function hasCode(err: unknown, code: ErrorCode): err is PlatformError {
  return err instanceof PlatformError && err.code === code;
}

/** A short, single-line description of any thrown value, for logs and wrapped messages. */
export function describeError(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
