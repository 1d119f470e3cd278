import type { LabelSelector as MetaLabelSelector, OwnerReference } from 'kubernetes-types/meta/v1.d.ts';
import type { KubeObject } from '../../../api/object.ts';
import { labelSelectorFromMeta } from '../../../api/selectors/labels.ts';
import { objectKey, type Informer } from '../runtime/informer.ts';
import { controllerOf, type OwnerKind } from './objects.ts';

/** An owner whose dependants are found by its spec's selector. */
export interface SelectingOwner extends KubeObject {
  spec?: { readonly selector?: MetaLabelSelector };
}

/** Options of {@link routeToOwners}. */
export interface RouteToOwnersOptions<D extends KubeObject, O extends SelectingOwner> {
  /** Pods of replica sets, replica sets of deployments, pods of daemon sets. */
  readonly dependants: Informer<D>;
  readonly owners: Informer<O>;
  readonly ownerKind: OwnerKind;
  readonly enqueue: (ownerKey: string) => void;
  /** Called when a dependant left the cache, with its owner's key (expectations observe it). */
  readonly onRemoved?: (ownerKey: string, dependant: D) => void;
}

/**
 * Routes changes of dependants to the owner that must look at them (client-go controllers'
 * `addPod`, `updatePod`, `deletePod`): the owner named by the controller reference, or, for an
 * orphan, every owner of that kind whose selector matches it (one of them may adopt it). A
 * dependant that changes hands is also sent to its previous owner.
 */
export function routeToOwners<D extends KubeObject, O extends SelectingOwner>(options: RouteToOwnersOptions<D, O>): void {
  const { dependants, owners, ownerKind, enqueue, onRemoved } = options;
  const group = ownerKind.apiVersion.split('/')[0];
  const ownerKeyOf = (obj: D, ref: OwnerReference): string | undefined => {
    if (ref.kind !== ownerKind.kind || ref.apiVersion.split('/')[0] !== group) return undefined;
    const owner = owners.get(obj.metadata.namespace, ref.name);
    // A different uid is a new owner under an old name: the dependant is not its.
    return owner !== undefined && owner.metadata.uid === ref.uid ? objectKey(owner) : undefined;
  };
  const route = (obj: D): void => {
    const ref = controllerOf(obj);
    if (ref !== undefined) {
      const key = ownerKeyOf(obj, ref);
      if (key !== undefined) enqueue(key);
      return;
    }
    for (const owner of owners.list(obj.metadata.namespace)) {
      const c = labelSelectorFromMeta(owner.spec?.selector);
      if (c.ok && !c.selector.isEmpty() && c.selector.matches(obj.metadata.labels ?? {})) enqueue(objectKey(owner));
    }
  };
  dependants.addHandler({
    add: route,
    update(old, cur) {
      const oldRef = controllerOf(old);
      if (oldRef !== undefined && oldRef.uid !== controllerOf(cur)?.uid) {
        const key = ownerKeyOf(old, oldRef);
        if (key !== undefined) enqueue(key);
      }
      route(cur);
    },
    delete(obj) {
      const ref = controllerOf(obj);
      if (ref === undefined) return;
      const key = ownerKeyOf(obj, ref);
      if (key === undefined) return;
      onRemoved?.(key, obj);
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
