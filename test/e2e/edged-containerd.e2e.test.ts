// Issue 4, Edged on containerd: pods bound to an edge run in real containers (a containerd the edge
// manages under its data dir, a busybox image imported with `kedge image import`), are watched with
// real kubectl, and keep running through cloud outages and edge restarts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { removeAllSandboxes, startTestContainerd } from '../../src/edge/containerd/testing.ts';
import { BUSYBOX_IMAGE, busyboxArchive, edgeCri, importImage, useContainerdCleanup } from './harness/containerd.ts';
import { createToken, KedgeEdge, useEdgeCloud } from './harness/edge.ts';
import { eventually } from './harness/wait.ts';
import { podsIn, runningAndReady } from './harness/pods.ts';

const cleanup = useContainerdCleanup();
const c = await useEdgeCloud();
const NS = 'edged-containerd';
const { apply, getPod, waitPod } = podsIn(c.cloud, NS);
const NODE = 'edged-ctd';
const edge = await KedgeEdge.join(c, { nodeName: NODE, token: await createToken(c), args: ['--managed-containerd', '--mqtt-port', '0'] });
cleanup.track(edge);
const imported = await importImage(edge, await busyboxArchive());
const out = await mkdtemp(join(tmpdir(), 'kedge-e2e-edged-'));
after(() => rm(out, { recursive: true, force: true }));
await c.cloud.kubectlOk('1.33', ['apply', '-f', '-'], { stdin: JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } }) });






function pod(name: string, spec: Record<string, unknown>): object {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: NS }, spec: { nodeName: NODE, terminationGracePeriodSeconds: 5, ...spec } };
}

function container(name: string, script: string, extra: Record<string, unknown> = {}): object {
  return { name, image: BUSYBOX_IMAGE, imagePullPolicy: 'IfNotPresent', command: ['sh', '-c', script], ...extra };
}

async function events(name: string): Promise<{ reason: string; message: string }[]> {
  const r = JSON.parse(await c.cloud.kubectlOk('1.33', ['get', 'events', '-n', NS, '--field-selector', `involvedObject.name=${name}`, '-o', 'json'])) as { items: { reason: string; message: string }[] };
  return r.items;
}

/** A host directory for one pod's output, mounted at /out. */
function outDir(name: string): { dir: string; volume: object; mount: object } {
  const dir = join(out, name);
  return { dir, volume: { name: 'out', hostPath: { path: dir, type: 'DirectoryOrCreate' } }, mount: { name: 'out', mountPath: '/out' } };
}

async function readText(path: string): Promise<string> {
  return (await readFile(path, 'utf8').catch(() => '')).trim();
}

test('E2E_EDGED_CRI_0: kedge image import loads the image into the edge\'s containerd', () => {
  assert.match(imported, new RegExp(`^imported ${BUSYBOX_IMAGE.replace(/[.]/g, '\\.')} \\(sha256:[a-f0-9]{64}\\)$`, 'm'));
});

test('E2E_EDGED_CRI_1: a pod with nodeName runs in containerd and reaches Running and Ready (readiness over the pod network)', async () => {
  await apply(
    pod('web', {
      containers: [
        container('web', 'mkdir -p /www && echo ok > /www/index.html && exec httpd -f -p 8080 -h /www', {
          ports: [{ name: 'http', containerPort: 8080 }],
          readinessProbe: { httpGet: { path: '/', port: 'http' }, periodSeconds: 1 },
        }),
      ],
    }),
  );
  const p = await waitPod('web', 'Running and Ready', runningAndReady);
  const s = p.status!;
  const cs = s.containerStatuses![0]!;
  assert.equal(cs.ready, true);
  assert.equal(cs.started, true);
  assert.equal(cs.restartCount, 0);
  assert.match(cs.containerID ?? '', /^containerd:\/\/[a-f0-9]{64}$/);
  assert.match(cs.imageID, /^sha256:[a-f0-9]{64}$/);
  assert.equal(cs.image, BUSYBOX_IMAGE);
  assert.match(s.podIP ?? '', /^10\.\d+\.\d+\.\d+$/, 'an address on the pod network');
  assert.ok(s.hostIP !== undefined && s.hostIP !== '' && s.startTime !== undefined);
  assert.deepEqual(s.conditions?.map((x) => `${x.type}=${x.status}`).sort(), ['ContainersReady=True', 'Initialized=True', 'PodScheduled=True', 'Ready=True']);
  const table = await c.cloud.kubectlOk('1.27', ['get', 'pod', 'web', '-n', NS]);
  assert.match(table, /^web\s+1\/1\s+Running\s+0\s+/m);
  const node = JSON.parse(await c.cloud.kubectlOk('1.33', ['get', 'node', NODE, '-o', 'json'])) as { status: { nodeInfo: { containerRuntimeVersion: string } } };
  assert.match(node.status.nodeInfo.containerRuntimeVersion, /^containerd:\/\//);
  const reasons = await eventually(
    async () => {
      const r = (await events('web')).map((e) => e.reason);
      assert.ok(['Pulled', 'Created', 'Started'].every((x) => r.includes(x)), r.join(','));
      return r;
    },
    { timeoutMs: 15_000, what: 'the Pulled, Created and Started events' },
  );
  assert.ok(reasons.length >= 3);
});

test('E2E_EDGED_CRI_2: env, ConfigMap and Secret reach the container (as env and volumes), and a ConfigMap update reaches the mounted volume', async () => {
  const o = outDir('config');
  await apply(
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg', namespace: NS }, data: { greeting: 'hello', 'file.txt': 'v1' } },
    { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'sec', namespace: NS }, stringData: { token: 's3cret' } },
    pod('config', {
      volumes: [o.volume, { name: 'cfg', configMap: { name: 'cfg' } }, { name: 'sec', secret: { secretName: 'sec' } }],
      containers: [
        container('c', 'echo "$GREETING $TOKEN $NODE $CM_greeting $MEM" > /out/env; cat /sec/token > /out/token; while true; do cat /cfg/file.txt > /out/file.tmp; mv /out/file.tmp /out/file; sleep 0.5; done', {
          env: [
            { name: 'GREETING', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'greeting' } } },
            { name: 'TOKEN', valueFrom: { secretKeyRef: { name: 'sec', key: 'token' } } },
            { name: 'NODE', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
            { name: 'MEM', valueFrom: { resourceFieldRef: { resource: 'limits.memory', divisor: '1Mi' } } },
          ],
          envFrom: [{ configMapRef: { name: 'cfg' }, prefix: 'CM_' }],
          resources: { limits: { memory: '64Mi', cpu: '200m' } },
          volumeMounts: [o.mount, { name: 'cfg', mountPath: '/cfg' }, { name: 'sec', mountPath: '/sec' }],
        }),
      ],
    }),
  );
  const running = await waitPod('config', 'Running', runningAndReady);
  await eventually(async () => assert.equal(await readText(join(o.dir, 'env')), `hello s3cret ${NODE} hello 64`), { timeoutMs: 15_000, what: 'the env file' });
  // The limits are the container's cgroup's (cgroup v1 or v2, whichever the host has).
  const cri = edgeCri(edge);
  try {
    const id = running.status!.containerStatuses![0]!.containerID!.replace('containerd://', '');
    const r = await cri.execSync(id, ['sh', '-c', 'cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max'], 5);
    assert.equal(r.stdout.toString().trim(), String(64 * 1024 * 1024));
  } finally {
    cri.close();
  }
  assert.equal(await readText(join(o.dir, 'token')), 's3cret');
  await eventually(async () => assert.equal(await readText(join(o.dir, 'file')), 'v1'), { what: 'the ConfigMap file' });
  await c.cloud.kubectlOk('1.33', ['patch', 'configmap', 'cfg', '-n', NS, '--type', 'merge', '-p', JSON.stringify({ data: { 'file.txt': 'v2' } })]);
  await eventually(async () => assert.equal(await readText(join(o.dir, 'file')), 'v2'), { timeoutMs: 20_000, what: 'the updated ConfigMap in the running container' });
});

test('E2E_EDGED_CRI_3: a crashing container shows CrashLoopBackOff and its restart count', async () => {
  await apply(pod('crash', { containers: [container('c', 'echo crashing; exit 3')] }));
  const p = await waitPod('crash', 'CrashLoopBackOff', (x) => x.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'CrashLoopBackOff');
  const cs = p.status!.containerStatuses![0]!;
  assert.ok(cs.restartCount >= 1);
  assert.equal(cs.lastState?.terminated?.exitCode, 3);
  assert.match(cs.state!.waiting!.message!, /^back-off \d+s restarting failed container=c pod=crash_edged-containerd\(/);
  const table = await c.cloud.kubectlOk('1.33', ['get', 'pod', 'crash', '-n', NS]);
  assert.match(table, /^crash\s+0\/1\s+CrashLoopBackOff\s+[1-9]/m);
  await eventually(async () => assert.ok((await events('crash')).some((e) => e.reason === 'BackOff')), { what: 'a BackOff event' });
});

test('E2E_EDGED_CRI_4: a failing liveness probe restarts the container', async () => {
  await apply(
    pod('live', {
      containers: [
        container('c', 'mkdir -p /www; echo ok > /www/healthz; (sleep 3; rm /www/healthz) & exec httpd -f -p 8080 -h /www', {
          livenessProbe: { httpGet: { path: '/healthz', port: 8080 }, periodSeconds: 1, failureThreshold: 2 },
        }),
      ],
    }),
  );
  const p = await waitPod('live', 'restarted by its liveness probe', (x) => (x.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 1);
  assert.ok(p.status!.containerStatuses![0]!.lastState?.terminated !== undefined);
  await eventually(
    async () => {
      const e = await events('live');
      assert.ok(e.some((x) => x.reason === 'Unhealthy' && x.message.startsWith('Liveness probe failed: HTTP probe failed with statuscode: 404')), JSON.stringify(e));
      assert.ok(e.some((x) => x.reason === 'Killing' && x.message.includes('failed liveness probe')));
    },
    { what: 'Unhealthy and Killing events' },
  );
});

test('E2E_EDGED_CRI_5: deleting a pod stops it gracefully: preStop, then SIGTERM, within the grace period', async () => {
  const o = outDir('graceful');
  await apply(
    pod('graceful', {
      terminationGracePeriodSeconds: 20,
      volumes: [o.volume],
      containers: [
        container('c', 'trap "echo term >> /out/log; exit 0" TERM; touch /out/ready; while true; do sleep 1 & wait $!; done', {
          lifecycle: { preStop: { exec: { command: ['sh', '-c', 'echo prestop >> /out/log'] } } },
          volumeMounts: [o.mount],
        }),
      ],
    }),
  );
  await waitPod('graceful', 'Running', runningAndReady);
  await eventually(() => assert.ok(existsSync(join(o.dir, 'ready'))), { what: 'the trap to be set' });
  const started = Date.now();
  await c.cloud.kubectlOk('1.33', ['delete', 'pod', 'graceful', '-n', NS, '--wait=false']);
  await eventually(async () => assert.equal(await readText(join(o.dir, 'log')), 'prestop\nterm'), { timeoutMs: 20_000, what: 'preStop, then SIGTERM' });
  assert.ok(Date.now() - started < 15_000, 'well within the grace period');
  await eventually(async () => assert.ok((await events('graceful')).some((e) => e.reason === 'Killing')), { what: 'a Killing event' });
});

test('E2E_EDGED_CRI_5b: the stopped pod is then deleted for good', async () => {
  await eventually(async () => assert.equal(await getPod('graceful'), undefined), { timeoutMs: 10_000, what: 'the pod to leave the API' });
});

test('E2E_EDGED_CRI_6: with the cloud down the pod keeps running; an edge killed and restarted with the cloud still down brings it back (adopted, or recreated from edge.db after the runtime lost it)', async () => {
  const o = outDir('steady');
  await apply(pod('steady', { volumes: [o.volume], containers: [container('c', 'while true; do date +%s%N > /out/beat; sleep 0.2; done', { volumeMounts: [o.mount] })] }));
  const before = await waitPod('steady', 'Running', runningAndReady);
  const containerId = before.status!.containerStatuses![0]!.containerID!.replace('containerd://', '');
  const beating = async (): Promise<void> => {
    const a = await readText(join(o.dir, 'beat'));
    await eventually(async () => assert.notEqual(await readText(join(o.dir, 'beat')), a), { timeoutMs: 5_000, what: 'the heartbeat to move' });
  };
  const cri = edgeCri(edge);
  const running = async (): Promise<string[]> => (await cri.listContainers({ labels: { 'io.kubernetes.pod.name': 'steady' } })).filter((x) => x.state === 'running').map((x) => x.id);
  try {
    await c.cloud.crash();
    await beating();

    // The edge dies with containerd; the containers (their shims) live on and are adopted.
    await edge.crash();
    const pid = Number(await readText(join(edge.dataDir, 'containerd', 'containerd.pid')));
    process.kill(pid, 'SIGKILL');
    await beating();
    edge.start();
    await eventually(async () => assert.deepEqual(await running(), [containerId]), { timeoutMs: 20_000, intervalMs: 250, what: 'the same container, adopted, and only it' });
    await beating();

    // As after a reboot: the runtime lost every container; the edge, cloud still down, runs the pod again from edge.db.
    await edge.crash();
    const ctd = await startTestContainerd({ dir: edge.dataDir });
    await removeAllSandboxes(ctd.endpoint);
    await ctd.dispose();
    edge.start();
    const again = await eventually(
      async () => {
        const ids = await running();
        assert.equal(ids.length, 1);
        assert.notEqual(ids[0], containerId);
        return ids[0]!;
      },
      { timeoutMs: 30_000, intervalMs: 250, what: 'a new container for the pod' },
    );
    await beating();

    const syncs = edge.syncs.length;
    await c.cloud.restart();
    await edge.waitForSync(syncs, 20_000);
    const p = await waitPod('steady', 'Running with the new container', (x) => runningAndReady(x) && x.status?.containerStatuses?.[0]?.containerID === `containerd://${again}`);
    assert.equal(p.status!.phase, 'Running');
  } finally {
    cri.close();
  }
});

test('E2E_EDGED_CRI_7: a pod deleted while its edge is offline stops when the edge reconnects', async () => {
  const o = outDir('offline-delete');
  await apply(
    pod('offline', {
      volumes: [o.volume],
      containers: [container('c', 'trap "echo term > /out/term; exit 0" TERM; while true; do date +%s%N > /out/beat; sleep 0.2 & wait $!; done', { volumeMounts: [o.mount] })],
    }),
  );
  await waitPod('offline', 'Running', runningAndReady);
  await edge.stop();
  await c.cloud.kubectlOk('1.33', ['delete', 'pod', 'offline', '-n', NS, '--wait=false']);
  const a = await readText(join(o.dir, 'beat'));
  await eventually(async () => assert.notEqual(await readText(join(o.dir, 'beat')), a), { timeoutMs: 5_000, what: 'the container to run on while its edge is down' });
  assert.equal(existsSync(join(o.dir, 'term')), false);
  const syncs = edge.syncs.length;
  edge.start();
  await edge.waitForSync(syncs, 30_000);
  await eventually(async () => assert.equal(await readText(join(o.dir, 'term')), 'term'), { timeoutMs: 20_000, what: 'the pod to be stopped after the reconnect' });
});

test('E2E_EDGED_CRI_8: a pod that does not fit the node is rejected OutOfcpu', async () => {
  await apply(pod('huge', { containers: [container('c', 'sleep 1000', { resources: { requests: { cpu: '500' } } })] }));
  const p = await waitPod('huge', 'rejected', (x) => x.status?.phase === 'Failed');
  assert.equal(p.status!.reason, 'OutOfcpu');
  assert.match(p.status!.message!, /^Pod was rejected: Node didn't have enough resource: cpu, requested: 500000, used: \d+, capacity: \d+$/);
  assert.match(await c.cloud.kubectlOk('1.33', ['get', 'pod', 'huge', '-n', NS]), /^huge\s+0\/1\s+OutOfcpu\s+/m);
});

test('E2E_EDGED_CRI_9: an image that is not on the node with imagePullPolicy Never waits in ErrImageNeverPull', async () => {
  await apply(pod('never', { containers: [{ name: 'c', image: 'kedge.local/not-imported:1', imagePullPolicy: 'Never', command: ['true'] }] }));
  const p = await waitPod('never', 'ErrImageNeverPull', (x) => x.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'ErrImageNeverPull');
  assert.equal(p.status!.phase, 'Pending');
  assert.equal(p.status!.containerStatuses![0]!.state!.waiting!.message, 'Container image "kedge.local/not-imported:1" is not present with pull policy of Never');
});
