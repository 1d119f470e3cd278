import { PlatformError } from '../../errors/platform-error.ts';

/** The codes a join can be refused with, each with the HTTP status the join service answers. */
export const JOIN_ERROR_STATUS = {
  JOIN_BAD_REQUEST: 400,
  JOIN_TOKEN_MALFORMED: 401,
  JOIN_TOKEN_WRONG_CA: 401,
  JOIN_TOKEN_INVALID: 401,
  JOIN_TOKEN_EXPIRED: 401,
  JOIN_TOKEN_REVOKED: 401,
  JOIN_NODE_NAME_TAKEN: 409,
} as const;

export type JoinErrorCode = keyof typeof JOIN_ERROR_STATUS;

/**
 * A join refused for a reason the edge can act on; the code (docs/errors.md) is what `kedge edge
 * join` shows, the message says which token or name.
 */
export class JoinError extends PlatformError {
  declare readonly code: JoinErrorCode;
  /** The HTTP status of the answer. */
  readonly httpStatus: number;

  constructor(code: JoinErrorCode, message: string, options?: { cause?: unknown; httpStatus?: number }) {
    super(code, message, options);
    this.httpStatus = options?.httpStatus ?? JOIN_ERROR_STATUS[code];
  }
}
