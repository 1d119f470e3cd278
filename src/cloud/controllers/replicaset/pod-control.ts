import { describeError, hasCode } from '../../../errors/platform-error.ts';
import type { KubeObject } from '../../../api/object.ts';
import type { ResourceClient } from '../../client/client.ts';
import type { EventRecorder } from '../events/recorder.ts';
import type { Expectations } from './expectations.ts';
import type { PodObject } from './objects.ts';

/**
 * `controller.SlowStartInitialBatchSize`: creations start with one call and double while they
 * succeed, so an owner whose pods are all rejected (quota, admission, a bad template) costs one
 * failed call per sync instead of hundreds.
 */
export const SLOW_START_INITIAL_BATCH = 1;

/**
 * Creates and deletes the pods of an owner (`controller.RealPodControl`): records each write as an
 * expectation of the owner and as an Event on it (`SuccessfulCreate`/`FailedCreate`,
 * `SuccessfulDelete`/`FailedDelete`, with Kubernetes' messages).
 */
export class PodControl {
  readonly #pods: ResourceClient<PodObject>;
  readonly #recorder: EventRecorder;
  readonly #expectations: Expectations;

  constructor(options: { pods: ResourceClient<PodObject>; recorder: EventRecorder; expectations: Expectations }) {
    this.#pods = options.pods;
    this.#recorder = options.recorder;
    this.#expectations = options.expectations;
  }

  /**
   * Creates `pods` for `owner` in slow-start batches (1, 2, 4, ...; each batch in parallel) and stops
   * after the first batch with a failure.
   * @returns how many were created
   * @throws the first creation error, after the batch it happened in
   */
  async create(owner: KubeObject, ownerKey: string, pods: readonly PodObject[]): Promise<number> {
    let created = 0;
    let next = 0;
    for (let size = Math.min(pods.length, SLOW_START_INITIAL_BATCH); size > 0; size = Math.min(2 * size, pods.length - next)) {
      const batch = pods.slice(next, next + size);
      next += size;
      const results = await Promise.allSettled(batch.map((p) => this.#createOne(owner, ownerKey, p)));
      let failure: PromiseRejectedResult | undefined;
      for (const r of results) {
        if (r.status === 'fulfilled') created++;
        else failure ??= r;
      }
      if (failure !== undefined) throw failure.reason;
    }
    return created;
  }

  /**
   * Deletes `pods` of `owner` in parallel; a pod already gone counts as deleted.
   * @param options.gracePeriodSeconds overrides the pod's own grace period (0 for pods whose node is gone)
   * @throws the first deletion error, after every deletion was tried
   */
  async delete(owner: KubeObject, ownerKey: string, pods: readonly PodObject[], options: { gracePeriodSeconds?: number } = {}): Promise<void> {
    const results = await Promise.allSettled(pods.map((p) => this.#deleteOne(owner, ownerKey, p, options.gracePeriodSeconds)));
    const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failure !== undefined) throw failure.reason;
  }

  async #createOne(owner: KubeObject, ownerKey: string, pod: PodObject): Promise<void> {
    try {
      const created = await this.#pods.create(pod.metadata.namespace, pod);
      this.#expectations.expectCreation(ownerKey, created.metadata.name ?? '');
      void this.#recorder.record(owner, 'Normal', 'SuccessfulCreate', `Created pod: ${created.metadata.name ?? ''}`);
    } catch (err) {
      void this.#recorder.record(owner, 'Warning', 'FailedCreate', `Error creating: ${describeError(err)}`);
      throw err;
    }
  }

  async #deleteOne(owner: KubeObject, ownerKey: string, pod: PodObject, gracePeriodSeconds: number | undefined): Promise<void> {
    const name = pod.metadata.name ?? '';
    try {
      await this.#pods.delete(pod.metadata.namespace, name, {
        ...(gracePeriodSeconds !== undefined ? { gracePeriodSeconds } : {}),
        ...(pod.metadata.uid !== undefined ? { preconditions: { uid: pod.metadata.uid } } : {}),
      });
      this.#expectations.expectDeletion(ownerKey, name);
      void this.#recorder.record(owner, 'Normal', 'SuccessfulDelete', `Deleted pod: ${name}`);
    } catch (err) {
      if (hasCode(err, 'API_NOT_FOUND')) return;
      void this.#recorder.record(owner, 'Warning', 'FailedDelete', `Error deleting: ${describeError(err)}`);
      throw err;
    }
  }
}
