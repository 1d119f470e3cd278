/**
 * core/v1 kinds other than pods and services: Namespace, Node, ConfigMap, Secret, Event,
 * ServiceAccount; and coordination.k8s.io/v1 Lease.
 */
import type { ConfigMap, Event, Namespace, Node, NodeAddress, Secret, Taint } from 'kubernetes-types/core/v1.d.ts';
import type { Lease } from 'kubernetes-types/coordination/v1.d.ts';
import { fieldErrors, type FieldError } from '../field-error.ts';
import type { KubeObject } from '../object.ts';
import { formatQuantity, milliValue, tryParseQuantityJson } from '../quantity.ts';
import { validateObjectMeta, validateObjectMetaUpdate } from './meta.ts';
import { byteLength, cidrErrors, configMapKeyErrors, labelValueErrors, qualifiedNameErrors } from './names.ts';
import { validateTaintEffect } from './pod.ts';
import { MUST_BE_NON_NEGATIVE, immutable, invalidEach, list, record, semanticEqual, shape, sortedEntries, str } from './util.ts';

/** `core.MaxSecretSize`: the data of one ConfigMap or Secret together. */
export const MAX_SECRET_SIZE = 1024 * 1024;

const IMMUTABLE_WHEN_SET = 'field is immutable when `immutable` is set';
/** `helper.IsStandardFinalizerName`. */
const STANDARD_FINALIZERS = new Set(['kubernetes', 'orphan', 'foregroundDeletion']);

// ---------------------------------------------------------------------------------------------
// Namespace
// ---------------------------------------------------------------------------------------------

/** `ValidateNamespace`: a DNS label name, and finalizers that are standard or qualified. */
export function validateNamespace(obj: KubeObject): FieldError[] {
  const errors = validateObjectMeta(obj.metadata, { namespaced: false, nameRule: 'dns1123Label' });
  for (const f of list(shape<Namespace>(obj).spec?.finalizers).map(str)) {
    errors.push(...invalidEach('spec.finalizers', f, qualifiedNameErrors(f)));
    if (!f.includes('/') && !STANDARD_FINALIZERS.has(f)) errors.push(fieldErrors.invalid('spec.finalizers', f, 'name is neither a standard finalizer name nor is it fully qualified'));
  }
  return errors;
}

/** `ValidateNamespaceUpdate`. */
export function validateNamespaceUpdate(obj: KubeObject, old: KubeObject): FieldError[] {
  return validateObjectMetaUpdate(obj.metadata, old.metadata);
}

/** `ValidateNamespaceStatusUpdate`: Active until deleted, Terminating after (`status.Phase`, as Kubernetes spells it). */
export function validateNamespaceStatusUpdate(obj: KubeObject, old: KubeObject): FieldError[] {
  const errors = validateObjectMetaUpdate(obj.metadata, old.metadata);
  const phase = str(shape<Namespace>(obj).status?.phase);
  if (obj.metadata.deletionTimestamp == null) {
    if (phase !== 'Active') errors.push(fieldErrors.invalid('status.Phase', phase, "may only be 'Active' if `deletionTimestamp` is empty"));
  } else if (phase !== 'Terminating') {
    errors.push(fieldErrors.invalid('status.Phase', phase, "may only be 'Terminating' if `deletionTimestamp` is not empty"));
  }
  return errors;
}

// ---------------------------------------------------------------------------------------------
// Node
// ---------------------------------------------------------------------------------------------

/**
 * `validateNodeTaints`. Kubernetes reports these under `metadata.taints` (its path is built from
 * `metadata`); kedge keeps the path users see from real clusters.
 */
function validateNodeTaints(taints: readonly Taint[]): FieldError[] {
  const errors: FieldError[] = [];
  const seen = new Set<string>();
  taints.forEach((t, i) => {
    const at = `metadata.taints[${i}]`;
    errors.push(...invalidEach(`${at}.key`, str(t.key), qualifiedNameErrors(str(t.key))));
    const valueErrors = labelValueErrors(str(t.value));
    if (valueErrors.length > 0) errors.push(fieldErrors.invalid(`${at}.value`, str(t.value), valueErrors.join(';')));
    errors.push(...validateTaintEffect(t.effect, false, `${at}.effect`));
    const key = `${str(t.effect)}\u0000${str(t.key)}`;
    if (seen.has(key)) errors.push({ ...fieldErrors.duplicate(at, t), detail: 'taints must be unique by key and effect pair' });
    seen.add(key);
  });
  return errors;
}

/** `ValidateNodeResources`: capacity and allocatable quantities are non-negative (and whole for extended resources). */
function validateNodeResources(node: Node): FieldError[] {
  const errors: FieldError[] = [];
  for (const field of ['capacity', 'allocatable'] as const) {
    for (const [name, value] of sortedEntries(record(node.status?.[field]))) {
      const at = `status.${field}.${name}`;
      const q = tryParseQuantityJson(value);
      if (!q.ok) {
        errors.push(fieldErrors.invalid(at, value, q.message));
        continue;
      }
      if (q.quantity.nanos < 0n) errors.push(fieldErrors.invalid(at, formatQuantity(q.quantity), MUST_BE_NON_NEGATIVE));
      if (name.includes('/') && !name.includes('kubernetes.io/') && milliValue(q.quantity) % 1000n !== 0n) {
        errors.push(fieldErrors.invalid(at, formatQuantity(q.quantity), 'must be an integer'));
      }
    }
  }
  return errors;
}

function validateNodeSpec(node: Node): FieldError[] {
  const errors = validateNodeTaints(list(node.spec?.taints));
  errors.push(...validateNodeResources(node));
  list(node.spec?.podCIDRs).forEach((cidr, i) => errors.push(...invalidEach(`spec.podCIDRs[${i}]`, cidr, cidrErrors(str(cidr)))));
  return errors;
}

/** `ValidateNode`: names are DNS subdomains; status fields are optional but must be valid. */
export function validateNode(obj: KubeObject): FieldError[] {
  return [...validateObjectMeta(obj.metadata, { namespaced: false, nameRule: 'dns1123Subdomain' }), ...validateNodeSpec(shape<Node>(obj))];
}

/**
 * `ValidateNodeUpdate` (also used for node status): podCIDRs and providerID may only go from
 * empty to set, and addresses are unique.
 */
export function validateNodeUpdate(obj: KubeObject, oldObj: KubeObject): FieldError[] {
  const node = shape<Node>(obj);
  const old = shape<Node>(oldObj);
  const errors = [...validateObjectMetaUpdate(obj.metadata, oldObj.metadata), ...validateNodeSpec(node)];
  const seen: NodeAddress[] = [];
  list(node.status?.addresses).forEach((a, i) => {
    if (seen.some((s) => semanticEqual(s, a))) errors.push(fieldErrors.duplicate(`status.addresses[${i}]`, a));
    seen.push(a);
  });
  const oldCIDRs = list(old.spec?.podCIDRs);
  if (oldCIDRs.length > 0 && !semanticEqual(oldCIDRs, list(node.spec?.podCIDRs))) {
    errors.push(fieldErrors.forbidden('spec.podCIDRs', 'node updates may not change podCIDR except from "" to valid'));
  }
  const oldProvider = str(old.spec?.providerID);
  if (oldProvider !== '' && oldProvider !== str(node.spec?.providerID)) {
    errors.push(fieldErrors.forbidden('spec.providerID', 'node updates may not change providerID except from "" to valid'));
  }
  if (str(node.spec?.externalID) !== str(old.spec?.externalID)) errors.push(fieldErrors.forbidden('spec.externalID', 'may not be updated'));
  return errors;
}

// ---------------------------------------------------------------------------------------------
// ConfigMap and Secret
// ---------------------------------------------------------------------------------------------

/**
 * The decoded length of a base64 value, or the byte offset Go's decoder would complain about
 * (`illegal base64 data at input byte N`).
 */
export function base64Length(value: string): { length: number } | { badByte: number } {
  const bad = value.search(/[^A-Za-z0-9+/=]/);
  if (bad >= 0) return { badByte: bad };
  const padding = /=*$/.exec(value)![0].length;
  const firstPad = value.indexOf('=');
  if (value.length % 4 !== 0 || padding > 2 || (firstPad >= 0 && firstPad < value.length - padding)) {
    return { badByte: firstPad >= 0 ? firstPad : value.length - (value.length % 4) };
  }
  return { length: (value.length / 4) * 3 - padding };
}

/** Decoded sizes of a map of base64 values, with an error for each value that is not base64. */
function binarySizes(values: Readonly<Record<string, unknown>>, path: string): { total: number; errors: FieldError[] } {
  let total = 0;
  const errors: FieldError[] = [];
  for (const [key, value] of sortedEntries(values)) {
    const r = base64Length(str(value));
    if ('length' in r) total += r.length;
    else errors.push(fieldErrors.invalid(`${path}[${key}]`, '<secret contents redacted>', `illegal base64 data at input byte ${r.badByte}`));
  }
  return { total, errors };
}

/** `ValidateConfigMap`: valid keys, none in both maps, 1 MiB in total. */
export function validateConfigMap(obj: KubeObject): FieldError[] {
  const cm = shape<ConfigMap>(obj);
  const errors = validateObjectMeta(obj.metadata, { namespaced: true, nameRule: 'dns1123Subdomain' });
  const data = record(cm.data);
  const binary = record(cm.binaryData);
  let total = 0;
  for (const [key, value] of sortedEntries(data)) {
    errors.push(...invalidEach(`data[${key}]`, key, configMapKeyErrors(key)));
    if (key in binary) errors.push(fieldErrors.invalid(`data[${key}]`, key, 'duplicate of key present in binaryData'));
    total += byteLength(str(value));
  }
  for (const [key] of sortedEntries(binary)) errors.push(...invalidEach(`binaryData[${key}]`, key, configMapKeyErrors(key)));
  const sizes = binarySizes(binary, 'binaryData');
  errors.push(...sizes.errors);
  // Kubernetes reports the size on the whole object, with an empty path.
  if (total + sizes.total > MAX_SECRET_SIZE) errors.push(fieldErrors.tooLong('', undefined, MAX_SECRET_SIZE));
  return errors;
}

/** `ValidateConfigMapUpdate`: nothing in an immutable ConfigMap may change. */
export function validateConfigMapUpdate(obj: KubeObject, oldObj: KubeObject): FieldError[] {
  const cm = shape<ConfigMap>(obj);
  const old = shape<ConfigMap>(oldObj);
  const errors = validateObjectMetaUpdate(obj.metadata, oldObj.metadata);
  if (old.immutable === true) {
    if (cm.immutable !== true) errors.push(fieldErrors.forbidden('immutable', IMMUTABLE_WHEN_SET));
    if (!semanticEqual(cm.data, old.data)) errors.push(fieldErrors.forbidden('data', IMMUTABLE_WHEN_SET));
    if (!semanticEqual(cm.binaryData, old.binaryData)) errors.push(fieldErrors.forbidden('binaryData', IMMUTABLE_WHEN_SET));
  }
  errors.push(...validateConfigMap(obj));
  return errors;
}

/** Parses a Docker config as Go's `json.Unmarshal` into a map would, returning its complaint. */
function dockerConfigError(base64: string): string | undefined {
  let parsed: unknown;
  try {
    const text = new TextDecoder().decode(Uint8Array.from(atob(base64), (c) => c.charCodeAt(0)));
    if (text.trim() === '') return 'unexpected end of JSON input';
    parsed = JSON.parse(text);
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
  // `null` decodes into a nil map without complaint; other non-objects do not fit a map.
  if (parsed === null || (typeof parsed === 'object' && !Array.isArray(parsed))) return undefined;
  const kind = Array.isArray(parsed) ? 'array' : typeof parsed;
  return `json: cannot unmarshal ${kind} into Go value of type map[string]interface {}`;
}

/** `ValidateSecret`: keys, total size, and the keys each well-known type requires. */
export function validateSecret(obj: KubeObject): FieldError[] {
  const secret = shape<Secret>(obj);
  const errors = validateObjectMeta(obj.metadata, { namespaced: true, nameRule: 'dns1123Subdomain' });
  const data = record(secret.data);
  for (const [key] of sortedEntries(data)) errors.push(...invalidEach(`data[${key}]`, key, configMapKeyErrors(key)));
  const sizes = binarySizes(data, 'data');
  errors.push(...sizes.errors);
  if (sizes.total > MAX_SECRET_SIZE) errors.push(fieldErrors.tooLong('data', undefined, MAX_SECRET_SIZE));
  const has = (key: string): boolean => key in data;
  switch (str(secret.type)) {
    case 'kubernetes.io/service-account-token':
      // The token itself is added later by a controller; the account name must be there now.
      if (str(record(obj.metadata.annotations)['kubernetes.io/service-account.name']) === '') {
        errors.push(fieldErrors.required('metadata.annotations[kubernetes.io/service-account.name]'));
      }
      break;
    case 'kubernetes.io/dockercfg':
    case 'kubernetes.io/dockerconfigjson': {
      const key = secret.type === 'kubernetes.io/dockercfg' ? '.dockercfg' : '.dockerconfigjson';
      if (!has(key)) {
        errors.push(fieldErrors.required(`data[${key}]`));
        break;
      }
      const problem = dockerConfigError(str(data[key]));
      if (problem !== undefined) errors.push(fieldErrors.invalid(`data[${key}]`, '<secret contents redacted>', problem));
      break;
    }
    case 'kubernetes.io/basic-auth':
      if (!has('username') && !has('password')) errors.push(fieldErrors.required('data[username]'), fieldErrors.required('data[password]'));
      break;
    case 'kubernetes.io/ssh-auth':
      if (str(data['ssh-privatekey']) === '') errors.push(fieldErrors.required('data[ssh-privatekey]'));
      break;
    case 'kubernetes.io/tls':
      if (!has('tls.crt')) errors.push(fieldErrors.required('data[tls.crt]'));
      if (!has('tls.key')) errors.push(fieldErrors.required('data[tls.key]'));
      break;
  }
  return errors;
}

/** `ValidateSecretUpdate`: the type never changes; an immutable Secret's data neither. */
export function validateSecretUpdate(obj: KubeObject, oldObj: KubeObject): FieldError[] {
  const secret = shape<Secret>(obj);
  const old = shape<Secret>(oldObj);
  const errors = [...validateObjectMetaUpdate(obj.metadata, oldObj.metadata), ...immutable(str(secret.type), str(old.type), 'type')];
  if (old.immutable === true) {
    if (secret.immutable !== true) errors.push(fieldErrors.forbidden('immutable', IMMUTABLE_WHEN_SET));
    if (!semanticEqual(secret.data, old.data)) errors.push(fieldErrors.forbidden('data', IMMUTABLE_WHEN_SET));
  }
  errors.push(...validateSecret(obj));
  return errors;
}

// ---------------------------------------------------------------------------------------------
// Event, ServiceAccount, Lease
// ---------------------------------------------------------------------------------------------

/**
 * `ValidateEventCreate` for core/v1 (the legacy rules): the involved object lives in the event's
 * namespace; events with `eventTime` (the new API's shape) also name their reporter and action.
 */
export function validateEvent(obj: KubeObject): FieldError[] {
  const event = shape<Event>(obj);
  const errors = validateObjectMeta(obj.metadata, { namespaced: true, nameRule: 'dns1123Subdomain' });
  const namespace = str(obj.metadata.namespace);
  const involvedNamespace = str(event.involvedObject?.namespace);
  const mismatch = (): FieldError => fieldErrors.invalid('involvedObject.namespace', involvedNamespace, 'does not match event.namespace');
  if (event.eventTime == null) {
    if (involvedNamespace === '' ? namespace !== '' && namespace !== 'default' : namespace !== involvedNamespace) errors.push(mismatch());
  } else {
    if (involvedNamespace === '' && namespace !== 'default' && namespace !== 'kube-system') errors.push(mismatch());
    const controller = str(event.reportingComponent);
    if (controller === '') errors.push(fieldErrors.required('reportingComponent'));
    errors.push(...invalidEach('reportingComponent', controller, qualifiedNameErrors(controller)));
    const limits: [field: 'reportingInstance' | 'action' | 'reason', max: number][] = [
      ['reportingInstance', 128],
      ['action', 128],
      ['reason', 128],
    ];
    for (const [field, max] of limits) {
      const v = str(event[field]);
      if (v === '') errors.push(fieldErrors.required(field));
      if (v.length > max) errors.push(fieldErrors.invalid(field, '', `can have at most ${max} characters`));
    }
    if (str(event.message).length > 1024) errors.push(fieldErrors.invalid('message', '', 'can have at most 1024 characters'));
  }
  return errors;
}

/** `ValidateServiceAccount`. */
export function validateServiceAccount(obj: KubeObject): FieldError[] {
  return validateObjectMeta(obj.metadata, { namespaced: true, nameRule: 'dns1123Subdomain' });
}

/** `ValidateLease`: positive duration, non-negative transitions. */
export function validateLease(obj: KubeObject): FieldError[] {
  const spec = shape<Lease>(obj).spec ?? {};
  const errors = validateObjectMeta(obj.metadata, { namespaced: true, nameRule: 'dns1123Subdomain' });
  if (typeof spec.leaseDurationSeconds === 'number' && spec.leaseDurationSeconds <= 0) {
    errors.push(fieldErrors.invalid('spec.leaseDurationSeconds', spec.leaseDurationSeconds, 'must be greater than 0'));
  }
  if (typeof spec.leaseTransitions === 'number' && spec.leaseTransitions < 0) {
    errors.push(fieldErrors.invalid('spec.leaseTransitions', spec.leaseTransitions, MUST_BE_NON_NEGATIVE));
  }
  return errors;
}
