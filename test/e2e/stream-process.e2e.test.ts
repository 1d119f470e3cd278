// Issue 4, logs and exec: `kubectl logs`, `exec` and `port-forward` against pods on an edge node
// (process runtime), through the stream tunnel the edge dials to the hub's port. kubectl 1.27 runs
// exec and port-forward over SPDY/3.1, 1.33 over WebSockets (v5.channel.k8s.io, and SPDY inside a
// WebSocket for port-forward); both must work, and a node's own certificate must not open them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import WebSocket from 'ws';
import { STREAM_PATH, STREAM_SUBPROTOCOL } from '../../src/protocol/stream.ts';
import { freePort } from './harness/cloud.ts';
import { createToken, KedgeEdge, useEdgeCloud } from './harness/edge.ts';
import { kubectl, kubectlPath, KUBECTL_VERSIONS, spawnKubectl } from './harness/kubectl.ts';
import { eventually } from './harness/wait.ts';

const c = await useEdgeCloud();
const NS = 'stream-process';
const NODE = 'stream-proc';
const edge = await KedgeEdge.join(c, { nodeName: NODE, token: await createToken(c), args: ['--runtime', 'process', '--mqtt-port', '0'] });
await c.cloud.kubectlOk('1.33', ['apply', '-f', '-'], { stdin: JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } }) });
const work = await mkdtemp(join(tmpdir(), 'kedge-e2e-stream-'));
after(() => rm(work, { recursive: true, force: true }));

interface PodJson {
  status?: { phase?: string; containerStatuses?: { name: string; restartCount: number; state?: { running?: object } }[] };
}

function pod(name: string, containers: { name: string; command: string[] }[], spec: Record<string, unknown> = {}): object {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: NS },
    spec: { nodeName: NODE, terminationGracePeriodSeconds: 1, ...spec, containers: containers.map((x) => ({ image: 'ignored-by-the-process-runtime', ...x })) },
  };
}

async function waitPod(name: string, what: string, ok: (p: PodJson) => boolean, timeoutMs = 45_000): Promise<PodJson> {
  return eventually(
    async () => {
      const p = JSON.parse(await c.cloud.kubectlOk('1.33', ['get', 'pod', name, '-n', NS, '-o', 'json'])) as PodJson;
      if (!ok(p)) throw new Error(`pod ${name}: ${JSON.stringify(p.status)}`);
      return p;
    },
    { timeoutMs, intervalMs: 200, what: `${name}: ${what}` },
  );
}

const running = (p: PodJson): boolean => p.status?.phase === 'Running' && (p.status.containerStatuses ?? []).every((s) => s.state?.running !== undefined);

// A pod that counts on stdout and stderr, one with two containers, and a web server on a free port.
const webPort = await freePort();
await c.cloud.kubectlOk('1.33', ['apply', '-f', '-'], {
  stdin: JSON.stringify({
    apiVersion: 'v1',
    kind: 'List',
    items: [
      pod('ticker', [{ name: 'c', command: ['sh', '-c', 'i=0; while true; do i=$((i+1)); echo "line $i"; echo "err $i" >&2; sleep 0.2; done'] }]),
      pod('two', [
        { name: 'first', command: ['sh', '-c', 'echo I am first; exec sleep 3600'] },
        { name: 'second', command: ['sh', '-c', 'echo I am second; exec sleep 3600'] },
      ]),
      pod('web', [{ name: 'web', command: ['python3', '-m', 'http.server', String(webPort), '--bind', '127.0.0.1'] }]),
    ],
  }),
});
await waitPod('ticker', 'running', running);
await waitPod('two', 'running', running);
await waitPod('web', 'running', running);

const lineNumbers = (text: string): number[] => [...text.matchAll(/^line (\d+)$/gm)].map((m) => Number(m[1]));

for (const v of KUBECTL_VERSIONS) {
  test(`E2E_STREAM_LOGS_1 (kubectl ${v}): logs, --tail, -c, --timestamps, --limit-bytes`, async () => {
    const all = await eventually(
      async () => {
        const out = await c.cloud.kubectlOk(v, ['logs', 'ticker', '-n', NS]);
        assert.ok(lineNumbers(out).length >= 3, out);
        return out;
      },
      { timeoutMs: 10_000, what: 'three lines of log' },
    );
    assert.match(all, /^line 1$/m);
    assert.match(all, /^err 1$/m, 'stderr is in the log too');

    const tail = await c.cloud.kubectlOk(v, ['logs', 'ticker', '-n', NS, '--tail=2']);
    assert.equal(tail.trimEnd().split('\n').length, 2, tail);

    const ts = await c.cloud.kubectlOk(v, ['logs', 'ticker', '-n', NS, '--tail=1', '--timestamps']);
    assert.match(ts, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z (line|err) \d+\n$/);

    const limited = await c.cloud.kubectlOk(v, ['logs', 'ticker', '-n', NS, '--limit-bytes=5']);
    assert.equal(limited, 'line ');

    assert.equal(await c.cloud.kubectlOk(v, ['logs', 'two', '-n', NS, '-c', 'second']), 'I am second\n');
    const wrong = await c.cloud.kubectl(v, ['logs', 'two', '-n', NS, '-c', 'third']);
    assert.notEqual(wrong.code, 0);
    assert.match(wrong.stderr, /container third is not valid for pod two/);
  });

  test(`E2E_STREAM_LOGS_2 (kubectl ${v}): logs -f shows new lines as they are written, and --since`, async () => {
    const follow = c.cloud.spawnKubectl(v, ['logs', '-f', 'ticker', '-n', NS, '--tail=1']);
    try {
      const first = await follow.waitFor((out) => lineNumbers(out).length >= 1, 10_000);
      const start = lineNumbers(first)[0]!;
      const later = await follow.waitFor((out) => lineNumbers(out).some((n) => n >= start + 3), 10_000);
      const seen = lineNumbers(later);
      assert.deepEqual(seen, seen.map((_, i) => start + i), 'every line, in order, once');
    } finally {
      await follow.stop();
    }
    const recent = lineNumbers(await c.cloud.kubectlOk(v, ['logs', 'ticker', '-n', NS, '--since=1s']));
    const all = lineNumbers(await c.cloud.kubectlOk(v, ['logs', 'ticker', '-n', NS]));
    assert.ok(recent.length >= 1 && recent.length <= 8, `about a second of lines: ${recent.join(',')}`);
    assert.ok(recent[0]! > all[0]!, 'not from the start');
  });

  test(`E2E_STREAM_EXEC_1 (kubectl ${v}): exec echo, stdout and stderr apart, stdin with -i, exit codes`, async () => {
    assert.equal(await c.cloud.kubectlOk(v, ['exec', 'ticker', '-n', NS, '--', 'echo', 'hi']), 'hi\n');

    const both = await c.cloud.kubectl(v, ['exec', 'ticker', '-n', NS, '--', 'sh', '-c', 'echo to-out; echo to-err >&2']);
    assert.equal(both.code, 0, both.stderr);
    assert.equal(both.stdout, 'to-out\n');
    assert.match(both.stderr, /to-err/);

    const piped = await c.cloud.kubectl(v, ['exec', '-i', 'ticker', '-n', NS, '--', 'sh', '-c', 'tr a-z A-Z; echo done'], { stdin: 'hello stdin\n' });
    assert.equal(piped.code, 0, piped.stderr);
    assert.equal(piped.stdout, 'HELLO STDIN\ndone\n', 'stdin reaches the command and its end is seen');

    const exit3 = await c.cloud.kubectl(v, ['exec', 'ticker', '-n', NS, '--', 'sh', '-c', 'exit 3']);
    assert.equal(exit3.code, 3, exit3.stderr);
    assert.match(exit3.stderr, /command terminated with exit code 3/);

    const inSecond = await c.cloud.kubectlOk(v, ['exec', 'two', '-n', NS, '-c', 'second', '--', 'sh', '-c', 'echo $HOSTNAME']);
    assert.equal(inSecond.trim(), 'two');
  });

  test(`E2E_STREAM_EXEC_2 (kubectl ${v}): a large stdin and a large output make it through intact`, async () => {
    const size = 3 * 1024 * 1024;
    const input = Buffer.alloc(size, 'abcdefghij').toString();
    const r = await c.cloud.kubectl(v, ['exec', '-i', 'ticker', '-n', NS, '--', 'wc', '-c'], { stdin: input, timeoutMs: 60_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(Number(r.stdout.trim()), size);
    const out = await c.cloud.kubectl(v, ['exec', 'ticker', '-n', NS, '--', 'head', '-c', String(size), '/dev/zero'], { timeoutMs: 60_000 });
    assert.equal(out.code, 0, out.stderr);
    assert.equal(out.stdout.length, size);
  });

  test(`E2E_STREAM_PORTFORWARD_1 (kubectl ${v}): port-forward reaches the pod's port`, async () => {
    const local = await freePort();
    const pf = c.cloud.spawnKubectl(v, ['port-forward', '-n', NS, 'pod/web', `${local}:${webPort}`]);
    try {
      await pf.waitFor(/Forwarding from 127\.0\.0\.1/, 15_000);
      for (let i = 0; i < 3; i++) {
        const res = await fetch(`http://127.0.0.1:${local}/`);
        assert.equal(res.status, 200);
        assert.match(await res.text(), /Directory listing/);
      }
    } finally {
      await pf.stop();
    }
  });
}

test('E2E_STREAM_EXEC_3: a TTY on the process runtime is refused with a clear error', async () => {
  const kube = kubectlPath('1.33');
  // `script` gives kubectl a terminal, so it really asks for a TTY.
  const child = spawn('script', ['-qec', `${kube} --kubeconfig ${c.cloud.kubeconfigPath} exec -it ticker -n ${NS} -- sh -c 'echo hi'`, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
  const [code] = (await once(child, 'close')) as [number];
  assert.notEqual(code, 0);
  assert.match(out, /BadRequest.*no TTYs/);
});

test('E2E_STREAM_LOGS_3: --previous shows the log of the instance before a restart', async () => {
  await c.cloud.kubectlOk('1.33', ['apply', '-f', '-'], {
    stdin: JSON.stringify(pod('crasher', [{ name: 'c', command: ['sh', '-c', 'echo "started $(date +%s%N)"; sleep 1; exit 1'] }])),
  });
  const before = await c.cloud.kubectl('1.33', ['logs', 'crasher', '-n', NS, '--previous']);
  if (before.code !== 0) assert.match(before.stderr, /previous terminated container "c" in pod "crasher" not found|waiting to start/);
  await waitPod('crasher', 'restarted once', (p) => (p.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 1, 60_000);
  for (const v of KUBECTL_VERSIONS) {
    const previous = await eventually(() => c.cloud.kubectlOk(v, ['logs', 'crasher', '-n', NS, '--previous']), { timeoutMs: 10_000, what: 'the previous log' });
    assert.match(previous, /^started \d+\n$/);
  }
});

test('E2E_STREAM_AUTH_1: a node identity can neither exec nor read logs, even of its own pods', async () => {
  const id = await edge.identity();
  const dir = await mkdtemp(join(work, 'node-'));
  await writeFile(join(dir, 'node.crt'), id.certPem ?? '');
  await writeFile(join(dir, 'node.key'), id.keyPem ?? '');
  await writeFile(join(dir, 'ca.crt'), c.cloud.credentials.caPem);
  const kubeconfig = join(dir, 'kubeconfig');
  await writeFile(
    kubeconfig,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'k', cluster: { server: c.cloud.credentials.server, 'certificate-authority': join(dir, 'ca.crt') } }],
      users: [{ name: 'node', user: { 'client-certificate': join(dir, 'node.crt'), 'client-key': join(dir, 'node.key') } }],
      contexts: [{ name: 'node', context: { cluster: 'k', user: 'node' } }],
      'current-context': 'node',
    }),
  );
  for (const v of KUBECTL_VERSIONS) {
    const exec = await kubectl(v, ['exec', 'ticker', '-n', NS, '--', 'echo', 'hi'], { kubeconfig, cacheDir: join(dir, `cache-${v}`) });
    assert.notEqual(exec.code, 0);
    assert.doesNotMatch(exec.stdout, /hi/);
    assert.match(exec.stderr, /forbidden: User "system:node:stream-proc" cannot (create|get) resource "pods\/exec"/);
    const logs = await kubectl(v, ['logs', 'ticker', '-n', NS], { kubeconfig, cacheDir: join(dir, `cache-${v}`) });
    assert.notEqual(logs.code, 0);
    assert.match(logs.stderr, /forbidden: User "system:node:stream-proc" cannot get resource "pods\/log"/);
  }
});

/** CPU time (user + system, clock ticks) of the kedge process whose command line names `dataDir`. */
async function cpuTicks(dataDir: string): Promise<number> {
  const ps = await new Promise<string>((resolve) => {
    let out = '';
    const p = spawn('ps', ['-eo', 'pid=,args=']);
    p.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
    p.once('close', () => resolve(out));
  });
  // bin/kedge runs dist/src/cli/main.js when the build is current, src/cli/main.ts otherwise.
  const line = ps.split('\n').find((l) => /src\/cli\/main\.[tj]s /.test(l) && l.includes(`--data-dir ${dataDir}`));
  if (line === undefined) throw new Error(`no kedge process for ${dataDir}`);
  const stat = await readFile(`/proc/${line.trim().split(/\s+/)[0]}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

test('E2E_STREAM_EXEC_4: an exec whose client is killed stops its command, and nothing spins (KubeEdge #3232)', async () => {
  for (const v of KUBECTL_VERSIONS) {
    const marker = `${4000 + Math.floor(Math.random() * 1000)}`;
    const exec = spawnKubectl(v, ['exec', '-i', 'ticker', '-n', NS, '--', 'sleep', marker], { kubeconfig: c.cloud.kubeconfigPath, cacheDir: join(c.cloud.dataDir, `kubectl-cache-${v}`) });
    const sleeping = async (): Promise<boolean> => {
      const ps = await new Promise<string>((resolve) => {
        let out = '';
        const p = spawn('ps', ['-eo', 'args=']);
        p.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
        p.once('close', () => resolve(out));
      });
      return ps.split('\n').some((l) => l.trim() === `sleep ${marker}`);
    };
    await eventually(async () => assert.ok(await sleeping()), { timeoutMs: 10_000, what: 'the command to run on the edge' });
    exec.child.kill('SIGKILL');
    await exec.stop();
    await eventually(async () => assert.ok(!(await sleeping())), { timeoutMs: 10_000, what: 'the command to be stopped after its client died' });
  }
  const cloud0 = await cpuTicks(c.cloud.dataDir);
  const edge0 = await cpuTicks(edge.dataDir);
  await new Promise((r) => setTimeout(r, 3000));
  const cloudTicks = (await cpuTicks(c.cloud.dataDir)) - cloud0;
  const edgeTicks = (await cpuTicks(edge.dataDir)) - edge0;
  // 3 s at 100 ticks/s: a spinning loop would burn ~300; idle processes (the ticker's status, leases) a few.
  assert.ok(cloudTicks < 30, `cloud used ${cloudTicks} ticks in 3 s`);
  assert.ok(edgeTicks < 30, `edge used ${edgeTicks} ticks in 3 s`);
});

test('E2E_STREAM_TUNNEL_1: the tunnel comes back after the edge restarts, and an offline node answers 503', async () => {
  await edge.stop();
  const offline = await c.cloud.kubectl('1.33', ['logs', 'ticker', '-n', NS]);
  assert.notEqual(offline.code, 0);
  assert.match(offline.stderr, /ServiceUnavailable|has no stream tunnel/);
  const syncs = edge.syncs.length;
  edge.start();
  await edge.waitForSync(syncs, 30_000);
  await waitPod('ticker', 'running again', running);
  const hi = await eventually(() => c.cloud.kubectlOk('1.27', ['exec', 'ticker', '-n', NS, '--', 'echo', 'back']), { timeoutMs: 15_000, what: 'exec after the restart' });
  assert.equal(hi, 'back\n');
  // The tests after this one forward to the web pod: its server (a host process) must be back too.
  await eventually(async () => assert.equal((await fetch(`http://127.0.0.1:${webPort}/`)).status, 200), { timeoutMs: 30_000, what: 'the web pod serving again' });
});

test('E2E_STREAM_VERSIONS: exec and port-forward with kubectl 1.28 to 1.32 (SPDY, WebSocket exec, SPDY in a WebSocket)', async () => {
  for (const v of ['1.28', '1.29', '1.30', '1.31', '1.32'] as const) {
    assert.equal(await c.cloud.kubectlOk(v, ['exec', 'ticker', '-n', NS, '--', 'echo', v]), `${v}\n`);
    const exit = await c.cloud.kubectl(v, ['exec', '-i', 'ticker', '-n', NS, '--', 'sh', '-c', 'read x; exit $x'], { stdin: '7\n' });
    assert.equal(exit.code, 7, `${v}: ${exit.stderr}`);
    const local = await freePort();
    const pf = c.cloud.spawnKubectl(v, ['port-forward', '-n', NS, 'pod/web', `${local}:${webPort}`]);
    try {
      await pf.waitFor(/Forwarding from 127\.0\.0\.1/, 15_000);
      assert.equal((await fetch(`http://127.0.0.1:${local}/`)).status, 200, v);
    } finally {
      await pf.stop();
    }
  }
});

test('E2E_STREAM_TUNNEL_2: only node certificates open a tunnel, and a node breaking its protocol loses only its own tunnel', async () => {
  const url = `wss://127.0.0.1:${c.hubPort}${STREAM_PATH}`;
  const ca = c.cloud.credentials.caPem;
  const refused = async (options: WebSocket.ClientOptions): Promise<string> =>
    new Promise((resolve) => {
      const ws = new WebSocket(url, STREAM_SUBPROTOCOL, { ca, ...options });
      ws.once('unexpected-response', (_req, res) => resolve(String(res.statusCode)));
      ws.once('error', (err) => resolve(err.message));
      ws.once('open', () => resolve('open'));
    });
  assert.equal(await refused({ cert: c.cloud.admin.certPem, key: c.cloud.admin.keyPem }), '403', 'the admin is not a node');
  assert.notEqual(await refused({}), 'open', 'no certificate, no tunnel');

  // A second tunnel with the node's own certificate that sends garbage is cut off; the node's real tunnel is replaced by it, then comes back.
  const id = await edge.identity();
  const rogue = new WebSocket(url, STREAM_SUBPROTOCOL, { ca, cert: id.certPem, key: id.keyPem });
  await once(rogue, 'open');
  rogue.send(Buffer.from([99, 0, 0, 0, 1]));
  const [code] = (await once(rogue, 'close')) as [number];
  assert.equal(code, 4102);
  const back = await eventually(() => c.cloud.kubectlOk('1.33', ['exec', 'ticker', '-n', NS, '--', 'echo', 'still here']), { timeoutMs: 40_000, intervalMs: 500, what: 'the edge to reconnect its tunnel' });
  assert.equal(back, 'still here\n');
});
