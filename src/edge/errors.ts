import type { ErrorCode } from '../errors/codes.ts';
import { PlatformError } from '../errors/platform-error.ts';

/** The codes edge components raise; each is documented in docs/errors.md. */
export type EdgeErrorCode = Extract<ErrorCode, `EDGE_${string}` | `JOIN_${string}`>;

/** An error raised by the edge half: a stable {@link EdgeErrorCode} and the error it wraps as `cause`. */
export class EdgeError extends PlatformError {
  declare readonly code: EdgeErrorCode;

  constructor(code: EdgeErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
