import type { Node, Pod, PodCondition } from 'kubernetes-types/core/v1.d.ts';
import type { NodeObject, PodObject } from './objects.ts';
import type { Logger } from '../../../log/logger.ts';
import { hasCode } from '../../../errors/platform-error.ts';
import type { ResourceClient } from '../../client/client.ts';
import type { EventRecorder } from '../events/recorder.ts';
import type { ReconcileResult, Reconciler } from '../runtime/controller.ts';
import { objectKey, type Informer } from '../runtime/informer.ts';
import { filterNode, fitErrorMessage, type FilterResult } from './filters.ts';
import { SchedulerCache, type NodeInfo } from './node-info.ts';
import { podInfoOf, type PodInfo } from './pod-info.ts';
import { rfc3339 } from '../../../api/time.ts';

/** The scheduler name pods get by default; kedge's scheduler answers to it. */
export const DEFAULT_SCHEDULER_NAME = 'default-scheduler';
/** kube-scheduler's message when there is no node at all. */
export const NO_NODES_MESSAGE = 'no nodes available to schedule pods';
/**
 * Unschedulable pods are retried at once when nodes or bound pods change, and after this long
 * anyway (kube-scheduler's `podMaxInUnschedulablePodsDuration`): each retry costs an event write,
 * which adds up with many pending pods.
 */
export const UNSCHEDULABLE_RETRY_MS = 300_000;

/** kube-scheduler's plugin weights: topology spreading counts twice as much as free resources. */
const SPREAD_WEIGHT = 2;
const LEAST_ALLOCATED_WEIGHT = 1;

/** Binds a pod to a node (the pods/binding subresource). Rejects with the API's errors: 404, 409. */
export type Binder = (pod: PodObject, nodeName: string) => Promise<void>;

/** The outcome of one scheduling decision. */
export type Decision = { readonly node: string } | { readonly failures: readonly FilterResult[]; readonly message: string };

export interface SchedulerOptions {
  readonly pods: Informer<PodObject>;
  readonly nodes: Informer<NodeObject>;
  /** For the PodScheduled condition of pods that do not fit. */
  readonly podClient: ResourceClient<PodObject>;
  readonly bind: Binder;
  readonly recorder: EventRecorder;
  readonly log: Logger;
  /** Called with pod keys to (re)consider; the controller's queue. */
  readonly enqueue: (key: string) => void;
  /** @default Math.random; ties between equally good nodes are broken at random, as kube-scheduler does */
  readonly random?: () => number;
  readonly now?: () => Date;
}

/**
 * The scheduler: for each pending pod that names the default scheduler, filters the nodes (ready,
 * schedulable, node selector and required affinity, taints, host ports, resources), scores the
 * rest (spread of the pod's controller, least allocated), and binds the pod to the best node
 * through the binding subresource. Decisions come from {@link SchedulerCache}, whose per-node
 * sums follow pods one by one, so a decision costs O(nodes), never O(pods).
 *
 * A decision and its assumption in the cache happen in one synchronous step, so concurrent
 * workers never place two pods on the last free slot; only the binding write is awaited.
 */
export class Scheduler implements Reconciler {
  readonly name = 'scheduler';
  readonly cache = new SchedulerCache();
  readonly #pods: Informer<PodObject>;
  readonly #podClient: ResourceClient<PodObject>;
  readonly #bind: Binder;
  readonly #recorder: EventRecorder;
  readonly #log: Logger;
  readonly #enqueue: (key: string) => void;
  readonly #random: () => number;
  readonly #now: () => Date;
  /** Pods that fit nowhere at their last attempt: tried again whenever the cluster changes. */
  readonly #unschedulable = new Set<string>();

  constructor(options: SchedulerOptions) {
    this.#pods = options.pods;
    this.#podClient = options.podClient;
    this.#bind = options.bind;
    this.#recorder = options.recorder;
    this.#log = options.log;
    this.#enqueue = options.enqueue;
    this.#random = options.random ?? Math.random;
    this.#now = options.now ?? (() => new Date());
    options.nodes.addHandler({
      add: (node) => {
        this.cache.updateNode(node);
        this.#retryUnschedulable();
      },
      update: (old, node) => {
        this.cache.updateNode(node);
        if (schedulingRelevant(old) !== schedulingRelevant(node)) this.#retryUnschedulable();
      },
      delete: (node) => this.cache.removeNode(node.metadata?.name ?? ''),
    });
    options.pods.addHandler({
      add: (pod) => this.#onPod(pod),
      update: (old, pod) => {
        // A pending pod whose status alone changed (our own PodScheduled patch, most often) waits
        // for the cluster to change like before: re-deciding it would only write the same answer.
        if (this.#unschedulable.has(objectKey(pod)) && sameSchedulingInputs(old, pod)) {
          this.cache.updatePod(objectKey(pod), pod);
          return;
        }
        this.#onPod(pod);
        // A bound pod that finished gives its resources back.
        if (holdsResources(old) && !holdsResources(pod)) this.#retryUnschedulable();
      },
      delete: (pod) => {
        const key = objectKey(pod);
        this.cache.removePod(key);
        this.#unschedulable.delete(key);
        if (holdsResources(pod)) this.#retryUnschedulable();
      },
    });
  }

  /** How many pods wait for the cluster to change. */
  get unschedulableCount(): number {
    return this.#unschedulable.size;
  }

  #onPod(pod: PodObject): void {
    const key = objectKey(pod);
    this.cache.updatePod(key, pod);
    if (this.responsibleFor(pod)) this.#enqueue(key);
    else this.#unschedulable.delete(key);
  }

  #retryUnschedulable(): void {
    for (const key of this.#unschedulable) this.#enqueue(key);
    this.#unschedulable.clear();
  }

  /** Pods this scheduler places: unbound, not being deleted, not finished, not gated, and naming it. */
  responsibleFor(pod: Pod): boolean {
    const spec = pod.spec;
    if (spec === undefined || (spec.nodeName ?? '') !== '') return false;
    if ((spec.schedulerName ?? DEFAULT_SCHEDULER_NAME) !== DEFAULT_SCHEDULER_NAME) return false;
    if (pod.metadata?.deletionTimestamp !== undefined) return false;
    if ((spec.schedulingGates ?? []).length > 0) return false;
    const phase = pod.status?.phase;
    return phase !== 'Succeeded' && phase !== 'Failed';
  }

  async reconcile(key: string): Promise<ReconcileResult> {
    const pod = this.#pods.getByKey(key);
    if (pod === undefined || !this.responsibleFor(pod)) {
      this.#unschedulable.delete(key);
      return;
    }
    // Assumed: its binding is being written; the informer will show the outcome.
    if (this.cache.isAccounted(key)) return;
    const info = podInfoOf(key, pod);
    const decision = decide(this.cache, info, this.#random);
    if (!('node' in decision)) {
      this.#unschedulable.add(key);
      await this.#markUnschedulable(pod, decision.message);
      return { requeueAfterMs: UNSCHEDULABLE_RETRY_MS };
    }
    this.#unschedulable.delete(key);
    this.cache.assume(info, decision.node);
    try {
      await this.#bind(pod, decision.node);
    } catch (err) {
      this.cache.forget(key);
      // Bound elsewhere, being deleted, replaced or gone: the informer brings the truth (and a
      // new key if the pod is still pending), so retrying on a stale cache would only spin.
      if (hasCode(err, 'API_NOT_FOUND') || hasCode(err, 'API_CONFLICT')) return;
      throw err;
    }
    const ns = pod.metadata?.namespace ?? '';
    this.#log.debug('pod bound', { pod: key, node: decision.node });
    void this.#recorder.record(pod, 'Normal', 'Scheduled', `Successfully assigned ${ns}/${pod.metadata?.name ?? ''} to ${decision.node}`);
    return;
  }

  async #markUnschedulable(pod: PodObject, message: string): Promise<void> {
    void this.#recorder.record(pod, 'Warning', 'FailedScheduling', message);
    const existing = pod.status?.conditions?.find((c) => c.type === 'PodScheduled');
    if (existing?.status === 'False' && existing.reason === 'Unschedulable' && existing.message === message) return;
    const condition: PodCondition = {
      type: 'PodScheduled',
      status: 'False',
      reason: 'Unschedulable',
      message,
      lastTransitionTime: existing?.status === 'False' && existing.lastTransitionTime !== undefined ? existing.lastTransitionTime : rfc3339(this.#now().getTime()),
    };
    try {
      // Strategic merge: conditions merge by type, so the kubelet's or anyone's others stay.
      await this.#podClient.patch(pod.metadata?.namespace, pod.metadata?.name ?? '', 'strategic', { status: { conditions: [{ ...condition, lastProbeTime: null }] } }, { subresource: 'status' });
    } catch (err) {
      if (!hasCode(err, 'API_NOT_FOUND')) throw err;
    }
  }
}

/** True when nothing the scheduler decides on changed between two versions of a pod (as kube-scheduler's skipPodUpdate). */
function sameSchedulingInputs(old: PodObject, pod: PodObject): boolean {
  return (
    JSON.stringify(old.spec) === JSON.stringify(pod.spec) &&
    JSON.stringify(old.metadata?.labels) === JSON.stringify(pod.metadata?.labels) &&
    old.metadata?.deletionTimestamp === pod.metadata?.deletionTimestamp
  );
}

/**
 * Chooses a node for `pod` from the cache, or explains why none fits: filters every node, then
 * scores the feasible ones (spread of the pod's controller counts twice, free resources once) and
 * takes the best, breaking ties at random with `random`.
 */
export function decide(cache: SchedulerCache, pod: PodInfo, random: () => number = Math.random): Decision {
  const nodes = cache.nodes();
  if (nodes.length === 0) return { failures: [], message: NO_NODES_MESSAGE };
  const feasible: NodeInfo[] = [];
  const failures: FilterResult[] = [];
  for (const node of nodes) {
    const failed = filterNode(pod, node);
    if (failed === undefined) feasible.push(node);
    else failures.push(failed);
  }
  if (feasible.length === 0) return { failures, message: fitErrorMessage(nodes.length, failures) };

  let maxOwned = 0;
  if (pod.owner !== undefined) for (const n of feasible) maxOwned = Math.max(maxOwned, n.ownerCount(pod.owner));
  let best: NodeInfo | undefined;
  let bestScore = -1;
  let ties = 0;
  for (const node of feasible) {
    const spread = pod.owner === undefined || maxOwned === 0 ? 100 : (100 * (maxOwned - node.ownerCount(pod.owner))) / maxOwned;
    const score = SPREAD_WEIGHT * spread + LEAST_ALLOCATED_WEIGHT * leastAllocated(pod, node);
    if (score > bestScore) {
      best = node;
      bestScore = score;
      ties = 1;
    } else if (score === bestScore) {
      // Reservoir sampling: each of the tied nodes ends up chosen with equal probability.
      ties++;
      if (random() * ties < 1) best = node;
    }
  }
  return { node: best!.name };
}

/** Kubernetes' `LeastAllocated` score (0–100): the mean free share of cpu and memory after placing the pod. */
function leastAllocated(pod: PodInfo, node: NodeInfo): number {
  const alloc = node.allocatable.resources;
  const free = (capacity: number, used: number): number => (capacity <= 0 || used > capacity ? 0 : ((capacity - used) * 100) / capacity);
  const cpu = free(alloc.milliCpu, node.nonZeroRequested.milliCpu + pod.nonZeroRequests.milliCpu);
  const mem = free(alloc.memory, node.nonZeroRequested.memory + pod.nonZeroRequests.memory);
  return (cpu + mem) / 2;
}

/** True for a pod that takes node resources: bound and not finished. */
function holdsResources(pod: Pod): boolean {
  const phase = pod.status?.phase;
  return (pod.spec?.nodeName ?? '') !== '' && phase !== 'Succeeded' && phase !== 'Failed';
}

/** What of a node can change a scheduling decision; heartbeats and images do not. */
function schedulingRelevant(node: Node): string {
  return JSON.stringify([
    node.metadata?.labels,
    node.spec?.taints,
    node.spec?.unschedulable,
    node.status?.allocatable,
    node.status?.conditions?.find((c) => c.type === 'Ready')?.status,
  ]);
}

