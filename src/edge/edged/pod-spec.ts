import { createHash } from 'node:crypto';
import type { Container, Pod } from 'kubernetes-types/core/v1.d.ts';
import type { KubeObject } from '../../api/object.ts';
import { milliValue, tryParseQuantity, unitValue } from '../../api/quantity.ts';
import type { ContainerResources } from '../runtime/runtime.ts';

/** A pod as the cloud sent it: metadata with name, namespace and uid always set (MetaManager checks). */
export type PodObject = KubeObject & Pod & { metadata: { name: string; namespace: string; uid: string } };

/** `namespace/name`, for logs. */
export function podKey(pod: { metadata: { namespace?: string; name?: string } }): string {
  return `${pod.metadata.namespace ?? ''}/${pod.metadata.name ?? ''}`;
}

/** The kubelet's pod description in messages: `name_namespace(uid)`. */
export function podDesc(pod: PodObject): string {
  return `${pod.metadata.name}_${pod.metadata.namespace}(${pod.metadata.uid})`;
}

/** Milli-CPUs of a quantity string, 0 when absent or malformed. */
export function cpuMilli(q: string | number | undefined): number {
  if (q === undefined) return 0;
  const p = tryParseQuantity(String(q));
  return p.ok ? Number(milliValue(p.quantity)) : 0;
}

/** Bytes of a quantity string, 0 when absent or malformed. */
export function bytes(q: string | number | undefined): number {
  if (q === undefined) return 0;
  const p = tryParseQuantity(String(q));
  return p.ok ? Number(unitValue(p.quantity)) : 0;
}

/** What a pod asks of the node. */
export interface PodRequests {
  readonly cpuMilli: number;
  readonly memoryBytes: number;
}

/**
 * The pod's effective requests, as the scheduler and the kubelet's admission compute them: the
 * larger of the sum over containers and the largest init container (they run one at a time),
 * plus the pod overhead.
 */
export function podRequests(pod: Pod): PodRequests {
  const spec = pod.spec;
  let cpu = 0;
  let mem = 0;
  for (const c of spec?.containers ?? []) {
    cpu += cpuMilli(c.resources?.requests?.['cpu']);
    mem += bytes(c.resources?.requests?.['memory']);
  }
  for (const c of spec?.initContainers ?? []) {
    cpu = Math.max(cpu, cpuMilli(c.resources?.requests?.['cpu']));
    mem = Math.max(mem, bytes(c.resources?.requests?.['memory']));
  }
  cpu += cpuMilli(spec?.overhead?.['cpu']);
  mem += bytes(spec?.overhead?.['memory']);
  return { cpuMilli: cpu, memoryBytes: mem };
}

/** The QoS class of a pod (the cloud sets status.qosClass, but an old status may lack it). */
export function qosClass(pod: Pod): 'Guaranteed' | 'Burstable' | 'BestEffort' {
  const all = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])];
  let any = false;
  let guaranteed = true;
  for (const c of all) {
    const req = c.resources?.requests ?? {};
    const lim = c.resources?.limits ?? {};
    if (Object.keys(req).length > 0 || Object.keys(lim).length > 0) any = true;
    for (const r of ['cpu', 'memory']) {
      const l = lim[r];
      const q = req[r] ?? l;
      if (l === undefined || q === undefined || (r === 'cpu' ? cpuMilli(q) !== cpuMilli(l) : bytes(q) !== bytes(l))) guaranteed = false;
    }
  }
  if (!any) return 'BestEffort';
  return guaranteed ? 'Guaranteed' : 'Burstable';
}

const CFS_PERIOD_US = 100_000;
const MIN_SHARES = 2;
const MIN_QUOTA_US = 1_000;

/**
 * A container's Linux resources as the kubelet derives them: CPU shares from the request, a CFS
 * quota from the limit, the memory limit, and an OOM score from the QoS class (Guaranteed -997,
 * BestEffort 1000, Burstable between, by its share of the node's memory).
 */
export function containerResources(pod: Pod, c: Container, nodeMemoryBytes: number): ContainerResources {
  const cpuReq = cpuMilli(c.resources?.requests?.['cpu'] ?? c.resources?.limits?.['cpu']);
  const cpuLimit = cpuMilli(c.resources?.limits?.['cpu']);
  const memLimit = bytes(c.resources?.limits?.['memory']);
  const memReq = bytes(c.resources?.requests?.['memory'] ?? c.resources?.limits?.['memory']);
  const qos = qosClass(pod);
  let oom = 1000;
  if (qos === 'Guaranteed') oom = -997;
  else if (qos === 'Burstable') oom = Math.min(999, Math.max(2, 1000 - Math.floor((1000 * memReq) / Math.max(1, nodeMemoryBytes))));
  return {
    cpuPeriod: CFS_PERIOD_US,
    cpuQuota: cpuLimit > 0 ? Math.max(MIN_QUOTA_US, Math.floor((cpuLimit * CFS_PERIOD_US) / 1000)) : 0,
    cpuShares: cpuReq > 0 ? Math.max(MIN_SHARES, Math.floor((cpuReq * 1024) / 1000)) : MIN_SHARES,
    memoryLimitBytes: memLimit,
    oomScoreAdj: oom,
  };
}

/**
 * A hash of what a container was created from, kept as an annotation: when the spec changes (a
 * new image), the kubelet replaces the container. Resources and probes are left out (changing them
 * does not restart containers).
 */
export function containerHash(c: Container): string {
  const { resources: _r, livenessProbe: _l, readinessProbe: _p, startupProbe: _s, ...rest } = c;
  return createHash('sha256').update(JSON.stringify(rest)).digest('hex').slice(0, 16);
}

/** The grace period of a pod's termination: the deletion's, else the spec's, else 30 s. */
export function gracePeriodSeconds(pod: Pod): number {
  const g = pod.metadata?.deletionGracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? 30;
  return Math.max(0, g);
}
