import type { Node, Pod } from 'kubernetes-types/core/v1.d.ts';
import type { KubeObject } from '../../../api/object.ts';
import type { Logger } from '../../../log/logger.ts';
import { hasCode } from '../../../errors/platform-error.ts';
import type { ResourceClient } from '../../client/client.ts';
import type { EventRecorder } from '../events/recorder.ts';
import type { ReconcileResult, Reconciler } from '../runtime/controller.ts';
import type { Informer } from '../runtime/informer.ts';

export type PodObject = KubeObject & Pod;
export type NodeObject = KubeObject & Node;

/**
 * kube-controller-manager's quarantine: a node must be missing this long (and still missing on a
 * live read) before its pods are collected, so a node that is re-registered is not emptied.
 */
export const ORPHAN_QUARANTINE_MS = 40_000;

export interface PodGcOptions {
  readonly pods: Informer<PodObject>;
  readonly nodes: Informer<NodeObject>;
  readonly podClient: ResourceClient<PodObject>;
  readonly nodeClient: ResourceClient<NodeObject>;
  readonly recorder: EventRecorder;
  readonly log: Logger;
  /** @default ORPHAN_QUARANTINE_MS */
  readonly quarantineMs?: number;
  /** @default Date.now */
  readonly now?: () => number;
}

/**
 * The pod garbage collector's orphan pass: pods bound to a node that no longer exists are force
 * deleted (no node will ever confirm their stop). Keys are pod keys.
 */
export class PodGarbageCollector implements Reconciler {
  readonly name = 'pod-gc';
  readonly #pods: Informer<PodObject>;
  readonly #nodes: Informer<NodeObject>;
  readonly #podClient: ResourceClient<PodObject>;
  readonly #nodeClient: ResourceClient<NodeObject>;
  readonly #recorder: EventRecorder;
  readonly #log: Logger;
  readonly #quarantineMs: number;
  readonly #now: () => number;
  /** Node name → when this controller first saw it missing. */
  readonly #missingSince = new Map<string, number>();

  constructor(options: PodGcOptions) {
    this.#pods = options.pods;
    this.#nodes = options.nodes;
    this.#podClient = options.podClient;
    this.#nodeClient = options.nodeClient;
    this.#recorder = options.recorder;
    this.#log = options.log;
    this.#quarantineMs = options.quarantineMs ?? ORPHAN_QUARANTINE_MS;
    this.#now = options.now ?? Date.now;
  }

  /** True when `pod` is bound to a node the cache does not know. */
  orphaned(pod: PodObject): boolean {
    const node = pod.spec?.nodeName ?? '';
    return node !== '' && this.#nodes.get(undefined, node) === undefined;
  }

  async reconcile(key: string): Promise<ReconcileResult> {
    const pod = this.#pods.getByKey(key);
    if (pod === undefined || !this.orphaned(pod)) return;
    const nodeName = pod.spec?.nodeName ?? '';
    const now = this.#now();
    const since = this.#missingSince.get(nodeName) ?? now;
    this.#missingSince.set(nodeName, since);
    if (now - since < this.#quarantineMs) return { requeueAfterMs: since + this.#quarantineMs - now };
    if ((await this.#nodeClient.get(undefined, nodeName)) !== undefined) {
      this.#missingSince.delete(nodeName);
      return;
    }
    try {
      await this.#podClient.delete(pod.metadata.namespace, pod.metadata.name ?? '', { gracePeriodSeconds: 0, preconditions: { uid: pod.metadata.uid } });
    } catch (err) {
      if (hasCode(err, 'API_NOT_FOUND') || hasCode(err, 'API_CONFLICT')) return;
      throw err;
    }
    this.#log.info('deleted pod of a node that no longer exists', { pod: key, node: nodeName });
    void this.#recorder.record(pod, 'Normal', 'PodGCOrphaned', `Deleted pod ${key}: node ${nodeName} no longer exists`);
    return;
  }

  /** A node came back: its pods are no longer suspects. */
  nodeSeen(name: string): void {
    this.#missingSince.delete(name);
  }
}
