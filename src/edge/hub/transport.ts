import { connect as netConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect, createSecureContext, type ConnectionOptions, type SecureContext } from 'node:tls';
import WebSocket from 'ws';
import { HUB_PATH, MAX_FRAME_BYTES } from '../../protocol/envelope.ts';

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
 * Opens the WebSocket to `wss://<host>:<port>/v1/hub` with mutual TLS, trusting only the cluster CA.
 * The TCP socket is created here, under TLS, so its counters measure what really crosses the
 * network (the TLS socket's own counters count plaintext).
 * @returns the socket (not yet open) and live wire counters
 */
export function openHubSocket(address: HubAddress, context: SecureContext, handshakeTimeoutMs: number): { ws: WebSocket; wire: WireCounters } {
  let raw: Socket | undefined;
  const host = address.host.startsWith('[') ? address.host.slice(1, -1) : address.host;
  const ws = new WebSocket(`wss://${isIP(host) === 6 ? `[${host}]` : host}:${address.port}${HUB_PATH}`, {
    handshakeTimeout: handshakeTimeoutMs,
    maxPayload: MAX_FRAME_BYTES,
    // Compression would cost the cloud a zlib context per node (hundreds of KB each), far more
    // than the bytes it saves on small JSON frames.
    perMessageDeflate: false,
    followRedirects: false,
    createConnection: ((options: ConnectionOptions) => {
      raw = netConnect({ host, port: address.port });
      raw.setNoDelay(true);
      return tlsConnect({
        ...options,
        socket: raw,
        secureContext: context,
        // SNI is for names only; an IP address is checked against the certificate's IP SANs.
        servername: isIP(host) !== 0 ? '' : host,
        rejectUnauthorized: true,
      });
    }) as unknown as typeof netConnect,
  });
  return {
    ws,
    wire: {
      get bytesRead() {
        return raw?.bytesRead ?? 0;
      },
      get bytesWritten() {
        return raw?.bytesWritten ?? 0;
      },
    },
  };
}
