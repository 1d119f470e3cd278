/**
 * A real, in-process API for the workload controllers' unit tests: the API server's storage
 * (defaulting, validation, generateName, graceful pod deletion, status subresources) on SQLite in a
 * temporary directory, reached through the same in-process client the cloud gives its controllers.
 * No HTTP, no kubelet: tests play the kubelet by patching pod status.
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
import type { ControllerContext, ControllerModule } from '../index.ts';
import type { DaemonSetObject, DeploymentObject, NodeObject, PodObject, ReplicaSetObject } from './objects.ts';
import { rfc3339 } from '../../../api/time.ts';

/** A core/v1 Event as tests read it. */
export interface EventObject extends KubeObject {
  reason?: string;
  message?: string;
  type?: string;
  involvedObject?: { kind?: string; name?: string; uid?: string };
}

/** The in-process API and typed clients for the resources the workload controllers touch. */
export class TestApi {
  readonly client: KubeClient;
  readonly pods: ResourceClient<PodObject>;
  readonly nodes: ResourceClient<NodeObject>;
  readonly replicaSets: ResourceClient<ReplicaSetObject>;
  readonly deployments: ResourceClient<DeploymentObject>;
  readonly daemonSets: ResourceClient<DaemonSetObject>;
  readonly events: ResourceClient<EventObject>;
  readonly #registry: ResourceRegistry;
  readonly #backend: SqliteBackend;
  readonly #dir: string;
  readonly #abort = new AbortController();

  private constructor(registry: ResourceRegistry, backend: SqliteBackend, dir: string) {
    this.#registry = registry;
    this.#backend = backend;
    this.#dir = dir;
    this.client = new LocalClient(registry, 'system:kube-controller-manager');
    this.pods = this.client.resource('', 'v1', 'pods');
    this.nodes = this.client.resource('', 'v1', 'nodes');
    this.replicaSets = this.client.resource('apps', 'v1', 'replicasets');
    this.deployments = this.client.resource('apps', 'v1', 'deployments');
    this.daemonSets = this.client.resource('apps', 'v1', 'daemonsets');
    this.events = this.client.resource('', 'v1', 'events');
  }

  /** Serves the built-in resources on a fresh store, with the `default` namespace. */
  static async start(): Promise<TestApi> {
    const dir = await mkdtemp(join(tmpdir(), 'kedge-workloads-'));
    const log = silentLogger();
    const backend = await SqliteBackend.open(join(dir, 'state.db'), { log });
    const registry = createServedRegistry({ backend, log });
    for (const rt of BUILTIN_RESOURCES) await registry.add(rt);
    const api = new TestApi(registry, backend, dir);
    await api.client.resource('', 'v1', 'namespaces').create(undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' } });
    return api;
  }

  /** The signal the started controllers run under; aborted by {@link close}. */
  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  #informers: SharedInformers | undefined;

  /** Informers shared by the modules this API runs, as in the cloud. */
  get informers(): SharedInformers {
    this.#informers ??= new SharedInformers({ client: this.client, log: silentLogger() });
    return this.#informers;
  }

  /** Starts a controller module as the cloud does, with a silent log unless one is given. */
  async run(module: ControllerModule, log: Logger = silentLogger()): Promise<void> {
    const ctx: ControllerContext = {
      client: this.client,
      log,
      config: { nodeMonitorGracePeriodMs: 40_000 },
      informers: this.informers,
      recorder: (component) => new EventRecorder({ client: this.client, component, log }),
    };
    await module.start(ctx, this.#abort.signal);
  }

  /** Stops the controllers and the store and removes the directory. */
  async close(): Promise<void> {
    this.#abort.abort();
    this.#registry.stop();
    await this.#backend.close();
    await rm(this.#dir, { recursive: true, force: true });
  }

  /** The pods in `namespace` whose controller has `ownerUid`, active ones only unless `all`. */
  async podsOf(ownerUid: string | undefined, options: { namespace?: string; all?: boolean } = {}): Promise<PodObject[]> {
    const list = await this.pods.list(options.namespace ?? 'default');
    return list.items.filter((p) => p.metadata.ownerReferences?.some((r) => r.controller === true && r.uid === ownerUid) && (options.all === true || (p.metadata.deletionTimestamp === undefined && p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed')));
  }

  /**
   * Plays the kubelet for one pod: Running and Ready (since `readySince`, default now), or Running
   * and not ready.
   */
  async setReady(pod: PodObject, ready = true, readySince = new Date()): Promise<PodObject> {
    const t = rfc3339(readySince.getTime());
    return this.pods.patch(pod.metadata.namespace, pod.metadata.name ?? '', 'merge', {
      status: { phase: 'Running', conditions: [{ type: 'Ready', status: ready ? 'True' : 'False', lastTransitionTime: t }] },
    }, { subresource: 'status' });
  }

  /** Plays the kubelet confirming a terminating pod stopped: deletes it for good. */
  async finishTermination(pod: PodObject): Promise<void> {
    await this.pods.delete(pod.metadata.namespace, pod.metadata.name ?? '', { gracePeriodSeconds: 0 });
  }

  /**
   * Plays the kubelet for every pod until {@link close} or `stop`: marks new pods Running and Ready
   * (when `ready(pod)` allows) and finishes the termination of deleted ones. `onChange` sees every
   * pod event, for tests that check an invariant throughout.
   */
  kubelet(options: { ready?: (pod: PodObject) => boolean; onChange?: (type: string, pod: PodObject) => void } = {}): { stop(): void } {
    const stop = new AbortController();
    const signal = AbortSignal.any([stop.signal, this.#abort.signal]);
    const run = async (): Promise<void> => {
      const list = await this.pods.list();
      for await (const ev of this.pods.watch(undefined, { resourceVersion: list.resourceVersion, signal })) {
        if (ev.type === 'BOOKMARK') continue;
        const pod = ev.object;
        options.onChange?.(ev.type, pod);
        if (ev.type === 'DELETED') continue;
        if (pod.metadata.deletionTimestamp !== undefined) {
          await this.finishTermination(pod).catch(() => undefined);
        } else if (pod.status?.phase === 'Pending' && (options.ready?.(pod) ?? true)) {
          await this.setReady(pod).catch(() => undefined);
        }
      }
    };
    run().catch(() => undefined);
    return { stop: () => stop.abort() };
  }

  /** The Events recorded about the object with `uid`. */
  async eventsFor(uid: string | undefined, namespace = 'default'): Promise<EventObject[]> {
    return (await this.events.list(namespace)).items.filter((e) => e.involvedObject?.uid === uid);
  }

  /** Creates a Ready, schedulable Node with `labels` and `taints`. */
  async createNode(name: string, options: { labels?: Record<string, string>; taints?: { key: string; value?: string; effect: string }[] } = {}): Promise<NodeObject> {
    return this.nodes.create(undefined, {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name, labels: { 'kubernetes.io/hostname': name, ...options.labels } },
      spec: options.taints !== undefined ? { taints: options.taints } : {},
    });
  }
}

/**
 * Retries `fn` until it stops throwing, then returns its value; past `timeoutMs` rethrows the last
 * failure. Controllers act asynchronously on watch events, so tests wait for the state they expect.
 */
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
