// Devices, measured from outside: `kedge cloud`, `kedge edge` and `kedge mapper` run as child
// processes on temporary data dirs and free ports, then:
//   1. twin updates per second through the edge: MQTT clients publish KubeEdge twin/update messages
//      for many devices as fast as the edge answers them (each answer means validated against the
//      model and committed to edge.db); then the time until the cloud's Device status holds every
//      device's last value (MQTT in → edge.db → cloud status);
//   2. register change → Device status latency: `kedge mapper modbus` reads the pymodbus simulator
//      every second (collectCycle 1 s); the register is changed at a random moment of the cycle and
//      timed until a watch on the API shows the new value in status.twins;
//   3. the edge's RSS (and CPU) with 1,000 virtual devices served by `kedge mapper virtual`, each
//      with two properties collected every second, on a freshly restarted edge (its RSS after the
//      first two phases is shown too: memory a burst took is not given back).
//
// Knobs (environment):
//   KEDGE_BENCH_TWIN_DEVICES=100   devices the MQTT load is spread over
//   KEDGE_BENCH_PUBLISHERS=4       MQTT connections publishing (each keeps 200 updates in flight)
//   KEDGE_BENCH_SECONDS=10         length of the throughput run
//   KEDGE_BENCH_SAMPLES=40         register changes timed
//   KEDGE_BENCH_DEVICES=1000       virtual devices for the RSS figure
//   KEDGE_BENCH_SETTLE_SECONDS=15  running time before the RSS and CPU window
//   KEDGE_BENCH_PHASES=1,2,3       which of the three to run
//   KEDGE_BENCH_EDGE_NODE_OPTIONS, KEDGE_BENCH_MAPPER_NODE_OPTIONS  extra Node.js options (e.g. --heapsnapshot-signal=SIGUSR2)
//   KEDGE_BENCH_SMAPS=1, KEDGE_BENCH_HEAPSNAPSHOT=1  print the edge's smaps_rollup / ask it for a heap snapshot in phase 3
//   KEDGE_BENCH_KEDGE=<path>       the kedge executable (default bin/kedge)
//   KEDGE_BENCH_KEEP=1             keep the data dirs
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import mqtt from 'mqtt';
import { type BenchContext, envNumber, fmtBytes, fmtInt, fmtMs, percentile, table } from './lib/bench.ts';
import { ApiClient, expectStatus } from './lib/client.ts';
import { nowMs } from './lib/pods.ts';
import { readKubeconfig } from './lib/server.ts';
import { Child, cpuSeconds, freePort, rss, run, until } from './lib/child.ts';
import { ModbusSimulator } from '../src/mappers/modbus/testing.ts';

export const description = 'Devices: twin updates/s through the edge (MQTT → edge.db → cloud status), register change → Device status p50/p99 at a 1 s collect cycle, edge RSS with 1,000 virtual devices';

const NS = 'devices-bench';
const NODE = 'bench-devices';
const DEVICES_API = `/apis/devices.kubeedge.io/v1beta1/namespaces/${NS}`;
/** Goals from issue 6. */
const GOAL_UPDATES_PER_SECOND = 5000;
const GOAL_P99_MS = 1500;
const GOAL_RSS_BYTES = 120 * 1000 * 1000;
/** Updates each publisher keeps unanswered: enough to keep the edge busy, bounded so it measures the edge, not a queue. */
const WINDOW = 200;

/** Runs `fn(i)` for i in [0, n) with at most `width` at once. */
async function pool(n: number, width: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < n) await fn(next++);
  };
  await Promise.all(Array.from({ length: Math.min(width, n) }, worker));
}

interface DeviceJson {
  metadata: { name: string };
  status?: { state?: string; twins?: { propertyName: string; reported?: { value: string } }[] };
}

async function listDevices(client: ApiClient): Promise<DeviceJson[]> {
  const res = await client.request('GET', `${DEVICES_API}/devices`);
  expectStatus(res, [200], 'list devices');
  return (JSON.parse(res.body.toString('utf8')) as { items: DeviceJson[] }).items;
}

function modelJson(name: string, protocol: string, properties: unknown[]): string {
  return JSON.stringify({ apiVersion: 'devices.kubeedge.io/v1beta1', kind: 'DeviceModel', metadata: { name, namespace: NS }, spec: { protocol, properties } });
}

function deviceJson(name: string, model: string, protocol: Record<string, unknown>, properties: unknown[]): string {
  return JSON.stringify({ apiVersion: 'devices.kubeedge.io/v1beta1', kind: 'Device', metadata: { name, namespace: NS }, spec: { deviceModelRef: { name: model }, nodeName: NODE, protocol, properties } });
}

/** Asks the edge (membership/get) how many devices it has. */
async function edgeDevices(mqttUrl: string): Promise<number> {
  const c = await mqtt.connectAsync(mqttUrl, { reconnectPeriod: 0 });
  try {
    const answer = new Promise<Buffer>((resolve) => c.on('message', (_t, p) => resolve(p)));
    await c.subscribeAsync(`$hw/events/node/${NODE}/membership/get/result`);
    await c.publishAsync(`$hw/events/node/${NODE}/membership/get`, JSON.stringify({ event_id: 'bench' }));
    return (JSON.parse((await answer).toString()) as { devices: unknown[] }).devices.length;
  } finally {
    await c.endAsync();
  }
}

/** MQTT 3.1.1 remaining length (§2.2.3). */
function remainingLength(n: number): Buffer {
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return Buffer.from(out);
}

function mqttString(s: string): Buffer {
  const b = Buffer.from(s);
  const len = Buffer.alloc(2);
  len.writeUInt16BE(b.length);
  return Buffer.concat([len, b]);
}

function mqttPacket(type: number, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from([type]), remainingLength(body.length), body]);
}

/**
 * One load generator owning some devices: a bare MQTT 3.1.1 client (CONNECT, SUBSCRIBE, QoS 0
 * PUBLISH written in batches) so that the load costs the machine as little as possible and the
 * figure is the edge's. It publishes twin updates round-robin over its devices, at most
 * {@link WINDOW} unanswered, and counts the edge's answers on its devices' .../twin/update/result.
 */
class Publisher {
  accepted = 0;
  refused = 0;
  readonly last = new Map<string, number>();
  readonly #socket: Socket;
  readonly #devices: readonly string[];
  readonly #topics: Buffer[];
  #buf: Buffer = Buffer.alloc(0);
  #sent = 0;
  #stop = false;
  #wake: (() => void) | undefined;

  private constructor(socket: Socket, devices: readonly string[]) {
    this.#socket = socket;
    this.#devices = devices;
    this.#topics = devices.map((d) => mqttString(`$hw/events/device/${NS}/${d}/twin/update`));
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
  }

  static async start(port: number, devices: readonly string[], id: string): Promise<Publisher> {
    const socket = connect({ host: '127.0.0.1', port });
    await once(socket, 'connect');
    socket.setNoDelay(true);
    const p = new Publisher(socket, devices);
    const acked = new Promise<void>((resolve) => (p.#wake = resolve));
    socket.write(mqttPacket(0x10, Buffer.concat([mqttString('MQTT'), Buffer.from([0x04, 0x02, 0x00, 0x3c]), mqttString(id)])));
    // Its own devices' results only: with a wildcard every publisher would count every answer.
    const filters = devices.flatMap((d) => [mqttString(`$hw/events/device/${NS}/${d}/twin/update/result`), Buffer.from([0x00])]);
    socket.write(mqttPacket(0x82, Buffer.concat([Buffer.from([0x00, 0x01]), ...filters])));
    await acked;
    return p;
  }

  #onData(chunk: Buffer): void {
    this.#buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk]);
    let at = 0;
    for (;;) {
      if (this.#buf.length - at < 2) break;
      let len = 0;
      let mult = 1;
      let i = at + 1;
      let complete = false;
      for (; i < this.#buf.length && i < at + 5; i++) {
        const b = this.#buf[i]!;
        len += (b & 0x7f) * mult;
        mult *= 128;
        if ((b & 0x80) === 0) {
          complete = true;
          break;
        }
      }
      if (!complete || this.#buf.length < i + 1 + len) break;
      const type = this.#buf[at]! >> 4;
      if (type === 3) {
        // Error results carry a code; accepted ones the applied twins.
        if (this.#buf.subarray(i + 1, i + 1 + len).includes('"code":')) this.refused++;
        else this.accepted++;
      } else if (type === 9) {
        this.#wake?.();
      }
      at = i + 1 + len;
    }
    this.#buf = this.#buf.subarray(at);
    this.#wake?.();
  }

  async run(): Promise<void> {
    let i = 0;
    while (!this.#stop) {
      const room = WINDOW - (this.#sent - this.accepted - this.refused);
      if (room <= 0) {
        await new Promise<void>((resolve) => (this.#wake = resolve));
        continue;
      }
      const packets: Buffer[] = [];
      for (let k = 0; k < Math.min(room, 64); k++) {
        const d = i++ % this.#devices.length;
        const value = this.#sent++;
        this.last.set(this.#devices[d]!, value);
        const payload = Buffer.from(`{"event_id":"b${value}","timestamp":${Date.now()},"twin":{"value":{"actual":{"value":"${value}"},"metadata":{"type":"int"}}}}`);
        const topic = this.#topics[d]!;
        packets.push(Buffer.from([0x30]), remainingLength(topic.length + payload.length), topic, payload);
      }
      if (!this.#socket.write(Buffer.concat(packets))) await once(this.#socket, 'drain');
      await new Promise((r) => setImmediate(r));
    }
  }

  stop(): void {
    this.#stop = true;
    this.#wake?.();
  }

  close(): void {
    this.#socket.end(Buffer.from([0xe0, 0x00]));
  }
}

/** Watches the namespace's devices; records when each property first shows a value in status. */
class StatusWatch {
  readonly #waiters = new Map<string, { value: string; resolve: (t: number) => void }>();
  readonly #res: IncomingMessage;

  private constructor(res: IncomingMessage) {
    this.#res = res;
    let buf = '';
    res.setEncoding('utf8').on('data', (chunk: string) => {
      buf += chunk;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line.trim() === '') continue;
        const ev = JSON.parse(line) as { object?: DeviceJson };
        const d = ev.object;
        if (d === undefined) continue;
        for (const t of d.status?.twins ?? []) {
          const key = `${d.metadata.name}/${t.propertyName}`;
          const w = this.#waiters.get(key);
          if (w !== undefined && t.reported?.value === w.value) {
            this.#waiters.delete(key);
            w.resolve(nowMs());
          }
        }
      }
    });
  }

  static async open(client: ApiClient, device: string): Promise<StatusWatch> {
    return new StatusWatch(await client.stream(`${DEVICES_API}/devices?watch=1&fieldSelector=metadata.name%3D${device}`));
  }

  /** Resolves with the time the watch shows `value` reported for `device/property`. */
  reported(device: string, property: string, value: string, timeoutMs: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`${device}/${property} never showed ${value}`)), timeoutMs);
      this.#waiters.set(`${device}/${property}`, {
        value,
        resolve: (at) => {
          clearTimeout(t);
          resolve(at);
        },
      });
    });
  }

  close(): void {
    this.#res.destroy();
  }
}

/** What the phases share: the API client, the edge's EventBus and the rows of the result table. */
interface Run {
  readonly client: ApiClient;
  edge: Child;
  readonly mqttUrl: string;
  readonly signal: AbortSignal;
  readonly rows: string[][];
  readonly mappers: Child[];
}

const ok = (v: boolean): string => (v ? 'ok' : 'MISSED');
const nodeOptions = (name: string): NodeJS.ProcessEnv => (process.env[name] !== undefined ? { NODE_OPTIONS: process.env[name] } : {});

/** 1. Twin updates per second through the edge, and until the cloud has the last values. */
async function twinThroughput(r: Run, devices: number, publishers: number, seconds: number): Promise<void> {
  console.log(`1. twin updates: ${devices} devices, ${publishers} MQTT publishers, ${seconds} s`);
  expectStatus(await r.client.request('POST', `${DEVICES_API}/devicemodels`, modelJson('counter', 'bench', [{ name: 'value', type: 'INT', accessMode: 'ReadOnly' }])), [201], 'model');
  const names = Array.from({ length: devices }, (_, i) => `twin-${i}`);
  await pool(names.length, 16, async (i) => expectStatus(await r.client.request('POST', `${DEVICES_API}/devices`, deviceJson(names[i]!, 'counter', { protocolName: 'bench', configData: {} }, [{ name: 'value' }])), [201], 'device'));
  await until(`the edge to hold ${devices} devices`, async () => (await edgeDevices(r.mqttUrl)) >= devices, 60_000, r.signal);
  const pubs = await Promise.all(Array.from({ length: publishers }, (_, p) => Publisher.start(Number(new URL(r.mqttUrl).port), names.filter((_, i) => i % publishers === p), `bench-publisher-${p}`)));
  const edgeCpu0 = cpuSeconds(r.edge.pid);
  const t0 = performance.now();
  const running = pubs.map((p) => p.run());
  await delay(seconds * 1000, undefined, { signal: r.signal });
  for (const p of pubs) p.stop();
  await Promise.all(running);
  const publishMs = performance.now() - t0;
  const accepted = pubs.reduce((n, p) => n + p.accepted, 0);
  const refused = pubs.reduce((n, p) => n + p.refused, 0);
  const edgeCpu = (cpuSeconds(r.edge.pid) - edgeCpu0) / (publishMs / 1000);
  const last = new Map<string, string>();
  for (const p of pubs) for (const [d, v] of p.last) last.set(d, String(v));
  await until(
    'every device\'s last value in the cloud',
    async () => (await listDevices(r.client)).filter((d) => d.metadata.name.startsWith('twin-')).every((d) => d.status?.twins?.find((t) => t.propertyName === 'value')?.reported?.value === last.get(d.metadata.name)),
    120_000,
    r.signal,
  );
  const toCloudMs = performance.now() - t0;
  for (const p of pubs) p.close();
  const perSecond = accepted / (publishMs / 1000);
  r.rows.push([`twin updates/s at the edge (MQTT → checked → edge.db → answered)`, fmtInt(perSecond), `≥ ${fmtInt(GOAL_UPDATES_PER_SECOND)}`, ok(perSecond >= GOAL_UPDATES_PER_SECOND)]);
  r.rows.push([`  ${fmtInt(accepted)} updates over ${devices} devices in ${(publishMs / 1000).toFixed(1)} s; refused`, fmtInt(refused), '', '']);
  r.rows.push([`  every device's last value in the cloud's status after`, `${(toCloudMs / 1000).toFixed(1)} s`, '', '']);
  r.rows.push([`  end to end (updates ÷ time until the cloud has the last values)`, `${fmtInt(accepted / (toCloudMs / 1000))}/s`, '', '']);
  r.rows.push([`  edge CPU during the run`, `${(edgeCpu * 100).toFixed(0)} % of a core`, '', '']);
}

/** 2. Register change → Device status, with a 1 s collect cycle. */
async function changeLatency(r: Run, samples: number): Promise<void> {
  console.log(`2. latency: ${samples} register changes, collectCycle 1 s`);
  const sim = await ModbusSimulator.start();
  let watch: StatusWatch | undefined;
  try {
    r.mappers.push(new Child(['mapper', 'modbus', '--node', NODE, '--mqtt', r.mqttUrl, '--log-level', 'warn'], nodeOptions('KEDGE_BENCH_MAPPER_NODE_OPTIONS')));
    expectStatus(await r.client.request('POST', `${DEVICES_API}/devicemodels`, modelJson('meter', 'modbus', [{ name: 'level', type: 'INT', accessMode: 'ReadOnly' }])), [201], 'model');
    watch = await StatusWatch.open(r.client, 'meter-1');
    const first = watch.reported('meter-1', 'level', '0', 60_000);
    expectStatus(
      await r.client.request('POST', `${DEVICES_API}/devices`, deviceJson('meter-1', 'meter', { protocolName: 'modbus', configData: { ip: '127.0.0.1', port: sim.port, slaveID: 1 } }, [{ name: 'level', collectCycle: 1_000_000_000, reportCycle: 1_000_000_000, visitors: { protocolName: 'modbus', configData: { register: 'HoldingRegister', offset: 0 } } }])),
      [201],
      'device',
    );
    // Timed only once the device runs: the mapper's start and first connect are not part of it.
    await first;
    const latencies: number[] = [];
    for (let i = 1; i <= samples; i++) {
      // A random moment of the collect cycle, so the samples cover its whole phase.
      await delay(Math.random() * 1000, undefined, { signal: r.signal });
      const shown = watch.reported('meter-1', 'level', String(i), 30_000);
      const start = nowMs();
      await sim.set('hr', 0, [i]);
      latencies.push((await shown) - start);
    }
    const p50 = percentile(latencies, 50);
    const p99 = percentile(latencies, 99);
    r.rows.push([`register change → Device status p50 (${latencies.length} changes, 1 s cycle)`, fmtMs(p50), '', '']);
    r.rows.push([`register change → Device status p99`, fmtMs(p99), `< ${GOAL_P99_MS} ms`, ok(p99 < GOAL_P99_MS)]);
    r.rows.push([`  min / max`, `${fmtMs(Math.min(...latencies))} / ${fmtMs(Math.max(...latencies))}`, '', '']);
  } finally {
    watch?.close();
    await r.mappers.pop()?.stop();
    await sim.stop();
  }
}

/** 3. The edge's RSS and CPU with many virtual devices. */
async function manyDevices(r: Run, devices: number, settleSeconds: number): Promise<number> {
  console.log(`3. RSS: ${devices} virtual devices, 2 properties each, collected every second`);
  expectStatus(
    await r.client.request('POST', `${DEVICES_API}/devicemodels`, modelJson('virtual-sensor', 'virtual', [{ name: 'temperature', type: 'DOUBLE', accessMode: 'ReadOnly', minimum: '-20', maximum: '60' }, { name: 'mode', type: 'STRING', accessMode: 'ReadWrite' }])),
    [201],
    'model',
  );
  const created0 = performance.now();
  await pool(devices, 16, async (i) =>
    expectStatus(
      await r.client.request('POST', `${DEVICES_API}/devices`, deviceJson(`v-${i}`, 'virtual-sensor', { protocolName: 'virtual', configData: {} }, [{ name: 'temperature', collectCycle: 1_000_000_000, visitors: { protocolName: 'virtual', configData: { generator: 'random' } } }, { name: 'mode', collectCycle: 1_000_000_000, desired: { value: 'eco' } }])),
      [201],
      'device',
    ),
  );
  console.log(`   created in ${((performance.now() - created0) / 1000).toFixed(1)} s`);
  const mapper = new Child(['mapper', 'virtual', '--node', NODE, '--mqtt', r.mqttUrl, '--log-level', 'warn'], nodeOptions('KEDGE_BENCH_MAPPER_NODE_OPTIONS'));
  r.mappers.push(mapper);
  const online0 = performance.now();
  await until(`${devices} devices online in the cloud`, async () => (await listDevices(r.client)).filter((d) => d.metadata.name.startsWith('v-') && d.status?.state === 'online').length >= devices, 180_000, r.signal);
  const onlineS = (performance.now() - online0) / 1000;
  console.log(`   all online in the cloud after ${onlineS.toFixed(1)} s; running ${settleSeconds} s`);
  await delay(settleSeconds * 1000, undefined, { signal: r.signal });
  const cpu0 = cpuSeconds(r.edge.pid);
  const w0 = performance.now();
  let peak = 0;
  for (let s = 0; s < 10; s++) {
    peak = Math.max(peak, rss(r.edge.pid));
    await delay(1000, undefined, { signal: r.signal });
  }
  const cpu = (cpuSeconds(r.edge.pid) - cpu0) / ((performance.now() - w0) / 1000);
  if (process.env['KEDGE_BENCH_SMAPS'] === '1') {
    console.log(readFileSync(`/proc/${r.edge.pid}/smaps_rollup`, 'utf8'));
    // The largest mappings by RSS: V8 heap pages, malloc arenas, libraries.
    const maps = readFileSync(`/proc/${r.edge.pid}/smaps`, 'utf8').split(/\n(?=[0-9a-f]+-[0-9a-f]+ )/);
    const sized = maps.map((m) => ({ head: m.split('\n')[0]!, rss: Number(/^Rss:\s+(\d+) kB/m.exec(m)?.[1] ?? 0) })).sort((a, b) => b.rss - a.rss);
    for (const m of sized.slice(0, 15)) console.log(`${String(m.rss).padStart(8)} kB  ${m.head}`);
    const kinds = new Map<string, number>();
    for (const m of sized) {
      const file = m.head.trim().split(/\s+/).slice(5).join(' ');
      const kind = file === '' ? (m.head.includes('rwxp') ? 'anonymous rwx (V8 code)' : 'anonymous') : file.startsWith('[') ? file : 'file-backed';
      kinds.set(kind, (kinds.get(kind) ?? 0) + m.rss);
    }
    for (const [k, v] of [...kinds].sort((a, b) => b[1] - a[1])) console.log(`${String(v).padStart(8)} kB  ${k}`);
  }
  if (process.env['KEDGE_BENCH_HEAPSNAPSHOT'] === '1') {
    // With KEDGE_BENCH_EDGE_NODE_OPTIONS=--heapsnapshot-signal=SIGUSR2: the edge writes Heap.*.heapsnapshot in its working directory.
    process.kill(r.edge.pid, 'SIGUSR2');
    await delay(20_000, undefined, { signal: r.signal });
  }
  r.rows.push([`edge RSS with ${devices} virtual devices (peak over 10 s)`, fmtBytes(peak), `≤ ${GOAL_RSS_BYTES / 1e6} MB`, ok(peak <= GOAL_RSS_BYTES)]);
  r.rows.push([`  edge CPU with them (${devices * 2} values/s)`, `${(cpu * 100).toFixed(0)} % of a core`, '', '']);
  r.rows.push([`  mapper RSS`, fmtBytes(rss(mapper.pid)), '', '']);
  r.rows.push([`  all ${devices} online in the cloud after`, `${onlineS.toFixed(1)} s`, '', '']);
  return peak;
}

export default async function devicesBench(ctx: BenchContext): Promise<void> {
  const phases = new Set((process.env['KEDGE_BENCH_PHASES'] ?? '1,2,3').split(',').map((p) => p.trim()));
  const keep = process.env['KEDGE_BENCH_KEEP'] === '1';
  const { signal } = ctx;
  const cloudDir = mkdtempSync(join(tmpdir(), 'kedge-devices-bench-cloud-'));
  const edgeDir = mkdtempSync(join(tmpdir(), 'kedge-devices-bench-edge-'));
  const [hubPort, joinPort, mqttPort] = [await freePort(), await freePort(), await freePort()];
  const mqttUrl = `mqtt://127.0.0.1:${mqttPort}`;
  let cloud: Child | undefined;
  let edge: Child | undefined;
  let client: ApiClient | undefined;
  const mappers: Child[] = [];
  try {
    console.log('starting kedge cloud and joining an edge');
    cloud = new Child(['cloud', '--data-dir', cloudDir, '--api-port', '0', '--bind-address', '127.0.0.1', '--hub-port', String(hubPort), '--join-port', String(joinPort), '--log-level', 'warn'], { HOME: cloudDir });
    await until('the cloud', () => existsSync(join(cloudDir, 'kubeconfig')) || cloud!.exited, 60_000, signal);
    if (cloud.exited) throw new Error(`kedge cloud exited:\n${cloud.tail()}`);
    const cred = readKubeconfig(join(cloudDir, 'kubeconfig'));
    client = new ApiClient(cred, { maxSockets: 16 });
    await until('the API', async () => (await client!.request('GET', '/readyz').catch(() => ({ status: 0 }))).status === 200, 60_000, signal);
    expectStatus(await client.request('POST', '/api/v1/namespaces', JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } })), [201, 409], 'namespace');
    const token = (await run(['token', 'create', '--data-dir', cloudDir], { HOME: cloudDir })).trim().split('\n').at(-1)!;
    edge = new Child(
      ['edge', 'join', '--cloud', '127.0.0.1', '--join-port', String(joinPort), '--token', token, '--node-name', NODE, '--data-dir', edgeDir, '--metaserver-port', '0', '--mqtt-port', String(mqttPort), '--runtime', 'process', '--log-level', 'warn', '--mappers', 'none'],
      { HOME: edgeDir, ...nodeOptions('KEDGE_BENCH_EDGE_NODE_OPTIONS') },
    );
    await until('the edge\'s MQTT broker', async () => edge!.exited || (await edgeDevices(mqttUrl).then(() => true, () => false)), 60_000, signal);
    if (edge.exited) throw new Error(`kedge edge exited:\n${edge.tail()}`);
    const r: Run = { client, edge, mqttUrl, signal, rows: [], mappers };
    if (phases.has('1')) await twinThroughput(r, Math.max(1, Math.round(envNumber('KEDGE_BENCH_TWIN_DEVICES', 100))), Math.max(1, Math.round(envNumber('KEDGE_BENCH_PUBLISHERS', 4))), Math.max(1, envNumber('KEDGE_BENCH_SECONDS', 10)));
    if (phases.has('2')) await changeLatency(r, Math.max(5, Math.round(envNumber('KEDGE_BENCH_SAMPLES', 40))));
    let peak: number | undefined;
    if (phases.has('3')) {
      if (phases.has('1') || phases.has('2')) {
        // The RSS figure is about the devices, not about the burst before: V8 and malloc may keep
        // memory a burst of updates took. Noted, then measured on a fresh edge process.
        r.rows.push([`edge RSS after the phases above`, fmtBytes(rss(r.edge.pid)), '', '']);
        await r.edge.stop();
        const restarted = new Child(['edge', '--data-dir', edgeDir, '--metaserver-port', '0', '--mqtt-port', String(mqttPort), '--runtime', 'process', '--log-level', 'warn', '--mappers', 'none'], { HOME: edgeDir, ...nodeOptions('KEDGE_BENCH_EDGE_NODE_OPTIONS') });
        r.edge = restarted;
        edge = restarted;
        await until('the restarted edge\'s MQTT broker', async () => restarted.exited || (await edgeDevices(mqttUrl).then(() => true, () => false)), 60_000, signal);
        if (restarted.exited) throw new Error(`kedge edge exited:\n${restarted.tail()}`);
      }
      peak = await manyDevices(r, Math.max(1, Math.round(envNumber('KEDGE_BENCH_DEVICES', 1000))), envNumber('KEDGE_BENCH_SETTLE_SECONDS', 15));
    }
    console.log('');
    console.log(table(['measure', 'value', 'goal', ''], r.rows));
    if (peak !== undefined) console.log(`\nedge RSS in MB (10^6 bytes): ${(peak / 1e6).toFixed(1)}`);
  } catch (err) {
    if (edge !== undefined) console.error(`edge log tail:\n${edge.tail()}`);
    for (const m of mappers) console.error(`mapper log tail:\n${m.tail(20)}`);
    if (cloud !== undefined) console.error(`cloud log tail:\n${cloud.tail(20)}`);
    throw err;
  } finally {
    client?.close();
    for (const m of mappers) await m.stop();
    await edge?.stop();
    await cloud?.stop();
    if (keep) console.log(`data dirs kept: ${cloudDir} ${edgeDir}`);
    else {
      rmSync(cloudDir, { recursive: true, force: true });
      rmSync(edgeDir, { recursive: true, force: true });
    }
  }
}
