import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readlink, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hasCode } from '../../errors/platform-error.ts';
import type { ContainerStatus } from '../runtime/runtime.ts';
import { expand, resolveEnv, type EnvContext } from './env.ts';
import { containerResources, podRequests, qosClass, type PodObject } from './pod-spec.ts';
import { computePodStatus, type ContainerView } from './pod-status.ts';
import { writeAtomicDir } from './volumes.ts';

const pod = (spec: Record<string, unknown> = {}): PodObject =>
  ({ metadata: { name: 'p', namespace: 'ns', uid: 'u1', labels: { b: '2', a: '1' } }, spec: { nodeName: 'n', containers: [{ name: 'c', image: 'i' }], ...spec } });
const ctx = (p = pod()): EnvContext => ({ pod: p, podIps: ['10.0.0.5'], hostIps: ['192.0.2.2'], nodeCpuMilli: 2000, nodeMemoryBytes: 4 * 2 ** 30 });

test('$(VAR) expansion follows Kubernetes: defined names, $$ escapes, the rest verbatim', () => {
  const vars = new Map([
    ['A', 'x'],
    ['B', 'y'],
  ]);
  assert.equal(expand('$(A)-$(B)', vars), 'x-y');
  assert.equal(expand('$$(A)', vars), '$(A)');
  assert.equal(expand('$(MISSING) $A $', vars), '$(MISSING) $A $');
});

test('env: envFrom then env, refs to ConfigMaps, Secrets, fields and resources; optional and missing references', () => {
  const objects = {
    configMap: (_ns: string, name: string) => (name === 'cm' ? { data: { K: 'v', 'bad key': 'z' } } : undefined),
    secret: (_ns: string, name: string) => (name === 's' ? { data: { T: Buffer.from('tok').toString('base64') } } : undefined),
  };
  const c = {
    name: 'c',
    resources: { limits: { memory: '64Mi' }, requests: { cpu: '250m' } },
    envFrom: [{ configMapRef: { name: 'cm' }, prefix: 'CM_' }, { secretRef: { name: 'none', optional: true } }],
    env: [
      { name: 'CM_K', value: 'overridden' },
      { name: 'S', valueFrom: { secretKeyRef: { name: 's', key: 'T' } } },
      { name: 'IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
      { name: 'LBL', valueFrom: { fieldRef: { fieldPath: "metadata.labels['a']" } } },
      { name: 'MEM', valueFrom: { resourceFieldRef: { resource: 'limits.memory', divisor: '1Mi' } } },
      { name: 'CPU', valueFrom: { resourceFieldRef: { resource: 'limits.cpu' } } },
      { name: 'REQ', valueFrom: { resourceFieldRef: { resource: 'requests.cpu', divisor: '1m' } } },
      { name: 'OPT', valueFrom: { configMapKeyRef: { name: 'cm', key: 'nope', optional: true } } },
      { name: 'REF', value: '$(S)@$(IP)' },
    ],
  };
  const r = resolveEnv(c, ctx(), objects);
  assert.deepEqual(Object.fromEntries(r.env.map((e) => [e.name, e.value])), { CM_K: 'overridden', S: 'tok', IP: '10.0.0.5', LBL: '1', MEM: '64', CPU: '2', REQ: '250', REF: 'tok@10.0.0.5' });
  assert.deepEqual(r.invalidKeys, ['CM_bad key']);
  assert.throws(
    () => resolveEnv({ name: 'c', env: [{ name: 'X', valueFrom: { configMapKeyRef: { name: 'cm', key: 'nope' } } }] }, ctx(), objects),
    (e) => hasCode(e, 'EDGE_POD_CONFIG_INVALID') && /couldn't find key nope in ConfigMap ns\/cm/.test((e as Error).message),
  );
  assert.throws(() => resolveEnv({ name: 'c', envFrom: [{ secretRef: { name: 'missing' } }] }, ctx(), objects), (e) => hasCode(e, 'EDGE_POD_CONFIG_INVALID'));
});

test('resources: requests (init containers count at their max), QoS, CPU shares and quota, memory limit, OOM score', () => {
  const p = pod({
    initContainers: [{ name: 'i', resources: { requests: { cpu: '2', memory: '10Mi' } } }],
    containers: [
      { name: 'a', resources: { requests: { cpu: '500m', memory: '64Mi' }, limits: { cpu: '1', memory: '128Mi' } } },
      { name: 'b', resources: { requests: { cpu: '250m', memory: '64Mi' } } },
    ],
    overhead: { cpu: '10m' },
  });
  assert.deepEqual(podRequests(p), { cpuMilli: 2010, memoryBytes: 128 * 1024 * 1024 });
  assert.equal(qosClass(p), 'Burstable');
  assert.equal(qosClass(pod()), 'BestEffort');
  const r = containerResources(p, p.spec!.containers[0]!, 4 * 2 ** 30);
  assert.deepEqual([r.cpuShares, r.cpuQuota, r.cpuPeriod, r.memoryLimitBytes], [512, 100_000, 100_000, 128 * 1024 * 1024]);
  assert.ok(r.oomScoreAdj > 2 && r.oomScoreAdj < 1000);
  const g = pod({ containers: [{ name: 'g', resources: { limits: { cpu: '100m', memory: '10Mi' } } }] });
  assert.equal(qosClass(g), 'Guaranteed');
  assert.equal(containerResources(g, g.spec!.containers[0]!, 2 ** 30).oomScoreAdj, -997);
});

const instance = (over: Partial<ContainerStatus>): ContainerStatus => ({
  id: 'abc',
  sandboxId: 's',
  name: 'c',
  attempt: 0,
  state: 'running',
  createdAt: 1_700_000_000_000,
  startedAt: 1_700_000_001_000,
  finishedAt: 0,
  exitCode: 0,
  reason: '',
  message: '',
  image: 'docker.io/library/busybox:1',
  imageRef: 'sha256:1',
  labels: {},
  annotations: {},
  logPath: '',
  ...over,
});

test('pod status: phases as the kubelet computes them, conditions keep their transition times, container states', () => {
  const now = new Date('2024-01-01T00:00:10Z');
  const p = pod();
  const c = p.spec!.containers[0]!;
  const base = { pod: p, initContainers: [], podIps: ['10.0.0.5'], hostIps: ['192.0.2.2'], runtimeName: 'containerd', terminating: false, now };
  const running: ContainerView = { spec: c, current: instance({}), ready: true, started: true };
  const s1 = computePodStatus({ ...base, containers: [running] });
  assert.equal(s1.phase, 'Running');
  assert.deepEqual(
    s1.conditions?.map((x) => [x.type, x.status]),
    [
      ['Initialized', 'True'],
      ['Ready', 'True'],
      ['ContainersReady', 'True'],
      ['PodScheduled', 'True'],
    ],
  );
  assert.equal(s1.containerStatuses![0]!.containerID, 'containerd://abc');
  assert.equal(s1.containerStatuses![0]!.state?.running?.startedAt, '2023-11-14T22:13:21Z');
  assert.equal(s1.podIP, '10.0.0.5');
  const later = computePodStatus({ ...base, containers: [running], previous: s1, now: new Date('2024-01-01T00:05:00Z') });
  assert.deepEqual(later, s1, 'nothing changed: the same status, byte for byte');

  const backoff: ContainerView = { spec: c, current: instance({ state: 'exited', exitCode: 1, finishedAt: 1_700_000_002_000, attempt: 3 }), waiting: { reason: 'CrashLoopBackOff', message: 'back-off' }, ready: false, started: false };
  const s2 = computePodStatus({ ...base, containers: [backoff], previous: s1 });
  assert.equal(s2.phase, 'Running', 'a crash-looping container under restartPolicy Always');
  assert.equal(s2.containerStatuses![0]!.state?.waiting?.reason, 'CrashLoopBackOff');
  assert.equal(s2.containerStatuses![0]!.lastState?.terminated?.exitCode, 1);
  assert.equal(s2.containerStatuses![0]!.restartCount, 3);
  const ready = s2.conditions?.find((x) => x.type === 'Ready');
  assert.deepEqual([ready?.status, ready?.reason, ready?.message, ready?.lastTransitionTime], ['False', 'ContainersNotReady', 'containers with unready status: [c]', '2024-01-01T00:00:10Z']);

  const never = pod({ restartPolicy: 'Never' });
  const failed = computePodStatus({ ...base, pod: never, containers: [{ spec: c, current: instance({ state: 'exited', exitCode: 2, finishedAt: 1 }), ready: false, started: false }] });
  assert.equal(failed.phase, 'Failed');
  const pending = computePodStatus({ ...base, initContainers: [{ spec: { name: 'init' }, ready: false, started: false }], containers: [{ spec: c, ready: false, started: false }] });
  assert.equal(pending.phase, 'Pending');
  assert.equal(pending.containerStatuses![0]!.state?.waiting?.reason, 'PodInitializing');
  assert.equal(pending.conditions?.find((x) => x.type === 'Initialized')?.message, 'containers with incomplete status: [init]');
  const rejected = computePodStatus({ ...base, containers: [], rejected: { reason: 'OutOfcpu', message: 'no' } });
  assert.deepEqual([rejected.phase, rejected.reason, rejected.containerStatuses], ['Failed', 'OutOfcpu', undefined]);
});

test('the atomic volume writer: ..data swapped in one rename, visible names through it, unchanged content left alone', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kedge-atomic-'));
  try {
    assert.equal(await writeAtomicDir(dir, [{ path: 'a', data: Buffer.from('1'), mode: 0o644 }, { path: 'sub/b', data: Buffer.from('2'), mode: 0o600 }]), true);
    assert.equal(await readFile(join(dir, 'a'), 'utf8'), '1');
    assert.equal(await readFile(join(dir, 'sub/b'), 'utf8'), '2');
    assert.equal(await readlink(join(dir, 'a')), '..data/a');
    assert.equal((await stat(join(dir, 'sub/b'))).mode & 0o777, 0o600);
    const first = await readlink(join(dir, '..data'));
    assert.equal(await writeAtomicDir(dir, [{ path: 'a', data: Buffer.from('1'), mode: 0o644 }, { path: 'sub/b', data: Buffer.from('2'), mode: 0o600 }]), false);
    assert.equal(await readlink(join(dir, '..data')), first);
    assert.equal(await writeAtomicDir(dir, [{ path: 'a', data: Buffer.from('changed'), mode: 0o644 }]), true);
    assert.equal(await readFile(join(dir, 'a'), 'utf8'), 'changed');
    await assert.rejects(stat(join(dir, 'sub')), 'a name no longer in the volume is removed');
    await assert.rejects(stat(join(dir, first)), 'the old data directory is removed');
    await assert.rejects(writeAtomicDir(dir, [{ path: '../escape', data: Buffer.from('x'), mode: 0o644 }]));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
