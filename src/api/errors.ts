import { PlatformError } from '../errors/platform-error.ts';
import type { ErrorCode } from '../errors/codes.ts';
import { formatFieldError, type FieldError } from './field-error.ts';

/** `metav1.StatusReason` values kedge produces. */
export type StatusReason =
  | 'BadRequest'
  | 'Unauthorized'
  | 'Forbidden'
  | 'NotFound'
  | 'AlreadyExists'
  | 'Conflict'
  | 'Gone'
  | 'Expired'
  | 'Invalid'
  | 'MethodNotAllowed'
  | 'NotAcceptable'
  | 'UnsupportedMediaType'
  | 'RequestEntityTooLarge'
  | 'TooManyRequests'
  | 'Timeout'
  | 'InternalError'
  | 'ServiceUnavailable';

/** What a `Status.details` names: the object the error is about. */
export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: { reason: string; message: string; field: string }[];
  retryAfterSeconds?: number;
}

/**
 * An error with a Kubernetes meaning: HTTP status code, `reason` and details. The API server turns
 * it into a `metav1.Status`; nothing else formats it.
 */
export class ApiError extends PlatformError {
  readonly httpStatus: number;
  readonly reason: StatusReason;
  readonly details: StatusDetails | undefined;

  constructor(code: ErrorCode, httpStatus: number, reason: StatusReason, message: string, details?: StatusDetails, options?: { cause?: unknown }) {
    super(code, message, options);
    this.httpStatus = httpStatus;
    this.reason = reason;
    this.details = details;
  }
}

/** The resource a request was about: `pods` in group `''`, or `deployments.apps`. */
export interface ResourceRef {
  readonly group: string;
  readonly resource: string;
  readonly name?: string;
}

function qualified(ref: ResourceRef): string {
  return ref.group === '' ? ref.resource : `${ref.resource}.${ref.group}`;
}

function detailsOf(ref: ResourceRef, kind = ref.resource): StatusDetails {
  const d: StatusDetails = { group: ref.group, kind };
  if (ref.name !== undefined) d.name = ref.name;
  return d;
}

export const apiErrors = {
  badRequest: (message: string, options?: { cause?: unknown }) => new ApiError('API_BAD_REQUEST', 400, 'BadRequest', message, undefined, options),
  unauthorized: (message = 'Unauthorized') => new ApiError('API_UNAUTHORIZED', 401, 'Unauthorized', message),
  forbidden: (user: string, verb: string, ref: ResourceRef, namespace: string | undefined, why: string) =>
    new ApiError(
      'API_FORBIDDEN',
      403,
      'Forbidden',
      `${qualified(ref)}${ref.name !== undefined ? ` "${ref.name}"` : ''} is forbidden: User "${user}" cannot ${verb} resource "${ref.resource}" in API group "${ref.group}"${
        namespace !== undefined && namespace !== '' ? ` in the namespace "${namespace}"` : ' at the cluster scope'
      }${why === '' ? '' : `: ${why}`}`,
      detailsOf(ref),
    ),
  notFound: (ref: ResourceRef) =>
    new ApiError('API_NOT_FOUND', 404, 'NotFound', `${qualified(ref)} "${ref.name ?? ''}" not found`, detailsOf(ref)),
  pathNotFound: (path: string) => new ApiError('API_NOT_FOUND', 404, 'NotFound', `the server could not find the requested resource (${path})`),
  alreadyExists: (ref: ResourceRef) =>
    new ApiError('API_ALREADY_EXISTS', 409, 'AlreadyExists', `${qualified(ref)} "${ref.name ?? ''}" already exists`, detailsOf(ref)),
  conflict: (ref: ResourceRef, why: string) =>
    new ApiError('API_CONFLICT', 409, 'Conflict', `Operation cannot be fulfilled on ${qualified(ref)} "${ref.name ?? ''}": ${why}`, detailsOf(ref)),
  gone: (message: string) => new ApiError('API_GONE', 410, 'Expired', message),
  invalid: (kind: string, group: string, name: string, errors: readonly FieldError[]) =>
    new ApiError(
      'API_INVALID',
      422,
      'Invalid',
      `${kind} "${name}" is invalid: ${errors.length === 1 ? formatFieldError(errors[0]!) : `[${errors.map(formatFieldError).join(', ')}]`}`,
      {
        name,
        group,
        kind,
        causes: errors.map((e) => ({ reason: e.type, message: formatFieldError(e).slice(e.field.length + 2), field: e.field })),
      },
    ),
  methodNotAllowed: (verb: string, ref: ResourceRef) =>
    new ApiError('API_METHOD_NOT_ALLOWED', 405, 'MethodNotAllowed', `the server does not allow this method on the requested resource (${verb} ${qualified(ref)})`, detailsOf(ref)),
  notAcceptable: (message: string) => new ApiError('API_NOT_ACCEPTABLE', 406, 'NotAcceptable', message),
  unsupportedMediaType: (contentType: string) =>
    new ApiError('API_UNSUPPORTED_MEDIA_TYPE', 415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json, application/apply-patch+yaml (got ${contentType})`),
  tooLarge: (limitBytes: number) =>
    new ApiError('API_REQUEST_ENTITY_TOO_LARGE', 413, 'RequestEntityTooLarge', `the request body is too large: limit is ${limitBytes} bytes`),
  tooManyRequests: (message: string, retryAfterSeconds: number) =>
    new ApiError('API_TOO_MANY_REQUESTS', 429, 'TooManyRequests', message, { retryAfterSeconds }),
  timeout: (message: string) => new ApiError('API_TIMEOUT', 504, 'Timeout', message),
  internal: (message: string, options?: { cause?: unknown }) => new ApiError('API_INTERNAL', 500, 'InternalError', `Internal error occurred: ${message}`, undefined, options),
  unavailable: (message: string) => new ApiError('API_SERVICE_UNAVAILABLE', 503, 'ServiceUnavailable', message),
};

/** True when `err` is an {@link ApiError}. */
export function isApiError(err: unknown): err is ApiError {
  return err instanceof ApiError;
}
