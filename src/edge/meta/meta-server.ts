import { once } from 'node:events';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeContinue, encodeContinue } from '../../api/continue-token.ts';
import { ApiError, apiErrors, isApiError } from '../../api/errors.ts';
import type { KubeObject } from '../../api/object.ts';
import { parseFieldSelector, validateFieldSelector, type FieldSelector } from '../../api/selectors/fields.ts';
import { parseLabelSelector, type LabelSelector } from '../../api/selectors/labels.ts';
import type * as TableModule from '../../api/table/index.ts';
import type { TableColumn } from '../../api/table/index.ts';
import type { Logger } from '../../log/logger.ts';
import type { Change, MetaManager, StoredObject } from './meta-manager.ts';
import { apiVersionOfResource, SERVED_RESOURCES, type ServedResource } from './resources.ts';
import { httpDate } from '../../api/time.ts';

// node:http through getBuiltinModule, not an ESM import: the ESM facade reads every export, and
// http's WebSocket getters load undici and http2, about 10 MB an edge node never uses.
const { createServer } = process.getBuiltinModule('node:http');

/** kubectl's printers, loaded on the first Table request: most edge nodes never get one. */
type Tables = typeof TableModule;
let tables: Promise<Tables> | undefined;
const loadTables = (): Promise<Tables> => (tables ??= import('../../api/table/index.ts'));
/** A request for a Table: its version (`v1`, `v1beta1`) and the printers, loaded. */
interface TableRequest {
  readonly version: string;
  readonly printers: Tables;
}

/** Options of {@link MetaServer}. */
export interface MetaServerOptions {
  readonly meta: MetaManager;
  /** @default '127.0.0.1': edge apps on this host only; there is no authentication. */
  readonly bindAddress?: string;
  /** @default 10550; 0 picks a free port. */
  readonly port?: number;
  /** The version `/version` reports. */
  readonly kedgeVersion: string;
  readonly log: Logger;
}

/** Events a slow watcher may have queued before its watch is ended; the client re-watches. */
const MAX_QUEUED_EVENTS = 10_000;
/** Kubernetes ends watches after a random 30–60 minutes so clients spread their re-watches. */
const MIN_WATCH_SECONDS = 1800;

interface ResourcePath {
  readonly resource: ServedResource;
  readonly namespace: string | undefined;
  readonly name: string | undefined;
}

type Selection = (o: StoredObject) => boolean;

/**
 * MetaServer: the objects MetaManager holds, served read-only in the Kubernetes API format on
 * loopback (KubeEdge's `127.0.0.1:10550`), so edge apps and `kubectl --server
 * http://127.0.0.1:10550` can get, list and watch what this node was given, from local storage,
 * whether or not the cloud is reachable. It never talks to the cloud.
 *
 * resourceVersions: objects are served with the local revision of the write that stored them
 * (see MetaManager), never the cloud's. A list's resourceVersion and every watch event then come
 * from one ordered history, so a client can list, watch from the list's version, and resume after
 * a disconnect without missing a change, which the cloud's versions could not guarantee once an
 * inventory diff delivered objects out of order. A resume point older than the kept history gets
 * 410 Expired and the client lists again.
 */
export class MetaServer {
  readonly #meta: MetaManager;
  readonly #log: Logger;
  readonly #bindAddress: string;
  readonly #requestedPort: number;
  readonly #version: string;
  #server: Server | undefined;

  constructor(options: MetaServerOptions) {
    this.#meta = options.meta;
    this.#log = options.log;
    this.#bindAddress = options.bindAddress ?? '127.0.0.1';
    this.#requestedPort = options.port ?? 10550;
    this.#version = options.kedgeVersion;
  }

  /** The port it listens on, once started. */
  get port(): number {
    return (this.#server?.address() as AddressInfo | null)?.port ?? 0;
  }

  /**
   * Listens; resolves once the port is bound. Aborting `signal` closes the listener and every open
   * request (watches included).
   * @throws the listen error (e.g. EADDRINUSE)
   */
  async start(signal: AbortSignal): Promise<void> {
    const server = createServer({ keepAliveTimeout: 30_000, requestTimeout: 0 }, (req, res) => this.#handle(req, res, signal));
    this.#server = server;
    server.listen(this.#requestedPort, this.#bindAddress);
    await Promise.race([once(server, 'listening'), once(server, 'error').then(([err]) => Promise.reject(err as Error))]);
    signal.addEventListener(
      'abort',
      () => {
        server.close();
        server.closeAllConnections();
      },
      { once: true },
    );
    this.#log.info('MetaServer listening', { address: this.#bindAddress, port: this.port });
  }

  #handle(req: IncomingMessage, res: ServerResponse, signal: AbortSignal): void {
    // Our own Date header: Node's would be formatted with Date.prototype.toUTCString (api/time.ts).
    res.setHeader('Date', httpDate(Date.now()));
    const url = new URL(req.url ?? '/', 'http://metaserver');
    this.#log.debug('request', { method: req.method, path: url.pathname });
    this.#route(req, res, url, signal).catch((err: unknown) => {
      const e = isApiError(err) ? err : apiErrors.internal(err instanceof Error ? err.message : String(err), { cause: err });
      if (!isApiError(err)) this.#log.error('request failed', { path: url.pathname, err: e.message });
      if (res.headersSent) res.end();
      else sendJson(res, e.httpStatus, statusOf(e));
    });
  }

  async #route(req: IncomingMessage, res: ServerResponse, url: URL, signal: AbortSignal): Promise<void> {
    const path = url.pathname.replace(/\/+$/, '') || '/';
    if (path === '/healthz' || path === '/livez' || path === '/readyz') {
      res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' }).end('ok');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      throw new ApiError('API_METHOD_NOT_ALLOWED', 405, 'MethodNotAllowed', `the edge MetaServer is read-only: ${req.method ?? ''} is not allowed`);
    }
    const discovery = this.#discovery(path);
    if (discovery !== undefined) {
      sendJson(res, 200, discovery);
      return;
    }
    const target = resolvePath(path);
    if (target === undefined) throw apiErrors.pathNotFound(path);
    const q = url.searchParams;
    const version = wantsTable(req.headers.accept);
    const table: TableRequest | undefined = version === undefined ? undefined : { version, printers: await loadTables() };
    if (target.name !== undefined && q.get('watch') !== 'true' && q.get('watch') !== '1') {
      const stored = this.#meta.get(target.resource.plural, target.namespace ?? '', target.name);
      if (stored === undefined) throw apiErrors.notFound({ group: target.resource.group, resource: target.resource.plural, name: target.name });
      sendJson(res, 200, table !== undefined ? tableOf(table, target.resource, [stored], {}, q) : served(stored));
      return;
    }
    const select = selection(target, q);
    if (q.get('watch') === 'true' || q.get('watch') === '1') {
      await this.#watch(res, target, select, q, table, signal);
      return;
    }
    const { items, listMeta } = this.#page(target, select, q);
    if (table !== undefined) {
      sendJson(res, 200, tableOf(table, target.resource, items, listMeta, q));
      return;
    }
    sendJson(res, 200, { kind: `${target.resource.kind}List`, apiVersion: apiVersionOfResource(target.resource), metadata: listMeta, items: items.map(served) });
  }

  /**
   * One page of a list: all of it without `limit`; with it, `limit` items and a continue token
   * that pins the revision of the first page and the last (namespace, name) served. MetaManager
   * keeps no snapshots, so a continuation is served from the current objects only while none of
   * this resource changed since the first page; otherwise it gets 410 Expired, as Kubernetes
   * answers a token it compacted, and client-go's pager lists again in full.
   */
  #page(target: ResourcePath, select: Selection, q: URLSearchParams): { items: StoredObject[]; listMeta: Record<string, unknown> } {
    const limit = parseLimit(q.get('limit'));
    const token = q.get('continue') ?? '';
    let revision = this.#meta.revision;
    let after: { namespace: string; name: string } | undefined;
    if (token !== '') {
      const decoded = decodeContinue(token, '');
      const since = this.#meta.changesSince(decoded.revision);
      if (since === undefined || decoded.revision > revision || since.some((c) => c.object.kind === target.resource.plural)) {
        throw apiErrors.gone('The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.');
      }
      revision = decoded.revision;
      const slash = decoded.startAfter.indexOf('/');
      after = { namespace: decoded.startAfter.slice(0, slash), name: decoded.startAfter.slice(slash + 1) };
    }
    let items = this.#meta.list(target.resource.plural, target.namespace).filter(select);
    if (after !== undefined) {
      const { namespace, name } = after;
      // list() is ordered by (namespace, name), the order a token's position is compared in.
      items = items.filter((o) => o.namespace > namespace || (o.namespace === namespace && o.name > name));
    }
    const listMeta: Record<string, unknown> = { resourceVersion: String(revision) };
    if (limit === undefined || items.length <= limit) return { items, listMeta };
    const rest = items.length - limit;
    items = items.slice(0, limit);
    const last = items[limit - 1]!;
    listMeta['continue'] = encodeContinue(revision, `${last.namespace}/${last.name}`, '');
    // Kubernetes counts the remainder only when no selector filtered the list.
    if ((q.get('labelSelector') ?? '') === '' && (q.get('fieldSelector') ?? '') === '') listMeta['remainingItemCount'] = rest;
    return { items, listMeta };
  }

  async #watch(res: ServerResponse, target: ResourcePath, select: Selection, q: URLSearchParams, table: TableRequest | undefined, signal: AbortSignal): Promise<void> {
    const rv = q.get('resourceVersion') ?? '';
    const inScope = (o: StoredObject): boolean => o.kind === target.resource.plural && (target.namespace === undefined || o.namespace === target.namespace) && select(o);
    // Subscribing and reading the starting point happen in one synchronous step, so no change can
    // fall between them (MetaManager publishes synchronously on commit).
    const queue: Change[] = [];
    let overflowed = false;
    let wake: (() => void) | undefined;
    const unsubscribe = this.#meta.subscribe((changes) => {
      for (const c of changes) if (c.object.kind === target.resource.plural) queue.push(c);
      if (queue.length > MAX_QUEUED_EVENTS) overflowed = true;
      wake?.();
    });
    let initial: Change[];
    if (rv === '' || rv === '0') {
      const revision = this.#meta.revision;
      initial = this.#meta.list(target.resource.plural, target.namespace).filter(select).map((o) => ({ type: 'ADDED', rev: revision, object: o }));
    } else {
      const from = Number(rv);
      const since = Number.isSafeInteger(from) && from >= 0 ? this.#meta.changesSince(from) : undefined;
      if (since === undefined) {
        unsubscribe();
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(`${JSON.stringify({ type: 'ERROR', object: statusOf(apiErrors.gone(`too old resource version: ${rv} (${this.#meta.revision})`)) })}\n`);
        return;
      }
      initial = [...since];
    }

    const timeoutSeconds = Number(q.get('timeoutSeconds') ?? NaN);
    const abort = new AbortController();
    const stop = (): void => abort.abort();
    const timer = setTimeout(stop, (Number.isFinite(timeoutSeconds) && timeoutSeconds > 0 ? timeoutSeconds : MIN_WATCH_SECONDS + Math.random() * MIN_WATCH_SECONDS) * 1000);
    signal.addEventListener('abort', stop, { once: true });
    res.once('close', stop);
    abort.signal.addEventListener('abort', () => wake?.(), { once: true });

    res.writeHead(200, { 'Content-Type': table !== undefined ? `application/json;as=Table;g=meta.k8s.io;v=${table.version}` : 'application/json', 'Cache-Control': 'no-cache, private', 'Transfer-Encoding': 'chunked' });
    res.flushHeaders();
    let columnsSent = false;
    const encode = (c: Change): string => {
      if (table === undefined) return `${JSON.stringify({ type: c.type, object: served(c.object, c.rev) })}\n`;
      const t = tableOf(table, target.resource, [{ ...c.object, rev: c.rev }], { resourceVersion: String(c.rev) }, q, !columnsSent);
      columnsSent = true;
      return `${JSON.stringify({ type: c.type, object: t })}\n`;
    };
    const write = async (chunk: string): Promise<void> => {
      if (chunk !== '' && !res.write(chunk) && !abort.signal.aborted) await once(res, 'drain', { signal: abort.signal }).catch(() => undefined);
    };
    try {
      await write(initial.filter((c) => inScope(c.object)).map(encode).join(''));
      if (q.get('sendInitialEvents') === 'true' && q.get('allowWatchBookmarks') === 'true') {
        const r = target.resource;
        await write(`${JSON.stringify({ type: 'BOOKMARK', object: { kind: r.kind, apiVersion: apiVersionOfResource(r), metadata: { resourceVersion: String(this.#meta.revision), annotations: { 'k8s.io/initial-events-end': 'true' } } } })}\n`);
      }
      while (!abort.signal.aborted) {
        if (overflowed) {
          this.#log.warn('watcher fell too far behind; ending its watch', { resource: target.resource.plural });
          break;
        }
        if (queue.length === 0) {
          await new Promise<void>((resolve) => (wake = resolve));
          wake = undefined;
          continue;
        }
        const batch = queue.splice(0);
        await write(batch.filter((c) => inScope(c.object)).map(encode).join(''));
      }
    } finally {
      clearTimeout(timer);
      unsubscribe();
      signal.removeEventListener('abort', stop);
      if (!res.writableEnded) res.end();
    }
  }

  #discovery(path: string): Record<string, unknown> | undefined {
    if (path === '/version') {
      const [major = '1', minor = '0'] = this.#version.split('.');
      return { major, minor, gitVersion: `v${this.#version}`, platform: `${process.platform}/${process.arch}`, goVersion: `node${process.versions.node}`, compiler: 'kedge' };
    }
    if (path === '/api') return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: `${this.#bindAddress}:${this.port}` }] };
    if (path === '/apis') return { kind: 'APIGroupList', apiVersion: 'v1', groups: groups().map(apiGroup) };
    if (path === '/api/v1') return resourceList('', 'v1');
    const m = /^\/apis\/([^/]+)(?:\/([^/]+))?$/.exec(path);
    if (m === null) return undefined;
    const group = groups().find((g) => g.name === m[1]);
    if (group === undefined) return undefined;
    if (m[2] === undefined) return { kind: 'APIGroup', apiVersion: 'v1', ...apiGroup(group) };
    return group.versions.includes(m[2]) ? resourceList(group.name, m[2]) : undefined;
  }
}

function groups(): { name: string; versions: string[] }[] {
  const out = new Map<string, string[]>();
  for (const r of SERVED_RESOURCES) {
    if (r.group === '') continue;
    const vs = out.get(r.group) ?? [];
    if (!vs.includes(r.version)) vs.push(r.version);
    out.set(r.group, vs);
  }
  return [...out].map(([name, versions]) => ({ name, versions }));
}

function apiGroup(g: { name: string; versions: string[] }): Record<string, unknown> {
  const versions = g.versions.map((v) => ({ groupVersion: `${g.name}/${v}`, version: v }));
  return { name: g.name, versions, preferredVersion: versions[0] };
}

function resourceList(group: string, version: string): Record<string, unknown> {
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: group === '' ? version : `${group}/${version}`,
    resources: SERVED_RESOURCES.filter((r) => r.group === group && r.version === version).map((r) => ({
      name: r.plural,
      singularName: r.singular,
      namespaced: r.namespaced,
      kind: r.kind,
      verbs: ['get', 'list', 'watch'],
      ...(r.shortNames.length > 0 ? { shortNames: r.shortNames } : {}),
    })),
  };
}

/** `/api/v1/[namespaces/<ns>/]<plural>[/<name>]` or `/apis/<group>/<version>/...`; undefined for anything else. */
function resolvePath(path: string): ResourcePath | undefined {
  const parts = path.split('/').slice(1).map(decodeURIComponent);
  let group: string;
  let version: string;
  let rest: string[];
  if (parts[0] === 'api') [group, version, rest] = ['', parts[1] ?? '', parts.slice(2)];
  else if (parts[0] === 'apis') [group, version, rest] = [parts[1] ?? '', parts[2] ?? '', parts.slice(3)];
  else return undefined;
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  if (rest.length < 1 || rest.length > 2) return undefined;
  const resource = SERVED_RESOURCES.find((r) => r.group === group && r.version === version && r.plural === rest[0]);
  if (resource === undefined) return undefined;
  if (!resource.namespaced && namespace !== undefined) return undefined;
  if (resource.namespaced && rest[1] !== undefined && namespace === undefined) return undefined;
  return { resource, namespace, name: rest[1] };
}

/** `limit`: a positive integer, or nothing (0 and an absent limit mean all). */
function parseLimit(value: string | null): number | undefined {
  if (value === null || value === '' || value === '0') return undefined;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) throw apiErrors.badRequest(`limit must be a non-negative integer, not ${JSON.stringify(value)}`);
  return n;
}

function selection(target: ResourcePath, q: URLSearchParams): Selection {
  const ls = q.get('labelSelector') ?? '';
  let fs = q.get('fieldSelector') ?? '';
  if (target.name !== undefined) fs = [fs, `metadata.name=${target.name}`].filter((s) => s !== '').join(',');
  const labels: LabelSelector | undefined = ls.trim() === '' ? undefined : parseLabelSelector(ls);
  const fields: FieldSelector | undefined = fs.trim() === '' ? undefined : parseFieldSelector(fs);
  const r = target.resource;
  if (fields !== undefined) {
    validateFieldSelector(fields, ['metadata.name', ...(r.namespaced ? ['metadata.namespace'] : []), ...Object.keys(r.fields({ metadata: {} }))]);
  }
  return (o) => {
    if (labels !== undefined && !labels.matches(o.object.metadata.labels ?? {})) return false;
    if (fields === undefined) return true;
    return fields.matches({ 'metadata.name': o.name, ...(r.namespaced ? { 'metadata.namespace': o.namespace } : {}), ...r.fields(o.object) });
  };
}

/** The object as served: the cloud's object with the local revision as its resourceVersion. */
function served(o: StoredObject, rev = o.rev): KubeObject {
  return { ...o.object, metadata: { ...o.object.metadata, resourceVersion: String(rev) } };
}

/** The Table version (`v1`, `v1beta1`) a kubectl-style Accept header asks for, if any. */
function wantsTable(accept: string | undefined): string | undefined {
  for (const part of (accept ?? '').split(',')) {
    const params = new Map(
      part
        .split(';')
        .slice(1)
        .map((p) => p.trim().split('=') as [string, string | undefined]),
    );
    const v = params.get('v');
    if (params.get('as') === 'Table' && params.get('g') === 'meta.k8s.io' && (v === 'v1' || v === 'v1beta1')) return v;
    if (part.trim().startsWith('application/json') && !params.has('as')) return undefined;
  }
  return undefined;
}

function tableOf({ version, printers }: TableRequest, r: ServedResource, items: readonly StoredObject[], listMeta: Record<string, unknown>, q: URLSearchParams, withColumns = true): Record<string, unknown> {
  const { defaultTableColumns, printerColumnsTable, tableColumnsFor, tableRowCells } = printers;
  const now = new Date();
  const include = q.get('includeObject') ?? 'Metadata';
  const gvk = { group: r.group, version: r.version, kind: r.kind };
  let columns: TableColumn[] = [];
  const rows = items.map((o) => {
    const obj = served(o);
    let cells: unknown[];
    if (r.printerColumns !== undefined) {
      const t = printerColumnsTable(r.printerColumns, obj, now);
      columns = t.columns;
      cells = t.cells;
    } else {
      cells = tableRowCells(gvk, obj, now);
    }
    const object = include === 'None' ? undefined : include === 'Object' ? obj : { kind: 'PartialObjectMetadata', apiVersion: `meta.k8s.io/${version}`, metadata: obj.metadata };
    return { cells, ...(object !== undefined ? { object } : {}) };
  });
  if (r.printerColumns === undefined) columns = tableColumnsFor(gvk) ?? defaultTableColumns();
  else if (items.length === 0) columns = printerColumnsTable(r.printerColumns, { metadata: {} }, now).columns;
  return { kind: 'Table', apiVersion: `meta.k8s.io/${version}`, metadata: listMeta, columnDefinitions: withColumns ? columns : [], rows };
}

function statusOf(e: ApiError): Record<string, unknown> {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: e.message, reason: e.reason, ...(e.details !== undefined ? { details: e.details } : {}), code: e.httpStatus };
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(res.req.method === 'HEAD' ? undefined : text);
}
