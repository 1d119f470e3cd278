import type { Binding } from 'kubernetes-types/core/v1.d.ts';
import type { KubeObject } from '../../api/object.ts';

/** One change seen by a watch; `BOOKMARK` carries only a resourceVersion to resume from. */
export interface WatchEvent<T extends KubeObject = KubeObject> {
  readonly type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK';
  readonly object: T;
}

export interface Selection {
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
}

export interface ListResult<T extends KubeObject = KubeObject> {
  readonly items: T[];
  readonly resourceVersion: string;
}

export interface DeleteOptions {
  readonly gracePeriodSeconds?: number;
  readonly propagationPolicy?: 'Orphan' | 'Background' | 'Foreground';
  readonly preconditions?: { readonly uid?: string; readonly resourceVersion?: string };
}

export type PatchType = 'json' | 'merge' | 'strategic' | 'apply';

/**
 * Typed access to one resource, with the API server's semantics and errors (ApiError: 404, 409,
 * 422, ...). Controllers inside the cloud use the in-process implementation; the same interface can
 * be served over HTTP for out-of-process clients.
 */
export interface ResourceClient<T extends KubeObject = KubeObject> {
  /** The object, or undefined when it does not exist. */
  get(namespace: string | undefined, name: string): Promise<T | undefined>;
  list(namespace?: string, selection?: Selection): Promise<ListResult<T>>;
  /**
   * Changes after `resourceVersion` until `signal` aborts. Rejects (through the iterable) with a
   * 410 ApiError when that version is compacted: relist then.
   */
  watch(namespace: string | undefined, options: Selection & { readonly resourceVersion: string; readonly signal: AbortSignal }): AsyncIterable<WatchEvent<T>>;
  create(namespace: string | undefined, obj: T): Promise<T>;
  /** Replaces the object; its metadata.resourceVersion, when set, is a precondition (409 when stale). */
  update(obj: T): Promise<T>;
  /** Replaces the status only (the status subresource). */
  updateStatus(obj: T): Promise<T>;
  patch(namespace: string | undefined, name: string, type: PatchType, patch: unknown, options?: { readonly subresource?: 'status'; readonly fieldManager?: string; readonly force?: boolean }): Promise<T>;
  /** Deletes (or marks for deletion); resolves with the last or the terminating state. */
  delete(namespace: string | undefined, name: string, options?: DeleteOptions): Promise<{ object: T; deleted: boolean }>;
}

/** One served resource, as discovery lists it. */
export interface ServedResource {
  readonly group: string;
  readonly version: string;
  readonly plural: string;
  readonly kind: string;
  readonly namespaced: boolean;
  readonly verbs: readonly string[];
}

/** Clients for any served resource. */
export interface KubeClient {
  /** @throws Error when the resource is not served */
  resource<T extends KubeObject = KubeObject>(group: string, version: string, plural: string): ResourceClient<T>;
  /** Every resource served right now, CRDs included (what discovery would list). */
  serverResources(): Promise<readonly ServedResource[]>;
  /**
   * Binds a pod to a node (POST pods/<name>/binding).
   * @throws ApiError 404 when the pod is gone, 409 when it is bound already, being deleted, or its uid is not `binding.metadata.uid`
   */
  bindPod(namespace: string, name: string, binding: Binding): Promise<void>;
  /**
   * Replaces a namespace's `spec.finalizers` (PUT namespaces/<name>/finalize); a terminating
   * namespace left without finalizers is deleted. Resolves with the namespace's last state.
   * @throws ApiError 404 when it is gone
   */
  finalizeNamespace(name: string, finalizers: readonly string[]): Promise<KubeObject>;
}
