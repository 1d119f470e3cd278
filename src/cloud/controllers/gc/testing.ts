/**
 * A real, in-process API for the unit tests of the scheduler, node lifecycle, garbage collector
 * and namespace controllers: the API server's storage with its namespace and pod semantics
 * (Terminating namespaces, the finalize subresource, graceful pod deletion, the orphan and
 * foregroundDeletion finalizers) on SQLite in a temporary directory, reached through the
 * in-process client the cloud gives its controllers. No HTTP and no kubelet.
 */
import { createServedRegistry } from '../../apiserver/resources/served-registry.ts';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KubeObject } from '../../../api/object.ts';
import { silentLogger, type Logger } from '../../../log/logger.ts';
import { SqliteBackend } from '../../../store/sqlite.ts';
import { BUILTIN_RESOURCES } from '../../apiserver/resources/builtin.ts';
import type { ResourceRegistry } from '../../apiserver/resources/registry.ts';
import type { KubeClient, ResourceClient } from '../../client/client.ts';
import { LocalClient } from '../../client/local-client.ts';
import { SharedInformers } from '../runtime/shared-informers.ts';
import { EventRecorder } from '../events/recorder.ts';
import type { ControllerContext, ControllerModule, ControllersConfig } from '../index.ts';
import { rfc3339, rfc3339Micro } from '../../../api/time.ts';

/** A core/v1 Event as tests read it. */
export interface EventObject extends KubeObject {
  reason?: string;
  message?: string;
  type?: string;
  involvedObject?: { kind?: string; name?: string; uid?: string };
}

/** The in-process API with clients for what these controllers touch. */
export class TestApi {
  readonly client: KubeClient;
  readonly registry: ResourceRegistry;
  readonly namespaces: ResourceClient;
  readonly nodes: ResourceClient;
  readonly pods: ResourceClient;
  readonly configMaps: ResourceClient;
  readonly leases: ResourceClient;
  readonly events: ResourceClient<EventObject>;
  readonly #backend: SqliteBackend;
  readonly #dir: string;
  readonly #abort = new AbortController();

  private constructor(registry: ResourceRegistry, backend: SqliteBackend, dir: string) {
    this.registry = registry;
    this.#backend = backend;
    this.#dir = dir;
    this.client = new LocalClient(registry, 'system:kube-controller-manager', { backend });
    this.namespaces = this.client.resource('', 'v1', 'namespaces');
    this.nodes = this.client.resource('', 'v1', 'nodes');
    this.pods = this.client.resource('', 'v1', 'pods');
    this.configMaps = this.client.resource('', 'v1', 'configmaps');
    this.leases = this.client.resource('coordination.k8s.io', 'v1', 'leases');
    this.events = this.client.resource('', 'v1', 'events');
  }

  /** Serves the built-in resources on a fresh store, with the `default` and `kube-node-lease` namespaces. */
  static async start(): Promise<TestApi> {
    const dir = await mkdtemp(join(tmpdir(), 'kedge-controllers-'));
    const log = silentLogger();
    const backend = await SqliteBackend.open(join(dir, 'state.db'), { log });
    const registry = createServedRegistry({ backend, log });
    for (const rt of BUILTIN_RESOURCES) await registry.add(rt);
    const api = new TestApi(registry, backend, dir);
    for (const name of ['default', 'kube-node-lease']) await api.namespaces.create(undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
    return api;
  }

  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  #informers: SharedInformers | undefined;

  /** Informers shared by the modules this API runs, as in the cloud. */
  get informers(): SharedInformers {
    this.#informers ??= new SharedInformers({ client: this.client, log: silentLogger() });
    return this.#informers;
  }

  /** Starts a controller module as the cloud does. */
  async run(module: ControllerModule, config: Partial<ControllersConfig> = {}, log: Logger = silentLogger()): Promise<void> {
    const ctx: ControllerContext = {
      client: this.client,
      log,
      config: { nodeMonitorGracePeriodMs: 40_000, ...config },
      informers: this.informers,
      recorder: (component) => new EventRecorder({ client: this.client, component, log }),
    };
    await module.start(ctx, this.#abort.signal);
  }

  async close(): Promise<void> {
    this.#abort.abort();
    this.registry.stop();
    await this.#backend.close();
    await rm(this.#dir, { recursive: true, force: true });
  }

  /** A Ready node offering `cpu`, `memory` and 110 pods. */
  async createNode(name: string, options: { labels?: Record<string, string>; annotations?: Record<string, string>; cpu?: string; memory?: string } = {}): Promise<KubeObject> {
    await this.nodes.create(undefined, { apiVersion: 'v1', kind: 'Node', metadata: { name, labels: { 'kubernetes.io/hostname': name, ...options.labels }, annotations: options.annotations } });
    return this.nodes.patch(undefined, name, 'merge', {
      status: {
        allocatable: { cpu: options.cpu ?? '4', memory: options.memory ?? '8Gi', pods: '110' },
        capacity: { cpu: options.cpu ?? '4', memory: options.memory ?? '8Gi', pods: '110' },
        conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'ready', lastHeartbeatTime: rfc3339(Date.now()) }],
      },
    }, { subresource: 'status' });
  }

  /** Creates or renews the node's Lease, as the edge does every few seconds. */
  async renewLease(node: string): Promise<void> {
    const renewTime = rfc3339Micro(Date.now());
    await this.leases.patch('kube-node-lease', node, 'apply', { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: node, namespace: 'kube-node-lease' }, spec: { holderIdentity: node, leaseDurationSeconds: 40, renewTime } }, { fieldManager: 'test', force: true });
  }

  /** A pod (bound to `nodeName` when given) with a busybox container. */
  async createPod(name: string, options: { namespace?: string; nodeName?: string; spec?: Record<string, unknown>; ownerReferences?: unknown[] } = {}): Promise<KubeObject> {
    return this.pods.create(options.namespace ?? 'default', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, ...(options.ownerReferences !== undefined ? { ownerReferences: options.ownerReferences as never } : {}) },
      spec: { containers: [{ name: 'c', image: 'busybox' }], ...(options.nodeName !== undefined ? { nodeName: options.nodeName } : {}), ...options.spec },
    });
  }

  /** The Events about the object with `uid`. */
  async eventsFor(uid: string | undefined, namespace = 'default'): Promise<EventObject[]> {
    return (await this.events.list(namespace)).items.filter((e) => e.involvedObject?.uid === uid);
  }
}

/** Retries `fn` until it stops throwing; past `timeoutMs` rethrows the last failure. */
export async function eventually<T>(fn: () => T | Promise<T>, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() >= deadline) throw err;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}
