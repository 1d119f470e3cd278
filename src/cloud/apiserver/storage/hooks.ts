import type { KubeObject } from '../../../api/object.ts';
import type { FieldError } from '../../../api/field-error.ts';
import type { Subresource } from './rest-storage.ts';

/** Who is asking, for hooks that depend on it (defaulting a pod's service account does not). */
export interface RequestContext {
  readonly user: string;
  readonly dryRun: boolean;
}

/**
 * Per-resource behaviour on top of the generic storage: the strategy and admission steps Kubernetes
 * spreads over `pkg/registry/*` strategies and admission plugins. Every method is optional; the
 * generic storage calls them in this order:
 *
 * create: `admitCreate` (may mutate; may throw an ApiError) → defaulting → `validateCreate` → write.
 * update: `prepareForUpdate` (e.g. keep fields a subresource may not change) → `admitUpdate` →
 * defaulting → `validateUpdate` → write.
 * delete: `gracefulDeletion` decides whether the object lingers with a deletionTimestamp;
 * `afterDelete` runs once it is really gone.
 */
export interface ResourceHooks {
  /** Fills what the server owns on create (status reset, allocated IPs); may refuse with an ApiError. */
  admitCreate?(obj: KubeObject, ctx: RequestContext): Promise<void> | void;
  /** Called for every update of the main resource and of its subresources. */
  admitUpdate?(obj: KubeObject, old: KubeObject, ctx: RequestContext, subresource: Subresource | undefined): Promise<void> | void;
  /** Extra validation on create that needs the server's state; returns field errors (422). */
  validateCreate?(obj: KubeObject): FieldError[];
  /**
   * Grace period in seconds the object waits before it is really deleted (pods bound to a node wait
   * for the edge to stop them), or 0 to delete at once. `requested` is DeleteOptions.gracePeriodSeconds.
   */
  gracefulDeletion?(obj: KubeObject, requested: number | undefined): number;
  /**
   * Finalizers the server adds when an object is deleted (a namespace waits for its content to go).
   * Returns the object to store instead of deleting, or undefined to proceed.
   */
  beforeDelete?(obj: KubeObject, ctx: RequestContext): KubeObject | undefined;
  /**
   * True while something besides `metadata.finalizers` still holds a terminating object (a
   * namespace's `spec.finalizers`): an update that removes the last metadata finalizer then keeps it.
   */
  heldBeyondFinalizers?(obj: KubeObject): boolean;
  /** After the object was removed from the store (release allocated IPs, ...). */
  afterDelete?(obj: KubeObject): Promise<void> | void;
}
