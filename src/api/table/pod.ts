/** `kubectl get pods` rows, computed exactly as `printPod` in printers.go. */
import type { Container, ContainerStatus, Pod } from 'kubernetes-types/core/v1.d.ts';
import { ageSince, humanDuration, parseTimestamp } from './duration.ts';

/** `node.NodeUnreachablePodReason`: the reason the node lifecycle controller gives pods on a lost node. */
export const NODE_LOST_REASON = 'NodeLost';

/** What the READY, STATUS and RESTARTS columns are made of. */
export interface PodSummary {
  readonly readyContainers: number;
  readonly totalContainers: number;
  /** The STATUS column: `Running`, `Pending`, `ContainerCreating`, `CrashLoopBackOff`, `Init:0/2`, `Completed`, `Terminating`... */
  readonly status: string;
  readonly restarts: number;
  /** When a container last finished before restarting (for `5 (3m ago)`), if known. */
  readonly lastRestart: number | undefined;
}

const arr = <T>(v: readonly T[] | undefined): readonly T[] => (Array.isArray(v) ? (v as readonly T[]) : []);

const isRestartable = (c: Container | undefined): boolean => c?.restartPolicy === 'Always';

function finishedAt(s: ContainerStatus): number | undefined {
  return parseTimestamp(s.lastState?.terminated?.finishedAt);
}

/** The text a terminated container contributes: its reason, else its signal or exit code. */
function terminatedText(t: { reason?: string; signal?: number; exitCode?: number }, prefix: string): string {
  if (t.reason) return `${prefix}${t.reason}`;
  if (t.signal) return `${prefix}Signal:${t.signal}`;
  return `${prefix}ExitCode:${t.exitCode ?? 0}`;
}

/**
 * The READY, STATUS and RESTARTS of a pod as kubectl shows them: the phase (or status reason),
 * overridden by the first init container still at work (`Init:1/3`, `Init:CrashLoopBackOff`),
 * else by the last container that is waiting or terminated (`ContainerCreating`,
 * `CrashLoopBackOff`, `Completed`, `Error`), and by `Terminating` (or `Unknown` on a lost node)
 * once deletion has started. Sidecars (restartable init containers) count as containers.
 */
export function summarizePod(pod: Pod): PodSummary {
  const spec = pod.spec;
  const status = pod.status ?? {};
  const phase = status.phase ?? '';
  let reason = status.reason ? status.reason : phase;
  for (const c of arr(status.conditions)) {
    if (c.type === 'PodScheduled' && c.reason === 'SchedulingGated') reason = 'SchedulingGated';
  }

  const initContainers = new Map<string, Container>();
  let totalContainers = arr(spec?.containers).length;
  for (const c of arr(spec?.initContainers)) {
    initContainers.set(c.name, c);
    if (isRestartable(c)) totalContainers++;
  }

  let restarts = 0;
  let readyContainers = 0;
  let lastRestart: number | undefined;
  let sidecarRestarts = 0;
  let lastSidecarRestart: number | undefined;
  const later = (a: number | undefined, b: number | undefined): number | undefined => (b !== undefined && (a === undefined || b > a) ? b : a);

  let initializing = false;
  const initStatuses = arr(status.initContainerStatuses);
  for (let i = 0; i < initStatuses.length; i++) {
    const c = initStatuses[i]!;
    const sidecar = isRestartable(initContainers.get(c.name));
    restarts += c.restartCount ?? 0;
    lastRestart = later(lastRestart, finishedAt(c));
    if (sidecar) {
      sidecarRestarts += c.restartCount ?? 0;
      lastSidecarRestart = later(lastSidecarRestart, finishedAt(c));
    }
    const terminated = c.state?.terminated;
    const waiting = c.state?.waiting;
    if (terminated != null && (terminated.exitCode ?? 0) === 0) continue;
    if (sidecar && c.started === true) {
      if (c.ready) readyContainers++;
      continue;
    }
    if (terminated != null) reason = terminatedText(terminated, 'Init:');
    else if (waiting?.reason && waiting.reason !== 'PodInitializing') reason = `Init:${waiting.reason}`;
    else reason = `Init:${i}/${arr(spec?.initContainers).length}`;
    initializing = true;
    break;
  }

  const initialized = arr(status.conditions).some((c) => c.type === 'Initialized' && c.status === 'True');
  if (!initializing || initialized) {
    restarts = sidecarRestarts;
    lastRestart = lastSidecarRestart;
    let hasRunning = false;
    const statuses = arr(status.containerStatuses);
    for (let i = statuses.length - 1; i >= 0; i--) {
      const c = statuses[i]!;
      restarts += c.restartCount ?? 0;
      lastRestart = later(lastRestart, finishedAt(c));
      const waiting = c.state?.waiting;
      const terminated = c.state?.terminated;
      if (waiting?.reason) reason = waiting.reason;
      else if (terminated != null) reason = terminatedText(terminated, '');
      else if (c.ready && c.state?.running != null) {
        hasRunning = true;
        readyContainers++;
      }
    }
    // A pod whose last container completed while others still run is not "Completed".
    if (reason === 'Completed' && hasRunning) {
      reason = arr(status.conditions).some((c) => c.type === 'Ready' && c.status === 'True') ? 'Running' : 'NotReady';
    }
  }

  if (pod.metadata?.deletionTimestamp != null && status.reason === NODE_LOST_REASON) reason = 'Unknown';
  else if (pod.metadata?.deletionTimestamp != null && phase !== 'Succeeded' && phase !== 'Failed') reason = 'Terminating';

  return { readyContainers, totalContainers, status: reason, restarts, lastRestart };
}

/**
 * Cells for NAME READY STATUS RESTARTS AGE IP NODE NOMINATED-NODE READINESS-GATES. RESTARTS shows
 * when the last restart happened, `5 (3m ago)`, as kubectl 1.27+ prints it.
 */
export function podCells(pod: Pod, now: Date): unknown[] {
  const s = summarizePod(pod);
  const restarts = s.restarts !== 0 && s.lastRestart !== undefined ? `${s.restarts} (${humanDuration(now.getTime() - s.lastRestart)} ago)` : String(s.restarts);
  const status = pod.status ?? {};
  const ip = arr(status.podIPs)[0]?.ip || '<none>';
  const gates = arr(pod.spec?.readinessGates);
  let readinessGates = '<none>';
  if (gates.length > 0) {
    const trueConditions = gates.filter((g) => arr(status.conditions).find((c) => c.type === g.conditionType)?.status === 'True').length;
    readinessGates = `${trueConditions}/${gates.length}`;
  }
  return [
    pod.metadata?.name ?? '',
    `${s.readyContainers}/${s.totalContainers}`,
    s.status,
    restarts,
    ageSince(pod.metadata?.creationTimestamp, now),
    ip,
    pod.spec?.nodeName || '<none>',
    status.nominatedNodeName || '<none>',
    readinessGates,
  ];
}

/** Kubernetes marks finished pods' rows `Completed` (`podSuccessConditions`, `podFailedConditions`). */
export function podRowConditions(pod: Pod): { type: 'Completed'; status: 'True'; reason: string; message: string }[] {
  switch (pod.status?.phase) {
    case 'Succeeded':
      return [{ type: 'Completed', status: 'True', reason: 'Succeeded', message: 'The pod has completed successfully.' }];
    case 'Failed':
      return [{ type: 'Completed', status: 'True', reason: 'Failed', message: 'The pod failed.' }];
    default:
      return [];
  }
}
