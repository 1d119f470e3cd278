import https from 'node:https';
import type { IncomingHttpHeaders } from 'node:http';
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';

/** A client credential for the API: the admin's from the kubeconfig, a node's, or none at all. */
export interface ClientIdentity {
  readonly certPem?: string;
  readonly keyPem?: string;
}

/** Where the API is and how to trust it. */
export interface ApiEndpoint {
  /** `https://127.0.0.1:<port>` */
  readonly server: string;
  readonly caPem: string;
}

/** The admin credential and endpoint read from a kubeconfig kedge wrote. */
export interface KubeconfigCredentials extends ApiEndpoint {
  readonly admin: ClientIdentity;
}

interface KubeconfigDoc {
  'current-context'?: string;
  contexts?: { name: string; context: { cluster: string; user: string } }[];
  clusters?: { name: string; cluster: { server: string; 'certificate-authority-data'?: string; 'certificate-authority'?: string } }[];
  users?: { name: string; user: { 'client-certificate-data'?: string; 'client-key-data'?: string; 'client-certificate'?: string; 'client-key'?: string } }[];
}

async function dataOrFile(data: string | undefined, file: string | undefined, what: string): Promise<string> {
  if (data !== undefined) return Buffer.from(data, 'base64').toString('utf8');
  if (file !== undefined) return readFile(file, 'utf8');
  throw new Error(`kubeconfig has no ${what}`);
}

/** Reads the current context of a kubeconfig: server URL, CA and client certificate. */
export async function readKubeconfig(path: string): Promise<KubeconfigCredentials> {
  const doc = parseYaml(await readFile(path, 'utf8')) as KubeconfigDoc;
  const contextName = doc['current-context'];
  if (contextName === undefined || contextName === '') throw new Error(`${path} has no current-context`);
  const context = doc.contexts?.find((c) => c.name === contextName)?.context;
  if (context === undefined) throw new Error(`${path} has no context ${contextName}`);
  const cluster = doc.clusters?.find((c) => c.name === context.cluster)?.cluster;
  const user = doc.users?.find((u) => u.name === context.user)?.user;
  if (cluster === undefined || user === undefined) throw new Error(`${path}: context ${contextName} names a missing cluster or user`);
  return {
    server: cluster.server,
    caPem: await dataOrFile(cluster['certificate-authority-data'], cluster['certificate-authority'], 'certificate authority'),
    admin: {
      certPem: await dataOrFile(user['client-certificate-data'], user['client-certificate'], 'client certificate'),
      keyPem: await dataOrFile(user['client-key-data'], user['client-key'], 'client key'),
    },
  };
}

/** One raw API request. */
export interface ApiRequest {
  method?: string;
  /** Path and query, e.g. `/api/v1/namespaces/default/pods?limit=5`. */
  path: string;
  /** An object is sent as JSON; a string or Buffer as is. */
  body?: unknown;
  headers?: Record<string, string>;
  /** Who asks; `{}` sends no credentials. */
  identity: ClientIdentity;
  /** @default 15_000 */
  timeoutMs?: number;
}

/** A complete raw API response. */
export interface ApiResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  /** The body parsed as JSON (throws when it is not). */
  json<T = Record<string, unknown>>(): T;
}

function agentOptions(endpoint: ApiEndpoint, identity: ClientIdentity): https.RequestOptions {
  const url = new URL(endpoint.server);
  return {
    host: url.hostname,
    port: Number(url.port),
    ca: endpoint.caPem,
    ...(identity.certPem !== undefined ? { cert: identity.certPem } : {}),
    ...(identity.keyPem !== undefined ? { key: identity.keyPem } : {}),
    // One connection per request: a test switching identities must never reuse another's TLS session.
    agent: false,
  };
}

function encodeBody(body: unknown, headers: Record<string, string>): Buffer | undefined {
  if (body === undefined) return undefined;
  if (Buffer.isBuffer(body)) return body;
  if (typeof body === 'string') return Buffer.from(body);
  headers['content-type'] ??= 'application/json';
  return Buffer.from(JSON.stringify(body));
}

/**
 * Sends one HTTPS request to the API and reads the whole answer. Never throws on an HTTP error
 * status: the status is what the tests assert on.
 */
export function apiRequest(endpoint: ApiEndpoint, r: ApiRequest): Promise<ApiResponse> {
  const headers: Record<string, string> = { accept: 'application/json', ...r.headers };
  const body = encodeBody(r.body, headers);
  if (body !== undefined) headers['content-length'] = String(body.length);
  return new Promise((resolve, reject) => {
    let responded = false;
    const req = https.request({ ...agentOptions(endpoint, r.identity), method: r.method ?? 'GET', path: r.path, headers, timeout: r.timeoutMs ?? 15_000 }, (res) => {
      responded = true;
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: text,
          json<T>(): T {
            return JSON.parse(text) as T;
          },
        });
      });
    });
    req.on('timeout', () => req.destroy(new Error(`${r.method ?? 'GET'} ${r.path} timed out`)));
    req.on('error', (err: NodeJS.ErrnoException) => {
      // A server refusing an oversized body may close before reading it all; its answer still counts.
      if (err.code === 'EPIPE' || err.code === 'ECONNRESET') return;
      reject(err);
    });
    req.on('close', () => {
      if (!responded) reject(new Error(`${r.method ?? 'GET'} ${r.path}: connection closed before a response`));
    });
    req.end(body);
  });
}

/** One event of a raw watch stream. */
export interface WatchEvent {
  type: string;
  object: { kind?: string; metadata?: { name?: string; resourceVersion?: string }; code?: number; reason?: string; [k: string]: unknown };
}

/** An open raw watch: the status line, the events received so far, and a way to wait for more. */
export interface RawWatch {
  readonly status: number;
  readonly events: readonly WatchEvent[];
  /** Resolves once `predicate` holds for the events received so far; rejects after `timeoutMs` or if the stream ends first. */
  until(predicate: (events: readonly WatchEvent[]) => boolean, timeoutMs?: number): Promise<readonly WatchEvent[]>;
  close(): void;
}

/** Opens a watch (`path` must carry `watch=1`) and collects its newline-delimited JSON events. */
export function openWatch(endpoint: ApiEndpoint, identity: ClientIdentity, path: string): Promise<RawWatch> {
  return new Promise((resolve, reject) => {
    const events: WatchEvent[] = [];
    const waiters = new Set<() => void>();
    let ended = false;
    const notify = (): void => {
      for (const w of [...waiters]) w();
    };
    const req = https.request({ ...agentOptions(endpoint, identity), method: 'GET', path, headers: { accept: 'application/json' } }, (res) => {
      let buffered = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffered += chunk;
        let nl: number;
        while ((nl = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, nl).trim();
          buffered = buffered.slice(nl + 1);
          if (line !== '') events.push(JSON.parse(line) as WatchEvent);
        }
        notify();
      });
      const finish = (): void => {
        ended = true;
        const rest = buffered.trim();
        // A non-200 answer is one Status object, not a line-delimited stream.
        if (rest !== '') {
          try {
            const parsed = JSON.parse(rest) as WatchEvent | WatchEvent['object'];
            events.push('type' in parsed && 'object' in parsed ? (parsed as WatchEvent) : { type: 'RESPONSE', object: parsed });
          } catch {
            /* a truncated line from a closed stream */
          }
        }
        notify();
      };
      res.on('end', finish);
      res.on('close', finish);
      res.on('error', finish);
      resolve({
        status: res.statusCode ?? 0,
        events,
        until(predicate, timeoutMs = 10_000) {
          return new Promise((ok, fail) => {
            const check = (): void => {
              if (predicate(events)) {
                cleanup();
                ok(events);
              } else if (ended) {
                cleanup();
                fail(new Error(`watch ${path} ended; events: ${JSON.stringify(events.map((e) => [e.type, e.object.metadata?.name ?? e.object.reason]))}`));
              }
            };
            const timer = setTimeout(() => {
              cleanup();
              fail(new Error(`watch ${path}: timed out after ${timeoutMs} ms; events: ${JSON.stringify(events.map((e) => [e.type, e.object.metadata?.name ?? e.object.reason]))}`));
            }, timeoutMs);
            const cleanup = (): void => {
              clearTimeout(timer);
              waiters.delete(check);
            };
            waiters.add(check);
            check();
          });
        },
        close() {
          req.destroy();
        },
      });
    });
    req.on('error', (err) => {
      if (!ended) reject(err);
    });
    req.end();
  });
}

/**
 * `GET /readyz` without credentials and without verifying the serving certificate: the probe runs
 * before the kubeconfig (which names the CA to trust) exists.
 */
export function probeReadyz(port: number, timeoutMs = 2_000): Promise<{ status: number; body: string }> {
  return new Promise((ok, fail) => {
    const req = https.request({ host: '127.0.0.1', port, path: '/readyz', method: 'GET', rejectUnauthorized: false, agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => ok({ status: res.statusCode ?? 0, body }));
      res.on('error', fail);
    });
    req.on('timeout', () => req.destroy(new Error('/readyz timed out')));
    req.on('error', fail);
    req.end();
  });
}
