import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { scaledValue, type PodObject } from './objects.ts';
import { isPodAvailable, rankForDeletion } from './pods.ts';

const NOW = Date.parse('2025-01-01T12:00:00Z');

function pod(name: string, o: { node?: string; phase?: string; readySince?: number; notReady?: boolean; created?: number; restarts?: number; cost?: string } = {}): PodObject {
  return {
    metadata: {
      name,
      uid: `uid-${name}`,
      creationTimestamp: new Date(o.created ?? NOW - 3_600_000).toISOString(),
      ...(o.cost !== undefined ? { annotations: { 'controller.kubernetes.io/pod-deletion-cost': o.cost } } : {}),
    },
    spec: { containers: [], ...(o.node !== undefined ? { nodeName: o.node } : {}) },
    status: {
      phase: o.phase ?? 'Running',
      conditions: o.readySince !== undefined || o.notReady === true ? [{ type: 'Ready', status: o.notReady === true ? 'False' : 'True', lastTransitionTime: new Date(o.readySince ?? NOW).toISOString() }] : [],
      containerStatuses: [{ name: 'c', image: 'i', imageID: '', ready: true, restartCount: o.restarts ?? 0 }],
    },
  };
}

describe('which pods a scale-down deletes first', () => {
  const cases: { name: string; pods: PodObject[]; first: string }[] = [
    { name: 'unscheduled before scheduled', pods: [pod('bound', { node: 'n1', readySince: NOW - 1000 }), pod('unbound', { phase: 'Pending' })], first: 'unbound' },
    { name: 'pending before running', pods: [pod('running', { node: 'n1' }), pod('pending', { node: 'n1', phase: 'Pending' })], first: 'pending' },
    { name: 'not ready before ready', pods: [pod('ready', { node: 'n1', readySince: NOW - 5000 }), pod('notready', { node: 'n1', notReady: true })], first: 'notready' },
    { name: 'lower deletion cost first', pods: [pod('cheap', { node: 'n1', readySince: NOW - 5000, cost: '-5' }), pod('dear', { node: 'n2', readySince: NOW - 5000, cost: '10' })].reverse(), first: 'cheap' },
    {
      name: 'doubled-up node first',
      pods: [pod('alone', { node: 'n1', readySince: NOW - 60_000 }), pod('crowded', { node: 'n2', readySince: NOW - 60_000 }), pod('crowded2', { node: 'n2', readySince: NOW - 60_000 })],
      first: 'crowded',
    },
    { name: 'ready for less time first (log buckets)', pods: [pod('old', { node: 'n1', readySince: NOW - 3_600_000 }), pod('young', { node: 'n2', readySince: NOW - 2_000 })], first: 'young' },
    { name: 'more restarts first', pods: [pod('calm', { node: 'n1', notReady: true }), pod('flappy', { node: 'n2', notReady: true, restarts: 7 })], first: 'flappy' },
    { name: 'newer first', pods: [pod('elder', { node: 'n1', phase: 'Pending', created: NOW - 7_200_000 }), pod('newer', { node: 'n2', phase: 'Pending', created: NOW - 10_000 })], first: 'newer' },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const ranked = rankForDeletion(c.pods, c.pods, NOW);
      assert.equal(ranked[0]?.metadata.name, c.first);
    });
  }
});

describe('pod availability', () => {
  it('is readiness when minReadySeconds is 0', () => {
    assert.equal(isPodAvailable(pod('p', { readySince: NOW }), 0, NOW), true);
    assert.equal(isPodAvailable(pod('p', { notReady: true }), 0, NOW), false);
  });
  it('needs the pod ready for strictly longer than minReadySeconds', () => {
    assert.equal(isPodAvailable(pod('p', { readySince: NOW - 10_000 }), 10, NOW), false);
    assert.equal(isPodAvailable(pod('p', { readySince: NOW - 10_001 }), 10, NOW), true);
  });
});

describe('int-or-percent values', () => {
  const cases: [string | number, number, boolean, number][] = [
    [3, 10, true, 3],
    ['25%', 6, true, 2],
    ['25%', 6, false, 1],
    ['10%', 3, false, 0],
    ['10%', 3, true, 1],
    ['100%', 7, false, 7],
  ];
  for (const [v, total, up, want] of cases) {
    it(`${String(v)} of ${total} rounded ${up ? 'up' : 'down'} is ${want}`, () => assert.equal(scaledValue(v, total, up), want));
  }
  it('rejects strings that are not percentages', () => assert.throws(() => scaledValue('abc', 4, true)));
});
