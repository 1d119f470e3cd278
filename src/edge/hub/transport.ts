import { connect as netConnect, type Socket } from 'node:net';
import { createSecureContext, type SecureContext } from 'node:tls';
import { HUB_PATH, MAX_FRAME_BYTES } from '../../protocol/envelope.ts';
import { WebSocketClient } from '../websocket/client.ts';

/** The node's TLS material: the cluster CA it trusts and the client certificate it presents (PEM). */
export interface NodeTls {
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
}

/** Where the hub listens. */
export interface HubAddress {
  readonly host: string;
  readonly port: number;
}

/** Bytes on the wire (TLS records, WebSocket framing included) of one connection. */
export interface WireCounters {
  readonly bytesRead: number;
  readonly bytesWritten: number;
}

/**
 * A TLS context built once per certificate, not per connection attempt: parsing keys and
 * certificates costs more than a refused TCP connect, and an edge retrying every few seconds
 * through a long outage should cost next to nothing.
 */
export function secureContextFor(tls: NodeTls): SecureContext {
  return createSecureContext({ ca: tls.ca, cert: tls.cert, key: tls.key, minVersion: 'TLSv1.2' });
}

/**
 * Opens the TCP connection to the hub, and nothing more: while the cloud is down an edge retries
 * every few seconds, and a refused attempt should cost one SYN, not a TLS session and a WebSocket
 * client built and thrown away (on a small edge device, or a benchmark host running thousands of
 * nodes, that is most of the cost of an outage).
 * @throws the connect error (ECONNREFUSED, ...) or a timeout after `timeoutMs`; an AbortError when `signal` aborts
 */
export async function connectTcp(address: HubAddress, timeoutMs: number, signal: AbortSignal): Promise<Socket> {
  const host = address.host.startsWith('[') ? address.host.slice(1, -1) : address.host;
  const raw = netConnect({ host, port: address.port });
  raw.setNoDelay(true);
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(Object.assign(new Error(`TCP connect to ${host}:${address.port} timed out after ${timeoutMs} ms`), { code: 'ETIMEDOUT' })), timeoutMs);
      const abort = (): void => reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
      signal.addEventListener('abort', abort, { once: true });
      const settle = (): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', abort);
      };
      raw.once('connect', () => {
        settle();
        resolve();
      });
      raw.once('error', (err) => {
        settle();
        reject(err);
      });
    });
  } catch (err) {
    raw.destroy();
    throw err;
  }
  return raw;
}

/**
 * Opens the WebSocket to `wss://<host>:<port>/v1/hub` over a connected TCP socket (see
 * {@link connectTcp}), with mutual TLS, trusting only the cluster CA. The TCP socket's counters
 * measure what really crosses the network (the TLS socket's own count plaintext).
 * @returns the socket (not yet open) and live wire counters
 */
export function openHubSocket(raw: Socket, address: HubAddress, context: SecureContext, handshakeTimeoutMs: number): { ws: WebSocketClient; wire: WireCounters } {
  const host = address.host.startsWith('[') ? address.host.slice(1, -1) : address.host;
  // No compression is offered: it would cost the cloud a zlib context per node (hundreds of KB
  // each), far more than the bytes it saves on small JSON frames.
  const ws = new WebSocketClient({
    host,
    port: address.port,
    path: HUB_PATH,
    maxPayload: MAX_FRAME_BYTES,
    handshakeTimeoutMs,
    socket: raw,
    tls: { secureContext: context, rejectUnauthorized: true },
  });
  return {
    ws,
    wire: {
      get bytesRead() {
        return raw.bytesRead;
      },
      get bytesWritten() {
        return raw.bytesWritten;
      },
    },
  };
}
