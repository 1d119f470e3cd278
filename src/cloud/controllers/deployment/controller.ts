import type { DeploymentStatus } from 'kubernetes-types/apps/v1.d.ts';
import { labelSelectorFromMeta, type LabelSelector } from '../../../api/selectors/labels.ts';
import { describeError, hasCode } from '../../../errors/platform-error.ts';
import type { Logger } from '../../../log/logger.ts';
import type { KubeClient, ResourceClient } from '../../client/client.ts';
import type { EventRecorder } from '../events/recorder.ts';
import { ControllerRefManager } from '../replicaset/controller-ref.ts';
import { BY_CONTROLLER, byCreation, DEPLOYMENT_KIND, newControllerRef, orphanIndexValue, type DeploymentObject, type PodObject, type ReplicaSetObject } from '../replicaset/objects.ts';
import type { ReconcileResult, Reconciler } from '../runtime/controller.ts';
import type { Informer } from '../runtime/informer.ts';
import { computeHash, POD_TEMPLATE_HASH_LABEL } from './hash.ts';
import {
  activeReplicaSets,
  actualReplicas,
  byRevision,
  bySizeNewer,
  bySizeOlder,
  calculateStatus,
  deploymentComplete,
  deploymentProgressing,
  deploymentTimedOut,
  desiredReplicasAnnotation,
  equalIgnoreHash,
  findActiveOrLatest,
  findNewReplicaSet,
  getCondition,
  isRecreate,
  isSaturated,
  maxRevision,
  maxSurge,
  maxUnavailable,
  newCondition,
  newRSNewReplicas,
  progressDeadlineSeconds,
  REASON_FAILED_RS_CREATE,
  REASON_FOUND_NEW_RS,
  REASON_NEW_RS_AVAILABLE,
  REASON_NEW_RS_CREATED,
  REASON_PAUSED,
  REASON_RESUMED,
  REASON_RS_UPDATED,
  REASON_TIMED_OUT,
  removeCondition,
  replicaSetProportion,
  replicasAnnotationsNeedUpdate,
  replicasOf,
  REVISION_ANNOTATION,
  revisionHistoryLimit,
  rsReplicas,
  setCondition,
  setNewReplicaSetAnnotations,
  setReplicasAnnotations,
  specReplicas,
  statusEqual,
} from './util.ts';

/** Options of {@link DeploymentController}. */
export interface DeploymentControllerOptions {
  readonly deployments: Informer<DeploymentObject>;
  /** Must carry the {@link BY_CONTROLLER} index. */
  readonly replicaSets: Informer<ReplicaSetObject>;
  /** Must carry the {@link BY_CONTROLLER} index; read for Recreate, which waits for old pods to be gone. */
  readonly pods: Informer<PodObject>;
  readonly client: KubeClient;
  readonly recorder: EventRecorder;
  readonly log: Logger;
  /** @default Date.now */
  readonly now?: () => number;
}

/**
 * The Deployment controller (Kubernetes' `pkg/controller/deployment`): one ReplicaSet per pod
 * template, named and labelled by the template's hash; RollingUpdate within maxSurge and
 * maxUnavailable, or Recreate; proportional scaling of every set while a rollout is under way;
 * revisions and their history (`kubectl rollout history|undo`); pause; the status and the
 * Available and Progressing conditions `kubectl rollout status` reads, with the progress deadline.
 */
export class DeploymentController implements Reconciler {
  readonly name = 'deployment';
  readonly #o: DeploymentControllerOptions;
  readonly #clients: Clients;

  constructor(options: DeploymentControllerOptions) {
    this.#o = options;
    this.#clients = {
      deployments: options.client.resource<DeploymentObject>('apps', 'v1', 'deployments'),
      replicaSets: options.client.resource<ReplicaSetObject>('apps', 'v1', 'replicasets'),
    };
  }

  async reconcile(key: string): Promise<ReconcileResult> {
    const cached = this.#o.deployments.getByKey(key);
    if (cached === undefined) return;
    return new DeploymentSync(structuredClone(cached), this.#o, this.#clients).run();
  }
}

interface Clients {
  readonly deployments: ResourceClient<DeploymentObject>;
  readonly replicaSets: ResourceClient<ReplicaSetObject>;
}

/**
 * One reconcile of one Deployment (`syncDeployment` and what it calls). It works on a copy of the
 * Deployment and of its replica sets and replaces them with what each write returns, so the writes
 * of one pass chain their resourceVersions; a conflict with anyone else ends the pass and the
 * Deployment is reconciled again from the cache.
 */
class DeploymentSync {
  #d: DeploymentObject;
  readonly #o: DeploymentControllerOptions;
  readonly #c: Clients;
  readonly #now: number;
  readonly #key: string;

  constructor(d: DeploymentObject, options: DeploymentControllerOptions, clients: Clients) {
    this.#d = d;
    this.#o = options;
    this.#c = clients;
    this.#now = (options.now ?? Date.now)();
    this.#key = `${d.metadata.namespace ?? ''}/${d.metadata.name ?? ''}`;
  }

  async run(): Promise<ReconcileResult> {
    const d = this.#d;
    const selector = d.spec?.selector;
    if (selector !== undefined && Object.keys(selector.matchLabels ?? {}).length === 0 && (selector.matchExpressions ?? []).length === 0) {
      void this.#o.recorder.record(d, 'Warning', 'SelectingAll', 'This deployment is selecting all pods. A non-empty selector is required.');
      if ((d.status?.observedGeneration ?? 0) < (d.metadata.generation ?? 0)) await this.#writeStatus({ ...d.status, observedGeneration: d.metadata.generation ?? 0 });
      return;
    }
    const conversion = labelSelectorFromMeta(selector, 'spec.selector');
    if (!conversion.ok) {
      this.#o.log.warn('deployment has an invalid selector', { deployment: this.#key });
      return;
    }
    const sets = await this.#claimReplicaSets(conversion.selector);
    if (d.metadata.deletionTimestamp !== undefined) return this.#syncStatusOnly(sets);
    await this.#checkPausedConditions();
    if (this.#d.spec?.paused === true) return this.#syncScale(sets);
    const { newRS, oldRSs } = await this.#allReplicaSetsAndSyncRevision(sets, false);
    if (this.#isScalingEvent(newRS, oldRSs)) return this.#syncScale(sets, { newRS, oldRSs });
    return isRecreate(this.#d) ? this.#rolloutRecreate(sets, newRS, oldRSs) : this.#rolloutRolling(sets);
  }

  // --- replica sets --------------------------------------------------------------------------

  /** `getReplicaSetsForDeployment`: owned sets that still match, after adopting and releasing. */
  async #claimReplicaSets(selector: LabelSelector): Promise<ReplicaSetObject[]> {
    const d = this.#d;
    const informer = this.#o.replicaSets;
    const candidates = [...informer.byIndex(BY_CONTROLLER, d.metadata.uid ?? ''), ...informer.byIndex(BY_CONTROLLER, orphanIndexValue(d.metadata.namespace))];
    const refs = new ControllerRefManager<ReplicaSetObject>({
      owner: d,
      ownerKind: DEPLOYMENT_KIND,
      selector,
      client: this.#c.replicaSets,
      getOwner: () => this.#c.deployments.get(d.metadata.namespace, d.metadata.name ?? ''),
    });
    return (await refs.claim(candidates)).map((rs) => structuredClone(rs));
  }

  /**
   * `getAllReplicaSetsAndSyncRevision`: the new set (created when `create` and missing) with its
   * revision raised above every old one, and the old sets.
   */
  async #allReplicaSetsAndSyncRevision(sets: ReplicaSetObject[], create: boolean): Promise<{ newRS: ReplicaSetObject | undefined; oldRSs: ReplicaSetObject[] }> {
    const existing = findNewReplicaSet(this.#d, sets);
    const oldRSs = sets.filter((rs) => rs !== existing);
    const newRS = await this.#newReplicaSet(existing, sets, oldRSs, create);
    return { newRS, oldRSs };
  }

  async #newReplicaSet(existing: ReplicaSetObject | undefined, sets: ReplicaSetObject[], oldRSs: ReplicaSetObject[], create: boolean): Promise<ReplicaSetObject | undefined> {
    const d = this.#d;
    const newRevision = maxRevision(oldRSs) + 1;
    if (existing !== undefined) {
      const copy = structuredClone(existing);
      const annotationsChanged = setNewReplicaSetAnnotations(d, copy, newRevision, true);
      const minReady = d.spec?.minReadySeconds ?? 0;
      if (annotationsChanged || (copy.spec?.minReadySeconds ?? 0) !== minReady) {
        const updated = await this.#c.replicaSets.update({ ...copy, spec: { ...copy.spec!, minReadySeconds: minReady } });
        replaceIn(sets, existing, updated);
        return updated;
      }
      await this.#setRevision(existing.metadata.annotations?.[REVISION_ANNOTATION]);
      if (progressDeadlineSeconds(d) !== undefined && getCondition(this.#d.status, 'Progressing') === undefined) {
        const cond = newCondition('Progressing', 'True', REASON_FOUND_NEW_RS, `Found new replica set "${existing.metadata.name ?? ''}"`, this.#now);
        await this.#writeStatus(setCondition(this.#d.status ?? {}, cond));
      }
      return existing;
    }
    if (!create) return undefined;
    return this.#createNewReplicaSet(sets, oldRSs, newRevision);
  }

  async #createNewReplicaSet(sets: ReplicaSetObject[], oldRSs: ReplicaSetObject[], newRevision: number): Promise<ReplicaSetObject> {
    const d = this.#d;
    const hash = computeHash(d.spec?.template, d.status?.collisionCount);
    const template = structuredClone(d.spec?.template ?? {});
    const labels = { ...template.metadata?.labels, [POD_TEMPLATE_HASH_LABEL]: hash };
    const selector = d.spec?.selector ?? {};
    const rs: ReplicaSetObject = {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: { name: `${d.metadata.name ?? ''}-${hash}`, namespace: d.metadata.namespace, labels, ownerReferences: [newControllerRef(d, DEPLOYMENT_KIND)] },
      spec: {
        replicas: 0,
        minReadySeconds: d.spec?.minReadySeconds ?? 0,
        selector: { ...selector, matchLabels: { ...selector.matchLabels, [POD_TEMPLATE_HASH_LABEL]: hash } },
        template: { ...template, metadata: { ...template.metadata, labels } },
      },
    };
    const replicas = newRSNewReplicas(d, [...oldRSs, rs], rs);
    rs.spec = { ...rs.spec!, replicas };
    setNewReplicaSetAnnotations(d, rs, newRevision, false);

    let created: ReplicaSetObject;
    let alreadyExisted = false;
    try {
      created = await this.#c.replicaSets.create(d.metadata.namespace, rs);
    } catch (err) {
      if (!hasCode(err, 'API_ALREADY_EXISTS')) {
        const msg = `Failed to create new replica set "${rs.metadata.name ?? ''}": ${describeError(err)}`;
        if (progressDeadlineSeconds(d) !== undefined) {
          await this.#writeStatus(setCondition(this.#d.status ?? {}, newCondition('Progressing', 'False', REASON_FAILED_RS_CREATE, msg, this.#now))).catch(() => undefined);
        }
        void this.#o.recorder.record(d, 'Warning', REASON_FAILED_RS_CREATE, msg);
        throw err;
      }
      // A slow cache, or another template with the same hash.
      const found = this.#o.replicaSets.get(d.metadata.namespace, rs.metadata.name ?? '') ?? (await this.#c.replicaSets.get(d.metadata.namespace, rs.metadata.name ?? ''));
      const ref = found?.metadata.ownerReferences?.find((r) => r.controller === true);
      if (found === undefined || ref?.uid !== d.metadata.uid || !equalIgnoreHash(found.spec?.template, d.spec?.template)) {
        const collisionCount = (d.status?.collisionCount ?? 0) + 1;
        this.#o.log.info('pod template hash collision; bumping collisionCount', { deployment: this.#key, collisionCount });
        await this.#writeStatus({ ...this.#d.status, collisionCount });
        throw err;
      }
      created = found;
      alreadyExisted = true;
    }
    sets.push(created);
    if (!alreadyExisted && replicas > 0) {
      void this.#o.recorder.record(d, 'Normal', 'ScalingReplicaSet', `Scaled up replica set ${created.metadata.name ?? ''} from 0 to ${replicas}`);
    }
    await this.#setRevision(String(newRevision));
    if (!alreadyExisted && progressDeadlineSeconds(d) !== undefined) {
      const cond = newCondition('Progressing', 'True', REASON_NEW_RS_CREATED, `Created new replica set "${created.metadata.name ?? ''}"`, this.#now);
      await this.#writeStatus(setCondition(this.#d.status ?? {}, cond));
    }
    return created;
  }

  /** `SetDeploymentRevision`: the Deployment carries the revision of its new replica set. */
  async #setRevision(revision: string | undefined): Promise<void> {
    if (revision === undefined || this.#d.metadata.annotations?.[REVISION_ANNOTATION] === revision) return;
    // A status write cannot change metadata here, so the annotation is its own (conditional) write.
    const next = structuredClone(this.#d);
    next.metadata.annotations = { ...next.metadata.annotations, [REVISION_ANNOTATION]: revision };
    this.#d = await this.#c.deployments.update(next);
  }

  /** `isScalingEvent`: an active set was scaled for another Deployment size than the current one. */
  #isScalingEvent(newRS: ReplicaSetObject | undefined, oldRSs: readonly ReplicaSetObject[]): boolean {
    for (const rs of activeReplicaSets([...oldRSs, newRS])) {
      const desired = desiredReplicasAnnotation(rs);
      if (desired !== undefined && desired !== replicasOf(this.#d)) return true;
    }
    return false;
  }

  /**
   * `scaleReplicaSet`: sets the size and the replica annotations; records ScalingReplicaSet when
   * the size changed.
   * @returns the set as stored now
   */
  async #scaleReplicaSet(sets: ReplicaSetObject[], rs: ReplicaSetObject, size: number, operation?: 'up' | 'down'): Promise<{ scaled: boolean; rs: ReplicaSetObject }> {
    const d = this.#d;
    const sizeChanged = rsReplicas(rs) !== size;
    const maxReplicas = replicasOf(d) + maxSurge(d);
    if (!sizeChanged && !replicasAnnotationsNeedUpdate(rs, replicasOf(d), maxReplicas)) return { scaled: false, rs };
    const from = rsReplicas(rs);
    const copy = structuredClone(rs);
    copy.spec = { ...copy.spec!, replicas: size };
    setReplicasAnnotations(copy, replicasOf(d), maxReplicas);
    const updated = await this.#c.replicaSets.update(copy);
    replaceIn(sets, rs, updated);
    if (sizeChanged) {
      const op = operation ?? (from < size ? 'up' : 'down');
      void this.#o.recorder.record(d, 'Normal', 'ScalingReplicaSet', `Scaled ${op} replica set ${updated.metadata.name ?? ''} from ${from} to ${size}`);
    }
    return { scaled: sizeChanged, rs: updated };
  }

  // --- strategies ----------------------------------------------------------------------------

  /** `sync`: scaling and pausing; no rollout. */
  async #syncScale(sets: ReplicaSetObject[], known?: { newRS: ReplicaSetObject | undefined; oldRSs: ReplicaSetObject[] }): Promise<ReconcileResult> {
    const { newRS, oldRSs } = known ?? (await this.#allReplicaSetsAndSyncRevision(sets, false));
    await this.#scale(sets, newRS, oldRSs);
    if (this.#d.spec?.paused === true) await this.#cleanup(sets, newRS);
    return this.#syncStatus(sets, current(sets, newRS));
  }

  /** `scale`: brings the sets to the Deployment's size, proportionally while a rollout is under way. */
  async #scale(sets: ReplicaSetObject[], newRS: ReplicaSetObject | undefined, oldRSs: readonly ReplicaSetObject[]): Promise<void> {
    const d = this.#d;
    const only = findActiveOrLatest(newRS, oldRSs);
    if (only !== undefined) {
      if (rsReplicas(only) !== replicasOf(d)) await this.#scaleReplicaSet(sets, only, replicasOf(d));
      return;
    }
    if (isSaturated(d, newRS)) {
      for (const old of activeReplicaSets(oldRSs)) await this.#scaleReplicaSet(sets, old, 0);
      return;
    }
    if (isRecreate(d)) return;
    const active = activeReplicaSets([...oldRSs, newRS]);
    const allowed = replicasOf(d) > 0 ? replicasOf(d) + maxSurge(d) : 0;
    const toAdd = allowed - specReplicas(active);
    let operation: 'up' | 'down' | undefined;
    if (toAdd > 0) {
      active.sort(bySizeNewer);
      operation = 'up';
    } else if (toAdd < 0) {
      active.sort(bySizeOlder);
      operation = 'down';
    }
    let added = 0;
    const sizes = new Map<ReplicaSetObject, number>();
    for (const rs of active) {
      if (toAdd !== 0) {
        const proportion = replicaSetProportion(rs, d, toAdd, added);
        sizes.set(rs, rsReplicas(rs) + proportion);
        added += proportion;
      } else {
        sizes.set(rs, rsReplicas(rs));
      }
    }
    for (const [i, rs] of active.entries()) {
      let size = sizes.get(rs)!;
      // Leftovers of the rounding go to the largest set.
      if (i === 0 && toAdd !== 0) size = Math.max(0, size + toAdd - added);
      await this.#scaleReplicaSet(sets, rs, size, operation);
    }
  }

  /** `rolloutRolling`: grow the new set within maxSurge, shrink old ones within maxUnavailable. */
  async #rolloutRolling(sets: ReplicaSetObject[]): Promise<ReconcileResult> {
    const d = this.#d;
    const { newRS } = await this.#allReplicaSetsAndSyncRevision(sets, true);
    let nrs = newRS!;

    // Scale up, if we can.
    if (rsReplicas(nrs) !== replicasOf(d)) {
      const size = rsReplicas(nrs) > replicasOf(d) ? replicasOf(d) : newRSNewReplicas(d, sets, nrs);
      const r = await this.#scaleReplicaSet(sets, nrs, size);
      nrs = r.rs;
      if (r.scaled) return this.#syncRolloutStatus(sets, nrs);
    }

    // Scale down, if we can.
    if (await this.#reconcileOldReplicaSets(sets, nrs)) return this.#syncRolloutStatus(sets, current(sets, nrs));

    const status = calculateStatus(sets, current(sets, nrs), this.#d, this.#now);
    if (deploymentComplete(this.#d, status)) await this.#cleanup(sets, current(sets, nrs));
    return this.#syncRolloutStatus(sets, current(sets, nrs));
  }

  /** `reconcileOldReplicaSets`: how far old sets may shrink without going below `replicas - maxUnavailable` available. */
  async #reconcileOldReplicaSets(sets: ReplicaSetObject[], newRS: ReplicaSetObject): Promise<boolean> {
    const d = this.#d;
    const oldActive = () => activeReplicaSets(sets.filter((rs) => rs.metadata.uid !== newRS.metadata.uid));
    if (specReplicas(oldActive()) === 0) return false;
    const minAvailable = replicasOf(d) - maxUnavailable(d);
    const newUnavailable = rsReplicas(newRS) - (newRS.status?.availableReplicas ?? 0);
    const maxScaledDown = specReplicas(sets) - minAvailable - newUnavailable;
    if (maxScaledDown <= 0) return false;

    // Unhealthy old replicas go first: they may never become available and would block the rollout.
    let cleaned = 0;
    for (const rs of oldActive().sort(byCreation)) {
      if (cleaned >= maxScaledDown) break;
      const unhealthy = rsReplicas(rs) - (rs.status?.availableReplicas ?? 0);
      if (unhealthy <= 0) continue;
      const down = Math.min(maxScaledDown - cleaned, unhealthy);
      await this.#scaleReplicaSet(sets, rs, rsReplicas(rs) - down);
      cleaned += down;
    }

    // Then healthy ones, as far as availability allows. A set counts at most as many available pods
    // as it is asked for: right after a scale-down its status may still show the pods it is about to
    // delete, and counting those would let this pass take the Deployment below its minimum.
    let scaledDown = 0;
    const available = availableWithin([...oldActive(), current(sets, newRS)]);
    if (available > minAvailable) {
      const total = available - minAvailable;
      for (const rs of oldActive().sort(byCreation)) {
        if (scaledDown >= total) break;
        const down = Math.min(rsReplicas(rs), total - scaledDown);
        await this.#scaleReplicaSet(sets, rs, rsReplicas(rs) - down);
        scaledDown += down;
      }
    }
    return cleaned + scaledDown > 0;
  }

  /** `rolloutRecreate`: every old pod gone before the new set grows. */
  async #rolloutRecreate(sets: ReplicaSetObject[], existingNew: ReplicaSetObject | undefined, oldRSs: readonly ReplicaSetObject[]): Promise<ReconcileResult> {
    let scaledDown = false;
    for (const rs of activeReplicaSets(oldRSs)) {
      if ((await this.#scaleReplicaSet(sets, rs, 0)).scaled) scaledDown = true;
    }
    if (scaledDown) return this.#syncRolloutStatus(sets, current(sets, existingNew));
    if (this.#oldPodsRunning(sets, existingNew)) return this.#syncRolloutStatus(sets, current(sets, existingNew));

    let newRS = existingNew;
    if (newRS === undefined) newRS = (await this.#allReplicaSetsAndSyncRevision(sets, true)).newRS!;
    newRS = (await this.#scaleReplicaSet(sets, current(sets, newRS)!, replicasOf(this.#d))).rs;
    const status = calculateStatus(sets, newRS, this.#d, this.#now);
    if (deploymentComplete(this.#d, status)) await this.#cleanup(sets, newRS);
    return this.#syncRolloutStatus(sets, current(sets, newRS));
  }

  /**
   * `oldPodsRunning`: old sets still report pods, or a pod of theirs has not finished (terminating
   * pods count: Recreate promises the old and new versions never run together).
   */
  #oldPodsRunning(sets: readonly ReplicaSetObject[], newRS: ReplicaSetObject | undefined): boolean {
    const old = sets.filter((rs) => rs.metadata.uid !== newRS?.metadata.uid);
    if (actualReplicas(old) > 0) return true;
    for (const rs of old) {
      for (const pod of this.#o.pods.byIndex(BY_CONTROLLER, rs.metadata.uid ?? '')) {
        const phase = pod.status?.phase;
        if (phase !== 'Failed' && phase !== 'Succeeded') return true;
      }
    }
    return false;
  }

  /** `cleanupDeployment`: deletes the oldest empty old sets beyond `revisionHistoryLimit`. */
  async #cleanup(sets: readonly ReplicaSetObject[], newRS: ReplicaSetObject | undefined): Promise<void> {
    const limit = revisionHistoryLimit(this.#d);
    const cleanable = sets.filter((rs) => rs.metadata.uid !== newRS?.metadata.uid && rs.metadata.deletionTimestamp === undefined).sort(byRevision);
    const excess = cleanable.length - limit;
    for (const rs of cleanable.slice(0, Math.max(0, excess))) {
      if ((rs.status?.replicas ?? 0) !== 0 || rsReplicas(rs) !== 0 || (rs.metadata.generation ?? 0) > (rs.status?.observedGeneration ?? 0)) continue;
      this.#o.log.debug('deleting old replica set', { deployment: this.#key, replicaSet: rs.metadata.name });
      try {
        await this.#c.replicaSets.delete(rs.metadata.namespace, rs.metadata.name ?? '', { ...(rs.metadata.uid !== undefined ? { preconditions: { uid: rs.metadata.uid } } : {}) });
      } catch (err) {
        if (!hasCode(err, 'API_NOT_FOUND')) throw err;
      }
    }
  }

  // --- status --------------------------------------------------------------------------------

  /** `checkPausedConditions`: Progressing=Unknown while paused, so a long pause is not a timeout. */
  async #checkPausedConditions(): Promise<void> {
    const d = this.#d;
    if (progressDeadlineSeconds(d) === undefined) return;
    const cond = getCondition(d.status, 'Progressing');
    if (cond?.reason === REASON_TIMED_OUT) return;
    const pausedCond = cond?.reason === REASON_PAUSED;
    if (d.spec?.paused === true && !pausedCond) {
      await this.#writeStatus(setCondition(d.status ?? {}, newCondition('Progressing', 'Unknown', REASON_PAUSED, 'Deployment is paused', this.#now)));
    } else if (d.spec?.paused !== true && pausedCond) {
      await this.#writeStatus(setCondition(d.status ?? {}, newCondition('Progressing', 'Unknown', REASON_RESUMED, 'Deployment is resumed', this.#now)));
    }
  }

  async #syncStatusOnly(sets: ReplicaSetObject[]): Promise<ReconcileResult> {
    const { newRS } = await this.#allReplicaSetsAndSyncRevision(sets, false);
    return this.#syncStatus(sets, newRS);
  }

  /** `syncDeploymentStatus`: the counts and Available, no progress estimate. */
  async #syncStatus(sets: readonly ReplicaSetObject[], newRS: ReplicaSetObject | undefined): Promise<ReconcileResult> {
    const status = calculateStatus(sets, newRS, this.#d, this.#now);
    if (!statusEqual(this.#d.status, status)) await this.#writeStatus(status);
    return undefined;
  }

  /**
   * `syncRolloutStatus`: the counts, Available, and Progressing: NewReplicaSetAvailable once
   * complete, ReplicaSetUpdated while it moves, ProgressDeadlineExceeded when it has not moved for
   * `progressDeadlineSeconds`; ReplicaFailure copied from the replica sets.
   */
  async #syncRolloutStatus(sets: readonly ReplicaSetObject[], newRS: ReplicaSetObject | undefined): Promise<ReconcileResult> {
    const d = this.#d;
    let status = calculateStatus(sets, newRS, d, this.#now);
    const deadline = progressDeadlineSeconds(d);
    if (deadline === undefined) status = removeCondition(status, 'Progressing');
    const cur = getCondition(d.status, 'Progressing');
    const completeBefore = (status.replicas ?? 0) === (status.updatedReplicas ?? 0) && cur?.reason === REASON_NEW_RS_AVAILABLE;
    if (deadline !== undefined && !completeBefore) {
      const rsName = newRS?.metadata.name;
      if (deploymentComplete(d, status)) {
        const msg = rsName !== undefined ? `ReplicaSet "${rsName}" has successfully progressed.` : `Deployment "${d.metadata.name ?? ''}" has successfully progressed.`;
        status = setCondition(status, newCondition('Progressing', 'True', REASON_NEW_RS_AVAILABLE, msg, this.#now));
      } else if (deploymentProgressing(d, status)) {
        const msg = rsName !== undefined ? `ReplicaSet "${rsName}" is progressing.` : `Deployment "${d.metadata.name ?? ''}" is progressing.`;
        let cond = newCondition('Progressing', 'True', REASON_RS_UPDATED, msg, this.#now);
        // Progress refreshes lastUpdateTime even with an unchanged reason; the transition time stays.
        if (cur?.status === 'True' && cur.lastTransitionTime !== undefined) cond = { ...cond, lastTransitionTime: cur.lastTransitionTime };
        status = setCondition(removeCondition(status, 'Progressing'), cond);
      } else if (deploymentTimedOut(d, status, this.#now)) {
        const msg = rsName !== undefined ? `ReplicaSet "${rsName}" has timed out progressing.` : `Deployment "${d.metadata.name ?? ''}" has timed out progressing.`;
        status = setCondition(status, newCondition('Progressing', 'False', REASON_TIMED_OUT, msg, this.#now));
      }
    }
    const failure = replicaFailure(sets, newRS);
    status = failure !== undefined ? setCondition(status, failure) : removeCondition(status, 'ReplicaFailure');
    if (statusEqual(d.status, status)) return this.#requeueStuck(status);
    await this.#writeStatus(status);
    return undefined;
  }

  /**
   * `requeueStuckDeployment`: with no event to come, look again when the progress deadline passes,
   * so ProgressDeadlineExceeded is reported on time.
   */
  #requeueStuck(status: DeploymentStatus): ReconcileResult {
    const d = this.#d;
    const deadline = progressDeadlineSeconds(d);
    const cur = getCondition(d.status, 'Progressing');
    if (deadline === undefined || cur === undefined) return undefined;
    if (deploymentComplete(d, status) || cur.reason === REASON_TIMED_OUT) return undefined;
    const after = Date.parse(cur.lastUpdateTime ?? '') + deadline * 1000 - this.#now;
    if (Number.isNaN(after)) return undefined;
    // One second more: the condition's timestamp has whole seconds, and the check is strictly after.
    return { requeueAfterMs: Math.max(0, after) + 1000 };
  }

  async #writeStatus(status: DeploymentStatus): Promise<void> {
    this.#d = await this.#c.deployments.updateStatus({ ...this.#d, status });
  }
}

/** `getReplicaFailures`: the new set's ReplicaFailure condition, else the first old set's. */
function replicaFailure(sets: readonly ReplicaSetObject[], newRS: ReplicaSetObject | undefined) {
  const ordered = [...(newRS !== undefined ? [newRS] : []), ...sets.filter((rs) => rs.metadata.uid !== newRS?.metadata.uid)];
  for (const rs of ordered) {
    const c = rs.status?.conditions?.find((x) => x.type === 'ReplicaFailure');
    if (c !== undefined) return { type: 'ReplicaFailure', status: c.status, reason: c.reason ?? '', message: c.message ?? '', lastUpdateTime: c.lastTransitionTime, lastTransitionTime: c.lastTransitionTime };
  }
  return undefined;
}

function availableWithin(sets: readonly (ReplicaSetObject | undefined)[]): number {
  let n = 0;
  for (const rs of sets) if (rs !== undefined) n += Math.min(rs.status?.availableReplicas ?? 0, rsReplicas(rs));
  return n;
}

function replaceIn(sets: ReplicaSetObject[], old: ReplicaSetObject, updated: ReplicaSetObject): void {
  const i = sets.findIndex((rs) => rs.metadata.uid === old.metadata.uid);
  if (i >= 0) sets[i] = updated;
  else sets.push(updated);
}

/** The current version of `rs` in `sets` (after writes replaced it). */
function current(sets: readonly ReplicaSetObject[], rs: ReplicaSetObject | undefined): ReplicaSetObject | undefined {
  if (rs === undefined) return undefined;
  return sets.find((x) => x.metadata.uid === rs.metadata.uid) ?? rs;
}
