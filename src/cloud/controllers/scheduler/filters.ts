import type { NodeSelectorRequirement, NodeSelectorTerm, Taint, Toleration } from 'kubernetes-types/core/v1.d.ts';
import type { NodeInfo } from './node-info.ts';
import { TAINT_UNSCHEDULABLE } from './node-info.ts';
import type { PodInfo } from './pod-info.ts';

// kube-scheduler's reason texts, which users and tools grep for in `kubectl describe`.
export const REASON_UNSCHEDULABLE = 'node(s) were unschedulable';
export const REASON_AFFINITY = "node(s) didn't match Pod's node affinity/selector";
export const REASON_PORTS = "node(s) didn't have free ports for the requested pod ports";
export const REASON_TOO_MANY_PODS = 'Too many pods';
const UNTOLERATED_TAINT_PREFIX = 'node(s) had untolerated taint';

/** `{key: value}`, as kube-scheduler prints a taint. */
export function untoleratedTaintReason(t: Taint): string {
  return `${UNTOLERATED_TAINT_PREFIX} {${t.key}: ${t.value ?? ''}}`;
}

/** `v1helper.TolerationsTolerateTaint`. */
export function tolerates(toleration: Toleration, taint: Taint): boolean {
  if (toleration.effect !== undefined && toleration.effect !== '' && toleration.effect !== taint.effect) return false;
  const op = toleration.operator ?? 'Equal';
  if (toleration.key === undefined || toleration.key === '') return op === 'Exists';
  if (toleration.key !== taint.key) return false;
  if (op === 'Exists') return true;
  return (toleration.value ?? '') === (taint.value ?? '');
}

export function toleratesTaint(tolerations: readonly Toleration[], taint: Taint): boolean {
  for (const t of tolerations) if (tolerates(t, taint)) return true;
  return false;
}

function requirementMatches(r: NodeSelectorRequirement, value: string | undefined): boolean {
  switch (r.operator) {
    case 'In':
      return value !== undefined && (r.values ?? []).includes(value);
    case 'NotIn':
      return value === undefined || !(r.values ?? []).includes(value);
    case 'Exists':
      return value !== undefined;
    case 'DoesNotExist':
      return value === undefined;
    case 'Gt':
    case 'Lt': {
      if (value === undefined || !/^-?\d+$/.test(value)) return false;
      const bound = r.values?.[0];
      if (bound === undefined || !/^-?\d+$/.test(bound)) return false;
      return r.operator === 'Gt' ? Number(value) > Number(bound) : Number(value) < Number(bound);
    }
    default:
      return false;
  }
}

/** One NodeSelectorTerm: every expression and field requirement holds; an empty term matches nothing. */
function termMatches(term: NodeSelectorTerm, labels: Readonly<Record<string, string>>, nodeName: string): boolean {
  const exprs = term.matchExpressions ?? [];
  const fields = term.matchFields ?? [];
  if (exprs.length === 0 && fields.length === 0) return false;
  for (const r of exprs) if (!requirementMatches(r, labels[r.key])) return false;
  // metadata.name is the only field Kubernetes supports in matchFields.
  for (const r of fields) if (!requirementMatches(r, r.key === 'metadata.name' ? nodeName : undefined)) return false;
  return true;
}

/** nodeSelector and required node affinity (the terms are ORed). */
export function matchesNodeAffinity(pod: PodInfo, node: NodeInfo): boolean {
  for (const [k, v] of Object.entries(pod.nodeSelector)) if (node.labels[k] !== v) return false;
  const terms = pod.requiredTerms;
  if (terms === undefined) return true;
  for (const term of terms) if (termMatches(term, node.labels, node.name)) return true;
  return false;
}

/** `noderesources.fitsRequest`: every reason the pod does not fit, or an empty list. */
function resourceFit(pod: PodInfo, node: NodeInfo): string[] {
  const out: string[] = [];
  if (node.podCount + 1 > node.allocatable.pods) out.push(REASON_TOO_MANY_PODS);
  const req = pod.requests;
  const alloc = node.allocatable.resources;
  const used = node.requested;
  if (req.milliCpu > 0 && req.milliCpu > alloc.milliCpu - used.milliCpu) out.push('Insufficient cpu');
  if (req.memory > 0 && req.memory > alloc.memory - used.memory) out.push('Insufficient memory');
  for (const [name, v] of req.scalars) {
    if (v > 0 && v > (alloc.scalars.get(name) ?? 0) - (used.scalars.get(name) ?? 0)) out.push(`Insufficient ${name}`);
  }
  return out;
}

/** Why `pod` cannot go to `node`. */
export interface FilterResult {
  readonly reasons: readonly string[];
  /** True when removing other pods could not help (taints, affinity, cordon): preemption is pointless. */
  readonly unresolvable: boolean;
}

const UNSCHEDULABLE_TAINT: Taint = { key: TAINT_UNSCHEDULABLE, effect: 'NoSchedule' };

/**
 * kube-scheduler's filter plugins in their default order — NodeUnschedulable, TaintToleration,
 * NodeAffinity, NodePorts, NodeResourcesFit — stopping at the first that fails, as it does.
 * Returns undefined when the pod fits.
 */
export function filterNode(pod: PodInfo, node: NodeInfo): FilterResult | undefined {
  if (node.unschedulable && !toleratesTaint(pod.tolerations, UNSCHEDULABLE_TAINT)) return { reasons: [REASON_UNSCHEDULABLE], unresolvable: true };
  for (const taint of node.taints) {
    if (!toleratesTaint(pod.tolerations, taint)) return { reasons: [untoleratedTaintReason(taint)], unresolvable: true };
  }
  if (!matchesNodeAffinity(pod, node)) return { reasons: [REASON_AFFINITY], unresolvable: true };
  for (const p of pod.hostPorts) if (node.portConflict(p)) return { reasons: [REASON_PORTS], unresolvable: false };
  const fit = resourceFit(pod, node);
  if (fit.length > 0) return { reasons: fit, unresolvable: false };
  return undefined;
}

/**
 * kube-scheduler's `FitError` text: a histogram of reasons (sorted as strings, as Go's
 * `sort.Strings` does), then what preemption found. kedge does not preempt (it has no pod
 * priorities to act on), so it reports what kube-scheduler reports for equal-priority pods.
 * The doubled full stop at the end is Kubernetes' own.
 */
export function fitErrorMessage(totalNodes: number, failures: readonly FilterResult[]): string {
  const histogram = new Map<string, number>();
  let unresolvable = 0;
  for (const f of failures) {
    for (const r of f.reasons) histogram.set(r, (histogram.get(r) ?? 0) + 1);
    if (f.unresolvable) unresolvable++;
  }
  const reasons = [...histogram].map(([r, n]) => `${n} ${r}`).sort();
  let msg = `0/${totalNodes} nodes are available:`;
  if (reasons.length > 0) msg += ` ${reasons.join(', ')}.`;
  const preemption: string[] = [];
  if (unresolvable > 0) preemption.push(`${unresolvable} Preemption is not helpful for scheduling`);
  if (failures.length - unresolvable > 0) preemption.push(`${failures.length - unresolvable} No preemption victims found for incoming pod`);
  msg += ` preemption: 0/${totalNodes} nodes are available: ${preemption.sort().join(', ')}..`;
  return msg;
}
