/**
 * A real cloud for the hub and join tests: SQLite in a temporary directory, the cloud's
 * credentials (CA, serving certificate), and the API server with its CRDs, reached in-process
 * through LocalClient. Helpers issue node certificates and connect test edges over real TLS.
 * Not used by production code.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import WebSocket from 'ws';
import { silentLogger, type Logger } from '../../log/logger.ts';
import { SqliteBackend } from '../../store/sqlite.ts';
import { ApiServer } from '../apiserver/api-server.ts';
import { Authenticator, Authorizer, NodeGraphIndex, TokenStore } from '../apiserver/auth/index.ts';
import { ensureCloudCredentials, type CloudCredentials } from '../apiserver/bootstrap/index.ts';
import { LocalClient } from '../client/local-client.ts';
import { createCsr, generateKeyPair, exportPrivateKeyPem, signCsr, type IssuedCertificate } from '../../pki/index.ts';
import { decodeEnvelope, encodeEnvelope, envelope } from '../../protocol/codec.ts';
import { HUB_PATH, type Contents, type Envelope, type Operation, type ResourceRef } from '../../protocol/envelope.ts';

/** A started API server on a fresh store, and what the hub and join service need from the cloud. */
export class TestCloud {
  readonly api: ApiServer;
  readonly client: LocalClient;
  readonly credentials: CloudCredentials;
  readonly log: Logger;
  readonly #abort: AbortController;
  readonly #backend: SqliteBackend;
  readonly #dir: string;

  private constructor(api: ApiServer, credentials: CloudCredentials, backend: SqliteBackend, dir: string, abort: AbortController, log: Logger) {
    this.api = api;
    this.client = new LocalClient(api.registry, 'system:kedge-hub', { backend });
    this.credentials = credentials;
    this.#backend = backend;
    this.#dir = dir;
    this.#abort = abort;
    this.log = log;
  }

  static async start(log: Logger = silentLogger()): Promise<TestCloud> {
    const dir = await mkdtemp(join(tmpdir(), 'kedge-hub-'));
    const abort = new AbortController();
    const backend = await SqliteBackend.open(join(dir, 'state.db'), { log });
    const credentials = await ensureCloudCredentials({ dataDir: dir, tlsSans: [], log, host: { hostname: 'kedge-test', addresses: [] } });
    const nodeGraph = new NodeGraphIndex();
    const api = new ApiServer({
      bindAddress: '127.0.0.1',
      port: 0,
      tls: { key: credentials.servingKeyPem, cert: credentials.servingCertPem, ca: credentials.caCertPem },
      backend,
      authenticator: new Authenticator({ clientCa: credentials.caCertPem, tokens: await TokenStore.load(credentials.tokensPath), log }),
      authorizer: new Authorizer({ nodeGraph }),
      nodeGraph,
      kedgeVersion: '0.0.0-test',
      log,
    });
    await api.start(abort.signal);
    return new TestCloud(api, credentials, backend, dir, abort, log);
  }

  /** The signal components under test run with; aborted by {@link close}. */
  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  /** A node client certificate (`CN=system:node:<name>, O=system:nodes`) from the cluster CA. */
  async nodeCertificate(nodeName: string, options: { validityDays?: number; organizations?: string[]; commonName?: string } = {}): Promise<IssuedCertificate> {
    const key = await generateKeyPair();
    const commonName = options.commonName ?? `system:node:${nodeName}`;
    const organizations = options.organizations ?? ['system:nodes'];
    const csr = await createCsr({ commonName, organizations, key });
    const certPem = await signCsr(this.credentials.ca, csr, { commonName, organizations, usages: ['client auth'], validityDays: options.validityDays ?? 1 });
    return { certPem, keyPem: await exportPrivateKeyPem(key.privateKey) };
  }

  async close(): Promise<void> {
    this.#abort.abort();
    await this.#backend.close();
    await rm(this.#dir, { recursive: true, force: true });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/**
 * A test edge: a plain `ws` client with a node certificate, speaking envelopes. Every frame it
 * receives is decoded and queued; tests wait for the ones they expect.
 */
export class TestEdge {
  readonly ws: WebSocket;
  /** Received messages nobody has waited for yet. */
  readonly received: Envelope[] = [];
  readonly #listeners = new Set<(e: Envelope) => void>();
  readonly #waiters: { match: (e: Envelope) => boolean; resolve: (e: Envelope) => void }[] = [];
  /** Set when the socket closed: the close code. */
  closeCode: number | undefined;

  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.on('message', (data: Buffer) => {
      const env = decodeEnvelope(data);
      for (const l of this.#listeners) l(env);
      const i = this.#waiters.findIndex((w) => w.match(env));
      if (i >= 0) this.#waiters.splice(i, 1)[0]!.resolve(env);
      else this.received.push(env);
    });
    ws.on('close', (code: number) => {
      this.closeCode = code;
    });
  }

  /** Connects to the hub at `port` with `cert`, trusting `caPem`; resolves once open. */
  static async connect(port: number, cert: IssuedCertificate, caPem: string, options: { autoAck?: boolean; autoPong?: boolean; path?: string } = {}): Promise<TestEdge> {
    const ws = new WebSocket(`wss://127.0.0.1:${port}${options.path ?? HUB_PATH}`, { cert: cert.certPem, key: cert.keyPem, ca: caPem, autoPong: options.autoPong ?? true });
    const edge = new TestEdge(ws);
    if (options.autoAck === true) edge.autoAck();
    await once(ws, 'open');
    return edge;
  }

  /** Acks every upsert and delete as it arrives (as if the edge persisted it). */
  autoAck(): void {
    this.#listeners.add((env) => {
      if (env.route.operation === 'upsert' || env.route.operation === 'delete') this.send(envelope('edge', 'resource', 'ack', null, { parentId: env.header.id }));
    });
  }

  send(env: Envelope): void {
    this.ws.send(encodeEnvelope(env));
  }

  /** Sends a message and waits for the reply carrying its id as parentId. */
  async request<O extends Operation>(operation: O, content: Contents[O], extra: { resource?: ResourceRef; group?: 'resource' | 'hub' | 'twin' } = {}): Promise<Envelope> {
    const env = envelope('edge', extra.group ?? 'resource', operation, content, extra.resource !== undefined ? { resource: extra.resource } : {});
    const reply = this.next((e) => e.header.parentId === env.header.id);
    this.send(env as Envelope);
    return reply;
  }

  /** The first received message matching `match`, now or when it arrives. */
  next(match: (e: Envelope) => boolean, timeoutMs = 5000): Promise<Envelope> {
    const i = this.received.findIndex(match);
    if (i >= 0) return Promise.resolve(this.received.splice(i, 1)[0]!);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const at = this.#waiters.indexOf(waiter);
        if (at >= 0) this.#waiters.splice(at, 1);
        reject(new Error(`no matching message within ${timeoutMs} ms; received ${JSON.stringify(this.received.map((e) => [e.route.operation, e.route.resource?.name]))}`));
      }, timeoutMs);
      const waiter = {
        match,
        resolve: (e: Envelope) => {
          clearTimeout(timer);
          resolve(e);
        },
      };
      this.#waiters.push(waiter);
    });
  }

  /** Sends an inventory and returns the upserts and deletes that arrive before `synced` (taking them off {@link received}). */
  async sync(items: Contents['inventory']['items'] = []): Promise<Envelope[]> {
    const out: Envelope[] = [];
    let collecting = true;
    const collect = (env: Envelope): void => {
      if (collecting && (env.route.operation === 'upsert' || env.route.operation === 'delete')) out.push(env);
    };
    this.#listeners.add(collect);
    try {
      await this.request('inventory', { items }, { group: 'hub' }).then((reply) => {
        if (reply.route.operation !== 'synced') throw new Error(`inventory answered by ${reply.route.operation}: ${JSON.stringify(reply.content)}`);
      });
    } finally {
      collecting = false;
      this.#listeners.delete(collect);
    }
    this.received.splice(0, this.received.length, ...this.received.filter((e) => !out.includes(e)));
    return out;
  }

  async close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return;
    const closed = once(this.ws, 'close');
    this.ws.close();
    await closed;
  }
}
