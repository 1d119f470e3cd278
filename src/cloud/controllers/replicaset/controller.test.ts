import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { replicaSetModule } from './index.ts';
import type { PodObject, ReplicaSetObject } from './objects.ts';
import { eventually, TestApi } from './testing.ts';

function replicaSet(name: string, replicas: number, options: { minReadySeconds?: number; labels?: Record<string, string> } = {}): ReplicaSetObject {
  const labels = options.labels ?? { app: name };
  return {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: { name },
    spec: {
      replicas,
      ...(options.minReadySeconds !== undefined ? { minReadySeconds: options.minReadySeconds } : {}),
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels }, spec: { containers: [{ name: 'c', image: 'busybox' }] } },
    },
  };
}

function orphan(name: string, labels: Record<string, string>): PodObject {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, labels }, spec: { containers: [{ name: 'c', image: 'busybox' }] } };
}

describe('ReplicaSet controller', () => {
  let api: TestApi;
  before(async () => {
    api = await TestApi.start();
    await api.run(replicaSetModule);
  });
  after(() => api.close());

  it('creates the replicas from the template, owned by the replica set, and reports them', async () => {
    const rs = await api.replicaSets.create('default', replicaSet('web', 3));
    const pods = await eventually(async () => {
      const p = await api.podsOf(rs.metadata.uid);
      assert.equal(p.length, 3);
      return p;
    });
    for (const pod of pods) {
      assert.match(pod.metadata.name ?? '', /^web-[a-z0-9]{5}$/);
      assert.equal(pod.metadata.labels?.['app'], 'web');
      assert.deepEqual(pod.metadata.ownerReferences, [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web', uid: rs.metadata.uid, controller: true, blockOwnerDeletion: true }]);
    }
    await eventually(async () => {
      const cur = await api.replicaSets.get('default', 'web');
      assert.equal(cur?.status?.replicas, 3);
      assert.equal(cur?.status?.fullyLabeledReplicas, 3);
      assert.equal(cur?.status?.readyReplicas, undefined);
      assert.equal(cur?.status?.observedGeneration, 1);
    });
    await eventually(async () => {
      const created = (await api.eventsFor(rs.metadata.uid)).filter((e) => e.reason === 'SuccessfulCreate');
      assert.equal(created.length, 3);
      assert.match(created[0]?.message ?? '', /^Created pod: web-/);
    });
  });

  it('counts ready and available pods and replaces pods that finish', async () => {
    const rs = await api.replicaSets.create('default', replicaSet('ready', 2));
    const pods = await eventually(async () => {
      const p = await api.podsOf(rs.metadata.uid);
      assert.equal(p.length, 2);
      return p;
    });
    for (const p of pods) await api.setReady(p);
    await eventually(async () => {
      const cur = await api.replicaSets.get('default', 'ready');
      assert.equal(cur?.status?.readyReplicas, 2);
      assert.equal(cur?.status?.availableReplicas, 2);
    });
    await api.pods.patch('default', pods[0]!.metadata.name!, 'merge', { status: { phase: 'Failed' } }, { subresource: 'status' });
    await eventually(async () => {
      const now = await api.podsOf(rs.metadata.uid);
      assert.equal(now.length, 2);
      assert.ok(!now.some((p) => p.metadata.name === pods[0]!.metadata.name));
    });
  });

  it('makes pods available only after minReadySeconds, without another change to wake it', async () => {
    const rs = await api.replicaSets.create('default', replicaSet('slow', 1, { minReadySeconds: 1 }));
    const [pod] = await eventually(async () => {
      const p = await api.podsOf(rs.metadata.uid);
      assert.equal(p.length, 1);
      return p;
    });
    await api.setReady(pod!);
    await eventually(async () => {
      const cur = await api.replicaSets.get('default', 'slow');
      assert.equal(cur?.status?.readyReplicas, 1);
      assert.equal(cur?.status?.availableReplicas, undefined);
    });
    await eventually(async () => {
      const cur = await api.replicaSets.get('default', 'slow');
      assert.equal(cur?.status?.availableReplicas, 1);
    }, 4_000);
  });

  it('scales down by deleting pending, then not-ready pods before ready ones', async () => {
    const rs = await api.replicaSets.create('default', replicaSet('shrink', 4));
    const pods = await eventually(async () => {
      const p = await api.podsOf(rs.metadata.uid);
      assert.equal(p.length, 4);
      return p;
    });
    // Two running and ready, one running but not ready, one still pending.
    const [a, b, c] = pods;
    await api.setReady(a!);
    await api.setReady(b!);
    await api.setReady(c!, false);
    await eventually(async () => assert.equal((await api.replicaSets.get('default', 'shrink'))?.status?.readyReplicas, 2));
    await api.replicaSets.patch('default', 'shrink', 'merge', { spec: { replicas: 2 } });
    const left = await eventually(async () => {
      const p = await api.podsOf(rs.metadata.uid);
      assert.equal(p.length, 2);
      return p;
    });
    assert.deepEqual(left.map((p) => p.metadata.name).sort(), [a!.metadata.name, b!.metadata.name].sort());
    await eventually(async () => {
      const deleted = (await api.eventsFor(rs.metadata.uid)).filter((e) => e.reason === 'SuccessfulDelete');
      assert.equal(deleted.length, 2);
    });
  });

  it('adopts matching orphans instead of creating, and releases pods whose labels stop matching', async () => {
    const existing = await api.pods.create('default', orphan('adopt-me', { app: 'adopt' }));
    const rs = await api.replicaSets.create('default', replicaSet('adopt', 2, { labels: { app: 'adopt', tier: 'web' } }));
    const pods = await eventually(async () => {
      const p = await api.podsOf(rs.metadata.uid);
      assert.equal(p.length, 2);
      return p;
    });
    assert.ok(pods.some((p) => p.metadata.uid === existing.metadata.uid), 'the orphan was adopted');
    // The adopted pod lacks the template's tier label: matched by the selector, not fully labelled.
    await eventually(async () => {
      const cur = await api.replicaSets.get('default', 'adopt');
      assert.equal(cur?.status?.replicas, 2);
      assert.equal(cur?.status?.fullyLabeledReplicas, 1);
    });

    await api.pods.patch('default', 'adopt-me', 'merge', { metadata: { labels: { app: 'other' } } });
    await eventually(async () => {
      const released = await api.pods.get('default', 'adopt-me');
      assert.equal(released?.metadata.ownerReferences, undefined);
      const p = await api.podsOf(rs.metadata.uid);
      assert.equal(p.length, 2);
      assert.ok(!p.some((x) => x.metadata.name === 'adopt-me'));
    });
  });

  it('leaves pods that another controller owns alone', async () => {
    const owned: PodObject = {
      ...orphan('foreign', { app: 'shared' }),
      metadata: { name: 'foreign', labels: { app: 'shared' }, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'someone-else', uid: '6c0ffee0-0000-4000-8000-000000000000', controller: true }] },
    };
    await api.pods.create('default', owned);
    const rs = await api.replicaSets.create('default', replicaSet('shared', 1));
    await eventually(async () => assert.equal((await api.podsOf(rs.metadata.uid)).length, 1));
    const foreign = await api.pods.get('default', 'foreign');
    assert.equal(foreign?.metadata.ownerReferences?.[0]?.uid, '6c0ffee0-0000-4000-8000-000000000000');
  });

  it('does not count terminating pods and creates their replacements', async () => {
    const rs = await api.replicaSets.create('default', replicaSet('term', 1));
    const [pod] = await eventually(async () => {
      const p = await api.podsOf(rs.metadata.uid);
      assert.equal(p.length, 1);
      return p;
    });
    // A finalizer keeps the pod terminating, as a node that has not stopped it yet would.
    await api.pods.patch('default', pod!.metadata.name!, 'merge', { metadata: { finalizers: ['test/hold'] } });
    await api.pods.delete('default', pod!.metadata.name!);
    await eventually(async () => {
      const active = await api.podsOf(rs.metadata.uid);
      assert.equal(active.length, 1);
      assert.notEqual(active[0]?.metadata.name, pod!.metadata.name);
    });
    await api.pods.patch('default', pod!.metadata.name!, 'merge', { metadata: { finalizers: null } });
  });
});
