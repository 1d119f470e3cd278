import type { ReplicaSetCondition, ReplicaSetStatus } from 'kubernetes-types/apps/v1.d.ts';
import { labelSelectorFromMeta, LabelSelector } from '../../../api/selectors/labels.ts';
import { describeError } from '../../../errors/platform-error.ts';
import type { Logger } from '../../../log/logger.ts';
import type { KubeClient, ResourceClient } from '../../client/client.ts';
import type { EventRecorder } from '../events/recorder.ts';
import type { ReconcileResult, Reconciler } from '../runtime/controller.ts';
import type { Informer } from '../runtime/informer.ts';
import { ControllerRefManager } from './controller-ref.ts';
import type { CacheState, Expectations } from './expectations.ts';
import { BY_CONTROLLER, controllerOf, newControllerRef, orphanIndexValue, REPLICA_SET_KIND, type PodObject, type ReplicaSetObject } from './objects.ts';
import { PodControl } from './pod-control.ts';
import { isPodActive, isPodAvailable, isPodReady, msUntilAvailable, podFromTemplate, rankForDeletion } from './pods.ts';
import { rfc3339 } from '../../../api/time.ts';

/**
 * `BurstReplicas`: the most pods one sync creates or deletes. The rest follow in later syncs, once
 * the informer has shown these, so a large scale-up neither floods the API nor acts on a stale cache.
 */
export const BURST_REPLICAS = 500;

/** Options of {@link ReplicaSetController}. */
export interface ReplicaSetControllerOptions {
  readonly replicaSets: Informer<ReplicaSetObject>;
  /** Must carry the {@link BY_CONTROLLER} index. */
  readonly pods: Informer<PodObject>;
  readonly client: KubeClient;
  readonly recorder: EventRecorder;
  readonly expectations: Expectations;
  readonly log: Logger;
  /** @default Date.now */
  readonly now?: () => number;
  /** @default {@link BURST_REPLICAS} */
  readonly burstReplicas?: number;
}

/**
 * The ReplicaSet controller (Kubernetes' `pkg/controller/replicaset`): keeps `spec.replicas`
 * active pods that match the selector, owned through a controller reference; adopts matching
 * orphans and releases pods that stop matching; creates from the template and deletes the pods
 * that matter least (unscheduled, not ready, newest); reports replicas, fully labelled, ready and
 * available (ready for `minReadySeconds`) counts with the observed generation.
 */
export class ReplicaSetController implements Reconciler {
  readonly name = 'replicaset';
  readonly #replicaSets: Informer<ReplicaSetObject>;
  readonly #pods: Informer<PodObject>;
  readonly #rsClient: ResourceClient<ReplicaSetObject>;
  readonly #podClient: ResourceClient<PodObject>;
  readonly #expectations: Expectations;
  readonly #podControl: PodControl;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #burst: number;

  constructor(options: ReplicaSetControllerOptions) {
    this.#replicaSets = options.replicaSets;
    this.#pods = options.pods;
    this.#rsClient = options.client.resource<ReplicaSetObject>('apps', 'v1', 'replicasets');
    this.#podClient = options.client.resource<PodObject>('', 'v1', 'pods');
    this.#expectations = options.expectations;
    this.#podControl = new PodControl({ pods: this.#podClient, recorder: options.recorder, expectations: options.expectations });
    this.#log = options.log;
    this.#now = options.now ?? Date.now;
    this.#burst = options.burstReplicas ?? BURST_REPLICAS;
  }

  async reconcile(key: string): Promise<ReconcileResult> {
    const rs = this.#replicaSets.getByKey(key);
    if (rs === undefined) {
      this.#expectations.delete(key);
      return;
    }
    const conversion = labelSelectorFromMeta(rs.spec?.selector, 'spec.selector');
    if (!conversion.ok) {
      // Validation keeps invalid selectors out; an object stored before that rule can only be logged.
      this.#log.warn('replica set has an invalid selector', { replicaSet: key });
      return;
    }
    const namespace = rs.metadata.namespace;
    const needsSync = this.#expectations.satisfied(key, (name) => cacheState(this.#pods.get(namespace, name)));
    const candidates = [...this.#pods.byIndex(BY_CONTROLLER, rs.metadata.uid ?? ''), ...this.#pods.byIndex(BY_CONTROLLER, orphanIndexValue(namespace))].filter(isPodActive);
    const refs = new ControllerRefManager<PodObject>({
      owner: rs,
      ownerKind: REPLICA_SET_KIND,
      selector: conversion.selector,
      client: this.#podClient,
      getOwner: () => this.#rsClient.get(namespace, rs.metadata.name ?? ''),
    });
    const pods = await refs.claim(candidates);

    let manageError: Error | undefined;
    if (needsSync && rs.metadata.deletionTimestamp === undefined) {
      try {
        await this.#manageReplicas(rs, key, pods);
      } catch (err) {
        manageError = err instanceof Error ? err : new Error(String(err));
      }
    }

    const now = this.#now();
    const status = calculateStatus(rs, pods, manageError, now);
    if (!statusEqual(rs.status, status)) await this.#rsClient.updateStatus({ ...rs, status });
    if (manageError !== undefined) throw manageError;
    return requeueForAvailability(rs, pods, now);
  }

  async #manageReplicas(rs: ReplicaSetObject, key: string, pods: readonly PodObject[]): Promise<void> {
    const want = rs.spec?.replicas ?? 1;
    const diff = pods.length - want;
    if (diff < 0) {
      const count = Math.min(-diff, this.#burst);
      const ref = newControllerRef(rs, REPLICA_SET_KIND);
      const templates = Array.from({ length: count }, () => podFromTemplate(rs.spec?.template, rs.metadata.name ?? '', rs.metadata.namespace, ref));
      this.#log.debug('creating pods', { replicaSet: key, need: want, have: pods.length, creating: count });
      await this.#podControl.create(rs, key, templates);
    } else if (diff > 0) {
      const count = Math.min(diff, this.#burst);
      const victims = rankForDeletion(pods, this.#relatedPods(rs, pods), this.#now()).slice(0, count);
      this.#log.debug('deleting pods', { replicaSet: key, need: want, have: pods.length, deleting: count });
      await this.#podControl.delete(rs, key, victims);
    }
  }

  /**
   * The active pods of this replica set and its siblings (the other replica sets of its
   * Deployment): scale-down prefers nodes where the family is doubled up.
   */
  #relatedPods(rs: ReplicaSetObject, own: readonly PodObject[]): PodObject[] {
    const owner = controllerOf(rs);
    if (owner === undefined) return [...own];
    const out: PodObject[] = [];
    for (const sibling of this.#replicaSets.list(rs.metadata.namespace)) {
      if (controllerOf(sibling)?.uid !== owner.uid) continue;
      if (sibling.metadata.uid === rs.metadata.uid) out.push(...own);
      else out.push(...this.#pods.byIndex(BY_CONTROLLER, sibling.metadata.uid ?? '').filter(isPodActive));
    }
    return out;
  }
}

/** Where a pod stands in the cache, for {@link Expectations.satisfied}. */
export function cacheState(pod: PodObject | undefined): CacheState {
  if (pod === undefined) return 'absent';
  return pod.metadata.deletionTimestamp !== undefined ? 'terminating' : 'present';
}

/**
 * `calculateStatus`: counts over the owned active pods; a ReplicaFailure condition while creating or
 * deleting fails (FailedCreate/FailedDelete), removed once it succeeds. Zero counts are omitted, as
 * Kubernetes' JSON omits them.
 */
export function calculateStatus(rs: ReplicaSetObject, pods: readonly PodObject[], manageError: unknown, nowMs: number): ReplicaSetStatus {
  const templateLabels = LabelSelector.fromSet(rs.spec?.template?.metadata?.labels ?? {});
  const minReadySeconds = rs.spec?.minReadySeconds ?? 0;
  let fullyLabeled = 0;
  let ready = 0;
  let available = 0;
  for (const pod of pods) {
    if (templateLabels.matches(pod.metadata.labels ?? {})) fullyLabeled++;
    if (isPodReady(pod)) {
      ready++;
      if (isPodAvailable(pod, minReadySeconds, nowMs)) available++;
    }
  }
  let conditions: ReplicaSetCondition[] = [...(rs.status?.conditions ?? [])];
  const failure = conditions.find((c) => c.type === 'ReplicaFailure');
  if (manageError !== undefined && failure === undefined) {
    const diff = pods.length - (rs.spec?.replicas ?? 1);
    const reason = diff < 0 ? 'FailedCreate' : diff > 0 ? 'FailedDelete' : '';
    conditions.push({ type: 'ReplicaFailure', status: 'True', reason, message: describeError(manageError), lastTransitionTime: rfc3339(nowMs) });
  } else if (manageError === undefined && failure !== undefined) {
    conditions = conditions.filter((c) => c.type !== 'ReplicaFailure');
  }
  const generation = rs.metadata.generation ?? 0;
  return {
    replicas: pods.length,
    ...(fullyLabeled > 0 ? { fullyLabeledReplicas: fullyLabeled } : {}),
    ...(ready > 0 ? { readyReplicas: ready } : {}),
    ...(available > 0 ? { availableReplicas: available } : {}),
    ...(generation > 0 ? { observedGeneration: generation } : {}),
    ...(conditions.length > 0 ? { conditions } : {}),
  };
}

function statusEqual(a: ReplicaSetStatus | undefined, b: ReplicaSetStatus): boolean {
  return JSON.stringify(normalize(a)) === JSON.stringify(normalize(b));
}

function normalize(s: ReplicaSetStatus | undefined): unknown[] {
  return [
    s?.replicas ?? 0,
    s?.fullyLabeledReplicas ?? 0,
    s?.readyReplicas ?? 0,
    s?.availableReplicas ?? 0,
    s?.observedGeneration ?? 0,
    (s?.conditions ?? []).map((c) => [c.type, c.status, c.reason ?? '', c.message ?? '', c.lastTransitionTime ?? '']),
  ];
}

/**
 * When a ready pod becomes available only with time (`minReadySeconds`), no event will announce
 * it: look again right then.
 */
function requeueForAvailability(rs: ReplicaSetObject, pods: readonly PodObject[], nowMs: number): ReconcileResult {
  const minReadySeconds = rs.spec?.minReadySeconds ?? 0;
  if (minReadySeconds <= 0) return undefined;
  let soonest: number | undefined;
  for (const pod of pods) {
    const ms = msUntilAvailable(pod, minReadySeconds, nowMs);
    if (ms !== undefined && (soonest === undefined || ms < soonest)) soonest = ms;
  }
  return soonest === undefined ? undefined : { requeueAfterMs: soonest };
}
