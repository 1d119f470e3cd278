import type { ErrorCode } from '../../errors/codes.ts';
import { PlatformError } from '../../errors/platform-error.ts';

/** The codes mappers raise (documented in docs/errors.md). */
export type MapperErrorCode = Extract<ErrorCode, `MAPPER_${string}`>;

/**
 * Codes that mean the connection is gone or unusable: the device runner closes it, reports the
 * device offline and reconnects with back-off. The others concern one property.
 */
const CONNECTION_LOST: ReadonlySet<MapperErrorCode> = new Set(['MAPPER_DEVICE_UNREACHABLE', 'MAPPER_TIMEOUT', 'MAPPER_CLOSED']);

/** An error talking to a device: a stable {@link MapperErrorCode} and the error it wraps as `cause`. */
export class MapperError extends PlatformError {
  declare readonly code: MapperErrorCode;

  constructor(code: MapperErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }

  /** True when the connection must be dropped and made again. */
  get connectionLost(): boolean {
    return CONNECTION_LOST.has(this.code);
  }
}

/** `err` as a MapperError: itself, or `fallback` wrapping it. */
export function asMapperError(err: unknown, fallback: MapperErrorCode, context: string): MapperError {
  if (err instanceof MapperError) return err;
  return new MapperError(fallback, `${context}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
}
