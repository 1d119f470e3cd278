/**
 * Issue 2: kubectl drives kedge's API like a Kubernetes API server. Apply of a multi-document
 * manifest, table output, describe, -o yaml/json, apply's unchanged/configured, the three patch
 * types and deletion held by a finalizer, for the oldest and newest kubectl.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Deployment } from 'kubernetes-types/apps/v1.d.ts';
import type { ConfigMap, Pod } from 'kubernetes-types/core/v1.d.ts';
import { parse as parseYaml } from 'yaml';
import { eventually, getJson, KUBECTL_VERSIONS, namespaceFor, parseTable, useCloud } from '../harness/index.ts';

const cloud = await useCloud();

function manifest(ns: string, opts: { mode: string; replicas: number }): string {
  return `
apiVersion: v1
kind: Namespace
metadata:
  name: ${ns}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: app-config
  namespace: ${ns}
  labels: {app: web}
data:
  mode: ${opts.mode}
  level: "3"
---
apiVersion: v1
kind: Secret
metadata:
  name: app-secret
  namespace: ${ns}
type: Opaque
data:
  password: czNjcmV0
---
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: ${ns}
spec:
  selector: {app: web}
  ports:
  - name: http
    port: 80
    targetPort: 8080
    protocol: TCP
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: ${ns}
  labels: {app: web}
spec:
  replicas: ${opts.replicas}
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: nginx:1.25
        ports:
        - containerPort: 8080
      - name: sidecar
        image: busybox:1.36
        command: [sleep, infinity]
---
apiVersion: v1
kind: Pod
metadata:
  name: standalone
  namespace: ${ns}
  labels: {app: standalone}
spec:
  containers:
  - name: main
    image: busybox:1.36
    command: [sleep, "3600"]
---
apiVersion: coordination.k8s.io/v1
kind: Lease
metadata:
  name: leader
  namespace: ${ns}
spec:
  holderIdentity: edge-a
  leaseDurationSeconds: 40
`;
}

/** kubectl apply's per-object verdicts, e.g. `{ 'configmap/app-config': 'unchanged' }`. */
function verdicts(stdout: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of stdout.split('\n')) {
    const m = /^(\S+) (created|unchanged|configured)$/.exec(line.trim());
    if (m !== null) out[m[1]!] = m[2]!;
  }
  return out;
}

const OBJECTS = ['namespace/NS', 'configmap/app-config', 'secret/app-secret', 'service/web', 'deployment.apps/web', 'pod/standalone', 'lease.coordination.k8s.io/leader'];

function expected(ns: string, verdict: string, overrides: Record<string, string> = {}): Record<string, string> {
  const out: Record<string, string> = {};
  for (const o of OBJECTS) out[o.replace('NS', ns)] = verdict;
  return { ...out, ...overrides };
}

for (const v of KUBECTL_VERSIONS) {
  const ns = namespaceFor('apply', v);

  test(`E2E_API_APPLY_1 (kubectl ${v}): a multi-document manifest applies, and re-applying reports unchanged then configured`, async () => {
    const created = await cloud.kubectlOk(v, ['apply', '-f', '-'], { stdin: manifest(ns, { mode: 'edge', replicas: 2 }) });
    assert.deepEqual(verdicts(created), expected(ns, 'created'), created);

    const again = await cloud.kubectlOk(v, ['apply', '-f', '-'], { stdin: manifest(ns, { mode: 'edge', replicas: 2 }) });
    assert.deepEqual(verdicts(again), expected(ns, 'unchanged'), again);

    const changed = await cloud.kubectlOk(v, ['apply', '-f', '-'], { stdin: manifest(ns, { mode: 'cloud', replicas: 3 }) });
    assert.deepEqual(verdicts(changed), expected(ns, 'unchanged', { 'configmap/app-config': 'configured', 'deployment.apps/web': 'configured' }), changed);

    const cm = await getJson<ConfigMap>(cloud, v, ['configmap', 'app-config', '-n', ns]);
    assert.deepEqual(cm.data, { mode: 'cloud', level: '3' });
    const deploy = await getJson<Deployment>(cloud, v, ['deployment', 'web', '-n', ns]);
    assert.equal(deploy.spec?.replicas, 3);
    assert.ok(deploy.metadata?.annotations?.['kubectl.kubernetes.io/last-applied-configuration']?.includes('"replicas":3'), 'apply records the last-applied configuration');
  });

  test(`E2E_API_APPLY_2 (kubectl ${v}): kubectl get prints each kind in Kubernetes' table columns`, async () => {
    const pods = parseTable(await cloud.kubectlOk(v, ['get', 'pods', '-n', ns]));
    assert.deepEqual(pods.headers, ['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE']);
    const pod = pods.row('standalone');
    assert.equal(pod['READY'], '0/1');
    assert.equal(pod['STATUS'], 'Pending');
    assert.equal(pod['RESTARTS'], '0');
    assert.match(pod['AGE']!, /^\d+s$/);

    const wide = parseTable(await cloud.kubectlOk(v, ['get', 'pods', '-n', ns, '-o', 'wide']));
    assert.deepEqual(wide.headers.slice(0, 7), ['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE', 'IP', 'NODE']);
    assert.equal(wide.row('standalone')['IP'], '<none>');
    assert.equal(wide.row('standalone')['NODE'], '<none>');

    const cms = parseTable(await cloud.kubectlOk(v, ['get', 'configmaps', '-n', ns]));
    assert.deepEqual(cms.headers, ['NAME', 'DATA', 'AGE']);
    assert.equal(cms.row('app-config')['DATA'], '2');

    const secrets = parseTable(await cloud.kubectlOk(v, ['get', 'secrets', '-n', ns]));
    assert.deepEqual(secrets.headers, ['NAME', 'TYPE', 'DATA', 'AGE']);
    assert.equal(secrets.row('app-secret')['TYPE'], 'Opaque');
    assert.equal(secrets.row('app-secret')['DATA'], '1');

    const svcs = parseTable(await cloud.kubectlOk(v, ['get', 'services', '-n', ns]));
    assert.deepEqual(svcs.headers, ['NAME', 'TYPE', 'CLUSTER-IP', 'EXTERNAL-IP', 'PORT(S)', 'AGE']);
    assert.equal(svcs.row('web')['TYPE'], 'ClusterIP');
    assert.equal(svcs.row('web')['PORT(S)'], '80/TCP');

    const deploys = parseTable(await cloud.kubectlOk(v, ['get', 'deployments', '-n', ns]));
    assert.deepEqual(deploys.headers, ['NAME', 'READY', 'UP-TO-DATE', 'AVAILABLE', 'AGE']);
    assert.match(deploys.row('web')['READY']!, /^\d+\/3$/);

    const leases = parseTable(await cloud.kubectlOk(v, ['get', 'leases', '-n', ns]));
    assert.deepEqual(leases.headers, ['NAME', 'HOLDER', 'AGE']);
    assert.equal(leases.row('leader')['HOLDER'], 'edge-a');

    const namespaces = parseTable(await cloud.kubectlOk(v, ['get', 'namespaces']));
    assert.deepEqual(namespaces.headers, ['NAME', 'STATUS', 'AGE']);
    assert.equal(namespaces.row(ns)['STATUS'], 'Active');
    assert.equal(namespaces.row('default')['STATUS'], 'Active');
  });

  test(`E2E_API_APPLY_3 (kubectl ${v}): describe, -o json and -o yaml show the stored pod`, async () => {
    const described = await cloud.kubectlOk(v, ['describe', 'pod', 'standalone', '-n', ns]);
    assert.match(described, /^Name:\s+standalone$/m);
    assert.match(described, new RegExp(`^Namespace:\\s+${ns}$`, 'm'));
    assert.match(described, /^Status:\s+Pending$/m);
    assert.match(described, /^Labels:\s+app=standalone$/m);
    assert.match(described, /^Containers:\n\s+main:\n/m);
    assert.match(described, /^\s+Image:\s+busybox:1\.36$/m);
    assert.match(described, /^QoS Class:\s+BestEffort$/m);

    const json = await getJson<Pod>(cloud, v, ['pod', 'standalone', '-n', ns]);
    assert.equal(json.kind, 'Pod');
    assert.equal(json.apiVersion, 'v1');
    assert.equal(json.metadata?.namespace, ns);
    assert.match(json.metadata?.uid ?? '', /^[0-9a-f-]{36}$/);
    assert.match(json.metadata?.resourceVersion ?? '', /^\d+$/);
    assert.ok(!Number.isNaN(Date.parse(json.metadata?.creationTimestamp ?? '')), 'creationTimestamp is a date');
    assert.equal(json.spec?.containers[0]?.image, 'busybox:1.36');
    assert.deepEqual(json.spec?.containers[0]?.command, ['sleep', '3600']);
    assert.equal(json.status?.phase, 'Pending');

    const yaml = parseYaml(await cloud.kubectlOk(v, ['get', 'pod', 'standalone', '-n', ns, '-o', 'yaml'])) as Pod;
    assert.deepEqual(yaml, json, '-o yaml and -o json show the same object');
  });

  test(`E2E_API_PATCH_1 (kubectl ${v}): strategic, merge and JSON patches change what they name and nothing else`, async () => {
    const strategic = await cloud.kubectlOk(v, ['patch', 'deployment', 'web', '-n', ns, '--type=strategic', '-p', '{"spec":{"template":{"spec":{"containers":[{"name":"sidecar","image":"busybox:1.37"}]}}}}']);
    assert.match(strategic, /^deployment\.apps\/web patched$/m);
    let d = await getJson<Deployment>(cloud, v, ['deployment', 'web', '-n', ns]);
    assert.deepEqual(
      d.spec?.template.spec?.containers.map((c) => [c.name, c.image]),
      [
        ['web', 'nginx:1.25'],
        ['sidecar', 'busybox:1.37'],
      ],
      'the strategic patch merges containers by name',
    );
    assert.deepEqual(d.spec?.template.spec?.containers[1]?.command, ['sleep', 'infinity']);

    await cloud.kubectlOk(v, ['patch', 'deployment', 'web', '-n', ns, '--type=merge', '-p', '{"metadata":{"labels":{"tier":"frontend"}},"spec":{"replicas":5}}']);
    d = await getJson<Deployment>(cloud, v, ['deployment', 'web', '-n', ns]);
    assert.deepEqual(d.metadata?.labels, { app: 'web', tier: 'frontend' });
    assert.equal(d.spec?.replicas, 5);
    await cloud.kubectlOk(v, ['patch', 'deployment', 'web', '-n', ns, '--type=merge', '-p', '{"metadata":{"labels":{"tier":null}}}']);
    d = await getJson<Deployment>(cloud, v, ['deployment', 'web', '-n', ns]);
    assert.deepEqual(d.metadata?.labels, { app: 'web' }, 'null in a merge patch removes the key');

    await cloud.kubectlOk(v, [
      'patch',
      'deployment',
      'web',
      '-n',
      ns,
      '--type=json',
      '-p',
      '[{"op":"replace","path":"/spec/template/spec/containers/0/image","value":"nginx:1.26"},{"op":"add","path":"/metadata/labels/track","value":"stable"},{"op":"remove","path":"/spec/template/spec/containers/1"}]',
    ]);
    d = await getJson<Deployment>(cloud, v, ['deployment', 'web', '-n', ns]);
    assert.deepEqual(
      d.spec?.template.spec?.containers.map((c) => [c.name, c.image]),
      [['web', 'nginx:1.26']],
    );
    assert.equal(d.metadata?.labels?.['track'], 'stable');

    const before = d.metadata?.resourceVersion;
    const failed = await cloud.kubectl(v, ['patch', 'deployment', 'web', '-n', ns, '--type=json', '-p', '[{"op":"test","path":"/spec/replicas","value":99},{"op":"replace","path":"/spec/replicas","value":1}]']);
    assert.notEqual(failed.code, 0, 'a failing JSON patch test operation fails the patch');
    d = await getJson<Deployment>(cloud, v, ['deployment', 'web', '-n', ns]);
    assert.equal(d.spec?.replicas, 5);
    assert.equal(d.metadata?.resourceVersion, before, 'a failed patch writes nothing');

    const noop = await cloud.kubectlOk(v, ['patch', 'deployment', 'web', '-n', ns, '--type=merge', '-p', '{"spec":{"replicas":5}}']);
    assert.match(noop, /patched \(no change\)/);
  });

  test(`E2E_API_DELETE_1 (kubectl ${v}): a finalizer holds a deleted object until a patch removes it`, async () => {
    await cloud.kubectlOk(v, ['apply', '-f', '-'], {
      stdin: `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: held\n  namespace: ${ns}\n  finalizers: [e2e.kedge.io/hold]\ndata: {k: v}\n`,
    });
    const deleted = await cloud.kubectlOk(v, ['delete', 'configmap', 'held', '-n', ns, '--wait=false']);
    assert.match(deleted, /configmap "held" deleted/);

    const held = await getJson<ConfigMap>(cloud, v, ['configmap', 'held', '-n', ns]);
    assert.ok(held.metadata?.deletionTimestamp !== undefined, 'the held object carries a deletionTimestamp');
    assert.deepEqual(held.metadata?.finalizers, ['e2e.kedge.io/hold']);
    assert.deepEqual(held.data, { k: 'v' });

    await cloud.kubectlOk(v, ['patch', 'configmap', 'held', '-n', ns, '--type=merge', '-p', '{"metadata":{"finalizers":null}}']);
    await eventually(
      async () => {
        const r = await cloud.kubectl(v, ['get', 'configmap', 'held', '-n', ns]);
        assert.equal(r.code, 1, r.stdout);
        assert.match(r.stderr, /NotFound|not found/);
      },
      { timeoutMs: 5_000, what: 'the configmap to disappear once its last finalizer is removed' },
    );
  });

  test(`E2E_API_CREATE_1 (kubectl ${v}): imperative kubectl create and run commands create the objects`, async () => {
    const ins = namespaceFor('create', v);
    assert.match(await cloud.kubectlOk(v, ['create', 'namespace', ins]), new RegExp(`^namespace/${ins} created$`, 'm'));
    assert.match(await cloud.kubectlOk(v, ['create', 'configmap', 'settings', '-n', ins, '--from-literal=mode=edge']), /^configmap\/settings created$/m);
    assert.match(await cloud.kubectlOk(v, ['create', 'secret', 'generic', 'creds', '-n', ins, '--from-literal=token=abc']), /^secret\/creds created$/m);
    assert.match(await cloud.kubectlOk(v, ['create', 'deployment', 'app', '-n', ins, '--image=nginx:1.25', '--replicas=2']), /^deployment\.apps\/app created$/m);
    assert.match(await cloud.kubectlOk(v, ['run', 'one-off', '-n', ins, '--image=busybox:1.36', '--restart=Never']), /^pod\/one-off created$/m);

    const cm = await getJson<ConfigMap>(cloud, v, ['configmap', 'settings', '-n', ins]);
    assert.deepEqual(cm.data, { mode: 'edge' });
    const secret = await getJson<{ data: Record<string, string> }>(cloud, v, ['secret', 'creds', '-n', ins]);
    assert.equal(Buffer.from(secret.data['token'] ?? '', 'base64').toString(), 'abc');
    const d = await getJson<Deployment>(cloud, v, ['deployment', 'app', '-n', ins]);
    assert.equal(d.spec?.replicas, 2);
    assert.equal(d.spec?.template.spec?.containers[0]?.image, 'nginx:1.25');
  });
}
