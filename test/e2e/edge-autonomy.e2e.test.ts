// Issue 3, edge autonomy: an edge restarted while its cloud is down serves the same objects from
// edge.db through MetaServer; a node silent for the grace period goes Unknown in the cloud and comes
// back Ready by itself once its edge runs again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kubectl } from './harness/kubectl.ts';
import { eventually } from './harness/wait.ts';
import { createToken, KedgeEdge, useEdgeCloud } from './harness/edge.ts';

const c = await useEdgeCloud(['--node-monitor-grace-period', '3s']);
const NS = 'edge-autonomy';
await c.cloud.kubectlOk('1.33', ['apply', '-f', '-'], { stdin: JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } }) });

interface ListJson {
  items: { metadata: { name: string; uid: string } }[];
}

async function metaServerList(edge: KedgeEdge, resource: string): Promise<string[]> {
  const r = await kubectl('1.33', ['--server', `http://127.0.0.1:${edge.metaServerPort}`, 'get', resource, '-n', NS, '-o', 'json']);
  if (r.code !== 0) throw new Error(`kubectl get ${resource} via MetaServer exited ${r.code}: ${r.stderr}`);
  return (JSON.parse(r.stdout) as ListJson).items.map((i) => `${i.metadata.name}/${i.metadata.uid}`).sort();
}

async function readyStatus(node: string): Promise<string | undefined> {
  const n = JSON.parse(await c.cloud.kubectlOk('1.33', ['get', 'node', node, '-o', 'json'])) as { status?: { conditions?: { type: string; status: string }[] } };
  return n.status?.conditions?.find((x) => x.type === 'Ready')?.status;
}

test('E2E_EDGE_AUTONOMY_1: an edge killed and restarted while the cloud is down serves the same objects from MetaServer', async () => {
  const edge = await KedgeEdge.join(c, { nodeName: 'autonomy-1', token: await createToken(c) });
  const items = [
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings', namespace: NS }, data: { mode: 'offline-ok' } },
    { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'creds', namespace: NS }, stringData: { password: 's3cret' } },
    ...Array.from({ length: 5 }, (_, i) => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: `app-${i}`, namespace: NS },
      spec: {
        nodeName: edge.nodeName,
        containers: [{ name: 'c', image: 'busybox', envFrom: [{ configMapRef: { name: 'settings' } }, { secretRef: { name: 'creds' } }] }],
      },
    })),
  ];
  await c.cloud.kubectlOk('1.33', ['apply', '-f', '-'], { stdin: JSON.stringify({ apiVersion: 'v1', kind: 'List', items }) });
  const pods = await eventually(
    async () => {
      const p = await metaServerList(edge, 'pods');
      assert.equal(p.length, 5);
      return p;
    },
    { timeoutMs: 10_000, what: 'the pods on the edge' },
  );
  const configmaps = await metaServerList(edge, 'configmaps');
  const secrets = await metaServerList(edge, 'secrets');
  assert.equal(configmaps.length, 1);
  assert.equal(secrets.length, 1);

  await c.cloud.crash();
  await edge.crash();
  edge.start();
  // MetaServer answers from edge.db with no cloud at all.
  const after = await eventually(() => metaServerList(edge, 'pods'), { timeoutMs: 15_000, what: 'MetaServer after the restart' });
  assert.deepEqual(after, pods);
  assert.deepEqual(await metaServerList(edge, 'configmaps'), configmaps);
  assert.deepEqual(await metaServerList(edge, 'secrets'), secrets);
  const table = await kubectl('1.27', ['--server', `http://127.0.0.1:${edge.metaServerPort}`, 'get', 'pods', '-n', NS]);
  assert.equal(table.code, 0, table.stderr);
  assert.match(table.stdout, /^app-0\s+/m);
  const syncs = edge.syncs.length;
  assert.equal(edge.running, true, 'the edge keeps running without its cloud');

  // The cloud comes back: the edge reconnects by itself.
  await c.cloud.restart();
  await edge.waitForSync(syncs, 15_000);
  assert.deepEqual(await metaServerList(edge, 'pods'), pods);
});

test('E2E_EDGE_AUTONOMY_2: a node silent for the grace period goes Unknown, and Ready again once its edge is back', async () => {
  const edge = await KedgeEdge.join(c, { nodeName: 'autonomy-2', token: await createToken(c) });
  await eventually(async () => assert.equal(await readyStatus(edge.nodeName), 'True'), { timeoutMs: 15_000, what: 'Ready' });
  await edge.crash();
  await eventually(async () => assert.equal(await readyStatus(edge.nodeName), 'Unknown'), { timeoutMs: 20_000, what: 'the silent node to go Unknown' });
  const syncs = edge.syncs.length;
  edge.start();
  await edge.waitForSync(syncs);
  // The edge sees its Node (synced back to it) say Unknown and reports Ready again.
  await eventually(async () => assert.equal(await readyStatus(edge.nodeName), 'True'), { timeoutMs: 15_000, what: 'the node to be Ready again' });
  await eventually(
    async () => {
      const n = JSON.parse(await c.cloud.kubectlOk('1.33', ['get', 'node', edge.nodeName, '-o', 'json'])) as { spec?: { taints?: { key: string }[] } };
      assert.deepEqual(n.spec?.taints?.filter((t) => t.key === 'node.kubernetes.io/unreachable') ?? [], []);
    },
    { timeoutMs: 15_000, what: 'the unreachable taints to be removed' },
  );
});
