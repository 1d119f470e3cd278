/**
 * Container validation (`validateContainers`, `validateInitContainers` and what they call): names,
 * images, ports, env, resources, mounts, probes.
 */
import type { Container, ContainerPort, EnvFromSource, EnvVar, HTTPGetAction, Lifecycle, LifecycleHandler, Probe, VolumeMount } from 'kubernetes-types/core/v1.d.ts';
import { fieldErrors, type FieldError } from '../field-error.ts';
import { compareQuantities, formatQuantity, milliValue, tryParseQuantityJson, type Quantity } from '../quantity.ts';
import { ENV_FIELD_PATHS, validateObjectFieldSelector, validateResourceFieldSelector } from './downward-api.ts';
import {
  configMapKeyErrors,
  dns1123LabelErrors,
  inclusiveRangeError,
  nameIsDNSSubdomain,
  portNameErrors,
  portNumberErrors,
  qualifiedNameErrors,
  regexError,
  relaxedEnvVarNameErrors,
} from './names.ts';
import { MUST_BE_NON_NEGATIVE, invalidEach, isObject, list, nonNegative, notFound, record, sortedEntries, str } from './util.ts';
import { localDescendingPath } from './volume.ts';

/** `supportedPortProtocols`, sorted. */
export const PORT_PROTOCOLS = ['SCTP', 'TCP', 'UDP'];
const PULL_POLICIES = ['Always', 'IfNotPresent', 'Never'];
const TERMINATION_MESSAGE_POLICIES = ['File', 'FallbackToLogsOnError'];
const HTTP_SCHEMES = ['HTTP', 'HTTPS'];
const STANDARD_CONTAINER_RESOURCES = new Set(['cpu', 'memory', 'ephemeral-storage']);
/** `standardResources`: names without a domain that are valid somewhere (quota, node capacity...). */
const STANDARD_RESOURCES = new Set([
  'cpu',
  'memory',
  'ephemeral-storage',
  'requests.cpu',
  'requests.memory',
  'requests.ephemeral-storage',
  'limits.cpu',
  'limits.memory',
  'limits.ephemeral-storage',
  'pods',
  'services',
  'replicationcontrollers',
  'resourcequotas',
  'secrets',
  'configmaps',
  'persistentvolumeclaims',
  'storage',
  'requests.storage',
  'services.nodeports',
  'services.loadbalancers',
]);

/** A number or a name, as `intstr.IntOrString` arrives in JSON. */
export type IntOrString = number | string;

/** `ValidatePortNumOrName`. */
export function validatePortNumOrName(port: unknown, path: string): FieldError[] {
  if (typeof port === 'number') return invalidEach(path, port, portNumberErrors(port));
  if (typeof port === 'string') return invalidEach(path, port, portNameErrors(port));
  return [fieldErrors.required(path)];
}

const isHugePages = (name: string): boolean => name.startsWith('hugepages-');
const isNative = (name: string): boolean => !name.includes('/') || name.includes('kubernetes.io/');
/** `IsExtendedResourceName`: `example.com/gpu`, always a whole number, never overcommitted. */
function isExtended(name: string): boolean {
  return !isNative(name) && !name.startsWith('requests.') && qualifiedNameErrors(`requests.${name}`).length === 0;
}

/** `validateContainerResourceName`. */
function containerResourceName(name: string, path: string): FieldError[] {
  const errors = invalidEach(path, name, qualifiedNameErrors(name));
  if (errors.length > 0) return errors;
  if (!name.includes('/')) {
    if (!STANDARD_RESOURCES.has(name) && !isHugePages(name)) return [fieldErrors.invalid(path, name, 'must be a standard resource type or fully qualified')];
    if (!STANDARD_CONTAINER_RESOURCES.has(name) && !isHugePages(name)) return [fieldErrors.invalid(path, name, 'must be a standard resource for containers')];
  } else if (!isNative(name) && !isExtended(name)) {
    return [fieldErrors.invalid(path, name, "doesn't follow extended resource name standard")];
  }
  return [];
}

/** Parses one resource quantity and applies `ValidateResourceQuantityValue`. */
function resourceQuantity(name: string, value: unknown, path: string): { q?: Quantity; errors: FieldError[] } {
  const parsed = tryParseQuantityJson(value);
  if (!parsed.ok) return { errors: [fieldErrors.invalid(path, value, parsed.message)] };
  const q = parsed.quantity;
  const errors: FieldError[] = [];
  if (q.nanos < 0n) errors.push(fieldErrors.invalid(path, formatQuantity(q), MUST_BE_NON_NEGATIVE));
  if (isExtended(name) && milliValue(q) % 1000n !== 0n) errors.push(fieldErrors.invalid(path, formatQuantity(q), 'must be an integer'));
  return { q, errors };
}

/** `ValidateResourceRequirements`: valid names and quantities, requests no more than limits. */
export function validateResourceRequirements(resources: unknown, path: string): FieldError[] {
  const res = record(resources);
  const limits = new Map<string, Quantity>();
  const errors: FieldError[] = [];
  let cpuOrMemory = false;
  let hugePages = false;
  for (const [name, value] of sortedEntries(record(res['limits']))) {
    const at = `${path}.limits[${name}]`;
    errors.push(...containerResourceName(name, at));
    const { q, errors: qErrors } = resourceQuantity(name, value, at);
    errors.push(...qErrors);
    if (q !== undefined) limits.set(name, q);
    if (isHugePages(name)) hugePages = true;
    if (name === 'cpu' || name === 'memory') cpuOrMemory = true;
  }
  for (const [name, value] of sortedEntries(record(res['requests']))) {
    const at = `${path}.requests[${name}]`;
    errors.push(...containerResourceName(name, at));
    const { q, errors: qErrors } = resourceQuantity(name, value, at);
    errors.push(...qErrors);
    const overcommit = isNative(name) && !isHugePages(name);
    const limit = limits.get(name);
    if (q !== undefined && limit !== undefined) {
      const cmp = compareQuantities(q, limit);
      if (cmp !== 0 && !overcommit) errors.push(fieldErrors.invalid(`${path}.requests`, formatQuantity(q), `must be equal to ${name} limit of ${formatQuantity(limit)}`));
      else if (cmp > 0) errors.push(fieldErrors.invalid(`${path}.requests`, formatQuantity(q), `must be less than or equal to ${name} limit of ${formatQuantity(limit)}`));
    } else if (limit === undefined && !overcommit && !(name in record(res['limits']))) {
      errors.push(fieldErrors.required(`${path}.limits`, 'Limit must be set for non overcommitable resources'));
    }
    if (isHugePages(name)) hugePages = true;
    if (name === 'cpu' || name === 'memory') cpuOrMemory = true;
  }
  if (hugePages && !cpuOrMemory) errors.push(fieldErrors.forbidden(path, 'HugePages require cpu or memory'));
  return errors;
}

/** `validateContainerPorts`: names unique in the container, ports in range, known protocol. */
function validateContainerPorts(ports: readonly ContainerPort[], path: string): FieldError[] {
  const errors: FieldError[] = [];
  const names = new Set<string>();
  ports.forEach((port, i) => {
    const at = `${path}[${i}]`;
    const name = str(port.name);
    if (name !== '') {
      const msgs = portNameErrors(name);
      if (msgs.length > 0) errors.push(...invalidEach(`${at}.name`, name, msgs));
      else if (names.has(name)) errors.push(fieldErrors.duplicate(`${at}.name`, name));
      else names.add(name);
    }
    if (port.containerPort === undefined || port.containerPort === 0) errors.push(fieldErrors.required(`${at}.containerPort`));
    else errors.push(...invalidEach(`${at}.containerPort`, port.containerPort, portNumberErrors(port.containerPort)));
    if (port.hostPort !== undefined && port.hostPort !== 0) errors.push(...invalidEach(`${at}.hostPort`, port.hostPort, portNumberErrors(port.hostPort)));
    const protocol = str(port.protocol);
    if (protocol === '') errors.push(fieldErrors.required(`${at}.protocol`));
    else if (!PORT_PROTOCOLS.includes(protocol)) errors.push(fieldErrors.notSupported(`${at}.protocol`, protocol, PORT_PROTOCOLS));
  });
  return errors;
}

/** `validateConfigMapKeySelector` / `validateSecretKeySelector`. */
function keySelector(sel: { name?: string; key?: string }, path: string): FieldError[] {
  const name = str(sel.name);
  const key = str(sel.key);
  const errors = invalidEach(`${path}.name`, name, nameIsDNSSubdomain(name, false));
  if (key === '') errors.push(fieldErrors.required(`${path}.key`));
  else errors.push(...invalidEach(`${path}.key`, key, configMapKeyErrors(key)));
  return errors;
}

/** `validateEnvVarValueFrom`: exactly one source, and none when `value` is set. */
function validateEnvVarValueFrom(ev: EnvVar, path: string): FieldError[] {
  const from = ev.valueFrom;
  if (!isObject(from)) return [];
  const errors: FieldError[] = [];
  let sources = 0;
  if (isObject(from.fieldRef)) {
    sources++;
    errors.push(...validateObjectFieldSelector(from.fieldRef, ENV_FIELD_PATHS, `${path}.fieldRef`));
  }
  if (isObject(from.resourceFieldRef)) {
    sources++;
    errors.push(...validateResourceFieldSelector(from.resourceFieldRef, `${path}.resourceFieldRef`, false));
  }
  if (isObject(from.configMapKeyRef)) {
    sources++;
    errors.push(...keySelector(from.configMapKeyRef, `${path}.configMapKeyRef`));
  }
  if (isObject(from.secretKeyRef)) {
    sources++;
    errors.push(...keySelector(from.secretKeyRef, `${path}.secretKeyRef`));
  }
  if (sources === 0) errors.push(fieldErrors.invalid(path, '', 'must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`'));
  else if (str(ev.value) !== '') errors.push(fieldErrors.invalid(path, '', 'may not be specified when `value` is not empty'));
  else if (sources > 1) errors.push(fieldErrors.invalid(path, '', 'may not have more than one field specified at a time'));
  return errors;
}

/** `ValidateEnv`, with the relaxed name rule of current Kubernetes (see {@link relaxedEnvVarNameErrors}). */
function validateEnv(env: readonly EnvVar[], path: string): FieldError[] {
  return env.flatMap((ev, i) => {
    const at = `${path}[${i}]`;
    const name = str(ev.name);
    const errors = name === '' ? [fieldErrors.required(`${at}.name`)] : invalidEach(`${at}.name`, name, relaxedEnvVarNameErrors(name));
    errors.push(...validateEnvVarValueFrom(ev, `${at}.valueFrom`));
    return errors;
  });
}

/** `ValidateEnvFrom`: an optional prefix and exactly one of configMapRef or secretRef. */
function validateEnvFrom(envFrom: readonly EnvFromSource[], path: string): FieldError[] {
  return envFrom.flatMap((ef, i) => {
    const at = `${path}[${i}]`;
    const errors: FieldError[] = [];
    const prefix = str(ef.prefix);
    if (prefix !== '') errors.push(...invalidEach(`${at}.prefix`, prefix, relaxedEnvVarNameErrors(prefix)));
    let sources = 0;
    for (const kind of ['configMapRef', 'secretRef'] as const) {
      const ref = ef[kind];
      if (!isObject(ref)) continue;
      sources++;
      const name = str(ref.name);
      // Kubernetes checks these names as prefixes (a quirk kept for compatibility).
      if (name === '') errors.push(fieldErrors.required(`${at}.${kind}.name`));
      else errors.push(...invalidEach(`${at}.${kind}.name`, name, nameIsDNSSubdomain(name, true)));
    }
    if (sources === 0) errors.push(fieldErrors.invalid(path, '', 'must specify one of: `configMapRef` or `secretRef`'));
    else if (sources > 1) errors.push(fieldErrors.invalid(path, '', 'may not have more than one field specified at a time'));
    return errors;
  });
}

/** `ValidateVolumeMounts`: each mount names a volume, at a unique path, with a relative subPath. */
function validateVolumeMounts(mounts: readonly VolumeMount[], volumes: ReadonlySet<string>, path: string): FieldError[] {
  const errors: FieldError[] = [];
  const mountPoints = new Set<string>();
  mounts.forEach((m, i) => {
    const at = `${path}[${i}]`;
    const name = str(m.name);
    const mountPath = str(m.mountPath);
    if (name === '') errors.push(fieldErrors.required(`${at}.name`));
    if (!volumes.has(name)) errors.push(notFound(`${at}.name`, name));
    if (mountPath === '') errors.push(fieldErrors.required(`${at}.mountPath`));
    if (mountPoints.has(mountPath)) errors.push(fieldErrors.invalid(`${at}.mountPath`, mountPath, 'must be unique'));
    mountPoints.add(mountPath);
    const subPath = str(m.subPath);
    const subPathExpr = str(m.subPathExpr);
    // Kubernetes reports these under the list's path, not the item's.
    if (subPath !== '') errors.push(...localDescendingPath(subPath, `${path}.subPath`));
    if (subPathExpr !== '') {
      if (subPath !== '') errors.push(fieldErrors.invalid(`${at}.subPathExpr`, subPathExpr, 'subPathExpr and subPath are mutually exclusive'));
      errors.push(...localDescendingPath(subPathExpr, `${path}.subPathExpr`));
    }
    if (m.mountPropagation != null && !['None', 'HostToContainer', 'Bidirectional'].includes(str(m.mountPropagation))) {
      errors.push(fieldErrors.notSupported(`${path}.mountPropagation`, m.mountPropagation, ['Bidirectional', 'HostToContainer', 'None']));
    }
  });
  return errors;
}

function validateHTTPGet(http: HTTPGetAction, path: string): FieldError[] {
  const errors: FieldError[] = [];
  if (str(http.path) === '') errors.push(fieldErrors.required(`${path}.path`));
  errors.push(...validatePortNumOrName(http.port, `${path}.port`));
  if (!HTTP_SCHEMES.includes(str(http.scheme))) errors.push(fieldErrors.notSupported(`${path}.scheme`, str(http.scheme), HTTP_SCHEMES));
  for (const header of list(http.httpHeaders)) {
    if (!/^[-A-Za-z0-9]+$/.test(str(header.name))) {
      errors.push(
        fieldErrors.invalid(`${path}.httpHeaders`, str(header.name), regexError("a valid HTTP header must consist of alphanumeric characters or '-'", '[-A-Za-z0-9]+', 'X-Header-Name')),
      );
    }
  }
  return errors;
}

/** `validateHandler`: exactly one of exec, httpGet, tcpSocket, grpc, sleep. */
function validateHandler(handler: Probe | LifecycleHandler, path: string): FieldError[] {
  const errors: FieldError[] = [];
  const h = handler as Probe & LifecycleHandler;
  let count = 0;
  const one = (kind: string, present: boolean, check: () => FieldError[]): void => {
    if (!present) return;
    if (count > 0) {
      errors.push(fieldErrors.forbidden(`${path}.${kind}`, 'may not specify more than 1 handler type'));
      return;
    }
    count++;
    errors.push(...check());
  };
  one('exec', isObject(h.exec), () => (list(h.exec?.command).length === 0 ? [fieldErrors.required(`${path}.exec.command`)] : []));
  one('httpGet', isObject(h.httpGet), () => validateHTTPGet(h.httpGet!, `${path}.httpGet`));
  one('tcpSocket', isObject(h.tcpSocket), () => validatePortNumOrName(h.tcpSocket?.port, `${path}.tcpSocket.port`));
  one('grpc', isObject(h.grpc), () => invalidEach(`${path}.grpc.port`, h.grpc?.port, portNumberErrors(h.grpc?.port ?? 0)));
  one('sleep', isObject(h.sleep), () => nonNegative(h.sleep?.seconds, `${path}.sleep.seconds`));
  if (count === 0) errors.push(fieldErrors.required(path, 'must specify a handler type'));
  return errors;
}

type ProbeKind = 'livenessProbe' | 'readinessProbe' | 'startupProbe';

/** `validateProbe` plus the per-kind rules (liveness and startup succeed after exactly one success). */
function validateProbe(probe: Probe, kind: ProbeKind, path: string): FieldError[] {
  const errors = validateHandler(probe, path);
  for (const field of ['initialDelaySeconds', 'timeoutSeconds', 'periodSeconds', 'successThreshold', 'failureThreshold'] as const) {
    errors.push(...nonNegative(probe[field], `${path}.${field}`));
  }
  const grace = probe.terminationGracePeriodSeconds;
  if (typeof grace === 'number' && grace <= 0) errors.push(fieldErrors.invalid(`${path}.terminationGracePeriodSeconds`, grace, 'must be greater than 0'));
  if (kind === 'readinessProbe') {
    if (grace != null) errors.push(fieldErrors.invalid(`${path}.terminationGracePeriodSeconds`, grace, 'must not be set for readinessProbes'));
  } else if (probe.successThreshold !== 1) {
    errors.push(fieldErrors.invalid(`${path}.successThreshold`, probe.successThreshold ?? 0, 'must be 1'));
  }
  return errors;
}

function validateLifecycle(lifecycle: Lifecycle, path: string): FieldError[] {
  const errors: FieldError[] = [];
  if (isObject(lifecycle.postStart)) errors.push(...validateHandler(lifecycle.postStart, `${path}.postStart`));
  if (isObject(lifecycle.preStop)) errors.push(...validateHandler(lifecycle.preStop, `${path}.preStop`));
  return errors;
}

/** `ValidateSecurityContext`'s user and group IDs (`IsValidUserID`/`IsValidGroupID`). */
export function validateIds(ctx: unknown, fields: readonly string[], path: string): FieldError[] {
  const sc = record(ctx);
  return fields.flatMap((f) => {
    const v = sc[f];
    return typeof v === 'number' && (v < 0 || v > 2147483647) ? [fieldErrors.invalid(`${path}.${f}`, v, inclusiveRangeError(0, 2147483647))] : [];
  });
}

/** `validateContainerCommon`: what regular and init containers share. */
function validateContainerCommon(c: Container, volumes: ReadonlySet<string>, path: string): FieldError[] {
  const errors: FieldError[] = [];
  const name = str(c.name);
  if (name === '') errors.push(fieldErrors.required(`${path}.name`));
  else errors.push(...invalidEach(`${path}.name`, name, dns1123LabelErrors(name)));
  if (str(c.image) === '') errors.push(fieldErrors.required(`${path}.image`));
  const tmp = str(c.terminationMessagePolicy);
  if (tmp === '') errors.push(fieldErrors.required(`${path}.terminationMessagePolicy`, "must be 'File' or 'FallbackToLogsOnError'"));
  else if (!TERMINATION_MESSAGE_POLICIES.includes(tmp)) errors.push(fieldErrors.notSupported(`${path}.terminationMessagePolicy`, tmp, TERMINATION_MESSAGE_POLICIES));
  errors.push(...validateContainerPorts(list(c.ports), `${path}.ports`));
  errors.push(...validateEnv(list(c.env), `${path}.env`));
  errors.push(...validateEnvFrom(list(c.envFrom), `${path}.envFrom`));
  errors.push(...validateVolumeMounts(list(c.volumeMounts), volumes, `${path}.volumeMounts`));
  const pull = str(c.imagePullPolicy);
  if (pull === '') errors.push(fieldErrors.required(`${path}.imagePullPolicy`));
  else if (!PULL_POLICIES.includes(pull)) errors.push(fieldErrors.notSupported(`${path}.imagePullPolicy`, pull, PULL_POLICIES));
  errors.push(...validateResourceRequirements(c.resources, `${path}.resources`));
  errors.push(...validateIds(c.securityContext, ['runAsUser', 'runAsGroup'], `${path}.securityContext`));
  return errors;
}

function validateProbes(c: Container, path: string): FieldError[] {
  const errors: FieldError[] = [];
  if (isObject(c.lifecycle)) errors.push(...validateLifecycle(c.lifecycle, `${path}.lifecycle`));
  for (const kind of ['livenessProbe', 'readinessProbe', 'startupProbe'] as const) {
    const probe = c[kind];
    if (isObject(probe)) errors.push(...validateProbe(probe, kind, `${path}.${kind}`));
  }
  return errors;
}

/** `AccumulateUniqueHostPorts`: one host port per (hostIP, protocol) across the given containers. */
function hostPortConflicts(containers: readonly { c: Container; index: number }[], path: string, seen = new Set<string>()): FieldError[] {
  const errors: FieldError[] = [];
  for (const { c, index } of containers) {
    list(c.ports).forEach((p, j) => {
      if (p.hostPort === undefined || p.hostPort === 0) return;
      const key = `${str(p.hostIP)}/${str(p.protocol)}/${p.hostPort}`;
      if (seen.has(key)) errors.push(fieldErrors.duplicate(`${path}[${index}].ports[${j}].hostPort`, key));
      seen.add(key);
    });
  }
  return errors;
}

/** `validateContainers`: at least one, unique names, probes allowed, no restartPolicy. */
export function validateContainers(containers: unknown, volumes: ReadonlySet<string>, path: string): FieldError[] {
  const all = list(containers as Container[]);
  if (all.length === 0) return [fieldErrors.required(path)];
  const errors: FieldError[] = [];
  const names = new Set<string>();
  all.forEach((c, i) => {
    const at = `${path}[${i}]`;
    errors.push(...validateContainerCommon(c, volumes, at));
    const name = str(c.name);
    if (names.has(name)) errors.push(fieldErrors.duplicate(`${at}.name`, name));
    else names.add(name);
    errors.push(...validateProbes(c, at));
    if (c.restartPolicy != null) errors.push(fieldErrors.forbidden(`${at}.restartPolicy`, 'may not be set for non-init containers'));
  });
  errors.push(...hostPortConflicts(all.map((c, index) => ({ c, index })), path));
  return errors;
}

/** True for a sidecar: an init container with `restartPolicy: Always`. */
export function isRestartableInitContainer(c: Container | undefined): boolean {
  return c?.restartPolicy === 'Always';
}

/**
 * `validateInitContainers`: names unique across init and regular containers; probes and lifecycle
 * only for sidecars.
 */
export function validateInitContainers(initContainers: unknown, containers: unknown, volumes: ReadonlySet<string>, path: string): FieldError[] {
  const errors: FieldError[] = [];
  const names = new Set(list(containers as Container[]).map((c) => str(c.name)));
  list(initContainers as Container[]).forEach((c, i) => {
    const at = `${path}[${i}]`;
    errors.push(...validateContainerCommon(c, volumes, at));
    if (c.restartPolicy != null && c.restartPolicy !== 'Always') errors.push(fieldErrors.notSupported(`${at}.restartPolicy`, c.restartPolicy, ['Always']));
    const name = str(c.name);
    if (names.has(name)) errors.push(fieldErrors.duplicate(`${at}.name`, name));
    else if (name !== '') names.add(name);
    // Init containers run one by one, so each only conflicts with itself.
    errors.push(...hostPortConflicts([{ c, index: i }], path));
    if (isRestartableInitContainer(c)) {
      errors.push(...validateProbes(c, at));
    } else {
      for (const field of ['lifecycle', 'livenessProbe', 'readinessProbe', 'startupProbe'] as const) {
        if (c[field] != null) errors.push(fieldErrors.forbidden(`${at}.${field}`, 'may not be set for init containers without restartPolicy=Always'));
      }
    }
  });
  return errors;
}

/**
 * `validatePodHostNetworkDeps`: with the host's network, a container port is its host port. Pods
 * have hostPort defaulted; templates may leave it unset.
 */
export function validateHostNetworkPorts(containers: unknown, path: string, isPod: boolean): FieldError[] {
  return list(containers as Container[]).flatMap((c, i) =>
    list(c.ports).flatMap((p, j) => {
      const hostPort = p.hostPort ?? 0;
      if (!isPod && hostPort === 0) return [];
      return hostPort !== p.containerPort ? [fieldErrors.invalid(`${path}[${i}].ports[${j}].containerPort`, p.containerPort ?? 0, 'must match `hostPort` when `hostNetwork` is true')] : [];
    }),
  );
}
