import https from 'node:https';
import { ServerResponse, type IncomingMessage } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { once } from 'node:events';
import { apiErrors } from '../../../api/errors.ts';
import type { Logger } from '../../../log/logger.ts';
import type { Authenticator } from '../auth/authenticator.ts';
import type { Authorizer, RequestAttributes } from '../auth/authorizer.ts';
import { NODES_GROUP, type UserInfo } from '../auth/types.ts';
import { parseFieldSelector } from '../../../api/selectors/fields.ts';
import type { Discovery } from '../discovery.ts';
import { acceptsOpenApiV2Protobuf, OPENAPI_V2_PROTOBUF_CONTENT_TYPE, type OpenApiPublisher } from '../openapi/publisher.ts';
import { prereadBody, sendError, sendJson } from './io.ts';
import { negotiate } from './negotiation.ts';
import { Query } from './query.ts';
import { parseRequestInfo, type ResourceRequestInfo } from './request-info.ts';
import type { ResourceHandler } from './resource-handler.ts';

/** Paths anyone may GET, signed in or not: liveness and readiness probes. */
const PUBLIC_PATHS = new Set(['/healthz', '/livez', '/readyz']);

export interface HttpServerOptions {
  readonly bindAddress: string;
  readonly port: number;
  readonly tls: { readonly key: string; readonly cert: string; readonly ca: string };
  readonly authenticator: Authenticator;
  readonly authorizer: Authorizer;
  readonly resources: ResourceHandler;
  readonly discovery: Discovery;
  readonly openapi: OpenApiPublisher;
  /** Resolves when every component behind the API is ready; /readyz answers 503 until then. */
  readonly ready: () => boolean;
  readonly log: Logger;
}

/**
 * The HTTPS front of the API server: authenticates every request (client certificate or bearer
 * token), authorizes it, and routes it to discovery, OpenAPI, health or the resource handler.
 */
export class ApiHttpServer {
  readonly #options: HttpServerOptions;
  readonly #log: Logger;
  #server: https.Server | undefined;

  constructor(options: HttpServerOptions) {
    this.#options = options;
    this.#log = options.log;
  }

  /** The address actually bound (port 0 picks a free one). */
  get address(): AddressInfo {
    const a = this.#server?.address();
    if (a === null || a === undefined || typeof a === 'string') throw new Error('server is not listening');
    return a;
  }

  /** Listens until `signal` aborts; resolves once listening. */
  async start(signal: AbortSignal): Promise<void> {
    const { tls } = this.#options;
    const server = https.createServer({ key: tls.key, cert: tls.cert, ca: tls.ca, requestCert: true, rejectUnauthorized: false, minVersion: 'TLSv1.2' }, (req, res) => {
      void this.#handle(req, res);
    });
    // Watches stay open for up to an hour; idle keep-alive connections close after a minute.
    server.requestTimeout = 0;
    server.headersTimeout = 60_000;
    server.keepAliveTimeout = 60_000;
    // Upgrades (pods/exec, pods/portforward: WebSocket or SPDY) go through the same authentication,
    // authorization and routing as any request, with a response bound to the raw socket for refusals.
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      if (head.length > 0) socket.unshift(head);
      const res = new ServerResponse(req);
      res.shouldKeepAlive = false;
      res.assignSocket(socket as Socket);
      res.once('finish', () => socket.end());
      socket.on('error', (err) => this.#log.debug('upgraded connection error', { err: err.message }));
      void this.#handle(req, res);
    });
    server.on('tlsClientError', (err) => this.#log.debug('TLS handshake failed', { err: err.message }));
    server.on('clientError', (err, socket) => {
      this.#log.debug('malformed HTTP request', { err: err.message });
      socket.destroy();
    });
    this.#server = server;
    server.listen(this.#options.port, this.#options.bindAddress);
    await once(server, 'listening');
    signal.addEventListener(
      'abort',
      () => {
        server.close();
        server.closeAllConnections();
      },
      { once: true },
    );
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    const abort = new AbortController();
    res.once('close', () => abort.abort());
    let user: UserInfo | undefined;
    try {
      const url = new URL(req.url ?? '/', 'https://kedge');
      const path = url.pathname;
      if (req.method === 'GET' && PUBLIC_PATHS.has(path)) return this.#health(path, res);
      user = this.#options.authenticator.authenticate(req);
      if (user === undefined) throw apiErrors.unauthorized();
      const query = new Query(url.searchParams);
      const info = parseRequestInfo(req.method ?? 'GET', path, url.searchParams);
      if (info.kind === 'nonResource') {
        this.#authorize(user, { verb: info.verb === 'head' ? 'get' : (info.verb as RequestAttributes['verb']), group: '', resource: '', path });
        return this.#nonResource(req, res, path, url.searchParams);
      }
      const attrs = resourceAttributes(info, query);
      if (info.verb === 'create' && info.name === undefined && user.groups.includes(NODES_GROUP)) {
        // The node authorizer needs the name of what a node creates (its Node, its Lease): read it from the body.
        attrs.name = nameInBody(await prereadBody(req));
      }
      this.#authorize(user, attrs);
      await this.#options.resources.handle({ req, res, info, query, user, signal: abort.signal });
    } catch (err) {
      sendError(res, err, this.#log);
    } finally {
      this.#log.debug('request', { method: req.method, url: req.url, status: res.statusCode, user: user?.name, ms: Math.round(performance.now() - started) });
    }
  }

  #authorize(user: UserInfo, attrs: RequestAttributes): void {
    const decision = this.#options.authorizer.authorize(user, attrs);
    if (decision.allowed) return;
    if (attrs.resource === '') throw apiErrors.forbidden(user.name, attrs.verb, { group: '', resource: attrs.path ?? '' }, undefined, decision.reason);
    throw apiErrors.forbidden(
      user.name,
      attrs.verb,
      { group: attrs.group, resource: attrs.subresource !== undefined ? `${attrs.resource}/${attrs.subresource}` : attrs.resource, ...(attrs.name !== undefined ? { name: attrs.name } : {}) },
      attrs.namespace,
      decision.reason,
    );
  }

  #health(path: string, res: ServerResponse): void {
    const ready = path !== '/readyz' || this.#options.ready();
    res.writeHead(ready ? 200 : 503, { 'Content-Type': 'text/plain; charset=utf-8' });
    res.end(ready ? 'ok' : 'not ready');
  }

  #nonResource(req: IncomingMessage, res: ServerResponse, path: string, params: URLSearchParams): void {
    if (req.method !== 'GET' && req.method !== 'HEAD') throw apiErrors.methodNotAllowed(req.method ?? '', { group: '', resource: path });
    const { discovery, openapi } = this.#options;
    if (path === '/version' || path === '/version/') return sendJson(res, 200, discovery.version());
    if (path === '/openapi/v2') {
      const accept = req.headers.accept ?? '';
      const etag = `"${openapi.v2ETag()}"`;
      if (req.headers['if-none-match'] === etag) {
        res.writeHead(304, { ETag: etag });
        res.end();
        return;
      }
      const protobuf = acceptsOpenApiV2Protobuf(accept);
      const body = protobuf ? openapi.v2Protobuf() : openapi.v2Json();
      res.writeHead(200, { 'Content-Type': protobuf ? OPENAPI_V2_PROTOBUF_CONTENT_TYPE : 'application/json', ETag: etag, 'Content-Length': body.length });
      res.end(body);
      return;
    }
    if (path === '/openapi/v3' || path === '/openapi/v3/') {
      const body = openapi.v3Index();
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': body.length });
      res.end(body);
      return;
    }
    if (path.startsWith('/openapi/v3/')) {
      const doc = openapi.v3GroupVersion(path.slice('/openapi/v3/'.length));
      if (doc === undefined) throw apiErrors.pathNotFound(path);
      // A request naming the current hash may be cached forever, as kube-apiserver allows.
      const immutable = params.get('hash') === doc.hash;
      res.writeHead(200, {
        'Content-Type': 'application/json',
        ETag: `"${doc.hash}"`,
        'Cache-Control': immutable ? 'public, immutable' : 'no-cache, private',
        'Content-Length': doc.body.length,
      });
      res.end(doc.body);
      return;
    }
    negotiate(req.headers.accept, ['APIGroupDiscoveryList']);
    const host = req.headers.host ?? `${this.#options.bindAddress}:${this.#options.port}`;
    const doc = discovery.document(path, host);
    if (doc === undefined) throw apiErrors.pathNotFound(path);
    sendJson(res, 200, doc);
  }
}

function nameInBody(body: Buffer): string | undefined {
  try {
    const parsed = JSON.parse(body.toString('utf8')) as { metadata?: { name?: unknown } };
    return typeof parsed.metadata?.name === 'string' ? parsed.metadata.name : undefined;
  } catch {
    return undefined;
  }
}

function resourceAttributes(info: ResourceRequestInfo, query: Query): { -readonly [K in keyof RequestAttributes]: RequestAttributes[K] } {
  const fieldSelector: Record<string, string> = {};
  const fs = query.string('fieldSelector');
  if (fs !== undefined && fs.trim() !== '') {
    for (const r of parseFieldSelector(fs).requirements()) if (r.operator === '=') fieldSelector[r.field] = r.value;
  }
  return {
    verb: info.verb,
    group: info.group,
    resource: info.resource,
    ...(info.subresource !== undefined ? { subresource: info.subresource } : {}),
    ...(info.namespace !== undefined ? { namespace: info.namespace } : {}),
    ...(info.name !== undefined ? { name: info.name } : {}),
    fieldSelector,
  };
}
