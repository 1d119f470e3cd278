import type { Pod } from 'kubernetes-types/core/v1.d.ts';
import { ApiError, apiErrors } from '../../api/errors.ts';
import type { KubeObject } from '../../api/object.ts';
import { StreamError, type PodTarget } from '../../protocol/stream.ts';

/** A pod as the stream subresources read it. */
export type StreamPod = KubeObject & Pod;

/**
 * The container a log or exec request is for, chosen as kube-apiserver does: the one named
 * (among containers, init and ephemeral containers), or the pod's only container.
 * @throws ApiError 400 naming the choices when the pod has several and none is named, or the name is not the pod's
 */
export function containerFor(pod: StreamPod, requested: string | undefined): string {
  const name = pod.metadata.name ?? '';
  const containers = pod.spec?.containers ?? [];
  if (requested === undefined || requested === '') {
    if (containers.length === 1) return containers[0]!.name;
    if (containers.length === 0) throw apiErrors.badRequest(`a container name must be specified for pod ${name}`);
    throw apiErrors.badRequest(`a container name must be specified for pod ${name}, choose one of: [${containers.map((c) => c.name).join(' ')}]`);
  }
  const all = [...containers, ...(pod.spec?.initContainers ?? []), ...(pod.spec?.ephemeralContainers ?? [])];
  if (!all.some((c) => c.name === requested)) throw apiErrors.badRequest(`container ${requested} is not valid for pod ${name}`);
  return requested;
}

/** What the tunnel needs to find the pod on its node. */
export function targetOf(pod: StreamPod): PodTarget {
  return { namespace: pod.metadata.namespace ?? '', pod: pod.metadata.name ?? '', uid: pod.metadata.uid ?? '' };
}

/**
 * The Status an API client gets for a stream that could not be opened. Codes and reasons follow
 * what the kubelet and kube-apiserver answer in the same situations (a container that has not
 * started is a 400, as `kubectl logs` users know it).
 */
export function apiErrorOf(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (!(err instanceof StreamError)) return apiErrors.internal(err instanceof Error ? err.message : String(err), { cause: err });
  const options = { cause: err };
  switch (err.code) {
    case 'STREAM_CONTAINER_NOT_FOUND':
    case 'STREAM_UNSUPPORTED':
      return apiErrors.badRequest(err.message, options);
    case 'STREAM_POD_NOT_FOUND':
      return new ApiError('API_NOT_FOUND', 404, 'NotFound', err.message, undefined, options);
    case 'STREAM_NODE_UNAVAILABLE':
    case 'STREAM_CLOSED':
      return new ApiError('API_SERVICE_UNAVAILABLE', 503, 'ServiceUnavailable', err.message, undefined, options);
    case 'STREAM_LIMIT':
      return new ApiError('API_TOO_MANY_REQUESTS', 429, 'TooManyRequests', err.message, undefined, options);
    case 'STREAM_TIMEOUT':
      return new ApiError('API_TIMEOUT', 504, 'Timeout', err.message, undefined, options);
    case 'STREAM_PORT_UNREACHABLE':
    case 'STREAM_FAILED':
      return apiErrors.internal(err.message, options);
  }
}
