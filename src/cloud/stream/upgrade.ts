import type { IncomingMessage } from 'node:http';
import { apiErrors } from '../../api/errors.ts';
import { WebSocketServer, type WebSocket } from 'ws';
import { httpDate } from '../../api/time.ts';

/**
 * HTTP upgrades as Kubernetes' streaming endpoints negotiate them: WebSocket with a subprotocol
 * (`Sec-WebSocket-Protocol`), or SPDY/3.1 with a stream protocol (`X-Stream-Protocol-Version`).
 * The version is settled before anything is opened, so a client that speaks none of ours gets a
 * plain HTTP error instead of a connection that goes nowhere.
 */

/** Which upgrade a request asks for. */
export type UpgradeKind = 'websocket' | 'spdy';

/** The largest message a streaming client may send (stdin, a resize): the tunnel splits bigger ones anyway. */
const MAX_MESSAGE = 4 * 1024 * 1024;

/**
 * The upgrade a request asks for.
 * @throws ApiError 400 "Upgrade request required" when it asks for none, as kube-apiserver answers
 */
export function upgradeKind(req: IncomingMessage): UpgradeKind {
  const upgrade = (req.headers.upgrade ?? '').toLowerCase();
  const connection = (req.headers.connection ?? '').toLowerCase();
  if (connection.includes('upgrade') && upgrade === 'websocket') return 'websocket';
  if (connection.includes('upgrade') && upgrade.startsWith('spdy/3.1')) return 'spdy';
  throw apiErrors.badRequest('Upgrade request required');
}

/** The client's offers, in its order of preference, from a comma-separated or repeated header. */
function offers(value: string | string[] | undefined): string[] {
  return (Array.isArray(value) ? value : [value ?? ''])
    .flatMap((v) => v.split(','))
    .map((p) => p.trim())
    .filter((p) => p !== '');
}

/**
 * The protocol both sides speak: the client's most preferred among `supported`.
 * @throws ApiError 400 naming both lists (the kubelet's handshake answers the same text)
 */
export function negotiate(req: IncomingMessage, kind: UpgradeKind, supported: readonly string[]): string {
  const header = kind === 'websocket' ? req.headers['sec-websocket-protocol'] : req.headers['x-stream-protocol-version'];
  const client = offers(header);
  const chosen = client.find((p) => supported.includes(p));
  if (chosen !== undefined) return chosen;
  throw apiErrors.badRequest(`unable to upgrade: unable to negotiate protocol: client supports [${client.join(' ')}], server supports [${supported.join(' ')}]`);
}

/**
 * Completes a WebSocket upgrade on the request's socket with `protocol`.
 * @throws Error when the request is not a valid WebSocket handshake (the socket has been answered with a 400)
 */
export async function acceptWebSocket(req: IncomingMessage, protocol: string): Promise<WebSocket> {
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE, perMessageDeflate: false, clientTracking: false, handleProtocols: () => protocol });
  return new Promise<WebSocket>((resolve, reject) => {
    const socket = req.socket;
    // ws answers a broken handshake itself and never calls back; the socket closing says so.
    const onClose = (): void => reject(new Error('the WebSocket handshake failed'));
    socket.once('close', onClose);
    wss.handleUpgrade(req, socket, Buffer.alloc(0), (ws) => {
      socket.removeListener('close', onClose);
      resolve(ws);
    });
  });
}

/** Completes a SPDY/3.1 upgrade on the request's socket: the 101 the kubelet's upgrader writes. */
export function acceptSpdy(req: IncomingMessage, protocol: string): void {
  req.socket.write(`HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: ${protocol}\r\nDate: ${httpDate(Date.now())}\r\n\r\n`);
}
