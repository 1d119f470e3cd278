import type { IncomingMessage, ServerResponse } from 'node:http';
import { apiErrors, ApiError } from '../../../api/errors.ts';
import { isJsonObject, type KubeObject } from '../../../api/object.ts';
import type { Logger } from '../../../log/logger.ts';
import type { ResourceRegistry } from '../resources/registry.ts';
import type { RestStorage, WriteOptions, ListOptions } from '../storage/rest-storage.ts';
import { bodyFormat, negotiate, objectBodyFormat, type Representation } from './negotiation.ts';
import { decodeKubernetesProtobuf } from '../../../api/protobuf/index.ts';
import { decodeBody, readBody, sendJson, sendObject } from './io.ts';
import type { Query} from './query.ts';
import { deleteOptions } from './query.ts';
import type { ResourceRequestInfo } from './request-info.ts';
import { selectionFilter } from './selection.ts';
import { applyPatch } from './patching.ts';
import { listAsTable, objectAsTable, type TableOptions } from './tables.ts';
import { serveWatch } from './watch.ts';
import { scaleOf, applyScale } from './scale.ts';
import type { UserInfo } from '../auth/types.ts';

const LIST_TRANSFORMS = ['Table', 'PartialObjectMetadataList'] as const;
const OBJECT_TRANSFORMS = ['Table', 'PartialObjectMetadata'] as const;

/** One resource request after authentication and authorization. */
export interface ResourceRequest {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly info: ResourceRequestInfo;
  readonly query: Query;
  readonly user: UserInfo;
  readonly signal: AbortSignal;
}

/**
 * Serves the REST verbs of every registered resource: get, list, watch, create, update, patch,
 * delete, deletecollection, and the status and scale subresources, in Kubernetes' wire format.
 */
export class ResourceHandler {
  readonly #registry: ResourceRegistry;
  readonly #log: Logger;
  readonly #extraSubresources: ReadonlyMap<string, (r: ResourceRequest, storage: RestStorage) => Promise<void>>;

  constructor(options: { registry: ResourceRegistry; log: Logger; subresources?: ReadonlyMap<string, (r: ResourceRequest, storage: RestStorage) => Promise<void>> }) {
    this.#registry = options.registry;
    this.#log = options.log;
    this.#extraSubresources = options.subresources ?? new Map();
  }

  /** The storage a request addresses. @throws ApiError 404 */
  storageFor(info: ResourceRequestInfo): RestStorage {
    const storage = this.#registry.lookup(info.group, info.version, info.resource);
    if (storage === undefined) throw apiErrors.pathNotFound(`${info.verb} ${info.resource}`);
    if (storage.rt.namespaced === false && info.namespace !== undefined) throw apiErrors.pathNotFound(info.path);
    return storage;
  }

  async handle(r: ResourceRequest): Promise<void> {
    const { info } = r;
    const storage = this.storageFor(info);
    const rt = storage.rt;
    if (info.subresource !== undefined) {
      const extra = this.#extraSubresources.get(`${rt.plural}/${info.subresource}`);
      if (extra !== undefined) return extra(r, storage);
      if (info.subresource === 'status' && rt.statusSubresource) return this.#status(r, storage);
      if (info.subresource === 'scale' && rt.scale !== undefined) return this.#scale(r, storage);
      throw apiErrors.pathNotFound(info.path);
    }
    if (!rt.verbs.includes(info.verb)) throw apiErrors.methodNotAllowed(info.verb, { group: rt.group, resource: rt.plural });
    switch (info.verb) {
      case 'get':
        return this.#get(r, storage);
      case 'list':
        return this.#list(r, storage);
      case 'watch':
        return serveWatch(r, storage, this.#log);
      case 'create':
        return this.#create(r, storage);
      case 'update':
        return this.#update(r, storage, undefined);
      case 'patch':
        return this.#patch(r, storage, undefined);
      case 'delete':
        return this.#delete(r, storage);
      case 'deletecollection':
        return this.#deleteCollection(r, storage);
    }
  }

  async #get(r: ResourceRequest, storage: RestStorage): Promise<void> {
    const rep = negotiate(r.req.headers.accept, OBJECT_TRANSFORMS);
    const obj = await storage.get(r.info.namespace, r.info.name ?? '', r.query.string('resourceVersion'));
    sendShaped(r.res, 200, obj, storage, rep, tableOptions(r.query));
  }

  async #list(r: ResourceRequest, storage: RestStorage): Promise<void> {
    const rep = negotiate(r.req.headers.accept, LIST_TRANSFORMS);
    const page = await storage.list(r.info.namespace, listOptions(r.query, storage));
    const meta: Record<string, unknown> = { resourceVersion: String(page.revision) };
    if (page.continueToken !== undefined) meta['continue'] = page.continueToken;
    if (page.remainingItemCount !== undefined) meta['remainingItemCount'] = page.remainingItemCount;
    if (rep.as === 'Table') {
      sendObject(r.res, 200, listAsTable(storage, page.items.map((o) => storage.served(o)), meta, tableOptions(r.query)), rep);
      return;
    }
    if (rep.as === 'PartialObjectMetadataList') {
      const items = page.items.map((o) => partialMetadata(storage.served(o)));
      sendObject(r.res, 200, { kind: 'PartialObjectMetadataList', apiVersion: `meta.k8s.io/${rep.asVersion ?? 'v1'}`, metadata: meta, items }, rep);
      return;
    }
    // Items are already JSON in the cache: the list is assembled without re-encoding them.
    const rt = storage.rt;
    const apiVersion = rt.group === '' ? rt.version : `${rt.group}/${rt.version}`;
    const head = `{"kind":${JSON.stringify(rt.listKind)},"apiVersion":${JSON.stringify(apiVersion)},"metadata":${JSON.stringify(meta)},"items":[`;
    const body = head + page.items.map((o) => storage.servedJson(o)).join(',') + ']}';
    sendJson(r.res, 200, body, rep);
  }

  async #create(r: ResourceRequest, storage: RestStorage): Promise<void> {
    const rep = negotiate(r.req.headers.accept, OBJECT_TRANSFORMS);
    const body = await readObject(r);
    const result = await storage.create(r.info.namespace, body, writeOptions(r));
    sendShaped(r.res, 201, result.object, storage, rep, tableOptions(r.query), result.warnings);
  }

  async #update(r: ResourceRequest, storage: RestStorage, subresource: 'status' | undefined): Promise<void> {
    const rep = negotiate(r.req.headers.accept, OBJECT_TRANSFORMS);
    const body = await readObject(r);
    const result = await storage.update(r.info.namespace, r.info.name ?? '', body, writeOptions(r), subresource);
    sendShaped(r.res, result.created ? 201 : 200, result.object, storage, rep, tableOptions(r.query), result.warnings);
  }

  async #patch(r: ResourceRequest, storage: RestStorage, subresource: 'status' | undefined): Promise<void> {
    const rep = negotiate(r.req.headers.accept, OBJECT_TRANSFORMS);
    const format = bodyFormat(r.req.headers['content-type']);
    const raw = await readBody(r.req);
    const opts = writeOptions(r);
    const name = r.info.name ?? '';
    const manager = r.query.fieldManager(r.req.headers['user-agent']);
    const force = r.query.bool('force');
    if (format === 'apply-patch' && r.query.string('fieldManager') === undefined) {
      throw apiErrors.badRequest('fieldManager is required for apply requests');
    }
    const result = await storage.mutate(
      r.info.namespace,
      name,
      opts,
      subresource,
      (current) => {
        if (current === undefined && format !== 'apply-patch') throw apiErrors.notFound({ group: storage.rt.group, resource: storage.rt.plural, name });
        const patched = applyPatch({ storage, format, body: raw, current, manager, force, subresource, name, namespace: r.info.namespace });
        const pinned = patched.metadata.resourceVersion;
        if (current !== undefined && pinned !== undefined && pinned !== '' && pinned !== current.metadata.resourceVersion) {
          throw apiErrors.conflict({ group: storage.rt.group, resource: storage.rt.plural, name }, 'the object has been modified; please apply your changes to the latest version and try again');
        }
        // The patched object must pass the same schema checks as a full body.
        storage.policy.checkSchema(patched, opts.fieldValidation);
        return patched;
      },
      format === 'apply-patch',
    );
    sendShaped(r.res, result.created ? 201 : 200, result.object, storage, rep, tableOptions(r.query));
  }

  async #delete(r: ResourceRequest, storage: RestStorage): Promise<void> {
    const rep = negotiate(r.req.headers.accept, OBJECT_TRANSFORMS);
    const raw = await readBody(r.req);
    const body = raw.length === 0 ? undefined : decodeBody(raw, 'json');
    const opts = deleteOptions(body, r.query, r.user.name);
    const result = await storage.delete(r.info.namespace, r.info.name ?? '', opts);
    if (!result.deleted) {
      // Still there (finalizers, grace period): Kubernetes answers with the object, 202 if it waits on a grace period.
      sendShaped(r.res, (result.object.metadata.deletionGracePeriodSeconds ?? 0) > 0 ? 202 : 200, result.object, storage, rep, tableOptions(r.query));
      return;
    }
    const m = result.object.metadata;
    sendObject(
      r.res,
      200,
      { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details: { name: m.name, group: storage.rt.group, kind: storage.rt.plural, uid: m.uid } },
      rep,
    );
  }

  async #deleteCollection(r: ResourceRequest, storage: RestStorage): Promise<void> {
    const rep = negotiate(r.req.headers.accept, []);
    const raw = await readBody(r.req);
    const body = raw.length === 0 ? undefined : decodeBody(raw, 'json');
    const opts = deleteOptions(body, r.query, r.user.name);
    const items = await storage.deleteCollection(r.info.namespace, listOptions(r.query, storage), opts);
    const rt = storage.rt;
    sendObject(r.res, 200, { kind: rt.listKind, apiVersion: rt.group === '' ? rt.version : `${rt.group}/${rt.version}`, metadata: {}, items }, rep);
  }

  async #status(r: ResourceRequest, storage: RestStorage): Promise<void> {
    switch (r.info.verb) {
      case 'get':
        return this.#get(r, storage);
      case 'update':
        return this.#update(r, storage, 'status');
      case 'patch':
        return this.#patch(r, storage, 'status');
      default:
        throw apiErrors.methodNotAllowed(r.info.verb, { group: storage.rt.group, resource: `${storage.rt.plural}/status` });
    }
  }

  async #scale(r: ResourceRequest, storage: RestStorage): Promise<void> {
    const rt = storage.rt;
    const spec = rt.scale!;
    const name = r.info.name ?? '';
    const rep = negotiate(r.req.headers.accept, []);
    if (r.info.verb === 'get') {
      const obj = await storage.get(r.info.namespace, name);
      sendObject(r.res, 200, scaleOf(obj, spec), rep);
      return;
    }
    if (r.info.verb !== 'update' && r.info.verb !== 'patch') throw apiErrors.methodNotAllowed(r.info.verb, { group: rt.group, resource: `${rt.plural}/scale` });
    const format = r.info.verb === 'update' ? objectBodyFormat(r.req.headers['content-type']) : bodyFormat(r.req.headers['content-type']);
    const raw = await readBody(r.req);
    const result = await storage.mutate(r.info.namespace, name, writeOptions(r), undefined, (current) => {
      if (current === undefined) throw apiErrors.notFound({ group: rt.group, resource: rt.plural, name });
      const scale = scaleOf(current, spec);
      const next =
        format === 'protobuf'
          ? (decodeKubernetesProtobuf(raw).object as unknown as KubeObject)
          : format === 'json' || format === 'yaml'
          ? (decodeBody(raw, format) as KubeObject)
          : applyPatch({ storage: undefined, format, body: raw, current: scale, manager: 'scale', force: true, subresource: undefined, name, namespace: r.info.namespace });
      return applyScale(current, next, spec, scale);
    });
    sendObject(r.res, 200, scaleOf(result.object, spec), rep);
  }
}

async function readObject(r: ResourceRequest): Promise<KubeObject> {
  const format = objectBodyFormat(r.req.headers['content-type']);
  const raw = await readBody(r.req);
  const value = format === 'protobuf' ? decodeKubernetesProtobuf(raw).object : decodeBody(raw, format);
  if (!isJsonObject(value)) throw apiErrors.badRequest('the request body must be a JSON object');
  if (value['metadata'] === undefined) value['metadata'] = {};
  if (!isJsonObject(value['metadata'])) throw apiErrors.badRequest('metadata must be an object');
  return value as unknown as KubeObject;
}

function writeOptions(r: ResourceRequest): WriteOptions {
  return { dryRun: r.query.dryRun(), fieldValidation: r.query.fieldValidation(), user: r.user.name };
}

function listOptions(q: Query, storage: RestStorage): ListOptions {
  const filter = selectionFilter(q.string('labelSelector'), q.string('fieldSelector'), storage.rt);
  const limit = q.int('limit');
  const cont = q.string('continue');
  const rv = q.string('resourceVersion');
  const match = q.string('resourceVersionMatch');
  if (match !== undefined && match !== '' && match !== 'NotOlderThan' && match !== 'Exact') {
    throw apiErrors.badRequest(`resourceVersionMatch: Unsupported value: ${JSON.stringify(match)}: supported values: "Exact", "NotOlderThan"`);
  }
  if (match !== undefined && match !== '' && (rv === undefined || rv === '')) {
    throw apiErrors.badRequest('resourceVersionMatch is forbidden unless resourceVersion is provided');
  }
  if (cont !== undefined && cont !== '' && rv !== undefined && rv !== '') {
    throw apiErrors.badRequest('specifying resource version is not allowed when using continue');
  }
  return {
    ...(filter !== undefined ? { filter } : {}),
    ...(limit !== undefined ? { limit } : {}),
    ...(cont !== undefined ? { continueToken: cont } : {}),
    ...(rv !== undefined ? { resourceVersion: rv } : {}),
    ...(match !== undefined && match !== '' ? { resourceVersionMatch: match } : {}),
  };
}

function tableOptions(q: Query): TableOptions {
  const include = q.string('includeObject') ?? 'Metadata';
  if (include !== 'None' && include !== 'Metadata' && include !== 'Object') {
    throw apiErrors.badRequest(`includeObject: Unsupported value: ${JSON.stringify(include)}: supported values: "None", "Metadata", "Object"`);
  }
  return { includeObject: include, now: new Date() };
}

/** Writes one object in the representation asked for. */
function sendShaped(res: ServerResponse, status: number, obj: KubeObject, storage: RestStorage, rep: Representation, table: TableOptions, warnings: readonly string[] = []): void {
  const headers: Record<string, string> = {};
  if (warnings.length > 0) headers['Warning'] = warnings.map((w) => `299 - ${JSON.stringify(w)}`).join(', ');
  if (rep.as === 'Table') return sendObject(res, status, objectAsTable(storage, obj, table), rep, headers);
  if (rep.as === 'PartialObjectMetadata') return sendObject(res, status, partialMetadata(obj), rep, headers);
  sendObject(res, status, obj, rep, headers);
}

function partialMetadata(obj: KubeObject): Record<string, unknown> {
  return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: obj.metadata };
}

export { ApiError };
