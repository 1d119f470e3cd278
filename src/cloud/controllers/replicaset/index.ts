import type { ControllerModule } from '../index.ts';
import { Controller } from '../runtime/controller.ts';
import { ReplicaSetController } from './controller.ts';
import { routeOwners, routeToOwners } from './enqueue.ts';
import { Expectations } from './expectations.ts';
import { BY_CONTROLLER, controllerIndex, REPLICA_SET_KIND, type PodObject, type ReplicaSetObject } from './objects.ts';

export { ReplicaSetController, BURST_REPLICAS, type ReplicaSetControllerOptions } from './controller.ts';

/** How many replica sets reconcile at once (each mostly waits on the API). */
const WORKERS = 4;

/** The ReplicaSet controller, on its own replica set and pod informers. */
export const replicaSetModule: ControllerModule = {
  name: 'replicaset',
  async start(ctx, signal) {
    const replicaSets = ctx.informers.get<ReplicaSetObject>('apps', 'v1', 'replicasets');
    const pods = ctx.informers.get<PodObject>('', 'v1', 'pods');
    pods.addIndex(BY_CONTROLLER, controllerIndex);
    const expectations = new Expectations();
    const reconciler = new ReplicaSetController({ replicaSets, pods, client: ctx.client, recorder: ctx.recorder('replicaset-controller'), expectations, log: ctx.log });
    const controller = new Controller({ reconciler, workers: WORKERS, log: ctx.log });
    const enqueue = (key: string): void => controller.enqueue(key);
    routeOwners(replicaSets, enqueue);
    routeToOwners({ dependants: pods, owners: replicaSets, ownerKind: REPLICA_SET_KIND, enqueue, onRemoved: (key, pod) => expectations.observeRemoval(key, pod.metadata.name ?? '') });
    await Promise.all([replicaSets.start(signal), pods.start(signal)]);
    controller.start(signal);
  },
};
