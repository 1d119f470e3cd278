import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Node, Pod } from 'kubernetes-types/core/v1.d.ts';
import type { KubeObject } from '../../../api/object.ts';
import { eventually, TestApi } from '../gc/testing.ts';
import { evictionDeadline, nodeLifecycleModule } from './index.ts';
import { parseGoDuration } from './duration.ts';

const GRACE_MS = 400;

type NodeObj = KubeObject & Node;

async function readyOf(api: TestApi, name: string): Promise<string | undefined> {
  const node = (await api.nodes.get(undefined, name)) as NodeObj | undefined;
  return node?.status?.conditions?.find((c) => c.type === 'Ready')?.status;
}

async function taintsOf(api: TestApi, name: string): Promise<string[]> {
  const node = (await api.nodes.get(undefined, name)) as NodeObj | undefined;
  return (node?.spec?.taints ?? []).map((t) => `${t.key}:${t.effect}`).sort();
}

/** Renews the node's Lease every 100 ms until the returned function is called. */
function heartbeat(api: TestApi, node: string): () => void {
  const timer = setInterval(() => void api.renewLease(node).catch(() => undefined), 100);
  return () => clearInterval(timer);
}

describe('node lifecycle', () => {
  let api: TestApi;
  before(async () => {
    api = await TestApi.start();
    await api.run(nodeLifecycleModule, { nodeMonitorGracePeriodMs: GRACE_MS });
  });
  after(() => api.close());

  it('NODE_LIFECYCLE_1: a node whose Lease stops goes Unknown and tainted but keeps its pods; heartbeats remove the taints', async () => {
    await api.createNode('edge-1');
    await api.renewLease('edge-1');
    const stop = heartbeat(api, 'edge-1');
    await api.createPod('stays', { nodeName: 'edge-1' });
    await new Promise((r) => setTimeout(r, GRACE_MS * 2));
    assert.equal(await readyOf(api, 'edge-1'), 'True', 'a heartbeating node stays Ready');
    stop();
    await eventually(async () => assert.equal(await readyOf(api, 'edge-1'), 'Unknown'), 3_000);
    const node = (await api.nodes.get(undefined, 'edge-1')) as NodeObj;
    const ready = node.status!.conditions!.find((c) => c.type === 'Ready')!;
    assert.equal(ready.reason, 'NodeStatusUnknown');
    assert.equal(ready.message, 'Kubelet stopped posting node status.');
    assert.equal(node.status!.conditions!.find((c) => c.type === 'MemoryPressure')?.status, 'Unknown');
    await eventually(async () => assert.deepEqual(await taintsOf(api, 'edge-1'), ['node.kubernetes.io/unreachable:NoExecute', 'node.kubernetes.io/unreachable:NoSchedule']));
    await eventually(async () => assert.ok((await api.eventsFor(node.metadata.uid)).some((e) => e.reason === 'NodeNotReady')));
    await new Promise((r) => setTimeout(r, GRACE_MS));
    assert.ok(await api.pods.get('default', 'stays'), 'edge autonomy: pods stay bound');

    const restart = heartbeat(api, 'edge-1');
    try {
      await eventually(async () => assert.deepEqual(await taintsOf(api, 'edge-1'), []), 3_000);
    } finally {
      restart();
    }
  });

  it('NODE_LIFECYCLE_2: with kedge.io/autonomy-duration the pods are evicted that long after the node went silent, except those tolerating it for good', async () => {
    await api.createNode('edge-2', { annotations: { 'kedge.io/autonomy-duration': '600ms' } });
    await api.renewLease('edge-2');
    await api.createPod('evicted', { nodeName: 'edge-2' });
    await api.createPod('daemon', { nodeName: 'edge-2', spec: { tolerations: [{ key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute' }] } });
    await eventually(async () => assert.equal(await readyOf(api, 'edge-2'), 'Unknown'), 3_000);
    const tainted = Date.now();
    assert.ok(await api.pods.get('default', 'evicted'), 'not before the autonomy duration');
    await eventually(async () => assert.equal(await api.pods.get('default', 'evicted'), undefined), 3_000);
    assert.ok(Date.now() - tainted >= 300);
    assert.ok(await api.pods.get('default', 'daemon'));
  });

  it('NODE_LIFECYCLE_3: a toleration with tolerationSeconds evicts its pod once it runs out, even without the annotation', async () => {
    await api.createNode('edge-3');
    await api.renewLease('edge-3');
    await api.createPod('short', { nodeName: 'edge-3', spec: { tolerations: [{ key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 0 }] } });
    await api.createPod('plain', { nodeName: 'edge-3' });
    const pod = await api.pods.get('default', 'short');
    await eventually(async () => assert.equal(await api.pods.get('default', 'short'), undefined), 3_000);
    await eventually(async () => assert.ok((await api.eventsFor(pod?.metadata.uid)).some((e) => e.reason === 'TaintManagerEviction' && e.message === 'Marking for deletion Pod default/short')));
    assert.ok(await api.pods.get('default', 'plain'));
  });
});

describe('eviction deadline', () => {
  const pod = (tolerations: NonNullable<Pod['spec']>['tolerations']): KubeObject & Pod => ({ metadata: { name: 'p' }, spec: { containers: [], tolerations } });
  it('NODE_EVICT_1: the shortest of autonomy and toleration, never for pods that tolerate forever or opt in to nothing', () => {
    assert.equal(evictionDeadline(pod([]), 1000, undefined), undefined);
    assert.equal(evictionDeadline(pod([]), 1000, 5000), 6000);
    assert.equal(evictionDeadline(pod([{ key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 2 }]), 1000, 5000), 3000);
    assert.equal(evictionDeadline(pod([{ operator: 'Exists' }]), 1000, 5000), undefined);
    assert.equal(evictionDeadline(pod([{ key: 'other', operator: 'Exists', tolerationSeconds: 1 }]), 1000, undefined), undefined);
  });

  it('NODE_EVICT_2: autonomy durations are Go durations', () => {
    assert.equal(parseGoDuration('5m'), 300_000);
    assert.equal(parseGoDuration('1h30m'), 5_400_000);
    assert.equal(parseGoDuration('1.5s'), 1500);
    assert.equal(parseGoDuration('soon'), undefined);
    assert.equal(parseGoDuration('5m junk'), undefined);
  });
});
