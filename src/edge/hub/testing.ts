/**
 * A stand-in CloudHub for the edge's unit tests: a real WSS server with mutual TLS on loopback that
 * speaks envelope v1 the way DESIGN.md describes the cloud side (inventory → difference → synced,
 * acks for everything the edge sends, CSR signing), with knobs to misbehave. The real CloudHub lives
 * in src/cloud, which edge code may not import; the e2e tests run the two together.
 * Not used by production code.
 */
import { once } from 'node:events';
import https from 'node:https';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { WebSocketServer, type WebSocket } from 'ws';
import type { KubeObject } from '../../api/object.ts';
// The full PKI: this stand-in is the cloud, so it is a CA and signs CSRs. Only tests load it.
// eslint-disable-next-line @typescript-eslint/no-restricted-imports
import { createCa, createCsr, exportPrivateKeyPem, generateKeyPair, issueServingCertificate, signCsr, type CertificateAuthority } from '../../pki/index.ts';
import { decodeEnvelope, encodeEnvelope, envelope } from '../../protocol/codec.ts';
import { HUB_PATH, type Contents, type Envelope, type SyncedKind } from '../../protocol/envelope.ts';
import type { HubCredentials } from './rotation.ts';
import type { NodeTls } from './transport.ts';

/** An object the fake cloud wants the node to hold. */
export interface FakeObject {
  readonly kind: SyncedKind;
  readonly object: KubeObject;
}

/** What the fake hub saw of one connection. */
export interface FakeConnection {
  readonly ws: WebSocket;
  readonly node: string;
  /** Every envelope received, in order. */
  readonly received: Envelope[];
  /** Frame bytes sent to the edge. */
  bytesOut: number;
}

/** Knobs of {@link FakeHub}. */
export interface FakeHubBehaviour {
  /** Do not answer status/upsert/lease/event/csr/report messages (the edge should resend them later). */
  silent: boolean;
  /** Answer every edge write with this error code. */
  refuseWith: string | undefined;
  /** Never send `synced`. */
  withholdSynced: boolean;
  /** Do not answer pings (ws answers them automatically unless the socket is paused). */
  deaf: boolean;
  /** Lifetime of certificates issued on rotation, days. */
  renewValidityDays: number;
}

/** A fake cloud: CA, serving certificate and the WSS hub. */
export class FakeHub {
  readonly ca: CertificateAuthority;
  readonly #serving: { certPem: string; keyPem: string };
  readonly connections: FakeConnection[] = [];
  /** uid → object: what every node should hold. */
  readonly desired = new Map<string, FakeObject>();
  readonly behaviour: FakeHubBehaviour = { silent: false, refuseWith: undefined, withholdSynced: false, deaf: false, renewValidityDays: 30 };
  #server: https.Server | undefined;
  #wss: WebSocketServer | undefined;
  #port = 0;
  readonly #listeners = new Set<(c: FakeConnection, e: Envelope) => void>();

  private constructor(ca: CertificateAuthority, serving: { certPem: string; keyPem: string }) {
    this.ca = ca;
    this.#serving = serving;
  }

  static async create(): Promise<FakeHub> {
    const ca = await createCa({ commonName: 'fake-cloud-ca' });
    const serving = await issueServingCertificate(ca, { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
    return new FakeHub(ca, serving);
  }

  get port(): number {
    return this.#port;
  }

  get address(): { host: string; port: number } {
    return { host: '127.0.0.1', port: this.#port };
  }

  /** Listens (again, on the same port after {@link stop} when it had one). */
  async start(port = this.#port): Promise<void> {
    const server = https.createServer({ cert: this.#serving.certPem, key: this.#serving.keyPem, ca: this.ca.certPem, requestCert: true, rejectUnauthorized: true });
    const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
    server.on('upgrade', (req, socket: Duplex, head) => {
      const cert = (socket as TLSSocket).getPeerCertificate();
      const cn = /^system:node:(.+)$/.exec(String(cert.subject?.CN ?? ''))?.[1];
      if (req.url !== HUB_PATH || cn === undefined) {
        socket.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n');
        return;
      }
      wss.handleUpgrade(req, socket, head, (ws) => this.#connected(ws, cn));
    });
    server.listen(port, '127.0.0.1');
    await once(server, 'listening');
    this.#server = server;
    this.#wss = wss;
    this.#port = (server.address() as { port: number }).port;
  }

  /** Stops listening and drops every connection without a close frame (as `kill -9` would). */
  async stop(): Promise<void> {
    for (const c of this.connections) c.ws.terminate();
    this.#wss?.close();
    const server = this.#server;
    if (server === undefined) return;
    server.closeAllConnections();
    server.close();
    await once(server, 'close');
    this.#server = undefined;
  }

  /** A node certificate for `node` from this cloud's CA, with a lifetime in days. */
  async nodeTls(node: string, validityDays = 1, now?: Date): Promise<NodeTls> {
    const key = await generateKeyPair();
    const csr = await createCsr({ commonName: `system:node:${node}`, organizations: ['system:nodes'], key });
    const cert = await signCsr(this.ca, csr, { commonName: `system:node:${node}`, organizations: ['system:nodes'], usages: ['client auth'], validityDays, ...(now !== undefined ? { now } : {}) });
    return { ca: this.ca.certPem, cert, key: await exportPrivateKeyPem(key.privateKey) };
  }

  /** Calls `fn` for every envelope received from now on. */
  onMessage(fn: (c: FakeConnection, e: Envelope) => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  /** The next received envelope matching `match`. */
  next(match: (e: Envelope) => boolean, timeoutMs = 10_000): Promise<Envelope> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(new Error(`no matching envelope within ${timeoutMs} ms`));
      }, timeoutMs);
      const off = this.onMessage((_c, e) => {
        if (!match(e)) return;
        clearTimeout(timer);
        off();
        resolve(e);
      });
    });
  }

  /** Sets what every node should hold and pushes the difference to connected nodes. */
  put(kind: SyncedKind, object: KubeObject): void {
    this.desired.set(object.metadata.uid!, { kind, object });
    for (const c of this.connections) if (c.ws.readyState === c.ws.OPEN) this.#sendUpsert(c, { kind, object });
  }

  /** Removes an object from what nodes should hold and sends the delete to connected nodes. */
  remove(uid: string): void {
    const d = this.desired.get(uid);
    if (d === undefined) return;
    this.desired.delete(uid);
    for (const c of this.connections) if (c.ws.readyState === c.ws.OPEN) this.#sendDelete(c, d);
  }

  /** Sends a raw frame to every connected node. */
  sendRaw(frame: string | Buffer): void {
    for (const c of this.connections) if (c.ws.readyState === c.ws.OPEN) c.ws.send(frame);
  }

  /** Closes every connection with `code`. */
  closeAll(code: number, reason = ''): void {
    for (const c of this.connections) if (c.ws.readyState === c.ws.OPEN) c.ws.close(code, reason);
  }

  #connected(ws: WebSocket, node: string): void {
    const c: FakeConnection = { ws, node, received: [], bytesOut: 0 };
    this.connections.push(c);
    ws.on('message', (data: Buffer) => {
      const env = decodeEnvelope(data);
      c.received.push(env);
      this.#handle(c, env);
      for (const l of this.#listeners) l(c, env);
    });
    if (this.behaviour.deaf) ws.pause();
  }

  #send(c: FakeConnection, frame: string): void {
    c.bytesOut += Buffer.byteLength(frame);
    c.ws.send(frame);
  }

  #sendUpsert(c: FakeConnection, d: FakeObject): void {
    const m = d.object.metadata;
    this.#send(c, encodeEnvelope(envelope('cloud', 'resource', 'upsert', d.object, { resource: { kind: d.kind, name: m.name!, uid: m.uid!, ...(m.namespace !== undefined ? { namespace: m.namespace } : {}) }, resourceVersion: m.resourceVersion ?? '' })));
  }

  #sendDelete(c: FakeConnection, d: FakeObject): void {
    const m = d.object.metadata;
    this.#send(c, encodeEnvelope(envelope('cloud', 'resource', 'delete', { uid: m.uid! }, { resource: { kind: d.kind, name: m.name!, uid: m.uid!, ...(m.namespace !== undefined ? { namespace: m.namespace } : {}) } })));
  }

  #handle(c: FakeConnection, env: Envelope): void {
    switch (env.route.operation) {
      case 'inventory': {
        const held = new Map((env.content as Contents['inventory']).items.map((i) => [i.uid, i]));
        for (const [uid, d] of this.desired) if (held.get(uid)?.resourceVersion !== d.object.metadata.resourceVersion) this.#sendUpsert(c, d);
        for (const [uid, item] of held) if (!this.desired.has(uid)) this.#sendDelete(c, { kind: item.kind, object: { metadata: { name: item.name, uid, ...(item.namespace !== undefined ? { namespace: item.namespace } : {}) } } });
        if (!this.behaviour.withholdSynced) this.#send(c, encodeEnvelope(envelope('cloud', 'hub', 'synced', { revision: '1' }, { parentId: env.header.id })));
        return;
      }
      case 'status':
      case 'upsert':
      case 'lease':
      case 'event':
      case 'csr':
      case 'report':
        if (this.behaviour.silent) return;
        if (this.behaviour.refuseWith !== undefined) {
          this.#send(c, encodeEnvelope(envelope('cloud', env.route.group, 'error', { code: this.behaviour.refuseWith, message: 'refused by the fake hub' }, { parentId: env.header.id })));
          return;
        }
        if (env.route.operation === 'csr') {
          const csr = (env.content as Contents['csr']).csr;
          void signCsr(this.ca, csr, { commonName: `system:node:${c.node}`, organizations: ['system:nodes'], usages: ['client auth'], validityDays: this.behaviour.renewValidityDays }).then((certificate) =>
            this.#send(c, encodeEnvelope(envelope('cloud', 'hub', 'response', { certificate, caCertificate: this.ca.certPem }, { parentId: env.header.id }))),
          );
          return;
        }
        this.#send(c, encodeEnvelope(envelope('cloud', env.route.group, 'ack', null, { parentId: env.header.id })));
        return;
      default:
        return;
    }
  }
}

/** In-memory {@link HubCredentials} for tests: replacing only changes memory. */
export class MemoryCredentials implements HubCredentials {
  #tls: NodeTls;
  replaced = 0;

  constructor(tls: NodeTls) {
    this.#tls = tls;
  }

  current(): NodeTls {
    return this.#tls;
  }

  replace(certPem: string, keyPem: string): Promise<void> {
    this.#tls = { ca: this.#tls.ca, cert: certPem, key: keyPem };
    this.replaced++;
    return Promise.resolve();
  }
}
