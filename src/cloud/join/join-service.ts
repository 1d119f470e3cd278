import https from 'node:https';
import { once } from 'node:events';
import { isIP } from 'node:net';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { describeError, PlatformError } from '../../errors/platform-error.ts';
import type { Logger } from '../../log/logger.ts';
import { inspectCertificate, parseCsr, signCsr, CsrError, type CertificateAuthority } from '../../pki/index.ts';
import { decodeJoinRequest, ProtocolError } from '../../protocol/codec.ts';
import { JOIN_CA_PATH, JOIN_PATH, type JoinErrorBody, type JoinRequest, type JoinResponse } from '../../protocol/envelope.ts';
import { NODES_GROUP, NODE_USER_PREFIX } from '../apiserver/auth/types.ts';
import { JoinError } from './errors.ts';
import { publicKeyFingerprint, type NodeIdentities } from './identities.ts';
import type { BootstrapTokens } from './tokens.ts';

/** A join request is a token, a name and a CSR: well under 20 KiB. */
const MAX_BODY_BYTES = 64 * 1024;
/** Joins are rare; a burst beyond this many at once is answered 503 rather than queued without bound. */
const MAX_CONCURRENT_JOINS = 64;
const HOUR_MS = 60 * 60 * 1000;

/** Options of {@link JoinService}. */
export interface JoinServiceOptions {
  readonly bindAddress: string;
  /** 0 picks a free port. */
  readonly port: number;
  /** The cloud's serving certificate and key (PEM); edges verify it with the CA they pinned. */
  readonly tls: { readonly cert: string; readonly key: string };
  readonly ca: CertificateAuthority;
  readonly tokens: BootstrapTokens;
  readonly identities: NodeIdentities;
  /**
   * Where edges reach the hub. `host` undefined: the host name the edge used for the join service,
   * which is what it can reach (and what the serving certificate covers).
   */
  readonly hub: { readonly host: string | undefined; readonly port: () => number };
  /** Lifetime of node certificates. */
  readonly certificateValidityMs: number;
  readonly log: Logger;
  /** @default () => new Date() */
  readonly now?: () => Date;
}

/**
 * The join service, HTTPS on the join port: `GET /ca.crt` hands out the cluster CA to anyone (the
 * edge trusts it only if its digest matches the token), `POST /join` turns a valid token, a node
 * name and a CSR into a node client certificate (`CN=system:node:<name>, O=system:nodes`) and
 * tells the edge where the hub is. Tokens expired or revoked, names held by another key and
 * malformed requests are refused with a JSON {@link JoinErrorBody} and a stable code.
 */
export class JoinService {
  readonly #o: JoinServiceOptions;
  readonly #log: Logger;
  readonly #now: () => Date;
  #server: https.Server | undefined;
  #inFlight = 0;

  constructor(options: JoinServiceOptions) {
    this.#o = options;
    this.#log = options.log;
    this.#now = options.now ?? (() => new Date());
  }

  /** The port bound. */
  get port(): number {
    const a = this.#server?.address();
    if (a === null || a === undefined || typeof a === 'string') throw new Error('join service is not listening');
    return a.port;
  }

  /** Listens until `signal` aborts; resolves once listening. Also removes long-dead tokens, hourly. */
  async start(signal: AbortSignal): Promise<void> {
    const server = https.createServer({ cert: this.#o.tls.cert, key: this.#o.tls.key, minVersion: 'TLSv1.2' }, (req, res) => void this.#handle(req, res));
    server.headersTimeout = 10_000;
    server.requestTimeout = 30_000;
    server.on('tlsClientError', (err) => this.#log.debug('TLS handshake failed', { err: err.message }));
    server.on('clientError', (_err, socket) => socket.destroy());
    this.#server = server;
    server.listen(this.#o.port, this.#o.bindAddress);
    await once(server, 'listening');
    signal.addEventListener(
      'abort',
      () => {
        server.close();
        server.closeAllConnections();
      },
      { once: true },
    );
    const clean = (): void => {
      this.#o.tokens.cleanUp().then(
        (ids) => ids.length > 0 && this.#log.info('deleted tokens revoked or expired a week ago', { tokens: ids }),
        (err: unknown) => this.#log.warn('cannot clean up old tokens', { err: describeError(err) }),
      );
    };
    clean();
    const timer = setInterval(clean, HOUR_MS).unref();
    signal.addEventListener('abort', () => clearInterval(timer), { once: true });
    this.#log.info('join service listening', { address: this.#o.bindAddress, port: this.port });
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'https://join').pathname;
    try {
      if (path === JOIN_CA_PATH || path === '/healthz') {
        if (req.method !== 'GET' && req.method !== 'HEAD') throw new JoinError('JOIN_BAD_REQUEST', `${req.method ?? ''} is not allowed on ${path}`, { httpStatus: 405 });
        if (path === '/healthz') return send(res, 200, 'text/plain; charset=utf-8', 'ok');
        return send(res, 200, 'application/x-pem-file', this.#o.ca.certPem);
      }
      if (path !== JOIN_PATH) throw new JoinError('JOIN_BAD_REQUEST', `no such path: ${path}`, { httpStatus: 404 });
      if (req.method !== 'POST') throw new JoinError('JOIN_BAD_REQUEST', `use POST on ${JOIN_PATH}`, { httpStatus: 405 });
      if (this.#inFlight >= MAX_CONCURRENT_JOINS) {
        req.resume();
        res.setHeader('Retry-After', '1');
        return sendJson(res, 503, { code: 'API_SERVICE_UNAVAILABLE', message: 'too many joins at once; retry in a second' });
      }
      this.#inFlight++;
      try {
        const answer = await this.#join(await readJson(req), hostOf(req));
        sendJson(res, 200, answer);
      } finally {
        this.#inFlight--;
      }
    } catch (err) {
      if (err instanceof JoinError) {
        this.#log.warn('join refused', { code: err.code, err: err.message, remote: req.socket.remoteAddress });
        sendJson(res, err.httpStatus, { code: err.code, message: err.message });
        return;
      }
      this.#log.error('join failed', { err: describeError(err), remote: req.socket.remoteAddress });
      sendJson(res, 500, { code: err instanceof PlatformError ? err.code : 'API_INTERNAL', message: 'internal error; the cloud log has the cause' });
    }
  }

  async #join(body: unknown, requestHost: string | undefined): Promise<JoinResponse> {
    let request: JoinRequest;
    try {
      request = decodeJoinRequest(body);
    } catch (err) {
      if (err instanceof ProtocolError) throw new JoinError('JOIN_BAD_REQUEST', err.message, { cause: err });
      throw err;
    }
    const tokenId = await this.#o.tokens.verify(request.token);
    const { nodeName } = request;
    const commonName = `${NODE_USER_PREFIX}${nodeName}`;
    let certificate: string;
    let spki: Uint8Array;
    try {
      const csr = await parseCsr(request.csr);
      spki = new Uint8Array(await crypto.subtle.exportKey('spki', csr.publicKey));
      certificate = await signCsr(this.#o.ca, request.csr, {
        commonName,
        organizations: [NODES_GROUP],
        usages: ['client auth'],
        validityDays: this.#o.certificateValidityMs / 86_400_000,
        now: this.#now(),
      });
    } catch (err) {
      if (err instanceof CsrError) throw new JoinError('JOIN_BAD_REQUEST', `CSR refused (${err.reason}): ${err.message}`, { cause: err });
      throw err;
    }
    // Signed first, recorded second: a refused claim throws the certificate away unseen, while a
    // record written for a certificate that then failed to be signed would hold the name for nothing.
    await this.#o.identities.claim(nodeName, { fingerprint: publicKeyFingerprint(spki), notAfter: inspectCertificate(certificate).notAfter, tokenId });
    const host = this.#o.hub.host ?? requestHost ?? '127.0.0.1';
    this.#log.info('node joined', { node: nodeName, token: tokenId, hub: `${host}:${this.#o.hub.port()}` });
    return { nodeName, certificate, caCertificate: this.#o.ca.certPem, hub: { host, port: this.#o.hub.port() } };
  }
}

/** The host name the client used (Host header, without port); falls back to the local address it reached. */
function hostOf(req: IncomingMessage): string | undefined {
  const header = req.headers.host;
  if (header !== undefined && header !== '') {
    const host = header.startsWith('[') ? header.slice(1, header.indexOf(']')) : header.replace(/:\d+$/, '');
    if (host !== '') return host;
  }
  const local = req.socket.localAddress;
  if (local === undefined) return undefined;
  const v4 = local.startsWith('::ffff:') ? local.slice(7) : local;
  return isIP(v4) !== 0 ? v4 : undefined;
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (Number.isFinite(declared) && declared > MAX_BODY_BYTES) {
    req.resume();
    throw new JoinError('JOIN_BAD_REQUEST', `the request body is over ${MAX_BODY_BYTES} bytes`, { httpStatus: 413 });
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) {
      req.resume();
      throw new JoinError('JOIN_BAD_REQUEST', `the request body is over ${MAX_BODY_BYTES} bytes`, { httpStatus: 413 });
    }
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks, size).toString('utf8'));
  } catch (err) {
    throw new JoinError('JOIN_BAD_REQUEST', 'the request body is not JSON', { cause: err });
  }
}

function sendJson(res: ServerResponse, status: number, body: JoinResponse | JoinErrorBody): void {
  send(res, status, 'application/json', JSON.stringify(body));
}

function send(res: ServerResponse, status: number, type: string, body: string): void {
  if (res.headersSent) return;
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store' });
  res.end(body);
}
