import type { DaemonSetStatus } from 'kubernetes-types/apps/v1.d.ts';
import type { PodTemplateSpec } from 'kubernetes-types/core/v1.d.ts';
import { labelSelectorFromMeta } from '../../../api/selectors/labels.ts';
import type { Logger } from '../../../log/logger.ts';
import type { KubeClient, ResourceClient } from '../../client/client.ts';
import type { EventRecorder } from '../events/recorder.ts';
import { computeHash } from '../deployment/hash.ts';
import { ControllerRefManager } from '../replicaset/controller-ref.ts';
import { cacheState } from '../replicaset/controller.ts';
import type { Expectations } from '../replicaset/expectations.ts';
import { BY_CONTROLLER, DAEMON_SET_KIND, newControllerRef, orphanIndexValue, scaledValue, type DaemonSetObject, type NodeObject, type PodObject } from '../replicaset/objects.ts';
import { compareStrings } from '../../../api/compare.ts';
import { PodControl } from '../replicaset/pod-control.ts';
import { byPhaseThenAge, isPodAvailable, isPodReady, isPodTerminal, msUntilAvailable, podFromTemplate } from '../replicaset/pods.ts';
import type { ReconcileResult, Reconciler } from '../runtime/controller.ts';
import type { Informer } from '../runtime/informer.ts';
import { placementOn, targetNodeName, withDaemonTolerations } from './placement.ts';

/** `apps.DefaultDaemonSetUniqueLabelKey`: the template revision a daemon pod was made from. */
export const CONTROLLER_REVISION_HASH_LABEL = 'controller-revision-hash';

/** `BurstReplicas` of the DaemonSet controller: the most pods one sync creates. */
export const DAEMON_BURST = 250;

/** Options of {@link DaemonSetController}. */
export interface DaemonSetControllerOptions {
  readonly daemonSets: Informer<DaemonSetObject>;
  readonly nodes: Informer<NodeObject>;
  /** Must carry the {@link BY_CONTROLLER} index. */
  readonly pods: Informer<PodObject>;
  readonly client: KubeClient;
  readonly recorder: EventRecorder;
  readonly expectations: Expectations;
  readonly log: Logger;
  /** @default Date.now */
  readonly now?: () => number;
}

/**
 * The DaemonSet controller (Kubernetes' `pkg/controller/daemon`): one pod on every node the
 * DaemonSet's node selector, required node affinity and tolerations admit, including nodes that
 * join later; pods that may no longer run on their node are deleted, failed ones replaced with a
 * back-off. Templates roll out with RollingUpdate (maxUnavailable, or maxSurge) or OnDelete. Pods
 * carry the template's `controller-revision-hash`.
 *
 * Daemon pods are created bound (`spec.nodeName`), as well as carrying Kubernetes' required node
 * affinity on `metadata.name`: the controller has already decided placement, and a bound pod
 * reaches its edge node through the hub without waiting for a scheduler pass.
 */
export class DaemonSetController implements Reconciler {
  readonly name = 'daemonset';
  readonly #o: DaemonSetControllerOptions;
  readonly #podClient: ResourceClient<PodObject>;
  readonly #dsClient: ResourceClient<DaemonSetObject>;
  readonly #podControl: PodControl;
  readonly #now: () => number;
  readonly #backoff: FailedPodBackoff;

  constructor(options: DaemonSetControllerOptions) {
    this.#o = options;
    this.#podClient = options.client.resource<PodObject>('', 'v1', 'pods');
    this.#dsClient = options.client.resource<DaemonSetObject>('apps', 'v1', 'daemonsets');
    this.#podControl = new PodControl({ pods: this.#podClient, recorder: options.recorder, expectations: options.expectations });
    this.#now = options.now ?? Date.now;
    this.#backoff = new FailedPodBackoff();
  }

  async reconcile(key: string): Promise<ReconcileResult> {
    const ds = this.#o.daemonSets.getByKey(key);
    if (ds === undefined) {
      this.#o.expectations.delete(key);
      return;
    }
    const selector = ds.spec?.selector;
    if (selector !== undefined && Object.keys(selector.matchLabels ?? {}).length === 0 && (selector.matchExpressions ?? []).length === 0) {
      void this.#o.recorder.record(ds, 'Warning', 'SelectingAll', 'This daemon set is selecting all pods. A non-empty selector is required.');
      return;
    }
    const conversion = labelSelectorFromMeta(selector, 'spec.selector');
    if (!conversion.ok) {
      this.#o.log.warn('daemon set has an invalid selector', { daemonSet: key });
      return;
    }
    if (ds.metadata.deletionTimestamp !== undefined) return;

    const namespace = ds.metadata.namespace;
    const candidates = [...this.#o.pods.byIndex(BY_CONTROLLER, ds.metadata.uid ?? ''), ...this.#o.pods.byIndex(BY_CONTROLLER, orphanIndexValue(namespace))];
    await new ControllerRefManager<PodObject>({
      owner: ds,
      ownerKind: DAEMON_SET_KIND,
      selector: conversion.selector,
      client: this.#podClient,
      getOwner: () => this.#dsClient.get(namespace, ds.metadata.name ?? ''),
    }).claim(candidates.filter((p) => !(isPodTerminal(p) && p.metadata.deletionTimestamp !== undefined)));

    const nodes = this.#o.nodes.list().sort((a, b) => compareStrings(a.metadata.name ?? '', b.metadata.name ?? ''));
    const hash = computeHash(ds.spec?.template, ds.status?.collisionCount);
    const satisfied = (): boolean => this.#o.expectations.satisfied(key, (name) => cacheState(this.#o.pods.get(namespace, name)));
    if (!satisfied()) {
      // Its own writes are not in the cache yet: report, but neither act nor claim this generation observed.
      return this.#updateStatus(ds, nodes, hash, false);
    }

    let requeue: ReconcileResult;
    let failure: Error | undefined;
    try {
      requeue = await this.#manage(ds, key, nodes, hash);
      if (satisfied() && (ds.spec?.updateStrategy?.type ?? 'RollingUpdate') === 'RollingUpdate') await this.#rollingUpdate(ds, key, nodes, hash);
    } catch (err) {
      failure = err instanceof Error ? err : new Error(String(err));
    }
    const statusRequeue = await this.#updateStatus(ds, nodes, hash, true);
    if (failure !== undefined) throw failure;
    return sooner(requeue, statusRequeue);
  }

  /** The daemon pods of `ds` by the node they are for, as the cache shows them (finished deleted pods left out). */
  #podsByNode(ds: DaemonSetObject): Map<string, PodObject[]> {
    const out = new Map<string, PodObject[]>();
    for (const pod of this.#o.pods.byIndex(BY_CONTROLLER, ds.metadata.uid ?? '')) {
      if (isPodTerminal(pod) && pod.metadata.deletionTimestamp !== undefined) continue;
      const node = targetNodeName(pod);
      if (node === undefined) continue;
      const list = out.get(node);
      if (list === undefined) out.set(node, [pod]);
      else list.push(pod);
    }
    return out;
  }

  /** `manage`: a pod on each node that should run one; none where none may run; failed pods replaced. */
  async #manage(ds: DaemonSetObject, key: string, nodes: readonly NodeObject[], hash: string): Promise<ReconcileResult> {
    const byNode = this.#podsByNode(ds);
    const create: string[] = [];
    const remove: PodObject[] = [];
    let requeueAfterMs: number | undefined;
    const now = this.#now();
    const surge = allowsSurge(ds);
    for (const node of nodes) {
      const name = node.metadata.name ?? '';
      const { shouldRun, shouldContinueRunning } = placementOn(node, ds);
      const pods = byNode.get(name) ?? [];
      if (shouldRun && pods.length === 0) {
        create.push(name);
      } else if (shouldContinueRunning) {
        const running: PodObject[] = [];
        for (const pod of pods) {
          if (pod.metadata.deletionTimestamp !== undefined) continue;
          if (pod.status?.phase === 'Failed') {
            // The node keeps rejecting it (say, a port in use): replace it, but not in a hot loop.
            const wait = this.#backoff.wait(`${key}/${name}`, now);
            if (wait > 0) {
              requeueAfterMs = Math.min(requeueAfterMs ?? wait, wait);
              continue;
            }
            void this.#o.recorder.record(ds, 'Warning', 'FailedDaemonPod', `Found failed daemon pod ${pod.metadata.namespace ?? ''}/${pod.metadata.name ?? ''} on node ${name}, will try to kill it`);
            remove.push(pod);
          } else if (pod.status?.phase === 'Succeeded') {
            remove.push(pod);
          } else {
            running.push(pod);
          }
        }
        running.sort(byPhaseThenAge);
        if (!surge) {
          // One daemon per node: the oldest stays.
          remove.push(...running.slice(1));
        } else {
          remove.push(...surgeExcess(running, hash, ds, now));
        }
      } else if (pods.length > 0) {
        for (const pod of pods) if (pod.metadata.deletionTimestamp === undefined) remove.push(pod);
      }
    }
    await this.#syncNodes(ds, key, remove, create, hash);
    return requeueAfterMs === undefined ? undefined : { requeueAfterMs };
  }

  /**
   * `rollingUpdate`: replaces pods of older templates. Without surge, deletes old pods (the
   * manage pass then recreates them) while no more than maxUnavailable nodes lack an available
   * up-to-date pod; with surge, starts new pods beside old ones (at most maxSurge at a time) and
   * deletes each old pod once its successor is available.
   */
  async #rollingUpdate(ds: DaemonSetObject, key: string, nodes: readonly NodeObject[], hash: string): Promise<void> {
    const byNode = this.#podsByNode(ds);
    const now = this.#now();
    let desired = 0;
    for (const node of nodes) {
      if (!placementOn(node, ds).shouldRun) continue;
      desired++;
      if (!byNode.has(node.metadata.name ?? '')) byNode.set(node.metadata.name ?? '', []);
    }
    const ru = ds.spec?.updateStrategy?.rollingUpdate;
    const maxSurge = scaledValue(ru?.maxSurge ?? 0, desired, true);
    let maxUnavailable = scaledValue(ru?.maxUnavailable ?? 1, desired, true);
    if (desired > 0 && maxUnavailable === 0 && maxSurge === 0) maxUnavailable = 1;
    const minReady = ds.spec?.minReadySeconds ?? 0;
    const available = (p: PodObject): boolean => isPodAvailable(p, minReady, now);
    const nodeNames = [...byNode.keys()].sort(compareStrings);

    if (maxSurge === 0) {
      // First count what is unavailable already, then spend what is left of the budget: the order
      // nodes are looked at cannot let more than maxUnavailable go down at once.
      let unavailable = 0;
      const replace: PodObject[] = [];
      const candidates: PodObject[] = [];
      for (const name of nodeNames) {
        const split = splitByRevision(byNode.get(name) ?? [], hash);
        if (split === undefined) {
          unavailable++;
          continue;
        }
        const { newPod, oldPod } = split;
        if ((oldPod === undefined) === (newPod === undefined)) unavailable++;
        else if (newPod !== undefined && !available(newPod)) unavailable++;
        else if (oldPod !== undefined && !available(oldPod)) replace.push(oldPod);
        else if (oldPod !== undefined) candidates.push(oldPod);
      }
      const budget = Math.max(0, Math.min(maxUnavailable - unavailable, candidates.length));
      await this.#syncNodes(ds, key, [...replace, ...candidates.slice(0, budget)], [], hash);
      return;
    }

    const nodeByName = new Map(nodes.map((n) => [n.metadata.name ?? '', n]));
    const shouldRunOn = (name: string): boolean => {
      const node = nodeByName.get(name);
      return node !== undefined && placementOn(node, ds).shouldRun;
    };
    let surging = 0;
    let numAvailable = 0;
    const remove: PodObject[] = [];
    const misplaced: PodObject[] = [];
    const allowed: string[] = [];
    const candidates: string[] = [];
    for (const name of nodeNames) {
      const split = splitByRevision(byNode.get(name) ?? [], hash);
      if (split === undefined) {
        surging++;
        continue;
      }
      const { newPod, oldPod } = split;
      if (oldPod !== undefined ? available(oldPod) : newPod !== undefined && available(newPod)) numAvailable++;
      if (oldPod === undefined) continue;
      if (newPod === undefined) {
        if (!available(oldPod)) {
          if (!shouldRunOn(name)) remove.push(oldPod);
          else allowed.push(name);
        } else if (!shouldRunOn(name)) {
          misplaced.push(oldPod);
        } else {
          candidates.push(name);
        }
      } else if (!available(newPod)) {
        surging++;
      } else {
        remove.push(oldPod);
      }
    }
    // With surge the owner expects no gap: a pod on a node it must leave goes only once another is available.
    const deletable = Math.min(numAvailable - desired, misplaced.length);
    if (deletable > 0) remove.push(...misplaced.slice(0, deletable));
    const budget = Math.max(0, Math.min(maxSurge - surging, candidates.length));
    await this.#syncNodes(ds, key, remove, [...allowed, ...candidates.slice(0, budget)], hash);
  }

  /** `syncNodes`: deletes `remove`, creates a daemon pod on each node of `create` (at most {@link DAEMON_BURST}). */
  async #syncNodes(ds: DaemonSetObject, key: string, remove: readonly PodObject[], create: readonly string[], hash: string): Promise<void> {
    let failure: Error | undefined;
    const keep = (err: unknown): void => {
      failure ??= err instanceof Error ? err : new Error(String(err));
    };
    if (remove.length > 0) {
      this.#o.log.debug('deleting daemon pods', { daemonSet: key, count: remove.length });
      await this.#podControl.delete(ds, key, remove).catch(keep);
    }
    if (create.length > 0) {
      this.#o.log.debug('creating daemon pods', { daemonSet: key, count: Math.min(create.length, DAEMON_BURST) });
      const template = daemonTemplate(ds.spec?.template, hash);
      const ref = newControllerRef(ds, DAEMON_SET_KIND);
      const pods = create.slice(0, DAEMON_BURST).map((node) => daemonPod(template, ds, ref, node));
      await this.#podControl.create(ds, key, pods).catch(keep);
    }
    if (failure !== undefined) throw failure;
  }

  /**
   * `updateDaemonSetStatus`: counts over the nodes, the oldest daemon pod of each node standing for
   * it. The observed generation moves only when this pass could act on the spec.
   */
  async #updateStatus(ds: DaemonSetObject, nodes: readonly NodeObject[], hash: string, observed: boolean): Promise<ReconcileResult> {
    const byNode = this.#podsByNode(ds);
    const now = this.#now();
    const minReady = ds.spec?.minReadySeconds ?? 0;
    let desired = 0;
    let current = 0;
    let misscheduled = 0;
    let ready = 0;
    let updated = 0;
    let available = 0;
    let soonest: number | undefined;
    for (const node of nodes) {
      const pods = [...(byNode.get(node.metadata.name ?? '') ?? [])].sort(byPhaseThenAge);
      const { shouldRun } = placementOn(node, ds);
      if (!shouldRun) {
        if (pods.length > 0) misscheduled++;
        continue;
      }
      desired++;
      const pod = pods[0];
      if (pod === undefined) continue;
      current++;
      if (isPodReady(pod)) {
        ready++;
        if (isPodAvailable(pod, minReady, now)) available++;
        const wait = msUntilAvailable(pod, minReady, now);
        if (wait !== undefined && (soonest === undefined || wait < soonest)) soonest = wait;
      }
      if (pod.metadata.labels?.[CONTROLLER_REVISION_HASH_LABEL] === hash) updated++;
    }
    const s = ds.status;
    const generation = ds.metadata.generation ?? 0;
    const unchanged =
      (s?.desiredNumberScheduled ?? 0) === desired &&
      (s?.currentNumberScheduled ?? 0) === current &&
      (s?.numberMisscheduled ?? 0) === misscheduled &&
      (s?.numberReady ?? 0) === ready &&
      (s?.updatedNumberScheduled ?? 0) === updated &&
      (s?.numberAvailable ?? 0) === available &&
      (s?.numberUnavailable ?? 0) === desired - available &&
      (s?.observedGeneration ?? 0) >= generation;
    if (!unchanged) {
      const observedGeneration = observed ? generation : s?.observedGeneration;
      // Kubernetes' JSON omits the optional counts when zero.
      const status: DaemonSetStatus = {
        ...(observedGeneration !== undefined ? { observedGeneration } : {}),
        currentNumberScheduled: current,
        numberMisscheduled: misscheduled,
        desiredNumberScheduled: desired,
        numberReady: ready,
        ...(updated !== 0 ? { updatedNumberScheduled: updated } : {}),
        ...(available !== 0 ? { numberAvailable: available } : {}),
        ...(desired - available !== 0 ? { numberUnavailable: desired - available } : {}),
        ...(s?.collisionCount !== undefined ? { collisionCount: s.collisionCount } : {}),
        ...(s?.conditions !== undefined ? { conditions: s.conditions } : {}),
      };
      await this.#dsClient.updateStatus({ ...ds, status });
    }
    // Nothing announces that minReadySeconds have passed: look again then.
    return soonest === undefined ? undefined : { requeueAfterMs: soonest };
  }
}

/** `allowsSurge`: RollingUpdate with a maxSurge that is not zero. */
function allowsSurge(ds: DaemonSetObject): boolean {
  const s = ds.spec?.updateStrategy;
  if ((s?.type ?? 'RollingUpdate') !== 'RollingUpdate') return false;
  return scaledValue(s?.rollingUpdate?.maxSurge ?? 0, 1, true) !== 0;
}

/**
 * With surge, a node keeps at most an old and a new pod, and the old one only while it is ready
 * and the new one is not yet available.
 */
function surgeExcess(running: readonly PodObject[], hash: string, ds: DaemonSetObject, nowMs: number): PodObject[] {
  const excess: PodObject[] = [];
  let oldestNew: PodObject | undefined;
  let oldestOld: PodObject | undefined;
  for (const pod of running) {
    if (pod.metadata.labels?.[CONTROLLER_REVISION_HASH_LABEL] === hash) {
      if (oldestNew === undefined) oldestNew = pod;
      else excess.push(pod);
    } else if (oldestOld === undefined) {
      oldestOld = pod;
    } else {
      excess.push(pod);
    }
  }
  if (oldestNew !== undefined && oldestOld !== undefined && (!isPodReady(oldestOld) || isPodAvailable(oldestNew, ds.spec?.minReadySeconds ?? 0, nowMs))) excess.push(oldestOld);
  return excess;
}

/** `findUpdatedPodsOnNode`: the node's live pod of the current template and of an older one; undefined when it has more than one of either. */
function splitByRevision(pods: readonly PodObject[], hash: string): { newPod?: PodObject; oldPod?: PodObject } | undefined {
  let newPod: PodObject | undefined;
  let oldPod: PodObject | undefined;
  for (const pod of pods) {
    if (pod.metadata.deletionTimestamp !== undefined) continue;
    if (pod.metadata.labels?.[CONTROLLER_REVISION_HASH_LABEL] === hash) {
      if (newPod !== undefined) return undefined;
      newPod = pod;
    } else {
      if (oldPod !== undefined) return undefined;
      oldPod = pod;
    }
  }
  return { ...(newPod !== undefined ? { newPod } : {}), ...(oldPod !== undefined ? { oldPod } : {}) };
}

/** `CreatePodTemplate`: the template with the daemon tolerations and the revision label. */
function daemonTemplate(template: PodTemplateSpec | undefined, hash: string): PodTemplateSpec {
  const t = structuredClone(template ?? {});
  const spec = t.spec ?? { containers: [] };
  return {
    ...t,
    metadata: { ...t.metadata, labels: { ...t.metadata?.labels, [CONTROLLER_REVISION_HASH_LABEL]: hash } },
    spec: { ...spec, tolerations: withDaemonTolerations(spec) },
  };
}

/** The daemon pod for `node`: bound to it, and required to be there by node affinity (`ReplaceDaemonSetPodNodeNameNodeAffinity`). */
function daemonPod(template: PodTemplateSpec, ds: DaemonSetObject, ref: ReturnType<typeof newControllerRef>, node: string): PodObject {
  const pod = podFromTemplate(template, ds.metadata.name ?? '', ds.metadata.namespace, ref);
  const spec = pod.spec!;
  const byName = { nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: [node] }] }] };
  pod.spec = { ...spec, nodeName: node, affinity: { ...spec.affinity, nodeAffinity: { ...spec.affinity?.nodeAffinity, requiredDuringSchedulingIgnoredDuringExecution: byName } } };
  return pod;
}

function sooner(a: ReconcileResult, b: ReconcileResult): ReconcileResult {
  const x = a?.requeueAfterMs;
  const y = b?.requeueAfterMs;
  if (x === undefined) return b;
  if (y === undefined) return a;
  return { requeueAfterMs: Math.min(x, y) };
}

/**
 * `failedPodsBackoff`: per DaemonSet and node, how long to wait before replacing another failed
 * pod (1 s doubling to 15 min; forgotten after twice the maximum without failures).
 */
class FailedPodBackoff {
  static readonly INITIAL_MS = 1000;
  static readonly MAX_MS = 15 * 60_000;
  readonly #entries = new Map<string, { delayMs: number; lastMs: number }>();

  /** 0 when a replacement may happen now (and records it), else how long to wait. */
  wait(key: string, nowMs: number): number {
    const e = this.#entries.get(key);
    if (e !== undefined && nowMs - e.lastMs < e.delayMs) return e.delayMs - (nowMs - e.lastMs);
    const stale = e === undefined || nowMs - e.lastMs > 2 * FailedPodBackoff.MAX_MS;
    this.#entries.set(key, { delayMs: stale ? FailedPodBackoff.INITIAL_MS : Math.min(e.delayMs * 2, FailedPodBackoff.MAX_MS), lastMs: nowMs });
    return 0;
  }
}
