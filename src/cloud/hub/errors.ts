import { PlatformError } from '../../errors/platform-error.ts';

/** Codes the hub itself refuses edge messages with (docs/errors.md, "Cloud hub"). */
export type HubErrorCode = 'HUB_FORBIDDEN' | 'HUB_UNSUPPORTED_OPERATION' | 'HUB_RATE_LIMITED';

/** An edge message the hub refuses; it becomes an `error` envelope only at the session boundary. */
export class HubError extends PlatformError {
  declare readonly code: HubErrorCode;

  constructor(code: HubErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
