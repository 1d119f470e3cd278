/**
 * Issue 5, garbage collection: `kubectl delete --cascade=background|foreground|orphan` on
 * ReplicaSets (whose pods the ReplicaSet controller made), the foreground wait on blocking
 * dependents, and namespace deletion emptying every resource in it — custom resources included —
 * before the namespace goes.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { eventually, getJson, KUBECTL_VERSIONS, useCloud, type KubectlVersion } from './harness/index.ts';
import { applyNamespace, Heartbeats, registerNode } from './controllers-nodes.ts';

const cloud = await useCloud({ args: ['--hub-port', '0', '--join-port', '0'] });
const heartbeats = new Heartbeats(cloud, 5_000);
after(() => heartbeats.stop());

interface List {
  items: { metadata: { name: string; ownerReferences?: { name: string }[]; finalizers?: string[]; deletionTimestamp?: string } }[];
}

/** A ReplicaSet whose pods stay pending (no node matches), so deleting them needs no kubelet. */
function replicaSet(ns: string, name: string): string {
  return JSON.stringify({
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: { name, namespace: ns },
    spec: {
      replicas: 2,
      selector: { matchLabels: { rs: name } },
      template: { metadata: { labels: { rs: name } }, spec: { nodeSelector: { nowhere: 'true' }, containers: [{ name: 'app', image: 'busybox' }] } },
    },
  });
}

async function podsOf(v: KubectlVersion, ns: string, rs: string): Promise<List['items']> {
  return (await getJson<List>(cloud, v, ['pods', '-n', ns, '-l', `rs=${rs}`])).items;
}

async function withPods(v: KubectlVersion, ns: string, rs: string): Promise<void> {
  await cloud.kubectlOk(v, ['apply', '-f', '-'], { stdin: replicaSet(ns, rs) });
  await eventually(async () => assert.equal((await podsOf(v, ns, rs)).length, 2), { what: `pods of ${rs}` });
}

for (const v of KUBECTL_VERSIONS) {
  const ns = `cascade-v${v.replace('.', '')}`;

  test(`GC_E2E_1 (kubectl ${v}): --cascade=background deletes the ReplicaSet, then its pods`, async () => {
    await applyNamespace(cloud, v, ns);
    await withPods(v, ns, 'bg');
    await cloud.kubectlOk(v, ['delete', 'rs', '-n', ns, 'bg', '--cascade=background']);
    await eventually(async () => assert.deepEqual(await podsOf(v, ns, 'bg'), []), { what: 'pods of bg gone' });
  });

  test(`GC_E2E_2 (kubectl ${v}): --cascade=foreground deletes the pods first, then the ReplicaSet`, async () => {
    await withPods(v, ns, 'fg');
    // kubectl waits until the ReplicaSet is gone, which foreground deletion allows only after its pods.
    await cloud.kubectlOk(v, ['delete', 'rs', '-n', ns, 'fg', '--cascade=foreground']);
    assert.deepEqual(await podsOf(v, ns, 'fg'), []);
  });

  test(`GC_E2E_3 (kubectl ${v}): --cascade=orphan deletes the ReplicaSet and leaves its pods without the owner reference`, async () => {
    await withPods(v, ns, 'or');
    await cloud.kubectlOk(v, ['delete', 'rs', '-n', ns, 'or', '--cascade=orphan']);
    assert.match((await cloud.kubectl(v, ['get', 'rs', '-n', ns, 'or'])).stderr, /NotFound/);
    const pods = await podsOf(v, ns, 'or');
    assert.equal(pods.length, 2);
    for (const p of pods) assert.equal(p.metadata.ownerReferences, undefined);
  });
}

test('GC_E2E_4: an owner deleted in the foreground waits for a blocking dependent', async () => {
  await applyNamespace(cloud, '1.33', 'blocking');
  await cloud.kubectlOk('1.33', ['apply', '-f', '-'], { stdin: JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'owner', namespace: 'blocking' } }) });
  const owner = await getJson<{ metadata: { uid: string } }>(cloud, '1.33', ['cm', '-n', 'blocking', 'owner']);
  const dependent = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'dependent', namespace: 'blocking', finalizers: ['e2e.kedge.io/hold'], ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid: owner.metadata.uid, blockOwnerDeletion: true }] },
  };
  await cloud.kubectlOk('1.33', ['apply', '-f', '-'], { stdin: JSON.stringify(dependent) });
  await cloud.kubectlOk('1.33', ['delete', 'cm', '-n', 'blocking', 'owner', '--cascade=foreground', '--wait=false']);
  await eventually(async () => {
    const cms = await getJson<List>(cloud, '1.33', ['cm', '-n', 'blocking']);
    const o = cms.items.find((c) => c.metadata.name === 'owner');
    const d = cms.items.find((c) => c.metadata.name === 'dependent');
    assert.deepEqual(o?.metadata.finalizers, ['foregroundDeletion']);
    assert.ok(d?.metadata.deletionTimestamp, 'the dependent is being deleted');
  });
  await cloud.kubectlOk('1.33', ['patch', 'cm', '-n', 'blocking', 'dependent', '--type=json', '-p', '[{"op":"remove","path":"/metadata/finalizers"}]']);
  await eventually(async () => assert.deepEqual((await getJson<List>(cloud, '1.33', ['cm', '-n', 'blocking'])).items.map((c) => c.metadata.name).filter((n) => n !== 'kube-root-ca.crt'), []), {
    what: 'owner and dependent gone',
  });
});

const CRD = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'gadgets.gc.e2e.kedge.io' },
  spec: {
    group: 'gc.e2e.kedge.io',
    scope: 'Namespaced',
    names: { plural: 'gadgets', singular: 'gadget', kind: 'Gadget', listKind: 'GadgetList' },
    versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', properties: { spec: { type: 'object', properties: { size: { type: 'integer' } } } } } } }],
  },
};

test('NS_E2E_1: deleting a namespace deletes everything in it (custom resources too), waits for a running pod to stop, then goes', async () => {
  await registerNode(cloud, '1.33', 'worker');
  heartbeats.start('worker');
  await cloud.kubectlOk('1.33', ['apply', '-f', '-'], { stdin: JSON.stringify(CRD) });
  await cloud.kubectlOk('1.33', ['wait', '--for=condition=Established', 'crd/gadgets.gc.e2e.kedge.io', '--timeout=20s']);
  await applyNamespace(cloud, '1.33', 'doomed');
  const objects = [
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings', namespace: 'doomed' }, data: { a: '1' } },
    { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'token', namespace: 'doomed' }, stringData: { t: 'x' } },
    { apiVersion: 'gc.e2e.kedge.io/v1', kind: 'Gadget', metadata: { name: 'g1', namespace: 'doomed' }, spec: { size: 3 } },
    { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'running', namespace: 'doomed' }, spec: { containers: [{ name: 'app', image: 'busybox' }] } },
  ];
  await cloud.kubectlOk('1.33', ['apply', '-f', '-'], { stdin: objects.map((o) => JSON.stringify(o)).join('\n---\n') });
  await cloud.kubectlOk('1.33', ['apply', '-f', '-'], { stdin: replicaSet('doomed', 'rs') });
  await eventually(async () => assert.equal((await getJson<{ spec: { nodeName?: string } }>(cloud, '1.33', ['pod', '-n', 'doomed', 'running'])).spec.nodeName, 'worker'), { what: 'running bound' });

  await cloud.kubectlOk('1.33', ['delete', 'namespace', 'doomed', '--wait=false']);
  // Everything goes but the bound pod, which waits for its node to confirm it stopped.
  await eventually(
    async () => {
      for (const kind of ['configmaps', 'secrets', 'gadgets', 'replicasets']) {
        const left = (await getJson<List>(cloud, '1.33', [kind, '-n', 'doomed'])).items.map((i) => i.metadata.name);
        assert.deepEqual(left, [], `${kind} left: ${left.join(',')}`);
      }
      const pods = (await getJson<List>(cloud, '1.33', ['pods', '-n', 'doomed'])).items;
      assert.deepEqual(pods.map((p) => p.metadata.name), ['running']);
      assert.ok(pods[0]!.metadata.deletionTimestamp);
    },
    { timeoutMs: 15_000, what: 'the namespace emptied but for the terminating pod' },
  );
  assert.match(await cloud.kubectlOk('1.27', ['get', 'namespace', 'doomed']), /doomed\s+Terminating/);
  // The node confirms the pod stopped (what the edge's pod worker does).
  await cloud.kubectlOk('1.33', ['delete', 'pod', '-n', 'doomed', 'running', '--grace-period=0', '--force']);
  await eventually(async () => assert.match((await cloud.kubectl('1.33', ['get', 'namespace', 'doomed'])).stderr, /NotFound/), { timeoutMs: 15_000, what: 'namespace gone' });
});
