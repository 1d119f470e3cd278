/**
 * Issue 5: the workload controllers behind `kubectl apply -f deployment.yaml`, driven by real
 * kubectl (oldest and newest) against a real `kedge cloud`, with Nodes created through the API.
 * There is no kubelet: the test plays it, marking bound pods Running and Ready and finishing the
 * termination of deleted ones, as a node would report.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DaemonSet, Deployment, ReplicaSet } from 'kubernetes-types/apps/v1.d.ts';
import type { Pod } from 'kubernetes-types/core/v1.d.ts';
import { eventually, getJson, KUBECTL_VERSIONS, namespaceFor, parseTable, useCloud, type KubectlVersion, type WatchEvent } from './harness/index.ts';

// Nodes here never renew Leases: keep the node lifecycle controller from marking them unreachable
// mid-test. Free hub and join ports, so this cloud can run beside another test's.
const cloud = await useCloud({ args: ['--node-monitor-grace-period', '10m', '--hub-port', '0', '--join-port', '0'] });

/** Creates a Ready node with room for pods, through the API, as a joining node would register. */
async function createNode(name: string, labels: Record<string, string> = {}): Promise<void> {
  const created = await cloud.request({ method: 'POST', path: '/api/v1/nodes', body: { apiVersion: 'v1', kind: 'Node', metadata: { name, labels: { 'kubernetes.io/hostname': name, ...labels } } } });
  assert.equal(created.status, 201, created.body);
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const status = await cloud.request({
    method: 'PATCH',
    path: `/api/v1/nodes/${name}/status`,
    headers: { 'content-type': 'application/merge-patch+json' },
    body: {
      status: {
        capacity: { cpu: '4', memory: '8Gi', pods: '110' },
        allocatable: { cpu: '4', memory: '8Gi', pods: '110' },
        conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status', lastHeartbeatTime: now, lastTransitionTime: now }],
      },
    },
  });
  assert.equal(status.status, 200, status.body);
}

function isReady(pod: Pod): boolean {
  return pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

/**
 * Plays the kubelet of every node for one namespace: a pod bound to a node becomes Running and
 * Ready; a pod being deleted is confirmed stopped (deleted with grace period 0). It polls, as a
 * kubelet's status loop does; `hold(pod)` keeps chosen pods from becoming ready.
 */
class FakeKubelet {
  readonly #namespace: string;
  readonly #hold: (pod: Pod) => boolean;
  #stopped = false;
  readonly #done: Promise<void>;

  constructor(namespace: string, hold: (pod: Pod) => boolean = () => false) {
    this.#namespace = namespace;
    this.#hold = hold;
    this.#done = this.#loop();
  }

  async #loop(): Promise<void> {
    while (!this.#stopped) {
      await this.#tick().catch(() => undefined);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async #tick(): Promise<void> {
    const list = await cloud.request({ path: `/api/v1/namespaces/${this.#namespace}/pods` });
    if (list.status !== 200) return;
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    for (const pod of list.json<{ items: Pod[] }>().items) {
      const name = pod.metadata?.name ?? '';
      if (pod.metadata?.deletionTimestamp !== undefined) {
        await cloud.request({ method: 'DELETE', path: `/api/v1/namespaces/${this.#namespace}/pods/${name}`, body: { apiVersion: 'v1', kind: 'DeleteOptions', gracePeriodSeconds: 0 } });
      } else if (pod.spec?.nodeName !== undefined && !isReady(pod) && !this.#hold(pod)) {
        await cloud.request({
          method: 'PATCH',
          path: `/api/v1/namespaces/${this.#namespace}/pods/${name}/status`,
          headers: { 'content-type': 'application/strategic-merge-patch+json' },
          body: { status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: now }, { type: 'ContainersReady', status: 'True', lastTransitionTime: now }] } },
        });
      }
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#done;
  }
}

/** The pods of a namespace as a watch reported them, replayed: the fewest ready and the most live pods at any moment. */
function extremes(initial: readonly Pod[], events: readonly WatchEvent[], app: string): { fewestReady: number; mostLive: number } {
  const live = new Map<string, Pod>();
  const track = (pod: Pod): void => {
    if (pod.metadata?.labels?.['app'] !== app) return;
    if (pod.metadata.deletionTimestamp !== undefined) live.delete(pod.metadata.name ?? '');
    else live.set(pod.metadata.name ?? '', pod);
  };
  for (const p of initial) track(p);
  let fewestReady = [...live.values()].filter(isReady).length;
  let mostLive = live.size;
  for (const ev of events) {
    const pod = ev.object as unknown as Pod;
    if (ev.type === 'DELETED') live.delete(pod.metadata?.name ?? '');
    else if (ev.type === 'ADDED' || ev.type === 'MODIFIED') track(pod);
    else continue;
    fewestReady = Math.min(fewestReady, [...live.values()].filter(isReady).length);
    mostLive = Math.max(mostLive, live.size);
  }
  return { fewestReady, mostLive };
}

function deploymentManifest(ns: string): string {
  return `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: ${ns}
  annotations:
    kubernetes.io/change-cause: first version
spec:
  replicas: 6
  selector:
    matchLabels: {app: web}
  strategy:
    type: RollingUpdate
    rollingUpdate: {maxSurge: 1, maxUnavailable: 1}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: nginx:1.25
`;
}

async function podsOf(v: KubectlVersion, ns: string, app: string): Promise<Pod[]> {
  const list = await getJson<{ items: Pod[] }>(cloud, v, ['pods', '-n', ns, '-l', `app=${app}`]);
  return list.items.filter((p) => p.metadata?.deletionTimestamp === undefined);
}

async function createNamespace(v: KubectlVersion, ns: string): Promise<void> {
  // apply, not `kubectl create namespace`: kubectl 1.33 sends that one as protobuf, which kedge does not decode.
  await cloud.kubectlOk(v, ['apply', '-f', '-'], { stdin: `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${ns}\n` });
}

async function rolloutStatus(v: KubectlVersion, ns: string, what: string): Promise<string> {
  return cloud.kubectlOk(v, ['rollout', 'status', what, '-n', ns, '--timeout=60s'], { timeoutMs: 90_000 });
}

await createNode('workloads-1', { tier: 'edge' });
await createNode('workloads-2', { tier: 'edge' });
await createNode('workloads-3', { tier: 'edge' });

for (const v of KUBECTL_VERSIONS) {
  test(`E2E_WORKLOADS_DEPLOY_1 (kubectl ${v}): a Deployment rolls out, rolls over within maxUnavailable, shows its history, undoes, scales, restarts, pauses and resumes`, async (t) => {
    const ns = namespaceFor('deploy', v);
    await createNamespace(v, ns);
    const kubelet = new FakeKubelet(ns);
    t.after(() => kubelet.stop());

    await t.test('rollout status returns once 6 replicas are ready', async () => {
      await cloud.kubectlOk(v, ['apply', '-f', '-'], { stdin: deploymentManifest(ns) });
      const out = await rolloutStatus(v, ns, 'deployment/web');
      assert.match(out, /deployment "web" successfully rolled out/);
      const table = parseTable(await cloud.kubectlOk(v, ['get', 'deployment', 'web', '-n', ns]));
      assert.equal(table.row('web')['READY'], '6/6');
      assert.equal(table.row('web')['UP-TO-DATE'], '6');
      assert.equal(table.row('web')['AVAILABLE'], '6');
      const pods = await podsOf(v, ns, 'web');
      assert.equal(pods.length, 6);
      assert.ok(pods.every((p) => p.spec?.nodeName?.startsWith('workloads-')), 'every pod is bound to a node');
    });

    await t.test('a rolling update never has fewer than replicas - maxUnavailable ready pods', async () => {
      const before = await cloud.request({ path: `/api/v1/namespaces/${ns}/pods` });
      const list = before.json<{ items: Pod[]; metadata: { resourceVersion: string } }>();
      const watch = await cloud.watch(`/api/v1/namespaces/${ns}/pods?watch=1&resourceVersion=${list.metadata.resourceVersion}`);
      try {
        await cloud.kubectlOk(v, ['set', 'image', 'deployment/web', 'web=nginx:1.26', '-n', ns]);
        await cloud.kubectlOk(v, ['annotate', 'deployment/web', '-n', ns, '--overwrite', 'kubernetes.io/change-cause=nginx 1.26']);
        const out = await rolloutStatus(v, ns, 'deployment/web');
        assert.match(out, /successfully rolled out/);
      } finally {
        watch.close();
      }
      assert.equal(watch.status, 200);
      assert.ok(watch.events.some((e) => e.type === 'DELETED'), 'the watch saw the rollout');
      const { fewestReady, mostLive } = extremes(list.items, watch.events, 'web');
      assert.ok(fewestReady >= 5, `ready pods fell to ${fewestReady}`);
      assert.ok(mostLive <= 7, `live pods rose to ${mostLive}`);
      const pods = await podsOf(v, ns, 'web');
      assert.deepEqual(pods.map((p) => p.spec?.containers[0]?.image), Array(6).fill('nginx:1.26'));
    });

    await t.test('rollout history lists both revisions with their change cause', async () => {
      const out = await cloud.kubectlOk(v, ['rollout', 'history', 'deployment/web', '-n', ns]);
      assert.match(out, /^REVISION\s+CHANGE-CAUSE$/m);
      assert.match(out, /^1\s+first version$/m);
      assert.match(out, /^2\s+nginx 1\.26$/m);
      const detail = await cloud.kubectlOk(v, ['rollout', 'history', 'deployment/web', '-n', ns, '--revision=1']);
      assert.match(detail, /Image:\s+nginx:1\.25/);
    });

    await t.test('rollout undo restores the previous template', async () => {
      await cloud.kubectlOk(v, ['rollout', 'undo', 'deployment/web', '-n', ns]);
      await rolloutStatus(v, ns, 'deployment/web');
      const d = await getJson<Deployment>(cloud, v, ['deployment', 'web', '-n', ns]);
      assert.equal(d.spec?.template.spec?.containers[0]?.image, 'nginx:1.25');
      assert.equal(d.metadata?.annotations?.['deployment.kubernetes.io/revision'], '3');
      const sets = await getJson<{ items: ReplicaSet[] }>(cloud, v, ['replicasets', '-n', ns, '-l', 'app=web']);
      assert.equal(sets.items.length, 2, 'the first replica set was reused');
      const pods = await podsOf(v, ns, 'web');
      assert.deepEqual(pods.map((p) => p.spec?.containers[0]?.image), Array(6).fill('nginx:1.25'));
      const history = await cloud.kubectlOk(v, ['rollout', 'history', 'deployment/web', '-n', ns]);
      assert.match(history, /^2\s+nginx 1\.26$/m);
      assert.match(history, /^3\s+/m);
      assert.doesNotMatch(history, /^1\s+/m);
    });

    await t.test('kubectl scale goes through the scale subresource', async () => {
      await cloud.kubectlOk(v, ['scale', 'deployment/web', '--replicas=3', '-n', ns]);
      await rolloutStatus(v, ns, 'deployment/web');
      await eventually(async () => assert.equal((await podsOf(v, ns, 'web')).length, 3), { what: '3 pods' });
      const table = parseTable(await cloud.kubectlOk(v, ['get', 'deployment', 'web', '-n', ns]));
      assert.equal(table.row('web')['READY'], '3/3');
    });

    await t.test('rollout restart replaces every pod', async () => {
      const before = new Set((await podsOf(v, ns, 'web')).map((p) => p.metadata?.name));
      await cloud.kubectlOk(v, ['rollout', 'restart', 'deployment/web', '-n', ns]);
      await rolloutStatus(v, ns, 'deployment/web');
      const d = await getJson<Deployment>(cloud, v, ['deployment', 'web', '-n', ns]);
      assert.ok(d.spec?.template.metadata?.annotations?.['kubectl.kubernetes.io/restartedAt'] !== undefined);
      await eventually(
        async () => {
          const after = await podsOf(v, ns, 'web');
          assert.equal(after.length, 3);
          assert.ok(after.every((p) => !before.has(p.metadata?.name)), 'no pod survived the restart');
        },
        { what: 'every pod replaced' },
      );
    });

    await t.test('a paused deployment does not roll out until resumed', async () => {
      await cloud.kubectlOk(v, ['rollout', 'pause', 'deployment/web', '-n', ns]);
      await cloud.kubectlOk(v, ['set', 'image', 'deployment/web', 'web=nginx:1.27', '-n', ns]);
      await eventually(
        async () => {
          const d = await getJson<Deployment>(cloud, v, ['deployment', 'web', '-n', ns]);
          const progressing = d.status?.conditions?.find((c) => c.type === 'Progressing');
          assert.equal(progressing?.reason, 'DeploymentPaused');
          assert.equal(d.status?.observedGeneration, d.metadata?.generation);
        },
        { what: 'the pause to be reported' },
      );
      assert.ok((await podsOf(v, ns, 'web')).every((p) => p.spec?.containers[0]?.image !== 'nginx:1.27'), 'nothing rolled out while paused');
      await cloud.kubectlOk(v, ['rollout', 'resume', 'deployment/web', '-n', ns]);
      await rolloutStatus(v, ns, 'deployment/web');
      await eventually(async () => assert.deepEqual((await podsOf(v, ns, 'web')).map((p) => p.spec?.containers[0]?.image), Array(3).fill('nginx:1.27')), { what: 'the resumed rollout' });
    });

    await t.test('describe shows what the controllers did', async () => {
      const described = await cloud.kubectlOk(v, ['describe', 'deployment', 'web', '-n', ns]);
      assert.match(described, /^Replicas:\s+3 desired \| 3 updated \| 3 total \| 3 available \| 0 unavailable$/m);
      assert.match(described, /^StrategyType:\s+RollingUpdate$/m);
      assert.match(described, /Available\s+True\s+MinimumReplicasAvailable/);
      assert.match(described, /Progressing\s+True\s+NewReplicaSetAvailable/);
      assert.match(described, /ScalingReplicaSet\s+.*Scaled up replica set web-[a-z0-9]+ from 0 to 1/);
      const rs = parseTable(await cloud.kubectlOk(v, ['get', 'replicasets', '-n', ns]));
      const current = rs.rows.find((r) => r['DESIRED'] === '3');
      assert.ok(current !== undefined, 'one replica set has the replicas');
      const rsDescribed = await cloud.kubectlOk(v, ['describe', 'replicaset', current['NAME'] ?? '', '-n', ns]);
      assert.match(rsDescribed, /SuccessfulCreate\s+.*Created pod: web-/);
    });
  });
}

function daemonSetManifest(ns: string, tier: string, image: string): string {
  return `
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: agent
  namespace: ${ns}
spec:
  selector:
    matchLabels: {app: agent}
  updateStrategy:
    type: RollingUpdate
    rollingUpdate: {maxUnavailable: 1}
  template:
    metadata:
      labels: {app: agent}
    spec:
      nodeSelector: {daemon: ${tier}}
      containers:
      - name: agent
        image: ${image}
`;
}

async function daemonNodes(v: KubectlVersion, ns: string): Promise<string[]> {
  return (await podsOf(v, ns, 'agent')).map((p) => p.spec?.nodeName ?? '').sort();
}

for (const v of KUBECTL_VERSIONS) {
  test(`E2E_WORKLOADS_DAEMONSET_1 (kubectl ${v}): a DaemonSet follows nodes being added and labelled, and rolls out node by node`, async (t) => {
    const ns = namespaceFor('daemon', v);
    const tier = `edge-${v.replace('.', '')}`;
    const node = (i: number): string => `daemon-${v.replace('.', '')}-${i}`;
    await createNamespace(v, ns);
    const kubelet = new FakeKubelet(ns);
    t.after(() => kubelet.stop());
    await createNode(node(1), { daemon: tier });
    await createNode(node(2), { daemon: tier });
    await createNode(node(3));

    await t.test('one pod per matching node, and rollout status returns', async () => {
      await cloud.kubectlOk(v, ['apply', '-f', '-'], { stdin: daemonSetManifest(ns, tier, 'agent:1') });
      const out = await rolloutStatus(v, ns, 'daemonset/agent');
      assert.match(out, /daemon set "agent" successfully rolled out/);
      assert.deepEqual(await daemonNodes(v, ns), [node(1), node(2)]);
      const row = parseTable(await cloud.kubectlOk(v, ['get', 'daemonset', 'agent', '-n', ns])).row('agent');
      assert.deepEqual([row['DESIRED'], row['CURRENT'], row['READY'], row['UP-TO-DATE'], row['AVAILABLE'], row['NODE SELECTOR']], ['2', '2', '2', '2', '2', `daemon=${tier}`]);
    });

    await t.test('a node that joins gets its pod', async () => {
      await createNode(node(4), { daemon: tier });
      await eventually(async () => assert.deepEqual(await daemonNodes(v, ns), [node(1), node(2), node(4)]), { what: 'a pod on the new node' });
    });

    await t.test('labelling a node adds its pod; unlabelling removes it', async () => {
      await cloud.kubectlOk(v, ['label', 'node', node(3), `daemon=${tier}`]);
      await eventually(async () => assert.deepEqual(await daemonNodes(v, ns), [node(1), node(2), node(3), node(4)]), { what: 'a pod on the labelled node' });
      await cloud.kubectlOk(v, ['label', 'node', node(1), 'daemon-']);
      await eventually(async () => assert.deepEqual(await daemonNodes(v, ns), [node(2), node(3), node(4)]), { what: 'the pod gone from the unlabelled node' });
      await eventually(
        async () => {
          const ds = await getJson<DaemonSet>(cloud, v, ['daemonset', 'agent', '-n', ns]);
          assert.equal(ds.status?.desiredNumberScheduled, 3);
          assert.equal(ds.status?.numberReady, 3);
          assert.equal(ds.status?.numberMisscheduled, 0);
        },
        { what: 'status to follow' },
      );
    });

    await t.test('a new template rolls out one node at a time', async () => {
      const before = await cloud.request({ path: `/api/v1/namespaces/${ns}/pods` });
      const list = before.json<{ items: Pod[]; metadata: { resourceVersion: string } }>();
      const watch = await cloud.watch(`/api/v1/namespaces/${ns}/pods?watch=1&resourceVersion=${list.metadata.resourceVersion}`);
      try {
        await cloud.kubectlOk(v, ['set', 'image', 'daemonset/agent', 'agent=agent:2', '-n', ns]);
        const out = await rolloutStatus(v, ns, 'daemonset/agent');
        assert.match(out, /successfully rolled out/);
      } finally {
        watch.close();
      }
      assert.ok(watch.events.some((e) => e.type === 'DELETED'), 'the watch saw the rollout');
      const { fewestReady } = extremes(list.items, watch.events, 'agent');
      assert.ok(fewestReady >= 2, `ready daemons fell to ${fewestReady}`);
      const pods = await podsOf(v, ns, 'agent');
      assert.deepEqual(pods.map((p) => p.spec?.containers[0]?.image), ['agent:2', 'agent:2', 'agent:2']);
      const hashes = new Set(pods.map((p) => p.metadata?.labels?.['controller-revision-hash']));
      assert.equal(hashes.size, 1);
    });
  });
}
