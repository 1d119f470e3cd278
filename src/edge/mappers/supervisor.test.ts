import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import type { Logger, LogFields } from '../../log/logger.ts';
import { silentLogger } from '../../log/logger.ts';
import type { DeviceModelObject, DeviceObject } from '../../protocol/devices.ts';
import { openEdgeDatabase } from '../db.ts';
import { MetaManager, type SyncOp } from '../meta/meta-manager.ts';
import { forwardLine, MapperSupervisor, type MapperChild, type MapperExit, type MapperLaunch, type MapperSupervisorTiming } from './supervisor.ts';

const NODE = 'edge-1';
const TIMING: MapperSupervisorTiming = { backoffInitialMs: 1000, backoffMaxMs: 8000, resetAfterMs: 30_000, stopGraceMs: 5000 };

interface Line {
  readonly level: string;
  readonly msg: string;
  readonly fields: LogFields;
}

/** A logger that keeps every line, its bindings merged into the fields. */
function recordingLogger(lines: Line[], bindings: LogFields = {}): Logger {
  const at =
    (level: string) =>
    (msg: string, fields?: LogFields): void =>
      void lines.push({ level, msg, fields: { ...bindings, ...fields } });
  return { trace: at('trace'), debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: (f) => recordingLogger(lines, { ...bindings, ...f }) };
}

class FakeChild implements MapperChild {
  static #pids = 1000;
  readonly pid = FakeChild.#pids++;
  readonly protocol: string;
  readonly launch: MapperLaunch;
  readonly onLine: (line: string) => void;
  readonly signals: string[] = [];
  readonly exited: Promise<MapperExit>;
  #resolve!: (exit: MapperExit) => void;
  alive = true;
  /** Exits on SIGTERM (a well-behaved mapper) unless set to false. */
  obeysTerm = true;

  constructor(launch: MapperLaunch, onLine: (line: string) => void) {
    this.launch = launch;
    this.protocol = launch.args[1]!;
    this.onLine = onLine;
    this.exited = new Promise((resolve) => (this.#resolve = resolve));
  }

  kill(signal: 'SIGTERM' | 'SIGKILL'): void {
    if (!this.alive) return;
    this.signals.push(signal);
    if (signal === 'SIGKILL' || this.obeysTerm) this.exit(null, signal);
  }

  exit(code: number | null, signal: string | null = null): void {
    if (!this.alive) return;
    this.alive = false;
    this.#resolve({ code, signal });
  }
}

const MODELS: Record<string, DeviceModelObject> = {
  'modbus-model': { apiVersion: 'devices.kubeedge.io/v1beta1', kind: 'DeviceModel', metadata: { name: 'modbus-model', namespace: 'default', uid: 'm-modbus' }, spec: { protocol: 'modbus', properties: [{ name: 'temperature', type: 'INT' }] } },
  'virtual-model': { apiVersion: 'devices.kubeedge.io/v1beta1', kind: 'DeviceModel', metadata: { name: 'virtual-model', namespace: 'default', uid: 'm-virtual' }, spec: { protocol: 'virtual', properties: [{ name: 'temperature', type: 'INT' }] } },
};

function device(name: string, model: string, protocolName?: string): DeviceObject {
  return {
    apiVersion: 'devices.kubeedge.io/v1beta1',
    kind: 'Device',
    metadata: { name, namespace: 'default', uid: `uid-${name}` },
    spec: { deviceModelRef: { name: model }, nodeName: NODE, ...(protocolName !== undefined ? { protocol: { protocolName, configData: {} } } : {}) },
  };
}

let rv = 0;
const upsert = (kind: 'devices' | 'devicemodels', object: DeviceObject | DeviceModelObject): SyncOp => ({ op: 'upsert', kind, object, resourceVersion: String(++rv) });
const del = (name: string): SyncOp => ({ op: 'delete', kind: 'devices', namespace: 'default', name, uid: `uid-${name}` });

/** A supervisor over a real MetaManager (in-memory edge.db), with a fake spawner and the clock of the mocked timers. */
function fixture(t: TestContext, options: { protocols?: readonly string[]; initial?: SyncOp[] } = {}) {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 });
  const db = openEdgeDatabase(':memory:');
  t.after(() => db.close());
  const meta = new MetaManager({ db, log: silentLogger() });
  meta.applyBatch([upsert('devicemodels', MODELS['modbus-model']!), upsert('devicemodels', MODELS['virtual-model']!), ...(options.initial ?? [])]);
  const children: FakeChild[] = [];
  const lines: Line[] = [];
  const abort = new AbortController();
  t.after(() => abort.abort());
  const supervisor = new MapperSupervisor({
    nodeName: NODE,
    meta,
    protocols: options.protocols ?? ['modbus', 'opcua', 'virtual'],
    builtin: ['modbus', 'opcua', 'virtual'],
    launch: (protocol) => ({ args: ['mapper', protocol, '--node', NODE], env: {} }),
    spawn: (launch, onLine) => {
      const c = new FakeChild(launch, onLine);
      children.push(c);
      return c;
    },
    log: recordingLogger(lines, { component: 'mappers' }),
    output: recordingLogger(lines),
    timing: TIMING,
    now: () => Date.now(),
  });
  const alive = (protocol?: string): FakeChild[] => children.filter((c) => c.alive && (protocol === undefined || c.protocol === protocol));
  return { meta, supervisor, children, lines, abort, alive };
}

/** Lets exits and queued reconciles run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
}

test('one mapper per protocol in use: started as devices of it appear, stopped with SIGTERM when the last one goes', async (t) => {
  const f = fixture(t, { initial: [upsert('devices', device('boiler-1', 'modbus-model'))] });
  await f.supervisor.start(f.abort.signal);
  assert.deepEqual(f.children.map((c) => c.protocol), ['modbus']);
  assert.deepEqual(f.children[0]!.launch.args, ['mapper', 'modbus', '--node', NODE]);

  // Two more devices: one of a new protocol (set on the device, over its model's), one of modbus again.
  f.meta.applyBatch([upsert('devices', device('sensor-1', 'modbus-model', 'virtual')), upsert('devices', device('boiler-2', 'modbus-model'))]);
  await settle();
  assert.deepEqual(f.alive().map((c) => c.protocol).sort(), ['modbus', 'virtual']);
  assert.equal(f.children.length, 2, 'no second modbus mapper');
  assert.deepEqual([...f.supervisor.running.keys()].sort(), ['modbus', 'virtual']);

  f.meta.applyBatch([del('boiler-1')]);
  await settle();
  assert.deepEqual(f.alive('modbus').length, 1, 'boiler-2 still needs it');
  f.meta.applyBatch([del('boiler-2')]);
  await settle();
  assert.deepEqual(f.children[0]!.signals, ['SIGTERM']);
  assert.deepEqual(f.alive().map((c) => c.protocol), ['virtual']);
  assert.deepEqual([...f.supervisor.running.keys()], ['virtual']);
  assert.ok(f.lines.some((l) => l.msg === 'mapper stopped' && l.fields['protocol'] === 'modbus'));
});

test('a protocol comes from the DeviceModel when the Device does not name one, and follows the model when it changes', async (t) => {
  const f = fixture(t, { initial: [upsert('devices', device('d-1', 'virtual-model'))] });
  await f.supervisor.start(f.abort.signal);
  assert.deepEqual(f.alive().map((c) => c.protocol), ['virtual']);
  f.meta.applyBatch([upsert('devicemodels', { ...MODELS['virtual-model']!, spec: { ...MODELS['virtual-model']!.spec, protocol: 'opcua' } })]);
  await settle();
  assert.deepEqual(f.alive().map((c) => c.protocol), ['opcua']);
  assert.deepEqual(f.children[0]!.signals, ['SIGTERM']);
});

test('protocols without a built-in mapper, or left out of --mappers, are said once and get no process', async (t) => {
  const f = fixture(t, { protocols: ['virtual'], initial: [upsert('devices', device('ble-1', 'modbus-model', 'bluetooth')), upsert('devices', device('ble-2', 'modbus-model', 'bluetooth')), upsert('devices', device('boiler-1', 'modbus-model'))] });
  await f.supervisor.start(f.abort.signal);
  f.meta.applyBatch([upsert('devices', device('ble-3', 'modbus-model', 'bluetooth'))]);
  await settle();
  assert.equal(f.children.length, 0);
  const ble = f.lines.filter((l) => l.fields['protocol'] === 'bluetooth');
  assert.equal(ble.length, 1);
  assert.equal(ble[0]!.level, 'warn');
  assert.match(ble[0]!.msg, /no mapper for protocol "bluetooth".*run by hand/);
  const modbus = f.lines.filter((l) => l.fields['protocol'] === 'modbus');
  assert.equal(modbus.length, 1);
  assert.match(modbus[0]!.msg, /kedge mapper modbus --node edge-1" by hand or as a pod/);
});

test('a mapper that exits is restarted after a back-off that doubles to the maximum, and starts over after a healthy run', async (t) => {
  const f = fixture(t, { initial: [upsert('devices', device('d-1', 'virtual-model'))] });
  await f.supervisor.start(f.abort.signal);
  const waits: number[] = [];
  for (let i = 0; i < 5; i++) {
    const before = f.children.length;
    f.children.at(-1)!.exit(1);
    await settle();
    assert.equal(f.alive().length, 0);
    const wait = f.lines.findLast((l) => l.msg === 'mapper exited; restarting it')!.fields['restartInMs'] as number;
    waits.push(wait);
    t.mock.timers.tick(wait - 1);
    assert.equal(f.children.length, before, `not restarted before ${wait} ms`);
    t.mock.timers.tick(1);
    assert.equal(f.children.length, before + 1, `restarted after ${wait} ms`);
  }
  assert.deepEqual(waits, [1000, 2000, 4000, 8000, 8000]);
  // A healthy run (resetAfterMs) brings the first wait back.
  t.mock.timers.tick(TIMING.resetAfterMs);
  f.children.at(-1)!.exit(0);
  await settle();
  assert.equal(f.lines.findLast((l) => l.msg === 'mapper exited; restarting it')!.fields['restartInMs'], 1000);
  assert.equal(f.alive().length, 0);
  t.mock.timers.tick(1000);
  assert.equal(f.alive().length, 1);
});

test('never two processes of one protocol: a protocol wanted again while its mapper stops starts once the old one has exited', async (t) => {
  const f = fixture(t, { initial: [upsert('devices', device('d-1', 'virtual-model'))] });
  await f.supervisor.start(f.abort.signal);
  const first = f.children[0]!;
  first.obeysTerm = false;
  f.meta.applyBatch([del('d-1')]);
  await settle();
  assert.deepEqual(first.signals, ['SIGTERM']);
  f.meta.applyBatch([upsert('devices', device('d-2', 'virtual-model'))]);
  await settle();
  assert.equal(f.children.length, 1, 'no second process while the first is alive');
  // It ignores SIGTERM: SIGKILL after the grace period, then the new one starts at once.
  t.mock.timers.tick(TIMING.stopGraceMs);
  await settle();
  assert.deepEqual(first.signals, ['SIGTERM', 'SIGKILL']);
  assert.equal(f.children.length, 2);
  assert.equal(f.alive().length, 1);
  // A device deleted while its mapper waits to restart: nothing starts.
  f.children[1]!.exit(3);
  await settle();
  f.meta.applyBatch([del('d-2')]);
  await settle();
  t.mock.timers.tick(60_000);
  assert.equal(f.children.length, 2);
  assert.equal(f.supervisor.running.size, 0);
});

test('shutdown stops every mapper (SIGKILL for one that ignores SIGTERM), cancels pending restarts, and done waits for the exits', async (t) => {
  const f = fixture(t, { initial: [upsert('devices', device('d-1', 'virtual-model')), upsert('devices', device('d-2', 'modbus-model')), upsert('devices', device('d-3', 'modbus-model', 'opcua'))] });
  await f.supervisor.start(f.abort.signal);
  assert.equal(f.alive().length, 3);
  const [modbus, opcua] = [f.alive('modbus')[0]!, f.alive('opcua')[0]!];
  opcua.exit(1);
  await settle();
  modbus.obeysTerm = false;
  let done = false;
  void f.supervisor.done.then(() => (done = true));
  f.abort.abort();
  await settle();
  assert.equal(done, false, 'the modbus mapper is still alive');
  assert.deepEqual(f.alive().map((c) => c.protocol), ['modbus']);
  t.mock.timers.tick(TIMING.stopGraceMs);
  await settle();
  assert.equal(done, true);
  assert.equal(f.alive().length, 0);
  t.mock.timers.tick(60_000);
  assert.equal(f.children.length, 3, 'the opcua mapper was not restarted');
  // Changes after the end start nothing.
  f.meta.applyBatch([upsert('devices', device('d-4', 'virtual-model'))]);
  await settle();
  assert.equal(f.children.length, 3);
});

test('a mapper that cannot be started is tried again with back-off', async (t) => {
  const f = fixture(t);
  let fail = true;
  const supervisor = new MapperSupervisor({
    nodeName: NODE,
    meta: f.meta,
    protocols: ['virtual'],
    builtin: ['virtual'],
    launch: (protocol) => ({ args: ['mapper', protocol], env: {} }),
    spawn: (launch, onLine) => {
      if (fail) throw new Error('spawn EAGAIN');
      const c = new FakeChild(launch, onLine);
      f.children.push(c);
      return c;
    },
    log: recordingLogger(f.lines),
    output: recordingLogger(f.lines),
    timing: TIMING,
    now: () => Date.now(),
  });
  f.meta.applyBatch([upsert('devices', device('d-1', 'virtual-model'))]);
  await supervisor.start(f.abort.signal);
  await settle();
  assert.ok(f.lines.some((l) => l.msg === 'mapper could not be started; trying again' && /EAGAIN/.test(String(l.fields['err']))));
  fail = false;
  t.mock.timers.tick(1000);
  assert.equal(f.alive().length, 1);
});

test('mapper output joins the edge log tagged with the protocol: JSON lines keep their level and fields', async (t) => {
  const f = fixture(t, { initial: [upsert('devices', device('d-1', 'virtual-model'))] });
  await f.supervisor.start(f.abort.signal);
  const c = f.children[0]!;
  c.onLine('{"level":40,"time":1,"process":"mapper","protocol":"virtual","node":"edge-1","device":"default/d-1","msg":"device unreachable"}');
  c.onLine('kedge mapper virtual is serving node edge-1\'s devices through mqtt://127.0.0.1:1883');
  c.onLine('');
  const out = f.lines.filter((l) => l.fields['mapper'] === 'virtual');
  assert.deepEqual(out, [
    { level: 'warn', msg: 'device unreachable', fields: { mapper: 'virtual', device: 'default/d-1' } },
    { level: 'info', msg: 'kedge mapper virtual is serving node edge-1\'s devices through mqtt://127.0.0.1:1883', fields: { mapper: 'virtual' } },
  ]);
});

test('forwardLine: levels map to the nearest, fatal is an error, odd JSON is text, long lines are cut', () => {
  const lines: Line[] = [];
  const log = recordingLogger(lines);
  forwardLine(log, '{"level":60,"msg":"boom"}');
  forwardLine(log, '{"level":20,"msg":"dbg","n":1}');
  forwardLine(log, '{"no":"msg"}');
  forwardLine(log, '{broken');
  forwardLine(log, 'x'.repeat(20_000));
  assert.deepEqual(lines.slice(0, 4).map((l) => [l.level, l.msg]), [['error', 'boom'], ['debug', 'dbg'], ['info', '{"no":"msg"}'], ['info', '{broken']]);
  assert.equal(lines[4]!.msg.length, 16 * 1024 + 1);
});
