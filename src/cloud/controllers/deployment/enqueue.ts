import { objectKey, type Informer } from '../runtime/informer.ts';
import { routeOwners, routeToOwners } from '../replicaset/enqueue.ts';
import { controllerOf, DEPLOYMENT_KIND, type DeploymentObject, type PodObject, type ReplicaSetObject } from '../replicaset/objects.ts';

/**
 * What makes a Deployment look again: any change of it; any change of its replica sets (or of an
 * orphan set it could adopt); and, for Recreate, a pod of one of its sets going away, since the
 * new set waits for the last old pod to be gone.
 */
export function routeDeploymentInputs(options: {
  readonly deployments: Informer<DeploymentObject>;
  readonly replicaSets: Informer<ReplicaSetObject>;
  readonly pods: Informer<PodObject>;
  readonly enqueue: (key: string) => void;
}): void {
  const { deployments, replicaSets, pods, enqueue } = options;
  routeOwners(deployments, enqueue);
  routeToOwners({ dependants: replicaSets, owners: deployments, ownerKind: DEPLOYMENT_KIND, enqueue });
  pods.addHandler({
    delete(pod) {
      const rsRef = controllerOf(pod);
      if (rsRef?.kind !== 'ReplicaSet') return;
      const rs = replicaSets.get(pod.metadata.namespace, rsRef.name);
      if (rs === undefined || rs.metadata.uid !== rsRef.uid) return;
      const dRef = controllerOf(rs);
      if (dRef?.kind !== 'Deployment') return;
      const d = deployments.get(rs.metadata.namespace, dRef.name);
      if (d === undefined || d.metadata.uid !== dRef.uid || d.spec?.strategy?.type !== 'Recreate') return;
      enqueue(objectKey(d));
    },
  });
}
