import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Pod } from 'kubernetes-types/core/v1.d.ts';
import type { KubeObject } from '../../../api/object.ts';
import { eventually, TestApi } from '../gc/testing.ts';
import { schedulerModule } from './index.ts';

type PodObj = KubeObject & Pod;

async function podOf(api: TestApi, name: string): Promise<PodObj> {
  const p = (await api.pods.get('default', name)) as PodObj | undefined;
  assert.ok(p, `pod ${name}`);
  return p;
}

describe('scheduler against the API', () => {
  let api: TestApi;
  before(async () => {
    api = await TestApi.start();
    await api.createNode('n1', { labels: { role: 'edge' } });
    await api.createNode('n2', { labels: { role: 'edge' } });
    await api.createNode('n3');
    await api.run(schedulerModule);
  });
  after(() => api.close());

  it('SCHED_BIND_1: binds pending pods through the binding subresource, spreads an owner’s replicas, records Scheduled', async () => {
    const owner = { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web', uid: '11111111-1111-1111-1111-111111111111', controller: true };
    for (let i = 0; i < 4; i++) await api.createPod(`web-${i}`, { ownerReferences: [owner], spec: { nodeSelector: { role: 'edge' } } });
    const nodes = await eventually(async () => {
      const out: string[] = [];
      for (let i = 0; i < 4; i++) {
        const p = await podOf(api, `web-${i}`);
        assert.ok(p.spec?.nodeName, `web-${i} bound`);
        out.push(p.spec.nodeName);
        assert.equal(p.status?.conditions?.find((c) => c.type === 'PodScheduled')?.status, 'True');
      }
      return out;
    });
    assert.deepEqual(nodes.sort(), ['n1', 'n1', 'n2', 'n2']);
    const p0 = await podOf(api, 'web-0');
    await eventually(async () => {
      const ev = (await api.eventsFor(p0.metadata.uid)).find((e) => e.reason === 'Scheduled');
      assert.equal(ev?.message, `Successfully assigned default/web-0 to ${p0.spec!.nodeName!}`);
    });
  });

  it('SCHED_BIND_2: a second binding of a bound pod is refused with 409', async () => {
    const p = await podOf(api, 'web-0');
    await assert.rejects(
      api.client.bindPod('default', 'web-0', { metadata: { name: 'web-0' }, target: { kind: 'Node', name: 'n3' } }),
      (err: Error & { httpStatus?: number }) => err.httpStatus === 409 && err.message.includes(`already assigned to node "${p.spec!.nodeName!}"`),
    );
  });

  it('SCHED_UNSCHEDULABLE_1: a pod that fits nowhere gets PodScheduled=False with the reasons, and is placed once a node matches', async () => {
    await api.createPod('gpu', { spec: { nodeSelector: { gpu: 'yes' } } });
    const cond = await eventually(async () => {
      const c = (await podOf(api, 'gpu')).status?.conditions?.find((c) => c.type === 'PodScheduled');
      assert.equal(c?.reason, 'Unschedulable');
      return c;
    });
    assert.equal(cond.status, 'False');
    assert.equal(cond.message, "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling..");
    const uid = (await podOf(api, 'gpu')).metadata.uid;
    await eventually(async () => assert.ok((await api.eventsFor(uid)).some((e) => e.reason === 'FailedScheduling' && e.type === 'Warning')));
    await api.nodes.patch(undefined, 'n3', 'merge', { metadata: { labels: { gpu: 'yes' } } });
    await eventually(async () => assert.equal((await podOf(api, 'gpu')).spec?.nodeName, 'n3'));
  });

  it('SCHED_SKIP_1: pods for another scheduler are left alone', async () => {
    await api.createPod('other', { spec: { schedulerName: 'my-scheduler' } });
    await new Promise((r) => setTimeout(r, 200));
    assert.equal((await podOf(api, 'other')).spec?.nodeName, undefined);
  });
});
