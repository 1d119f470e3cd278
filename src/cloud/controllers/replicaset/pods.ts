/**
 * What the workload controllers need to know about pods, as Kubernetes' `podutil` and
 * `controller_utils` define it: activity, readiness, availability after `minReadySeconds`, the pod a
 * template makes, and which pods to delete first when scaling down.
 */
import type { PodTemplateSpec } from 'kubernetes-types/core/v1.d.ts';
import type { OwnerReference } from 'kubernetes-types/meta/v1.d.ts';
import { compareStrings } from '../../../api/compare.ts';
import { byCreation, timeMs, type PodObject } from './objects.ts';

/** `controller.IsPodActive`: not finished and not being deleted; only these count as replicas. */
export function isPodActive(pod: PodObject): boolean {
  const phase = pod.status?.phase;
  return phase !== 'Succeeded' && phase !== 'Failed' && pod.metadata.deletionTimestamp === undefined;
}

/** `podutil.IsPodTerminal`. */
export function isPodTerminal(pod: PodObject): boolean {
  const phase = pod.status?.phase;
  return phase === 'Succeeded' || phase === 'Failed';
}

function readyCondition(pod: PodObject): { status: string; lastTransitionTime?: string } | undefined {
  return pod.status?.conditions?.find((c) => c.type === 'Ready');
}

/** `podutil.IsPodReady`: the Ready condition is True. Pods become ready only through their status. */
export function isPodReady(pod: PodObject): boolean {
  return readyCondition(pod)?.status === 'True';
}

/** When the pod last became ready (ms since the epoch), or 0 when not ready or unknown. */
export function podReadyTimeMs(pod: PodObject): number {
  const c = readyCondition(pod);
  return c?.status === 'True' ? timeMs(c.lastTransitionTime) : 0;
}

/**
 * `podutil.IsPodAvailable`: ready, and ready for at least `minReadySeconds` (strictly longer, as
 * Kubernetes compares with `Before(now)`).
 */
export function isPodAvailable(pod: PodObject, minReadySeconds: number, nowMs: number): boolean {
  if (!isPodReady(pod)) return false;
  if (minReadySeconds <= 0) return true;
  const since = podReadyTimeMs(pod);
  return since !== 0 && since + minReadySeconds * 1000 < nowMs;
}

/**
 * How long until a ready pod becomes available, in ms; undefined when it is available already or
 * not ready (then a status change, not time, makes it available). Controllers requeue after this.
 */
export function msUntilAvailable(pod: PodObject, minReadySeconds: number, nowMs: number): number | undefined {
  if (minReadySeconds <= 0 || !isPodReady(pod) || isPodAvailable(pod, minReadySeconds, nowMs)) return undefined;
  const since = podReadyTimeMs(pod);
  if (since === 0) return undefined;
  // +1 ms: availability needs the ready time to be strictly before now.
  return Math.max(0, since + minReadySeconds * 1000 - nowMs + 1);
}

/**
 * `controller.GetPodFromTemplate`: the pod a controller creates from its template, named
 * `<owner>-<random>` by the API server, in the owner's namespace, with the controller reference.
 */
export function podFromTemplate(template: PodTemplateSpec | undefined, ownerName: string, namespace: string | undefined, controllerRef: OwnerReference): PodObject {
  const meta = template?.metadata;
  const pod: PodObject = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      generateName: `${ownerName}-`,
      ...(namespace !== undefined ? { namespace } : {}),
      ...(meta?.labels !== undefined ? { labels: { ...meta.labels } } : {}),
      ...(meta?.annotations !== undefined ? { annotations: { ...meta.annotations } } : {}),
      ...(meta?.finalizers !== undefined ? { finalizers: [...meta.finalizers] } : {}),
      ownerReferences: [controllerRef],
    },
    spec: structuredClone(template?.spec ?? { containers: [] }),
  };
  return pod;
}

// `podPhaseToOrdinal`: phases absent from the map (Succeeded, Failed, none) rank with Pending.
const PHASE_ORDINAL: Readonly<Record<string, number>> = { Pending: 0, Unknown: 1, Running: 2 };

/** `controller.kubernetes.io/pod-deletion-cost`: a user's hint of which pods to delete first. */
export const POD_DELETION_COST_ANNOTATION = 'controller.kubernetes.io/pod-deletion-cost';

function deletionCost(pod: PodObject): number {
  const v = pod.metadata.annotations?.[POD_DELETION_COST_ANNOTATION];
  if (v === undefined || !/^[+-]?\d+$/.test(v)) return 0;
  const n = Number(v);
  return n >= -(2 ** 31) && n < 2 ** 31 ? n : 0;
}

function maxRestarts(pod: PodObject): number {
  let max = 0;
  for (const s of pod.status?.containerStatuses ?? []) max = Math.max(max, s.restartCount);
  return max;
}

/** `logarithmicRankDiff`: pods ready (or created) within the same power-of-two age bucket are equals. */
function logRank(t: number, nowMs: number): number {
  const ns = (nowMs - t) * 1e6;
  return ns > 0 ? Math.floor(Math.log2(ns)) : -1;
}

/** "after or zero": a zero time counts as the newest. */
function newerFirst(a: number, b: number): number {
  if (a === 0 || b === 0) return a === 0 ? (b === 0 ? 0 : -1) : 1;
  return b - a;
}

/**
 * Orders pods so that the ones to delete first come first (`controller.ActivePodsWithRanks` with
 * the LogarithmicScaleDown and PodDeletionCost features Kubernetes enables by default):
 * unassigned before assigned; Pending before Unknown before Running; not ready before ready; lower
 * deletion cost first; more pods of the same owner family on the node first; ready for less time
 * (by power-of-two buckets) first; more restarts first; newer first.
 *
 * @param relatedPods the active pods of the owner and its siblings, to find nodes that are doubled up
 */
export function rankForDeletion(pods: readonly PodObject[], relatedPods: readonly PodObject[], nowMs: number): PodObject[] {
  const onNode = new Map<string, number>();
  for (const p of relatedPods) {
    if (!isPodActive(p)) continue;
    const n = p.spec?.nodeName ?? '';
    onNode.set(n, (onNode.get(n) ?? 0) + 1);
  }
  const rank = (p: PodObject): number => onNode.get(p.spec?.nodeName ?? '') ?? 0;
  return [...pods].sort((a, b) => {
    const na = a.spec?.nodeName ?? '';
    const nb = b.spec?.nodeName ?? '';
    if (na !== nb && (na === '' || nb === '')) return na === '' ? -1 : 1;
    const pa = PHASE_ORDINAL[a.status?.phase ?? ''] ?? 0;
    const pb = PHASE_ORDINAL[b.status?.phase ?? ''] ?? 0;
    if (pa !== pb) return pa - pb;
    const ra = isPodReady(a);
    const rb = isPodReady(b);
    if (ra !== rb) return ra ? 1 : -1;
    const ca = deletionCost(a);
    const cb = deletionCost(b);
    if (ca !== cb) return ca - cb;
    if (rank(a) !== rank(b)) return rank(b) - rank(a);
    if (ra && rb) {
      const ta = podReadyTimeMs(a);
      const tb = podReadyTimeMs(b);
      if (ta !== tb) {
        if (ta === 0 || tb === 0) return newerFirst(ta, tb);
        const d = logRank(ta, nowMs) - logRank(tb, nowMs);
        return d !== 0 ? d : compareStrings(a.metadata.uid ?? '', b.metadata.uid ?? '');
      }
    }
    const restarts = maxRestarts(b) - maxRestarts(a);
    if (restarts !== 0) return restarts;
    const ta = timeMs(a.metadata.creationTimestamp);
    const tb = timeMs(b.metadata.creationTimestamp);
    if (ta !== tb) {
      if (ta === 0 || tb === 0) return newerFirst(ta, tb);
      const d = logRank(ta, nowMs) - logRank(tb, nowMs);
      return d !== 0 ? d : compareStrings(a.metadata.uid ?? '', b.metadata.uid ?? '');
    }
    return 0;
  });
}

/** `podByCreationTimestampAndPhase`: running before not running, then oldest first. */
export function byPhaseThenAge(a: PodObject, b: PodObject): number {
  const ra = a.status?.phase === 'Running' ? 0 : 1;
  const rb = b.status?.phase === 'Running' ? 0 : 1;
  if (ra !== rb) return ra - rb;
  return byCreation(a, b);
}
