import type { Node, Pod, Taint } from 'kubernetes-types/core/v1.d.ts';
import { accumulate, emptyResources, nodeAllocatable, type Allocatable, type Resources } from './resources.ts';
import { ANY_IP, podInfoOf, type HostPort, type PodInfo } from './pod-info.ts';

/** Taints Kubernetes puts on nodes by their Ready condition (`TaintNodesByCondition`). */
export const TAINT_NOT_READY = 'node.kubernetes.io/not-ready';
export const TAINT_UNREACHABLE = 'node.kubernetes.io/unreachable';
export const TAINT_UNSCHEDULABLE = 'node.kubernetes.io/unschedulable';

/**
 * One node as the scheduler sees it: what it offers and the running sum of what the pods bound
 * (or being bound) to it take, kept up to date pod by pod so that a decision never rescans pods.
 */
export class NodeInfo {
  readonly name: string;
  node: Node | undefined;
  labels: Readonly<Record<string, string>> = {};
  /** NoSchedule and NoExecute taints, including the ones implied by the Ready condition. */
  taints: readonly Taint[] = [];
  unschedulable = false;
  allocatable: Allocatable = { resources: emptyResources(), pods: 0 };
  readonly requested: Resources = emptyResources();
  readonly nonZeroRequested: Resources = emptyResources();
  podCount = 0;
  /** `protocol/port` → address → how many pods use it. */
  readonly #ports = new Map<string, Map<string, number>>();
  /** Controller uid → how many of its pods are here. */
  readonly #owners = new Map<string, number>();

  constructor(name: string) {
    this.name = name;
  }

  setNode(node: Node): void {
    this.node = node;
    this.labels = node.metadata?.labels ?? {};
    this.unschedulable = node.spec?.unschedulable === true;
    this.allocatable = nodeAllocatable(node.status);
    this.taints = effectiveTaints(node);
  }

  add(pod: PodInfo, sign: 1 | -1): void {
    accumulate(this.requested, pod.requests, sign);
    accumulate(this.nonZeroRequested, pod.nonZeroRequests, sign);
    this.podCount += sign;
    for (const p of pod.hostPorts) {
      const k = `${p.protocol}/${p.port}`;
      let ips = this.#ports.get(k);
      if (ips === undefined) this.#ports.set(k, (ips = new Map<string, number>()));
      const n = (ips.get(p.ip) ?? 0) + sign;
      if (n > 0) ips.set(p.ip, n);
      else ips.delete(p.ip);
      if (ips.size === 0) this.#ports.delete(k);
    }
    if (pod.owner !== undefined) {
      const n = (this.#owners.get(pod.owner) ?? 0) + sign;
      if (n > 0) this.#owners.set(pod.owner, n);
      else this.#owners.delete(pod.owner);
    }
  }

  /** Pods of the controller `owner` on this node. */
  ownerCount(owner: string): number {
    return this.#owners.get(owner) ?? 0;
  }

  /** Kubernetes' `HostPortInfo.CheckConflict`: the same protocol and port on the same address, or on 0.0.0.0 either side. */
  portConflict(p: HostPort): boolean {
    const ips = this.#ports.get(`${p.protocol}/${p.port}`);
    if (ips === undefined) return false;
    return p.ip === ANY_IP || ips.has(ANY_IP) || ips.has(p.ip);
  }

  /** True when nothing refers to this entry any more (its node is gone and no pod is accounted here). */
  get empty(): boolean {
    return this.node === undefined && this.podCount === 0;
  }
}

/** The node's taints that keep pods off, plus the one implied by a Ready condition that is not True. */
export function effectiveTaints(node: Node): Taint[] {
  const taints = (node.spec?.taints ?? []).filter((t) => t.effect === 'NoSchedule' || t.effect === 'NoExecute');
  const ready = node.status?.conditions?.find((c) => c.type === 'Ready')?.status;
  // The node lifecycle controller would add these as NoSchedule taints; reading the condition
  // directly keeps the scheduler right in the seconds before it does, and for nodes that never had one.
  const implied = ready === 'True' ? undefined : ready === 'Unknown' ? TAINT_UNREACHABLE : TAINT_NOT_READY;
  if (implied !== undefined && !taints.some((t) => t.key === implied)) taints.push({ key: implied, effect: 'NoSchedule' });
  return taints;
}

/** True when a pod in this phase no longer holds node resources. */
function finished(pod: Pod): boolean {
  const phase = pod.status?.phase;
  return phase === 'Succeeded' || phase === 'Failed';
}

interface Accounted {
  readonly nodeName: string;
  readonly info: PodInfo;
  /** Still waiting for the informer to show the binding. */
  assumed: boolean;
}

/**
 * The scheduler's view of the cluster: a {@link NodeInfo} per node with incremental aggregates,
 * fed by the node and pod informers, plus the pods the scheduler has decided on but whose binding
 * the informer has not shown yet ("assumed"), so the next decision already counts them.
 */
export class SchedulerCache {
  readonly #nodes = new Map<string, NodeInfo>();
  readonly #pods = new Map<string, Accounted>();
  /** Nodes that exist (have a Node object), for iteration in decisions. */
  #ready: NodeInfo[] | undefined;

  /** Every node with a Node object. */
  nodes(): readonly NodeInfo[] {
    if (this.#ready === undefined) this.#ready = [...this.#nodes.values()].filter((n) => n.node !== undefined);
    return this.#ready;
  }

  node(name: string): NodeInfo | undefined {
    return this.#nodes.get(name);
  }

  updateNode(node: Node): void {
    const name = node.metadata?.name ?? '';
    let info = this.#nodes.get(name);
    if (info === undefined) this.#nodes.set(name, (info = new NodeInfo(name)));
    if (info.node === undefined) this.#ready = undefined;
    info.setNode(node);
  }

  removeNode(name: string): void {
    const info = this.#nodes.get(name);
    if (info === undefined) return;
    info.node = undefined;
    this.#ready = undefined;
    // Pods still bound there keep their entry until they go, so a node that comes back under the
    // same name is not seen as empty.
    if (info.empty) this.#nodes.delete(name);
  }

  /** Follows a pod from the informer: bound, unfinished pods count on their node. */
  updatePod(key: string, pod: Pod): void {
    const nodeName = pod.spec?.nodeName ?? '';
    const current = this.#pods.get(key);
    if (nodeName === '' || finished(pod)) {
      // An unbound pod that the scheduler assumed is being bound right now: keep counting it.
      if (current !== undefined && !(current.assumed && nodeName === '' && !finished(pod))) this.#unaccount(key, current);
      return;
    }
    if (current !== undefined) {
      if (current.nodeName === nodeName) {
        current.assumed = false;
        return;
      }
      this.#unaccount(key, current);
    }
    this.#account(key, { nodeName, info: podInfoOf(key, pod), assumed: false });
  }

  removePod(key: string): void {
    const current = this.#pods.get(key);
    if (current !== undefined) this.#unaccount(key, current);
  }

  /** Counts `info` on `nodeName` before the binding is written, so the next decision sees it. */
  assume(info: PodInfo, nodeName: string): void {
    const current = this.#pods.get(info.key);
    if (current !== undefined) this.#unaccount(info.key, current);
    this.#account(info.key, { nodeName, info, assumed: true });
  }

  /** Undoes {@link assume} after a failed binding. */
  forget(key: string): void {
    const current = this.#pods.get(key);
    if (current?.assumed === true) this.#unaccount(key, current);
  }

  /** True when the pod is assumed or bound in the cache. */
  isAccounted(key: string): boolean {
    return this.#pods.has(key);
  }

  #account(key: string, entry: Accounted): void {
    let node = this.#nodes.get(entry.nodeName);
    if (node === undefined) this.#nodes.set(entry.nodeName, (node = new NodeInfo(entry.nodeName)));
    node.add(entry.info, 1);
    this.#pods.set(key, entry);
  }

  #unaccount(key: string, entry: Accounted): void {
    this.#pods.delete(key);
    const node = this.#nodes.get(entry.nodeName);
    if (node === undefined) return;
    node.add(entry.info, -1);
    if (node.empty) this.#nodes.delete(entry.nodeName);
  }
}
