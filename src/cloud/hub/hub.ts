import https from 'node:https';
import { once } from 'node:events';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { WebSocketServer, type WebSocket } from 'ws';
import { describeError } from '../../errors/platform-error.ts';
import type { Logger } from '../../log/logger.ts';
import type { CertificateAuthority } from '../../pki/index.ts';
import { HUB_CLOSE_GOING_AWAY, HUB_CLOSE_REPLACED, HUB_PATH, MAX_FRAME_BYTES } from '../../protocol/envelope.ts';
import { STREAM_PATH } from '../../protocol/stream.ts';
import { NODES_GROUP, NODE_USER_PREFIX } from '../apiserver/auth/types.ts';
import type { SharedInformers } from '../controllers/runtime/shared-informers.ts';
import type { KubeClient } from '../client/client.ts';
import type { NodeIdentities } from '../join/identities.ts';
import { DeviceReportWriter } from '../controllers/devices/report-writer.ts';
import { EdgeObjectIndex, SYNCED_RESOURCES, type DeviceObject } from './desired.ts';
import { DEFAULT_SESSION_LIMITS, NodeSession, type HubCounters, type SessionLimits } from './session.ts';
import { Upstream } from './upstream.ts';

const CLIENT_AUTH_OID = '1.3.6.1.5.5.7.3.2';
/** Dirty nodes reconciled per turn of the event loop, so that a change touching thousands of nodes does not stall it. */
const RECONCILE_BATCH = 500;

/** Options of {@link CloudHub}. */
export interface CloudHubOptions {
  readonly bindAddress: string;
  /** 0 picks a free port. */
  readonly port: number;
  /** The cloud's serving certificate and key (PEM). */
  readonly tls: { readonly cert: string; readonly key: string };
  /** Verifies node certificates and signs rotated ones. */
  readonly ca: CertificateAuthority;
  /** Every write of the hub goes through this client. */
  readonly client: KubeClient;
  /** The cloud's shared informers: the hub reads pods, configmaps, secrets, nodes and devices from them. */
  readonly informers: SharedInformers;
  readonly identities: NodeIdentities;
  /** Lifetime of certificates issued on rotation. */
  readonly certificateValidityMs: number;
  /** How often each edge is pinged; one that answers nothing for a whole interval is disconnected. @default 30_000 */
  readonly keepaliveIntervalMs?: number;
  readonly limits?: Partial<SessionLimits>;
  /**
   * Takes the WebSockets edges open at `STREAM_PATH` (the logs/exec/port-forward tunnel,
   * src/cloud/stream), authenticated by node certificate exactly like hub sessions.
   */
  readonly streams?: { accept(node: string, req: IncomingMessage, socket: Duplex, head: Buffer): void };
  readonly log: Logger;
  /** @default () => new Date() */
  readonly now?: () => Date;
}

/** What {@link CloudHub.stats} reports. */
export interface HubStats extends Omit<HubCounters, 'ackLatencyMs'> {
  readonly sessions: number;
  readonly synced: number;
  readonly unacked: number;
  /** Send-to-ack round trips of the latest objects, in milliseconds. */
  readonly ackLatencyMs: readonly number[];
}

/**
 * CloudHub: the WSS endpoint every edge node keeps one connection to. TLS requires a client
 * certificate from the cluster CA, and the node is whoever its certificate names
 * (`CN=system:node:<name>`, `O=system:nodes`): nothing the edge says about itself counts. A second
 * connection of a node replaces the first. Sessions are fed from shared informers
 * ({@link EdgeObjectIndex}); a change marks the nodes it concerns, and each marked session is
 * diffed on the next turn of the event loop.
 */
export class CloudHub {
  readonly #o: CloudHubOptions;
  readonly #log: Logger;
  readonly #sessions = new Map<string, NodeSession>();
  readonly #dirty = new Set<string>();
  readonly #counters: HubCounters = { framesIn: 0, bytesIn: 0, framesOut: 0, bytesOut: 0, refused: 0, ackLatencyMs: [] };
  readonly #limits: SessionLimits;
  #index: EdgeObjectIndex | undefined;
  #upstream: Upstream | undefined;
  #server: https.Server | undefined;
  #flushScheduled = false;

  constructor(options: CloudHubOptions) {
    this.#o = options;
    this.#log = options.log;
    this.#limits = { ...DEFAULT_SESSION_LIMITS, ...options.limits };
  }

  /** The port bound. */
  get port(): number {
    const a = this.#server?.address();
    if (a === null || a === undefined || typeof a === 'string') throw new Error('hub is not listening');
    return a.port;
  }

  /** The informers behind the hub; for tests and the benchmark. */
  get index(): EdgeObjectIndex {
    if (this.#index === undefined) throw new Error('hub not started');
    return this.#index;
  }

  /** Connected nodes and traffic so far. */
  stats(): HubStats {
    let synced = 0;
    let unacked = 0;
    for (const s of this.#sessions.values()) {
      if (s.synced) synced++;
      unacked += s.unacked;
    }
    return { ...this.#counters, ackLatencyMs: [...this.#counters.ackLatencyMs], sessions: this.#sessions.size, synced, unacked };
  }

  /** True when `node` has a session. */
  connected(node: string): boolean {
    return this.#sessions.has(node);
  }

  /**
   * Fills the informers, then listens until `signal` aborts; resolves once listening. On abort
   * every session is closed with 1001 (going away) so that edges reconnect to the next cloud.
   */
  async start(signal: AbortSignal): Promise<void> {
    const d = SYNCED_RESOURCES.devices;
    const served = await this.#o.client.serverResources();
    const devices = served.some((r) => r.group === d.group && r.version === d.version && r.plural === d.plural);
    if (!devices) this.#log.warn('devices.kubeedge.io is not served; devices will not reach edges');
    const index = new EdgeObjectIndex({ informers: this.#o.informers, devices, onChange: (nodes) => this.#markDirty(nodes) });
    this.#index = index;
    // Device reports are written behind by the device controller's writer, reading the hub's device cache.
    const deviceReports =
      index.devices === undefined ? undefined : new DeviceReportWriter({ devices: this.#o.client.resource<DeviceObject>(d.group, d.version, d.plural), cache: index.devices, log: this.#log.child({ component: 'device-reports' }) });
    this.#upstream = new Upstream({
      client: this.#o.client,
      index,
      deviceReports,
      ca: this.#o.ca,
      identities: this.#o.identities,
      certificateValidityMs: this.#o.certificateValidityMs,
      log: this.#log,
      ...(this.#o.now !== undefined ? { now: this.#o.now } : {}),
    });
    await index.start(signal);
    deviceReports?.start(signal);

    const server = https.createServer({
      cert: this.#o.tls.cert,
      key: this.#o.tls.key,
      ca: this.#o.ca.certPem,
      requestCert: true,
      rejectUnauthorized: true,
      minVersion: 'TLSv1.2',
    });
    // Identity comes from the certificate alone; per-message deflate would cost ~300 KB of zlib
    // state per connection, more than an idle node may use in all.
    const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES, perMessageDeflate: false, clientTracking: false });
    server.on('request', (req, res) => {
      res.writeHead(req.url === '/healthz' ? 200 : 426, { 'Content-Type': 'text/plain' });
      res.end(req.url === '/healthz' ? 'ok' : `connect with a WebSocket to ${HUB_PATH}`);
    });
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.#upgrade(wss, req, socket as TLSSocket, head));
    server.on('tlsClientError', (err) => this.#log.debug('TLS handshake failed', { err: err.message }));
    server.on('clientError', (_err, socket) => socket.destroy());
    this.#server = server;
    // Thousands of edges reconnect at once after a cloud restart: a deep accept queue keeps their
    // SYNs from being dropped (and retried seconds later by the kernel).
    server.listen({ port: this.#o.port, host: this.#o.bindAddress, backlog: 4096 });
    await once(server, 'listening');

    const keepalive = setInterval(() => {
      for (const s of this.#sessions.values()) s.keepalive();
    }, this.#o.keepaliveIntervalMs ?? 30_000);
    keepalive.unref();
    signal.addEventListener(
      'abort',
      () => {
        clearInterval(keepalive);
        const sessions = [...this.#sessions.values()];
        for (const s of sessions) s.close(HUB_CLOSE_GOING_AWAY, 'cloud shutting down');
        server.close();
        server.closeAllConnections();
        // Edges get a second to answer the close; the process must not wait for the silent ones.
        setTimeout(() => {
          for (const s of sessions) s.terminate();
        }, 1000).unref();
      },
      { once: true },
    );
    this.#log.info('hub listening', { address: this.#o.bindAddress, port: this.port });
  }

  #upgrade(wss: WebSocketServer, req: IncomingMessage, socket: TLSSocket, head: Buffer): void {
    // Until ws owns the socket nothing else listens for its errors, and an unheard 'error' would
    // take the process down: a peer resetting mid-handshake is routine.
    const onError = (): void => {
      socket.destroy();
    };
    socket.on('error', onError);
    const reject = (status: number, text: string, why: string): void => {
      this.#log.warn('hub connection refused', { remote: socket.remoteAddress, why });
      socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    };
    const path = new URL(req.url ?? '/', 'https://hub').pathname;
    const streams = path === STREAM_PATH ? this.#o.streams : undefined;
    if (path !== HUB_PATH && streams === undefined) return reject(404, 'Not Found', `path ${req.url ?? ''}`);
    const node = nodeOfPeer(socket);
    if (typeof node !== 'string') return reject(403, 'Forbidden', node.refused);
    socket.off('error', onError);
    if (streams !== undefined) return streams.accept(node, req, socket, head);
    wss.handleUpgrade(req, socket, head, (ws) => this.#connected(node, ws, socket));
  }

  #connected(node: string, ws: WebSocket, socket: TLSSocket): void {
    const log = this.#log.child({ node });
    const session = new NodeSession({ node, ws, socket, index: this.#index!, upstream: this.#upstream!, counters: this.#counters, limits: this.#limits, log });
    const previous = this.#sessions.get(node);
    if (previous !== undefined) {
      log.info('a new connection replaces the session of this node');
      previous.close(HUB_CLOSE_REPLACED, 'replaced by a newer connection of the same node');
    }
    this.#sessions.set(node, session);
    ws.on('close', (code: number) => {
      // Only the current session leaves the map: a replaced one closing late must not evict its successor.
      if (this.#sessions.get(node) === session) this.#sessions.delete(node);
      log.debug('edge disconnected', { code });
    });
    ws.on('error', (err) => log.debug('edge connection error', { err: describeError(err) }));
    log.debug('edge connected', { remote: socket.remoteAddress });
  }

  #markDirty(nodes: Iterable<string>): void {
    for (const n of nodes) if (this.#sessions.get(n)?.synced === true) this.#dirty.add(n);
    if (this.#dirty.size > 0 && !this.#flushScheduled) {
      this.#flushScheduled = true;
      setImmediate(() => this.#flush());
    }
  }

  /** Diffs marked sessions, a batch per turn: events arriving meanwhile coalesce into the same diff. */
  #flush(): void {
    this.#flushScheduled = false;
    let n = 0;
    for (const node of this.#dirty) {
      this.#dirty.delete(node);
      try {
        this.#sessions.get(node)?.reconcile();
      } catch (err) {
        this.#log.error('cannot reconcile an edge session', { node, err: describeError(err) });
      }
      if (++n >= RECONCILE_BATCH) break;
    }
    if (this.#dirty.size > 0 && !this.#flushScheduled) {
      this.#flushScheduled = true;
      setImmediate(() => this.#flush());
    }
  }
}

/**
 * The node a TLS peer is, from its verified certificate: `CN=system:node:<name>` with
 * `O=system:nodes` and a client-auth usage; otherwise why it is refused.
 */
export function nodeOfPeer(socket: TLSSocket): string | { refused: string } {
  if (!socket.authorized) return { refused: `client certificate not trusted: ${String(socket.authorizationError ?? 'none presented')}` };
  const cert = socket.getPeerCertificate();
  // node:tls gives an array when an attribute repeats, whatever its types say.
  const cnField: unknown = cert.subject.CN;
  const oField: unknown = cert.subject.O;
  const cn = Array.isArray(cnField) ? (cnField.at(-1) as string | undefined) : (cnField as string | undefined);
  const orgs = Array.isArray(oField) ? (oField as string[]) : typeof oField === 'string' ? [oField] : [];
  if (cn === undefined || !cn.startsWith(NODE_USER_PREFIX) || cn.length === NODE_USER_PREFIX.length) return { refused: `certificate CN ${JSON.stringify(cn ?? '')} is not a node (${NODE_USER_PREFIX}<name>)` };
  if (!orgs.includes(NODES_GROUP)) return { refused: `certificate of ${cn} is not in the group ${NODES_GROUP}` };
  const usages = cert.ext_key_usage;
  if (usages !== undefined && !usages.includes(CLIENT_AUTH_OID)) return { refused: `certificate of ${cn} is not for client authentication` };
  return cn.slice(NODE_USER_PREFIX.length);
}
