import { podRequests, type PodObject } from './pod-spec.ts';

/** What the node offers pods. */
export interface Allocatable {
  readonly cpuMilli: number;
  readonly memoryBytes: number;
  readonly pods: number;
}

/** Why a pod was refused, as the kubelet says it (`status.reason`, `status.message`). */
export interface Rejection {
  readonly reason: 'OutOfcpu' | 'OutOfmemory' | 'OutOfpods';
  readonly message: string;
}

/**
 * The kubelet's resource admission (the `NodeResourcesFit` predicate run on the node): the pod's
 * requests plus those of the pods already admitted must fit the node's allocatable; the first
 * resource that does not fit is the reason (`OutOfcpu`, `OutOfmemory`, `OutOfpods`).
 * @param admitted the pods admitted and not finished, without `pod`
 * @returns undefined when it fits
 */
export function admit(pod: PodObject, admitted: readonly PodObject[], node: Allocatable): Rejection | undefined {
  if (admitted.length + 1 > node.pods) {
    return { reason: 'OutOfpods', message: `Pod was rejected: Node didn't have enough resource: pods, requested: 1, used: ${admitted.length}, capacity: ${node.pods}` };
  }
  const want = podRequests(pod);
  let cpu = 0;
  let mem = 0;
  for (const p of admitted) {
    const r = podRequests(p);
    cpu += r.cpuMilli;
    mem += r.memoryBytes;
  }
  if (want.cpuMilli > 0 && cpu + want.cpuMilli > node.cpuMilli) {
    return { reason: 'OutOfcpu', message: `Pod was rejected: Node didn't have enough resource: cpu, requested: ${want.cpuMilli}, used: ${cpu}, capacity: ${node.cpuMilli}` };
  }
  if (want.memoryBytes > 0 && mem + want.memoryBytes > node.memoryBytes) {
    return { reason: 'OutOfmemory', message: `Pod was rejected: Node didn't have enough resource: memory, requested: ${want.memoryBytes}, used: ${mem}, capacity: ${node.memoryBytes}` };
  }
  return undefined;
}
