import type { ControllerModule } from '../index.ts';
import { BY_CONTROLLER, controllerIndex, type DeploymentObject, type PodObject, type ReplicaSetObject } from '../replicaset/objects.ts';
import { Controller } from '../runtime/controller.ts';
import { DeploymentController } from './controller.ts';
import { routeDeploymentInputs } from './enqueue.ts';

export { DeploymentController, type DeploymentControllerOptions } from './controller.ts';

/** How many deployments reconcile at once (each mostly waits on the API). */
const WORKERS = 4;

/** The Deployment controller, on its own deployment, replica set and pod informers. */
export const deploymentModule: ControllerModule = {
  name: 'deployment',
  async start(ctx, signal) {
    const deployments = ctx.informers.get<DeploymentObject>('apps', 'v1', 'deployments');
    const replicaSets = ctx.informers.get<ReplicaSetObject>('apps', 'v1', 'replicasets');
    const pods = ctx.informers.get<PodObject>('', 'v1', 'pods');
    replicaSets.addIndex(BY_CONTROLLER, controllerIndex);
    pods.addIndex(BY_CONTROLLER, controllerIndex);
    const reconciler = new DeploymentController({ deployments, replicaSets, pods, client: ctx.client, recorder: ctx.recorder('deployment-controller'), log: ctx.log });
    const controller = new Controller({ reconciler, workers: WORKERS, log: ctx.log });
    routeDeploymentInputs({ deployments, replicaSets, pods, enqueue: (key) => controller.enqueue(key) });
    await Promise.all([deployments.start(signal), replicaSets.start(signal), pods.start(signal)]);
    controller.start(signal);
  },
};
