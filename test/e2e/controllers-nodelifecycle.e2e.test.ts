/**
 * Issue 5, node lifecycle: a node whose Lease stops goes Ready=Unknown with the unreachable taint
 * after --node-monitor-grace-period but keeps its pods (edge autonomy); with the
 * kedge.io/autonomy-duration annotation they are evicted that long after; heartbeats coming back
 * remove the taint. Runs with a 3 s grace period to stay short.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { eventually, getJson, useCloud } from './harness/index.ts';
import { applyNamespace, Heartbeats, registerNode } from './controllers-nodes.ts';

const cloud = await useCloud({ args: ['--hub-port', '0', '--join-port', '0', '--node-monitor-grace-period', '3s'] });
const heartbeats = new Heartbeats(cloud, 500);
after(() => heartbeats.stop());

interface NodeJson {
  spec: { taints?: { key: string; effect: string }[] };
  status: { conditions: { type: string; status: string; reason?: string; message?: string }[] };
}

function pod(ns: string, name: string, node: string): string {
  return JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: ns }, spec: { nodeSelector: { 'kubernetes.io/hostname': node }, containers: [{ name: 'app', image: 'busybox' }] } });
}

async function readyOf(name: string): Promise<string | undefined> {
  return (await getJson<NodeJson>(cloud, '1.33', ['node', name])).status.conditions.find((c) => c.type === 'Ready')?.status;
}

async function boundTo(ns: string, name: string, node: string): Promise<void> {
  await eventually(async () => assert.equal((await getJson<{ spec: { nodeName?: string } }>(cloud, '1.33', ['pod', '-n', ns, name])).spec.nodeName, node), { what: `${name} on ${node}` });
}

before(async () => {
  await applyNamespace(cloud, '1.33', 'autonomy');
});

test('NODE_E2E_1: a node that stops heartbeating goes Unknown and tainted but keeps its pods; heartbeats bring it back', async () => {
  await registerNode(cloud, '1.33', 'quiet');
  heartbeats.start('quiet');
  await cloud.kubectlOk('1.33', ['apply', '-f', '-'], { stdin: pod('autonomy', 'keeps-running', 'quiet') });
  await boundTo('autonomy', 'keeps-running', 'quiet');
  heartbeats.stop('quiet');
  await eventually(async () => assert.equal(await readyOf('quiet'), 'Unknown'), { timeoutMs: 15_000, what: 'quiet Unknown' });
  const node = await getJson<NodeJson>(cloud, '1.33', ['node', 'quiet']);
  const ready = node.status.conditions.find((c) => c.type === 'Ready')!;
  assert.equal(ready.reason, 'NodeStatusUnknown');
  assert.equal(ready.message, 'Kubelet stopped posting node status.');
  await eventually(async () => {
    const taints = (await getJson<NodeJson>(cloud, '1.33', ['node', 'quiet'])).spec.taints ?? [];
    assert.ok(taints.some((t) => t.key === 'node.kubernetes.io/unreachable' && t.effect === 'NoExecute'));
  });
  for (const v of ['1.27', '1.33'] as const) {
    assert.match(await cloud.kubectlOk(v, ['get', 'node', 'quiet']), /quiet\s+NotReady/);
    const describe = await cloud.kubectlOk(v, ['describe', 'node', 'quiet']);
    assert.match(describe, /Taints:\s+node\.kubernetes\.io\/unreachable:NoExecute/);
    assert.match(describe, /NodeNotReady/);
  }
  // Edge autonomy: well past the grace period the pod is still there.
  await new Promise((r) => setTimeout(r, 4_000));
  assert.match(await cloud.kubectlOk('1.33', ['get', 'pod', '-n', 'autonomy', 'keeps-running']), /keeps-running/);

  heartbeats.start('quiet');
  await eventually(async () => assert.deepEqual((await getJson<NodeJson>(cloud, '1.33', ['node', 'quiet'])).spec.taints ?? [], []), { timeoutMs: 10_000, what: 'taints removed' });
});

test('NODE_E2E_2: with kedge.io/autonomy-duration the pods are evicted that long after the node became unreachable', async () => {
  await registerNode(cloud, '1.33', 'opted-in', { annotations: { 'kedge.io/autonomy-duration': '2s' } });
  heartbeats.start('opted-in');
  await cloud.kubectlOk('1.33', ['apply', '-f', '-'], { stdin: pod('autonomy', 'evictable', 'opted-in') });
  await boundTo('autonomy', 'evictable', 'opted-in');
  heartbeats.stop('opted-in');
  await eventually(async () => assert.equal(await readyOf('opted-in'), 'Unknown'), { timeoutMs: 15_000, what: 'opted-in Unknown' });
  const unknownAt = Date.now();
  await eventually(
    async () => {
      const r = await cloud.kubectl('1.33', ['get', 'pod', '-n', 'autonomy', 'evictable']);
      assert.equal(r.code, 1, 'the pod is gone');
      assert.match(r.stderr, /NotFound/);
    },
    { timeoutMs: 15_000, what: 'evictable evicted' },
  );
  assert.ok(Date.now() - unknownAt >= 1_000, 'not evicted before the autonomy duration');
  const events = await cloud.kubectlOk('1.33', ['get', 'events', '-n', 'autonomy', '--field-selector', 'reason=TaintManagerEviction']);
  assert.match(events, /Marking for deletion Pod autonomy\/evictable/);
});
