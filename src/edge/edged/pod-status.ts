import type { Container, ContainerState, ContainerStateTerminated, ContainerStatus as K8sContainerStatus, PodCondition, PodStatus } from 'kubernetes-types/core/v1.d.ts';
import type { ContainerStatus } from '../runtime/runtime.ts';
import { rfc3339 } from '../../api/time.ts';
import { qosClass, type PodObject } from './pod-spec.ts';

/** What Edged knows about one container of a pod, for its status. */
export interface ContainerView {
  readonly spec: Container;
  /** The latest instance in the runtime. */
  readonly current?: ContainerStatus;
  /** The instance before it, for `lastState`. */
  readonly previous?: ContainerStatus;
  /** Why the container is waiting (back-off, image pull, config error), shown instead of an exited state. */
  readonly waiting?: { readonly reason: string; readonly message: string };
  readonly ready: boolean;
  readonly started: boolean;
}

/** The inputs of {@link computePodStatus}. */
export interface PodStatusInput {
  readonly pod: PodObject;
  readonly initContainers: readonly ContainerView[];
  readonly containers: readonly ContainerView[];
  readonly podIps: readonly string[];
  readonly hostIps: readonly string[];
  /** RFC 3339; when Edged first accepted the pod. */
  readonly startTime?: string;
  /** `containerd`, `process`: the containerID scheme. */
  readonly runtimeName: string;
  /** Admission refused the pod (OutOfcpu, OutOfmemory). */
  readonly rejected?: { readonly reason: string; readonly message: string };
  /** The pod is being deleted. */
  readonly terminating: boolean;
  /** The status reported before (or the cloud's copy): transition times are kept while a condition holds. */
  readonly previous?: PodStatus;
  readonly now: Date;
}


/**
 * The pod's status as the kubelet reports it: phase by the kubelet's rules (`getPhase`), the
 * PodScheduled / Initialized / ContainersReady / Ready conditions, container statuses with
 * state, lastState, restartCount, ready, started, image, imageID and containerID, the pod's and
 * host's IPs and the start time. Pure: the same inputs give the same status, so an unchanged
 * status is never sent twice.
 */
export function computePodStatus(input: PodStatusInput): PodStatus {
  const { pod, previous } = input;
  const initStatuses = input.initContainers.map((v) => containerStatus(v, input.runtimeName, true));
  const statuses = input.containers.map((v) => containerStatus(v, input.runtimeName, false, pendingInit(input.initContainers)));
  const phase = input.rejected !== undefined ? 'Failed' : podPhase(input);
  const initPending = input.initContainers.filter((v) => !succeeded(v.current)).map((v) => v.spec.name);
  const unready = input.containers.filter((v, i) => !(statuses[i]!.ready ?? false)).map((v) => v.spec.name);
  const condition = (type: string, ok: boolean, reason?: string, message?: string): PodCondition => {
    const status = ok ? 'True' : 'False';
    const before = previous?.conditions?.find((c) => c.type === type);
    return {
      type,
      status,
      lastTransitionTime: before?.status === status && before.lastTransitionTime !== undefined ? before.lastTransitionTime : rfc3339(input.now.getTime()),
      ...(!ok && reason !== undefined ? { reason, message } : {}),
    };
  };
  const scheduled = previous?.conditions?.find((c) => c.type === 'PodScheduled') ?? { type: 'PodScheduled', status: 'True', lastTransitionTime: rfc3339(input.now.getTime()) };
  const initialized = initPending.length === 0;
  const done = phase === 'Succeeded' || phase === 'Failed';
  const readyReason = done ? 'PodCompleted' : 'ContainersNotReady';
  const readyMessage = done ? undefined : `containers with unready status: [${unready.join(' ')}]`;
  const conditions: PodCondition[] =
    input.rejected !== undefined
      ? [scheduled]
      : [
          condition('Initialized', initialized, done ? 'PodCompleted' : 'ContainersNotInitialized', done ? undefined : `containers with incomplete status: [${initPending.join(' ')}]`),
          condition('Ready', unready.length === 0 && !done, readyReason, readyMessage),
          condition('ContainersReady', unready.length === 0 && !done, readyReason, readyMessage),
          scheduled,
        ];
  const status: PodStatus = {
    phase,
    conditions,
    hostIP: input.hostIps[0] ?? '',
    hostIPs: input.hostIps.map((ip) => ({ ip })),
    ...(input.podIps.length > 0 ? { podIP: input.podIps[0], podIPs: input.podIps.map((ip) => ({ ip })) } : {}),
    ...(input.startTime !== undefined ? { startTime: input.startTime } : {}),
    ...(input.rejected !== undefined ? { reason: input.rejected.reason, message: input.rejected.message } : {}),
    qosClass: previous?.qosClass ?? qosClass(pod),
    ...(input.rejected === undefined && initStatuses.length > 0 ? { initContainerStatuses: initStatuses } : {}),
    ...(input.rejected === undefined ? { containerStatuses: statuses } : {}),
  };
  return status;
}

function succeeded(c: ContainerStatus | undefined): boolean {
  return c !== undefined && c.state === 'exited' && c.exitCode === 0;
}

function pendingInit(views: readonly ContainerView[]): boolean {
  return views.some((v) => !succeeded(v.current));
}

/** The kubelet's `getPhase`. */
function podPhase(input: PodStatusInput): PodStatus['phase'] {
  const policy = input.pod.spec?.restartPolicy ?? 'Always';
  for (const v of input.initContainers) {
    if (succeeded(v.current)) continue;
    const failed = v.current?.state === 'exited' && v.current.exitCode !== 0;
    if (failed && policy === 'Never') return 'Failed';
    return 'Pending';
  }
  let running = 0;
  let waiting = 0;
  let stopped = 0;
  let succeededCount = 0;
  for (const v of input.containers) {
    const c = v.current;
    if (c?.state === 'running') running++;
    else if (c?.state === 'exited') {
      stopped++;
      if (c.exitCode === 0) succeededCount++;
    } else waiting++;
  }
  if (input.terminating && running === 0) return stopped > 0 && stopped === succeededCount && waiting === 0 ? 'Succeeded' : 'Failed';
  if (waiting > 0) return 'Pending';
  if (running > 0) return 'Running';
  if (stopped > 0) {
    if (policy === 'Always') return 'Running';
    if (stopped === succeededCount) return 'Succeeded';
    if (policy === 'Never') return 'Failed';
    return 'Running';
  }
  return 'Pending';
}

function terminated(c: ContainerStatus, runtimeName: string): ContainerStateTerminated {
  return {
    exitCode: c.exitCode,
    reason: c.reason !== '' ? c.reason : c.exitCode === 0 ? 'Completed' : 'Error',
    ...(c.message !== '' ? { message: c.message } : {}),
    ...(c.startedAt > 0 ? { startedAt: rfc3339(c.startedAt) } : {}),
    finishedAt: c.finishedAt > 0 ? rfc3339(c.finishedAt) : rfc3339(c.createdAt),
    containerID: `${runtimeName}://${c.id}`,
  };
}

function containerStatus(v: ContainerView, runtimeName: string, init: boolean, initPending = false): K8sContainerStatus {
  const c = v.current;
  let state: ContainerState;
  let lastState: ContainerState = v.previous?.state === 'exited' ? { terminated: terminated(v.previous, runtimeName) } : {};
  if (v.waiting !== undefined && c?.state !== 'running') {
    state = { waiting: { reason: v.waiting.reason, message: v.waiting.message } };
    if (c?.state === 'exited') lastState = { terminated: terminated(c, runtimeName) };
  } else if (c?.state === 'running') {
    state = { running: { startedAt: rfc3339(c.startedAt > 0 ? c.startedAt : c.createdAt) } };
  } else if (c?.state === 'exited') {
    state = { terminated: terminated(c, runtimeName) };
  } else {
    state = { waiting: { reason: !init && initPending ? 'PodInitializing' : 'ContainerCreating' } };
  }
  const running = c?.state === 'running';
  return {
    name: v.spec.name,
    state,
    lastState,
    ready: init ? succeeded(c) : running && v.ready,
    restartCount: c?.attempt ?? 0,
    image: c?.image !== undefined && c.image !== '' ? c.image : (v.spec.image ?? ''),
    imageID: c?.imageRef ?? '',
    ...(c !== undefined ? { containerID: `${runtimeName}://${c.id}` } : {}),
    started: running && v.started,
  };
}
