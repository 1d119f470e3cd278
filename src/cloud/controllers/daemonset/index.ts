import type { ControllerModule } from '../index.ts';
import { Expectations } from '../replicaset/expectations.ts';
import { BY_CONTROLLER, controllerIndex, type DaemonSetObject, type NodeObject, type PodObject } from '../replicaset/objects.ts';
import { Controller } from '../runtime/controller.ts';
import { Informer } from '../runtime/informer.ts';
import { DaemonSetController } from './controller.ts';
import { routeDaemonSetInputs } from './enqueue.ts';

export { DaemonSetController, CONTROLLER_REVISION_HASH_LABEL, type DaemonSetControllerOptions } from './controller.ts';

/** How many daemon sets reconcile at once (each mostly waits on the API). */
const WORKERS = 2;

/** The DaemonSet controller, on its own daemon set, node and pod informers. */
export const daemonSetModule: ControllerModule = {
  name: 'daemonset',
  async start(ctx, signal) {
    const daemonSets = new Informer<DaemonSetObject>({ client: ctx.client.resource('apps', 'v1', 'daemonsets'), log: ctx.log.child({ informer: 'daemonsets' }) });
    const nodes = new Informer<NodeObject>({ client: ctx.client.resource('', 'v1', 'nodes'), log: ctx.log.child({ informer: 'nodes' }) });
    const pods = new Informer<PodObject>({ client: ctx.client.resource('', 'v1', 'pods'), log: ctx.log.child({ informer: 'pods' }) });
    pods.addIndex(BY_CONTROLLER, controllerIndex);
    const expectations = new Expectations();
    const reconciler = new DaemonSetController({ daemonSets, nodes, pods, client: ctx.client, recorder: ctx.recorder('daemonset-controller'), expectations, log: ctx.log });
    const controller = new Controller({ reconciler, workers: WORKERS, log: ctx.log });
    routeDaemonSetInputs({ daemonSets, nodes, pods, expectations, enqueue: (key) => controller.enqueue(key) });
    await Promise.all([daemonSets.start(signal), nodes.start(signal), pods.start(signal)]);
    controller.start(signal);
  },
};
