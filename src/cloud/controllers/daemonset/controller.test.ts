import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { DaemonSetUpdateStrategy } from 'kubernetes-types/apps/v1.d.ts';
import type { Toleration } from 'kubernetes-types/core/v1.d.ts';
import type { DaemonSetObject, PodObject } from '../replicaset/objects.ts';
import { eventually, TestApi } from '../replicaset/testing.ts';
import { daemonSetModule } from './index.ts';

function daemonSet(name: string, o: { nodeSelector?: Record<string, string>; tolerations?: Toleration[]; image?: string; updateStrategy?: DaemonSetUpdateStrategy } = {}): DaemonSetObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name },
    spec: {
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          containers: [{ name: 'c', image: o.image ?? 'agent:1' }],
          ...(o.nodeSelector !== undefined ? { nodeSelector: o.nodeSelector } : {}),
          ...(o.tolerations !== undefined ? { tolerations: o.tolerations } : {}),
        },
      },
      ...(o.updateStrategy !== undefined ? { updateStrategy: o.updateStrategy } : {}),
    },
  };
}

describe('DaemonSet controller', () => {
  let api: TestApi;
  before(async () => {
    api = await TestApi.start();
    await api.run(daemonSetModule);
    api.kubelet();
  });
  after(() => api.close());

  /** The nodes that have a live pod of `ds`, sorted. */
  async function nodesWithPods(ds: DaemonSetObject): Promise<string[]> {
    return (await api.podsOf(ds.metadata.uid)).map((p) => p.spec?.nodeName ?? '').sort();
  }

  it('runs one bound pod on every node that matches, and follows nodes joining and being labelled', async () => {
    await api.createNode('edge-a', { labels: { role: 'edge' } });
    await api.createNode('edge-b', { labels: { role: 'edge' } });
    await api.createNode('cloud-1', { labels: { role: 'cloud' } });
    const ds = await api.daemonSets.create('default', daemonSet('agent', { nodeSelector: { role: 'edge' } }));
    await eventually(async () => assert.deepEqual(await nodesWithPods(ds), ['edge-a', 'edge-b']));

    const [pod] = await api.podsOf(ds.metadata.uid);
    assert.match(pod?.metadata.name ?? '', /^agent-[a-z0-9]{5}$/);
    assert.equal(pod?.metadata.ownerReferences?.[0]?.kind, 'DaemonSet');
    assert.match(pod?.metadata.labels?.['controller-revision-hash'] ?? '', /^[bcdfghjklmnpqrstvwxz2456789]+$/);
    assert.deepEqual(pod?.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution, {
      nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: [pod?.spec?.nodeName] }] }],
    });
    const keys = (pod?.spec?.tolerations ?? []).map((t) => `${t.key}:${t.effect}`);
    for (const k of ['node.kubernetes.io/not-ready:NoExecute', 'node.kubernetes.io/unreachable:NoExecute', 'node.kubernetes.io/unschedulable:NoSchedule']) assert.ok(keys.includes(k), k);

    await api.createNode('edge-c', { labels: { role: 'edge' } });
    await eventually(async () => assert.deepEqual(await nodesWithPods(ds), ['edge-a', 'edge-b', 'edge-c']));
    await api.nodes.patch(undefined, 'cloud-1', 'merge', { metadata: { labels: { role: 'edge' } } });
    await eventually(async () => assert.deepEqual(await nodesWithPods(ds), ['cloud-1', 'edge-a', 'edge-b', 'edge-c']));
    await api.nodes.patch(undefined, 'edge-a', 'merge', { metadata: { labels: { role: null } } });
    await eventually(async () => assert.deepEqual(await nodesWithPods(ds), ['cloud-1', 'edge-b', 'edge-c']));

    await eventually(async () => {
      const s = (await api.daemonSets.get('default', 'agent'))?.status;
      assert.equal(s?.desiredNumberScheduled, 3);
      assert.equal(s?.currentNumberScheduled, 3);
      assert.equal(s?.numberReady, 3);
      assert.equal(s?.numberAvailable, 3);
      assert.equal(s?.updatedNumberScheduled, 3);
      assert.equal(s?.numberMisscheduled, 0);
      assert.equal(s?.numberUnavailable, undefined);
      assert.equal(s?.observedGeneration, 1);
    });
  });

  it('keeps off tainted nodes unless tolerated, and leaves a node whose NoExecute taint it does not tolerate', async () => {
    await api.createNode('gpu-1', { labels: { pool: 'gpu' }, taints: [{ key: 'gpu', value: 'true', effect: 'NoSchedule' }] });
    await api.createNode('gpu-2', { labels: { pool: 'gpu' } });
    const plain = await api.daemonSets.create('default', daemonSet('plain', { nodeSelector: { pool: 'gpu' } }));
    const tolerant = await api.daemonSets.create('default', daemonSet('tolerant', { nodeSelector: { pool: 'gpu' }, tolerations: [{ key: 'gpu', operator: 'Exists' }] }));
    await eventually(async () => {
      assert.deepEqual(await nodesWithPods(plain), ['gpu-2']);
      assert.deepEqual(await nodesWithPods(tolerant), ['gpu-1', 'gpu-2']);
    });
    // A NoSchedule taint lets the running pod stay (counted as misscheduled); a NoExecute one it
    // does not tolerate evicts it.
    await api.nodes.patch(undefined, 'gpu-2', 'merge', { spec: { taints: [{ key: 'maintenance', effect: 'NoSchedule' }] } });
    await eventually(async () => {
      const s = (await api.daemonSets.get('default', 'plain'))?.status;
      assert.equal(s?.desiredNumberScheduled, 0);
      assert.equal(s?.numberMisscheduled, 1);
    });
    assert.deepEqual(await nodesWithPods(plain), ['gpu-2']);
    await api.nodes.patch(undefined, 'gpu-2', 'merge', { spec: { taints: [{ key: 'maintenance', effect: 'NoExecute' }] } });
    await eventually(async () => {
      assert.deepEqual(await nodesWithPods(plain), []);
      assert.deepEqual(await nodesWithPods(tolerant), ['gpu-1']);
    });
  });

  const rollouts: { name: string; strategy: DaemonSetUpdateStrategy; fewest: number }[] = [
    { name: 'maxUnavailable: one node at a time goes without a ready daemon', strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1 } }, fewest: 3 },
    { name: 'maxSurge: the new pod starts beside the old one, no node goes without', strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } }, fewest: 4 },
  ];
  for (const [i, r] of rollouts.entries()) {
    it(`rolls a new template out node by node (${r.name})`, async () => {
      const app = `rolling-${i}`;
      for (const n of [1, 2, 3, 4]) await api.createNode(`${app}-${n}`, { labels: { rollout: app } });
      const ds = await api.daemonSets.create('default', daemonSet(app, { nodeSelector: { rollout: app }, updateStrategy: r.strategy }));
      await eventually(async () => assert.equal((await api.daemonSets.get('default', app))?.status?.numberAvailable, 4));

      const live = new Map<string, PodObject>();
      for (const p of await api.podsOf(ds.metadata.uid)) live.set(p.metadata.name!, p);
      let fewestServing = Infinity;
      const watch = api.kubelet({
        ready: () => false,
        onChange(type, pod) {
          if (pod.metadata.labels?.['app'] !== app) return;
          if (type === 'DELETED' || pod.metadata.deletionTimestamp !== undefined) live.delete(pod.metadata.name!);
          else live.set(pod.metadata.name!, pod);
          const serving = new Set([...live.values()].filter((p) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')).map((p) => p.spec?.nodeName));
          fewestServing = Math.min(fewestServing, serving.size);
        },
      });
      await api.daemonSets.patch('default', app, 'strategic', { spec: { template: { spec: { containers: [{ name: 'c', image: 'agent:2' }] } } } });
      await eventually(async () => {
        const cur = await api.daemonSets.get('default', app);
        assert.equal(cur?.status?.observedGeneration, 2);
        assert.equal(cur?.status?.updatedNumberScheduled, 4);
        assert.equal(cur?.status?.numberAvailable, 4);
        const pods = await api.podsOf(ds.metadata.uid);
        assert.deepEqual(pods.map((p) => p.spec?.containers[0]?.image), ['agent:2', 'agent:2', 'agent:2', 'agent:2']);
      }, 10_000);
      watch.stop();
      assert.equal(fewestServing, r.fewest);
    });
  }

  it('leaves pods of an old template alone with OnDelete', async () => {
    await api.createNode('ondelete-1', { labels: { ondelete: 'yes' } });
    const ds = await api.daemonSets.create('default', daemonSet('manual', { nodeSelector: { ondelete: 'yes' }, updateStrategy: { type: 'OnDelete' } }));
    const [before] = await eventually(async () => {
      const p = await api.podsOf(ds.metadata.uid);
      assert.equal(p.length, 1);
      return p;
    });
    await api.daemonSets.patch('default', 'manual', 'strategic', { spec: { template: { spec: { containers: [{ name: 'c', image: 'agent:2' }] } } } });
    await eventually(async () => assert.equal((await api.daemonSets.get('default', 'manual'))?.status?.observedGeneration, 2));
    const [same] = await api.podsOf(ds.metadata.uid);
    assert.equal(same?.metadata.uid, before?.metadata.uid);
    assert.equal((await api.daemonSets.get('default', 'manual'))?.status?.updatedNumberScheduled, undefined);
  });

  it('replaces a daemon pod that failed', async () => {
    await api.createNode('fail-1', { labels: { fail: 'yes' } });
    const ds = await api.daemonSets.create('default', daemonSet('failing', { nodeSelector: { fail: 'yes' } }));
    const [first] = await eventually(async () => {
      const p = await api.podsOf(ds.metadata.uid);
      assert.equal(p.length, 1);
      return p;
    });
    await api.pods.patch('default', first!.metadata.name!, 'merge', { status: { phase: 'Failed' } }, { subresource: 'status' });
    await eventually(async () => {
      const p = await api.podsOf(ds.metadata.uid);
      assert.equal(p.length, 1);
      assert.notEqual(p[0]?.metadata.uid, first?.metadata.uid);
    });
    const events = await api.eventsFor(ds.metadata.uid);
    assert.ok(events.some((e) => e.reason === 'FailedDaemonPod'));
  });
});
