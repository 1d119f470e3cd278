import type { Container, Pod } from 'kubernetes-types/core/v1.d.ts';
import { milliValue, tryParseQuantity, unitValue } from '../../../api/quantity.ts';

/**
 * An amount of every resource the scheduler weighs: cpu in millicores, everything else (memory,
 * ephemeral-storage, extended resources such as `nvidia.com/gpu`) in whole units. Plain numbers:
 * bytes stay exact below 2^53 (8 PiB), far beyond any node.
 */
export interface Resources {
  milliCpu: number;
  memory: number;
  /** ephemeral-storage and extended resources, by resource name. */
  scalars: Map<string, number>;
}

/** Kubernetes' defaults for containers without requests, used for scoring only (`schedutil.DefaultMilliCPURequest`). */
export const DEFAULT_MILLI_CPU_REQUEST = 100;
/** 200 MiB (`schedutil.DefaultMemoryRequest`). */
export const DEFAULT_MEMORY_REQUEST = 200 * 1024 * 1024;

export function emptyResources(): Resources {
  return { milliCpu: 0, memory: 0, scalars: new Map() };
}

/** Parses a quantity as the scheduler counts it; malformed or missing values count as 0 (validation refused them long before). */
function amount(name: string, text: string | undefined): number {
  if (text === undefined) return 0;
  const parsed = tryParseQuantity(text);
  if (!parsed.ok) return 0;
  return Number(name === 'cpu' ? milliValue(parsed.quantity) : unitValue(parsed.quantity));
}

/** A ResourceList (`{cpu: '500m', memory: '1Gi'}`) as {@link Resources}; `pods` is left out (counted separately). */
export function parseResourceList(list: Readonly<Record<string, string>> | undefined): Resources {
  const r = emptyResources();
  if (list === undefined) return r;
  for (const [name, text] of Object.entries(list)) {
    if (name === 'cpu') r.milliCpu = amount(name, text);
    else if (name === 'memory') r.memory = amount(name, text);
    else if (name !== 'pods') r.scalars.set(name, amount(name, text));
  }
  return r;
}

function addInto(into: Resources, r: Resources): void {
  into.milliCpu += r.milliCpu;
  into.memory += r.memory;
  for (const [k, v] of r.scalars) into.scalars.set(k, (into.scalars.get(k) ?? 0) + v);
}

function maxInto(into: Resources, r: Resources): void {
  into.milliCpu = Math.max(into.milliCpu, r.milliCpu);
  into.memory = Math.max(into.memory, r.memory);
  for (const [k, v] of r.scalars) into.scalars.set(k, Math.max(into.scalars.get(k) ?? 0, v));
}

/** Adds `r` to `into` (sign +1) or takes it away (sign -1). */
export function accumulate(into: Resources, r: Resources, sign: 1 | -1): void {
  into.milliCpu += sign * r.milliCpu;
  into.memory += sign * r.memory;
  for (const [k, v] of r.scalars) into.scalars.set(k, (into.scalars.get(k) ?? 0) + sign * v);
}

function containerRequests(c: Container, nonZero: boolean): Resources {
  // A container with limits but no requests gets requests = limits (API defaulting); do the same
  // here so a pod admitted before defaulting existed is counted the same way.
  const requests: Record<string, string> = { ...(c.resources?.limits ?? {}), ...(c.resources?.requests ?? {}) };
  const r = parseResourceList(requests);
  if (nonZero) {
    if (requests['cpu'] === undefined) r.milliCpu = DEFAULT_MILLI_CPU_REQUEST;
    if (requests['memory'] === undefined) r.memory = DEFAULT_MEMORY_REQUEST;
  }
  return r;
}

/**
 * What a pod asks of a node, as Kubernetes computes it (`resource.PodRequests`): the sum over its
 * containers, at least the largest init container (sidecars — init containers with
 * `restartPolicy: Always` — keep running and add up), plus the pod overhead.
 *
 * @param nonZero count containers without a cpu/memory request as 100m / 200Mi, as the scorers do,
 *   so that best-effort pods still spread instead of piling onto one node.
 */
export function podRequests(pod: Pod, nonZero = false): Resources {
  const sum = emptyResources();
  for (const c of pod.spec?.containers ?? []) addInto(sum, containerRequests(c, nonZero));
  const sidecars = emptyResources();
  const initMax = emptyResources();
  for (const c of pod.spec?.initContainers ?? []) {
    const r = containerRequests(c, nonZero);
    if (c.restartPolicy === 'Always') {
      addInto(sidecars, r);
      continue;
    }
    // An init container runs next to the sidecars started before it.
    const during = emptyResources();
    addInto(during, r);
    addInto(during, sidecars);
    maxInto(initMax, during);
  }
  addInto(sum, sidecars);
  maxInto(sum, initMax);
  const overhead = pod.spec?.overhead;
  if (overhead !== undefined) addInto(sum, parseResourceList(overhead));
  return sum;
}

/** What a node offers pods: its allocatable (capacity when allocatable is missing) and its pod count limit. */
export interface Allocatable {
  readonly resources: Resources;
  readonly pods: number;
}

/** The node's allocatable resources. */
export function nodeAllocatable(status: { allocatable?: Readonly<Record<string, string>>; capacity?: Readonly<Record<string, string>> } | undefined): Allocatable {
  const list = status?.allocatable ?? status?.capacity ?? {};
  return { resources: parseResourceList(list), pods: amount('pods', list['pods']) };
}
