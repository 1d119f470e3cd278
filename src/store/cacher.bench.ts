// The watch cache at scale, in-process over a real SQLite store: memory per cached pod, load time,
// list latency (one namespace of 10,000 out of 100,000; a node's pods by field filter), write-to-watcher
// latency with 1,000 watchers, and what 30 caches following the whole keyspace cost a writer. Run:
//   node --expose-gc --disable-warning=ExperimentalWarning src/store/cacher.bench.ts [pods]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../log/logger.ts';
import { type AttrsFn, Cacher } from './cacher.ts';
import { SqliteBackend } from './sqlite.ts';

const pods = Number(process.argv[2] ?? 100_000);
const namespaces = 10;
const nodes = 1_000;
const dir = mkdtempSync(join(tmpdir(), 'kedge-cacher-bench-'));
const log = silentLogger();
const out = (line: string): boolean => process.stdout.write(line + '\n');
const gc = (globalThis as { gc?: () => void }).gc ?? ((): void => undefined);
const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
const PODS = '/registry/core/pods/';

const attrs: AttrsFn = (obj) => {
  const meta = obj.metadata as { name: string; namespace: string; labels?: Record<string, string> };
  const spec = obj.spec as { nodeName?: string } | undefined;
  const status = obj.status as { phase?: string } | undefined;
  return {
    labels: meta.labels ?? {},
    fields: { 'metadata.name': meta.name, 'metadata.namespace': meta.namespace, 'spec.nodeName': spec?.nodeName ?? '', 'status.phase': status?.phase ?? '' },
  };
};

/** A pod as the API server stores it (about 2 KiB: managed fields, a status with conditions). */
function podJson(i: number, phase = 'Running'): string {
  const ns = `ns-${i % namespaces}`;
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: `pod-${i}`,
      namespace: ns,
      uid: crypto.randomUUID(),
      creationTimestamp: '2025-01-01T00:00:00Z',
      labels: { app: `app-${i % 50}`, 'pod-template-hash': '5d8f7c9b4' },
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: `app-${i % 50}-5d8f7c9b4`, uid: '0c1d2e3f-aaaa-bbbb-cccc-123456789abc', controller: true, blockOwnerDeletion: true }],
    },
    spec: {
      nodeName: `node-${i % nodes}`,
      containers: [{ name: 'main', image: 'registry.local/app:1.0', ports: [{ containerPort: 8080, protocol: 'TCP' }], resources: { requests: { cpu: '100m', memory: '64Mi' } }, terminationMessagePath: '/dev/termination-log', imagePullPolicy: 'IfNotPresent' }],
      restartPolicy: 'Always',
      terminationGracePeriodSeconds: 30,
      dnsPolicy: 'ClusterFirst',
      serviceAccountName: 'default',
      tolerations: [{ key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 }],
    },
    status: {
      phase,
      conditions: ['Initialized', 'Ready', 'ContainersReady', 'PodScheduled'].map((type) => ({ type, status: 'True', lastTransitionTime: '2025-01-01T00:00:05Z' })),
      hostIP: `192.168.${(i >> 8) & 255}.1`,
      podIP: `10.0.${(i >> 8) & 255}.${i & 255}`,
      startTime: '2025-01-01T00:00:01Z',
      containerStatuses: [{ name: 'main', ready: true, restartCount: 0, image: 'registry.local/app:1.0', imageID: 'sha256:0123456789abcdef', containerID: 'containerd://0123456789abcdef', started: true, state: { running: { startedAt: '2025-01-01T00:00:04Z' } } }],
    },
  });
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

function timeIt(runs: number, fn: () => void): { p50: number; max: number } {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    fn();
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return { p50: percentile(times, 50), max: times.at(-1)! };
}

try {
  const path = join(dir, 'state.db');
  {
    const seed = await SqliteBackend.open(path, { log });
    const start = performance.now();
    for (let i = 0; i < pods; i++) await seed.create(`${PODS}ns-${i % namespaces}/pod-${i}`, podJson(i));
    out(`seeded ${pods} pods (${podJson(1).length} bytes each) in ${((performance.now() - start) / 1000).toFixed(1)} s`);
    await seed.close();
  }

  const backend = await SqliteBackend.open(path, { log });
  gc();
  const heapBefore = process.memoryUsage().heapUsed;
  const rssBefore = process.memoryUsage().rss;
  const running = new AbortController();
  const cacher = new Cacher({ backend, prefix: PODS, attrs, log });
  let start = performance.now();
  await cacher.start(running.signal);
  const loadMs = performance.now() - start;
  gc();
  const heap = process.memoryUsage().heapUsed - heapBefore;
  out(`load: ${cacher.size} pods in ${loadMs.toFixed(0)} ms; heap +${mib(heap)} (${Math.round(heap / cacher.size)} B/pod), RSS +${mib(process.memoryUsage().rss - rssBefore)}`);

  const ns = timeIt(20, () => void cacher.list({ prefix: `${PODS}ns-3/` }));
  out(`list one namespace (${cacher.list({ prefix: `${PODS}ns-3/` }).items.length} items): p50 ${ns.p50.toFixed(2)} ms, max ${ns.max.toFixed(2)} ms`);
  const page = timeIt(200, () => void cacher.list({ prefix: `${PODS}ns-3/`, startAfter: `${PODS}ns-3/pod-5`, limit: 500 }));
  out(`list a page of 500 from the middle: p50 ${page.p50.toFixed(3)} ms, max ${page.max.toFixed(3)} ms`);
  const onNode = (a: { fields: Readonly<Record<string, string>> }): boolean => a.fields['spec.nodeName'] === 'node-7';
  const node = timeIt(20, () => void cacher.list({ filter: onNode }));
  out(`list one node's pods by field filter over all: p50 ${node.p50.toFixed(2)} ms, max ${node.max.toFixed(2)} ms`);

  // 1,000 watchers: one per node with a field filter (as edge nodes watch), the first 50 unfiltered.
  const watchers = 1_000;
  const writes = 500;
  const sentAt = new Map<number, number>();
  const latencies: number[] = [];
  const watching = new AbortController();
  let expected = 0;
  const consumers = Array.from({ length: watchers }, async (_, w) => {
    const filter = w < 50 ? undefined : (a: { fields: Readonly<Record<string, string>> }): boolean => a.fields['spec.nodeName'] === `node-${w}`;
    for await (const batch of cacher.watch({ afterRevision: cacher.revision, signal: watching.signal, ...(filter ? { filter } : {}) })) {
      const now = performance.now();
      for (const event of batch.events) latencies.push(now - sentAt.get(event.object.revision)!);
    }
  });
  const writeStart = performance.now();
  for (let i = 0; i < writes; i++) {
    const n = pods + i;
    const write = backend.create(`${PODS}ns-${n % namespaces}/pod-${n}`, podJson(n, 'Pending'));
    sentAt.set((await backend.currentRevision()), performance.now());
    await write;
    expected += 50 + (n % nodes >= 50 ? 1 : 0);
    // Spread writes over time as a real API server sees them (one per macrotask, not one long microtask chain).
    await new Promise((resolve) => setImmediate(resolve));
  }
  while (latencies.length < expected) await new Promise((resolve) => setImmediate(resolve));
  const writeMs = performance.now() - writeStart;
  watching.abort();
  await Promise.all(consumers);
  latencies.sort((a, b) => a - b);
  out(
    `fan-out to ${watchers} watchers (${writes} writes, ${latencies.length} deliveries in ${writeMs.toFixed(0)} ms): p50 ${percentile(latencies, 50).toFixed(2)} ms, p99 ${percentile(latencies, 99).toFixed(2)} ms, max ${latencies.at(-1)!.toFixed(2)} ms`,
  );
  running.abort();
  await cacher.stop();

  // What it costs writers that every cache follows the whole keyspace: 30 caches of idle resources.
  for (const caches of [0, 30]) {
    const ac = new AbortController();
    const idle = Array.from({ length: caches }, (_, i) => new Cacher({ backend, prefix: `/registry/idle-${i}/`, attrs, log }));
    for (const c of idle) await c.start(ac.signal);
    const n = 20_000;
    start = performance.now();
    for (let i = 0; i < n; i++) {
      await backend.create(`/registry/other/x-${caches}-${i}`, '{"metadata":{}}');
      if (i % 100 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    while (idle.some((c) => c.revision < cacher.revision)) await new Promise((resolve) => setImmediate(resolve));
    out(`${n} small creates with ${caches} idle caches following: ${Math.round((n / (performance.now() - start)) * 1000)} /s`);
    ac.abort();
    await Promise.all(idle.map((c) => c.stop()));
  }
  await backend.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
