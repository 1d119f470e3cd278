/**
 * Kubernetes' `deployment/util`, for kedge: the revision and replica annotations, the RollingUpdate
 * fenceposts, finding the new replica set, proportional scaling, and the status and conditions
 * `kubectl rollout status` reads. Pure functions over Deployments and ReplicaSets.
 */
import type { DeploymentCondition, DeploymentStatus } from 'kubernetes-types/apps/v1.d.ts';
import type { PodTemplateSpec } from 'kubernetes-types/core/v1.d.ts';
import { isJsonObject } from '../../../api/object.ts';
import { byCreation, scaledValue, timeMs, type DeploymentObject, type IntOrString, type ReplicaSetObject } from '../replicaset/objects.ts';
import { POD_TEMPLATE_HASH_LABEL } from './hash.ts';
import { rfc3339 } from '../../../api/time.ts';

/** The revision of a replica set (and of the Deployment, its new set's); `kubectl rollout history|undo` read it. */
export const REVISION_ANNOTATION = 'deployment.kubernetes.io/revision';
/** Earlier revisions of a replica set that was rolled back to, comma-separated. */
export const REVISION_HISTORY_ANNOTATION = 'deployment.kubernetes.io/revision-history';
/** The Deployment size a replica set was last scaled for: a different one means the Deployment was scaled. */
export const DESIRED_REPLICAS_ANNOTATION = 'deployment.kubernetes.io/desired-replicas';
/** That size plus maxSurge: the base of proportional scaling. */
export const MAX_REPLICAS_ANNOTATION = 'deployment.kubernetes.io/max-replicas';
const LAST_APPLIED_ANNOTATION = 'kubectl.kubernetes.io/last-applied-configuration';
const DEPRECATED_ROLLBACK_TO = 'deprecated.deployment.rollback.to';
/** `maxRevHistoryLengthInChars`: the revision-history annotation keeps at most this many characters. */
const MAX_REVISION_HISTORY_CHARS = 2000;

/** Deployment annotations that are not copied onto its replica sets. */
const ANNOTATIONS_TO_SKIP = new Set([LAST_APPLIED_ANNOTATION, REVISION_ANNOTATION, REVISION_HISTORY_ANNOTATION, DESIRED_REPLICAS_ANNOTATION, MAX_REPLICAS_ANNOTATION, DEPRECATED_ROLLBACK_TO]);

/* Condition reasons, as kubectl and dashboards match them. */
export const REASON_NEW_RS_CREATED = 'NewReplicaSetCreated';
export const REASON_FOUND_NEW_RS = 'FoundNewReplicaSet';
export const REASON_RS_UPDATED = 'ReplicaSetUpdated';
export const REASON_NEW_RS_AVAILABLE = 'NewReplicaSetAvailable';
export const REASON_TIMED_OUT = 'ProgressDeadlineExceeded';
export const REASON_PAUSED = 'DeploymentPaused';
export const REASON_RESUMED = 'DeploymentResumed';
export const REASON_FAILED_RS_CREATE = 'ReplicaSetCreateError';
export const REASON_MIN_AVAILABLE = 'MinimumReplicasAvailable';
export const REASON_MIN_UNAVAILABLE = 'MinimumReplicasUnavailable';

// --- spec with Kubernetes' defaults (the API server defaults them; older objects may lack them) ---

/** `spec.replicas`. @default 1 */
export function replicasOf(d: DeploymentObject): number {
  return d.spec?.replicas ?? 1;
}

/** A replica set's `spec.replicas`. @default 1 */
export function rsReplicas(rs: ReplicaSetObject): number {
  return rs.spec?.replicas ?? 1;
}

/** The strategy is Recreate (RollingUpdate is the default). */
export function isRecreate(d: DeploymentObject): boolean {
  return d.spec?.strategy?.type === 'Recreate';
}

/** `HasProgressDeadline`: set and not MaxInt32 (what "no deadline" was spelled as). */
export function progressDeadlineSeconds(d: DeploymentObject): number | undefined {
  const s = d.spec?.progressDeadlineSeconds ?? 600;
  return s === 2147483647 ? undefined : s;
}

/** How many old replica sets to keep. @default 10 */
export function revisionHistoryLimit(d: DeploymentObject): number {
  return d.spec?.revisionHistoryLimit ?? 10;
}

function rollingParams(d: DeploymentObject): { maxSurge: IntOrString; maxUnavailable: IntOrString } {
  const ru = d.spec?.strategy?.rollingUpdate;
  return { maxSurge: ru?.maxSurge ?? '25%', maxUnavailable: ru?.maxUnavailable ?? '25%' };
}

/**
 * `ResolveFenceposts`: maxSurge rounded up, maxUnavailable rounded down, against `desired`; when
 * both come to 0 (rounding made them so), one pod may be unavailable so the rollout can move.
 */
export function resolveFenceposts(maxSurge: IntOrString, maxUnavailable: IntOrString, desired: number): { surge: number; unavailable: number } {
  const surge = scaledValue(maxSurge, desired, true);
  let unavailable = scaledValue(maxUnavailable, desired, false);
  if (surge === 0 && unavailable === 0) unavailable = 1;
  return { surge, unavailable };
}

/** `MaxUnavailable`: 0 for Recreate and for zero replicas; never more than the replicas. */
export function maxUnavailable(d: DeploymentObject): number {
  const replicas = replicasOf(d);
  if (isRecreate(d) || replicas === 0) return 0;
  const p = rollingParams(d);
  return Math.min(resolveFenceposts(p.maxSurge, p.maxUnavailable, replicas).unavailable, replicas);
}

/** `MaxSurge`: 0 for Recreate. */
export function maxSurge(d: DeploymentObject): number {
  if (isRecreate(d)) return 0;
  const p = rollingParams(d);
  return resolveFenceposts(p.maxSurge, p.maxUnavailable, replicasOf(d)).surge;
}

// --- replica counts over sets of replica sets --------------------------------------------------

/** Sum of `spec.replicas` (`GetReplicaCountForReplicaSets`). */
export function specReplicas(sets: readonly (ReplicaSetObject | undefined)[]): number {
  let n = 0;
  for (const rs of sets) if (rs !== undefined) n += rsReplicas(rs);
  return n;
}

/** Sum of `status.replicas` (`GetActualReplicaCountForReplicaSets`). */
export function actualReplicas(sets: readonly (ReplicaSetObject | undefined)[]): number {
  let n = 0;
  for (const rs of sets) if (rs !== undefined) n += rs.status?.replicas ?? 0;
  return n;
}

/** Sum of `status.readyReplicas`. */
export function readyReplicas(sets: readonly (ReplicaSetObject | undefined)[]): number {
  let n = 0;
  for (const rs of sets) if (rs !== undefined) n += rs.status?.readyReplicas ?? 0;
  return n;
}

/** Sum of `status.availableReplicas` (`GetAvailableReplicaCountForReplicaSets`). */
export function availableReplicas(sets: readonly (ReplicaSetObject | undefined)[]): number {
  let n = 0;
  for (const rs of sets) if (rs !== undefined) n += rs.status?.availableReplicas ?? 0;
  return n;
}

/** `FilterActiveReplicaSets`: those asked for at least one pod. */
export function activeReplicaSets(sets: readonly (ReplicaSetObject | undefined)[]): ReplicaSetObject[] {
  return sets.filter((rs): rs is ReplicaSetObject => rs !== undefined && rsReplicas(rs) > 0);
}

// --- the new replica set ----------------------------------------------------------------------

/**
 * `apiequality.Semantic.DeepEqual` for JSON: as in Go, a missing (nil) list or map equals an empty
 * one, so a template round-tripped through storage still equals its source.
 */
export function semanticEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (isEmpty(a) && isEmpty(b)) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => semanticEqual(x, b[i]));
  if (isJsonObject(a) && isJsonObject(b)) {
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) if (!semanticEqual(a[k], b[k])) return false;
    return true;
  }
  return false;
}

function isEmpty(v: unknown): boolean {
  return v === undefined || v === null || (Array.isArray(v) && v.length === 0) || (isJsonObject(v) && Object.keys(v).length === 0);
}

/** The template without the `pod-template-hash` label. */
export function withoutHash(template: PodTemplateSpec | undefined): PodTemplateSpec {
  const t = structuredClone(template ?? {});
  const labels = t.metadata?.labels;
  if (labels !== undefined && POD_TEMPLATE_HASH_LABEL in labels) {
    const rest = { ...labels };
    delete rest[POD_TEMPLATE_HASH_LABEL];
    return { ...t, metadata: { ...t.metadata, labels: rest } };
  }
  return t;
}

/** `EqualIgnoreHash`: the templates are equal but for the `pod-template-hash` label. */
export function equalIgnoreHash(a: PodTemplateSpec | undefined, b: PodTemplateSpec | undefined): boolean {
  return semanticEqual(withoutHash(a), withoutHash(b));
}

/**
 * `FindNewReplicaSet`: the replica set whose template is the Deployment's; the oldest when several
 * are (possible after a hash collision or an upgrade).
 */
export function findNewReplicaSet(d: DeploymentObject, sets: readonly ReplicaSetObject[]): ReplicaSetObject | undefined {
  return [...sets].sort(byCreation).find((rs) => equalIgnoreHash(rs.spec?.template, d.spec?.template));
}

/** `FindOldReplicaSets`: every other replica set of the Deployment. */
export function findOldReplicaSets(sets: readonly ReplicaSetObject[], newRS: ReplicaSetObject | undefined): ReplicaSetObject[] {
  return sets.filter((rs) => rs.metadata.uid !== newRS?.metadata.uid);
}

/**
 * `NewRSNewReplicas`: how big the new replica set may be now. RollingUpdate grows it while the
 * total stays within `replicas + maxSurge`; Recreate makes it full size at once.
 */
export function newRSNewReplicas(d: DeploymentObject, all: readonly ReplicaSetObject[], newRS: ReplicaSetObject): number {
  const replicas = replicasOf(d);
  if (isRecreate(d)) return replicas;
  const surge = scaledValue(rollingParams(d).maxSurge, replicas, true);
  const current = specReplicas(all);
  const maxTotal = replicas + surge;
  if (current >= maxTotal) return rsReplicas(newRS);
  return rsReplicas(newRS) + Math.min(maxTotal - current, replicas - rsReplicas(newRS));
}

/** `IsSaturated`: the new replica set has all the replicas, for this size, and they are available. */
export function isSaturated(d: DeploymentObject, rs: ReplicaSetObject | undefined): boolean {
  if (rs === undefined) return false;
  const desired = rs.metadata.annotations?.[DESIRED_REPLICAS_ANNOTATION];
  return rsReplicas(rs) === replicasOf(d) && desired === String(replicasOf(d)) && (rs.status?.availableReplicas ?? 0) === replicasOf(d);
}

/** `FindActiveOrLatest`: the only active replica set; the newest when none is active; none when several are. */
export function findActiveOrLatest(newRS: ReplicaSetObject | undefined, oldRSs: readonly ReplicaSetObject[]): ReplicaSetObject | undefined {
  if (newRS === undefined && oldRSs.length === 0) return undefined;
  const newestFirst = [...oldRSs].sort((a, b) => byCreation(b, a));
  const active = activeReplicaSets([...newestFirst, newRS]);
  if (active.length === 0) return newRS ?? newestFirst[0];
  return active.length === 1 ? active[0] : undefined;
}

// --- annotations -----------------------------------------------------------------------------

/** The revision a replica set carries, 0 when none (or not a number). */
export function revisionOf(obj: { metadata: { annotations?: Readonly<Record<string, string>> } }): number {
  const v = obj.metadata.annotations?.[REVISION_ANNOTATION];
  if (v === undefined || !/^\d+$/.test(v)) return 0;
  return Number(v);
}

/** `MaxRevision`. */
export function maxRevision(sets: readonly ReplicaSetObject[]): number {
  let max = 0;
  for (const rs of sets) max = Math.max(max, revisionOf(rs));
  return max;
}

/**
 * `SetNewReplicaSetAnnotations`: copies the Deployment's annotations (but for the skipped ones),
 * raises the revision to `newRevision` (keeping the old one in the revision history: this is a
 * rollback to the set) and, for a set about to be created, the replica annotations.
 * @returns whether anything changed
 */
export function setNewReplicaSetAnnotations(d: DeploymentObject, rs: ReplicaSetObject, newRevision: number, exists: boolean): boolean {
  const annotations: Record<string, string> = { ...rs.metadata.annotations };
  let changed = false;
  for (const [k, v] of Object.entries(d.metadata.annotations ?? {})) {
    if (ANNOTATIONS_TO_SKIP.has(k) || annotations[k] === v) continue;
    annotations[k] = v;
    changed = true;
  }
  const oldText = annotations[REVISION_ANNOTATION];
  if (oldText !== undefined && !/^\d+$/.test(oldText)) {
    rs.metadata.annotations = annotations;
    return changed;
  }
  const old = oldText === undefined ? 0 : Number(oldText);
  if (old < newRevision) {
    annotations[REVISION_ANNOTATION] = String(newRevision);
    changed = true;
    if (oldText !== undefined) {
      const history = annotations[REVISION_HISTORY_ANNOTATION];
      if (history === undefined || history === '') {
        annotations[REVISION_HISTORY_ANNOTATION] = oldText;
      } else {
        let parts = history.split(',');
        let total = history.length + oldText.length + 1;
        while (total > MAX_REVISION_HISTORY_CHARS && parts.length > 0) {
          total -= parts[0]!.length + 1;
          parts = parts.slice(1);
        }
        if (total <= MAX_REVISION_HISTORY_CHARS) annotations[REVISION_HISTORY_ANNOTATION] = [...parts, oldText].join(',');
      }
    }
  }
  rs.metadata.annotations = annotations;
  if (!exists && setReplicasAnnotations(rs, replicasOf(d), replicasOf(d) + maxSurge(d))) changed = true;
  return changed;
}

/** `SetReplicasAnnotations`: the Deployment size (and size + surge) this set was last scaled for. */
export function setReplicasAnnotations(rs: ReplicaSetObject, desired: number, max: number): boolean {
  const a: Record<string, string> = { ...rs.metadata.annotations };
  let changed = false;
  if (a[DESIRED_REPLICAS_ANNOTATION] !== String(desired)) {
    a[DESIRED_REPLICAS_ANNOTATION] = String(desired);
    changed = true;
  }
  if (a[MAX_REPLICAS_ANNOTATION] !== String(max)) {
    a[MAX_REPLICAS_ANNOTATION] = String(max);
    changed = true;
  }
  rs.metadata.annotations = a;
  return changed;
}

/** `ReplicasAnnotationsNeedUpdate`: the replica annotations differ from these sizes. */
export function replicasAnnotationsNeedUpdate(rs: ReplicaSetObject, desired: number, max: number): boolean {
  const a = rs.metadata.annotations ?? {};
  return a[DESIRED_REPLICAS_ANNOTATION] !== String(desired) || a[MAX_REPLICAS_ANNOTATION] !== String(max);
}

/** The `desired-replicas` annotation, if it is a number. */
export function desiredReplicasAnnotation(rs: ReplicaSetObject): number | undefined {
  const v = rs.metadata.annotations?.[DESIRED_REPLICAS_ANNOTATION];
  return v !== undefined && /^\d+$/.test(v) ? Number(v) : undefined;
}

function maxReplicasAnnotation(rs: ReplicaSetObject): number | undefined {
  const v = rs.metadata.annotations?.[MAX_REPLICAS_ANNOTATION];
  return v !== undefined && /^\d+$/.test(v) ? Number(v) : undefined;
}

// --- proportional scaling ----------------------------------------------------------------------

/** `integer.RoundToInt32`: Go's math.Round, halves away from zero. */
function roundHalfAway(x: number): number {
  return x < 0 ? -Math.round(-x) : Math.round(x);
}

/**
 * `GetReplicaSetProportion`: this set's share of `toAdd` replicas (negative to remove), in
 * proportion to its size against the Deployment size it was last scaled for, and never more than
 * what is still left to distribute.
 */
export function replicaSetProportion(rs: ReplicaSetObject, d: DeploymentObject, toAdd: number, added: number): number {
  if (rsReplicas(rs) === 0 || toAdd === 0 || toAdd === added) return 0;
  const fraction = replicaSetFraction(rs, d);
  const allowed = toAdd - added;
  return toAdd > 0 ? Math.min(fraction, allowed) : Math.max(fraction, allowed);
}

function replicaSetFraction(rs: ReplicaSetObject, d: DeploymentObject): number {
  if (replicasOf(d) === 0) return -rsReplicas(rs);
  const deploymentMax = replicasOf(d) + maxSurge(d);
  let before = maxReplicasAnnotation(rs) ?? 0;
  if (before === 0) {
    // Someone edited the annotation away: fall back to the size the Deployment last reported.
    before = d.status?.replicas ?? 0;
    if (before === 0) return 0;
  }
  return roundHalfAway((rsReplicas(rs) * deploymentMax) / before) - rsReplicas(rs);
}

/** `ReplicaSetsBySizeNewer`: larger first; among equals, newer first. */
export function bySizeNewer(a: ReplicaSetObject, b: ReplicaSetObject): number {
  return rsReplicas(a) !== rsReplicas(b) ? rsReplicas(b) - rsReplicas(a) : byCreation(b, a);
}

/** `ReplicaSetsBySizeOlder`: larger first; among equals, older first. */
export function bySizeOlder(a: ReplicaSetObject, b: ReplicaSetObject): number {
  return rsReplicas(a) !== rsReplicas(b) ? rsReplicas(b) - rsReplicas(a) : byCreation(a, b);
}

/** `ReplicaSetsByRevision`: lower revision first, then older. */
export function byRevision(a: ReplicaSetObject, b: ReplicaSetObject): number {
  const d = revisionOf(a) - revisionOf(b);
  return d !== 0 ? d : byCreation(a, b);
}

// --- status and conditions -----------------------------------------------------------------------

/** `GetDeploymentCondition`. */
export function getCondition(status: DeploymentStatus | undefined, type: string): DeploymentCondition | undefined {
  return status?.conditions?.find((c) => c.type === type);
}

/** `NewDeploymentCondition`: a condition updated and transitioned now. */
export function newCondition(type: string, status: 'True' | 'False' | 'Unknown', reason: string, message: string, nowMs: number): DeploymentCondition {
  const t = rfc3339(nowMs);
  return { type, status, reason, message, lastUpdateTime: t, lastTransitionTime: t };
}

/**
 * `SetDeploymentCondition`: replaces the condition of that type unless status and reason are the
 * same; the transition time stays when only the reason changed.
 */
export function setCondition(status: DeploymentStatus, condition: DeploymentCondition): DeploymentStatus {
  const current = getCondition(status, condition.type);
  if (current !== undefined && current.status === condition.status && current.reason === condition.reason) return status;
  const next = current !== undefined && current.status === condition.status && current.lastTransitionTime !== undefined ? { ...condition, lastTransitionTime: current.lastTransitionTime } : condition;
  return { ...status, conditions: [...(status.conditions ?? []).filter((c) => c.type !== condition.type), next] };
}

/** `RemoveDeploymentCondition`. */
export function removeCondition(status: DeploymentStatus, type: string): DeploymentStatus {
  if (getCondition(status, type) === undefined) return status;
  const conditions = (status.conditions ?? []).filter((c) => c.type !== type);
  const next: DeploymentStatus = { ...status, conditions };
  if (conditions.length === 0) delete (next as { conditions?: unknown }).conditions;
  return next;
}

/**
 * `calculateStatus`: the counts over all replica sets (updated = the new one's) and the Available
 * condition: True while at least `replicas - maxUnavailable` pods are available.
 */
export function calculateStatus(all: readonly ReplicaSetObject[], newRS: ReplicaSetObject | undefined, d: DeploymentObject, nowMs: number): DeploymentStatus {
  const available = availableReplicas(all);
  const unavailable = Math.max(0, specReplicas(all) - available);
  const counts: Record<string, number> = {
    observedGeneration: d.metadata.generation ?? 0,
    replicas: actualReplicas(all),
    updatedReplicas: actualReplicas([newRS]),
    readyReplicas: readyReplicas(all),
    availableReplicas: available,
    unavailableReplicas: unavailable,
  };
  let status: DeploymentStatus = {};
  // Zero counts are omitted, as Kubernetes' JSON omits them.
  for (const [k, v] of Object.entries(counts)) if (v !== 0) status = { ...status, [k]: v };
  if (d.status?.collisionCount !== undefined) status = { ...status, collisionCount: d.status.collisionCount };
  if (d.status?.conditions !== undefined && d.status.conditions.length > 0) status = { ...status, conditions: [...d.status.conditions] };
  const cond =
    available >= replicasOf(d) - maxUnavailable(d)
      ? newCondition('Available', 'True', REASON_MIN_AVAILABLE, 'Deployment has minimum availability.', nowMs)
      : newCondition('Available', 'False', REASON_MIN_UNAVAILABLE, 'Deployment does not have minimum availability.', nowMs);
  return setCondition(status, cond);
}

/** `DeploymentComplete`: every replica updated and available, and this generation observed. */
export function deploymentComplete(d: DeploymentObject, s: DeploymentStatus): boolean {
  const r = replicasOf(d);
  return (s.updatedReplicas ?? 0) === r && (s.replicas ?? 0) === r && (s.availableReplicas ?? 0) === r && (s.observedGeneration ?? 0) >= (d.metadata.generation ?? 0);
}

/** `DeploymentProgressing`: more updated, fewer old, more ready or more available pods than last time. */
export function deploymentProgressing(d: DeploymentObject, s: DeploymentStatus): boolean {
  const old = d.status ?? {};
  const oldOld = (old.replicas ?? 0) - (old.updatedReplicas ?? 0);
  const newOld = (s.replicas ?? 0) - (s.updatedReplicas ?? 0);
  return (s.updatedReplicas ?? 0) > (old.updatedReplicas ?? 0) || newOld < oldOld || (s.readyReplicas ?? 0) > (old.readyReplicas ?? 0) || (s.availableReplicas ?? 0) > (old.availableReplicas ?? 0);
}

/** `DeploymentTimedOut`: no progress for `progressDeadlineSeconds` since the Progressing condition was last updated. */
export function deploymentTimedOut(d: DeploymentObject, s: DeploymentStatus, nowMs: number): boolean {
  const deadline = progressDeadlineSeconds(d);
  if (deadline === undefined) return false;
  const c = getCondition(s, 'Progressing');
  if (c === undefined) return false;
  if (c.reason === REASON_NEW_RS_AVAILABLE) return false;
  if (c.reason === REASON_TIMED_OUT) return true;
  return timeMs(c.lastUpdateTime) + deadline * 1000 < nowMs;
}

/** Deep equality of two statuses as stored (what `reflect.DeepEqual` decides in Kubernetes). */
export function statusEqual(a: DeploymentStatus | undefined, b: DeploymentStatus): boolean {
  return semanticEqual(a ?? {}, b);
}
