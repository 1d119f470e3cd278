/**
 * kubectl 1.32 and later send typed creates and updates as `application/vnd.kubernetes.protobuf`.
 * Each scenario runs the same kubectl command with kubectl 1.33 (protobuf) and 1.31 (JSON) against
 * one real `kedge cloud`, in a namespace per version, and expects `kubectl get -o json` to show the
 * same object apart from names, uids, resource versions, timestamps and allocated addresses.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fixtures from '../../src/api/protobuf/testdata/kubectl-bodies.json' with { type: 'json' };
import { body, message, string, varint } from '../../src/api/protobuf/test-encoder.ts';
import { getJson, useCloud, type KubectlVersion } from './harness/index.ts';

const cloud = await useCloud({ args: ['--hub-port', '0', '--join-port', '0'] });

const PROTOBUF = 'application/vnd.kubernetes.protobuf';
const PROTOBUF_KUBECTL: KubectlVersion = '1.33';
const JSON_KUBECTL: KubectlVersion = '1.31';

/** The namespace each version's objects live in. */
function ns(version: KubectlVersion): string {
  return `pb-v${version.replace('.', '')}`;
}

type Obj = Record<string, unknown> & { metadata: Record<string, unknown> };

/**
 * The object without what legitimately differs between two creations: server-set identity and
 * times, controller-written status, allocated cluster IPs, and the version-specific names.
 */
function comparable(obj: Obj, version: KubectlVersion, names: Readonly<Record<string, string>> = {}): Obj {
  let text = JSON.stringify(obj).replaceAll(ns(version), 'NS');
  for (const [from, to] of Object.entries(names)) text = text.replaceAll(from, to);
  const o = JSON.parse(text) as Obj;
  for (const k of ['uid', 'resourceVersion', 'creationTimestamp']) delete o.metadata[k];
  const managed = o.metadata['managedFields'] as Record<string, unknown>[] | undefined;
  for (const m of managed ?? []) delete m['time'];
  const annotations = o.metadata['annotations'] as Record<string, string> | undefined;
  if (annotations !== undefined) delete annotations['deployment.kubernetes.io/revision'];
  if (o['kind'] === 'Deployment' || o['kind'] === 'Pod') delete o['status'];
  const spec = o['spec'] as Record<string, unknown> | undefined;
  if (o['kind'] === 'Service' && spec !== undefined) {
    delete spec['clusterIP'];
    delete spec['clusterIPs'];
  }
  return o;
}

async function createBoth(args: (version: KubectlVersion) => readonly string[]): Promise<void> {
  for (const version of [PROTOBUF_KUBECTL, JSON_KUBECTL]) {
    const r = await cloud.kubectl(version, args(version));
    assert.equal(r.code, 0, `kubectl ${version} ${args(version).join(' ')}: ${r.stderr}`);
  }
}

async function sameObject(resource: string, name: string): Promise<Obj> {
  const viaProtobuf = await getJson<Obj>(cloud, PROTOBUF_KUBECTL, [resource, name, '-n', ns(PROTOBUF_KUBECTL)]);
  const viaJson = await getJson<Obj>(cloud, JSON_KUBECTL, [resource, name, '-n', ns(JSON_KUBECTL)]);
  assert.deepEqual(comparable(viaProtobuf, PROTOBUF_KUBECTL), comparable(viaJson, JSON_KUBECTL));
  return viaProtobuf;
}

test('E2E_PROTOBUF_1: typed creates from kubectl 1.33 (protobuf) store what kubectl 1.31 (JSON) stores', async (t) => {
  await t.test('create namespace', async () => {
    await createBoth((v) => ['create', 'namespace', ns(v)]);
    const a = await getJson<Obj>(cloud, PROTOBUF_KUBECTL, ['namespace', ns(PROTOBUF_KUBECTL)]);
    const b = await getJson<Obj>(cloud, JSON_KUBECTL, ['namespace', ns(JSON_KUBECTL)]);
    assert.deepEqual(comparable(a, PROTOBUF_KUBECTL), comparable(b, JSON_KUBECTL));
    assert.equal(a.metadata['name'], ns(PROTOBUF_KUBECTL));
  });

  await t.test('create configmap --from-literal', async () => {
    await createBoth((v) => ['create', 'configmap', 'cm', '--from-literal=a=b', '--from-literal=c=d', '-n', ns(v)]);
    const cm = await sameObject('configmap', 'cm');
    assert.deepEqual(cm['data'], { a: 'b', c: 'd' });
  });

  await t.test('create secret generic --from-literal', async () => {
    await createBoth((v) => ['create', 'secret', 'generic', 's', '--from-literal=k=v', '-n', ns(v)]);
    const s = await sameObject('secret', 's');
    assert.deepEqual(s['data'], { k: Buffer.from('v').toString('base64') });
    assert.equal(s['type'], 'Opaque');
  });

  await t.test('create deployment --replicas=3', async () => {
    await createBoth((v) => ['create', 'deployment', 'd', '--image=nginx', '--replicas=3', '-n', ns(v)]);
    const d = await sameObject('deployment', 'd');
    assert.equal((d['spec'] as Record<string, unknown>)['replicas'], 3);
  });

  await t.test('create deployment --replicas=0 keeps the explicit zero', async () => {
    await createBoth((v) => ['create', 'deployment', 'd0', '--image=nginx', '--replicas=0', '-n', ns(v)]);
    const d = await sameObject('deployment', 'd0');
    assert.equal((d['spec'] as Record<string, unknown>)['replicas'], 0);
  });

  await t.test('create deployment --port', async () => {
    await createBoth((v) => ['create', 'deployment', 'dp', '--image=nginx', '--port=8080', '-n', ns(v)]);
    const d = await sameObject('deployment', 'dp');
    const podSpec = ((d['spec'] as Record<string, Record<string, unknown>>)['template']!['spec']) as Record<string, Record<string, unknown>[]>;
    assert.deepEqual(podSpec['containers']![0]!['ports'], [{ containerPort: 8080, protocol: 'TCP' }]);
  });

  await t.test('create service clusterip --tcp', async () => {
    await createBoth((v) => ['create', 'service', 'clusterip', 'x', '--tcp=80:8080', '-n', ns(v)]);
    const svc = await sameObject('service', 'x');
    const ports = (svc['spec'] as Record<string, unknown>)['ports'] as Record<string, unknown>[];
    assert.equal(ports[0]!['targetPort'], 8080);
  });

  await t.test('run', async () => {
    await createBoth((v) => ['run', 'p', '--image=busybox', '-n', ns(v), '--', 'sleep', '1']);
    const pod = await sameObject('pod', 'p');
    const c = ((pod['spec'] as Record<string, unknown>)['containers'] as Record<string, unknown>[])[0]!;
    assert.deepEqual(c['args'], ['sleep', '1']);
  });

  await t.test('create serviceaccount', async () => {
    await createBoth((v) => ['create', 'serviceaccount', 'sa', '-n', ns(v)]);
    await sameObject('serviceaccount', 'sa');
  });

  await t.test('scale', async () => {
    for (const version of [PROTOBUF_KUBECTL, JSON_KUBECTL]) {
      const r = await cloud.kubectl(version, ['scale', 'deployment', 'd', '--replicas=5', '-n', ns(version)]);
      assert.equal(r.code, 0, r.stderr);
    }
    const d = await sameObject('deployment', 'd');
    assert.equal((d['spec'] as Record<string, unknown>)['replicas'], 5);
  });
});

test('E2E_PROTOBUF_2: raw protobuf requests: create, scale subresource PUT, and a malformed body', async () => {
  const namespace = 'pb-raw';
  assert.equal((await cloud.request({ method: 'POST', path: '/api/v1/namespaces', body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } } })).status, 201);

  // The very bytes kubectl 1.33 sent for `create deployment d0 --image=nginx --replicas=0 -n default`.
  const recorded = Buffer.from(fixtures.bodies['deployment-zero'].protobuf, 'base64');
  const created = await cloud.request({ method: 'POST', path: '/apis/apps/v1/namespaces/default/deployments', headers: { 'content-type': PROTOBUF, accept: `${PROTOBUF},application/json` }, body: recorded });
  assert.equal(created.status, 201, created.body);
  assert.match(created.headers['content-type'] ?? '', /^application\/json/);
  const d = JSON.parse(created.body) as Obj;
  assert.equal((d['spec'] as Record<string, unknown>)['replicas'], 0);

  const scale = body('autoscaling/v1', 'Scale', message(1, string(1, 'd0'), string(3, 'default')), message(2, varint(1, 2)));
  const scaled = await cloud.request({ method: 'PUT', path: '/apis/apps/v1/namespaces/default/deployments/d0/scale', headers: { 'content-type': PROTOBUF }, body: Buffer.from(scale) });
  assert.equal(scaled.status, 200, scaled.body);
  assert.equal((JSON.parse(scaled.body) as { spec: { replicas: number } }).spec.replicas, 2);

  const bad = await cloud.request({ method: 'POST', path: `/api/v1/namespaces/${namespace}/configmaps`, headers: { 'content-type': PROTOBUF }, body: Buffer.from('{"kind":"ConfigMap"}') });
  assert.equal(bad.status, 400, bad.body);
  const status = JSON.parse(bad.body) as { kind: string; reason: string; message: string };
  assert.equal(status.kind, 'Status');
  assert.equal(status.reason, 'BadRequest');
  assert.match(status.message, /application\/vnd\.kubernetes\.protobuf/);

  const patch = await cloud.request({ method: 'PATCH', path: `/api/v1/namespaces/${namespace}`, headers: { 'content-type': PROTOBUF }, body: Buffer.from(body('v1', 'Namespace')) });
  assert.equal(patch.status, 415, 'patches are never protobuf');
});
