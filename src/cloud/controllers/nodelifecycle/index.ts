import type { ControllerContext, ControllerModule } from '../index.ts';
import { Controller } from '../runtime/controller.ts';
import { NODE_LEASE_NAMESPACE, NodeLifecycleController, TAINT_UNREACHABLE, PODS_BY_NODE_INDEX, podsByNode, type LeaseObject, type NodeObject, type PodObject } from './controller.ts';

export { AUTONOMY_DURATION_ANNOTATION, NODE_LEASE_NAMESPACE, TAINT_UNREACHABLE, NodeLifecycleController, evictionDeadline } from './controller.ts';

/** Wires the node lifecycle controller: nodes, their Leases and their pods, one key per node. */
export const nodeLifecycleModule: ControllerModule = {
  name: 'node-lifecycle',
  async start(ctx: ControllerContext, signal: AbortSignal): Promise<void> {
    const nodeClient = ctx.client.resource<NodeObject>('', 'v1', 'nodes');
    const podClient = ctx.client.resource<PodObject>('', 'v1', 'pods');
    const nodes = ctx.informers.get<NodeObject>('', 'v1', 'nodes');
    const leases = ctx.informers.get<LeaseObject>('coordination.k8s.io', 'v1', 'leases', NODE_LEASE_NAMESPACE);
    const pods = ctx.informers.get<PodObject>('', 'v1', 'pods');
    pods.addIndex(PODS_BY_NODE_INDEX, podsByNode);
    const reconciler = new NodeLifecycleController({
      nodes,
      leases,
      pods,
      nodeClient,
      podClient,
      recorder: ctx.recorder('node-controller'),
      log: ctx.log,
      gracePeriodMs: ctx.config.nodeMonitorGracePeriodMs,
    });
    const controller = new Controller({ reconciler, log: ctx.log });
    const byName = (obj: { metadata: { name?: string } }): void => controller.enqueue(obj.metadata.name ?? '');
    nodes.addHandler({ add: byName, update: (_old, n) => byName(n), delete: byName });
    leases.addHandler({ add: byName, update: (_old, l) => byName(l) });
    // A pod bound to a node that is already unreachable may be due for eviction.
    const byPod = (p: PodObject): void => {
      for (const n of podsByNode(p)) if (nodes.get(undefined, n)?.spec?.taints?.some((t) => t.key === TAINT_UNREACHABLE) === true) controller.enqueue(n);
    };
    pods.addHandler({ add: byPod, update: (_old, p) => byPod(p) });
    await nodes.start(signal);
    await leases.start(signal);
    await pods.start(signal);
    controller.start(signal);
  },
};
