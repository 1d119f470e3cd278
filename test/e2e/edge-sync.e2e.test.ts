// Issue 3, staying in sync: what the cloud creates for a node reaches its edge.db and its MetaServer;
// an edge killed with kill -9 while its objects change converges on restart by receiving only the
// difference; a cloud killed with kill -9 gets its edges back by themselves, in sync within seconds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kubectl } from './harness/kubectl.ts';
import { eventually } from './harness/wait.ts';
import { createToken, KedgeEdge, useEdgeCloud } from './harness/edge.ts';

const c = await useEdgeCloud();
const NS = 'edge-sync';
await c.cloud.kubectlOk('1.33', ['apply', '-f', '-'], { stdin: JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } }) });
const edge = await KedgeEdge.join(c, { nodeName: 'sync-1', token: await createToken(c) });

interface PodJson {
  metadata: { name: string; uid: string; resourceVersion: string; managedFields?: unknown };
}

/** What sending each of the cloud's pods to an edge costs at least: its JSON without managedFields. */
/**
 * The JSON size of each pod in the cloud now, with its status or without it (Edged may have
 * reported a status since the edge received the pod, so only the size without is a lower bound).
 */
async function podSizes(withStatus = true): Promise<Map<string, number>> {
  const list = JSON.parse(await c.cloud.kubectlOk('1.33', ['get', 'pods', '-n', NS, '-o', 'json'])) as { items: PodJson[] };
  return new Map(list.items.map((p) => [p.metadata.name, JSON.stringify({ ...p, metadata: { ...p.metadata, managedFields: undefined }, ...(withStatus ? {} : { status: undefined }) }).length]));
}

/** A pod bound to the edge, padded so that sending it costs about 2 KB. */
function podManifest(name: string, extra: Record<string, string> = {}): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: NS, labels: { app: 'sync', ...extra }, annotations: { 'kedge.test/padding': 'x'.repeat(2000) } },
    // No command: the pods must not start host processes (with the process runtime, Edged would run them).
    spec: { nodeName: edge.nodeName, containers: [{ name: 'c', image: 'busybox' }] },
  });
}

async function apply(manifests: readonly string[]): Promise<void> {
  if (manifests.length === 0) return;
  await c.cloud.kubectlOk('1.33', ['apply', '-f', '-'], { stdin: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: manifests.map((m) => JSON.parse(m) as unknown) }) });
}

/** The cloud's pods in the test namespace: name → resourceVersion. */
async function cloudPods(): Promise<Map<string, string>> {
  const list = JSON.parse(await c.cloud.kubectlOk('1.33', ['get', 'pods', '-n', NS, '-o', 'json'])) as { items: PodJson[] };
  return new Map(list.items.map((p) => [p.metadata.name, p.metadata.resourceVersion]));
}

/** The edge's pods in the test namespace: name → resourceVersion. */
function edgePods(): Map<string, string> {
  const out = new Map<string, string>();
  for (const [key, rv] of edge.stored()) if (key.startsWith(`pods/${NS}/`)) out.set(key.slice(`pods/${NS}/`.length), rv);
  return out;
}

async function converged(what: string, timeoutMs = 15_000): Promise<void> {
  await eventually(
    async () => {
      const want = await cloudPods();
      assert.deepEqual(new Map([...edgePods()].sort()), new Map([...want].sort()));
    },
    { timeoutMs, intervalMs: 200, what },
  );
}

test('E2E_EDGE_SYNC_1: a pod bound to the node and its ConfigMap reach edge.db and MetaServer', async () => {
  await apply([
    JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'web-config', namespace: NS }, data: { greeting: 'hello' } }),
    JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'unrelated', namespace: NS }, data: { a: 'b' } }),
  ]);
  await c.cloud.kubectlOk('1.33', ['apply', '-f', '-'], {
    stdin: JSON.stringify({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'web', namespace: NS },
      spec: { nodeName: edge.nodeName, containers: [{ name: 'c', image: 'busybox', envFrom: [{ configMapRef: { name: 'web-config' } }] }] },
    }),
  });
  const pod = JSON.parse(await c.cloud.kubectlOk('1.33', ['get', 'pod', 'web', '-n', NS, '-o', 'json'])) as PodJson;
  await eventually(
    () => {
      const stored = edge.stored();
      assert.equal(stored.get(`pods/${NS}/web`), pod.metadata.resourceVersion);
      assert.ok(stored.has(`configmaps/${NS}/web-config`));
      assert.ok(stored.has(`nodes//${edge.nodeName}`), 'the node receives its own Node');
    },
    { timeoutMs: 10_000, what: 'the pod and its ConfigMap in edge.db' },
  );
  assert.equal(edge.stored().has(`configmaps/${NS}/unrelated`), false, 'a ConfigMap no pod of the node uses stays in the cloud');
  assert.deepEqual((edge.storedObject('configmaps', NS, 'web-config')?.['data'] as Record<string, string>)['greeting'], 'hello');

  // MetaServer serves them to kubectl on the edge.
  for (const version of ['1.27', '1.33'] as const) {
    const pods = await kubectl(version, ['--server', `http://127.0.0.1:${edge.metaServerPort}`, 'get', 'pods', '-n', NS]);
    assert.equal(pods.code, 0, pods.stderr);
    assert.match(pods.stdout, /^NAME\s+READY\s+STATUS/m);
    // READY and STATUS are the runtime's business (Edged); what matters here is that the edge has the pod.
    assert.match(pods.stdout, /^web\s+\d\/1\s+\S+/m);
    const cms = await kubectl(version, ['--server', `http://127.0.0.1:${edge.metaServerPort}`, 'get', 'configmaps', '-n', NS]);
    assert.equal(cms.code, 0, cms.stderr);
    assert.match(cms.stdout, /^web-config\s+1\s+/m);
  }
  await c.cloud.kubectlOk('1.33', ['delete', 'pod', 'web', '-n', NS, '--grace-period=0', '--force']);
  await eventually(() => assert.equal(edge.stored().has(`pods/${NS}/web`), false), { timeoutMs: 10_000, what: 'the deleted pod to leave edge.db' });
});

test('E2E_EDGE_SYNC_2: an edge killed while 50 of its objects change converges on restart, receiving only the difference', async () => {
  await apply(Array.from({ length: 100 }, (_, i) => podManifest(`base-${i}`)));
  await converged('the 100 pods on the edge');
  const syncsBefore = edge.syncs.length;

  await edge.crash();
  // 20 created, 15 changed, 15 deleted while the edge is down.
  await apply([...Array.from({ length: 20 }, (_, i) => podManifest(`new-${i}`)), ...Array.from({ length: 15 }, (_, i) => podManifest(`base-${i}`, { changed: 'yes' }))]);
  await c.cloud.kubectlOk('1.33', ['delete', 'pods', '-n', NS, '--grace-period=0', '--force', ...Array.from({ length: 15 }, (_, i) => `base-${85 + i}`)]);
  const want = await cloudPods();
  assert.equal(want.size, 105);

  edge.start();
  const sync = await edge.waitForSync(syncsBefore);
  await converged('the edge to hold exactly the cloud\'s pods');
  // Names, not versions: once back, Edged reports the pods' statuses, which moves their versions on.
  assert.deepEqual([...edgePods().keys()].sort(), [...want.keys()].sort());

  // The inventory exchange carried the 50 changes (the Node may have changed too), not the 105 pods again.
  assert.ok(sync.received >= 50 && sync.received <= 52, `received ${sync.received} upserts and deletes`);
  const sizes = await podSizes();
  const fullResync = [...sizes.values()].reduce((a, b) => a + b, 0);
  const changed = (name: string): boolean => name.startsWith('new-') || /^base-([0-9]|1[0-4])$/.test(name);
  const difference = [...sizes].filter(([name]) => changed(name)).reduce((a, [, n]) => a + n, 0);
  const differenceWithoutStatus = [...(await podSizes(false))].filter(([name]) => changed(name)).reduce((a, [, n]) => a + n, 0);
  console.log(`resync after kill -9: ${sync.received} messages, ${sync.frameBytesIn} bytes received (${sync.wireBytesIn} on the wire), inventory sent ${sync.frameBytesOut} bytes; a full resync would be over ${fullResync} bytes`);
  // The difference is 35 upserted pods plus 15 deletes and the envelopes around them.
  assert.ok(sync.frameBytesIn >= differenceWithoutStatus, `at least the 35 upserted pods (${differenceWithoutStatus} bytes without their statuses), got ${sync.frameBytesIn}`);
  assert.ok(sync.frameBytesIn < difference + 50 * 400, `the difference (${difference} bytes of pods) and envelopes, got ${sync.frameBytesIn}`);
  assert.ok(sync.frameBytesIn < fullResync / 2, `well below a full resync (${fullResync} bytes)`);
});

test('E2E_EDGE_SYNC_3: the cloud killed with kill -9 and restarted: the edge reconnects by itself and converges within seconds', async () => {
  const syncsBefore = edge.syncs.length;
  // Writes the cloud committed just before it died, whether or not they reached the edge.
  await apply(Array.from({ length: 10 }, (_, i) => podManifest(`late-${i}`)));
  await c.cloud.crash();
  await new Promise((r) => setTimeout(r, 1500));
  await c.cloud.restart();
  const cloudBack = Date.now();
  const sync = await edge.waitForSync(syncsBefore, 20_000);
  const inSyncAfter = sync.seenAt - cloudBack;
  console.log(`edge in sync ${inSyncAfter} ms after the restarted cloud was ready (inventory exchange ${sync.ms} ms)`);
  assert.ok(inSyncAfter <= 5000, `in sync ${inSyncAfter} ms after the cloud was back`);
  await converged('the edge to hold the cloud\'s pods after the cloud restarted');

  // And it keeps streaming.
  await apply([podManifest('after-restart')]);
  await eventually(() => assert.ok(edgePods().has('after-restart')), { timeoutMs: 10_000, what: 'a pod created after the restart' });
  // The node is Ready again.
  await eventually(
    async () => {
      const n = JSON.parse(await c.cloud.kubectlOk('1.33', ['get', 'node', edge.nodeName, '-o', 'json'])) as { status: { conditions: { type: string; status: string }[] } };
      assert.equal(n.status.conditions.find((x) => x.type === 'Ready')?.status, 'True');
    },
    { timeoutMs: 10_000, what: 'the node to be Ready' },
  );
});
