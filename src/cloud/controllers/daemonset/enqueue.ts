import { objectKey, type Informer } from '../runtime/informer.ts';
import { routeOwners, routeToOwners } from '../replicaset/enqueue.ts';
import type { Expectations } from '../replicaset/expectations.ts';
import { DAEMON_SET_KIND, type DaemonSetObject, type NodeObject, type PodObject } from '../replicaset/objects.ts';
import { placementOn } from './placement.ts';

/**
 * What makes a DaemonSet look again: any change of it or of its pods (or of an orphan it could
 * adopt), and a node joining, leaving, or changing the labels or taints that decide whether the
 * DaemonSet runs there. Node heartbeats and status changes do not decide placement and are ignored,
 * which matters with thousands of edge nodes.
 */
export function routeDaemonSetInputs(options: {
  readonly daemonSets: Informer<DaemonSetObject>;
  readonly nodes: Informer<NodeObject>;
  readonly pods: Informer<PodObject>;
  readonly expectations: Expectations;
  readonly enqueue: (key: string) => void;
}): void {
  const { daemonSets, nodes, pods, expectations, enqueue } = options;
  routeOwners(daemonSets, enqueue);
  routeToOwners({ dependants: pods, owners: daemonSets, ownerKind: DAEMON_SET_KIND, enqueue, onRemoved: (key, pod) => expectations.observeRemoval(key, pod.metadata.name ?? '') });
  nodes.addHandler({
    add(node) {
      for (const ds of daemonSets.list()) if (placementOn(node, ds).shouldRun) enqueue(objectKey(ds));
    },
    update(old, cur) {
      if (JSON.stringify(old.metadata.labels ?? {}) === JSON.stringify(cur.metadata.labels ?? {}) && JSON.stringify(old.spec?.taints ?? []) === JSON.stringify(cur.spec?.taints ?? [])) return;
      for (const ds of daemonSets.list()) {
        const before = placementOn(old, ds);
        const after = placementOn(cur, ds);
        if (before.shouldRun !== after.shouldRun || before.shouldContinueRunning !== after.shouldContinueRunning) enqueue(objectKey(ds));
      }
    },
    delete(node) {
      for (const ds of daemonSets.list()) if (placementOn(node, ds).shouldContinueRunning) enqueue(objectKey(ds));
    },
  });
}
