// Issue 4, logs and exec on containerd: `kubectl logs`, `exec` (with a real TTY and terminal
// size) and `port-forward` into busybox containers that run in their own network namespace on an
// edge with a managed containerd, through the stream tunnel, with kubectl 1.27 (SPDY) and 1.33
// (WebSockets).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { freePort } from './harness/cloud.ts';
import { BUSYBOX_IMAGE, busyboxArchive, importImage, useContainerdCleanup } from './harness/containerd.ts';
import { createToken, KedgeEdge, useEdgeCloud } from './harness/edge.ts';
import { kubectlPath, KUBECTL_VERSIONS } from './harness/kubectl.ts';
import { eventually } from './harness/wait.ts';

const cleanup = useContainerdCleanup();
const c = await useEdgeCloud();
const NS = 'stream-containerd';
const NODE = 'stream-ctd';
const edge = await KedgeEdge.join(c, { nodeName: NODE, token: await createToken(c), args: ['--managed-containerd', '--mqtt-port', '0'] });
cleanup.track(edge);
await importImage(edge, await busyboxArchive());
await c.cloud.kubectlOk('1.33', ['apply', '-f', '-'], { stdin: JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } }) });

function pod(name: string, script: string): object {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: NS },
    spec: { nodeName: NODE, terminationGracePeriodSeconds: 1, containers: [{ name: 'c', image: BUSYBOX_IMAGE, imagePullPolicy: 'IfNotPresent', command: ['sh', '-c', script] }] },
  };
}

await c.cloud.kubectlOk('1.33', ['apply', '-f', '-'], {
  stdin: JSON.stringify({
    apiVersion: 'v1',
    kind: 'List',
    items: [
      pod('ticker', 'i=0; while true; do i=$((i+1)); echo "line $i"; sleep 0.2; done'),
      pod('web', 'mkdir -p /www /lo && echo hello-from-the-pod > /www/index.html && echo only-on-loopback > /lo/index.html && httpd -p 127.0.0.1:8081 -h /lo && exec httpd -f -p 8080 -h /www'),
    ],
  }),
});
for (const name of ['ticker', 'web']) {
  await eventually(
    async () => {
      const p = JSON.parse(await c.cloud.kubectlOk('1.33', ['get', 'pod', name, '-n', NS, '-o', 'json'])) as { status?: { phase?: string } };
      assert.equal(p.status?.phase, 'Running');
    },
    { timeoutMs: 60_000, intervalMs: 200, what: `${name} running` },
  );
}

const lineNumbers = (text: string): number[] => [...text.matchAll(/^line (\d+)$/gm)].map((m) => Number(m[1]));

/** Runs kubectl inside `script`, so it has a terminal of the given size. */
async function inTerminal(v: (typeof KUBECTL_VERSIONS)[number], args: string, size: { rows: number; cols: number }): Promise<{ code: number; out: string }> {
  const cmd = `stty rows ${size.rows} cols ${size.cols}; ${kubectlPath(v)} --kubeconfig ${c.cloud.kubeconfigPath} ${args}`;
  const child = spawn('script', ['-qec', cmd, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  const [code] = (await once(child, 'close')) as [number];
  clearTimeout(timer);
  return { code, out };
}

for (const v of KUBECTL_VERSIONS) {
  test(`E2E_STREAM_CRI_1 (kubectl ${v}): logs, --tail and -f from a containerd container`, async () => {
    const all = await eventually(
      async () => {
        const out = await c.cloud.kubectlOk(v, ['logs', 'ticker', '-n', NS]);
        assert.ok(lineNumbers(out).length >= 3, out);
        return out;
      },
      { timeoutMs: 10_000, what: 'three lines of log' },
    );
    assert.match(all, /^line 1$/m);
    assert.equal((await c.cloud.kubectlOk(v, ['logs', 'ticker', '-n', NS, '--tail=2'])).trimEnd().split('\n').length, 2);
    const follow = c.cloud.spawnKubectl(v, ['logs', '-f', 'ticker', '-n', NS, '--tail=1']);
    try {
      const first = lineNumbers(await follow.waitFor((out) => lineNumbers(out).length >= 1, 10_000))[0]!;
      await follow.waitFor((out) => lineNumbers(out).some((n) => n >= first + 3), 10_000);
    } finally {
      await follow.stop();
    }
  });

  test(`E2E_STREAM_CRI_2 (kubectl ${v}): exec in the container, its stdin, and its exit code`, async () => {
    assert.equal(await c.cloud.kubectlOk(v, ['exec', 'ticker', '-n', NS, '--', 'echo', 'hi']), 'hi\n');
    assert.equal((await c.cloud.kubectlOk(v, ['exec', 'ticker', '-n', NS, '--', 'hostname'])).trim(), 'ticker', 'inside the container, not on the host');
    const piped = await c.cloud.kubectl(v, ['exec', '-i', 'ticker', '-n', NS, '--', 'head', '-n', '1'], { stdin: 'first line\nsecond line\n' });
    assert.equal(piped.code, 0, piped.stderr);
    assert.equal(piped.stdout, 'first line\n');
    const exit3 = await c.cloud.kubectl(v, ['exec', 'ticker', '-n', NS, '--', 'sh', '-c', 'exit 3']);
    assert.equal(exit3.code, 3, exit3.stderr);
  });

  test(`E2E_STREAM_CRI_5 (kubectl ${v}): exec -i returns when its piped input ends (cat, wc -c of 1 MiB)`, async () => {
    // Commands that read to EOF: over containerd's WebSocket v4 the runtime never learnt of the end and they hung.
    const cat = await c.cloud.kubectl(v, ['exec', '-i', 'ticker', '-n', NS, '--', 'cat'], { stdin: 'hello\n' });
    assert.deepEqual([cat.code, cat.stdout], [0, 'hello\n'], cat.stderr);
    const wc = await c.cloud.kubectl(v, ['exec', '-i', 'ticker', '-n', NS, '--', 'sh', '-c', 'wc -c'], { stdin: 'x'.repeat(1024 * 1024) });
    assert.deepEqual([wc.code, wc.stdout.trim()], [0, String(1024 * 1024)], wc.stderr);
  });

  test(`E2E_STREAM_CRI_3 (kubectl ${v}): exec -it gets a TTY of the client's terminal size`, async () => {
    // The terminal's size follows the command's start (as with the kubelet): the command waits for it.
    const r = await inTerminal(v, `exec -it ticker -n ${NS} -- sh -c 'tty; sleep 1; stty size'`, { rows: 33, cols: 111 });
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /\/dev\/pts\/\d+/);
    assert.match(r.out, /33 111/);
  });

  test(`E2E_STREAM_CRI_4 (kubectl ${v}): port-forward into the pod's own network namespace, its loopback included; a closed port is reported`, async () => {
    const [onPodIp, onLoopback, closed] = [await freePort(), await freePort(), await freePort()];
    const pf = c.cloud.spawnKubectl(v, ['port-forward', '-n', NS, 'pod/web', `${onPodIp}:8080`, `${onLoopback}:8081`, `${closed}:8099`]);
    try {
      await pf.waitFor((out) => (out.match(/Forwarding from 127\.0\.0\.1/g) ?? []).length === 3, 15_000);
      const res = await fetch(`http://127.0.0.1:${onPodIp}/`);
      assert.equal(res.status, 200);
      assert.equal(await res.text(), 'hello-from-the-pod\n');
      // A server bound to the pod's own 127.0.0.1 is reached too: the runtime dials inside the pod's namespace.
      assert.equal(await (await fetch(`http://127.0.0.1:${onLoopback}/`)).text(), 'only-on-loopback\n');
      await assert.rejects(fetch(`http://127.0.0.1:${closed}/`));
      await eventually(() => assert.match(pf.stderr(), /error forwarding port 8099 to pod stream-containerd\/web: .*(refused|connect)/), { timeoutMs: 10_000, what: 'the failure on kubectl\'s stderr' });
    } finally {
      await pf.stop();
    }
  });
}
