/** apps/v1 workload validation (`pkg/apis/apps/validation`) and autoscaling/v1 Scale. */
import type { DaemonSet, DaemonSetSpec, DaemonSetStatus, Deployment, DeploymentSpec, DeploymentStatus, ReplicaSet, ReplicaSetSpec, ReplicaSetStatus } from 'kubernetes-types/apps/v1.d.ts';
import type { Scale } from 'kubernetes-types/autoscaling/v1.d.ts';
import type { LabelSelector as MetaLabelSelector } from 'kubernetes-types/meta/v1.d.ts';
import { fieldErrors, type FieldError } from '../field-error.ts';
import type { KubeObject } from '../object.ts';
import { labelSelectorFromMeta, validateLabelSelector } from '../selectors/labels.ts';
import { validateObjectMeta, validateObjectMetaUpdate } from './meta.ts';
import { percentErrors } from './names.ts';
import { validatePodTemplateSpec } from './pod.ts';
import { immutable, invalidEach, isObject, nonNegative, record, shape, str } from './util.ts';

type IntOrPercent = number | string | undefined | null;

const META = { namespaced: true, nameRule: 'dns1123Subdomain' } as const;

/** `getIntOrPercentValue`: `25%` → 25, `3` → 3. */
function intOrPercentValue(v: IntOrPercent): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string') return Number.parseInt(v.replace(/%$/, ''), 10) || 0;
  return 0;
}

/** `ValidatePositiveIntOrPercent` (which, despite its name, accepts zero). */
function validatePositiveIntOrPercent(v: IntOrPercent, path: string): FieldError[] {
  if (typeof v === 'string') return invalidEach(path, v, percentErrors(v));
  if (typeof v === 'number') return nonNegative(v, path);
  return [];
}

/** `IsNotMoreThan100Percent`. */
function notMoreThan100Percent(v: IntOrPercent, path: string): FieldError[] {
  return typeof v === 'string' && v.endsWith('%') && intOrPercentValue(v) > 100 ? [fieldErrors.invalid(path, v, 'must not be greater than 100%')] : [];
}

/**
 * The selector of a workload: required, valid, non-empty. Returns the parsed selector when it is
 * usable, so the template's labels can be matched against it.
 */
function workloadSelector(selector: MetaLabelSelector | undefined, path: string, emptyMessage: string, errors: FieldError[]) {
  if (!isObject(selector)) {
    errors.push(fieldErrors.required(path));
    return undefined;
  }
  errors.push(...validateLabelSelector(selector, path));
  if (Object.keys(record(selector.matchLabels)).length + (selector.matchExpressions?.length ?? 0) === 0) {
    errors.push(fieldErrors.invalid(path, selector, emptyMessage));
  }
  const converted = labelSelectorFromMeta(selector, path);
  return converted.ok ? converted.selector : undefined;
}

/**
 * `ValidatePodTemplateSpecForReplicaSet` (also used for Deployments): labels match the selector,
 * the template is a valid pod template that always restarts and has no deadline.
 */
function templateForReplicas(template: unknown, selector: ReturnType<typeof workloadSelector>, kind: string, path: string): FieldError[] {
  if (!isObject(template)) return [fieldErrors.required(path)];
  const errors: FieldError[] = [];
  const labels = record<string>(record(record(template)['metadata'])['labels']);
  if (selector !== undefined && !selector.isEmpty() && !selector.matches(labels)) {
    errors.push(fieldErrors.invalid(`${path}.metadata.labels`, labels, '`selector` does not match template `labels`'));
  }
  errors.push(...validatePodTemplateSpec(template, path));
  const spec = record(record(template)['spec']);
  if (spec['restartPolicy'] !== 'Always') errors.push(fieldErrors.notSupported(`${path}.spec.restartPolicy`, str(spec['restartPolicy']), ['Always']));
  if (spec['activeDeadlineSeconds'] != null) {
    errors.push(fieldErrors.invalid(`${path}.spec.activeDeadlineSeconds`, spec['activeDeadlineSeconds'], `activeDeadlineSeconds in ${kind} is not Supported`));
  }
  return errors;
}

function validateDeploymentSpec(spec: DeploymentSpec): FieldError[] {
  const errors = nonNegative(spec.replicas, 'spec.replicas');
  const selector = workloadSelector(spec.selector, 'spec.selector', 'empty selector is invalid for deployment', errors);
  errors.push(...templateForReplicas(spec.template, selector, 'ReplicaSet', 'spec.template'));
  const strategy = record(spec.strategy);
  const type = str(strategy['type']);
  if (type === 'Recreate') {
    if (strategy['rollingUpdate'] != null) errors.push(fieldErrors.forbidden('spec.strategy.rollingUpdate', "may not be specified when strategy `type` is 'Recreate'"));
  } else if (type === 'RollingUpdate') {
    const ru = record(strategy['rollingUpdate']);
    if (strategy['rollingUpdate'] == null) {
      errors.push(fieldErrors.required('spec.strategy.rollingUpdate', 'this should be defaulted and never be nil'));
    } else {
      const maxUnavailable = ru['maxUnavailable'] as IntOrPercent;
      const maxSurge = ru['maxSurge'] as IntOrPercent;
      errors.push(...validatePositiveIntOrPercent(maxUnavailable, 'spec.strategy.rollingUpdate.maxUnavailable'));
      errors.push(...validatePositiveIntOrPercent(maxSurge, 'spec.strategy.rollingUpdate.maxSurge'));
      if (intOrPercentValue(maxUnavailable) === 0 && intOrPercentValue(maxSurge) === 0) {
        errors.push(fieldErrors.invalid('spec.strategy.rollingUpdate.maxUnavailable', maxUnavailable ?? 0, 'may not be 0 when `maxSurge` is 0'));
      }
      errors.push(...notMoreThan100Percent(maxUnavailable, 'spec.strategy.rollingUpdate.maxUnavailable'));
    }
  } else {
    errors.push(fieldErrors.notSupported('spec.strategy', spec.strategy ?? {}, ['Recreate', 'RollingUpdate']));
  }
  errors.push(...nonNegative(spec.minReadySeconds, 'spec.minReadySeconds'));
  errors.push(...nonNegative(spec.revisionHistoryLimit, 'spec.revisionHistoryLimit'));
  if (typeof spec.progressDeadlineSeconds === 'number') {
    errors.push(...nonNegative(spec.progressDeadlineSeconds, 'spec.progressDeadlineSeconds'));
    if (spec.progressDeadlineSeconds <= (spec.minReadySeconds ?? 0)) {
      errors.push(fieldErrors.invalid('spec.progressDeadlineSeconds', spec.progressDeadlineSeconds, 'must be greater than minReadySeconds'));
    }
  }
  return errors;
}

function validateReplicaSetSpec(spec: ReplicaSetSpec): FieldError[] {
  const errors = [...nonNegative(spec.replicas, 'spec.replicas'), ...nonNegative(spec.minReadySeconds, 'spec.minReadySeconds')];
  // Kubernetes says "deployment" here too.
  const selector = workloadSelector(spec.selector, 'spec.selector', 'empty selector is invalid for deployment', errors);
  errors.push(...templateForReplicas(spec.template, selector, 'ReplicaSet', 'spec.template'));
  return errors;
}

function validateDaemonSetSpec(spec: DaemonSetSpec): FieldError[] {
  const errors: FieldError[] = [];
  const selector = workloadSelector(spec.selector, 'spec.selector', 'empty selector is invalid for daemonset', errors);
  errors.push(...templateForReplicas(spec.template, selector, 'DaemonSet', 'spec.template'));
  errors.push(...nonNegative(spec.minReadySeconds, 'spec.minReadySeconds'));
  const strategy = record(spec.updateStrategy);
  const type = str(strategy['type']);
  if (type === 'RollingUpdate') {
    if (strategy['rollingUpdate'] == null) {
      errors.push(fieldErrors.required('spec.updateStrategy.rollingUpdate'));
    } else {
      const ru = record(strategy['rollingUpdate']);
      const maxUnavailable = ru['maxUnavailable'] as IntOrPercent;
      const maxSurge = ru['maxSurge'] as IntOrPercent;
      const at = 'spec.updateStrategy.rollingUpdate';
      errors.push(...validatePositiveIntOrPercent(maxUnavailable, `${at}.maxUnavailable`), ...validatePositiveIntOrPercent(maxSurge, `${at}.maxSurge`));
      errors.push(...notMoreThan100Percent(maxUnavailable, `${at}.maxUnavailable`), ...notMoreThan100Percent(maxSurge, `${at}.maxSurge`));
      const hasUnavailable = intOrPercentValue(maxUnavailable) !== 0;
      const hasSurge = intOrPercentValue(maxSurge) !== 0;
      if (hasUnavailable && hasSurge) errors.push(fieldErrors.invalid(`${at}.maxSurge`, maxSurge, 'may not be set when maxUnavailable is non-zero'));
      else if (!hasUnavailable && !hasSurge) errors.push(fieldErrors.required(`${at}.maxUnavailable`, 'cannot be 0 when maxSurge is 0'));
    }
  } else if (type !== 'OnDelete') {
    errors.push(fieldErrors.notSupported('spec.updateStrategy', spec.updateStrategy ?? {}, ['RollingUpdate', 'OnDelete']));
  }
  errors.push(...nonNegative(spec.revisionHistoryLimit, 'spec.revisionHistoryLimit'));
  return errors;
}

/** `ValidateDeployment`. */
export function validateDeployment(obj: KubeObject): FieldError[] {
  return [...validateObjectMeta(obj.metadata, META), ...validateDeploymentSpec(shape<DeploymentSpec>(shape<Deployment>(obj).spec))];
}

/** `ValidateDeploymentUpdate` plus the apps/v1 rule that the selector never changes. */
export function validateDeploymentUpdate(obj: KubeObject, old: KubeObject): FieldError[] {
  return [
    ...validateObjectMetaUpdate(obj.metadata, old.metadata),
    ...validateDeploymentSpec(shape<DeploymentSpec>(shape<Deployment>(obj).spec)),
    ...immutable(shape<Deployment>(obj).spec?.selector, shape<Deployment>(old).spec?.selector, 'spec.selector'),
  ];
}

/** Replica counters are non-negative and bounded by `status.replicas`. */
function replicaCounters(status: unknown, fields: readonly string[]): FieldError[] {
  const s = record(status);
  return fields.flatMap((f) => nonNegative(s[f] as number | undefined, `status.${f}`));
}

/** `ValidateDeploymentStatus`. */
export function validateDeploymentStatusUpdate(obj: KubeObject, old: KubeObject): FieldError[] {
  const s = shape<DeploymentStatus>(shape<Deployment>(obj).status);
  const errors = [
    ...validateObjectMetaUpdate(obj.metadata, old.metadata),
    ...replicaCounters(s, ['observedGeneration', 'replicas', 'updatedReplicas', 'readyReplicas', 'availableReplicas', 'unavailableReplicas', 'collisionCount']),
  ];
  const replicas = s.replicas ?? 0;
  for (const f of ['updatedReplicas', 'readyReplicas', 'availableReplicas'] as const) {
    if ((s[f] ?? 0) > replicas) errors.push(fieldErrors.invalid(`status.${f}`, s[f], 'cannot be greater than status.replicas'));
  }
  if ((s.availableReplicas ?? 0) > (s.readyReplicas ?? 0)) errors.push(fieldErrors.invalid('status.availableReplicas', s.availableReplicas, 'cannot be greater than readyReplicas'));
  return errors;
}

/** `ValidateReplicaSet`. */
export function validateReplicaSet(obj: KubeObject): FieldError[] {
  return [...validateObjectMeta(obj.metadata, META), ...validateReplicaSetSpec(shape<ReplicaSetSpec>(shape<ReplicaSet>(obj).spec))];
}

/** `ValidateReplicaSetUpdate` plus the immutable apps/v1 selector. */
export function validateReplicaSetUpdate(obj: KubeObject, old: KubeObject): FieldError[] {
  return [
    ...validateObjectMetaUpdate(obj.metadata, old.metadata),
    ...validateReplicaSetSpec(shape<ReplicaSetSpec>(shape<ReplicaSet>(obj).spec)),
    ...immutable(shape<ReplicaSet>(obj).spec?.selector, shape<ReplicaSet>(old).spec?.selector, 'spec.selector'),
  ];
}

/** `ValidateReplicaSetStatus`. */
export function validateReplicaSetStatusUpdate(obj: KubeObject, old: KubeObject): FieldError[] {
  const s = shape<ReplicaSetStatus>(shape<ReplicaSet>(obj).status);
  const errors = [
    ...validateObjectMetaUpdate(obj.metadata, old.metadata),
    ...replicaCounters(s, ['replicas', 'fullyLabeledReplicas', 'readyReplicas', 'availableReplicas', 'observedGeneration']),
  ];
  const replicas = s.replicas ?? 0;
  for (const f of ['fullyLabeledReplicas', 'readyReplicas', 'availableReplicas'] as const) {
    if ((s[f] ?? 0) > replicas) errors.push(fieldErrors.invalid(`status.${f}`, s[f], 'cannot be greater than the number of replicas'));
  }
  if ((s.availableReplicas ?? 0) > (s.readyReplicas ?? 0)) errors.push(fieldErrors.invalid('status.availableReplicas', s.availableReplicas, 'cannot be greater than readyReplicas'));
  return errors;
}

/** `ValidateDaemonSet`. */
export function validateDaemonSet(obj: KubeObject): FieldError[] {
  return [...validateObjectMeta(obj.metadata, META), ...validateDaemonSetSpec(shape<DaemonSetSpec>(shape<DaemonSet>(obj).spec))];
}

/** `ValidateDaemonSetUpdate` plus the immutable apps/v1 selector. */
export function validateDaemonSetUpdate(obj: KubeObject, old: KubeObject): FieldError[] {
  return [
    ...validateObjectMetaUpdate(obj.metadata, old.metadata),
    ...validateDaemonSetSpec(shape<DaemonSetSpec>(shape<DaemonSet>(obj).spec)),
    ...immutable(shape<DaemonSet>(obj).spec?.selector, shape<DaemonSet>(old).spec?.selector, 'spec.selector'),
  ];
}

/** `ValidateDaemonSetStatusUpdate`: every counter non-negative. */
export function validateDaemonSetStatusUpdate(obj: KubeObject, old: KubeObject): FieldError[] {
  const s = shape<DaemonSetStatus>(shape<DaemonSet>(obj).status);
  return [
    ...validateObjectMetaUpdate(obj.metadata, old.metadata),
    ...replicaCounters(s, [
      'currentNumberScheduled',
      'numberMisscheduled',
      'desiredNumberScheduled',
      'numberReady',
      'observedGeneration',
      'updatedNumberScheduled',
      'numberAvailable',
      'numberUnavailable',
      'collisionCount',
    ]),
  ];
}

/** `ValidateScale`: a valid name and a non-negative replica count. */
export function validateScale(obj: KubeObject): FieldError[] {
  return [...validateObjectMeta(obj.metadata, META), ...nonNegative(shape<Scale>(obj).spec?.replicas, 'spec.replicas')];
}
