import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DeploymentObject, ReplicaSetObject } from '../replicaset/objects.ts';
import { computeHash } from './hash.ts';
import { equalIgnoreHash, maxSurge, maxUnavailable, resolveFenceposts, setNewReplicaSetAnnotations } from './util.ts';

function d(replicas: number, strategy: NonNullable<DeploymentObject['spec']>['strategy'], annotations: Record<string, string> = {}): DeploymentObject {
  return { metadata: { name: 'd', annotations }, spec: { replicas, selector: {}, template: {}, ...(strategy !== undefined ? { strategy } : {}) } };
}

describe('RollingUpdate fenceposts', () => {
  const cases: { name: string; replicas: number; surge: number | string; unavailable: number | string; want: [number, number] }[] = [
    { name: 'defaults of 25% round surge up and unavailability down', replicas: 6, surge: '25%', unavailable: '25%', want: [2, 1] },
    { name: 'absolute values as given', replicas: 6, surge: 1, unavailable: 2, want: [1, 2] },
    { name: 'both rounding to zero allow one unavailable', replicas: 3, surge: 0, unavailable: '10%', want: [0, 1] },
    { name: 'unavailability never exceeds the replicas', replicas: 2, surge: 0, unavailable: 5, want: [0, 2] },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const dep = d(c.replicas, { type: 'RollingUpdate', rollingUpdate: { maxSurge: c.surge, maxUnavailable: c.unavailable } });
      assert.deepEqual([maxSurge(dep), maxUnavailable(dep)], c.want);
    });
  }
  it('Recreate has neither', () => {
    const dep = d(4, { type: 'Recreate' });
    assert.deepEqual([maxSurge(dep), maxUnavailable(dep)], [0, 0]);
  });
  it('resolves raw values as kube-controller-manager does', () => assert.deepEqual(resolveFenceposts('30%', '30%', 10), { surge: 3, unavailable: 3 }));
});

describe('pod-template-hash', () => {
  const template = { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } };
  it('is stable and independent of key order', () => {
    const reordered = { spec: { containers: [{ image: 'nginx', name: 'c' }] }, metadata: { labels: { app: 'web' } } };
    assert.equal(computeHash(template, undefined), computeHash(reordered, undefined));
    assert.match(computeHash(template, undefined), /^[bcdfghjklmnpqrstvwxz2456789]{6,10}$/);
  });
  it('changes with the template and with the collision count', () => {
    const other = { ...template, spec: { containers: [{ name: 'c', image: 'nginx:2' }] } };
    assert.notEqual(computeHash(template, undefined), computeHash(other, undefined));
    assert.notEqual(computeHash(template, undefined), computeHash(template, 1));
    assert.notEqual(computeHash(template, 1), computeHash(template, 2));
  });
  it('does not tell templates apart by the hash label or by empty fields', () => {
    assert.ok(equalIgnoreHash({ metadata: { labels: { app: 'web', 'pod-template-hash': 'abc' } }, spec: { containers: [], volumes: [] } }, { metadata: { labels: { app: 'web' } }, spec: { containers: [] } }));
    assert.ok(!equalIgnoreHash({ metadata: { labels: { app: 'web' } } }, { metadata: { labels: { app: 'api' } } }));
  });
});

describe('replica set annotations', () => {
  it('copies the Deployment annotations but its own and kubectl’s last-applied configuration', () => {
    const rs: ReplicaSetObject = { metadata: { name: 'rs' } };
    const dep = d(3, undefined, { 'kubernetes.io/change-cause': 'v2', 'kubectl.kubernetes.io/last-applied-configuration': '{}', 'deployment.kubernetes.io/revision': '7' });
    assert.equal(setNewReplicaSetAnnotations(dep, rs, 2, false), true);
    assert.deepEqual(rs.metadata.annotations, {
      'kubernetes.io/change-cause': 'v2',
      'deployment.kubernetes.io/revision': '2',
      'deployment.kubernetes.io/desired-replicas': '3',
      'deployment.kubernetes.io/max-replicas': '4',
    });
  });
  it('keeps the revisions a reused replica set had', () => {
    const rs: ReplicaSetObject = { metadata: { name: 'rs', annotations: { 'deployment.kubernetes.io/revision': '3', 'deployment.kubernetes.io/revision-history': '1' } } };
    assert.equal(setNewReplicaSetAnnotations(d(1, undefined), rs, 5, true), true);
    assert.equal(rs.metadata.annotations?.['deployment.kubernetes.io/revision'], '5');
    assert.equal(rs.metadata.annotations?.['deployment.kubernetes.io/revision-history'], '1,3');
    assert.equal(setNewReplicaSetAnnotations(d(1, undefined), rs, 5, true), false, 'idempotent');
  });
});
