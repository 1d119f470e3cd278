import { once } from 'node:events';
import type { ServerResponse } from 'node:http';
import { apiErrors } from '../../../api/errors.ts';
import type { FieldError } from '../../../api/field-error.ts';
import { CHANNEL_STDERR, CHANNEL_STDOUT, type LogsRequest } from '../../../protocol/stream.ts';
import { apiErrorOf, containerFor, targetOf, type StreamPod } from '../../stream/pod-target.ts';
import type { StreamOpener } from '../../stream/tunnels.ts';
import type { RestStorage } from '../storage/rest-storage.ts';
import type { Query } from './query.ts';
import type { ResourceRequest } from './resource-handler.ts';

/** The pods subresource `kubectl logs` reads. */
export const POD_LOG_SUBRESOURCE = 'log';

/** Options of `GET pods/<name>/log`, as kube-apiserver's `PodLogOptions`. */
export interface PodLogOptions {
  readonly container?: string;
  readonly follow: boolean;
  readonly previous: boolean;
  readonly timestamps: boolean;
  readonly tailLines?: number;
  readonly sinceSeconds?: number;
  /** RFC 3339, second precision. */
  readonly sinceTime?: string;
  readonly limitBytes?: number;
}

/**
 * Reads `PodLogOptions` from the query and validates them as kube-apiserver does.
 * @throws ApiError 400 for a value that is not a number or time; 422 (`PodLogOptions` Invalid) for
 *   a negative tail, a limit or since below 1, or both sinceSeconds and sinceTime
 */
export function podLogOptions(q: Query, name: string): PodLogOptions {
  const int = (param: string): number | undefined => {
    const v = q.string(param);
    if (v === undefined || v === '') return undefined;
    if (!/^-?[0-9]+$/.test(v) || !Number.isSafeInteger(Number(v))) throw apiErrors.badRequest(`invalid value for query parameter ${param}: ${JSON.stringify(v)} (expected an integer)`);
    return Number(v);
  };
  const container = q.string('container');
  const tailLines = int('tailLines');
  const sinceSeconds = int('sinceSeconds');
  const limitBytes = int('limitBytes');
  const sinceTime = q.string('sinceTime');
  if (sinceTime !== undefined && sinceTime !== '' && !Number.isFinite(Date.parse(sinceTime))) throw apiErrors.badRequest(`invalid value for query parameter sinceTime: ${JSON.stringify(sinceTime)} (expected an RFC 3339 time)`);
  const errors: FieldError[] = [];
  if (tailLines !== undefined && tailLines < 0) errors.push({ type: 'FieldValueInvalid', field: 'tailLines', value: tailLines, detail: 'must be greater than or equal to 0' });
  if (limitBytes !== undefined && limitBytes < 1) errors.push({ type: 'FieldValueInvalid', field: 'limitBytes', value: limitBytes, detail: 'must be greater than 0' });
  if (sinceSeconds !== undefined && sinceTime !== undefined && sinceTime !== '') errors.push({ type: 'FieldValueForbidden', field: '', detail: 'at most one of `sinceTime` or `sinceSeconds` may be specified' });
  else if (sinceSeconds !== undefined && sinceSeconds < 1) errors.push({ type: 'FieldValueInvalid', field: 'sinceSeconds', value: sinceSeconds, detail: 'must be greater than 0' });
  if (errors.length > 0) throw apiErrors.invalid('PodLogOptions', '', name, errors);
  return {
    follow: q.bool('follow'),
    previous: q.bool('previous'),
    timestamps: q.bool('timestamps'),
    ...(container !== undefined && container !== '' ? { container } : {}),
    ...(tailLines !== undefined ? { tailLines } : {}),
    ...(sinceSeconds !== undefined ? { sinceSeconds } : {}),
    ...(sinceTime !== undefined && sinceTime !== '' ? { sinceTime } : {}),
    ...(limitBytes !== undefined ? { limitBytes } : {}),
  };
}

/**
 * `GET /api/v1/namespaces/<ns>/pods/<name>/log`: the container's log, streamed from its edge node
 * through the node's stream tunnel as chunked `text/plain`. With `follow` the response stays open
 * for new lines until the container exits or the client goes away; a client that reads slowly
 * slows the node's reader, through the tunnel's window, instead of filling the cloud's memory.
 *
 * Errors before the first byte are Statuses (a container that has not started is a 400, as from the
 * kubelet; a node that is offline a 503); a stream that breaks later cuts the response short, so
 * the client sees it fail rather than end.
 */
export async function podLog(r: ResourceRequest, pods: RestStorage, streams: StreamOpener): Promise<void> {
  if (r.info.verb !== 'get') throw apiErrors.methodNotAllowed(r.info.verb, { group: '', resource: `pods/${POD_LOG_SUBRESOURCE}` });
  const name = r.info.name ?? '';
  const options = podLogOptions(r.query, name);
  const pod = (await pods.get(r.info.namespace, name)) as StreamPod;
  const container = containerFor(pod, options.container);
  const node = pod.spec?.nodeName ?? '';
  if (node === '') {
    // kube-apiserver answers an unscheduled pod's log with an empty body.
    beginLog(r.res);
    r.res.end();
    return;
  }
  const sinceMs = options.sinceTime !== undefined ? Date.parse(options.sinceTime) : options.sinceSeconds !== undefined ? Date.now() - options.sinceSeconds * 1000 : undefined;
  const request: LogsRequest = {
    kind: 'logs',
    ...targetOf(pod),
    container,
    follow: options.follow,
    previous: options.previous,
    timestamps: options.timestamps,
    ...(options.tailLines !== undefined ? { tailLines: options.tailLines } : {}),
    ...(sinceMs !== undefined ? { sinceMs } : {}),
    ...(options.limitBytes !== undefined ? { limitBytes: options.limitBytes } : {}),
  };
  let stream;
  try {
    stream = await streams.open(node, request, r.signal);
  } catch (err) {
    throw apiErrorOf(err);
  }
  beginLog(r.res);
  let limit = options.limitBytes ?? Infinity;
  for await (const e of stream.events()) {
    if (e.type === 'data' && (e.channel === CHANNEL_STDOUT || e.channel === CHANNEL_STDERR)) {
      const data = e.data.length > limit ? e.data.subarray(0, limit) : e.data;
      limit -= data.length;
      if (!r.res.write(data)) await drained(r.res);
      if (limit <= 0) {
        stream.cancel('limitBytes reached');
        break;
      }
    } else if (e.type === 'end') {
      if (e.result.error !== undefined) {
        // Headers are out: only cutting the connection tells the client the log is incomplete.
        r.res.destroy();
        return;
      }
      break;
    }
  }
  r.res.end();
}

function beginLog(res: ServerResponse): void {
  res.writeHead(200, { 'Content-Type': 'text/plain', 'Cache-Control': 'no-cache, private', 'X-Content-Type-Options': 'nosniff' });
  // `logs -f` of a quiet container must see the 200 before its first line.
  res.flushHeaders();
}

async function drained(res: ServerResponse): Promise<void> {
  if (res.destroyed) return;
  const ac = new AbortController();
  await Promise.race([once(res, 'drain', { signal: ac.signal }), once(res, 'close', { signal: ac.signal })]).catch(() => undefined);
  ac.abort();
}
