/**
 * Kubernetes' validation for the built-in kinds kedge serves, with Kubernetes' field paths and
 * messages, so that a 422 from kedge reads exactly like one from a real cluster.
 *
 * The entry points take the object after defaulting (as Kubernetes validates defaulted objects)
 * and return every problem found; an empty array means valid. Kinds without rules here (custom
 * resources) are checked by their schema and {@link validateObjectMeta}.
 */
import type { FieldError } from '../field-error.ts';
import type { GroupVersionKind, KubeObject } from '../object.ts';
import {
  validateDaemonSet,
  validateDaemonSetStatusUpdate,
  validateDaemonSetUpdate,
  validateDeployment,
  validateDeploymentStatusUpdate,
  validateDeploymentUpdate,
  validateReplicaSet,
  validateReplicaSetStatusUpdate,
  validateReplicaSetUpdate,
  validateScale,
} from './apps.ts';
import {
  validateConfigMap,
  validateConfigMapUpdate,
  validateEvent,
  validateLease,
  validateNamespace,
  validateNamespaceStatusUpdate,
  validateNamespaceUpdate,
  validateNode,
  validateNodeUpdate,
  validateSecret,
  validateSecretUpdate,
  validateServiceAccount,
} from './core.ts';
import { validateCRD, validateCRDStatusUpdate, validateCRDUpdate } from './crd.ts';
import { validateObjectMeta as validateMeta, validateObjectMetaUpdate, type NameRule } from './meta.ts';
import { validateBinding, validatePodCreate, validatePodStatusUpdate, validatePodUpdate } from './pod.ts';
import { validateEndpoints, validateService, validateServiceStatusUpdate, validateServiceUpdate } from './service.ts';

export { validateLabels, validateAnnotations, validateObjectMetaUpdate, type NameRule, type ObjectMetaOptions } from './meta.ts';
export { validateLabelSelector } from '../selectors/labels.ts';
export { validatePodSpec, validatePodTemplateSpec, validateTolerations } from './pod.ts';
export { validateResourceRequirements } from './container.ts';
export { validatePrinterColumn } from './crd.ts';
export { NODE_PORT_RANGE } from './service.ts';
export { MAX_SECRET_SIZE } from './core.ts';
export { TOTAL_ANNOTATION_SIZE_LIMIT } from './meta.ts';

type Create = (obj: KubeObject) => FieldError[];
type Update = (obj: KubeObject, old: KubeObject) => FieldError[];

interface KindRules {
  readonly create: Create;
  readonly update: Update;
  readonly status: Update;
}

/** Update = metadata update rules plus the create rules on the new object. */
const metaAndCreate =
  (create: Create): Update =>
  (obj, old) => [...validateObjectMetaUpdate(obj.metadata, old.metadata), ...create(obj)];

const metaOnly: Update = (obj, old) => validateObjectMetaUpdate(obj.metadata, old.metadata);

function rules(create: Create, update: Update = metaAndCreate(create), status: Update = metaOnly): KindRules {
  return { create, update, status };
}

/** Rules by `group/kind`: validation is per kind, whatever version the request used. */
const RULES: ReadonlyMap<string, KindRules> = new Map([
  ['/Namespace', rules(validateNamespace, validateNamespaceUpdate, validateNamespaceStatusUpdate)],
  ['/Node', rules(validateNode, validateNodeUpdate, validateNodeUpdate)],
  ['/Pod', rules(validatePodCreate, validatePodUpdate, validatePodStatusUpdate)],
  ['/Binding', rules(validateBinding)],
  ['/ConfigMap', rules(validateConfigMap, validateConfigMapUpdate)],
  ['/Secret', rules(validateSecret, validateSecretUpdate)],
  ['/Service', rules(validateService, validateServiceUpdate, validateServiceStatusUpdate)],
  ['/Endpoints', rules(validateEndpoints)],
  ['/Event', rules(validateEvent)],
  ['/ServiceAccount', rules(validateServiceAccount)],
  ['coordination.k8s.io/Lease', rules(validateLease)],
  ['apps/Deployment', rules(validateDeployment, validateDeploymentUpdate, validateDeploymentStatusUpdate)],
  ['apps/ReplicaSet', rules(validateReplicaSet, validateReplicaSetUpdate, validateReplicaSetStatusUpdate)],
  ['apps/DaemonSet', rules(validateDaemonSet, validateDaemonSetUpdate, validateDaemonSetStatusUpdate)],
  ['autoscaling/Scale', rules(validateScale)],
  ['apiextensions.k8s.io/CustomResourceDefinition', rules(validateCRD, validateCRDUpdate, validateCRDStatusUpdate)],
]);

function rulesFor(gvk: GroupVersionKind): KindRules | undefined {
  return RULES.get(`${gvk.group}/${gvk.kind}`);
}

/**
 * Kubernetes sometimes reports one problem twice (object meta is checked by both the update and
 * the create rules); a user should read it once.
 */
function unique(errors: readonly FieldError[]): FieldError[] {
  const seen = new Set<string>();
  return errors.filter((e) => {
    const key = JSON.stringify([e.type, e.field, e.detail, e.value]);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** Whether kedge has Kubernetes' rules for this kind. */
export function hasValidation(gvk: GroupVersionKind): boolean {
  return rulesFor(gvk) !== undefined;
}

/** Problems with a new object (`ValidateXxx`). Unknown kinds have none. */
export function validateCreate(gvk: GroupVersionKind, obj: KubeObject): FieldError[] {
  return unique(rulesFor(gvk)?.create(obj) ?? []);
}

/** Problems with an update, including changes to immutable fields (`ValidateXxxUpdate`). */
export function validateUpdate(gvk: GroupVersionKind, obj: KubeObject, old: KubeObject): FieldError[] {
  return unique(rulesFor(gvk)?.update(obj, old) ?? []);
}

/** Problems with a write to the status subresource (`ValidateXxxStatusUpdate`). */
export function validateStatusUpdate(gvk: GroupVersionKind, obj: KubeObject, old: KubeObject): FieldError[] {
  const r = rulesFor(gvk);
  return unique(r !== undefined ? r.status(obj, old) : validateObjectMetaUpdate(obj.metadata, old.metadata));
}

/**
 * `ValidateObjectMeta` for any kind, custom resources included: name (or generateName) by the
 * given rule, namespace presence, labels, annotations, finalizers and owner references.
 */
export function validateObjectMeta(meta: unknown, options: { namespaced: boolean; nameRule: NameRule }): FieldError[] {
  return validateMeta(meta, options);
}
