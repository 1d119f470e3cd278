import type { ControllerContext, ControllerModule } from '../index.ts';
import { Controller } from '../runtime/controller.ts';
import type { NodeObject, PodObject } from './objects.ts';
import { DEFAULT_SCHEDULER_NAME, Scheduler } from './scheduler.ts';

export { Scheduler, DEFAULT_SCHEDULER_NAME, NO_NODES_MESSAGE, type Decision } from './scheduler.ts';

/**
 * Parallel reconciles: decisions are synchronous (and so never race); more workers only keep
 * several binding writes in flight.
 */
const WORKERS = 8;

/** Wires the scheduler: node and pod informers, the binding subresource, events as `default-scheduler`. */
export const schedulerModule: ControllerModule = {
  name: 'scheduler',
  async start(ctx: ControllerContext, signal: AbortSignal): Promise<void> {
    const nodes = ctx.informers.get<NodeObject>('', 'v1', 'nodes');
    const podClient = ctx.client.resource<PodObject>('', 'v1', 'pods');
    const pods = ctx.informers.get<PodObject>('', 'v1', 'pods');
    const controller = new Controller({ reconciler: { name: 'scheduler', reconcile: (key) => scheduler.reconcile(key) }, workers: WORKERS, log: ctx.log });
    const scheduler = new Scheduler({
      pods,
      nodes,
      podClient,
      bind: (pod, nodeName) =>
        ctx.client.bindPod(pod.metadata.namespace ?? '', pod.metadata.name ?? '', {
          apiVersion: 'v1',
          kind: 'Binding',
          metadata: { name: pod.metadata.name, namespace: pod.metadata.namespace, uid: pod.metadata.uid },
          target: { apiVersion: 'v1', kind: 'Node', name: nodeName },
        }),
      recorder: ctx.recorder(DEFAULT_SCHEDULER_NAME),
      log: ctx.log,
      enqueue: (key) => controller.enqueue(key),
    });
    // Nodes first: pods found by the first list are then decided against every known node.
    await nodes.start(signal);
    await pods.start(signal);
    controller.start(signal);
  },
};
