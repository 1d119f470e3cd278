// The scheduler under load. First in-process, to isolate the scheduler: 3,000 pending pods already
// stored, 500 nodes, the scheduler alone started on the API's storage; pods bound per second is
// its drain rate (decisions, binding writes, events). Then from outside: `kedge cloud` runs as a
// child process with all its controllers, 500 Nodes are registered through the API with
// allocatable resources and Leases this process renews every 10 s (as edges do), then:
//   1. create → bound: 3,000 pods created over HTTP as fast as the API takes them, pods bound per second;
//   2. a Deployment of 3,000 replicas: time from its POST until every replica is bound (the
//      Deployment and ReplicaSet controllers create the pods, the scheduler binds them);
//   3. the server's CPU while idle, with the 500 nodes heartbeating and with nothing at all.
// Binding times come from a watch on the pods, so they are what a client sees.
//
// Knobs (environment):
//   KEDGE_BENCH_NODES=500        nodes registered
//   KEDGE_BENCH_PODS=3000        pods for the throughput run
//   KEDGE_BENCH_REPLICAS=3000    replicas of the Deployment
//   KEDGE_BENCH_CLIENTS=32       concurrent requests while populating
//   KEDGE_BENCH_IDLE_SECONDS=20  length of each idle CPU window
//   KEDGE_BENCH_SERVER_NODE_OPTIONS  extra Node.js options for the server (e.g. --cpu-prof --cpu-prof-dir=/tmp/p)
//   KEDGE_BENCH_KEEP=1           keep the server's data dir
import type { IncomingMessage } from 'node:http';
import { setTimeout as delay } from 'node:timers/promises';
import { type BenchContext, envNumber, fmtInt, table } from './lib/bench.ts';
import { ApiClient, expectStatus } from './lib/client.ts';
import { CloudServer } from './lib/server.ts';
import { TestApi } from '../src/cloud/controllers/gc/testing.ts';
import { schedulerModule } from '../src/cloud/controllers/scheduler/index.ts';

export const description = 'Scheduler: pods bound per second, a 3,000-replica Deployment bound across 500 nodes, server CPU while idle';

const THROUGHPUT_NS = 'sched-throughput';
const DEPLOYMENT_NS = 'sched-deployment';
const LEASE_NS = 'kube-node-lease';
const RENEW_INTERVAL_MS = 10_000;
const BIND_TIMEOUT_MS = 180_000;
/** Goals from issue 5. */
const GOAL_PODS_PER_SECOND = 300;
const GOAL_DEPLOYMENT_SECONDS = 15;

interface Settings {
  readonly nodes: number;
  readonly pods: number;
  readonly replicas: number;
  readonly clients: number;
  readonly idleSeconds: number;
}

function settings(): Settings {
  return {
    nodes: Math.max(1, Math.round(envNumber('KEDGE_BENCH_NODES', 500))),
    pods: Math.max(1, Math.round(envNumber('KEDGE_BENCH_PODS', 3000))),
    replicas: Math.max(1, Math.round(envNumber('KEDGE_BENCH_REPLICAS', 3000))),
    clients: Math.max(1, Math.round(envNumber('KEDGE_BENCH_CLIENTS', 32))),
    idleSeconds: Math.max(1, envNumber('KEDGE_BENCH_IDLE_SECONDS', 20)),
  };
}

const rfc3339 = (d = new Date()): string => d.toISOString().replace(/\.\d{3}Z$/, 'Z');
const microTime = (d = new Date()): string => d.toISOString().replace('Z', '000Z');

/** Runs `fn(i)` for i in [0, n) with at most `width` in flight. */
async function pool(n: number, width: number, fn: (i: number) => Promise<void>, signal: AbortSignal): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < n && !signal.aborted) await fn(next++);
  };
  await Promise.all(Array.from({ length: Math.min(width, n) }, worker));
}

interface Resource {
  metadata: { name: string; resourceVersion?: string };
  [k: string]: unknown;
}

/** The nodes: registered Ready with allocatable resources, each with a Lease renewed in the background. */
class NodeFleet {
  readonly #client: ApiClient;
  readonly #leases = new Map<string, Resource>();
  #renewing: Promise<void> | undefined;
  #stop = new AbortController();

  constructor(client: ApiClient) {
    this.#client = client;
  }

  async register(count: number, width: number, signal: AbortSignal): Promise<void> {
    await pool(
      count,
      width,
      async (i) => {
        const name = `node-${String(i).padStart(4, '0')}`;
        const created = await this.#client.request('POST', '/api/v1/nodes', JSON.stringify({ apiVersion: 'v1', kind: 'Node', metadata: { name, labels: { 'kubernetes.io/hostname': name, 'bench.kedge.io/pool': 'edge' } } }));
        expectStatus(created, [201], `create node ${name}`);
        const node = JSON.parse(created.body.toString()) as Resource;
        const resources = { cpu: '8', memory: '16Gi', pods: '110' };
        node['status'] = { capacity: resources, allocatable: resources, conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'bench', lastHeartbeatTime: rfc3339(), lastTransitionTime: rfc3339() }] };
        expectStatus(await this.#client.request('PUT', `/api/v1/nodes/${name}/status`, JSON.stringify(node)), [200], `node ${name} status`);
        const lease = await this.#client.request(
          'POST',
          `/apis/coordination.k8s.io/v1/namespaces/${LEASE_NS}/leases`,
          JSON.stringify({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name, namespace: LEASE_NS }, spec: { holderIdentity: name, leaseDurationSeconds: 40, renewTime: microTime() } }),
        );
        expectStatus(lease, [201], `lease ${name}`);
        this.#leases.set(name, JSON.parse(lease.body.toString()) as Resource);
      },
      signal,
    );
  }

  /** Renews every Lease each 10 s, spread over the interval as real edges are, until {@link stopRenewing}. */
  startRenewing(): void {
    const stop = (this.#stop = new AbortController());
    this.#renewing = (async () => {
      while (!stop.signal.aborted) {
        const started = Date.now();
        const names = [...this.#leases.keys()];
        const gap = RENEW_INTERVAL_MS / Math.max(1, names.length);
        for (const [i, name] of names.entries()) {
          if (stop.signal.aborted) return;
          const due = started + i * gap - Date.now();
          if (due > 0) await delay(due, undefined, { signal: stop.signal }).catch(() => undefined);
          if (stop.signal.aborted) return;
          await this.renew(name);
        }
      }
    })();
  }

  async renew(name: string): Promise<void> {
    const lease = this.#leases.get(name)!;
    (lease['spec'] as Record<string, unknown>)['renewTime'] = microTime();
    const res = await this.#client.request('PUT', `/apis/coordination.k8s.io/v1/namespaces/${LEASE_NS}/leases/${name}`, JSON.stringify(lease));
    expectStatus(res, [200], `renew lease ${name}`);
    this.#leases.set(name, JSON.parse(res.body.toString()) as Resource);
  }

  async renewAll(width: number, signal: AbortSignal): Promise<void> {
    const names = [...this.#leases.keys()];
    await pool(names.length, width, (i) => this.renew(names[i]!), signal);
  }

  async stopRenewing(): Promise<void> {
    this.#stop.abort();
    await this.#renewing;
  }
}

/** Follows the pods of a namespace and records when each was first seen bound, and where. */
class BindingWatch {
  readonly boundAt = new Map<string, number>();
  readonly nodeOf = new Map<string, string>();
  readonly #stream: IncomingMessage;
  #waiters: { count: number; resolve: () => void }[] = [];

  private constructor(stream: IncomingMessage) {
    this.#stream = stream;
    let partial = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      const now = performance.now();
      for (const line of lines) {
        if (line.trim() === '') continue;
        const ev = JSON.parse(line) as { type: string; object: { metadata: { name: string }; spec?: { nodeName?: string } } };
        const node = ev.object.spec?.nodeName;
        if ((ev.type === 'ADDED' || ev.type === 'MODIFIED') && node !== undefined && node !== '' && !this.boundAt.has(ev.object.metadata.name)) {
          this.boundAt.set(ev.object.metadata.name, now);
          this.nodeOf.set(ev.object.metadata.name, node);
        }
      }
      this.#waiters = this.#waiters.filter((w) => {
        if (this.boundAt.size < w.count) return true;
        w.resolve();
        return false;
      });
    });
  }

  static async open(client: ApiClient, namespace: string): Promise<BindingWatch> {
    return new BindingWatch(await client.stream(`/api/v1/namespaces/${namespace}/pods?watch=true`));
  }

  /** Resolves once `count` pods were seen bound; rejects after `timeoutMs`. */
  async waitFor(count: number, timeoutMs: number): Promise<void> {
    if (this.boundAt.size >= count) return;
    const reached = new Promise<void>((resolve) => this.#waiters.push({ count, resolve }));
    const timer = delay(timeoutMs).then(() => {
      throw new Error(`only ${this.boundAt.size} of ${count} pods bound after ${timeoutMs / 1000} s`);
    });
    await Promise.race([reached, timer]);
  }

  close(): void {
    this.#stream.destroy();
  }
}

function podJson(name: string): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels: { app: 'throughput' } },
    spec: { nodeSelector: { 'bench.kedge.io/pool': 'edge' }, containers: [{ name: 'app', image: 'registry.local/app:1', resources: { requests: { cpu: '10m', memory: '16Mi' } } }] },
  });
}

function deploymentJson(replicas: number): string {
  return JSON.stringify({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'fleet' },
    spec: {
      replicas,
      selector: { matchLabels: { app: 'fleet' } },
      template: {
        metadata: { labels: { app: 'fleet' } },
        spec: { nodeSelector: { 'bench.kedge.io/pool': 'edge' }, containers: [{ name: 'app', image: 'registry.local/app:1', resources: { requests: { cpu: '10m', memory: '16Mi' } } }] },
      },
    },
  });
}

/** Server CPU over a window, as a percentage of one core. */
async function cpuPercent(server: CloudServer, seconds: number, signal: AbortSignal): Promise<number> {
  const cpu0 = server.cpuSeconds();
  const t0 = performance.now();
  await delay(seconds * 1000, undefined, { signal }).catch(() => undefined);
  return ((server.cpuSeconds() - cpu0) / ((performance.now() - t0) / 1000)) * 100;
}

/** The scheduler alone, in-process, draining a backlog of pending pods: pods bound per second. */
async function drainRate(nodes: number, pods: number, signal: AbortSignal): Promise<{ podsPerSecond: number; seconds: number }> {
  const api = await TestApi.start();
  try {
    await pool(nodes, 8, async (i) => void (await api.createNode(`node-${i}`, { cpu: '8', memory: '16Gi', labels: { 'bench.kedge.io/pool': 'edge' } })), signal);
    const owner = { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'backlog', uid: '00000000-0000-4000-8000-000000000001', controller: true };
    const spec = JSON.parse(podJson('x')) as { spec: Record<string, unknown> };
    await pool(pods, 8, async (i) => void (await api.createPod(`pod-${i}`, { ownerReferences: [owner], spec: spec.spec })), signal);
    let bound = 0;
    let done: () => void = () => undefined;
    const all = new Promise<void>((resolve) => (done = resolve));
    const list = await api.pods.list('default');
    const watching = (async () => {
      for await (const ev of api.pods.watch('default', { resourceVersion: list.resourceVersion, signal: api.signal })) {
        const spec = ev.object['spec'] as { nodeName?: string } | undefined;
        if (ev.type === 'MODIFIED' && spec?.nodeName !== undefined && ++bound === pods) done();
      }
    })();
    const t = performance.now();
    await api.run(schedulerModule);
    await Promise.race([all, delay(BIND_TIMEOUT_MS).then(() => Promise.reject(new Error(`in-process: ${bound} of ${pods} bound`)))]);
    const seconds = (performance.now() - t) / 1000;
    void watching.catch(() => undefined);
    return { podsPerSecond: pods / seconds, seconds };
  } finally {
    await api.close();
  }
}

function spread(nodeOf: ReadonlyMap<string, string>): { nodes: number; min: number; max: number } {
  const counts = new Map<string, number>();
  for (const n of nodeOf.values()) counts.set(n, (counts.get(n) ?? 0) + 1);
  const values = [...counts.values()];
  return { nodes: counts.size, min: values.length === 0 ? 0 : Math.min(...values), max: values.length === 0 ? 0 : Math.max(...values) };
}

export default async function schedulerBench({ signal }: BenchContext): Promise<void> {
  const s = settings();
  console.log(`scheduler bench: ${fmtInt(s.nodes)} nodes, ${fmtInt(s.pods)} pods, a Deployment of ${fmtInt(s.replicas)} replicas, ${s.clients} clients`);
  const rows: string[][] = [];
  const drain = await drainRate(s.nodes, s.pods, signal);
  console.log(`in-process: the scheduler bound a backlog of ${fmtInt(s.pods)} pods over ${fmtInt(s.nodes)} nodes in ${drain.seconds.toFixed(1)} s`);
  rows.push([`scheduling throughput (scheduler alone, backlog of ${fmtInt(s.pods)})`, `${fmtInt(drain.podsPerSecond)} pods/s`, `≥ ${GOAL_PODS_PER_SECOND} pods/s`, drain.podsPerSecond >= GOAL_PODS_PER_SECOND ? 'ok' : 'MISSED']);
  const nodeOptions = process.env['KEDGE_BENCH_SERVER_NODE_OPTIONS'];
  const server = await CloudServer.start({ ...(nodeOptions !== undefined ? { nodeOptions } : {}), keepDataDir: process.env['KEDGE_BENCH_KEEP'] === '1' });
  const client = new ApiClient(server.credential(), { maxSockets: s.clients + 4 });
  const fleet = new NodeFleet(client);
  try {
    for (const ns of [THROUGHPUT_NS, DEPLOYMENT_NS]) {
      expectStatus(await client.request('POST', '/api/v1/namespaces', JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } })), [201], `namespace ${ns}`);
    }
    let t = performance.now();
    await fleet.register(s.nodes, s.clients, signal);
    console.log(`registered ${fmtInt(s.nodes)} nodes with Leases in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    fleet.startRenewing();

    // 1. Throughput: the scheduler's bindings per second while pods arrive as fast as the API takes them.
    const watch1 = await BindingWatch.open(client, THROUGHPUT_NS);
    t = performance.now();
    await pool(s.pods, s.clients, async (i) => expectStatus(await client.request('POST', `/api/v1/namespaces/${THROUGHPUT_NS}/pods`, podJson(`pod-${i}`)), [201], `pod ${i}`), signal);
    const created = performance.now();
    await watch1.waitFor(s.pods, BIND_TIMEOUT_MS);
    watch1.close();
    const times = [...watch1.boundAt.values()];
    const first = Math.min(...times);
    const last = Math.max(...times);
    const podsPerSecond = s.pods / ((last - t) / 1000);
    const createRate = s.pods / ((created - t) / 1000);
    console.log(
      `throughput: ${fmtInt(s.pods)} pods created in ${((created - t) / 1000).toFixed(1)} s (${fmtInt(createRate)}/s), all bound ${((last - t) / 1000).toFixed(1)} s after the first create ` +
        `(bindings from ${((first - t) / 1000).toFixed(2)} s to ${((last - t) / 1000).toFixed(2)} s: ${fmtInt(s.pods / ((last - first) / 1000))}/s)`,
    );
    // The API's create rate bounds this run; what tells about the scheduler is how far it lags.
    const lagMs = last - created;
    rows.push([`${fmtInt(s.pods)} pods created over HTTP (${fmtInt(createRate)}/s) → bound`, `${fmtInt(podsPerSecond)} pods/s, last bound ${fmtInt(lagMs)} ms after the last create`, 'keeps up (< 1 s behind)', lagMs < 1000 ? 'ok' : 'MISSED']);
    const sp1 = spread(watch1.nodeOf);
    console.log(`  placed on ${sp1.nodes} nodes, ${sp1.min}–${sp1.max} per node`);

    // 2. A Deployment: controllers create the pods, the scheduler binds them.
    const watch2 = await BindingWatch.open(client, DEPLOYMENT_NS);
    t = performance.now();
    expectStatus(await client.request('POST', `/apis/apps/v1/namespaces/${DEPLOYMENT_NS}/deployments`, deploymentJson(s.replicas)), [201], 'deployment');
    await watch2.waitFor(s.replicas, BIND_TIMEOUT_MS);
    watch2.close();
    const deploymentSeconds = (Math.max(...watch2.boundAt.values()) - t) / 1000;
    const sp2 = spread(watch2.nodeOf);
    console.log(`deployment: ${fmtInt(s.replicas)} replicas bound ${deploymentSeconds.toFixed(1)} s after the POST, on ${sp2.nodes} nodes, ${sp2.min}–${sp2.max} per node`);
    rows.push([`Deployment of ${fmtInt(s.replicas)} replicas over ${fmtInt(s.nodes)} nodes, POST → all bound`, `${deploymentSeconds.toFixed(1)} s`, `≤ ${GOAL_DEPLOYMENT_SECONDS} s`, deploymentSeconds <= GOAL_DEPLOYMENT_SECONDS ? 'ok' : 'MISSED']);
    rows.push(['replicas per node (min–max)', `${sp2.min}–${sp2.max}`, 'even', sp2.max - sp2.min <= 1 ? 'ok' : 'uneven']);
    server.assertRunning();

    // 3. Idle: settle, then measure with heartbeats, then with nothing (well inside the grace period).
    await delay(5_000, undefined, { signal }).catch(() => undefined);
    const heartbeating = await cpuPercent(server, s.idleSeconds, signal);
    await fleet.stopRenewing();
    await fleet.renewAll(s.clients, signal);
    const quiet = await cpuPercent(server, Math.min(s.idleSeconds, 25), signal);
    rows.push([`server CPU idle, ${fmtInt(s.nodes)} nodes renewing Leases every 10 s`, `${heartbeating.toFixed(1)} % of a core`, '—', '']);
    rows.push(['server CPU idle, no traffic', `${quiet.toFixed(1)} % of a core`, '< 2 %', quiet < 2 ? 'ok' : 'MISSED']);
    const rss = server.memory().rss;
    rows.push(['server RSS at the end', `${(rss / 1024 ** 2).toFixed(0)} MiB`, '—', '']);
  } catch (err) {
    if (!server.running) console.log(`server stderr (tail):\n${server.stderrTail()}`);
    throw err;
  } finally {
    await fleet.stopRenewing().catch(() => undefined);
    client.close();
    await server.stop();
  }
  console.log(`\n${table(['figure', 'measured', 'goal', ''], rows)}`);
}
