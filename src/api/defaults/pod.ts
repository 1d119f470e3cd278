/**
 * Pod and pod template defaulting (`pkg/apis/core/v1/defaults.go`), plus the values Kubernetes'
 * admission and serialization add to every stored pod (priority, canonical quantities).
 */
import type { Container, HTTPGetAction, LifecycleHandler, Pod, PodSpec, Probe, Volume } from 'kubernetes-types/core/v1.d.ts';
import { isJsonObject } from '../object.ts';
import { isObject } from '../validation/util.ts';
import { formatQuantity, tryParseQuantityJson } from '../quantity.ts';

/** `v1.DefaultTerminationGracePeriodSeconds`. */
export const DEFAULT_TERMINATION_GRACE_PERIOD_SECONDS = 30;
/** `v1.DefaultSchedulerName`. */
export const DEFAULT_SCHEDULER_NAME = 'default-scheduler';
/** `v1.TerminationMessagePathDefault`. */
export const DEFAULT_TERMINATION_MESSAGE_PATH = '/dev/termination-log';
/** 0644, the file mode of projected keys unless a volume says otherwise. */
export const DEFAULT_VOLUME_MODE = 0o644;

/** The built-in PriorityClasses' values, which the Priority admission plugin writes into pods. */
const SYSTEM_PRIORITIES: Readonly<Record<string, number>> = { 'system-cluster-critical': 2000000000, 'system-node-critical': 2000001000 };

const VOLUME_SOURCE_KEYS = [
  'hostPath', 'emptyDir', 'gcePersistentDisk', 'awsElasticBlockStore', 'gitRepo', 'secret', 'nfs', 'iscsi', 'glusterfs',
  'persistentVolumeClaim', 'rbd', 'flexVolume', 'cinder', 'cephfs', 'flocker', 'downwardAPI', 'fc', 'azureFile', 'configMap',
  'vsphereVolume', 'quobyte', 'azureDisk', 'photonPersistentDisk', 'projected', 'portworxVolume', 'scaleIO', 'storageos', 'csi',
  'ephemeral', 'image',
] as const;

/** Writes a quantity back in Kubernetes' canonical form; values that do not parse are left for validation to report. */
export function canonicalizeQuantities(list: Record<string, unknown> | undefined): void {
  if (!isJsonObject(list)) return;
  for (const [k, v] of Object.entries(list)) {
    const q = tryParseQuantityJson(v);
    if (q.ok) list[k] = formatQuantity(q.quantity);
  }
}

/**
 * The image's tag as `ParseImageName` sees it: `latest` when neither a tag nor a digest is given,
 * empty for a digest alone.
 */
export function imageTag(image: string): string {
  const at = image.indexOf('@');
  const name = at >= 0 ? image.slice(0, at) : image;
  const slash = name.lastIndexOf('/');
  const colon = name.lastIndexOf(':');
  if (colon > slash) return name.slice(colon + 1);
  return at >= 0 ? '' : 'latest';
}

function defaultHTTPGet(h: HTTPGetAction | undefined): void {
  if (!isObject(h)) return;
  h.path ||= '/';
  h.scheme ||= 'HTTP';
}

function defaultProbe(p: Probe | undefined): void {
  if (!isObject(p)) return;
  p.timeoutSeconds ??= 1;
  p.periodSeconds ??= 10;
  p.successThreshold ??= 1;
  p.failureThreshold ??= 3;
  defaultHTTPGet(p.httpGet);
}

function defaultFieldRef(ref: { apiVersion?: string } | undefined): void {
  if (isObject(ref)) ref.apiVersion ||= 'v1';
}

function defaultResourceFieldRef(ref: { divisor?: unknown } | undefined): void {
  // A Quantity is not a pointer in Go, so an unset divisor is stored as "0".
  if (isObject(ref)) ref.divisor = ref.divisor === undefined ? '0' : ref.divisor;
}

/** `SetDefaults_Container` and the defaults of what a container holds. */
function defaultContainer(c: Container): void {
  if (!isObject(c)) return;
  if (!c.imagePullPolicy) c.imagePullPolicy = imageTag(typeof c.image === 'string' ? c.image : '') === 'latest' ? 'Always' : 'IfNotPresent';
  c.terminationMessagePath ||= DEFAULT_TERMINATION_MESSAGE_PATH;
  c.terminationMessagePolicy ||= 'File';
  for (const p of arr(c.ports)) if (isObject(p)) p.protocol ||= 'TCP';
  defaultProbe(c.livenessProbe);
  defaultProbe(c.readinessProbe);
  defaultProbe(c.startupProbe);
  for (const h of [c.lifecycle?.postStart, c.lifecycle?.preStop] as (LifecycleHandler | undefined)[]) if (isObject(h)) defaultHTTPGet(h.httpGet);
  for (const e of arr(c.env)) {
    defaultFieldRef(e?.valueFrom?.fieldRef);
    defaultResourceFieldRef(e?.valueFrom?.resourceFieldRef);
  }
  // ResourceRequirements is a struct in Go, so every stored container has `resources: {}`.
  if (!isObject(c.resources)) c.resources = {};
  canonicalizeQuantities(c.resources.limits);
  canonicalizeQuantities(c.resources.requests);
}

function defaultDownwardAPIItems(items: unknown): void {
  for (const item of arr(items as { fieldRef?: { apiVersion?: string }; resourceFieldRef?: { divisor?: unknown } }[])) {
    defaultFieldRef(item?.fieldRef);
    defaultResourceFieldRef(item?.resourceFieldRef);
  }
}

/** `SetDefaults_Volume` and the defaults of each source. */
function defaultVolume(v: Volume): void {
  if (!isObject(v)) return;
  const fields = v as unknown as Record<string, unknown>;
  if (VOLUME_SOURCE_KEYS.every((k) => fields[k] == null)) v.emptyDir = {};
  if (isObject(v.emptyDir) && v.emptyDir.sizeLimit !== undefined) {
    const q = tryParseQuantityJson(v.emptyDir.sizeLimit);
    if (q.ok) v.emptyDir.sizeLimit = formatQuantity(q.quantity);
  }
  if (isObject(v.hostPath)) v.hostPath.type ??= '';
  if (isObject(v.secret)) v.secret.defaultMode ??= DEFAULT_VOLUME_MODE;
  if (isObject(v.configMap)) v.configMap.defaultMode ??= DEFAULT_VOLUME_MODE;
  if (isObject(v.downwardAPI)) {
    v.downwardAPI.defaultMode ??= DEFAULT_VOLUME_MODE;
    defaultDownwardAPIItems(v.downwardAPI.items);
  }
  if (isObject(v.projected)) {
    v.projected.defaultMode ??= DEFAULT_VOLUME_MODE;
    for (const s of arr(v.projected.sources)) {
      if (isObject(s?.serviceAccountToken)) s.serviceAccountToken.expirationSeconds ??= 3600;
      if (isObject(s?.downwardAPI)) defaultDownwardAPIItems(s.downwardAPI.items);
    }
  }
}

function arr<T>(v: T[] | undefined): T[] {
  return Array.isArray(v) ? v : [];
}

/** `SetDefaults_PodSpec` plus the container and volume defaults: what pods and pod templates share. */
export function defaultPodSpec(spec: PodSpec | undefined): void {
  if (!isObject(spec)) return;
  spec.dnsPolicy ||= 'ClusterFirst';
  spec.restartPolicy ||= 'Always';
  if (!isObject(spec.securityContext)) spec.securityContext = {};
  spec.terminationGracePeriodSeconds ??= DEFAULT_TERMINATION_GRACE_PERIOD_SECONDS;
  spec.schedulerName ||= DEFAULT_SCHEDULER_NAME;
  for (const c of [...arr(spec.initContainers), ...arr(spec.containers), ...arr(spec.ephemeralContainers)]) defaultContainer(c);
  for (const v of arr(spec.volumes)) defaultVolume(v);
  canonicalizeQuantities(spec.overhead);
}

/** Requests default to limits, for pods only (`SetDefaults_Pod`), so a limit alone reserves that much. */
function requestsFromLimits(c: Container): void {
  if (!isObject(c) || !isObject(c.resources?.limits)) return;
  const res = c.resources;
  const requests = isObject(res.requests) ? res.requests : (res.requests = {});
  for (const [k, v] of Object.entries(res.limits ?? {})) if (!(k in requests)) requests[k] = v;
}

/** With the host's network, a container port is also the host port (`defaultHostNetworkPorts`). */
function hostNetworkPorts(containers: Container[]): void {
  for (const c of containers) {
    for (const p of arr(c?.ports)) if (isObject(p) && !p.hostPort) p.hostPort = p.containerPort;
  }
}

/**
 * `SetDefaults_Pod` on top of the pod spec defaults, and what the Priority admission plugin adds
 * to every pod: priority 0 and `PreemptLowerPriority` when no class is named (or the value of a
 * built-in system class).
 */
export function defaultPod(pod: Pod): void {
  if (!isObject(pod.spec)) return;
  const spec = pod.spec;
  defaultPodSpec(spec);
  for (const c of [...arr(spec.containers), ...arr(spec.initContainers)]) requestsFromLimits(c);
  spec.enableServiceLinks ??= true;
  if (spec.hostNetwork === true) hostNetworkPorts([...arr(spec.containers), ...arr(spec.initContainers)]);
  const className = spec.priorityClassName ?? '';
  const priority = className === '' ? 0 : SYSTEM_PRIORITIES[className];
  if (priority !== undefined) {
    spec.priority ??= priority;
    spec.preemptionPolicy ??= 'PreemptLowerPriority';
  }
}

/** Pod QoS classes (`qos.GetPodQOS`). */
export type QOSClass = 'Guaranteed' | 'Burstable' | 'BestEffort';

/**
 * The QoS class Kubernetes records in `status.qosClass` when a pod is created (`GetPodQOS`):
 * BestEffort without any cpu or memory request or limit; Guaranteed when every container limits
 * both and the pod's summed requests equal its summed limits; Burstable otherwise.
 */
export function podQOSClass(spec: PodSpec | undefined): QOSClass {
  const requests = new Map<string, bigint>();
  const limits = new Map<string, bigint>();
  let guaranteed = true;
  const add = (into: Map<string, bigint>, list: unknown, found?: Set<string>): void => {
    for (const name of ['cpu', 'memory']) {
      const q = tryParseQuantityJson(isJsonObject(list) ? list[name] : undefined);
      if (!q.ok || q.quantity.nanos <= 0n) continue;
      into.set(name, (into.get(name) ?? 0n) + q.quantity.nanos);
      found?.add(name);
    }
  };
  for (const c of [...arr(spec?.initContainers), ...arr(spec?.containers)]) {
    add(requests, c?.resources?.requests);
    const found = new Set<string>();
    add(limits, c?.resources?.limits, found);
    if (found.size < 2) guaranteed = false;
  }
  if (requests.size === 0 && limits.size === 0) return 'BestEffort';
  for (const [name, req] of requests) if (limits.get(name) !== req) guaranteed = false;
  return guaranteed && requests.size === limits.size ? 'Guaranteed' : 'Burstable';
}
