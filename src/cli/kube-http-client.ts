import https from 'node:https';
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { ApiError, type StatusReason } from '../api/errors.ts';
import { isJsonObject, type KubeObject } from '../api/object.ts';
import type { ErrorCode } from '../errors/codes.ts';
import { PlatformError } from '../errors/platform-error.ts';
import type { DeleteOptions, ListResult, PatchType, ResourceClient, Selection } from '../cloud/client/client.ts';

/** Where and as whom to reach the API server: the current context of a kubeconfig. */
export interface KubeconfigTarget {
  /** E.g. `https://127.0.0.1:6443`. */
  readonly server: string;
  /** PEM of the CA that signed the server's certificate. */
  readonly caPem: string;
  readonly credentials: { readonly certPem: string; readonly keyPem: string } | { readonly token: string };
}

/**
 * Reads the current context of a kubeconfig: its server, CA and credentials (client certificate
 * and key, or a bearer token), embedded as `*-data` or referenced as files.
 * @throws PlatformError `CONFIG_INVALID` naming what is missing.
 */
export async function readKubeconfig(path: string): Promise<KubeconfigTarget> {
  let doc: unknown;
  try {
    doc = parseYaml(await readFile(path, 'utf8'));
  } catch (err) {
    throw new PlatformError('CONFIG_INVALID', `cannot read kubeconfig ${path}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  const bad = (what: string): never => {
    throw new PlatformError('CONFIG_INVALID', `kubeconfig ${path}: ${what}`);
  };
  if (!isJsonObject(doc)) return bad('not a YAML mapping');
  const named = (list: unknown, name: unknown, what: string): Record<string, unknown> => {
    const entry = Array.isArray(list) ? (list as unknown[]).find((e) => isJsonObject(e) && e['name'] === name) : undefined;
    const inner = isJsonObject(entry) ? entry[what] : undefined;
    return isJsonObject(inner) ? inner : bad(`no ${what} named ${JSON.stringify(name)}`);
  };
  const context = named(doc['contexts'], doc['current-context'], 'context');
  const cluster = named(doc['clusters'], context['cluster'], 'cluster');
  const user = named(doc['users'], context['user'], 'user');
  const server = typeof cluster['server'] === 'string' ? cluster['server'] : bad('the cluster has no server');
  const material = async (dataKey: string, fileKey: string, from: Record<string, unknown>): Promise<string | undefined> => {
    const data = from[dataKey];
    if (typeof data === 'string') return Buffer.from(data, 'base64').toString('utf8');
    const file = from[fileKey];
    return typeof file === 'string' ? await readFile(file, 'utf8') : undefined;
  };
  const caPem = (await material('certificate-authority-data', 'certificate-authority', cluster)) ?? bad('the cluster has no certificate-authority(-data)');
  const token = user['token'];
  if (typeof token === 'string') return { server, caPem, credentials: { token } };
  const certPem = await material('client-certificate-data', 'client-certificate', user);
  const keyPem = await material('client-key-data', 'client-key', user);
  if (certPem === undefined || keyPem === undefined) return bad('the user has neither a token nor a client certificate and key');
  return { server, caPem, credentials: { certPem, keyPem } };
}

const CODE_BY_REASON: Readonly<Partial<Record<StatusReason, ErrorCode>>> = {
  BadRequest: 'API_BAD_REQUEST',
  Unauthorized: 'API_UNAUTHORIZED',
  Forbidden: 'API_FORBIDDEN',
  NotFound: 'API_NOT_FOUND',
  AlreadyExists: 'API_ALREADY_EXISTS',
  Conflict: 'API_CONFLICT',
  Gone: 'API_GONE',
  Expired: 'API_GONE',
  Invalid: 'API_INVALID',
  MethodNotAllowed: 'API_METHOD_NOT_ALLOWED',
  NotAcceptable: 'API_NOT_ACCEPTABLE',
  UnsupportedMediaType: 'API_UNSUPPORTED_MEDIA_TYPE',
  RequestEntityTooLarge: 'API_REQUEST_ENTITY_TOO_LARGE',
  TooManyRequests: 'API_TOO_MANY_REQUESTS',
  Timeout: 'API_TIMEOUT',
  InternalError: 'API_INTERNAL',
  ServiceUnavailable: 'API_SERVICE_UNAVAILABLE',
};

const PATCH_TYPES: Readonly<Record<PatchType, string>> = {
  json: 'application/json-patch+json',
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  apply: 'application/apply-patch+yaml',
};

/** The operations {@link KubeHttpClient} serves: everything of ResourceClient but watch. */
export type HttpResourceClient<T extends KubeObject> = Pick<ResourceClient<T>, 'get' | 'list' | 'create' | 'update' | 'updateStatus' | 'patch' | 'delete'>;

/**
 * A small Kubernetes API client over HTTPS for CLI commands: typed access to one resource at a
 * time with the same errors as the in-process client (an {@link ApiError} whose code follows the
 * Status reason), so code written against `ResourceClient` runs in the cloud and in the CLI alike.
 */
export class KubeHttpClient {
  readonly #target: KubeconfigTarget;
  readonly #agent: https.Agent;
  readonly #timeoutMs: number;

  constructor(target: KubeconfigTarget, options: { timeoutMs?: number } = {}) {
    this.#target = target;
    const c = target.credentials;
    this.#agent = new https.Agent({ keepAlive: true, ca: target.caPem, ...('certPem' in c ? { cert: c.certPem, key: c.keyPem } : {}) });
    this.#timeoutMs = options.timeoutMs ?? 30_000;
  }

  /** Reads `path` and connects with its current context. */
  static async fromKubeconfig(path: string): Promise<KubeHttpClient> {
    return new KubeHttpClient(await readKubeconfig(path));
  }

  /** Releases idle connections, so a CLI process can exit. */
  close(): void {
    this.#agent.destroy();
  }

  resource<T extends KubeObject = KubeObject>(group: string, version: string, plural: string): HttpResourceClient<T> {
    const base = group === '' ? `/api/${version}` : `/apis/${group}/${version}`;
    const path = (namespace: string | undefined, name?: string, subresource?: string): string =>
      `${base}${namespace !== undefined && namespace !== '' ? `/namespaces/${encodeURIComponent(namespace)}` : ''}/${plural}${name !== undefined ? `/${encodeURIComponent(name)}` : ''}${subresource !== undefined ? `/${subresource}` : ''}`;
    return {
      get: async (namespace, name) => {
        try {
          return (await this.#request('GET', path(namespace, name))) as T;
        } catch (err) {
          if (err instanceof ApiError && err.code === 'API_NOT_FOUND') return undefined;
          throw err;
        }
      },
      list: async (namespace?: string, selection?: Selection): Promise<ListResult<T>> => {
        const q = new URLSearchParams();
        if (selection?.labelSelector !== undefined) q.set('labelSelector', selection.labelSelector);
        if (selection?.fieldSelector !== undefined) q.set('fieldSelector', selection.fieldSelector);
        const query = q.size > 0 ? `?${q.toString()}` : '';
        const list = (await this.#request('GET', `${path(namespace)}${query}`)) as { items?: T[]; metadata?: { resourceVersion?: string } };
        return { items: list.items ?? [], resourceVersion: list.metadata?.resourceVersion ?? '' };
      },
      create: async (namespace, obj) => (await this.#request('POST', path(namespace), obj)) as T,
      update: async (obj) => (await this.#request('PUT', path(obj.metadata.namespace, obj.metadata.name ?? ''), obj)) as T,
      updateStatus: async (obj) => (await this.#request('PUT', path(obj.metadata.namespace, obj.metadata.name ?? '', 'status'), obj)) as T,
      patch: async (namespace, name, type, patch, options) => {
        const q = new URLSearchParams();
        if (options?.fieldManager !== undefined) q.set('fieldManager', options.fieldManager);
        if (options?.force === true) q.set('force', 'true');
        const query = q.size > 0 ? `?${q.toString()}` : '';
        return (await this.#request('PATCH', `${path(namespace, name, options?.subresource)}${query}`, patch, PATCH_TYPES[type])) as T;
      },
      delete: async (namespace, name, options?: DeleteOptions) => {
        const body = { apiVersion: 'v1', kind: 'DeleteOptions', ...options };
        const answer = (await this.#request('DELETE', path(namespace, name), body)) as T;
        // A Status means it is gone; the object itself means it lingers (finalizers, grace period).
        const deleted = answer.kind === 'Status' || answer.metadata.deletionTimestamp === undefined;
        return { object: answer, deleted };
      },
    };
  }

  /**
   * One request; resolves with the decoded JSON answer.
   * @throws ApiError for a Status answer (the code from its reason); `API_SERVICE_UNAVAILABLE` when the server cannot be reached.
   */
  #request(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<unknown> {
    const url = new URL(path, this.#target.server);
    const c = this.#target.credentials;
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = https.request(
        url,
        {
          method,
          agent: this.#agent,
          timeout: this.#timeoutMs,
          headers: {
            Accept: 'application/json',
            ...(payload !== undefined ? { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(payload) } : {}),
            ...('token' in c ? { Authorization: `Bearer ${c.token}` } : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('error', reject);
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let decoded: unknown;
            try {
              decoded = text === '' ? {} : JSON.parse(text);
            } catch (err) {
              reject(new ApiError('API_INTERNAL', res.statusCode ?? 500, 'InternalError', `${method} ${url.pathname}: the server answered ${res.statusCode ?? '?'} with a body that is not JSON`, undefined, { cause: err }));
              return;
            }
            const status = res.statusCode ?? 500;
            if (status >= 200 && status < 300) resolve(decoded);
            else reject(statusError(status, decoded, `${method} ${url.pathname}`));
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error(`no answer within ${this.#timeoutMs} ms`)));
      req.on('error', (err) => reject(new ApiError('API_SERVICE_UNAVAILABLE', 503, 'ServiceUnavailable', `cannot reach the API server at ${this.#target.server}: ${err.message}`, undefined, { cause: err })));
      req.end(payload);
    });
  }
}

/** The ApiError a Status answer stands for. */
function statusError(httpStatus: number, body: unknown, what: string): ApiError {
  const s = isJsonObject(body) ? body : {};
  const reason = (typeof s['reason'] === 'string' ? s['reason'] : 'InternalError') as StatusReason;
  const message = typeof s['message'] === 'string' ? s['message'] : `${what}: HTTP ${httpStatus}`;
  const code = CODE_BY_REASON[reason] ?? (httpStatus === 404 ? 'API_NOT_FOUND' : httpStatus === 403 ? 'API_FORBIDDEN' : httpStatus === 401 ? 'API_UNAUTHORIZED' : 'API_INTERNAL');
  return new ApiError(code, httpStatus, reason, message, isJsonObject(s['details']) ? s['details'] : undefined);
}
