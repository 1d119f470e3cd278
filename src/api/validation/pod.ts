/** Pod, pod template and Binding validation (`pkg/apis/core/validation`). */
import type { Binding, Container, ContainerStatus, Pod, PodSpec, PodTemplateSpec, Toleration } from 'kubernetes-types/core/v1.d.ts';
import { fieldErrors, type FieldError } from '../field-error.ts';
import type { KubeObject } from '../object.ts';
import { validateContainers, validateHostNetworkPorts, validateIds, validateInitContainers } from './container.ts';
import { validateAnnotations, validateLabels, validateObjectMeta, validateObjectMetaUpdate } from './meta.ts';
import { dns1123LabelErrors, inclusiveRangeError, ipErrors, labelValueErrors, nameIsDNSSubdomain, qualifiedNameErrors } from './names.ts';
import { invalidEach, isObject, list, nonNegative, record, semanticEqual, shape, str } from './util.ts';
import { validateVolumes } from './volume.ts';

const RESTART_POLICIES = ['Always', 'OnFailure', 'Never'];
const DNS_POLICIES = ['ClusterFirstWithHostNet', 'ClusterFirst', 'Default', 'None'];
const TAINT_EFFECTS = ['NoSchedule', 'PreferNoSchedule', 'NoExecute'];
const PREEMPTION_POLICIES = ['Never', 'PreemptLowerPriority'];
const MAX_INT32 = 2147483647;

/**
 * The fields a pod update may change, as Kubernetes lists them in its refusal (without in-place
 * resize, which kedge does not offer).
 */
export const POD_UPDATABLE_FIELDS: readonly string[] = [
  '`spec.containers[*].image`',
  '`spec.initContainers[*].image`',
  '`spec.activeDeadlineSeconds`',
  '`spec.tolerations` (only additions to existing tolerations)',
  '`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)',
];

/** `validateTaintEffect`. */
export function validateTaintEffect(effect: unknown, allowEmpty: boolean, path: string): FieldError[] {
  const e = str(effect);
  if (!allowEmpty && e === '') return [fieldErrors.required(path)];
  return TAINT_EFFECTS.includes(e) || (allowEmpty && e === '') ? [] : [fieldErrors.notSupported(path, e, TAINT_EFFECTS)];
}

/** `ValidateTolerations`. */
export function validateTolerations(tolerations: unknown, path: string): FieldError[] {
  return list(tolerations as Toleration[]).flatMap((t, i) => {
    const at = `${path}[${i}]`;
    const errors: FieldError[] = [];
    const key = str(t.key);
    const operator = str(t.operator);
    if (key !== '') errors.push(...invalidEach(`${at}.key`, key, qualifiedNameErrors(key)));
    // An empty key with Exists matches every taint; with any other operator it matches nothing.
    if (key === '' && operator !== 'Exists') {
      errors.push(fieldErrors.invalid(`${at}.operator`, operator, 'operator must be Exists when `key` is empty, which means "match all values and all keys"'));
    }
    if (t.tolerationSeconds != null && t.effect !== 'NoExecute') {
      errors.push(fieldErrors.invalid(`${at}.effect`, str(t.effect), "effect must be 'NoExecute' when `tolerationSeconds` is set"));
    }
    switch (operator) {
      case 'Equal':
      case '': {
        const msgs = labelValueErrors(str(t.value));
        if (msgs.length > 0) errors.push(fieldErrors.invalid(`${at}.operator`, str(t.value), msgs.join(';')));
        break;
      }
      case 'Exists':
        if (str(t.value) !== '') errors.push(fieldErrors.invalid(`${at}.operator`, t, "value must be empty when `operator` is 'Exists'"));
        break;
      default:
        errors.push(fieldErrors.notSupported(`${at}.operator`, operator, ['Equal', 'Exists']));
    }
    if (str(t.effect) !== '') errors.push(...validateTaintEffect(t.effect, true, `${at}.effect`));
    return errors;
  });
}

function enumValue(value: unknown, supported: readonly string[], path: string): FieldError[] {
  const v = str(value);
  if (v === '') return [fieldErrors.required(path)];
  return supported.includes(v) ? [] : [fieldErrors.notSupported(path, v, supported)];
}

function validateDNSConfig(spec: PodSpec, path: string): FieldError[] {
  const config = spec.dnsConfig;
  if (spec.dnsPolicy === 'None' && !isObject(config)) return [fieldErrors.required(path, 'must provide `dnsConfig` when `dnsPolicy` is None')];
  if (!isObject(config)) return [];
  const errors: FieldError[] = [];
  const nameservers = list(config.nameservers);
  if (spec.dnsPolicy === 'None' && nameservers.length === 0) errors.push(fieldErrors.required(`${path}.nameservers`, 'must provide at least one DNS nameserver when `dnsPolicy` is None'));
  if (nameservers.length > 3) errors.push(fieldErrors.invalid(`${path}.nameservers`, nameservers, 'must not have more than 3 nameservers'));
  nameservers.forEach((ns, i) => errors.push(...invalidEach(`${path}.nameservers[${i}]`, ns, ipErrors(str(ns)))));
  const searches = list(config.searches);
  if (searches.length > 32) errors.push(fieldErrors.invalid(`${path}.searches`, searches, 'must not have more than 32 search paths'));
  return errors;
}

/** Options of {@link validatePodSpec}. */
export interface PodSpecOptions {
  /** A Pod rather than a template: hostPort must already be defaulted under hostNetwork. */
  readonly isPod: boolean;
}

/** `ValidatePodSpec`: everything a pod or a pod template's spec must satisfy. */
export function validatePodSpec(specValue: unknown, path: string, options: PodSpecOptions): FieldError[] {
  const spec = shape<PodSpec>(specValue);
  const errors: FieldError[] = [];
  const volumes = validateVolumes(spec.volumes, `${path}.volumes`);
  errors.push(...volumes.errors);
  errors.push(...validateContainers(spec.containers, volumes.names, `${path}.containers`));
  errors.push(...validateInitContainers(spec.initContainers, spec.containers, volumes.names, `${path}.initContainers`));
  if (spec.hostNetwork === true) errors.push(...validateHostNetworkPorts(spec.containers, `${path}.containers`, options.isPod));
  errors.push(...enumValue(spec.restartPolicy, RESTART_POLICIES, `${path}.restartPolicy`));
  errors.push(...enumValue(spec.dnsPolicy, DNS_POLICIES, `${path}.dnsPolicy`));
  errors.push(...validateLabels(spec.nodeSelector, `${path}.nodeSelector`));
  errors.push(...validateIds(spec.securityContext, ['runAsUser', 'runAsGroup', 'fsGroup'], `${path}.securityContext`));
  errors.push(...validateDNSConfig(spec, `${path}.dnsConfig`));
  list(spec.readinessGates).forEach((g, i) => {
    errors.push(...invalidEach(`${path}.readinessGates[${i}].conditionType`, str(g.conditionType), qualifiedNameErrors(str(g.conditionType))));
  });
  for (const field of ['serviceAccountName', 'nodeName', 'priorityClassName', 'schedulerName'] as const) {
    const v = str(spec[field]);
    if (v !== '') errors.push(...invalidEach(`${path}.${field}`, v, nameIsDNSSubdomain(v, false)));
  }
  const deadline = spec.activeDeadlineSeconds;
  if (typeof deadline === 'number' && (deadline < 1 || deadline > MAX_INT32)) {
    errors.push(fieldErrors.invalid(`${path}.activeDeadlineSeconds`, deadline, inclusiveRangeError(1, MAX_INT32)));
  }
  errors.push(...nonNegative(spec.terminationGracePeriodSeconds, `${path}.terminationGracePeriodSeconds`));
  for (const field of ['hostname', 'subdomain'] as const) {
    const v = str(spec[field]);
    if (v !== '') errors.push(...invalidEach(`${path}.${field}`, v, dns1123LabelErrors(v)));
  }
  errors.push(...validateTolerations(spec.tolerations, `${path}.tolerations`));
  if (spec.preemptionPolicy != null) errors.push(...enumValue(spec.preemptionPolicy, PREEMPTION_POLICIES, `${path}.preemptionPolicy`));
  return errors;
}

/**
 * `ValidatePodTemplateSpec`: the template's labels and annotations (reported as
 * `<path>.labels`, without `metadata`, exactly as Kubernetes does) and its spec.
 */
export function validatePodTemplateSpec(template: unknown, path: string): FieldError[] {
  const t = shape<PodTemplateSpec>(template);
  const meta = record(t.metadata);
  const errors = [...validateLabels(meta['labels'], `${path}.labels`), ...validateAnnotations(meta['annotations'], `${path}.annotations`)];
  errors.push(...validatePodSpec(t.spec, `${path}.spec`, { isPod: false }));
  if (list(t.spec?.ephemeralContainers).length > 0) errors.push(fieldErrors.forbidden(`${path}.spec.ephemeralContainers`, 'ephemeral containers not allowed in pod template'));
  return errors;
}

/** `validatePodIPs`/`validateHostIPs`: valid, distinct, at most one per family. */
function validateStatusIPs(ips: unknown, path: string): FieldError[] {
  const all = list(ips as { ip?: string }[]).map((p) => str(p.ip));
  const errors: FieldError[] = [];
  all.forEach((ip, i) => errors.push(...invalidEach(`${path}[${i}]`, ip, ipErrors(ip))));
  if (all.length > 2) errors.push(fieldErrors.invalid(path, all, 'may specify no more than one IP for each IP family'));
  all.forEach((ip, i) => {
    if (all.indexOf(ip) !== i) errors.push(fieldErrors.duplicate(`${path}[${i}]`, ip));
  });
  return errors;
}

function validatePodMetadataAndSpec(pod: Pod): FieldError[] {
  return [...validateObjectMeta(pod.metadata, { namespaced: true, nameRule: 'dns1123Subdomain' }), ...validatePodSpec(pod.spec, 'spec', { isPod: true })];
}

/** `ValidatePodCreate`. */
export function validatePodCreate(obj: KubeObject): FieldError[] {
  const pod = obj as Pod;
  const errors = validatePodMetadataAndSpec(pod);
  if (list(pod.spec?.ephemeralContainers).length > 0) errors.push(fieldErrors.forbidden('spec.ephemeralContainers', 'cannot be set on create'));
  if (str(pod.spec?.nodeName) !== '' && list(pod.spec?.schedulingGates).length > 0) {
    errors.push(fieldErrors.forbidden('spec.nodeName', 'cannot be set until all schedulingGates have been cleared'));
  }
  errors.push(...validateStatusIPs(pod.status?.podIPs, 'status.podIPs'));
  return errors;
}

/** `ValidateContainerUpdates`: the same number of containers, each still with an image. */
function containerUpdates(containers: readonly Container[], old: readonly Container[], path: string): { errors: FieldError[]; stop: boolean } {
  if (containers.length !== old.length) return { errors: [fieldErrors.forbidden(path, 'pod updates may not add or remove containers')], stop: true };
  const errors: FieldError[] = [];
  containers.forEach((c, i) => {
    const image = str(c.image);
    if (image === '') errors.push(fieldErrors.required(`${path}[${i}].image`));
    if (image.trim() !== image) errors.push(fieldErrors.invalid(`${path}[${i}].image`, image, 'must not have leading or trailing whitespace'));
  });
  return { errors, stop: false };
}

/** `validateOnlyAddedTolerations`: existing tolerations stay, except for their tolerationSeconds. */
function onlyAddedTolerations(tolerations: readonly Toleration[], old: readonly Toleration[], path: string): FieldError[] {
  for (const o of old) {
    const kept = tolerations.some((t) => semanticEqual({ ...o, tolerationSeconds: t.tolerationSeconds }, t));
    if (!kept) return [fieldErrors.forbidden(path, 'existing toleration can not be modified except its tolerationSeconds')];
  }
  return validateTolerations(tolerations, path);
}

/** Lines naming each leaf that differs, as `- path: old` / `+ path: new`. */
function diffLines(old: unknown, updated: unknown, path: string, out: string[]): void {
  if (semanticEqual(old, updated)) return;
  if (isObject(old) && isObject(updated) && !Array.isArray(old) && !Array.isArray(updated)) {
    const o = old as Record<string, unknown>;
    const u = updated as Record<string, unknown>;
    for (const k of [...new Set([...Object.keys(o), ...Object.keys(u)])].sort()) diffLines(o[k], u[k], path === '' ? k : `${path}.${k}`, out);
    return;
  }
  if (Array.isArray(old) && Array.isArray(updated) && old.length === updated.length) {
    old.forEach((x, i) => diffLines(x, updated[i], `${path}[${i}]`, out));
    return;
  }
  if (old !== undefined) out.push(`- \t${path}: ${JSON.stringify(old)},`);
  if (updated !== undefined) out.push(`+ \t${path}: ${JSON.stringify(updated)},`);
}

/** What differs between two specs, in the spirit of the `cmp.Diff` Kubernetes appends to its refusal. */
function specDiff(old: unknown, updated: unknown): string {
  const lines: string[] = [];
  diffLines(old, updated, '', lines);
  return ['  core.PodSpec{', ...lines, '  }'].join('\n');
}

/**
 * `ValidatePodUpdate`: metadata may change (labels, annotations...), the spec only in the few
 * places Kubernetes allows; anything else is refused with one Forbidden error on `spec` that lists
 * the updatable fields and shows the difference.
 */
export function validatePodUpdate(obj: KubeObject, oldObj: KubeObject): FieldError[] {
  const pod = obj as Pod;
  const old = oldObj as Pod;
  const spec = shape<PodSpec>(pod.spec);
  const oldSpec = shape<PodSpec>(old.spec);
  const errors = [...validateObjectMetaUpdate(pod.metadata, old.metadata), ...validatePodMetadataAndSpec(pod)];
  for (const field of ['containers', 'initContainers'] as const) {
    const r = containerUpdates(list(spec[field]), list(oldSpec[field]), `spec.${field}`);
    errors.push(...r.errors);
    if (r.stop) return errors;
  }
  const deadline = spec.activeDeadlineSeconds;
  const oldDeadline = oldSpec.activeDeadlineSeconds;
  if (typeof deadline === 'number') {
    if (deadline < 0 || deadline > MAX_INT32) {
      errors.push(fieldErrors.invalid('spec.activeDeadlineSeconds', deadline, inclusiveRangeError(0, MAX_INT32)));
      return errors;
    }
    if (typeof oldDeadline === 'number' && oldDeadline < deadline) {
      errors.push(fieldErrors.invalid('spec.activeDeadlineSeconds', deadline, 'must be less than or equal to previous value'));
      return errors;
    }
  } else if (typeof oldDeadline === 'number') {
    errors.push(fieldErrors.invalid('spec.activeDeadlineSeconds', null, 'must not update from a positive integer to nil value'));
  }
  errors.push(...onlyAddedTolerations(list(spec.tolerations), list(oldSpec.tolerations), 'spec.tolerations'));
  const oldGates = new Set(list(oldSpec.schedulingGates).map((g) => str(g.name)));
  for (const gate of list(spec.schedulingGates)) {
    if (!oldGates.has(str(gate.name))) errors.push(fieldErrors.forbidden('spec.schedulingGates', `only deletion is allowed, but found new scheduling gate '${str(gate.name)}'`));
  }
  if (semanticEqual(spec, oldSpec)) return errors;

  // Put back what may change, then anything still different is a forbidden change.
  const withImages = (cs: readonly Container[], olds: readonly Container[]): Container[] => cs.map((c, i) => ({ ...c, image: olds[i]?.image ?? '' }));
  const munged: Record<string, unknown> = {
    ...spec,
    containers: withImages(list(spec.containers), list(oldSpec.containers)),
    initContainers: withImages(list(spec.initContainers), list(oldSpec.initContainers)),
    activeDeadlineSeconds: oldSpec.activeDeadlineSeconds,
    tolerations: oldSpec.tolerations,
    schedulingGates: oldSpec.schedulingGates,
  };
  const oldGrace = oldSpec.terminationGracePeriodSeconds;
  if (typeof oldGrace === 'number' && oldGrace < 0 && spec.terminationGracePeriodSeconds === 1) munged['terminationGracePeriodSeconds'] = oldGrace;
  if (!semanticEqual(munged, oldSpec)) {
    errors.push(
      fieldErrors.forbidden('spec', `pod updates may not change fields other than ${POD_UPDATABLE_FIELDS.join(',')}\n${specDiff(oldSpec, munged)}`),
    );
  }
  return errors;
}

/** `ValidateContainerStateTransition`: containers that must not restart stay terminated. */
function stateTransitions(statuses: readonly ContainerStatus[], old: readonly ContainerStatus[], restartPolicy: string, path: string): FieldError[] {
  if (restartPolicy === 'Always') return [];
  const errors: FieldError[] = [];
  old.forEach((o, i) => {
    const terminated = o.state?.terminated;
    if (terminated == null) return;
    if ((terminated.exitCode ?? 0) !== 0 && restartPolicy === 'OnFailure') return;
    for (const s of statuses) {
      if (s.name === o.name && s.state?.terminated == null) errors.push(fieldErrors.forbidden(`${path}[${i}].state`, 'may not be transitioned to non-terminated state'));
    }
  });
  return errors;
}

/** `ValidatePodStatusUpdate`. The spec is not checked: a status write keeps the stored spec. */
export function validatePodStatusUpdate(obj: KubeObject, oldObj: KubeObject): FieldError[] {
  const pod = obj as Pod;
  const old = oldObj as Pod;
  const errors = validateObjectMetaUpdate(pod.metadata, old.metadata);
  if (str(pod.spec?.nodeName) !== str(old.spec?.nodeName)) errors.push(fieldErrors.forbidden('status.nodeName', 'may not be changed directly'));
  const nominated = str(pod.status?.nominatedNodeName);
  if (nominated !== '' && nominated !== str(old.status?.nominatedNodeName)) {
    errors.push(...invalidEach('status.nominatedNodeName', nominated, nameIsDNSSubdomain(nominated, false)));
  }
  const restartPolicy = str(old.spec?.restartPolicy);
  errors.push(...stateTransitions(list(pod.status?.containerStatuses), list(old.status?.containerStatuses), restartPolicy, 'status.containerStatuses'));
  errors.push(...stateTransitions(list(pod.status?.initContainerStatuses), list(old.status?.initContainerStatuses), restartPolicy, 'status.initContainerStatuses'));
  errors.push(...validateStatusIPs(pod.status?.podIPs, 'status.podIPs'));
  errors.push(...validateStatusIPs(pod.status?.hostIPs, 'status.hostIPs'));
  return errors;
}

/** `ValidatePodBinding`: the target is a Node, by name. */
export function validateBinding(obj: KubeObject): FieldError[] {
  const target = shape<Binding>(obj).target ?? {};
  const errors: FieldError[] = [];
  const kind = str(target.kind);
  if (kind !== '' && kind !== 'Node') errors.push(fieldErrors.notSupported('target.kind', kind, ['Node', '<empty>']));
  if (str(target.name) === '') errors.push(fieldErrors.required('target.name'));
  return errors;
}
