// Issue 4, Edged on the process runtime (`kedge edge --runtime process`, for gateways without
// containerd): the same pod lifecycle as on containerd, where it applies. Containers are host
// processes whose volumes are linked under their root directory, which is also where they start,
// so their commands use paths relative to it (out/..., cfg/...).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { isRunning } from '../../src/edge/runtime/process/proc.ts';
import { freePort } from './harness/cloud.ts';
import { createToken, KedgeEdge, useEdgeCloud } from './harness/edge.ts';
import { eventually } from './harness/wait.ts';
import { podsIn, runningAndReady } from './harness/pods.ts';

const c = await useEdgeCloud();
const NS = 'edged-process';
const { apply, getPod, waitPod } = podsIn(c.cloud, NS);
const NODE = 'edged-proc';
const edge = await KedgeEdge.join(c, { nodeName: NODE, token: await createToken(c), args: ['--runtime', 'process', '--mqtt-port', '0'] });
const out = await mkdtemp(join(tmpdir(), 'kedge-e2e-edged-proc-'));
after(() => rm(out, { recursive: true, force: true }));
await c.cloud.kubectlOk('1.33', ['apply', '-f', '-'], { stdin: JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } }) });





function outDir(name: string): { dir: string; volume: object; mount: object } {
  const dir = join(out, name);
  return { dir, volume: { name: 'out', hostPath: { path: dir, type: 'DirectoryOrCreate' } }, mount: { name: 'out', mountPath: '/out' } };
}

function pod(name: string, script: string, o: { volume: object; mount: object } | undefined, extra: Record<string, unknown> = {}, spec: Record<string, unknown> = {}): object {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: NS },
    spec: {
      nodeName: NODE,
      terminationGracePeriodSeconds: 5,
      ...(o !== undefined ? { volumes: [o.volume] } : {}),
      ...spec,
      containers: [{ name: 'c', image: 'ignored-by-the-process-runtime', command: ['sh', '-c', script], ...(o !== undefined ? { volumeMounts: [o.mount] } : {}), ...extra }],
    },
  };
}

async function readText(path: string): Promise<string> {
  return (await readFile(path, 'utf8').catch(() => '')).trim();
}

test('E2E_EDGED_PROC_1: a pod runs as a host process and reaches Running and Ready; the node says it runs processes', async () => {
  await apply(pod('hello', 'echo hi; sleep 600', undefined));
  const p = await waitPod('hello', 'Running and Ready', runningAndReady);
  const cs = p.status!.containerStatuses![0]!;
  assert.match(cs.containerID ?? '', /^process:\/\/[a-f0-9]{32}$/);
  assert.equal(p.status!.podIP, p.status!.hostIP, 'processes share the host network');
  const node = JSON.parse(await c.cloud.kubectlOk('1.33', ['get', 'node', NODE, '-o', 'json'])) as { status: { nodeInfo: { containerRuntimeVersion: string } } };
  assert.match(node.status.nodeInfo.containerRuntimeVersion, /^process:\/\//);
});

test('E2E_EDGED_PROC_2: env, ConfigMap and Secret reach the process, as env and as files under its root; ConfigMap updates follow', async () => {
  const o = outDir('config');
  await apply(
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg', namespace: NS }, data: { greeting: 'hello', 'file.txt': 'v1' } },
    { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'sec', namespace: NS }, stringData: { token: 's3cret' } },
    pod(
      'config',
      'echo "$GREETING $TOKEN $NODE" > out/env; cat "$KEDGE_ROOT/sec/token" > out/token; while true; do cat cfg/file.txt > out/file.tmp; mv out/file.tmp out/file; sleep 0.5; done',
      o,
      {
        env: [
          { name: 'GREETING', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'greeting' } } },
          { name: 'TOKEN', valueFrom: { secretKeyRef: { name: 'sec', key: 'token' } } },
          { name: 'NODE', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
        ],
        volumeMounts: [o.mount, { name: 'cfg', mountPath: '/cfg' }, { name: 'sec', mountPath: '/sec' }],
      },
      { volumes: [o.volume, { name: 'cfg', configMap: { name: 'cfg' } }, { name: 'sec', secret: { secretName: 'sec' } }] },
    ),
  );
  await waitPod('config', 'Running', runningAndReady);
  await eventually(async () => assert.equal(await readText(join(o.dir, 'env')), `hello s3cret ${NODE}`), { timeoutMs: 15_000, what: 'the env file' });
  assert.equal(await readText(join(o.dir, 'token')), 's3cret');
  await eventually(async () => assert.equal(await readText(join(o.dir, 'file')), 'v1'), { what: 'the ConfigMap file' });
  await c.cloud.kubectlOk('1.33', ['patch', 'configmap', 'cfg', '-n', NS, '--type', 'merge', '-p', JSON.stringify({ data: { 'file.txt': 'v2' } })]);
  await eventually(async () => assert.equal(await readText(join(o.dir, 'file')), 'v2'), { timeoutMs: 20_000, what: 'the updated ConfigMap' });
});

test('E2E_EDGED_PROC_3: a crashing process shows CrashLoopBackOff and its restart count', async () => {
  await apply(pod('crash', 'exit 4', undefined));
  const p = await waitPod('crash', 'CrashLoopBackOff', (x) => x.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'CrashLoopBackOff');
  assert.ok(p.status!.containerStatuses![0]!.restartCount >= 1);
  assert.equal(p.status!.containerStatuses![0]!.lastState?.terminated?.exitCode, 4);
  assert.match(await c.cloud.kubectlOk('1.33', ['get', 'pod', 'crash', '-n', NS]), /^crash\s+0\/1\s+CrashLoopBackOff\s+[1-9]/m);
});

test('E2E_EDGED_PROC_4: a failing liveness probe (httpGet) restarts the process', async () => {
  const port = await freePort();
  await apply(
    pod('live', `mkdir -p www; echo ok > www/healthz; (sleep 3; rm www/healthz) & exec busybox httpd -f -p 127.0.0.1:${port} -h www`, undefined, {
      livenessProbe: { httpGet: { host: '127.0.0.1', path: '/healthz', port }, periodSeconds: 1, failureThreshold: 2 },
    }),
  );
  const p = await waitPod('live', 'restarted by its liveness probe', (x) => (x.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 1);
  assert.ok(p.status!.containerStatuses![0]!.lastState?.terminated !== undefined);
  await eventually(
    async () => {
      const e = (JSON.parse(await c.cloud.kubectlOk('1.33', ['get', 'events', '-n', NS, '--field-selector', 'involvedObject.name=live', '-o', 'json'])) as { items: { reason: string; message: string }[] }).items;
      assert.ok(e.some((x) => x.reason === 'Unhealthy' && x.message.startsWith('Liveness probe failed: HTTP probe failed with statuscode: 404')), JSON.stringify(e));
      assert.ok(e.some((x) => x.reason === 'Killing' && x.message.includes('failed liveness probe')));
    },
    { what: 'Unhealthy and Killing events' },
  );
});

test('E2E_EDGED_PROC_5: deleting a pod stops its process gracefully: preStop, then SIGTERM', async () => {
  const o = outDir('graceful');
  await apply(
    pod('graceful', 'trap "echo term >> out/log; exit 0" TERM; touch out/ready; while true; do sleep 1 & wait $!; done', o, {
      lifecycle: { preStop: { exec: { command: ['sh', '-c', 'echo prestop >> out/log'] } } },
    }),
  );
  await waitPod('graceful', 'Running', runningAndReady);
  await eventually(() => assert.ok(existsSync(join(o.dir, 'ready'))), { what: 'the trap to be set' });
  await c.cloud.kubectlOk('1.33', ['delete', 'pod', 'graceful', '-n', NS, '--wait=false']);
  await eventually(async () => assert.equal(await readText(join(o.dir, 'log')), 'prestop\nterm'), { timeoutMs: 20_000, what: 'preStop, then SIGTERM' });
  // Stopped, the edge confirms the deletion: the pod leaves the API.
  await eventually(async () => assert.equal(await getPod('graceful'), undefined), { timeoutMs: 10_000, what: 'the pod to leave the API' });
});

test('E2E_EDGED_PROC_6: with the cloud down the process keeps running; the edge killed and restarted with the cloud still down runs the pod again, once', async () => {
  const o = outDir('steady');
  await apply(pod('steady', 'echo $$$$ >> out/pids; while true; do date +%s%N > out/beat; sleep 0.2; done', o));
  await waitPod('steady', 'Running', runningAndReady);
  const beating = async (): Promise<void> => {
    const a = await readText(join(o.dir, 'beat'));
    await eventually(async () => assert.notEqual(await readText(join(o.dir, 'beat')), a), { timeoutMs: 10_000, what: 'the heartbeat to move' });
  };
  await c.cloud.crash();
  await beating();
  await edge.crash();
  edge.start();
  await eventually(async () => assert.equal((await readText(join(o.dir, 'pids'))).split('\n').length, 2), { timeoutMs: 30_000, what: 'the pod to run again' });
  await beating();
  const pids = (await readText(join(o.dir, 'pids'))).split('\n').map(Number);
  assert.equal(isRunning(pids[0]!), false, 'the process the killed edge left was stopped: one copy runs');
  assert.equal(isRunning(pids[1]!), true);
  const syncs = edge.syncs.length;
  await c.cloud.restart();
  await edge.waitForSync(syncs, 20_000);
  await waitPod('steady', 'Running again in the cloud', runningAndReady);
});

test('E2E_EDGED_PROC_7: a pod deleted while its edge is offline stops when the edge reconnects', async () => {
  const o = outDir('offline');
  await apply(pod('offline', 'trap "echo term >> out/term; exit 0" TERM; while true; do date +%s%N > out/beat; sleep 0.2 & wait $!; done', o));
  await waitPod('offline', 'Running', runningAndReady);
  await edge.stop();
  await c.cloud.kubectlOk('1.33', ['delete', 'pod', 'offline', '-n', NS, '--wait=false']);
  const syncs = edge.syncs.length;
  edge.start();
  await edge.waitForSync(syncs, 30_000);
  // Whatever ran before the reconnect (the edge restores its pods first) is stopped after it, and stays stopped.
  await eventually(
    async () => {
      const a = await readText(join(o.dir, 'beat'));
      await new Promise((r) => setTimeout(r, 700));
      assert.equal(await readText(join(o.dir, 'beat')), a);
    },
    { timeoutMs: 20_000, what: 'the pod to stay stopped after the reconnect' },
  );
  assert.match(await readText(join(o.dir, 'term')), /term$/);
});
