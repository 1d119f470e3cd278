// The API server under load, measured from outside: `kedge cloud` runs as a child process (so its
// memory and CPU are its own) and this process drives it over HTTPS keep-alive connections with the
// admin client certificate. Measures issue 2's figures: create throughput with 1 and 32 clients,
// plain JSON list latency at 10,000 and 100,000 pods, watch delivery latency to 1,000 watchers, and
// the server's RSS with 100,000 pods stored. Prints a table with the goal next to each figure.
//
// Knobs (environment):
//   KEDGE_BENCH_SCALE=0.1            object and watcher counts × scale (default 1)
//   KEDGE_BENCH_CLIENTS=32           concurrent clients for the parallel creates
//   KEDGE_BENCH_SINGLE_SECONDS=10    duration of the single-client create run
//   KEDGE_BENCH_POPULATE_SECONDS=240 cap on populating up to the large count (a partial count is reported)
//   KEDGE_BENCH_LIST_RUNS=20         timed lists of the small namespace (the large one gets a quarter, at least 3)
//   KEDGE_BENCH_WATCHERS=1000        concurrent watch streams (default 1000 × scale, at least 10)
//   KEDGE_BENCH_WATCH_RATE=10        creates per second while the watchers listen (× watchers = deliveries/s)
//   KEDGE_BENCH_WATCH_SECONDS=15     how long the steady writer runs
//   KEDGE_BENCH_SCHEDULER=<name>     spec.schedulerName of the pods (default kedge-bench-unscheduled, which
//                                    nothing answers to: the figures are the API server's own, as the
//                                    kube-apiserver reference's are). "default-scheduler" lets kedge's
//                                    scheduler react to every pod (with no nodes: a status patch and Events)
//   KEDGE_BENCH_SERVER_NODE_OPTIONS  extra Node.js options for the server, e.g.
//                                    "--cpu-prof --cpu-prof-dir=/tmp/kedge-prof" (written when it stops)
//   KEDGE_BENCH_KEDGE=<path>         the kedge executable to run (default bin/kedge)
//   KEDGE_BENCH_SERVER_LOG=<path>    copy the server's stdout and stderr there (e.g. with --trace-gc above)
//   KEDGE_BENCH_KEEP=1               keep the server's data dir
//   KEDGE_BENCH_JSON=<path>          also write the figures as JSON
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { type BenchContext, envNumber, fmtBytes, fmtInt, fmtMs, percentile, table } from './lib/bench.ts';
import { ApiClient, expectStatus } from './lib/client.ts';
import { podJson, podsPath } from './lib/pods.ts';
import { CloudServer } from './lib/server.ts';
import { runWatchFanoutInWorker, type WatchRun } from './lib/watch-fanout.ts';

export const description = 'API server: creates/s (1 and 32 clients), list latency (10k/100k pods), watch fan-out latency (1,000 watchers), RSS at 100k pods';

const NS = 'bench';
const WATCH_NS = 'bench-watch';
const GIB = 1024 ** 3;

interface Settings {
  readonly scale: number;
  readonly clients: number;
  readonly singleSeconds: number;
  readonly populateSeconds: number;
  readonly smallCount: number;
  readonly largeCount: number;
  readonly listRuns: number;
  readonly watchers: number;
  readonly watchRate: number;
  readonly watchSeconds: number;
  readonly schedulerName: string;
}

function settings(): Settings {
  const scale = envNumber('KEDGE_BENCH_SCALE', 1);
  return {
    scale,
    clients: Math.max(1, Math.round(envNumber('KEDGE_BENCH_CLIENTS', 32))),
    singleSeconds: envNumber('KEDGE_BENCH_SINGLE_SECONDS', 10),
    populateSeconds: envNumber('KEDGE_BENCH_POPULATE_SECONDS', 240),
    smallCount: Math.max(1, Math.round(10_000 * scale)),
    largeCount: Math.max(1, Math.round(100_000 * scale)),
    listRuns: Math.max(1, Math.round(envNumber('KEDGE_BENCH_LIST_RUNS', 20))),
    watchers: Math.max(1, Math.round(envNumber('KEDGE_BENCH_WATCHERS', Math.max(10, 1000 * scale)))),
    watchRate: envNumber('KEDGE_BENCH_WATCH_RATE', 10),
    watchSeconds: envNumber('KEDGE_BENCH_WATCH_SECONDS', 15),
    schedulerName: process.env['KEDGE_BENCH_SCHEDULER'] || 'kedge-bench-unscheduled',
  };
}


/** The commit the server runs from, and whether src/ has changes on top: figures belong to a version. */
function sourceVersion(): string {
  const git = (...args: string[]): string => spawnSync('git', args, { cwd: new URL('..', import.meta.url), encoding: 'utf8' }).stdout?.trim() ?? '';
  const commit = git('rev-parse', '--short', 'HEAD');
  if (commit === '') return 'at an unknown commit';
  return `at ${commit}${git('status', '--porcelain', '--', 'src') !== '' ? ' with uncommitted changes in src/' : ''}`;
}

/** CPU time of the whole machine (all cores, busy states), seconds. */
function machineBusySeconds(): number {
  const [, ...ticks] = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).map(Number);
  // user nice system idle iowait irq softirq steal: everything but idle and iowait is busy.
  const busy = ticks.slice(0, 8).reduce((sum, t, i) => (i === 3 || i === 4 ? sum : sum + t), 0);
  return busy / 100;
}

/** CPU use over a phase, as % of one core: the server, this process, and everything else on the machine. */
interface CpuUse {
  readonly serverPct: number;
  readonly clientPct: number;
  /** Other processes (say, someone's test run): when high, the figures are pessimistic. */
  readonly otherPct: number;
  /** Wall-clock seconds measured. */
  readonly seconds: number;
}

/** Server CPU milliseconds per operation over a phase: unlike rates, barely affected by a busy machine. */
const serverMsPer = (c: CpuUse, ops: number): number => (c.serverPct * 10 * c.seconds) / ops;

class CpuMeter {
  readonly #server: CloudServer;
  readonly #wall = performance.now();
  readonly #serverCpu: number;
  readonly #machine = machineBusySeconds();
  readonly #self = process.cpuUsage();

  constructor(server: CloudServer) {
    this.#server = server;
    this.#serverCpu = server.cpuSeconds();
  }

  read(): CpuUse {
    const wall = (performance.now() - this.#wall) / 1000;
    const self = process.cpuUsage(this.#self);
    const server = this.#server.cpuSeconds() - this.#serverCpu;
    const client = (self.user + self.system) / 1e6;
    const other = Math.max(0, machineBusySeconds() - this.#machine - server - client);
    return { serverPct: (100 * server) / wall, clientPct: (100 * client) / wall, otherPct: (100 * other) / wall, seconds: wall };
  }
}

interface CreateRun {
  readonly created: number;
  readonly errors: number;
  readonly seconds: number;
  readonly perSecond: number;
  readonly p50: number;
  readonly p99: number;
  readonly cpu: CpuUse;
  /** Server CPU time per successful create: what the rate would be bounded by on one free core. */
  readonly serverCpuMsPerCreate: number;
  /**
   * Store revisions per create: 1 is the create itself; more means the server wrote other objects
   * in reaction (a status patch, an Event), each costing a store write and a watch fan-out.
   */
  readonly storeWritesPerCreate: number;
}

/**
 * Creates pods `from`..`to-1` in `ns` with `concurrency` closed-loop clients until done, the
 * deadline passes or `signal` aborts. Non-201 answers are counted; a run that only fails throws.
 */
/** The store's current revision: the resourceVersion of an (almost) empty list. */
async function storeRevision(client: ApiClient, ns: string): Promise<number> {
  const res = await client.request('GET', `${podsPath(ns)}?limit=1`);
  expectStatus(res, [200], 'list for the revision');
  return Number((JSON.parse(res.body.toString()) as { metadata: { resourceVersion: string } }).metadata.resourceVersion);
}

async function createPods(
  server: CloudServer,
  client: ApiClient,
  ns: string,
  from: number,
  to: number,
  concurrency: number,
  seconds: number,
  schedulerName: string,
  label: string,
  signal: AbortSignal,
): Promise<CreateRun> {
  const path = podsPath(ns);
  const revisionBefore = await storeRevision(client, ns);
  const latencies: number[] = [];
  let next = from;
  let errors = 0;
  let firstError: Error | undefined;
  const cpu = new CpuMeter(server);
  const started = performance.now();
  const deadline = started + seconds * 1000;
  let lastCount = 0;
  let lastAt = started;
  const progress = setInterval(() => {
    const now = performance.now();
    const done = latencies.length;
    console.log(`  ${label}: ${fmtInt(from + done)} pods, ${fmtInt(((done - lastCount) * 1000) / (now - lastAt))}/s over the last ${((now - lastAt) / 1000).toFixed(0)} s`);
    lastCount = done;
    lastAt = now;
  }, 10_000);
  const worker = async (): Promise<void> => {
    while (next < to && performance.now() < deadline && !signal.aborted) {
      const i = next++;
      const res = await client.request('POST', path, podJson(ns, `pod-${i}`, i, undefined, { schedulerName }));
      if (res.status === 201) {
        latencies.push(res.ms);
        continue;
      }
      errors++;
      if (firstError === undefined) {
        try {
          expectStatus(res, [201], `create ${ns}/pod-${i}`);
        } catch (err) {
          firstError = err as Error;
          console.log(`  ${label}: first failed create: ${firstError.message}`);
        }
      }
      if (errors > 50 && errors > latencies.length / 100) throw new Error(`${label}: ${errors} creates failed (${latencies.length} succeeded)`, { cause: firstError });
      server.assertRunning();
    }
  };
  try {
    await Promise.all(Array.from({ length: concurrency }, worker));
  } finally {
    clearInterval(progress);
  }
  const elapsed = (performance.now() - started) / 1000;
  const used = cpu.read();
  const revisionAfter = await storeRevision(client, ns);
  if (latencies.length === 0 && errors > 0) throw new Error(`${label}: every create failed`, { cause: firstError });
  return {
    created: latencies.length,
    errors,
    seconds: elapsed,
    perSecond: latencies.length / elapsed,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    cpu: used,
    serverCpuMsPerCreate: serverMsPer(used, latencies.length),
    storeWritesPerCreate: (revisionAfter - revisionBefore) / latencies.length,
  };
}

interface ListRun {
  readonly items: number;
  readonly bytes: number;
  readonly runs: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  readonly cpu: CpuUse;
}

/**
 * Times `runs` plain JSON lists of a namespace, send to last byte, one at a time, after `warmup`
 * untimed ones. The first warm-up is parsed to check the item count.
 */
async function listPods(server: CloudServer, client: ApiClient, ns: string, runs: number, warmup: number, signal: AbortSignal): Promise<ListRun> {
  const first = await client.request('GET', podsPath(ns));
  expectStatus(first, [200], `list ${ns}`);
  const items = (JSON.parse(first.body.toString()) as { items: unknown[] }).items.length;
  const bytes = first.body.length;
  for (let i = 1; i < warmup && !signal.aborted; i++) await client.drain('GET', podsPath(ns));
  const cpu = new CpuMeter(server);
  const times: number[] = [];
  for (let i = 0; i < runs && !signal.aborted; i++) {
    const res = await client.drain('GET', podsPath(ns));
    if (res.status !== 200) throw new Error(`list ${ns}: HTTP ${res.status}`);
    times.push(res.ms);
  }
  return { items, bytes, runs: times.length, p50: percentile(times, 50), p99: percentile(times, 99), max: Math.max(...times), cpu: cpu.read() };
}

interface Results {
  settings: Settings;
  loadAverage: number[];
  podBytes: number;
  startSeconds: number;
  idleRss: number;
  single?: CreateRun;
  parallel?: CreateRun;
  populate?: CreateRun;
  stored?: number;
  smallList?: ListRun;
  largeList?: ListRun;
  rssAfterPopulate?: number;
  rssAfterLists?: number;
  watch?: WatchRun & { cpu: CpuUse };
  rssAfterWatch?: number;
  peakRss?: number;
}

export default async function apiBench({ signal }: BenchContext): Promise<void> {
  const s = settings();
  const podBytes = Buffer.byteLength(podJson(NS, 'pod-12345', 12345, undefined, { schedulerName: s.schedulerName }));
  console.log(
    `api bench: scale ${s.scale}: ${fmtInt(s.smallCount)} / ${fmtInt(s.largeCount)} pods (${podBytes} B of JSON each), ${s.clients} clients, ` +
      `${fmtInt(s.watchers)} watchers at ${s.watchRate} creates/s for ${s.watchSeconds} s; pods name scheduler "${s.schedulerName}"`,
  );
  console.log(`kedge ${sourceVersion()}`);
  const nodeOptions = process.env['KEDGE_BENCH_SERVER_NODE_OPTIONS'];
  const started = performance.now();
  const logFile = process.env['KEDGE_BENCH_SERVER_LOG'];
  const server = await CloudServer.start({
    ...(nodeOptions !== undefined ? { nodeOptions } : {}),
    ...(logFile !== undefined && logFile !== '' ? { logFile } : {}),
    keepDataDir: process.env['KEDGE_BENCH_KEEP'] === '1',
  });
  const r: Results = { settings: s, podBytes, loadAverage: loadavg(), startSeconds: (performance.now() - started) / 1000, idleRss: server.memory().rss };
  console.log(`server pid ${server.pid} on port ${server.port}, ready in ${r.startSeconds.toFixed(1)} s, RSS ${fmtBytes(r.idleRss)}`);
  // Phase starts as seconds since the server was spawned, to pick them out of its CPU profile.
  const phase = (what: string): void => console.log(`[t+${((performance.now() - server.spawnedAt) / 1000).toFixed(1)} s] ${what}`);
  const cred = server.credential();
  const client = new ApiClient(cred, { maxSockets: s.clients });
  try {
    for (const ns of [NS, WATCH_NS]) {
      const res = await client.request('POST', '/api/v1/namespaces', JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } }));
      expectStatus(res, [201, 409], `create namespace ${ns}`);
    }

    // At most a quarter of the small count, so the parallel run that follows has enough to measure.
    const singleMax = Math.max(1, Math.floor(s.smallCount / 4));
    phase(`creates, 1 client, ${s.singleSeconds} s or ${fmtInt(singleMax)} pods`);
    r.single = await createPods(server, client, NS, 0, singleMax, 1, s.singleSeconds, s.schedulerName, '1 client', signal);
    printCreate(r.single);

    let stored = r.single.created + r.single.errors;
    phase(`creates, ${s.clients} clients, up to ${fmtInt(s.smallCount)} pods`);
    r.parallel = await createPods(server, client, NS, stored, s.smallCount, s.clients, s.populateSeconds, s.schedulerName, `${s.clients} clients`, signal);
    printCreate(r.parallel);
    stored += r.parallel.created + r.parallel.errors;
    server.assertRunning();

    phase(`list ${fmtInt(stored)} pods, ${s.listRuns} runs`);
    r.smallList = await listPods(server, client, NS, s.listRuns, 2, signal);
    printList(r.smallList);

    const populateLeft = Math.max(0, s.populateSeconds - r.parallel.seconds);
    phase(`populate to ${fmtInt(s.largeCount)} pods with ${s.clients} clients (at most ${populateLeft.toFixed(0)} s more)`);
    r.populate = await createPods(server, client, NS, stored, s.largeCount, s.clients, populateLeft, s.schedulerName, 'populate', signal);
    printCreate(r.populate);
    stored += r.populate.created + r.populate.errors;
    r.stored = r.single.created + r.parallel.created + r.populate.created;
    if (r.stored < s.largeCount) console.log(`  stopped at ${fmtInt(r.stored)} pods: the populate cap of ${s.populateSeconds} s ran out`);
    r.rssAfterPopulate = server.memory().rss;
    console.log(`  server RSS with ${fmtInt(r.stored)} pods: ${fmtBytes(r.rssAfterPopulate)}`);

    const largeRuns = Math.max(3, Math.round(s.listRuns / 4));
    phase(`list ${fmtInt(r.stored)} pods, ${largeRuns} runs`);
    r.largeList = await listPods(server, client, NS, largeRuns, 1, signal);
    printList(r.largeList);
    r.rssAfterLists = server.memory().rss;
    console.log(`  server RSS after the lists: ${fmtBytes(r.rssAfterLists)}`);

    phase(`watch: ${fmtInt(s.watchers)} watchers, ${s.watchRate} creates/s for ${s.watchSeconds} s`);
    let cpu: CpuMeter | undefined;
    const watch = await runWatchFanoutInWorker(
      { server: cred.server.href, ca: cred.ca, cert: cred.cert, key: cred.key, namespace: WATCH_NS, watchers: s.watchers, rate: s.watchRate, seconds: s.watchSeconds, writerSockets: s.clients, schedulerName: s.schedulerName },
      (watchers, seconds) => {
        console.log(`  ${fmtInt(watchers)} watch streams open in ${seconds.toFixed(1)} s; server RSS ${fmtBytes(server.memory().rss)}`);
        cpu = new CpuMeter(server);
      },
      signal,
    );
    r.watch = { ...watch, cpu: cpu?.read() ?? { serverPct: Number.NaN, clientPct: Number.NaN, otherPct: Number.NaN, seconds: Number.NaN } };
    printWatch(r.watch);
    server.assertRunning();
    const mem = server.memory();
    r.rssAfterWatch = mem.rss;
    r.peakRss = mem.peak;
  } catch (err) {
    if (!server.running) console.log(`server stderr (tail):\n${server.stderrTail()}`);
    throw err;
  } finally {
    client.close();
    await server.stop();
    report(r);
    const jsonPath = process.env['KEDGE_BENCH_JSON'];
    if (jsonPath !== undefined && jsonPath !== '') writeFileSync(jsonPath, `${JSON.stringify(r, null, 2)}\n`);
  }
}

function fmtCpu(c: CpuUse): string {
  return `CPU (% of a core) server ${c.serverPct.toFixed(0)}, bench ${c.clientPct.toFixed(0)}, other processes ${c.otherPct.toFixed(0)}`;
}

function printCreate(c: CreateRun): void {
  console.log(
    `  ${fmtInt(c.created)} created in ${c.seconds.toFixed(1)} s = ${fmtInt(c.perSecond)}/s; latency p50 ${fmtMs(c.p50)} p99 ${fmtMs(c.p99)}; ` +
      `${c.errors} errors; ${fmtCpu(c.cpu)}; server CPU ${fmtMs(c.serverCpuMsPerCreate)} and ${c.storeWritesPerCreate.toFixed(2)} store writes per create`,
  );
}

function printList(l: ListRun): void {
  console.log(`  ${fmtInt(l.items)} items, ${fmtBytes(l.bytes)}: p50 ${fmtMs(l.p50)} p99 ${fmtMs(l.p99)} max ${fmtMs(l.max)} over ${l.runs} runs; ${fmtCpu(l.cpu)}; server CPU ${fmtMs(serverMsPer(l.cpu, l.runs))} per list`);
}

function printWatch(w: WatchRun & { cpu: CpuUse }): void {
  if (w.createErrors > 0) console.log(`  ${w.createErrors} of the writer's creates failed`);
  if (w.errors > 0) console.log(`  ${w.errors} watch ERROR events; first: ${w.firstError}`);
  console.log(
    `  ${fmtInt(w.delivered)} of ${fmtInt(w.expected)} deliveries (${w.duplicates} duplicates, ${w.errors} errors): latency p50 ${fmtMs(w.p50)} p99 ${fmtMs(w.p99)} max ${fmtMs(w.max)}; ` +
      `last watcher p50 ${fmtMs(w.fanoutP50)} p99 ${fmtMs(w.fanoutP99)}; writer's create p50 ${fmtMs(w.createP50)} p99 ${fmtMs(w.createP99)}; ${fmtCpu(w.cpu)}; ` +
      `server CPU ${fmtMs(serverMsPer(w.cpu, w.delivered) * 1000)} per 1,000 deliveries ` +
      `(bench event-loop delay p99 ${fmtMs(w.clientLoopDelayP99)})`,
  );
}

function report(r: Results): void {
  const s = r.settings;
  const verdict = (ok: boolean | undefined): string => (ok === undefined ? 'n/a' : ok ? 'PASS' : 'FAIL');
  const n = (count: number | undefined): string => (count === undefined ? '?' : fmtInt(count));
  const w = r.watch;
  const complete = w !== undefined && w.delivered === w.expected;
  const rows: string[][] = [
    ['creates/s, 1 client', r.single ? `${fmtInt(r.single.perSecond)}/s` : 'n/a', '-', '184/s', 'info'],
    [`creates/s, ${s.clients} clients`, r.parallel ? `${fmtInt(r.parallel.perSecond)}/s` : 'n/a', '>= 2,000/s', '854/s', verdict(r.parallel && r.parallel.errors === 0 ? r.parallel.perSecond >= 2000 : r.parallel ? false : undefined)],
    [`server CPU per create (${s.clients} clients)`, r.parallel ? fmtMs(r.parallel.serverCpuMsPerCreate) : 'n/a', '< 0.5 ms (2,000/s on one core)', '-', 'info'],
    [`store writes per pod create`, r.parallel ? r.parallel.storeWritesPerCreate.toFixed(2) : 'n/a', '-', '-', 'info'],
    [`creates/s, ${s.clients} clients, populating to ${n(r.stored)}`, r.populate ? `${fmtInt(r.populate.perSecond)}/s` : 'n/a', '-', '-', 'info'],
    [`list ${n(r.smallList?.items)} pods, p50`, r.smallList ? fmtMs(r.smallList.p50) : 'n/a', '-', '282 ms (10k ConfigMaps)', 'info'],
    [`list ${n(r.smallList?.items)} pods, p99`, r.smallList ? fmtMs(r.smallList.p99) : 'n/a', '< 300 ms', '-', verdict(r.smallList ? r.smallList.p99 < 300 : undefined)],
    [`list ${n(r.largeList?.items)} pods, p50`, r.largeList ? fmtMs(r.largeList.p50) : 'n/a', '-', '-', 'info'],
    [`list ${n(r.largeList?.items)} pods, p99`, r.largeList ? fmtMs(r.largeList.p99) : 'n/a', '-', '-', 'info'],
    [`watch delivery to ${n(w?.watchers)} watchers, p50`, w ? fmtMs(w.p50) : 'n/a', '-', '-', 'info'],
    [`watch delivery to ${n(w?.watchers)} watchers, p99`, w ? fmtMs(w.p99) : 'n/a', '< 200 ms', '-', verdict(w ? complete && w.p99 < 200 : undefined)],
    [`watch deliveries received`, w ? `${fmtInt(w.delivered)} / ${fmtInt(w.expected)}` : 'n/a', 'all', '-', verdict(w ? complete : undefined)],
    [
      `server RSS, ${n(r.stored)} pods stored`,
      r.rssAfterPopulate !== undefined ? fmtBytes(r.rssAfterPopulate) : 'n/a',
      '< 1.5 GiB',
      '-',
      r.stored !== undefined && r.stored < s.largeCount ? 'FAIL (not all stored)' : verdict(r.rssAfterPopulate !== undefined ? r.rssAfterPopulate < 1.5 * GIB : undefined),
    ],
    [`server RSS after the big lists`, r.rssAfterLists !== undefined ? fmtBytes(r.rssAfterLists) : 'n/a', '-', '-', 'info'],
    [`server RSS with ${n(w?.watchers)} watchers open, peak`, r.rssAfterWatch !== undefined ? `${fmtBytes(r.rssAfterWatch)}, peak ${fmtBytes(r.peakRss ?? Number.NaN)}` : 'n/a', '-', '-', 'info'],
  ];
  console.log('');
  console.log(
    `kedge API server, scale ${s.scale}${s.scale !== 1 ? ' (goals are for scale 1: indicative only)' : ''}, pods for scheduler "${s.schedulerName}"; ` +
      'reference: kube-apiserver 1.23 + etcd 3.4 on this kind of machine',
  );
  console.log(table(['figure', 'kedge', 'goal', 'reference', 'result'], rows));
  const busy = (
    [
      ['1-client creates', r.single?.cpu],
      ['parallel creates', r.parallel?.cpu],
      ['small lists', r.smallList?.cpu],
      ['populating', r.populate?.cpu],
      ['large lists', r.largeList?.cpu],
      ['watch', r.watch?.cpu],
    ] as const
  ).filter(([, c]) => c !== undefined && c.otherPct > 25);
  if (busy.length > 0) {
    console.log(
      `\nnote: other processes were busy during ${busy.map(([phase, c]) => `${phase} (${c!.otherPct.toFixed(0)}% of a core)`).join(', ')}; ` +
        `on a 2-core machine those figures are pessimistic. Load average at start: ${r.loadAverage.map((l) => l.toFixed(2)).join(' ')}.`,
    );
  }
}
