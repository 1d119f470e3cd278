/**
 * Issue 2: the API's state survives the process. After a clean stop (SIGTERM) and after a crash
 * (`kill -9`) the restarted server on the same data dir serves every object with its uid and
 * resourceVersion unchanged, keeps its CA and credentials, and a watch resumed from a
 * resourceVersion taken before the restart receives every change made since.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { eventually, KUBECTL_VERSIONS, parseTable, useCloud, type KedgeCloud, type WatchEvent } from '../harness/index.ts';

const cloud = await useCloud();
const NS = 'durable';

interface Meta {
  name: string;
  uid: string;
  resourceVersion: string;
}
interface AnyList {
  metadata: { resourceVersion: string };
  items: { metadata: Meta }[];
}

/**
 * name → uid@resourceVersion of every object in the lists the test looks at. Only kinds no
 * controller writes to on its own (no pods, deployments), so a difference means the restart changed it.
 */
async function snapshot(c: KedgeCloud): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const lists = [
    `/api/v1/namespaces/${NS}/configmaps`,
    `/api/v1/namespaces/${NS}/secrets`,
    `/api/v1/namespaces/${NS}/services`,
    `/apis/coordination.k8s.io/v1/namespaces/${NS}/leases`,
    `/apis/e2e.kedge.io/v1/namespaces/${NS}/gadgets`,
  ];
  for (const path of lists) {
    const r = await c.request({ path });
    assert.equal(r.status, 200, `${path}: ${r.body}`);
    for (const item of r.json<AnyList>().items) out[`${path}/${item.metadata.name}`] = `${item.metadata.uid}@${item.metadata.resourceVersion}`;
  }
  const nsObj = await c.request({ path: `/api/v1/namespaces/${NS}` });
  assert.equal(nsObj.status, 200);
  const m = nsObj.json<{ metadata: Meta }>().metadata;
  out['namespace'] = `${m.uid}@${m.resourceVersion}`;
  return out;
}

async function post(path: string, body: Record<string, unknown>): Promise<Meta> {
  const r = await cloud.request({ method: 'POST', path, body });
  assert.equal(r.status, 201, `${path}: ${r.body}`);
  return r.json<{ metadata: Meta }>().metadata;
}

async function ensureNamespace(): Promise<void> {
  const r = await cloud.request({ method: 'POST', path: '/api/v1/namespaces', body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } } });
  assert.ok(r.status === 201 || r.status === 409, r.body);
}

const GADGET_CRD = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'gadgets.e2e.kedge.io' },
  spec: {
    group: 'e2e.kedge.io',
    scope: 'Namespaced',
    names: { plural: 'gadgets', singular: 'gadget', kind: 'Gadget', listKind: 'GadgetList' },
    versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', properties: { spec: { type: 'object', properties: { level: { type: 'integer' } } } } } } }],
  },
};

async function listRv(): Promise<string> {
  const r = await cloud.request({ path: `/api/v1/namespaces/${NS}/configmaps` });
  assert.equal(r.status, 200, r.body);
  return r.json<AnyList>().metadata.resourceVersion;
}

function summary(events: readonly WatchEvent[]): string[] {
  return events.filter((e) => e.type !== 'BOOKMARK').map((e) => `${e.type} ${e.object.metadata?.name ?? `${e.object.code} ${e.object.reason}`}`);
}

test('E2E_API_RESTART_1: after SIGTERM the restarted server serves every object with its uid and resourceVersion', async () => {
  await ensureNamespace();
  await post('/apis/apiextensions.k8s.io/v1/customresourcedefinitions', GADGET_CRD);
  await eventually(async () => assert.equal((await cloud.request({ path: `/apis/e2e.kedge.io/v1/namespaces/${NS}/gadgets` })).status, 200), { what: 'the gadgets CRD to be served' });
  for (let i = 0; i < 5; i++) await post(`/api/v1/namespaces/${NS}/configmaps`, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `cm-${i}`, labels: { i: String(i) } }, data: { i: String(i) } });
  await post(`/api/v1/namespaces/${NS}/secrets`, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, stringData: { token: 'abc' } });
  await post(`/api/v1/namespaces/${NS}/services`, { apiVersion: 'v1', kind: 'Service', metadata: { name: 'svc' }, spec: { selector: { app: 'x' }, ports: [{ port: 80 }] } });
  await post(`/apis/coordination.k8s.io/v1/namespaces/${NS}/leases`, { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'l' }, spec: { holderIdentity: 'edge-a', leaseDurationSeconds: 40 } });
  await post(`/apis/e2e.kedge.io/v1/namespaces/${NS}/gadgets`, { apiVersion: 'e2e.kedge.io/v1', kind: 'Gadget', metadata: { name: 'g' }, spec: { level: 3 } });
  const before = await snapshot(cloud);
  assert.equal(Object.keys(before).length, 10, Object.keys(before).join(" "));
  const caBefore = cloud.credentials.caPem;
  const adminBefore = cloud.admin;

  await cloud.stop();
  assert.equal(cloud.exitCode, 0, 'SIGTERM ends the server cleanly');
  await cloud.restart();

  assert.equal(cloud.credentials.caPem, caBefore, 'the CA is reused');
  const r = await cloud.request({ path: '/api/v1/namespaces', identity: adminBefore });
  assert.equal(r.status, 200, 'the admin credential issued before the restart still works');
  assert.deepEqual(await snapshot(cloud), before, 'every object, including the custom one, is served with its uid and resourceVersion');

  for (const v of KUBECTL_VERSIONS) {
    const table = parseTable(await cloud.kubectlOk(v, ['get', 'configmaps', '-n', NS]));
    assert.deepEqual(
      table.rows.map((row) => row['NAME']),
      ['cm-0', 'cm-1', 'cm-2', 'cm-3', 'cm-4'],
    );
  }

  // Writes after the restart continue the revision sequence.
  const next = await post(`/api/v1/namespaces/${NS}/configmaps`, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'after-restart' } });
  const maxBefore = Math.max(...Object.values(before).map((s) => Number(s.split('@')[1])));
  assert.ok(Number(next.resourceVersion) > maxBefore, `resourceVersion ${next.resourceVersion} follows ${maxBefore}`);
});

test('E2E_API_RESTART_2: after kill -9 nothing acknowledged is lost and a watch resumed from an old resourceVersion sees every change since', async () => {
  await ensureNamespace();
  const path = `/api/v1/namespaces/${NS}/configmaps`;
  for (const name of ['k-1', 'k-2']) await post(path, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data: { i: name } });
  const from = await listRv();
  await post(path, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'new-before-crash' } });
  const patched = await cloud.request({ method: 'PATCH', path: `${path}/k-1`, headers: { 'content-type': 'application/merge-patch+json' }, body: JSON.stringify({ data: { i: 'one' } }) });
  assert.equal(patched.status, 200, patched.body);
  const deleted = await cloud.request({ method: 'DELETE', path: `${path}/k-2` });
  assert.equal(deleted.status, 200, deleted.body);
  const before = await snapshot(cloud);

  await cloud.crash();
  await cloud.restart();
  assert.deepEqual(await snapshot(cloud), before, 'every write acknowledged before the crash is there, at the same resourceVersion');

  const watch = await cloud.watch(`${path}?watch=1&resourceVersion=${from}&allowWatchBookmarks=true`);
  try {
    assert.equal(watch.status, 200);
    const seen = await watch.until((evs) => summary(evs).length >= 3 || evs.some((e) => e.type === 'ERROR'));
    const first = seen.find((e) => e.type !== 'BOOKMARK');
    if (first?.type === 'ERROR') {
      // Allowed by the Kubernetes watch contract when the history was compacted meanwhile.
      assert.equal(first.object.code, 410);
      assert.equal(first.object.reason, 'Expired');
      return;
    }
    assert.deepEqual(summary(seen).slice(0, 3), ['ADDED new-before-crash', 'MODIFIED k-1', 'DELETED k-2']);
    const modified = seen.find((e) => e.type === 'MODIFIED');
    assert.deepEqual((modified?.object as { data?: unknown }).data, { i: 'one' });

    // And the resumed watch keeps streaming what happens now.
    await post(path, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'live' } });
    const live = await watch.until((evs) => summary(evs).includes('ADDED live'));
    assert.deepEqual(summary(live), ['ADDED new-before-crash', 'MODIFIED k-1', 'DELETED k-2', 'ADDED live']);
  } finally {
    watch.close();
  }
});

test('E2E_API_RESTART_3: a watch from a resourceVersion older than the compacted history gets a 410 Expired event', async () => {
  // kedge compacts on an interval, dropping history older than one interval: restart it with a
  // short one so that the history before now goes away.
  await cloud.restart({ args: ['--compact-interval', '1s'] });
  await ensureNamespace();
  await post(`/api/v1/namespaces/${NS}/configmaps`, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'churn' } });
  await eventually(
    async () => {
      const watch = await cloud.watch(`/api/v1/namespaces/${NS}/configmaps?watch=1&resourceVersion=2`);
      try {
        assert.equal(watch.status, 200);
        const events = await watch.until((evs) => evs.some((e) => e.type === 'ERROR'), 1_500);
        const err = events.find((e) => e.type === 'ERROR');
        assert.equal(err?.object.code, 410);
        assert.equal(err?.object.reason, 'Expired');
      } finally {
        watch.close();
      }
    },
    { timeoutMs: 15_000, intervalMs: 500, what: 'a watch from resourceVersion 2 to be answered with 410 Expired once compacted' },
  );
});
