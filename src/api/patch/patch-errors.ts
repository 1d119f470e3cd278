import { ApiError } from '../errors.ts';

/**
 * 422 Invalid, not tied to a named object: what kube-apiserver answers when a well-formed patch
 * cannot be applied to the object (a JSON patch `test` fails, a path is missing, a list of lists
 * meets a strategic merge). Kubernetes sends a generic message here; kedge keeps the reason.
 */
export function patchNotApplicable(message: string, options?: { cause?: unknown }): ApiError {
  return new ApiError('API_INVALID', 422, 'Invalid', message, undefined, options);
}

/** 413, as kube-apiserver answers a JSON patch with more operations than it allows. */
export function tooManyPatchOperations(count: number, max: number): ApiError {
  return new ApiError(
    'API_REQUEST_ENTITY_TOO_LARGE',
    413,
    'RequestEntityTooLarge',
    `Request entity too large: The allowed maximum operations in a JSON patch is ${max}, got ${count}`,
  );
}
