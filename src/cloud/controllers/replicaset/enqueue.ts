import type { LabelSelector as MetaLabelSelector, OwnerReference } from 'kubernetes-types/meta/v1.d.ts';
import type { KubeObject } from '../../../api/object.ts';
import { labelSelectorFromMeta } from '../../../api/selectors/labels.ts';
import { objectKey, type Informer } from '../runtime/informer.ts';
import type { Expectations } from './expectations.ts';
import { controllerOf, type OwnerKind, type PodObject } from './objects.ts';

/** An owner whose pods are looked up: its spec's selector. */
export interface SelectingOwner extends KubeObject {
  spec?: { readonly selector?: MetaLabelSelector };
}

/**
 * Routes pod changes to the owner that must look at them (client-go controllers' `addPod`,
 * `updatePod`, `deletePod`): the owner named by the pod's controller reference, or, for an
 * orphan, every owner of that kind whose selector matches it (one of them may adopt it). A pod
 * that changes hands or labels is also sent to its previous owner. Deletions are observed for
 * the owner's expectations.
 */
export function routePodsToOwners<O extends SelectingOwner>(options: {
  readonly pods: Informer<PodObject>;
  readonly owners: Informer<O>;
  readonly ownerKind: OwnerKind;
  readonly expectations: Expectations;
  readonly enqueue: (ownerKey: string) => void;
}): void {
  const { pods, owners, ownerKind, expectations, enqueue } = options;
  const ownerKeyOf = (pod: PodObject, ref: OwnerReference): string | undefined => {
    if (ref.kind !== ownerKind.kind || ref.apiVersion.split('/')[0] !== ownerKind.apiVersion.split('/')[0]) return undefined;
    const owner = owners.get(pod.metadata.namespace, ref.name);
    // A different uid is a new owner under an old name: the pod is not its.
    return owner !== undefined && owner.metadata.uid === ref.uid ? objectKey(owner) : undefined;
  };
  const matchingOwners = (pod: PodObject): void => {
    for (const owner of owners.list(pod.metadata.namespace)) {
      const c = labelSelectorFromMeta(owner.spec?.selector);
      if (c.ok && !c.selector.isEmpty() && c.selector.matches(pod.metadata.labels ?? {})) enqueue(objectKey(owner));
    }
  };
  const route = (pod: PodObject): void => {
    const ref = controllerOf(pod);
    if (ref === undefined) {
      matchingOwners(pod);
      return;
    }
    const key = ownerKeyOf(pod, ref);
    if (key !== undefined) enqueue(key);
  };
  pods.addHandler({
    add: route,
    update(old, cur) {
      const oldRef = controllerOf(old);
      const curRef = controllerOf(cur);
      if (oldRef !== undefined && oldRef.uid !== curRef?.uid) {
        const key = ownerKeyOf(old, oldRef);
        if (key !== undefined) enqueue(key);
      }
      route(cur);
    },
    delete(pod) {
      const ref = controllerOf(pod);
      if (ref === undefined) return;
      const key = ownerKeyOf(pod, ref);
      if (key === undefined) return;
      expectations.observeRemoval(key, pod.metadata.name ?? '');
      enqueue(key);
    },
  });
}

/** Every change of an owner (and its deletion, to forget its expectations) queues it. */
export function routeOwners<O extends KubeObject>(owners: Informer<O>, enqueue: (key: string) => void): void {
  owners.addHandler({
    add: (o) => enqueue(objectKey(o)),
    update: (_old, o) => enqueue(objectKey(o)),
    delete: (o) => enqueue(objectKey(o)),
  });
}
