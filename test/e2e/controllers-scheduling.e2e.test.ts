/**
 * Issue 5, scheduler: Nodes registered through the API (kubectl apply + status + Lease), a
 * Deployment spread over the matching nodes and kept off tainted and unselected ones, the
 * Unschedulable condition with kube-scheduler's message, and the events `kubectl describe` shows.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { eventually, getJson, useCloud } from './harness/index.ts';
import { applyNamespace, Heartbeats, registerNode } from './controllers-nodes.ts';

const cloud = await useCloud({ args: ['--hub-port', '0', '--join-port', '0'] });
const heartbeats = new Heartbeats(cloud, 5_000);
after(() => heartbeats.stop());

interface PodList {
  items: { metadata: { name: string }; spec: { nodeName?: string }; status?: { conditions?: { type: string; status: string; reason?: string; message?: string }[] } }[];
}

before(async () => {
  await registerNode(cloud, '1.33', 'edge-a', { labels: { tier: 'edge' } });
  await registerNode(cloud, '1.33', 'edge-b', { labels: { tier: 'edge' } });
  await registerNode(cloud, '1.33', 'edge-c', { labels: { tier: 'edge' } });
  await registerNode(cloud, '1.33', 'edge-tainted', { labels: { tier: 'edge' }, taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }] });
  await registerNode(cloud, '1.33', 'cloud-1', { labels: { tier: 'cloud' } });
  heartbeats.start('edge-a', 'edge-b', 'edge-c', 'edge-tainted', 'cloud-1');
});

test('SCHED_E2E_1: a Deployment of 6 replicas is spread over the 3 matching nodes, never on tainted or unselected ones', async () => {
  await applyNamespace(cloud, '1.33', 'spread');
  const deployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'spread' },
    spec: {
      replicas: 6,
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: { nodeSelector: { tier: 'edge' }, containers: [{ name: 'web', image: 'nginx:1.27', resources: { requests: { cpu: '100m', memory: '64Mi' } } }] },
      },
    },
  };
  await cloud.kubectlOk('1.33', ['apply', '-f', '-'], { stdin: JSON.stringify(deployment) });
  const placement = await eventually(
    async () => {
      const pods = await getJson<PodList>(cloud, '1.33', ['pods', '-n', 'spread', '-l', 'app=web']);
      assert.equal(pods.items.length, 6);
      const nodes = pods.items.map((p) => p.spec.nodeName ?? '');
      assert.ok(nodes.every((n) => n !== ''), `all bound: ${nodes.join(',')}`);
      return nodes;
    },
    { timeoutMs: 20_000, what: 'six bound replicas' },
  );
  const counts: Record<string, number> = {};
  for (const n of placement) counts[n] = (counts[n] ?? 0) + 1;
  assert.deepEqual(counts, { 'edge-a': 2, 'edge-b': 2, 'edge-c': 2 });
  // kubectl shows the binding in the NODE column and the event in describe.
  const wide = await cloud.kubectlOk('1.27', ['get', 'pods', '-n', 'spread', '-o', 'wide']);
  assert.match(wide, /edge-a/);
  const pod = (await getJson<PodList>(cloud, '1.27', ['pods', '-n', 'spread', '-l', 'app=web'])).items[0]!;
  const describe = await cloud.kubectlOk('1.27', ['describe', 'pod', '-n', 'spread', pod.metadata.name]);
  assert.match(describe, new RegExp(`Normal\\s+Scheduled\\s+.*default-scheduler\\s+Successfully assigned spread/${pod.metadata.name} to ${pod.spec.nodeName!}`));
});

test('SCHED_E2E_2: a pod that fits nowhere is Unschedulable with the reasons per node, and is bound once a node is labelled', async () => {
  await applyNamespace(cloud, '1.33', 'nofit');
  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'picky', namespace: 'nofit' },
    spec: { nodeSelector: { tier: 'edge', disk: 'ssd' }, containers: [{ name: 'app', image: 'busybox' }] },
  };
  await cloud.kubectlOk('1.33', ['apply', '-f', '-'], { stdin: JSON.stringify(pod) });
  const expected =
    "0/5 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}, 4 node(s) didn't match Pod's node affinity/selector. preemption: 0/5 nodes are available: 5 Preemption is not helpful for scheduling..";
  await eventually(
    async () => {
      const p = await getJson<PodList['items'][number]>(cloud, '1.33', ['pod', '-n', 'nofit', 'picky']);
      const c = p.status?.conditions?.find((c) => c.type === 'PodScheduled');
      assert.equal(c?.status, 'False');
      assert.equal(c?.reason, 'Unschedulable');
      assert.equal(c?.message, expected);
    },
    { timeoutMs: 10_000, what: 'PodScheduled=False' },
  );
  for (const v of ['1.27', '1.33'] as const) {
    const describe = await cloud.kubectlOk(v, ['describe', 'pod', '-n', 'nofit', 'picky']);
    assert.match(describe, /Warning\s+FailedScheduling\s+.*default-scheduler\s+0\/5 nodes are available: 1 node\(s\) had untolerated taint \{dedicated: gpu\}/);
    assert.match(await cloud.kubectlOk(v, ['get', 'pod', '-n', 'nofit', 'picky']), /picky\s+0\/1\s+Pending/);
  }
  // The cluster changes: the pod is tried again at once.
  await cloud.kubectlOk('1.33', ['label', 'node', 'edge-b', 'disk=ssd']);
  await eventually(async () => assert.equal((await getJson<PodList['items'][number]>(cloud, '1.33', ['pod', '-n', 'nofit', 'picky'])).spec.nodeName, 'edge-b'), {
    timeoutMs: 10_000,
    what: 'picky bound to edge-b',
  });
});

test('SCHED_E2E_3: requests count against allocatable minus what is bound; cordoned nodes get nothing', async () => {
  await applyNamespace(cloud, '1.33', 'fit');
  await cloud.kubectlOk('1.33', ['cordon', 'edge-a']);
  const big = (name: string): string =>
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace: 'fit' },
      spec: { nodeSelector: { tier: 'cloud' }, containers: [{ name: 'app', image: 'busybox', resources: { requests: { cpu: '3' } } }] },
    });
  await cloud.kubectlOk('1.33', ['apply', '-f', '-'], { stdin: big('first') });
  await eventually(async () => assert.equal((await getJson<PodList['items'][number]>(cloud, '1.33', ['pod', '-n', 'fit', 'first'])).spec.nodeName, 'cloud-1'), { what: 'first on cloud-1' });
  await cloud.kubectlOk('1.33', ['apply', '-f', '-'], { stdin: big('second') });
  await eventually(
    async () => {
      const c = (await getJson<PodList['items'][number]>(cloud, '1.33', ['pod', '-n', 'fit', 'second'])).status?.conditions?.find((c) => c.type === 'PodScheduled');
      assert.match(c?.message ?? '', /^0\/5 nodes are available: 1 Insufficient cpu, 1 node\(s\) had untolerated taint \{dedicated: gpu\}, 1 node\(s\) were unschedulable, 2 node\(s\) didn't match Pod's node affinity\/selector\. preemption: 0\/5 nodes are available: 1 No preemption victims found for incoming pod, 4 Preemption is not helpful for scheduling\.\.$/);
    },
    { what: 'second Unschedulable for cpu' },
  );
  await cloud.kubectlOk('1.33', ['uncordon', 'edge-a']);
});

test('SCHED_E2E_4: POST pods/<name>/binding binds once (201 Success), a second binding is a 409', async () => {
  await applyNamespace(cloud, '1.33', 'manual');
  const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'hand-placed', namespace: 'manual' }, spec: { schedulerName: 'my-scheduler', containers: [{ name: 'app', image: 'busybox' }] } };
  await cloud.kubectlOk('1.33', ['apply', '-f', '-'], { stdin: JSON.stringify(pod) });
  const binding = (node: string): object => ({ apiVersion: 'v1', kind: 'Binding', metadata: { name: 'hand-placed' }, target: { apiVersion: 'v1', kind: 'Node', name: node } });
  const path = '/api/v1/namespaces/manual/pods/hand-placed/binding';
  const first = await cloud.request({ method: 'POST', path, body: binding('cloud-1') });
  assert.equal(first.status, 201, first.body);
  assert.deepEqual(first.json(), { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 });
  const bound = await getJson<{ spec: { nodeName?: string }; status?: { conditions?: { type: string; status: string }[] } }>(cloud, '1.33', ['pod', '-n', 'manual', 'hand-placed']);
  assert.equal(bound.spec.nodeName, 'cloud-1');
  assert.equal(bound.status?.conditions?.find((c) => c.type === 'PodScheduled')?.status, 'True');
  const again = await cloud.request({ method: 'POST', path, body: binding('edge-a') });
  assert.equal(again.status, 409);
  assert.equal(again.json<{ message: string }>().message, 'Operation cannot be fulfilled on pods/binding "hand-placed": pod hand-placed is already assigned to node "cloud-1"');
});
