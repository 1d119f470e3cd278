import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DatabaseSync } from 'node:sqlite';
import mqtt from 'mqtt';
import { silentLogger } from '../../log/logger.ts';
import type { DeviceModelObject, DeviceObject } from '../../protocol/devices.ts';
import type { Contents } from '../../protocol/envelope.ts';
import { openEdgeDatabase } from '../../edge/db.ts';
import { EmbeddedBroker } from '../../edge/eventbus/embedded-broker.ts';
import { MetaManager } from '../../edge/meta/meta-manager.ts';
import { DeviceTwin } from '../../edge/twin/device-twin.ts';
import { topics } from '../../edge/twin/messages.ts';
import { ModbusDriver } from '../modbus/driver.ts';
import { ModbusSimulator } from '../modbus/testing.ts';
import { VirtualDriver } from '../virtual/driver.ts';
import { Mapper } from './mapper.ts';

const log = silentLogger();
const NODE = 'edge-m';
const CYCLE_NS = 100_000_000;

let dir: string;
let db: DatabaseSync;
let meta: MetaManager;
let broker: EmbeddedBroker;
let twin: DeviceTwin;
let sim: ModbusSimulator;
const abort = new AbortController();

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kedge-mapper-'));
  db = openEdgeDatabase(join(dir, 'edge.db'));
  meta = new MetaManager({ db, log });
  broker = new EmbeddedBroker({ port: 0, log });
  await broker.start(abort.signal);
  twin = new DeviceTwin({ nodeName: NODE, db, meta, bus: broker, log });
  await twin.start(abort.signal);
  sim = await ModbusSimulator.start();
});
after(async () => {
  abort.abort();
  await broker.closed;
  await sim.stop();
  db.close();
  await rm(dir, { recursive: true, force: true });
});

const model = (name: string, protocol: string, properties: NonNullable<DeviceModelObject['spec']>['properties']): DeviceModelObject => ({ metadata: { name, namespace: 'default', uid: `m-${name}`, resourceVersion: '1' }, spec: { protocol, properties } });

function device(name: string, rv: string, modelName: string, protocol: { protocolName: string; configData: Record<string, unknown> }, properties: NonNullable<DeviceObject['spec']>['properties']): DeviceObject {
  return { metadata: { name, namespace: 'default', uid: `u-${name}`, resourceVersion: rv }, spec: { deviceModelRef: { name: modelName }, nodeName: NODE, protocol, properties } };
}

async function until<T>(what: string, fn: () => T | undefined | Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** What the cloud would get now: every pending report, taken and settled. */
function reports(): Contents['report']['devices'] {
  const out: Contents['report']['devices'][number][] = [];
  for (;;) {
    const b = twin.uplink.next();
    if (b === undefined) return out;
    out.push(...(b.envelope.content as Contents['report']).devices);
    b.settle();
    b.release();
  }
}

async function twinOf(name: string): Promise<Record<string, { expected?: { value: string }; actual?: { value: string } }>> {
  const c = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0 });
  try {
    const answer = new Promise<Buffer>((resolve) => c.on('message', (_t, p) => resolve(p)));
    await c.subscribeAsync(topics.twinGetResult('default', name));
    await c.publishAsync(topics.twinGet('default', name), JSON.stringify({ event_id: 'g' }));
    return (JSON.parse((await answer).toString()) as { twin: Record<string, { expected?: { value: string }; actual?: { value: string } }> }).twin;
  } finally {
    await c.endAsync();
  }
}

test('a Modbus mapper reads registers into the twin, writes a desired value once, and follows the device going away and back', async () => {
  meta.applyBatch([
    { op: 'upsert', kind: 'devicemodels', object: model('pump', 'modbus', [{ name: 'pressure', type: 'INT', accessMode: 'ReadOnly', maximum: '1000' }, { name: 'speed', type: 'INT', accessMode: 'ReadWrite', maximum: '3000' }]) },
    {
      op: 'upsert',
      kind: 'devices',
      object: device('pump-1', '10', 'pump', { protocolName: 'modbus', configData: { ip: '127.0.0.1', port: sim.port, slaveID: 1, timeout: 500 } }, [
        { name: 'pressure', collectCycle: CYCLE_NS, visitors: { protocolName: 'modbus', configData: { register: 'InputRegister', offset: 0 } } },
        { name: 'speed', collectCycle: CYCLE_NS, visitors: { protocolName: 'modbus', configData: { register: 'HoldingRegister', offset: 1 } } },
      ]),
    },
  ]);
  await sim.set('ir', 0, [420]);
  const mapper = new Mapper({ driver: new ModbusDriver(), nodeName: NODE, mqttUrl: broker.url, log, reconnectInitialMs: 100, reconnectMaxMs: 300 });
  await mapper.start(abort.signal);
  try {
    await mapper.synced;
    assert.deepEqual([...mapper.devices.keys()], ['default/pump-1']);
    await until('the register value in the twin', async () => (await twinOf('pump-1'))['pressure']?.actual?.value === '420');
    await sim.set('ir', 0, [421]);
    await until('the changed register in the twin', async () => (await twinOf('pump-1'))['pressure']?.actual?.value === '421');
    const report = await until('a report for the cloud', () => reports().find((r) => r.name === 'pump-1' && r.state === 'online'));
    assert.ok(report.twins.some((t) => t.propertyName === 'pressure'));

    // The cloud sets a desired speed: it is written to the holding register, once.
    meta.applyBatch([{ op: 'upsert', kind: 'devices', object: device('pump-1', '11', 'pump', { protocolName: 'modbus', configData: { ip: '127.0.0.1', port: sim.port, slaveID: 1, timeout: 500 } }, [
      { name: 'pressure', collectCycle: CYCLE_NS, visitors: { protocolName: 'modbus', configData: { register: 'InputRegister', offset: 0 } } },
      { name: 'speed', collectCycle: CYCLE_NS, desired: { value: '1500' }, visitors: { protocolName: 'modbus', configData: { register: 'HoldingRegister', offset: 1 } } },
    ]) }]);
    await until('the desired value in the register', async () => (await sim.get('hr', 1))[0] === 1500);
    const observed = await until('observedDesired for the cloud', () => reports().find((r) => r.name === 'pump-1')?.twins.find((t) => t.propertyName === 'speed' && t.observedDesired?.value === '1500'));
    assert.equal(observed.reported?.value, '1500');
    // Someone changes the register at the device: the mapper reports it and does not fight it.
    await sim.set('hr', 1, [900]);
    await until('the local change in the twin', async () => (await twinOf('pump-1'))['speed']?.actual?.value === '900');
    assert.equal(mapper.stats.writes, 1);

    // The device goes away: offline; it comes back: online.
    await sim.stop();
    await until('the device offline', () => mapper.devices.get('default/pump-1')?.state === 'offline');
    await until('offline reported', () => reports().find((r) => r.name === 'pump-1' && r.state === 'offline'));
    await sim.restart();
    await until('the device online again', () => mapper.devices.get('default/pump-1')?.state === 'online');

    // Removed in the cloud: the mapper lets go of it.
    meta.applyBatch([{ op: 'delete', kind: 'devices', namespace: 'default', name: 'pump-1', uid: 'u-pump-1' }]);
    await until('the device removed', () => mapper.devices.size === 0);
  } finally {
    await mapper.stop();
  }
});

test('a virtual mapper runs many devices; garbage on its topics breaks nothing', async () => {
  const props = [{ name: 'temp', type: 'DOUBLE' as const, accessMode: 'ReadOnly' as const, minimum: '10', maximum: '30' }, { name: 'mode', type: 'STRING' as const, accessMode: 'ReadWrite' as const }];
  meta.applyBatch([
    { op: 'upsert', kind: 'devicemodels', object: model('sensor', 'virtual', props) },
    ...Array.from({ length: 50 }, (_, i) => ({
      op: 'upsert' as const,
      kind: 'devices' as const,
      object: device(`v-${i}`, '20', 'sensor', { protocolName: 'virtual', configData: {} }, [
        { name: 'temp', collectCycle: CYCLE_NS, visitors: { protocolName: 'virtual', configData: { generator: 'sine', periodMs: 2000 } } },
        { name: 'mode', collectCycle: CYCLE_NS, desired: { value: 'eco' } },
      ]),
    })),
  ]);
  const mapper = new Mapper({ driver: new VirtualDriver(), nodeName: NODE, mqttUrl: broker.url, log });
  await mapper.start(abort.signal);
  const noise = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0 });
  try {
    await mapper.synced;
    for (const t of [topics.membershipUpdated(NODE), topics.membershipGetResult(NODE), topics.twinDelta('default', 'v-1'), topics.twinUpdateResult('default', 'v-1')]) {
      await noise.publishAsync(t, 'not json');
      await noise.publishAsync(t, JSON.stringify({ devices: 'nope', added_devices: [{ id: 7 }], delta: { x: 1 } }));
    }
    await until('50 devices running', () => mapper.devices.size === 50);
    const seen = new Set<string>();
    await until('every device reported with its desired mode applied', () => {
      for (const r of reports()) if (r.twins.some((t) => t.propertyName === 'mode' && t.observedDesired?.value === 'eco')) seen.add(r.name);
      return seen.size === 50 || undefined;
    });
    const twin1 = await twinOf('v-7');
    const temp = Number(twin1['temp']?.actual?.value);
    assert.ok(temp >= 10 && temp <= 30, `a sine between the model's bounds, got ${temp}`);
  } finally {
    await noise.endAsync();
    await mapper.stop();
  }
});
