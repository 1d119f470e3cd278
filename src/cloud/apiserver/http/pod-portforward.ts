import { createWebSocketStream } from 'ws';
import { apiErrors } from '../../../api/errors.ts';
import { describeError } from '../../../errors/platform-error.ts';
import type { Logger } from '../../../log/logger.ts';
import { apiErrorOf, targetOf, type StreamPod } from '../../stream/pod-target.ts';
import { PORT_FORWARD_PROTOCOL, PORT_FORWARD_TUNNEL_PROTOCOL, servePortForward } from '../../stream/port-forward.ts';
import type { StreamOpener } from '../../stream/tunnels.ts';
import { acceptSpdy, acceptWebSocket, negotiate, upgradeKind } from '../../stream/upgrade.ts';
import type { RestStorage } from '../storage/rest-storage.ts';
import type { ResourceRequest } from './resource-handler.ts';

/** The pods subresource `kubectl port-forward` upgrades. */
export const POD_PORTFORWARD_SUBRESOURCE = 'portforward';

/**
 * `POST` (SPDY/3.1) or `GET` (WebSocket carrying SPDY, kubectl 1.31+) `/api/v1/namespaces/<ns>/pods/<name>/portforward`:
 * forwards connections to the pod's ports on its edge node, one tunnel stream per connection.
 * The `ports` query parameter, when given, limits which ports the session may reach.
 */
export async function podPortForward(r: ResourceRequest, pods: RestStorage, streams: StreamOpener, log: Logger): Promise<void> {
  if (r.info.verb !== 'get' && r.info.verb !== 'create') throw apiErrors.methodNotAllowed(r.info.verb, { group: '', resource: `pods/${POD_PORTFORWARD_SUBRESOURCE}` });
  const kind = upgradeKind(r.req);
  const protocol = negotiate(r.req, kind, [kind === 'websocket' ? PORT_FORWARD_TUNNEL_PROTOCOL : PORT_FORWARD_PROTOCOL]);
  const ports = new URL(r.req.url ?? '/', 'https://kedge').searchParams
    .getAll('ports')
    .flatMap((p) => p.split(','))
    .filter((p) => p !== '');
  for (const p of ports) {
    if (!/^[0-9]{1,5}$/.test(p) || Number(p) < 1 || Number(p) > 65535) throw apiErrors.badRequest(`invalid port ${JSON.stringify(p)}: ports must be between 1 and 65535`);
  }
  const name = r.info.name ?? '';
  const pod = (await pods.get(r.info.namespace, name)) as StreamPod;
  const node = pod.spec?.nodeName ?? '';
  if (node === '') throw apiErrors.badRequest(`pod ${name} does not have a host assigned`);
  if (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') throw apiErrors.badRequest(`cannot port-forward to a completed pod; current phase is ${pod.status.phase}`);

  const target = targetOf(pod);
  const forwardLog = log.child({ pod: `${target.namespace}/${target.pod}`, protocol });
  const open = async (port: number, signal: AbortSignal) => {
    const combined = AbortSignal.any([signal, r.signal]);
    try {
      return await streams.open(node, { kind: 'portforward', ...target, port }, combined);
    } catch (err) {
      throw apiErrorOf(err);
    }
  };
  try {
    const allowed = ports.length > 0 ? new Set(ports.map(Number)) : undefined;
    if (kind === 'websocket') {
      const ws = await acceptWebSocket(r.req, protocol);
      await servePortForward(createWebSocketStream(ws), open, `${target.namespace}/${target.pod}`, allowed, forwardLog);
    } else {
      acceptSpdy(r.req, protocol);
      await servePortForward(r.req.socket, open, `${target.namespace}/${target.pod}`, allowed, forwardLog);
    }
  } catch (err) {
    forwardLog.debug('port-forward connection failed', { err: describeError(err) });
    r.req.socket.destroy();
  }
}
