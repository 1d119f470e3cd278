import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type { PodStatus } from 'kubernetes-types/core/v1.d.ts';
import type { KubeObject } from '../../api/object.ts';
import { silentLogger } from '../../log/logger.ts';
import { openEdgeDatabase } from '../db.ts';
import type { DirtyWrite } from '../hub/status-table.ts';
import { MetaManager } from '../meta/meta-manager.ts';
import type { HostFacts } from '../node/host.ts';
import { ProcessRuntime } from '../runtime/process/process-runtime.ts';
import { isRunning } from '../runtime/process/proc.ts';
import { Edged } from './edged.ts';

const NODE = 'edge-1';
const host = (): HostFacts => ({ hostname: 'h', cpus: 2, memoryBytes: 4 * 1024 ** 3, addresses: [{ type: 'InternalIP', address: '127.0.0.1' }], nodeInfo: {} as HostFacts['nodeInfo'] });

/** An edge without a cloud: MetaManager fed directly, statuses, events and deletions captured. */
class Harness {
  readonly statuses = new Map<string, PodStatus>();
  readonly events: KubeObject[] = [];
  readonly deleted: string[] = [];
  readonly meta: MetaManager;
  readonly db = openEdgeDatabase(':memory:');
  #rv = 1;
  #lifetime = new AbortController();
  edged: Edged | undefined;
  runtime: ProcessRuntime | undefined;

  readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
    this.meta = new MetaManager({ db: this.db, log: silentLogger() });
  }

  async start(): Promise<void> {
    this.#lifetime = new AbortController();
    this.runtime = await ProcessRuntime.open({ stateDir: join(this.dir, 'process-runtime'), version: 'test', log: silentLogger(), orphanGraceSeconds: 2 });
    this.edged = new Edged({
      nodeName: NODE,
      dataDir: this.dir,
      runtime: this.runtime,
      meta: this.meta,
      statuses: { put: (w: DirtyWrite) => (w.op === 'status' ? this.statuses.set(`${w.namespace ?? ''}/${w.name}`, w.status) : undefined) },
      events: {
        enqueue: (_op, _ref, content) => {
          this.events.push(content);
          return 'id';
        },
      },
      deletions: { confirmDeleted: (p) => this.deleted.push(`${p.namespace}/${p.name}`) },
      host,
      log: silentLogger(),
      relistIntervalMs: 200,
    });
    await this.edged.start(this.#lifetime.signal);
  }

  /** Stops Edged as an edge process stopping would (containers are left to the next start). */
  async stop(): Promise<void> {
    this.#lifetime.abort();
    await this.edged?.done;
    this.runtime?.close();
  }

  put(kind: 'pods' | 'configmaps' | 'secrets', obj: KubeObject): void {
    this.meta.applyBatch([{ op: 'upsert', kind, object: { ...obj, metadata: { ...obj.metadata, resourceVersion: String(++this.#rv) } } }]);
  }

  remove(kind: 'pods', namespace: string, name: string, uid: string): void {
    this.meta.applyBatch([{ op: 'delete', kind, namespace, name, uid }]);
  }

  async until<T>(what: string, f: () => T | undefined | false, timeoutMs = 20_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = f();
      if (v !== undefined && v !== false) return v;
      if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}; statuses: ${JSON.stringify([...this.statuses], null, 1)}`);
      await delay(25);
    }
  }

  status(name: string): PodStatus | undefined {
    return this.statuses.get(`default/${name}`);
  }

  reasons(): string[] {
    return this.events.map((e) => String(e['reason']));
  }
}

function pod(name: string, uid: string, spec: Record<string, unknown>, extra: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', uid, creationTimestamp: new Date().toISOString(), ...extra },
    spec: { nodeName: NODE, restartPolicy: 'Always', terminationGracePeriodSeconds: 5, ...spec },
    status: { phase: 'Pending', qosClass: 'BestEffort' },
  };
}

async function withHarness(fn: (h: Harness) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'kedge-edged-'));
  const h = new Harness(dir);
  try {
    await h.start();
    await fn(h);
  } finally {
    await h.stop();
    // Whatever still runs belongs to this test: stop it before removing its files.
    const rt = await ProcessRuntime.open({ stateDir: join(dir, 'process-runtime'), version: 'test', log: silentLogger(), orphanGraceSeconds: 1 });
    rt.close();
    h.db.close();
    await rm(dir, { recursive: true, force: true });
  }
}

test('Edged runs a pod: env from values, ConfigMaps, Secrets and the downward API; volumes; status Running and Ready; a ConfigMap update reaches the volume', () =>
  withHarness(async (h) => {
    const out = join(h.dir, 'out');
    h.put('configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg', namespace: 'default', uid: 'cm1' }, data: { greeting: 'hello', 'app.conf': 'v1' } });
    h.put('secrets', { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'sec', namespace: 'default', uid: 's1' }, data: { token: Buffer.from('s3cret').toString('base64') } });
    h.put(
      'pods',
      pod('app', 'u-app', {
        volumes: [
          { name: 'out', hostPath: { path: out, type: 'DirectoryOrCreate' } },
          { name: 'config', configMap: { name: 'cfg' } },
          { name: 'secret', secret: { secretName: 'sec' } },
          { name: 'info', downwardAPI: { items: [{ path: 'labels', fieldRef: { fieldPath: 'metadata.labels' } }] } },
          { name: 'scratch', emptyDir: {} },
        ],
        containers: [
          {
            name: 'main',
            image: 'busybox',
            command: ['sh', '-c', 'echo tmp > scratch/f; cp scratch/f out/scratch; echo "$GREETING $TOKEN $POD $LITERAL" > out/env; cat etc/config/app.conf > out/conf; cat etc/secret/token > out/secret; cat etc/info/labels > out/labels; while true; do cat etc/config/app.conf > out/conf; sleep 0.2; done'],
            env: [
              { name: 'GREETING', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'greeting' } } },
              { name: 'TOKEN', valueFrom: { secretKeyRef: { name: 'sec', key: 'token' } } },
              { name: 'POD', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
              { name: 'LITERAL', value: '$(POD)-x' },
            ],
            volumeMounts: [
              { name: 'out', mountPath: '/out' },
              { name: 'config', mountPath: '/etc/config' },
              { name: 'secret', mountPath: '/etc/secret' },
              { name: 'info', mountPath: '/etc/info' },
              { name: 'scratch', mountPath: '/scratch' },
            ],
          },
        ],
      }, { labels: { app: 'demo' } }),
    );
    const s = await h.until('Running and Ready', () => {
      const st = h.status('app');
      return st?.phase === 'Running' && st.conditions?.find((c) => c.type === 'Ready')?.status === 'True' ? st : undefined;
    });
    assert.equal(s.hostIP, '127.0.0.1');
    assert.equal(s.podIP, '127.0.0.1', 'processes share the host network');
    assert.ok(s.startTime);
    const cs = s.containerStatuses![0]!;
    assert.equal(cs.ready, true);
    assert.equal(cs.started, true);
    assert.equal(cs.restartCount, 0);
    assert.match(cs.containerID ?? '', /^process:\/\/[a-f0-9]+$/);
    assert.ok(cs.state?.running?.startedAt);
    // The shell creates each file before it writes it: wait for the last one's content.
    for (let i = 0; i < 200 && (await readFile(join(out, 'labels'), 'utf8').catch(() => '')) === ''; i++) await delay(25);
    assert.equal(await readFile(join(out, 'env'), 'utf8'), 'hello s3cret app app-x\n');
    assert.equal(await readFile(join(out, 'secret'), 'utf8'), 's3cret');
    assert.equal(await readFile(join(out, 'scratch'), 'utf8'), 'tmp\n', 'an emptyDir');
    assert.equal(await readFile(join(out, 'labels'), 'utf8'), 'app="demo"');
    assert.ok(h.reasons().includes('Created') && h.reasons().includes('Started'));

    h.put('configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg', namespace: 'default', uid: 'cm1' }, data: { greeting: 'hello', 'app.conf': 'v2' } });
    for (let i = 0; i < 100 && (await readFile(join(out, 'conf'), 'utf8')) !== 'v2'; i++) await delay(50);
    assert.equal(await readFile(join(out, 'conf'), 'utf8'), 'v2');
  }));

test('Edged: a crashing container restarts with back-off (CrashLoopBackOff, restart counts, BackOff events); OnFailure and Never pods finish', () =>
  withHarness(async (h) => {
    h.put('pods', pod('crash', 'u-crash', { containers: [{ name: 'c', image: 'x', command: ['sh', '-c', 'echo boom; exit 2'] }] }));
    h.put('pods', pod('job', 'u-job', { restartPolicy: 'OnFailure', containers: [{ name: 'c', image: 'x', command: ['sh', '-c', 'exit 0'] }] }));
    h.put('pods', pod('once', 'u-once', { restartPolicy: 'Never', containers: [{ name: 'c', image: 'x', command: ['sh', '-c', 'exit 3'] }] }));
    const s = await h.until('CrashLoopBackOff', () => {
      const st = h.status('crash');
      return st?.containerStatuses?.[0]?.state?.waiting?.reason === 'CrashLoopBackOff' ? st : undefined;
    });
    const cs = s.containerStatuses![0]!;
    assert.equal(cs.restartCount, 1, 'restarted once at once, then backing off');
    assert.equal(cs.lastState?.terminated?.exitCode, 2);
    assert.match(cs.state?.waiting?.message ?? '', /^back-off 10s restarting failed container=c pod=crash_default\(u-crash\)$/);
    assert.equal(s.phase, 'Running');
    assert.ok(h.reasons().includes('BackOff'));
    const job = await h.until('job Succeeded', () => (h.status('job')?.phase === 'Succeeded' ? h.status('job') : undefined));
    assert.equal(job.containerStatuses![0]!.state?.terminated?.reason, 'Completed');
    const once = await h.until('once Failed', () => (h.status('once')?.phase === 'Failed' ? h.status('once') : undefined));
    assert.equal(once.containerStatuses![0]!.state?.terminated?.exitCode, 3);
    assert.equal(once.containerStatuses![0]!.restartCount, 0);
  }));

test('Edged: init containers run in order before the containers', () =>
  withHarness(async (h) => {
    const out = join(h.dir, 'init-out');
    h.put(
      'pods',
      pod('init', 'u-init', {
        volumes: [{ name: 'out', hostPath: { path: out, type: 'DirectoryOrCreate' } }],
        initContainers: [
          { name: 'one', image: 'x', command: ['sh', '-c', 'echo one >> out/order'], volumeMounts: [{ name: 'out', mountPath: '/out' }] },
          { name: 'two', image: 'x', command: ['sh', '-c', 'echo two >> out/order'], volumeMounts: [{ name: 'out', mountPath: '/out' }] },
        ],
        containers: [{ name: 'main', image: 'x', command: ['sh', '-c', 'echo main >> out/order; sleep 60'], volumeMounts: [{ name: 'out', mountPath: '/out' }] }],
      }),
    );
    const s = await h.until('Running', () => (h.status('init')?.phase === 'Running' ? h.status('init') : undefined));
    assert.equal(s.conditions?.find((c) => c.type === 'Initialized')?.status, 'True');
    assert.deepEqual(
      s.initContainerStatuses?.map((c) => c.state?.terminated?.reason),
      ['Completed', 'Completed'],
    );
    await h.until('main wrote', () => existsSync(join(out, 'order')) && readFile(join(out, 'order'), 'utf8'));
    for (let i = 0; i < 50 && !(await readFile(join(out, 'order'), 'utf8')).includes('main'); i++) await delay(50);
    assert.equal(await readFile(join(out, 'order'), 'utf8'), 'one\ntwo\nmain\n');
  }));

test('Edged: a failing liveness probe restarts the container; readiness follows its probe', () =>
  withHarness(async (h) => {
    const flag = join(h.dir, 'healthy');
    h.put(
      'pods',
      pod('probed', 'u-probed', {
        containers: [
          {
            name: 'c',
            image: 'x',
            command: ['sh', '-c', `touch ${flag}; sleep 600`],
            livenessProbe: { exec: { command: ['test', '-e', flag] }, periodSeconds: 1, failureThreshold: 2, timeoutSeconds: 1 },
            readinessProbe: { exec: { command: ['test', '-e', flag] }, periodSeconds: 1, failureThreshold: 1 },
          },
        ],
      }),
    );
    await h.until('Ready', () => h.status('probed')?.conditions?.find((c) => c.type === 'Ready')?.status === 'True');
    await rm(flag);
    const s = await h.until('restarted by liveness', () => {
      const st = h.status('probed');
      return (st?.containerStatuses?.[0]?.restartCount ?? 0) >= 1 ? st : undefined;
    });
    assert.equal(s.containerStatuses![0]!.lastState?.terminated?.exitCode, 143);
    assert.ok(h.events.some((e) => e['reason'] === 'Unhealthy' && String(e['message']).startsWith('Liveness probe failed')));
    assert.ok(h.events.some((e) => e['reason'] === 'Killing' && String(e['message']).includes('failed liveness probe')));
  }));

test('Edged: a deleted pod is stopped gracefully (preStop, SIGTERM), its deletion confirmed, and cleaned up once gone', () =>
  withHarness(async (h) => {
    const out = join(h.dir, 'term');
    const p = pod('bye', 'u-bye', {
      volumes: [{ name: 'out', hostPath: { path: out, type: 'DirectoryOrCreate' } }],
      containers: [
        {
          name: 'c',
          image: 'x',
          command: ['sh', '-c', 'trap "echo term >> out/log; exit 0" TERM; touch out/ready; while true; do sleep 1 & wait $!; done'],
          lifecycle: { preStop: { exec: { command: ['sh', '-c', 'echo prestop >> out/log'] } } },
          volumeMounts: [{ name: 'out', mountPath: '/out' }],
        },
      ],
    });
    h.put('pods', p);
    await h.until('ready', () => existsSync(join(out, 'ready')));
    h.put('pods', { ...p, metadata: { ...p.metadata, deletionTimestamp: new Date().toISOString(), deletionGracePeriodSeconds: 5 } });
    await h.until('deletion confirmed', () => h.deleted.includes('default/bye'));
    assert.equal(await readFile(join(out, 'log'), 'utf8'), 'prestop\nterm\n');
    const s = h.status('bye')!;
    assert.equal(s.containerStatuses![0]!.state?.terminated?.exitCode, 0);
    assert.equal(s.phase, 'Succeeded');
    assert.ok(h.reasons().includes('Killing'));
    h.remove('pods', 'default', 'bye', 'u-bye');
    await h.until('cleaned up', () => h.edged!.podCount === 0);
    assert.equal(existsSync(join(h.dir, 'pods', 'u-bye')), false);
    assert.deepEqual(await h.runtime!.listPodSandboxes(), []);
  }));

test('Edged: pods that do not fit are rejected OutOfcpu / OutOfmemory', () =>
  withHarness(async (h) => {
    h.put('pods', pod('big', 'u-big', { containers: [{ name: 'c', image: 'x', command: ['sleep', '60'], resources: { requests: { cpu: '1500m' } } }] }));
    h.put('pods', pod('cpu', 'u-cpu', { containers: [{ name: 'c', image: 'x', command: ['sleep', '60'], resources: { requests: { cpu: '1' } } }] }));
    h.put('pods', pod('mem', 'u-mem', { containers: [{ name: 'c', image: 'x', command: ['sleep', '60'], resources: { requests: { memory: '5Gi' } } }] }));
    const cpu = await h.until('cpu rejected', () => h.status('cpu'));
    assert.equal(cpu.phase, 'Failed');
    assert.equal(cpu.reason, 'OutOfcpu');
    assert.equal(cpu.message, "Pod was rejected: Node didn't have enough resource: cpu, requested: 1000, used: 1500, capacity: 2000");
    const mem = await h.until('memory rejected', () => h.status('mem'));
    assert.equal(mem.reason, 'OutOfmemory');
    await h.until('big runs', () => h.status('big')?.phase === 'Running');
    assert.ok(h.reasons().includes('OutOfcpu'));
  }));

test('Edged restarted (cloud unreachable): pods come back from edge.db; the process an earlier edge left is replaced, not duplicated; removed pods are cleaned up', () =>
  withHarness(async (h) => {
    const out = join(h.dir, 'restart');
    h.put(
      'pods',
      pod('keep', 'u-keep', {
        volumes: [{ name: 'out', hostPath: { path: out, type: 'DirectoryOrCreate' } }],
        containers: [{ name: 'c', image: 'x', command: ['sh', '-c', 'echo $$$$ >> out/pids; sleep 600'] /* $$ is Kubernetes' escape of $ */, volumeMounts: [{ name: 'out', mountPath: '/out' }] }],
      }),
    );
    h.put('pods', pod('gone', 'u-gone', { containers: [{ name: 'c', image: 'x', command: ['sleep', '600'] }] }));
    await h.until('running', () => h.status('keep')?.phase === 'Running' && h.status('gone')?.phase === 'Running');
    await h.until('pid written', () => existsSync(join(out, 'pids')));
    await h.stop();
    // Deleted in the cloud while this edge was down, and the delete arrives with the next start.
    h.remove('pods', 'default', 'gone', 'u-gone');
    h.statuses.clear();
    await h.start();
    assert.deepEqual(
      (await h.runtime!.listPodSandboxes()).map((sb) => sb.metadata.name),
      ['keep'],
      'the sandbox of the removed pod is gone',
    );
    const s = await h.until('running again', () => {
      const st = h.status('keep');
      return st?.phase === 'Running' && st.containerStatuses?.[0]?.restartCount === 1 ? st : undefined;
    });
    assert.ok(s);
    for (let i = 0; i < 50 && (await readFile(join(out, 'pids'), 'utf8')).trim().split('\n').length < 2; i++) await delay(50);
    const pids = (await readFile(join(out, 'pids'), 'utf8')).trim().split('\n').map(Number);
    assert.equal(pids.length, 2);
    assert.equal(isRunning(pids[0]!), false, 'the first process is gone: one copy runs');
    assert.equal(isRunning(pids[1]!), true);
  }));
