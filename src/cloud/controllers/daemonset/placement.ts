/**
 * Where a DaemonSet runs (Kubernetes' `daemon.NodeShouldRunDaemonPod` and the helpers it uses):
 * node name, nodeSelector and required node affinity, taints against the pod's tolerations plus
 * the ones every daemon pod gets.
 */
import type { NodeSelectorRequirement, NodeSelectorTerm, PodSpec, Taint, Toleration } from 'kubernetes-types/core/v1.d.ts';
import type { DaemonSetObject, NodeObject, PodObject } from '../replicaset/objects.ts';

/**
 * Tolerations every daemon pod gets (`AddOrUpdateDaemonPodTolerations`): node problems must not
 * evict a node's own daemons (the not-ready and unreachable NoExecute taints, forever; this is what
 * keeps them on an edge node that lost the cloud), and the conditions that block ordinary pods
 * (pressure, cordoning) must not keep them off.
 */
export const DAEMON_TOLERATIONS: readonly Toleration[] = [
  { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute' },
  { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute' },
  { key: 'node.kubernetes.io/disk-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/memory-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/pid-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' },
];

/** Added to host-network daemons only: they do not need the node's pod network. */
const NETWORK_UNAVAILABLE: Toleration = { key: 'node.kubernetes.io/network-unavailable', operator: 'Exists', effect: 'NoSchedule' };

/** `Toleration.MatchToleration`: the same toleration but perhaps for its duration. */
function sameToleration(a: Toleration, b: Toleration): boolean {
  return (a.key ?? '') === (b.key ?? '') && (a.operator ?? '') === (b.operator ?? '') && (a.value ?? '') === (b.value ?? '') && (a.effect ?? '') === (b.effect ?? '');
}

/** The pod spec's tolerations with the daemon tolerations added or, when only their duration differs, replacing them. */
export function withDaemonTolerations(spec: PodSpec): Toleration[] {
  let out: Toleration[] = [...(spec.tolerations ?? [])];
  for (const t of [...DAEMON_TOLERATIONS, ...(spec.hostNetwork === true ? [NETWORK_UNAVAILABLE] : [])]) {
    if (out.some((x) => sameToleration(x, t))) out = out.map((x) => (sameToleration(x, t) ? t : x));
    else out.push(t);
  }
  return out;
}

/** `Toleration.ToleratesTaint`. */
export function tolerates(t: Toleration, taint: Taint): boolean {
  if ((t.effect ?? '') !== '' && t.effect !== taint.effect) return false;
  if ((t.key ?? '') !== '' && t.key !== taint.key) return false;
  switch (t.operator ?? '') {
    case '':
    case 'Equal':
      return (t.value ?? '') === (taint.value ?? '');
    case 'Exists':
      return true;
    default:
      return false;
  }
}

/** The first taint with an effect in `effects` that no toleration tolerates. */
function untoleratedTaint(taints: readonly Taint[], tolerations: readonly Toleration[], effects: readonly string[]): Taint | undefined {
  return taints.find((taint) => effects.includes(taint.effect) && !tolerations.some((t) => tolerates(t, taint)));
}

function requirementMatches(r: NodeSelectorRequirement, value: string | undefined): boolean {
  const values = r.values ?? [];
  switch (r.operator) {
    case 'In':
      return value !== undefined && values.includes(value);
    case 'NotIn':
      return value === undefined || !values.includes(value);
    case 'Exists':
      return value !== undefined;
    case 'DoesNotExist':
      return value === undefined;
    case 'Gt':
    case 'Lt': {
      if (value === undefined || values.length !== 1 || !/^-?\d+$/.test(value) || !/^-?\d+$/.test(values[0]!)) return false;
      const have = BigInt(value);
      const bound = BigInt(values[0]!);
      return r.operator === 'Gt' ? have > bound : have < bound;
    }
    default:
      return false;
  }
}

/** One node selector term: its label expressions and its field requirements all hold; an empty term selects nothing. */
function termMatches(term: NodeSelectorTerm, node: NodeObject): boolean {
  const exprs = term.matchExpressions ?? [];
  const fields = term.matchFields ?? [];
  if (exprs.length === 0 && fields.length === 0) return false;
  const labels = node.metadata.labels ?? {};
  for (const r of exprs) if (!requirementMatches(r, labels[r.key])) return false;
  // metadata.name is the only field a node selector may name.
  for (const r of fields) if (!requirementMatches(r, r.key === 'metadata.name' ? node.metadata.name : undefined)) return false;
  return true;
}

/** `nodeaffinity.GetRequiredNodeAffinity(pod).Match(node)`: nodeSelector and required node affinity (terms ORed). */
export function matchesRequiredNodeAffinity(spec: PodSpec | undefined, node: NodeObject): boolean {
  const labels = node.metadata.labels ?? {};
  for (const [k, v] of Object.entries(spec?.nodeSelector ?? {})) if (labels[k] !== v) return false;
  const required = spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
  if (required === undefined) return true;
  return required.nodeSelectorTerms.some((t) => termMatches(t, node));
}

/** Where a DaemonSet stands on a node. */
export interface Placement {
  /** A daemon pod should be created there if there is none. */
  readonly shouldRun: boolean;
  /** A daemon pod already there may stay (only NoExecute taints it does not tolerate evict it). */
  readonly shouldContinueRunning: boolean;
}

/** `NodeShouldRunDaemonPod`. */
export function placementOn(node: NodeObject, ds: DaemonSetObject): Placement {
  const spec = ds.spec?.template.spec;
  const nodeName = node.metadata.name ?? '';
  if (spec?.nodeName !== undefined && spec.nodeName !== '' && spec.nodeName !== nodeName) return { shouldRun: false, shouldContinueRunning: false };
  if (!matchesRequiredNodeAffinity(spec, node)) return { shouldRun: false, shouldContinueRunning: false };
  const taints = node.spec?.taints ?? [];
  const tolerations = withDaemonTolerations(spec ?? { containers: [] });
  if (untoleratedTaint(taints, tolerations, ['NoSchedule', 'NoExecute']) === undefined) return { shouldRun: true, shouldContinueRunning: true };
  return { shouldRun: false, shouldContinueRunning: untoleratedTaint(taints, tolerations, ['NoExecute']) === undefined };
}

/**
 * The node a daemon pod is for (`util.GetTargetNodeName`): its `nodeName`, or the node its
 * required affinity names by `metadata.name`.
 */
export function targetNodeName(pod: PodObject): string | undefined {
  if (pod.spec?.nodeName !== undefined && pod.spec.nodeName !== '') return pod.spec.nodeName;
  for (const term of pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? []) {
    for (const f of term.matchFields ?? []) if (f.key === 'metadata.name' && f.operator === 'In' && f.values?.length === 1) return f.values[0];
  }
  return undefined;
}
