import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Container, ContainerStatus, Pod, PodCondition, PodStatus } from 'kubernetes-types/core/v1.d.ts';
import { podCells, podRowConditions, summarizePod } from './pod.ts';

const NOW = new Date('2024-05-01T12:00:00Z');

interface PodShape {
  containers?: number;
  init?: Container[];
  phase?: string;
  reason?: string;
  conditions?: PodCondition[];
  statuses?: Partial<ContainerStatus>[];
  initStatuses?: Partial<ContainerStatus>[];
  deleting?: boolean;
}

function makePod(s: PodShape): Pod {
  const status: PodStatus = { phase: s.phase ?? 'Running' };
  if (s.reason !== undefined) status.reason = s.reason;
  if (s.conditions !== undefined) status.conditions = s.conditions;
  if (s.statuses !== undefined) status.containerStatuses = s.statuses as ContainerStatus[];
  if (s.initStatuses !== undefined) status.initContainerStatuses = s.initStatuses as ContainerStatus[];
  return {
    metadata: {
      name: 'web',
      creationTimestamp: '2024-05-01T11:00:00Z',
      ...(s.deleting === true ? { deletionTimestamp: '2024-05-01T11:59:00Z' } : {}),
    },
    spec: {
      containers: Array.from({ length: s.containers ?? 1 }, (_, i) => ({ name: `c${i}`, image: 'img' })),
      ...(s.init !== undefined ? { initContainers: s.init } : {}),
    },
    status,
  };
}

const running = (name: string, ready = true): Partial<ContainerStatus> => ({ name, ready, restartCount: 0, state: { running: { startedAt: '2024-05-01T11:00:00Z' } } });
const waiting = (name: string, reason: string): Partial<ContainerStatus> => ({ name, ready: false, restartCount: 0, state: { waiting: { reason } } });
const terminated = (name: string, exitCode: number, reason?: string, signal?: number): Partial<ContainerStatus> => ({
  name,
  ready: false,
  restartCount: 0,
  state: { terminated: { exitCode, ...(reason !== undefined ? { reason } : {}), ...(signal !== undefined ? { signal } : {}) } },
});
const initContainers = (n: number, sidecars: number[] = []): Container[] =>
  Array.from({ length: n }, (_, i) => ({ name: `i${i}`, image: 'img', ...(sidecars.includes(i) ? { restartPolicy: 'Always' } : {}) }));

describe('STATUS and READY, computed as printPod does', () => {
  const cases: [name: string, shape: PodShape, ready: string, status: string][] = [
    ['a pending pod not yet scheduled', { phase: 'Pending' }, '0/1', 'Pending'],
    ['scheduling gated', { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'SchedulingGated' }] }, '0/1', 'SchedulingGated'],
    ['pulling the image', { phase: 'Pending', statuses: [waiting('c0', 'ContainerCreating')] }, '0/1', 'ContainerCreating'],
    ['an image that cannot be pulled', { phase: 'Pending', statuses: [waiting('c0', 'ImagePullBackOff')] }, '0/1', 'ImagePullBackOff'],
    ['running and ready', { statuses: [running('c0')] }, '1/1', 'Running'],
    ['running but not ready', { statuses: [running('c0', false)] }, '0/1', 'Running'],
    ['one of two crash-looping', { containers: 2, statuses: [running('c0'), waiting('c1', 'CrashLoopBackOff')] }, '1/2', 'CrashLoopBackOff'],
    ['the first container waiting wins over a later running one', { containers: 2, statuses: [waiting('c0', 'CrashLoopBackOff'), running('c1')] }, '1/2', 'CrashLoopBackOff'],
    ['completed', { phase: 'Succeeded', statuses: [terminated('c0', 0, 'Completed')] }, '0/1', 'Completed'],
    ['failed with Error', { phase: 'Failed', statuses: [terminated('c0', 1, 'Error')] }, '0/1', 'Error'],
    ['killed by a signal without a reason', { phase: 'Failed', statuses: [terminated('c0', 137, undefined, 9)] }, '0/1', 'Signal:9'],
    ['exited without a reason', { phase: 'Failed', statuses: [terminated('c0', 2)] }, '0/1', 'ExitCode:2'],
    ['OOM killed', { statuses: [terminated('c0', 137, 'OOMKilled')] }, '0/1', 'OOMKilled'],
    [
      'one container completed, another still running and the pod ready',
      { containers: 2, conditions: [{ type: 'Ready', status: 'True' }], statuses: [terminated('c0', 0, 'Completed'), running('c1')] },
      '1/2',
      'Running',
    ],
    [
      'one container completed, another still running, pod not ready',
      { containers: 2, conditions: [{ type: 'Ready', status: 'False' }], statuses: [terminated('c0', 0, 'Completed'), running('c1')] },
      '1/2',
      'NotReady',
    ],
    ['the first of two init containers running', { phase: 'Pending', init: initContainers(2), initStatuses: [running('i0', false), waiting('i1', 'PodInitializing')] }, '0/1', 'Init:0/2'],
    [
      'the second of two init containers running',
      { phase: 'Pending', init: initContainers(2), initStatuses: [terminated('i0', 0, 'Completed'), running('i1', false)] },
      '0/1',
      'Init:1/2',
    ],
    ['an init container crash-looping', { phase: 'Pending', init: initContainers(1), initStatuses: [waiting('i0', 'CrashLoopBackOff')] }, '0/1', 'Init:CrashLoopBackOff'],
    ['an init container failed', { phase: 'Pending', init: initContainers(1), initStatuses: [terminated('i0', 1, 'Error')] }, '0/1', 'Init:Error'],
    ['an init container killed by a signal', { phase: 'Pending', init: initContainers(1), initStatuses: [terminated('i0', 137, undefined, 9)] }, '0/1', 'Init:Signal:9'],
    ['an init container exited without a reason', { phase: 'Pending', init: initContainers(1), initStatuses: [terminated('i0', 3)] }, '0/1', 'Init:ExitCode:3'],
    [
      'waiting on PodInitializing counts as progress, not a reason',
      { phase: 'Pending', init: initContainers(1), initStatuses: [waiting('i0', 'PodInitializing')] },
      '0/1',
      'Init:0/1',
    ],
    [
      'a started sidecar counts toward READY',
      { init: initContainers(1, [0]), initStatuses: [{ ...running('i0'), started: true }], statuses: [running('c0')] },
      '2/2',
      'Running',
    ],
    ['being deleted', { deleting: true, statuses: [running('c0')] }, '1/1', 'Terminating'],
    ['a finished pod being deleted keeps its status', { deleting: true, phase: 'Succeeded', statuses: [terminated('c0', 0, 'Completed')] }, '0/1', 'Completed'],
    ['on a lost node and being deleted', { deleting: true, reason: 'NodeLost', statuses: [running('c0')] }, '1/1', 'Unknown'],
    ['on a lost node', { reason: 'NodeLost' }, '0/1', 'NodeLost'],
    ['evicted', { phase: 'Failed', reason: 'Evicted' }, '0/1', 'Evicted'],
  ];
  for (const [name, shape, ready, status] of cases) {
    it(name, () => {
      const cells = podCells(makePod(shape), NOW);
      assert.equal(cells[1], ready);
      assert.equal(cells[2], status);
    });
  }
});

describe('RESTARTS shows when the last restart happened', () => {
  const restarted = (name: string, count: number, finishedAt?: string): Partial<ContainerStatus> => ({
    ...running(name),
    restartCount: count,
    ...(finishedAt !== undefined ? { lastState: { terminated: { exitCode: 1, finishedAt } } } : {}),
  });
  const cases: [name: string, shape: PodShape, expected: string][] = [
    ['never restarted', { statuses: [running('c0')] }, '0'],
    ['restarted five times, last three minutes ago', { statuses: [restarted('c0', 5, '2024-05-01T11:57:00Z')] }, '5 (3m ago)'],
    ['restarts without a known time', { statuses: [restarted('c0', 2)] }, '2'],
    [
      'restarts add up across containers, the latest time wins',
      { containers: 2, statuses: [restarted('c0', 1, '2024-05-01T10:00:00Z'), restarted('c1', 2, '2024-05-01T11:59:30Z')] },
      '3 (30s ago)',
    ],
    [
      'while initializing, only init container restarts count',
      { phase: 'Pending', init: initContainers(1), initStatuses: [{ ...waiting('i0', 'CrashLoopBackOff'), restartCount: 4, lastState: { terminated: { exitCode: 1, finishedAt: '2024-05-01T11:00:00Z' } } }] },
      '4 (60m ago)',
    ],
  ];
  for (const [name, shape, expected] of cases) {
    it(name, () => {
      assert.equal(podCells(makePod(shape), NOW)[3], expected);
    });
  }
});

describe('wide pod columns', () => {
  it('shows <none> for a pod without IP, node, nomination or readiness gates', () => {
    assert.deepEqual(podCells(makePod({}), NOW).slice(4), ['60m', '<none>', '<none>', '<none>', '<none>']);
  });

  it('shows the first pod IP, the node and how many readiness gates are true', () => {
    const pod = makePod({ conditions: [{ type: 'example.com/lb', status: 'True' }] });
    pod.spec!.nodeName = 'edge-1';
    pod.spec!.readinessGates = [{ conditionType: 'example.com/lb' }, { conditionType: 'example.com/dns' }];
    Object.assign(pod.status!, { podIPs: [{ ip: '10.42.0.7' }, { ip: 'fd00::7' }], nominatedNodeName: 'edge-2' });
    assert.deepEqual(podCells(pod, NOW).slice(5), ['10.42.0.7', 'edge-1', 'edge-2', '1/2']);
  });
});

describe('summarizePod and row conditions', () => {
  it('counts sidecars as containers', () => {
    const s = summarizePod(makePod({ containers: 2, init: initContainers(2, [1]) }));
    assert.equal(s.totalContainers, 3);
  });

  it('marks finished pods Completed, as Kubernetes does for kubectl', () => {
    assert.deepEqual(podRowConditions(makePod({ phase: 'Succeeded' })), [{ type: 'Completed', status: 'True', reason: 'Succeeded', message: 'The pod has completed successfully.' }]);
    assert.deepEqual(podRowConditions(makePod({ phase: 'Running' })), []);
  });
});
