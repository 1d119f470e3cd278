import type { Lease } from 'kubernetes-types/coordination/v1.d.ts';
import type { Node, NodeCondition, Pod, Taint, Toleration } from 'kubernetes-types/core/v1.d.ts';
import type { KubeObject } from '../../../api/object.ts';
import type { Logger } from '../../../log/logger.ts';
import { hasCode } from '../../../errors/platform-error.ts';
import type { ResourceClient } from '../../client/client.ts';
import type { EventRecorder } from '../events/recorder.ts';
import type { ReconcileResult, Reconciler } from '../runtime/controller.ts';
import type { Informer } from '../runtime/informer.ts';
import { parseGoDuration } from './duration.ts';
import { rfc3339 } from '../../../api/time.ts';

export type NodeObject = KubeObject & Node;
export type PodObject = KubeObject & Pod;
export type LeaseObject = KubeObject & Lease;

/** Where nodes renew their Leases. */
export const NODE_LEASE_NAMESPACE = 'kube-node-lease';
/** The taint of a node whose heartbeats stopped. */
export const TAINT_UNREACHABLE = 'node.kubernetes.io/unreachable';
/**
 * A node annotation (a Go duration such as `5m`) opting its pods in to eviction that long after
 * the node became unreachable. Without it an edge node's pods stay bound through any outage: the
 * edge keeps running them on its own (edge autonomy).
 */
export const AUTONOMY_DURATION_ANNOTATION = 'kedge.io/autonomy-duration';
/** The index of the pods informer this controller needs: pods by `spec.nodeName`. */
export const PODS_BY_NODE_INDEX = 'nodeName';

/** The conditions the kubelet posts, which go Unknown together when it falls silent. */
const NODE_CONDITION_TYPES = ['Ready', 'MemoryPressure', 'DiskPressure', 'PIDPressure'] as const;

/** Indexes pods by the node they are bound to. */
export function podsByNode(pod: PodObject): string[] {
  const n = pod.spec?.nodeName ?? '';
  return n === '' ? [] : [n];
}

export interface NodeLifecycleOptions {
  readonly nodes: Informer<NodeObject>;
  readonly leases: Informer<LeaseObject>;
  /** Must carry the {@link PODS_BY_NODE_INDEX} index ({@link podsByNode}). */
  readonly pods: Informer<PodObject>;
  readonly nodeClient: ResourceClient<NodeObject>;
  readonly podClient: ResourceClient<PodObject>;
  readonly recorder: EventRecorder;
  readonly log: Logger;
  /** `--node-monitor-grace-period`. */
  readonly gracePeriodMs: number;
  /** @default Date.now */
  readonly now?: () => number;
}

interface Health {
  /** The last heartbeat seen: Lease renewTime and the Ready condition's lastHeartbeatTime. */
  readonly heartbeat: string;
  /** When this controller saw it change, on its own clock: edge clocks may be anywhere. */
  readonly observedAt: number;
  /**
   * True once the heartbeat changed while this process watched: only a renewal seen here proves
   * the node is back (a restarted cloud first sees every node as if it had just heartbeated).
   */
  readonly renewed: boolean;
  /** When this process tainted the node, to the millisecond (the taint's timeAdded has seconds). */
  unreachableAt?: number;
}

/**
 * The node lifecycle controller, reduced to what a cloud–edge cluster needs: a node whose Lease
 * (and status) stops changing for the grace period goes Ready=Unknown with the unreachable
 * NoSchedule and NoExecute taints, and its pods are marked not Ready. They are evicted (force
 * deleted: the node cannot confirm a graceful stop) only when the node opts in with
 * {@link AUTONOMY_DURATION_ANNOTATION} and that time has passed, or when a pod's toleration of the
 * unreachable taint expires. Heartbeats coming back remove the taints.
 *
 * Silence is measured from what this process observed, not from timestamps written by the node,
 * so a skewed edge clock cannot fake or hide an outage, and a restarted cloud gives every node a
 * full grace period before judging it.
 */
export class NodeLifecycleController implements Reconciler {
  readonly name = 'node-lifecycle';
  readonly #nodes: Informer<NodeObject>;
  readonly #leases: Informer<LeaseObject>;
  readonly #pods: Informer<PodObject>;
  readonly #nodeClient: ResourceClient<NodeObject>;
  readonly #podClient: ResourceClient<PodObject>;
  readonly #recorder: EventRecorder;
  readonly #log: Logger;
  readonly #graceMs: number;
  readonly #now: () => number;
  readonly #health = new Map<string, Health>();

  constructor(options: NodeLifecycleOptions) {
    this.#nodes = options.nodes;
    this.#leases = options.leases;
    this.#pods = options.pods;
    this.#nodeClient = options.nodeClient;
    this.#podClient = options.podClient;
    this.#recorder = options.recorder;
    this.#log = options.log;
    this.#graceMs = options.gracePeriodMs;
    this.#now = options.now ?? Date.now;
  }

  async reconcile(name: string): Promise<ReconcileResult> {
    let node = this.#nodes.get(undefined, name);
    if (node === undefined) {
      this.#health.delete(name);
      return;
    }
    const now = this.#now();
    const heartbeat = `${this.#leases.get(NODE_LEASE_NAMESPACE, name)?.spec?.renewTime ?? ''}|${readyCondition(node)?.lastHeartbeatTime ?? ''}`;
    let health = this.#health.get(name);
    if (health === undefined || health.heartbeat !== heartbeat) {
      health = { heartbeat, observedAt: now, renewed: health !== undefined };
      this.#health.set(name, health);
    }
    const silentMs = now - health.observedAt;
    if (silentMs < this.#graceMs) {
      if (health.renewed && unreachableTaints(node).length > 0) await this.#clearTaints(node);
      return { requeueAfterMs: this.#graceMs - silentMs };
    }
    node = await this.#markUnknown(node, now);
    if (!unreachableTaints(node).some((t) => t.effect === 'NoExecute')) health.unreachableAt = now;
    node = await this.#taint(node, now);
    return this.#evict(node, now, health.unreachableAt);
  }

  async #markUnknown(node: NodeObject, now: number): Promise<NodeObject> {
    const stamp = rfc3339(now);
    const conditions = [...(node.status?.conditions ?? [])];
    let changed = false;
    let readyWent = false;
    for (const type of NODE_CONDITION_TYPES) {
      const i = conditions.findIndex((c) => c.type === type);
      const c = conditions[i];
      if (c === undefined) {
        conditions.push({ type, status: 'Unknown', reason: 'NodeStatusNeverUpdated', message: 'Kubelet never posted node status.', lastHeartbeatTime: node.metadata.creationTimestamp, lastTransitionTime: stamp });
      } else if (c.status !== 'Unknown') {
        conditions[i] = { ...c, status: 'Unknown', reason: 'NodeStatusUnknown', message: 'Kubelet stopped posting node status.', lastTransitionTime: stamp };
      } else {
        continue;
      }
      changed = true;
      if (type === 'Ready') readyWent = true;
    }
    if (!changed) return node;
    const updated = await this.#nodeClient.updateStatus({ ...node, status: { ...node.status, conditions } });
    this.#log.info('node stopped heartbeating; marked Unknown', { node: node.metadata.name, graceMs: this.#graceMs });
    if (readyWent) {
      void this.#recorder.record(node, 'Normal', 'NodeNotReady', `Node ${node.metadata.name ?? ''} status is now: NodeNotReady`);
      await this.#markPodsNotReady(node.metadata.name ?? '', stamp);
    }
    return updated;
  }

  /** Pods on a silent node are not Ready (Services stop sending them traffic), though they keep running at the edge. */
  async #markPodsNotReady(nodeName: string, stamp: string): Promise<void> {
    for (const pod of this.#pods.byIndex(PODS_BY_NODE_INDEX, nodeName)) {
      const ready = pod.status?.conditions?.find((c) => c.type === 'Ready');
      if (ready === undefined || ready.status === 'False') continue;
      void this.#recorder.record(pod, 'Warning', 'NodeNotReady', 'Node is not ready');
      try {
        await this.#podClient.patch(pod.metadata.namespace, pod.metadata.name ?? '', 'strategic', { status: { conditions: [{ type: 'Ready', status: 'False', lastTransitionTime: stamp }] } }, { subresource: 'status' });
      } catch (err) {
        if (!hasCode(err, 'API_NOT_FOUND')) throw err;
      }
    }
  }

  async #taint(node: NodeObject, now: number): Promise<NodeObject> {
    const taints = node.spec?.taints ?? [];
    const has = (effect: string): boolean => taints.some((t) => t.key === TAINT_UNREACHABLE && t.effect === effect);
    if (has('NoExecute') && has('NoSchedule')) return node;
    const next: Taint[] = [...taints];
    if (!has('NoSchedule')) next.push({ key: TAINT_UNREACHABLE, effect: 'NoSchedule' });
    if (!has('NoExecute')) next.push({ key: TAINT_UNREACHABLE, effect: 'NoExecute', timeAdded: rfc3339(now) });
    return this.#nodeClient.update({ ...node, spec: { ...node.spec, taints: next } });
  }

  async #clearTaints(node: NodeObject): Promise<void> {
    const taints = (node.spec?.taints ?? []).filter((t) => t.key !== TAINT_UNREACHABLE);
    await this.#nodeClient.update({ ...node, spec: { ...node.spec, taints } });
    this.#log.info('node heartbeats resumed; unreachable taints removed', { node: node.metadata.name });
    void this.#recorder.record(node, 'Normal', 'NodeReachable', `Node ${node.metadata.name ?? ''} is heartbeating again`);
  }

  /** Evicts the pods whose time is up; asks to come back when the next one's is. */
  async #evict(node: NodeObject, now: number, unreachableAt: number | undefined): Promise<ReconcileResult> {
    const name = node.metadata.name ?? '';
    const taint = unreachableTaints(node).find((t) => t.effect === 'NoExecute');
    const since = unreachableAt ?? (taint?.timeAdded !== undefined ? Date.parse(taint.timeAdded) : now);
    const autonomyText = node.metadata.annotations?.[AUTONOMY_DURATION_ANNOTATION];
    const autonomyMs = autonomyText === undefined ? undefined : parseGoDuration(autonomyText);
    if (autonomyText !== undefined && autonomyMs === undefined) this.#log.warn('ignoring malformed autonomy duration', { node: name, value: autonomyText });
    let next = Infinity;
    for (const pod of this.#pods.byIndex(PODS_BY_NODE_INDEX, name)) {
      // Deleted by someone while the node is away: the node cannot confirm the stop, so once the
      // grace period is over the deletion completes here (the edge hears of it when it is back).
      const deleting = pod.metadata.deletionTimestamp !== undefined ? Date.parse(pod.metadata.deletionTimestamp) : undefined;
      const deadline = deleting ?? evictionDeadline(pod, since, autonomyMs);
      if (deadline === undefined) continue;
      if (deadline > now) {
        next = Math.min(next, deadline);
        continue;
      }
      await this.#evictPod(pod);
    }
    return Number.isFinite(next) ? { requeueAfterMs: Math.max(0, next - now) } : undefined;
  }

  async #evictPod(pod: PodObject): Promise<void> {
    const key = `${pod.metadata.namespace ?? ''}/${pod.metadata.name ?? ''}`;
    // Force: a graceful delete would wait for a node that cannot answer.
    try {
      await this.#podClient.delete(pod.metadata.namespace, pod.metadata.name ?? '', { gracePeriodSeconds: 0, preconditions: { uid: pod.metadata.uid } });
    } catch (err) {
      if (hasCode(err, 'API_NOT_FOUND') || hasCode(err, 'API_CONFLICT')) return;
      throw err;
    }
    this.#log.info('evicted pod from unreachable node', { pod: key, node: pod.spec?.nodeName });
    void this.#recorder.record(pod, 'Normal', 'TaintManagerEviction', `Marking for deletion Pod ${key}`);
  }
}

function readyCondition(node: NodeObject): NodeCondition | undefined {
  return node.status?.conditions?.find((c) => c.type === 'Ready');
}

function unreachableTaints(node: NodeObject): Taint[] {
  return (node.spec?.taints ?? []).filter((t) => t.key === TAINT_UNREACHABLE);
}

function toleratesUnreachable(t: Toleration): boolean {
  if (t.effect !== undefined && t.effect !== '' && t.effect !== 'NoExecute') return false;
  if (t.key === undefined || t.key === '') return t.operator === 'Exists';
  return t.key === TAINT_UNREACHABLE && (t.operator === 'Exists' || (t.value ?? '') === '');
}

/**
 * When a pod on a node unreachable since `since` (ms) is evicted, or undefined for never:
 * the node's autonomy duration, or the shortest tolerationSeconds of its tolerations of the
 * unreachable taint (Kubernetes' `getMinTolerationTime`), whichever comes first. A pod that
 * tolerates the taint without a time limit (DaemonSet pods do) stays regardless.
 */
export function evictionDeadline(pod: PodObject, since: number, autonomyMs: number | undefined): number | undefined {
  const matching = (pod.spec?.tolerations ?? []).filter(toleratesUnreachable);
  let tolerationMs: number | undefined;
  if (matching.length > 0) {
    const seconds = matching.map((t) => t.tolerationSeconds).filter((s): s is number => s !== undefined);
    if (seconds.length === 0) return undefined;
    tolerationMs = Math.max(0, Math.min(...seconds)) * 1000;
  }
  const candidates = [autonomyMs, tolerationMs].filter((v): v is number => v !== undefined);
  if (candidates.length === 0) return undefined;
  return since + Math.min(...candidates);
}

