/**
 * Issue 2: the API's refusals as Kubernetes clients see them: 401 without credentials, 403 for a
 * node reaching outside what is bound to it, 409 on a stale write or a duplicate, 422 with field
 * causes on an invalid object, 413 on an oversized body, 404 on a missing one.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, test } from 'node:test';
import type { ConfigMap, Pod, PodList } from 'kubernetes-types/core/v1.d.ts';
import { stringify as toYaml } from 'yaml';
import { configMapManifest, eventually, kubectl, KUBECTL_VERSIONS, namespaceFor, namespaceManifest, useCloud, type ClientIdentity } from '../harness/index.ts';

const cloud = await useCloud();
const NS = 'errors';

interface StatusBody {
  kind: string;
  apiVersion: string;
  status: string;
  code: number;
  reason: string;
  message: string;
  details?: { name?: string; kind?: string; causes?: { field?: string; reason?: string; message?: string }[] };
}

function pod(name: string, nodeName: string): Pod {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: NS }, spec: { nodeName, containers: [{ name: 'c', image: 'busybox:1.36' }] } };
}

/** A kubeconfig for a node identity, as `kedge edge` would hold after joining. */
async function nodeKubeconfig(name: string, identity: ClientIdentity): Promise<string> {
  const path = join(cloud.dataDir, `kubeconfig-${name}`);
  const b64 = (s: string | undefined): string => Buffer.from(s ?? '').toString('base64');
  await writeFile(
    path,
    toYaml({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'kedge', cluster: { server: cloud.credentials.server, 'certificate-authority-data': b64(cloud.credentials.caPem) } }],
      users: [{ name, user: { 'client-certificate-data': b64(identity.certPem), 'client-key-data': b64(identity.keyPem) } }],
      contexts: [{ name, context: { cluster: 'kedge', user: name, namespace: NS } }],
      'current-context': name,
    }),
    { mode: 0o600 },
  );
  return path;
}

before(async () => {
  const r = await cloud.request({ method: 'POST', path: '/api/v1/namespaces', body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } } });
  assert.equal(r.status, 201, r.body);
});

test('E2E_API_AUTHN_1: a request without credentials gets 401 Unauthorized; health probes need none', async () => {
  for (const path of ['/api/v1/namespaces/default/pods', '/api', '/apis/apps/v1/deployments']) {
    const r = await cloud.request({ path, identity: {} });
    assert.equal(r.status, 401, `${path}: ${r.body}`);
    const s = r.json<StatusBody>();
    assert.equal(s.kind, 'Status');
    assert.equal(s.reason, 'Unauthorized');
    assert.equal(s.code, 401);
  }
  const ready = await cloud.request({ path: '/readyz', identity: {} });
  assert.equal(ready.status, 200);
  assert.equal(ready.body, 'ok');

  const admin = await cloud.request({ path: '/api/v1/namespaces/default/pods' });
  assert.equal(admin.status, 200, 'the admin certificate from the kubeconfig is accepted');
});

test('E2E_API_AUTHZ_1: a node identity reads the pods bound to it and gets 403 for a pod bound to another node', async () => {
  for (const p of [pod('on-edge-a', 'edge-a'), pod('on-edge-b', 'edge-b')]) {
    const r = await cloud.request({ method: 'POST', path: `/api/v1/namespaces/${NS}/pods`, body: p });
    assert.equal(r.status, 201, r.body);
  }
  const edgeA = await cloud.nodeIdentity('edge-a');

  // The node graph follows pods through a watch, so the binding may take a moment to be known.
  await eventually(
    async () => {
      const own = await cloud.request({ path: `/api/v1/namespaces/${NS}/pods/on-edge-a`, identity: edgeA });
      assert.equal(own.status, 200, own.body);
      assert.equal(own.json<Pod>().spec?.nodeName, 'edge-a');
    },
    { timeoutMs: 5_000, what: 'edge-a to read its own pod' },
  );

  const other = await cloud.request({ path: `/api/v1/namespaces/${NS}/pods/on-edge-b`, identity: edgeA });
  assert.equal(other.status, 403, other.body);
  const s = other.json<StatusBody>();
  assert.equal(s.reason, 'Forbidden');
  assert.match(s.message, /system:node:edge-a/);

  const listOwn = await cloud.request({ path: `/api/v1/pods?fieldSelector=${encodeURIComponent('spec.nodeName=edge-a')}`, identity: edgeA });
  assert.equal(listOwn.status, 200, listOwn.body);
  assert.deepEqual(
    listOwn.json<PodList>().items.map((p) => p.metadata?.name),
    ['on-edge-a'],
  );
  const listAll = await cloud.request({ path: `/api/v1/namespaces/${NS}/pods`, identity: edgeA });
  assert.equal(listAll.status, 403, 'a node may not list every pod');

  const write = await cloud.request({ method: 'POST', path: `/api/v1/namespaces/${NS}/pods`, identity: edgeA, body: pod('sneaky', 'edge-a') });
  assert.equal(write.status, 403, 'a node may not create pods');

  const secrets = await cloud.request({ path: `/api/v1/namespaces/${NS}/secrets`, identity: edgeA });
  assert.equal(secrets.status, 403);

  for (const v of KUBECTL_VERSIONS) {
    const kc = await nodeKubeconfig('edge-a', edgeA);
    const own = await kubectl(v, ['get', 'pod', 'on-edge-a', '-o', 'name'], { kubeconfig: kc, cacheDir: join(cloud.dataDir, `kubectl-cache-edge-a-${v}`) });
    assert.equal(own.code, 0, `kubectl ${v} as edge-a: ${own.stderr}`);
    assert.equal(own.stdout.trim(), 'pod/on-edge-a');
    const denied = await kubectl(v, ['get', 'pod', 'on-edge-b'], { kubeconfig: kc, cacheDir: join(cloud.dataDir, `kubectl-cache-edge-a-${v}`) });
    assert.notEqual(denied.code, 0);
    assert.match(denied.stderr, /Error from server \(Forbidden\)/, `kubectl ${v}`);
  }
});

for (const v of KUBECTL_VERSIONS) {
  test(`E2E_API_CONFLICT_1 (kubectl ${v}): kubectl replace with a stale resourceVersion fails with a conflict`, async () => {
    const ns = namespaceFor('conflict', v);
    await cloud.apply(v, namespaceManifest(ns), configMapManifest(ns, 'c', { v: '1' }));
    const stale = await cloud.kubectlOk(v, ['get', 'configmap', 'c', '-n', ns, '-o', 'yaml']);
    await cloud.kubectlOk(v, ['patch', 'configmap', 'c', '-n', ns, '--type=merge', '-p', '{"data":{"v":"2"}}']);

    const replaced = await cloud.kubectl(v, ['replace', '-f', '-'], { stdin: stale.replace(/^ {2}v: "1"$/m, '  v: "3"') });
    assert.notEqual(replaced.code, 0);
    assert.match(replaced.stderr, /Error from server \(Conflict\)/);
    assert.match(replaced.stderr, /the object has been modified; please apply your changes to the latest version and try again/);
    assert.equal(JSON.parse(await cloud.kubectlOk(v, ['get', 'configmap', 'c', '-n', ns, '-o', 'json'])).data.v, '2', 'the stale replace wrote nothing');

    const dup = await cloud.kubectl(v, ['create', '-f', '-'], { stdin: configMapManifest(ns, 'c') });
    assert.notEqual(dup.code, 0);
    assert.match(dup.stderr, /Error from server \(AlreadyExists\): (error when creating "STDIN": )?configmaps "c" already exists/);

    const missing = await cloud.kubectl(v, ['get', 'configmap', 'nope', '-n', ns]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /Error from server \(NotFound\): configmaps "nope" not found/);
  });
}

test('E2E_API_CONFLICT_2: a raw PUT with an old resourceVersion answers 409 Conflict', async () => {
  const path = `/api/v1/namespaces/${NS}/configmaps`;
  const created = await cloud.request({ method: 'POST', path, body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'raw' }, data: { v: '1' } } });
  assert.equal(created.status, 201, created.body);
  const old = created.json<ConfigMap>();
  const updated = await cloud.request({ method: 'PUT', path: `${path}/raw`, body: { ...old, data: { v: '2' } } });
  assert.equal(updated.status, 200, updated.body);
  assert.notEqual(updated.json<ConfigMap>().metadata?.resourceVersion, old.metadata?.resourceVersion);

  const stale = await cloud.request({ method: 'PUT', path: `${path}/raw`, body: { ...old, data: { v: '3' } } });
  assert.equal(stale.status, 409, stale.body);
  const s = stale.json<StatusBody>();
  assert.equal(s.reason, 'Conflict');
  assert.equal(s.details?.name, 'raw');
  assert.equal(s.details?.kind, 'configmaps');

  const dup = await cloud.request({ method: 'POST', path, body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'raw' } } });
  assert.equal(dup.status, 409);
  assert.equal(dup.json<StatusBody>().reason, 'AlreadyExists');

  const missing = await cloud.request({ path: `${path}/nope` });
  assert.equal(missing.status, 404);
  assert.equal(missing.json<StatusBody>().reason, 'NotFound');
});

test('E2E_API_INVALID_1: an invalid pod answers 422 Invalid naming every bad field', async () => {
  const r = await cloud.request({
    method: 'POST',
    path: `/api/v1/namespaces/${NS}/pods`,
    body: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'Bad_Name' }, spec: { containers: [{ name: 'c' }] } },
  });
  assert.equal(r.status, 422, r.body);
  const s = r.json<StatusBody>();
  assert.equal(s.kind, 'Status');
  assert.equal(s.status, 'Failure');
  assert.equal(s.reason, 'Invalid');
  assert.equal(s.details?.kind, 'Pod');
  assert.equal(s.details?.name, 'Bad_Name');
  const causes = s.details?.causes ?? [];
  const fields = causes.map((c) => c.field);
  assert.ok(fields.includes('metadata.name'), `causes: ${JSON.stringify(causes)}`);
  assert.ok(fields.includes('spec.containers[0].image'), `causes: ${JSON.stringify(causes)}`);
  assert.equal(causes.find((c) => c.field === 'spec.containers[0].image')?.reason, 'FieldValueRequired');
  assert.equal(causes.find((c) => c.field === 'metadata.name')?.reason, 'FieldValueInvalid');

  for (const v of KUBECTL_VERSIONS) {
    const k = await cloud.kubectl(v, ['apply', '-n', NS, '-f', '-'], { stdin: 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: no-image\nspec:\n  containers:\n  - name: c\n' });
    assert.notEqual(k.code, 0);
    assert.match(k.stderr, /The Pod "no-image" is invalid: spec\.containers\[0\]\.image: Required value/, `kubectl ${v}`);
  }
});

test('E2E_API_LIMIT_1: a body over 3 MiB answers 413', async () => {
  const big = 'x'.repeat(3 * 1024 * 1024 + 512 * 1024);
  const r = await cloud.request({ method: 'POST', path: `/api/v1/namespaces/${NS}/configmaps`, body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'huge' }, data: { big } } });
  assert.equal(r.status, 413, r.body.slice(0, 500));
  const s = r.json<StatusBody>();
  assert.equal(s.reason, 'RequestEntityTooLarge');

  const after = await cloud.request({ path: `/api/v1/namespaces/${NS}/configmaps/huge` });
  assert.equal(after.status, 404, 'nothing was stored');
  const alive = await cloud.request({ path: '/readyz' });
  assert.equal(alive.status, 200, 'the server is still serving');
});
