import type { ControllerModule } from '../index.ts';
import { Expectations } from '../replicaset/expectations.ts';
import { BY_CONTROLLER, controllerIndex, type DaemonSetObject, type NodeObject, type PodObject } from '../replicaset/objects.ts';
import { Controller } from '../runtime/controller.ts';
import { DaemonSetController } from './controller.ts';
import { routeDaemonSetInputs } from './enqueue.ts';

export { DaemonSetController, CONTROLLER_REVISION_HASH_LABEL, type DaemonSetControllerOptions } from './controller.ts';

/** How many daemon sets reconcile at once (each mostly waits on the API). */
const WORKERS = 2;

/** The DaemonSet controller, on its own daemon set, node and pod informers. */
export const daemonSetModule: ControllerModule = {
  name: 'daemonset',
  async start(ctx, signal) {
    const daemonSets = ctx.informers.get<DaemonSetObject>('apps', 'v1', 'daemonsets');
    const nodes = ctx.informers.get<NodeObject>('', 'v1', 'nodes');
    const pods = ctx.informers.get<PodObject>('', 'v1', 'pods');
    pods.addIndex(BY_CONTROLLER, controllerIndex);
    const expectations = new Expectations();
    const reconciler = new DaemonSetController({ daemonSets, nodes, pods, client: ctx.client, recorder: ctx.recorder('daemonset-controller'), expectations, log: ctx.log });
    const controller = new Controller({ reconciler, workers: WORKERS, log: ctx.log });
    routeDaemonSetInputs({ daemonSets, nodes, pods, expectations, enqueue: (key) => controller.enqueue(key) });
    await Promise.all([daemonSets.start(signal), nodes.start(signal), pods.start(signal)]);
    controller.start(signal);
  },
};
