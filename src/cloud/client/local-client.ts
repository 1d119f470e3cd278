import type { Binding } from 'kubernetes-types/core/v1.d.ts';
import type { KubeObject } from '../../api/object.ts';
import { apiErrors } from '../../api/errors.ts';
import { hasCode } from '../../errors/platform-error.ts';
import type { Backend } from '../../store/backend.ts';
import type { ResourceRegistry } from '../apiserver/resources/registry.ts';
import type { RestStorage, WriteOptions } from '../apiserver/storage/rest-storage.ts';
import { parseResourceVersion } from '../apiserver/storage/rest-storage.ts';
import { selectionFilter } from '../apiserver/http/selection.ts';
import { applyPatch } from '../apiserver/http/patching.ts';
import type { BodyFormat } from '../apiserver/http/negotiation.ts';
import { bindPod } from '../apiserver/http/binding.ts';
import { finalizeNamespace } from '../apiserver/http/namespace-finalize.ts';
import type { DeleteOptions, KubeClient, ListResult, PatchType, ResourceClient, Selection, ServedResource, WatchEvent } from './client.ts';

const PATCH_FORMATS: Record<PatchType, BodyFormat> = { json: 'json-patch', merge: 'merge-patch', strategic: 'strategic-merge-patch', apply: 'apply-patch' };

/**
 * A KubeClient that calls the API server's storage in-process: the same defaulting, validation,
 * admission and concurrency rules as an HTTP request, without the HTTP. Used by the controllers and
 * the hub inside the cloud process, under one identity.
 */
export class LocalClient implements KubeClient {
  readonly #registry: ResourceRegistry;
  readonly #user: string;
  readonly #write: WriteOptions;
  readonly #backend: Backend | undefined;

  /**
   * @param options.backend the registry's store; needed only by {@link bindPod}, which writes the
   *   store directly as kube-apiserver's binding does
   */
  constructor(registry: ResourceRegistry, user: string, options: { readonly backend?: Backend } = {}) {
    this.#registry = registry;
    this.#user = user;
    this.#write = { dryRun: false, fieldValidation: 'Ignore', user };
    this.#backend = options.backend;
  }

  resource<T extends KubeObject = KubeObject>(group: string, version: string, plural: string): ResourceClient<T> {
    return new LocalResourceClient<T>(() => this.#storage(group, version, plural), this.#user);
  }

  serverResources(): Promise<readonly ServedResource[]> {
    return Promise.resolve(
      this.#registry.resources().map((rt) => ({ group: rt.group, version: rt.version, plural: rt.plural, kind: rt.kind, namespaced: rt.namespaced, verbs: rt.verbs })),
    );
  }

  async bindPod(namespace: string, name: string, binding: Binding): Promise<void> {
    if (this.#backend === undefined) throw apiErrors.internal('this client was made without the store and cannot bind pods');
    await bindPod({ backend: this.#backend, pods: this.#storage('', 'v1', 'pods') }, namespace, name, binding, this.#write);
  }

  async finalizeNamespace(name: string, finalizers: readonly string[]): Promise<KubeObject> {
    return finalizeNamespace(this.#storage('', 'v1', 'namespaces'), name, finalizers, this.#write);
  }

  #storage(group: string, version: string, plural: string): RestStorage {
    const s = this.#registry.lookup(group, version, plural);
    if (s === undefined) throw apiErrors.pathNotFound(`${group}/${version}/${plural}`);
    return s;
  }
}

class LocalResourceClient<T extends KubeObject> implements ResourceClient<T> {
  // Looked up per call: a CRD's storage appears and disappears with it.
  readonly #storage: () => RestStorage;
  readonly #write: WriteOptions;

  constructor(storage: () => RestStorage, user: string) {
    this.#storage = storage;
    this.#write = { dryRun: false, fieldValidation: 'Ignore', user };
  }

  async get(namespace: string | undefined, name: string): Promise<T | undefined> {
    try {
      return (await this.#storage().get(namespace, name)) as T;
    } catch (err) {
      if (hasCode(err, 'API_NOT_FOUND')) return undefined;
      throw err;
    }
  }

  async list(namespace?: string, selection?: Selection): Promise<ListResult<T>> {
    const s = this.#storage();
    const filter = selectionFilter(selection?.labelSelector, selection?.fieldSelector, s.rt);
    const page = await s.list(namespace, filter !== undefined ? { filter } : {});
    return { items: page.items.map((o) => s.served(o) as T), resourceVersion: String(page.revision) };
  }

  async *watch(namespace: string | undefined, options: Selection & { readonly resourceVersion: string; readonly signal: AbortSignal }): AsyncIterable<WatchEvent<T>> {
    const s = this.#storage();
    const filter = selectionFilter(options.labelSelector, options.fieldSelector, s.rt);
    try {
      for await (const batch of s.watch(namespace, parseResourceVersion(options.resourceVersion), filter, options.signal)) {
        for (const ev of batch.events) yield { type: ev.type, object: s.served(ev.object) as T };
        if (batch.events.length === 0) {
          yield { type: 'BOOKMARK', object: { apiVersion: '', kind: s.rt.kind, metadata: { resourceVersion: String(batch.revision) } } as T };
        }
      }
    } catch (err) {
      if (hasCode(err, 'STORE_COMPACTED')) throw apiErrors.gone(`too old resource version: ${options.resourceVersion}`);
      throw err;
    }
  }

  async create(namespace: string | undefined, obj: T): Promise<T> {
    return (await this.#storage().create(namespace, asJson(obj), this.#write)).object as T;
  }

  async update(obj: T): Promise<T> {
    return (await this.#storage().update(obj.metadata.namespace, obj.metadata.name ?? '', asJson(obj), this.#write)).object as T;
  }

  async updateStatus(obj: T): Promise<T> {
    return (await this.#storage().update(obj.metadata.namespace, obj.metadata.name ?? '', asJson(obj), this.#write, 'status')).object as T;
  }

  async patch(namespace: string | undefined, name: string, type: PatchType, patch: unknown, options?: { readonly subresource?: 'status'; readonly fieldManager?: string; readonly force?: boolean }): Promise<T> {
    const s = this.#storage();
    const body = Buffer.from(JSON.stringify(patch));
    const result = await s.mutate(
      namespace,
      name,
      this.#write,
      options?.subresource,
      (current) => {
        if (current === undefined && type !== 'apply') throw apiErrors.notFound({ group: s.rt.group, resource: s.rt.plural, name });
        return applyPatch({ storage: s, format: PATCH_FORMATS[type], body, current, manager: options?.fieldManager ?? this.#write.user, force: options?.force ?? false, subresource: options?.subresource, name, namespace });
      },
      type === 'apply',
    );
    return result.object as T;
  }

  async delete(namespace: string | undefined, name: string, options?: DeleteOptions): Promise<{ object: T; deleted: boolean }> {
    const r = await this.#storage().delete(namespace, name, { ...options, dryRun: false, user: this.#write.user });
    return { object: r.object as T, deleted: r.deleted };
  }
}

/**
 * A copy of `obj` as it would arrive over HTTP: JSON drops `undefined` fields, which in-process
 * callers leave in freely (`{ namespace: m.namespace }` for a cluster-scoped object) and which the
 * schema would otherwise see as values of the wrong type.
 */
function asJson<T>(obj: T): T {
  return JSON.parse(JSON.stringify(obj)) as T;
}
