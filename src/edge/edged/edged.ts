import { join } from 'node:path';
import type { ConfigMap, Secret } from 'kubernetes-types/core/v1.d.ts';
import { describeError } from '../../errors/platform-error.ts';
import type { Logger } from '../../log/logger.ts';
import type { Change, MetaManager } from '../meta/meta-manager.ts';
import type { HostFacts } from '../node/host.ts';
import { LABELS, type ContainerState, type Runtime, type SandboxState } from '../runtime/runtime.ts';
import { admit, type Rejection } from './admission.ts';
import type { ObjectSource } from './env.ts';
import { EventRecorder, type EventSink } from './events.ts';
import { podKey, type PodObject } from './pod-spec.ts';
import { PodWorker, type NodeView, type PodDeletionSink, type PodStatusSink } from './pod-worker.ts';
import { VolumeManager } from './volumes.ts';
import { compareStrings } from '../../api/compare.ts';

/** Options of {@link Edged}. */
export interface EdgedOptions {
  readonly nodeName: string;
  /** The edge's data dir: pods' volumes go to `pods/`, container logs to `logs/`. */
  readonly dataDir: string;
  readonly runtime: Runtime;
  /** The pods, ConfigMaps and Secrets the cloud sent (read, and followed for changes). */
  readonly meta: Pick<MetaManager, 'list' | 'get' | 'subscribe'>;
  readonly statuses: PodStatusSink;
  readonly events: EventSink;
  readonly deletions: PodDeletionSink;
  /** The host's size and addresses (capacity, allocatable, hostIP). */
  readonly host: () => HostFacts;
  readonly log: Logger;
  /** How often the runtime is listed to notice containers that exited (the kubelet's PLEG relist). @default 1_000 */
  readonly relistIntervalMs?: number;
  /** Pods the node accepts. @default 110 */
  readonly maxPods?: number;
}

/**
 * Edged: kedge's kubelet. It runs the pods bound to this node that MetaManager holds, one
 * {@link PodWorker} each, and keeps them running whether or not the cloud is reachable:
 *
 * - on start it takes every pod from MetaManager (edge.db) and the sandboxes and containers the
 *   runtime holds for this node; pods it knows are adopted where they stand, sandboxes of pods it
 *   no longer has are stopped and removed, so nothing runs twice;
 * - it admits pods against the node's allocatable in creation order (OutOfcpu, OutOfmemory);
 * - it follows MetaManager's changes: pods (new, changed, deleted), and ConfigMaps and Secrets,
 *   which wake the pods that use them so mounted volumes are updated;
 * - it relists the runtime every second to notice containers that exited (and, with the process
 *   runtime, hears of exits at once).
 */
export class Edged {
  readonly #o: EdgedOptions;
  readonly #log: Logger;
  readonly #workers = new Map<string, PodWorker>();
  readonly #recorder: EventRecorder;
  readonly #volumes: VolumeManager;
  readonly #objects: ObjectSource;
  #runtimeName = '';
  #done: Promise<void> = Promise.resolve();
  #lastRelist = new Map<string, { uid: string; state: ContainerState | SandboxState }>();
  #relistFailing = false;

  constructor(options: EdgedOptions) {
    this.#o = options;
    this.#log = options.log;
    this.#recorder = new EventRecorder({ sink: options.events, nodeName: options.nodeName });
    this.#objects = {
      configMap: (ns, name) => options.meta.get('configmaps', ns, name)?.object as ConfigMap | undefined,
      secret: (ns, name) => options.meta.get('secrets', ns, name)?.object as Secret | undefined,
    };
    this.#volumes = new VolumeManager({ podsDir: join(options.dataDir, 'pods'), objects: this.#objects, log: options.log.child({ task: 'volumes' }) });
  }

  /** Pods with a worker (running, starting, stopping). */
  get podCount(): number {
    return this.#workers.size;
  }

  /** Settles once Edged has stopped (after the start signal aborted). Containers keep running. */
  get done(): Promise<void> {
    return this.#done;
  }

  /**
   * Starts a worker for every pod MetaManager holds, cleans up what the runtime holds for pods
   * that are gone, and follows changes until `signal` aborts. Returns once the workers are started
   * (not once the pods run).
   * @throws the runtime's error when it cannot even report its version
   */
  async start(signal: AbortSignal): Promise<void> {
    this.#runtimeName = (await this.#o.runtime.version()).name;
    const unsubscribe = this.#o.meta.subscribe((changes) => this.#onChanges(changes));
    const pods = this.#o.meta
      .list('pods')
      .map((s) => s.object as PodObject)
      .filter((p) => p.spec?.nodeName === this.#o.nodeName)
      .sort((a, b) => compareStrings(a.metadata.creationTimestamp ?? '', b.metadata.creationTimestamp ?? ''));
    for (const pod of pods) this.#upsert(pod);
    this.#log.info('pods restored from edge.db', { pods: pods.length, runtime: this.#runtimeName });
    await this.#removeOrphans();

    const relist = setInterval(() => void this.#relist(), this.#o.relistIntervalMs ?? 1_000);
    relist.unref();
    const runtime = this.#o.runtime as Runtime & { onContainerExit?: (l: (id: string) => void) => () => void };
    const offExit = runtime.onContainerExit?.(() => void this.#relist());
    this.#done = new Promise<void>((resolve) => {
      signal.addEventListener(
        'abort',
        () => {
          clearInterval(relist);
          unsubscribe();
          offExit?.();
          void Promise.all([...this.#workers.values()].map((w) => w.stop())).then(() => resolve());
        },
        { once: true },
      );
    });
  }

  #onChanges(changes: readonly Change[]): void {
    for (const c of changes) {
      const o = c.object;
      if (o.kind === 'pods') {
        const pod = o.object as PodObject;
        if (c.type === 'DELETED') this.#workers.get(o.uid)?.remove();
        else if (pod.spec?.nodeName === this.#o.nodeName) this.#upsert(pod);
      } else if (o.kind === 'configmaps' || o.kind === 'secrets') {
        for (const w of this.#workers.values()) if (w.pod.metadata.namespace === o.namespace && w.uses(o.kind, o.name)) w.wake();
      }
    }
  }

  #upsert(pod: PodObject): void {
    const existing = this.#workers.get(pod.metadata.uid);
    if (existing !== undefined) {
      existing.update(pod);
      return;
    }
    const rejected = this.#admit(pod);
    if (rejected !== undefined) this.#log.warn('pod rejected', { pod: podKey(pod), reason: rejected.reason, message: rejected.message });
    const worker = new PodWorker(
      pod,
      {
        nodeName: this.#o.nodeName,
        runtime: this.#o.runtime,
        runtimeName: this.#runtimeName,
        volumes: this.#volumes,
        objects: this.#objects,
        events: this.#recorder,
        statuses: this.#o.statuses,
        deletions: this.#o.deletions,
        logsDir: join(this.#o.dataDir, 'logs'),
        node: () => this.#node(),
        log: this.#log,
        removed: (uid) => this.#workers.delete(uid),
      },
      rejected,
    );
    if (rejected !== undefined) this.#recorder.pod(pod, 'Warning', rejected.reason, rejected.message);
    this.#workers.set(pod.metadata.uid, worker);
    worker.wake();
  }

  /** The kubelet's admission: a pod rejected before stays rejected; finished pods need nothing. */
  #admit(pod: PodObject): Rejection | undefined {
    const status = pod.status;
    if (status?.phase === 'Failed' && /^OutOf/.test(status.reason ?? '')) return { reason: status.reason as Rejection['reason'], message: status.message ?? '' };
    if (status?.phase === 'Succeeded' || status?.phase === 'Failed' || pod.metadata.deletionTimestamp !== undefined) return undefined;
    const node = this.#node();
    const active = [...this.#workers.values()].filter((w) => w.active).map((w) => w.pod);
    return admit(pod, active, { cpuMilli: node.cpuMilli, memoryBytes: node.memoryBytes, pods: this.#o.maxPods ?? 110 });
  }

  #node(): NodeView {
    const h = this.#o.host();
    return { hostIps: h.addresses.filter((a) => a.type === 'InternalIP').map((a) => a.address), cpuMilli: h.cpus * 1000, memoryBytes: h.memoryBytes };
  }

  /** Sandboxes this node created for pods it no longer has: stopped and removed (containers with them). */
  async #removeOrphans(): Promise<void> {
    const rt = this.#o.runtime;
    try {
      for (const s of await rt.listPodSandboxes({ [LABELS.managedBy]: this.#o.nodeName })) {
        const uid = s.labels[LABELS.podUid] ?? s.metadata.uid;
        if (this.#workers.has(uid)) continue;
        this.#log.info('removing the sandbox of a pod this node no longer has', { pod: `${s.metadata.namespace}/${s.metadata.name}`, uid, sandbox: s.id });
        for (const c of await rt.listContainers({ sandboxId: s.id })) {
          if (c.state === 'running') await rt.stopContainer(c.id, Number(c.annotations['io.kubernetes.pod.terminationGracePeriod'] ?? '30'));
        }
        await rt.stopPodSandbox(s.id);
        await rt.removePodSandbox(s.id);
        await this.#volumes.tearDown(uid);
      }
    } catch (err) {
      this.#log.warn('cannot clean up sandboxes of removed pods; will not retry until the next start', { err: describeError(err) });
    }
  }

  /** The kubelet's PLEG: wakes the workers of pods whose containers or sandboxes changed state. */
  async #relist(): Promise<void> {
    const rt = this.#o.runtime;
    const selector = { [LABELS.managedBy]: this.#o.nodeName };
    let now: Map<string, { uid: string; state: ContainerState | SandboxState }>;
    try {
      const [containers, sandboxes] = await Promise.all([rt.listContainers({ labels: selector }), rt.listPodSandboxes(selector)]);
      now = new Map();
      for (const c of containers) now.set(c.id, { uid: c.labels[LABELS.podUid] ?? '', state: c.state });
      for (const s of sandboxes) now.set(s.id, { uid: s.labels[LABELS.podUid] ?? s.metadata.uid, state: s.state });
      if (this.#relistFailing) this.#log.info('the container runtime answers again');
      this.#relistFailing = false;
    } catch (err) {
      if (!this.#relistFailing) this.#log.warn('cannot list containers; pods are not watched until the runtime answers', { err: describeError(err) });
      this.#relistFailing = true;
      return;
    }
    const wake = new Set<string>();
    for (const [id, e] of now) if (this.#lastRelist.get(id)?.state !== e.state) wake.add(e.uid);
    for (const [id, e] of this.#lastRelist) if (!now.has(id)) wake.add(e.uid);
    this.#lastRelist = now;
    for (const uid of wake) this.#workers.get(uid)?.wake();
  }
}
