import { apiErrors } from '../../../api/errors.ts';
import { describeError } from '../../../errors/platform-error.ts';
import type { Logger } from '../../../log/logger.ts';
import type { ExecRequest } from '../../../protocol/stream.ts';
import { apiErrorOf, containerFor, targetOf, type StreamPod } from '../../stream/pod-target.ts';
import { serveSpdyExec, serveWebSocketExec, SPDY_EXEC_PROTOCOLS, WEBSOCKET_EXEC_PROTOCOLS } from '../../stream/remote-command.ts';
import type { StreamOpener } from '../../stream/tunnels.ts';
import { acceptSpdy, acceptWebSocket, negotiate, upgradeKind } from '../../stream/upgrade.ts';
import type { RestStorage } from '../storage/rest-storage.ts';
import type { ResourceRequest } from './resource-handler.ts';

/** The pods subresource `kubectl exec` upgrades. */
export const POD_EXEC_SUBRESOURCE = 'exec';

/** Bytes the command line may take (kube-apiserver has no lower limit than its URL length). */
const MAX_COMMAND_BYTES = 32 * 1024;

/**
 * `GET` (WebSocket) or `POST` (SPDY) `/api/v1/namespaces/<ns>/pods/<name>/exec?command=…`:
 * runs a command in a container on the pod's edge node, through the node's stream tunnel, and
 * bridges it to the client's protocol: WebSocket `v5.channel.k8s.io` / `v4.channel.k8s.io`
 * (kubectl 1.30+), or SPDY/3.1 with `v4.channel.k8s.io` (earlier kubectl, and later ones when a
 * proxy refuses WebSockets). Exit codes reach the client in the final Status, so
 * `kubectl exec -- sh -c 'exit 3'` exits 3.
 *
 * Everything that can be refused is refused before the upgrade, as plain HTTP (bad options, a
 * container that is not running, an offline node); once upgraded, the socket belongs to the
 * stream protocol and errors travel on its error channel.
 */
export async function podExec(r: ResourceRequest, pods: RestStorage, streams: StreamOpener, log: Logger): Promise<void> {
  if (r.info.verb !== 'get' && r.info.verb !== 'create') throw apiErrors.methodNotAllowed(r.info.verb, { group: '', resource: `pods/${POD_EXEC_SUBRESOURCE}` });
  const kind = upgradeKind(r.req);
  const protocol = negotiate(r.req, kind, kind === 'websocket' ? WEBSOCKET_EXEC_PROTOCOLS : SPDY_EXEC_PROTOCOLS);
  const command = new URL(r.req.url ?? '/', 'https://kedge').searchParams.getAll('command');
  if (command.length === 0) throw apiErrors.badRequest('you must specify at least one command for the container');
  if (Buffer.byteLength(JSON.stringify(command)) > MAX_COMMAND_BYTES) throw apiErrors.badRequest(`the command is longer than ${MAX_COMMAND_BYTES} bytes`);
  const stdin = r.query.bool('stdin');
  const stdout = r.query.bool('stdout');
  const stderr = r.query.bool('stderr');
  const tty = r.query.bool('tty');
  if (!stdin && !stdout && !stderr) throw apiErrors.badRequest('you must specify at least 1 of stdin, stdout, stderr');

  const name = r.info.name ?? '';
  const pod = (await pods.get(r.info.namespace, name)) as StreamPod;
  const container = containerFor(pod, r.query.string('container'));
  const node = pod.spec?.nodeName ?? '';
  if (node === '') throw apiErrors.badRequest(`pod ${name} does not have a host assigned`);
  const phase = pod.status?.phase;
  if (phase === 'Succeeded' || phase === 'Failed') throw apiErrors.badRequest(`cannot exec into a container in a completed pod; current phase is ${phase}`);

  // With a TTY, stderr is merged into stdout by the terminal.
  const request: ExecRequest = { kind: 'exec', ...targetOf(pod), container, command, stdin, stdout, stderr: stderr && !tty, tty };
  let stream;
  try {
    stream = await streams.open(node, request, r.signal);
  } catch (err) {
    throw apiErrorOf(err);
  }
  const execLog = log.child({ pod: `${request.namespace}/${request.pod}`, container, stream: stream.id, protocol });
  try {
    if (kind === 'websocket') await serveWebSocketExec(await acceptWebSocket(r.req, protocol), stream, execLog);
    else {
      acceptSpdy(r.req, protocol);
      await serveSpdyExec(r.req.socket, stream, request, execLog);
    }
  } catch (err) {
    // Upgraded or not, the socket can no longer carry an HTTP answer.
    execLog.debug('exec connection failed', { err: describeError(err) });
    stream.cancel('the client connection failed');
    r.req.socket.destroy();
  }
}
