// CloudHub under a fleet of simulated edge nodes. `kedge cloud` runs as a child process (its RSS and
// CPU are its own); the nodes run in worker threads of this process, each one the real edge code
// minus a runtime: EdgeHub (mTLS WSS session, inventory, persist-then-ack, back-off, lease slot),
// MetaManager on an in-memory SQLite, the status table and outbox, and the node agent (registration,
// Lease every 15 s). Node certificates are signed with the cloud's CA key, as joins would sign them.
//
// Measures issue 3's figures: connect time and cloud RSS at 1,000 and 5,000 nodes, steady uplink
// bytes per idle node, object-to-edge latency under a stream of pod creations, reconnect-storm
// convergence after `kill -9` of the cloud, and a single edge's resync after a cloud outage.
//
// Knobs (environment):
//   KEDGE_BENCH_SCALE=0.1          node counts × scale (default 1: 1,000 then 5,000)
//   KEDGE_BENCH_WORKERS=2          worker threads running the simulated nodes
//   KEDGE_BENCH_IDLE_SECONDS=60    window over which idle uplink is measured (0 skips it)
//   KEDGE_BENCH_SETTLE_SECONDS=10  quiet time before each RSS reading
//   KEDGE_BENCH_POD_RATE=50        pod creations per second during the latency run
//   KEDGE_BENCH_POD_SECONDS=20     length of the latency run (0 skips it)
//   KEDGE_BENCH_KEDGE=<path>       the kedge executable (default bin/kedge)
//   KEDGE_BENCH_KEEP=1             keep the cloud's data dir
//   KEDGE_BENCH_JSON=<path>        also write the figures as JSON
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { type BenchContext, envNumber, fmtBytes, fmtInt, fmtMs, percentile, table } from './lib/bench.ts';
import { ApiClient, expectStatus } from './lib/client.ts';
import { nowMs, podJson, podsPath } from './lib/pods.ts';
import { readKubeconfig } from './lib/server.ts';
import { openEdgeDatabase } from '../src/edge/db.ts';
import { EdgeHub } from '../src/edge/hub/edge-hub.ts';
import { Outbox } from '../src/edge/hub/outbox.ts';
import type { HubCredentials } from '../src/edge/hub/rotation.ts';
import { StatusTable } from '../src/edge/hub/status-table.ts';
import type { NodeTls } from '../src/edge/hub/transport.ts';
import { MetaManager } from '../src/edge/meta/meta-manager.ts';
import type { HostFacts } from '../src/edge/node/host.ts';
import { NodeAgent } from '../src/edge/node/node-agent.ts';
import { createLogger, silentLogger, type LogFields, type Logger } from '../src/log/logger.ts';
import { issueClientCertificate, loadCa } from '../src/pki/index.ts';

export const description = 'CloudHub with simulated edge nodes: connect time and cloud RSS (1,000/5,000), idle uplink, object-to-edge latency, reconnect storm, single-edge resync';

const KEDGE = process.env['KEDGE_BENCH_KEDGE'] || fileURLToPath(new URL('../bin/kedge', import.meta.url));
const SENT_ANNOTATION = 'bench.kedge.io/sent';
const NS = 'hub-bench';
const WORKER_ROLE = 'kedge-hub-bench-edges';

// ---------------------------------------------------------------------------------------------
// Worker side: simulated nodes.

type ToWorker =
  | { id: number; type: 'prepare'; caCertPem: string; caKeyPem: string; names: string[] }
  | { id: number; type: 'connect'; hub: { host: string; port: number }; names: string[] }
  | { id: number; type: 'report' }
  | { id: number; type: 'stop' };

/** What a worker reports about its nodes. */
interface WorkerReport {
  readonly nodes: number;
  readonly ready: number;
  /** Latest time (nowMs) any of its nodes became ready. */
  readonly lastReadyAt: number;
  readonly wireBytesOut: number;
  readonly wireBytesIn: number;
  readonly connects: number;
  /** Object-to-edge latencies since the last report, ms. */
  readonly latencies: number[];
  /** Why sessions ended or failed to open since the last report. */
  readonly failures: Record<string, number>;
  /** Latest time (nowMs) any of its nodes left the ready state. */
  readonly lastDownAt: number;
  /** When nodes left the ready state since the last report (nowMs). */
  readonly downs: number[];
  /** When nodes became ready since the last report (nowMs). */
  readonly readies: number[];
  /** The worst event-loop delay of the worker since the last report, ms: how late it ran the nodes' work. */
  readonly loopDelayMaxMs: number;
  readonly loopDelayP99Ms: number;
  /** JavaScript heap in use, bytes, summed over workers. */
  readonly heapUsed: number;
}

type FromWorker = { id: number; ok: true; report?: WorkerReport } | { id: number; ok: false; error: string };

const BENCH_HOST: HostFacts = {
  hostname: 'bench',
  cpus: 4,
  memoryBytes: 8 * 1024 ** 3,
  addresses: [
    { type: 'InternalIP', address: '10.0.0.1' },
    { type: 'Hostname', address: 'bench' },
  ],
  nodeInfo: { machineID: '', systemUUID: '', bootID: '', kernelVersion: '6.1', osImage: 'bench', containerRuntimeVersion: 'none://0', kubeletVersion: 'v0.1.0', kubeProxyVersion: '', operatingSystem: 'linux', architecture: 'amd64' },
};

/**
 * Counts why sessions ended or could not start ("cannot reach the hub" / "disconnected from the
 * hub" lines, by close code and error), whatever the level, and passes everything on to `inner`.
 */
class ReasonCounter implements Logger {
  readonly #inner: Logger;
  readonly #counts: Map<string, number>;

  constructor(inner: Logger, counts: Map<string, number>) {
    this.#inner = inner;
    this.#counts = counts;
  }

  #count(msg: string, fields: LogFields | undefined): void {
    if (msg !== 'cannot reach the hub' && msg !== 'disconnected from the hub') return;
    const err = typeof fields?.['err'] === 'string' ? fields['err'].replace(/\d+(\.\d+)*(:\d+)?/g, 'N').slice(0, 70) : '';
    const code = typeof fields?.['code'] === 'number' ? fields['code'] : '';
    const http = typeof fields?.['httpStatus'] === 'number' ? ` HTTP ${fields['httpStatus']}` : '';
    const key = `${msg === 'disconnected from the hub' ? 'dropped' : 'failed'} ${code}${http} ${err}`.trim();
    this.#counts.set(key, (this.#counts.get(key) ?? 0) + 1);
  }

  trace(msg: string, fields?: LogFields): void {
    this.#inner.trace(msg, fields);
  }
  debug(msg: string, fields?: LogFields): void {
    this.#count(msg, fields);
    this.#inner.debug(msg, fields);
  }
  info(msg: string, fields?: LogFields): void {
    this.#count(msg, fields);
    this.#inner.info(msg, fields);
  }
  warn(msg: string, fields?: LogFields): void {
    this.#count(msg, fields);
    this.#inner.warn(msg, fields);
  }
  error(msg: string, fields?: LogFields): void {
    this.#inner.error(msg, fields);
  }
  child(): Logger {
    return this;
  }
}

class FixedCredentials implements HubCredentials {
  readonly #tls: NodeTls;
  constructor(tls: NodeTls) {
    this.#tls = tls;
  }
  current(): NodeTls {
    return this.#tls;
  }
  replace(): Promise<void> {
    return Promise.reject(new Error('the benchmark does not rotate certificates'));
  }
}

interface SimNode {
  readonly hub: EdgeHub;
  readyAt: number;
  up: boolean;
}

function runEdgeWorker(): void {
  const port = parentPort!;
  // KEDGE_BENCH_DEBUG=1: the simulated nodes log (to stderr) at debug level.
  const log: Logger = process.env['KEDGE_BENCH_DEBUG'] === '1' ? createLogger('debug') : silentLogger();
  const tls = new Map<string, NodeTls>();
  const nodes = new Map<string, SimNode>();
  const abort = new AbortController();
  let latencies: number[] = [];
  let lastReadyAt = 0;
  let lastDownAt = 0;
  let downs: number[] = [];
  let readies: number[] = [];
  const failures = new Map<string, number>();
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();

  const startNode = (name: string, hub: { host: string; port: number }): void => {
    const db = openEdgeDatabase(':memory:');
    const meta = new MetaManager({ db, log: silentLogger(), historySize: 16 });
    const statuses = new StatusTable(db);
    const outbox = new Outbox({ db, log: silentLogger() });
    const edgeHub = new EdgeHub({ nodeName: name, hub, credentials: new FixedCredentials(tls.get(name)!), sync: meta, statuses, outbox, log: new ReasonCounter(log.child({ node: name }), failures) });
    const node: SimNode = { hub: edgeHub, readyAt: 0, up: false };
    edgeHub.onState((s) => {
      if (s === 'offline' && node.readyAt > 0 && node.up) {
        lastDownAt = nowMs();
        downs.push(lastDownAt);
      }
      node.up = s === 'ready';
      if (s !== 'ready') return;
      node.readyAt = nowMs();
      readies.push(node.readyAt);
      lastReadyAt = Math.max(lastReadyAt, node.readyAt);
    });
    meta.subscribe((changes) => {
      const at = nowMs();
      for (const c of changes) {
        if (c.type !== 'ADDED' || c.object.kind !== 'pods') continue;
        const sent = Number(c.object.object.metadata.annotations?.[SENT_ANNOTATION]);
        if (Number.isFinite(sent)) latencies.push(at - sent);
      }
    });
    nodes.set(name, node);
    void edgeHub.start(abort.signal);
    const agent = new NodeAgent({ nodeName: name, labels: { 'bench.kedge.io/sim': 'true' }, meta, statuses, lease: edgeHub, host: () => BENCH_HOST, log: silentLogger() });
    void agent.start(abort.signal);
    void edgeHub.done.finally(() => db.close());
  };

  const handle = async (m: ToWorker): Promise<WorkerReport | undefined> => {
    switch (m.type) {
      case 'prepare': {
        const ca = await loadCa(m.caCertPem, m.caKeyPem);
        for (const name of m.names) {
          const issued = await issueClientCertificate(ca, { commonName: `system:node:${name}`, organizations: ['system:nodes'] });
          tls.set(name, { ca: m.caCertPem, cert: issued.certPem, key: issued.keyPem });
        }
        return undefined;
      }
      case 'connect':
        // In slices, yielding between them: creating thousands of nodes in one go would starve
        // the sessions already open (their pings and acks) for seconds.
        for (let i = 0; i < m.names.length; i++) {
          startNode(m.names[i]!, m.hub);
          if (i % 25 === 24) await new Promise((r) => setImmediate(r));
        }
        return undefined;
      case 'report': {
        let ready = 0;
        let wireBytesOut = 0;
        let wireBytesIn = 0;
        let connects = 0;
        for (const n of nodes.values()) {
          if (n.hub.state === 'ready') ready++;
          const s = n.hub.stats;
          wireBytesOut += s.wireBytesOut;
          wireBytesIn += s.wireBytesIn;
          connects += s.connects;
        }
        const report: WorkerReport = {
          nodes: nodes.size,
          ready,
          lastReadyAt,
          lastDownAt,
          downs,
          readies,
          wireBytesOut,
          wireBytesIn,
          connects,
          latencies,
          failures: Object.fromEntries(failures),
          loopDelayMaxMs: loopDelay.max / 1e6,
          loopDelayP99Ms: loopDelay.percentile(99) / 1e6,
          heapUsed: process.memoryUsage().heapUsed,
        };
        latencies = [];
        downs = [];
        readies = [];
        failures.clear();
        loopDelay.reset();
        return report;
      }
      case 'stop':
        abort.abort();
        await Promise.all([...nodes.values()].map((n) => n.hub.done.catch(() => undefined)));
        return undefined;
    }
  };

  port.on('message', (m: ToWorker) => {
    handle(m).then(
      (report) => port.postMessage({ id: m.id, ok: true, ...(report !== undefined ? { report } : {}) } satisfies FromWorker),
      (err: unknown) => port.postMessage({ id: m.id, ok: false, error: err instanceof Error ? (err.stack ?? err.message) : String(err) } satisfies FromWorker),
    );
  });
}

if (!isMainThread && (workerData as { role?: string } | null)?.role === WORKER_ROLE) runEdgeWorker();

/** The main thread's handle on one worker. */
class EdgeWorker {
  readonly #worker: Worker;
  readonly #pending = new Map<number, { resolve: (r: WorkerReport | undefined) => void; reject: (e: Error) => void }>();
  #next = 0;

  constructor() {
    this.#worker = new Worker(new URL(import.meta.url), { workerData: { role: WORKER_ROLE }, execArgv: ['--disable-warning=ExperimentalWarning'] });
    this.#worker.on('message', (m: FromWorker) => {
      const p = this.#pending.get(m.id);
      this.#pending.delete(m.id);
      if (m.ok) p?.resolve(m.report);
      else p?.reject(new Error(`worker: ${m.error}`));
    });
    this.#worker.on('error', (err) => {
      for (const p of this.#pending.values()) p.reject(err);
      this.#pending.clear();
    });
  }

  call(m: Omit<Extract<ToWorker, { type: 'prepare' }>, 'id'> | Omit<Extract<ToWorker, { type: 'connect' }>, 'id'> | { type: 'report' } | { type: 'stop' }): Promise<WorkerReport | undefined> {
    const id = ++this.#next;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#worker.postMessage({ ...m, id });
    });
  }

  async report(): Promise<WorkerReport> {
    return (await this.call({ type: 'report' }))!;
  }

  async terminate(): Promise<void> {
    await this.call({ type: 'stop' }).catch(() => undefined);
    await this.#worker.terminate();
  }
}

/** The fleet: nodes spread over the workers round-robin. */
class Fleet {
  readonly workers: EdgeWorker[];
  #started = 0;

  constructor(workers: number) {
    this.workers = Array.from({ length: workers }, () => new EdgeWorker());
  }

  /** Names of the first `n` simulated nodes. */
  static names(from: number, to: number): string[] {
    return Array.from({ length: to - from }, (_, i) => `bench-${String(from + i).padStart(5, '0')}`);
  }

  /** Which worker holds each node: the one that made its certificate. */
  readonly #home = new Map<string, number>();

  #split(names: readonly string[]): string[][] {
    const parts: string[][] = this.workers.map(() => []);
    for (const n of names) {
      let w = this.#home.get(n);
      if (w === undefined) {
        w = this.#home.size % this.workers.length;
        this.#home.set(n, w);
      }
      parts[w]!.push(n);
    }
    return parts;
  }

  async prepare(caCertPem: string, caKeyPem: string, names: readonly string[]): Promise<void> {
    const parts = this.#split(names);
    await Promise.all(this.workers.map((w, i) => w.call({ type: 'prepare', caCertPem, caKeyPem, names: parts[i]! })));
  }

  async connect(hub: { host: string; port: number }, names: readonly string[]): Promise<void> {
    const parts = this.#split(names);
    await Promise.all(this.workers.map((w, i) => w.call({ type: 'connect', hub, names: parts[i]! })));
    this.#started += names.length;
  }

  get started(): number {
    return this.#started;
  }

  async report(): Promise<WorkerReport> {
    const all = await Promise.all(this.workers.map((w) => w.report()));
    return {
      nodes: sum(all.map((r) => r.nodes)),
      ready: sum(all.map((r) => r.ready)),
      lastReadyAt: Math.max(...all.map((r) => r.lastReadyAt)),
      wireBytesOut: sum(all.map((r) => r.wireBytesOut)),
      wireBytesIn: sum(all.map((r) => r.wireBytesIn)),
      connects: sum(all.map((r) => r.connects)),
      latencies: all.flatMap((r) => r.latencies),
      failures: mergeCounts(all.map((r) => r.failures)),
      lastDownAt: Math.max(...all.map((r) => r.lastDownAt)),
      downs: all.flatMap((r) => r.downs),
      readies: all.flatMap((r) => r.readies),
      loopDelayMaxMs: Math.max(...all.map((r) => r.loopDelayMaxMs)),
      loopDelayP99Ms: Math.max(...all.map((r) => r.loopDelayP99Ms)),
      heapUsed: sum(all.map((r) => r.heapUsed)),
    };
  }

  /**
   * Resolves once `count` nodes are ready; returns the time the last one became ready and why
   * sessions failed meanwhile. Prints progress every 5 s while it waits.
   */
  async waitReady(count: number, timeoutMs: number, signal: AbortSignal, cloud?: Cloud): Promise<{ lastReadyAt: number; report: WorkerReport; failures: Record<string, number>; readies: number[] }> {
    const started = Date.now();
    const readies: number[] = [];
    const deadline = started + timeoutMs;
    let failures: Record<string, number> = {};
    let lastPrint = started;
    let cpu = cloud?.cpuSeconds() ?? 0;
    for (;;) {
      const r = await this.report();
      failures = mergeCounts([failures, r.failures]);
      readies.push(...r.readies);
      if (r.ready >= count) return { lastReadyAt: r.lastReadyAt, report: r, failures, readies };
      if (Date.now() > deadline || signal.aborted) throw new Error(`${r.ready} of ${count} nodes ready after ${timeoutMs} ms; failures: ${JSON.stringify(failures)}`);
      if (Date.now() - lastPrint >= 5000) {
        const now = cloud?.cpuSeconds() ?? 0;
        console.log(`    ${secs(Date.now() - started)}: ${fmtInt(r.ready)} of ${fmtInt(count)} ready${cloud !== undefined ? `, cloud CPU ${Math.round(((now - cpu) * 100000) / (Date.now() - lastPrint))}%` : ''}${r.loopDelayMaxMs > 0 ? `, worker event-loop delay up to ${fmtMs(r.loopDelayMaxMs)}` : ''}`);
        cpu = now;
        lastPrint = Date.now();
      }
      await sleep(100);
    }
  }

  async stop(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

// ---------------------------------------------------------------------------------------------
// Main side: the cloud process.

/** `kedge cloud` as a child process on fixed ports, restartable in place after `kill -9`. */
class Cloud {
  readonly dataDir = mkdtempSync(join(tmpdir(), 'kedge-hub-bench-'));
  readonly ports: { api: number; hub: number; join: number };
  #child: ChildProcess | undefined;
  #exited = true;
  #stderr: string[] = [];

  constructor(ports: { api: number; hub: number; join: number }) {
    this.ports = ports;
  }

  get pid(): number {
    return this.#child!.pid!;
  }

  /** Starts the process; resolves at spawn with the time, then {@link ready} waits for /readyz. */
  start(): number {
    const child = spawn(
      KEDGE,
      ['cloud', '--data-dir', this.dataDir, '--api-port', String(this.ports.api), '--hub-port', String(this.ports.hub), '--join-port', String(this.ports.join), '--bind-address', '127.0.0.1', '--log-level', 'warn'],
      { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, HOME: this.dataDir } },
    );
    this.#child = child;
    this.#exited = false;
    child.stderr.setEncoding('utf8').on('data', (s: string) => {
      this.#stderr.push(...s.split('\n'));
      if (this.#stderr.length > 300) this.#stderr = this.#stderr.slice(-200);
    });
    child.once('exit', () => (this.#exited = true));
    return nowMs();
  }

  /** Resolves (with the time) once the API answers /readyz and the kubeconfig exists. */
  async ready(timeoutMs = 60_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.#exited) throw new Error(`kedge cloud exited:\n${this.#stderr.slice(-40).join('\n')}`);
      if (existsSync(join(this.dataDir, 'kubeconfig')) && (await readyz(this.ports.api))) return nowMs();
      if (Date.now() > deadline) throw new Error(`kedge cloud not ready after ${timeoutMs} ms:\n${this.#stderr.slice(-40).join('\n')}`);
      await sleep(25);
    }
  }

  rss(): number {
    const status = readFileSync(`/proc/${this.pid}/status`, 'utf8');
    return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? NaN) * 1024;
  }

  cpuSeconds(): number {
    const stat = readFileSync(`/proc/${this.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  }

  async crash(): Promise<void> {
    if (this.#exited) return;
    const exited = once(this.#child!, 'exit');
    this.#child!.kill('SIGKILL');
    await exited;
  }

  async stop(keep: boolean): Promise<void> {
    if (!this.#exited) {
      const exited = once(this.#child!, 'exit');
      this.#child!.kill('SIGTERM');
      const timer = setTimeout(() => this.#child!.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    }
    if (keep) console.log(`cloud data dir kept: ${this.dataDir}`);
    else rmSync(this.dataDir, { recursive: true, force: true });
  }
}

function readyz(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = https.get({ host: '127.0.0.1', port, path: '/readyz', rejectUnauthorized: false, timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}

/** Resolves with the time (nowMs) a TCP connect to `port` first succeeds. */
async function waitListening(port: number, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return nowMs();
    if (Date.now() > deadline) throw new Error(`nothing listening on ${port} after ${timeoutMs} ms`);
    await sleep(20);
  }
}

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);

function mergeCounts(all: readonly Record<string, number>[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const c of all) for (const [k, v] of Object.entries(c)) out[k] = (out[k] ?? 0) + v;
  return out;
}

function printFailures(failures: Record<string, number>): void {
  const rows = Object.entries(failures).sort((a, b) => b[1] - a[1]);
  if (rows.length === 0) return;
  console.log('    sessions that failed or dropped meanwhile:');
  for (const [why, n] of rows.slice(0, 8)) console.log(`      ${fmtInt(n).padStart(7)}  ${why}`);
}
const secs = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

interface Figure {
  readonly name: string;
  readonly value: string;
  readonly goal: string;
  readonly ok: boolean | undefined;
  readonly raw: number;
}

export default async function hubBench(ctx: BenchContext): Promise<void> {
  const scale = envNumber('KEDGE_BENCH_SCALE', 1);
  const small = Math.max(1, Math.round(1000 * scale));
  const large = Math.max(small, Math.round(5000 * scale));
  const workers = Math.max(1, Math.round(envNumber('KEDGE_BENCH_WORKERS', 2)));
  const idleSeconds = envNumber('KEDGE_BENCH_IDLE_SECONDS', 60);
  const settleSeconds = envNumber('KEDGE_BENCH_SETTLE_SECONDS', 10);
  const podRate = envNumber('KEDGE_BENCH_POD_RATE', 50);
  const podSeconds = envNumber('KEDGE_BENCH_POD_SECONDS', 20);
  const figures: Figure[] = [];
  const add = (name: string, raw: number, value: string, goal: string, ok: boolean | undefined): void => {
    figures.push({ name, value, goal, ok, raw });
    console.log(`  ${name}: ${value}${goal !== '' ? ` (goal ${goal})` : ''}`);
  };

  const cloud = new Cloud({ api: await freePort(), hub: await freePort(), join: await freePort() });
  const fleet = new Fleet(workers);
  const hub = { host: '127.0.0.1', port: cloud.ports.hub };
  try {
    console.log(`hub bench: ${small.toLocaleString('en-US')} then ${large.toLocaleString('en-US')} simulated nodes in ${workers} worker threads; cloud data dir ${cloud.dataDir}`);
    cloud.start();
    await cloud.ready();
    const caCertPem = readFileSync(join(cloud.dataDir, 'pki', 'ca.crt'), 'utf8');
    const caKeyPem = readFileSync(join(cloud.dataDir, 'pki', 'ca.key'), 'utf8');
    const single = 'bench-single';
    let t = performance.now();
    await fleet.prepare(caCertPem, caKeyPem, [single, ...Fleet.names(0, large)]);
    console.log(`node certificates: ${fmtInt(large + 1)} in ${secs(performance.now() - t)}`);

    // 1. A single edge, and a cloud outage.
    await fleet.connect(hub, [single]);
    await fleet.waitReady(1, 30_000, ctx.signal);
    await sleep(1000);
    await cloud.crash();
    await sleep(2000);
    const respawned = cloud.start();
    const back = await cloud.ready();
    const single1 = await fleet.waitReady(1, 30_000, ctx.signal);
    console.log(`\n1. single edge after a cloud outage (kill -9, 2 s down, restart ${secs(back - respawned)} to /readyz):`);
    add('single edge in sync after the cloud is back', single1.lastReadyAt - back, `${fmtMs(single1.lastReadyAt - back)} after /readyz (${fmtMs(single1.lastReadyAt - respawned)} after the restart began)`, '≤ 5 s', single1.lastReadyAt - back <= 5000);

    await sleep(settleSeconds * 1000);
    const baseRss = cloud.rss();
    console.log(`\ncloud RSS with 1 node: ${fmtBytes(baseRss)}`);

    // 2. Connect the small fleet, then the large one. Connect times add up; the quiet time between
    // (for the RSS reading) does not count.
    let connectMs = 0;
    for (const [label, from, to] of [
      ['2', 0, small],
      ['3', small, large],
    ] as const) {
      if (to <= from) continue;
      const cpu0 = cloud.cpuSeconds();
      const benchCpu0 = process.cpuUsage();
      t = nowMs();
      await fleet.connect(hub, Fleet.names(from, to));
      console.log(`\n${label}. connecting ${fmtInt(to - from)} nodes (to ${fmtInt(to)}):`);
      const done = await fleet.waitReady(to + 1, 300_000, ctx.signal, cloud);
      const ms = done.lastReadyAt - t;
      const each = done.readies.map((r) => r - t);
      const benchCpu = process.cpuUsage(benchCpu0);
      console.log(`    per node, connect to in sync: p50 ${fmtMs(percentile(each, 50))}, p90 ${fmtMs(percentile(each, 90))}, p99 ${fmtMs(percentile(each, 99))}, max ${fmtMs(Math.max(...each))}; CPU: cloud ${(cloud.cpuSeconds() - cpu0).toFixed(1)} s, simulated nodes ${((benchCpu.user + benchCpu.system) / 1e6).toFixed(1)} s`);
      printFailures(done.failures);
      connectMs += ms;
      const how = from === 0 ? `${secs(ms)}` : `${secs(connectMs)} in all: ${fmtInt(from)} in ${secs(connectMs - ms)}, then ${fmtInt(to - from)} more in ${secs(ms)}`;
      add(`${fmtInt(to)} nodes connected and in sync`, connectMs, how, to === large ? '≤ 60 s' : '', to === large ? connectMs <= 60_000 : undefined);
      await sleep(settleSeconds * 1000);
      const rss = cloud.rss();
      const perNode = (rss - baseRss) / to;
      add(`cloud RSS at ${fmtInt(to)} idle nodes`, perNode, `${fmtBytes(rss)}, ${(perNode / 1024).toFixed(0)} KB per node`, '≤ 150 KB per node', perNode <= 150 * 1024);
    }

    // 4. Idle uplink: leases (and pongs) only.
    if (idleSeconds > 0) {
      const before = await fleet.report();
      const idleStart = performance.now();
      const idleCpu = cloud.cpuSeconds();
      const benchCpu = process.cpuUsage();
      await sleep(idleSeconds * 1000);
      const afterIdle = await fleet.report();
      const idleS = (performance.now() - idleStart) / 1000;
      const benchUsed = process.cpuUsage(benchCpu);
      console.log(`\n    while idle: cloud CPU ${(((cloud.cpuSeconds() - idleCpu) * 100) / idleS).toFixed(1)}%, simulated nodes CPU ${((benchUsed.user + benchUsed.system) / 10_000 / idleS).toFixed(1)}%, their JS heap ${fmtBytes(afterIdle.heapUsed)}`);
      const perNodeBps = ((afterIdle.wireBytesOut - before.wireBytesOut) * 8) / idleS / afterIdle.nodes;
      console.log(`\n4. idle uplink over ${idleS.toFixed(0)} s (TLS records and WebSocket frames; TCP/IP headers not counted):`);
      add('uplink per idle node', perNodeBps, `${(perNodeBps / 1000).toFixed(3)} kbit/s (${((afterIdle.wireBytesOut - before.wireBytesOut) / afterIdle.nodes / idleS).toFixed(1)} B/s)`, '≤ 0.25 kbit/s', perNodeBps <= 250);
      const downBps = ((afterIdle.wireBytesIn - before.wireBytesIn) * 8) / idleS / afterIdle.nodes;
      add('downlink per idle node', downBps, `${(downBps / 1000).toFixed(3)} kbit/s`, '', undefined);
    }

    // 5. Object-to-edge latency under a stream of pod creations.
    if (podSeconds > 0 && podRate > 0) {
      const cred = readKubeconfig(join(cloud.dataDir, 'kubeconfig'));
      const api = new ApiClient(cred, { maxSockets: 16 });
      expectStatus(await api.request('POST', '/api/v1/namespaces', JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } })), [201, 409], 'create namespace');
      await fleet.report();
      const total = Math.round(podRate * podSeconds);
      const names = Fleet.names(0, large);
      const latencies: number[] = [];
      let workerDelay = 0;
      const collect = async (): Promise<void> => {
        const r = await fleet.report();
        latencies.push(...r.latencies);
        workerDelay = Math.max(workerDelay, r.loopDelayMaxMs);
      };
      const collector = setInterval(() => void collect(), 1000);
      const streamCpu = cloud.cpuSeconds();
      const streamStart = performance.now();
      const creates: Promise<void>[] = [];
      const createMs: number[] = [];
      for (let i = 0; i < total && !ctx.signal.aborted; i++) {
        const due = streamStart + (i * 1000) / podRate;
        const wait = due - performance.now();
        if (wait > 0) await sleep(wait);
        const pod = JSON.parse(podJson(NS, `p-${i}`, i, { [SENT_ANNOTATION]: String(nowMs()) })) as { spec: Record<string, unknown> };
        pod.spec['nodeName'] = names[(i * 7919) % names.length];
        creates.push(
        api.request('POST', podsPath(NS), JSON.stringify(pod)).then((r) => {
          expectStatus(r, [201], 'create pod');
          createMs.push(r.ms);
        }),
      );
      }
      await Promise.all(creates);
      const streamCloudCpu = cloud.cpuSeconds() - streamCpu;
      clearInterval(collector);
      const deadline = Date.now() + 30_000;
      while (latencies.length < total && Date.now() < deadline) {
        await collect();
        await sleep(200);
      }
      api.close();
      console.log(`\n5. object-to-edge latency: ${fmtInt(total)} pods at ${podRate}/s over ${fmtInt(large)} nodes, ${fmtInt(latencies.length)} delivered (create → persisted at the edge)`);
      console.log(`    cloud CPU ${((streamCloudCpu * 100) / podSeconds).toFixed(1)}% during the stream; the API's create itself p50 ${fmtMs(percentile(createMs, 50))}, p99 ${fmtMs(percentile(createMs, 99))}; worker event-loop delay up to ${fmtMs(workerDelay)}`);
      add('object-to-edge p50', percentile(latencies, 50), fmtMs(percentile(latencies, 50)), '', undefined);
      add('object-to-edge p99', percentile(latencies, 99), fmtMs(percentile(latencies, 99)), '< 250 ms', percentile(latencies, 99) < 250 && latencies.length === total);
    }

    // 6. Reconnect storm: kill -9 the cloud under the whole fleet.
    await sleep(2000);
    const connectsBefore = (await fleet.report()).connects;
    await fleet.report();
    const killedAt = nowMs();
    await cloud.crash();
    console.log(`\n    kill -9 took ${fmtMs(nowMs() - killedAt)} to end the cloud process`);
    const downs: number[] = [];
    for (let i = 0; i < 600; i++) {
      const r = await fleet.report();
      downs.push(...r.downs.map((d) => d - killedAt));
      if (r.ready === 0) break;
      await sleep(100);
    }
    console.log(`    nodes noticed the cloud's death after p50 ${fmtMs(percentile(downs, 50))}, p90 ${fmtMs(percentile(downs, 90))}, p99 ${fmtMs(percentile(downs, 99))}, max ${fmtMs(Math.max(...downs))}`);
    await sleep(Math.max(0, killedAt + 2000 - nowMs()));
    const stormSpawn = cloud.start();
    const hubListening = waitListening(cloud.ports.hub, 120_000);
    const stormReady = await cloud.ready(120_000);
    const cpu0 = cloud.cpuSeconds();
    console.log(`\n6. reconnect storm: ${fmtInt(large + 1)} nodes after kill -9 of the cloud (restart to /readyz ${secs(stormReady - stormSpawn)}):`);
    const storm = await fleet.waitReady(large + 1, 300_000, ctx.signal, cloud);
    const listeningAt = await hubListening;
    console.log(`    the hub accepted connections again ${fmtMs(listeningAt - stormReady)} after /readyz; the last node was in sync ${fmtMs(storm.lastReadyAt - listeningAt)} after that`);
    const stormEach = storm.readies.map((r) => r - stormReady);
    console.log(`    per node, /readyz to in sync: p50 ${fmtMs(percentile(stormEach, 50))}, p90 ${fmtMs(percentile(stormEach, 90))}, p99 ${fmtMs(percentile(stormEach, 99))}; ${fmtInt(storm.report.connects - connectsBefore)} reconnects; cloud CPU ${(cloud.cpuSeconds() - cpu0).toFixed(1)} s`);
    printFailures(storm.failures);
    add('storm: all nodes in sync again', storm.lastReadyAt - stormReady, `${secs(storm.lastReadyAt - stormReady)} after /readyz (${secs(storm.lastReadyAt - stormSpawn)} after the restart began)`, '≤ 60 s', storm.lastReadyAt - stormReady <= 60_000);
    await sleep(settleSeconds * 1000);
    add(`cloud RSS after the storm`, cloud.rss(), fmtBytes(cloud.rss()), '', undefined);

    console.log(`\n${table(
      ['figure', 'value', 'goal', ''],
      figures.map((f) => [f.name, f.value, f.goal, f.ok === undefined ? '' : f.ok ? 'ok' : 'MISSED']),
    )}`);
    const jsonPath = process.env['KEDGE_BENCH_JSON'];
    if (jsonPath !== undefined && jsonPath !== '') writeFileSync(jsonPath, `${JSON.stringify({ scale, small, large, workers, figures }, null, 2)}\n`);
  } finally {
    await fleet.stop();
    await cloud.stop(process.env['KEDGE_BENCH_KEEP'] === '1');
  }
}
