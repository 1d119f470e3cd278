import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DatabaseSync } from 'node:sqlite';
import mqtt, { type MqttClient } from 'mqtt';
import { silentLogger } from '../../log/logger.ts';
import type { DeviceModelObject, DeviceObject } from '../../protocol/devices.ts';
import type { Contents } from '../../protocol/envelope.ts';
import { openEdgeDatabase } from '../db.ts';
import { EmbeddedBroker } from '../eventbus/embedded-broker.ts';
import { MetaManager } from '../meta/meta-manager.ts';
import { DeviceTwin } from './device-twin.ts';
import { topics } from './messages.ts';

const log = silentLogger();
const NODE = 'edge-1';

const MODEL: DeviceModelObject = {
  apiVersion: 'devices.kubeedge.io/v1beta1',
  kind: 'DeviceModel',
  metadata: { name: 'thermostat', namespace: 'default', uid: 'm-1', resourceVersion: '1' },
  spec: {
    protocol: 'modbus',
    properties: [
      { name: 'temperature', type: 'INT', accessMode: 'ReadOnly', minimum: '-40', maximum: '120', unit: 'C' },
      { name: 'setpoint', type: 'DOUBLE', accessMode: 'ReadWrite', minimum: '5', maximum: '30' },
      { name: 'secret', type: 'STRING', accessMode: 'ReadOnly' },
    ],
  },
};

function device(name: string, rv: string, props: NonNullable<DeviceObject['spec']>['properties'], extra: Partial<DeviceObject['metadata']> = {}): DeviceObject {
  return {
    apiVersion: 'devices.kubeedge.io/v1beta1',
    kind: 'Device',
    metadata: { name, namespace: 'default', uid: `uid-${name}`, resourceVersion: rv, ...extra },
    spec: { deviceModelRef: { name: 'thermostat' }, nodeName: NODE, protocol: { protocolName: 'modbus', configData: { ip: '127.0.0.1', port: 502 } }, properties: props },
  };
}

const PROPS = [{ name: 'temperature', visitors: { protocolName: 'modbus', configData: { register: 'InputRegister', offset: 0 } } }, { name: 'setpoint' }, { name: 'secret', reportToCloud: false }];

/** A device twin on a fresh edge.db with the embedded broker, a mapper-side MQTT client, and helpers. */
class Fixture {
  readonly dir: string;
  db!: DatabaseSync;
  meta!: MetaManager;
  broker!: EmbeddedBroker;
  twin!: DeviceTwin;
  client!: MqttClient;
  #abort = new AbortController();
  readonly messages: { topic: string; payload: Record<string, unknown> }[] = [];

  private constructor(dir: string) {
    this.dir = dir;
  }

  static async start(dir?: string): Promise<Fixture> {
    const f = new Fixture(dir ?? (await mkdtemp(join(tmpdir(), 'kedge-twin-'))));
    await f.#open();
    return f;
  }

  async #open(): Promise<void> {
    this.#abort = new AbortController();
    this.db = openEdgeDatabase(join(this.dir, 'edge.db'));
    this.meta = new MetaManager({ db: this.db, log });
    this.broker = new EmbeddedBroker({ port: 0, log });
    await this.broker.start(this.#abort.signal);
    this.twin = new DeviceTwin({ nodeName: NODE, db: this.db, meta: this.meta, bus: this.broker, log });
    await this.twin.start(this.#abort.signal);
    this.client = await mqtt.connectAsync(this.broker.url, { reconnectPeriod: 0 });
    this.client.on('message', (topic, payload) => this.messages.push({ topic, payload: JSON.parse(payload.toString()) as Record<string, unknown> }));
    await this.client.subscribeAsync(['$hw/events/device/+/+/twin/+/+', '$hw/events/device/+/+/state/update/result', '$hw/events/device/+/+/updated', `$hw/events/node/${NODE}/membership/+`, `$hw/events/node/${NODE}/membership/get/result`, '$hw/events/node/other/membership/get/result']);
  }

  /** Stops everything but keeps the data dir (for a restart). */
  async stop(): Promise<void> {
    await this.client.endAsync();
    this.#abort.abort();
    await this.broker.closed;
    this.db.close();
  }

  async restart(): Promise<void> {
    await this.stop();
    this.messages.length = 0;
    await this.#open();
  }

  async dispose(): Promise<void> {
    await this.stop();
    await rm(this.dir, { recursive: true, force: true });
  }

  /** Stores objects as the hub would have. */
  put(...objects: { kind: 'devices' | 'devicemodels'; object: DeviceObject | DeviceModelObject }[]): void {
    this.meta.applyBatch(objects.map((o) => ({ op: 'upsert', kind: o.kind, object: o.object })));
  }

  /** Publishes as a mapper and resolves with the answer on `resultTopic` carrying the same event id. */
  async request(topic: string, resultTopic: string, payload: string | Record<string, unknown>): Promise<Record<string, unknown>> {
    const eventId = typeof payload === 'string' ? undefined : String(payload['event_id']);
    const start = this.messages.length;
    await this.client.publishAsync(topic, typeof payload === 'string' ? payload : JSON.stringify(payload), { qos: 1 });
    return this.waitFor((m) => m.topic === resultTopic && (eventId === undefined || m.payload['event_id'] === eventId), start);
  }

  /** The first message from index `from` on that `match` accepts. */
  async waitFor(match: (m: { topic: string; payload: Record<string, unknown> }) => boolean, from = 0, timeoutMs = 5000): Promise<Record<string, unknown>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = this.messages.slice(from).find(match);
      if (m !== undefined) return m.payload;
      if (Date.now() > deadline) assert.fail(`no matching message; saw ${JSON.stringify(this.messages.slice(from).map((x) => x.topic))}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  /** Takes the next report batch and settles it, returning its devices. */
  takeReport(): Contents['report']['devices'] {
    const b = this.twin.uplink.next();
    if (b === undefined) return [];
    b.settle();
    b.release();
    return (b.envelope.content as Contents['report']).devices;
  }
}

let fixtures: Fixture[] = [];
afterEach(async () => {
  for (const f of fixtures) await f.dispose();
  fixtures = [];
});
async function fixture(): Promise<Fixture> {
  const f = await Fixture.start();
  fixtures.push(f);
  return f;
}

const update = (event: string, twin: Record<string, unknown>) => ({ event_id: event, timestamp: 1_700_000_000_000, twin });

test('E2E_DEVICE_TWIN_1: membership/get lists the node\'s devices with their protocol, properties and twins', async () => {
  const f = await fixture();
  f.put({ kind: 'devicemodels', object: MODEL }, { kind: 'devices', object: device('boiler', '5', [...PROPS.slice(0, 1), { name: 'setpoint', desired: { value: '21.5' } }], { labels: { description: 'the boiler', zone: 'a' } }) });
  const r = await f.request(topics.membershipGet(NODE), topics.membershipGetResult(NODE), { event_id: 'm1' });
  const devices = r['devices'] as Record<string, unknown>[];
  assert.equal(devices.length, 1);
  const d = devices[0]!;
  assert.equal(d['id'], 'default/boiler');
  assert.equal(d['name'], 'boiler');
  assert.equal(d['description'], 'the boiler');
  assert.equal(d['state'], 'unknown');
  assert.deepEqual(d['attributes'], { description: { value: 'the boiler', optional: false, metadata: { type: 'string' } }, zone: { value: 'a', optional: false, metadata: { type: 'string' } } });
  assert.deepEqual(d['protocol'], { protocolName: 'modbus', configData: { ip: '127.0.0.1', port: 502 } });
  assert.deepEqual((d['properties'] as { name: string }[]).map((p) => p.name), ['temperature', 'setpoint']);
  const twin = d['twin'] as Record<string, { expected?: { value: string }; metadata: { type: string } }>;
  assert.equal(twin['setpoint']?.expected?.value, '21.5');
  assert.equal(twin['temperature']?.metadata.type, 'int');
  // Another node's membership is not ours to answer.
  const other = await f.request(topics.membershipGet('other'), topics.membershipGetResult('other'), { event_id: 'm2' });
  assert.equal(other['code'], 404);
});

test('E2E_DEVICE_TWIN_2: a valid twin update is stored, answered with the applied twins, documented, and reported to the cloud', async () => {
  const f = await fixture();
  f.put({ kind: 'devicemodels', object: MODEL }, { kind: 'devices', object: device('boiler', '5', PROPS) });
  const r = await f.request(topics.twinUpdate('default', 'boiler'), topics.twinUpdateResult('default', 'boiler'), update('u1', { temperature: { actual: { value: '28', metadata: { timestamp: 1_700_000_000_500 } }, metadata: { type: 'int' } } }));
  assert.deepEqual(r['twin'], { temperature: { actual: { value: '28', metadata: { timestamp: 1_700_000_000_500 } }, optional: false, metadata: { type: 'int' } } });
  const doc = await f.waitFor((m) => m.topic === topics.twinDocument('default', 'boiler') && m.payload['event_id'] === 'u1');
  assert.deepEqual((doc['twin'] as Record<string, { current: { actual: { value: string } } }>)['temperature']?.current.actual.value, '28');
  const got = await f.request(topics.twinGet('default', 'boiler'), topics.twinGetResult('default', 'boiler'), { event_id: 'g1' });
  assert.equal((got['twin'] as Record<string, { actual?: { value: string }; actual_version?: { edge: number } }>)['temperature']?.actual?.value, '28');
  const row = f.db.prepare("SELECT actual, actual_type FROM twin_properties WHERE device = 'default/boiler' AND name = 'temperature'").get() as { actual: string; actual_type: string };
  assert.deepEqual({ ...row }, { actual: '28', actual_type: 'int' });
  const report = f.takeReport();
  assert.deepEqual(report, [{ namespace: 'default', name: 'boiler', uid: 'uid-boiler', twins: [{ propertyName: 'temperature', reported: { value: '28', metadata: { timestamp: '1700000000500', type: 'int' } } }] }]);
  assert.equal(f.twin.uplink.next(), undefined, 'settled: nothing more to send');
});

test('E2E_DEVICE_TWIN_3: values that break the model are refused with a code and reason, and nothing of the update is applied', async () => {
  const f = await fixture();
  f.put({ kind: 'devicemodels', object: MODEL }, { kind: 'devices', object: device('boiler', '5', PROPS) });
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ temperature: { actual: { value: '500' } } }, /"temperature".*"500" is above the maximum 120/],
    [{ temperature: { actual: { value: 'hot' } } }, /is not an integer/],
    [{ temperature: { actual: { value: '20' } }, setpoint: { actual: { value: '99' } } }, /"setpoint".*above the maximum 30/],
  ];
  let i = 0;
  for (const [twin, why] of cases) {
    const r = await f.request(topics.twinUpdate('default', 'boiler'), topics.twinUpdateResult('default', 'boiler'), update(`bad-${i++}`, twin));
    assert.equal(r['code'], 400);
    assert.equal(r['error'], 'TWIN_VALUE_INVALID');
    assert.match(String(r['reason']), why);
  }
  const got = await f.request(topics.twinGet('default', 'boiler'), topics.twinGetResult('default', 'boiler'), { event_id: 'g' });
  assert.equal((got['twin'] as Record<string, { actual?: unknown }>)['temperature']?.actual, undefined, 'the valid part of a refused update was not applied');
  assert.equal(f.takeReport().length, 0);
});

test('E2E_DEVICE_TWIN_4: malformed payloads, unknown devices and properties get error results and break nothing', async () => {
  const f = await fixture();
  f.put({ kind: 'devicemodels', object: MODEL }, { kind: 'devices', object: device('boiler', '5', PROPS) });
  const upd = topics.twinUpdate('default', 'boiler');
  const res = topics.twinUpdateResult('default', 'boiler');
  const cases: [string, string, string | Record<string, unknown>, number, string][] = [
    ['not JSON', upd, '{"event_id":', 400, 'TWIN_MALFORMED'],
    ['an array', upd, '[1,2]', 400, 'TWIN_MALFORMED'],
    ['no twin', upd, { event_id: 'x1' }, 400, 'TWIN_MALFORMED'],
    ['a number value', upd, update('x2', { temperature: { actual: { value: 21 } } }), 400, 'TWIN_MALFORMED'],
    ['a bad twin name', upd, update('x3', { 'a b': { actual: { value: '1' } } }), 400, 'TWIN_MALFORMED'],
    ['an unknown property', upd, update('x4', { humidity: { actual: { value: '1' } } }), 400, 'TWIN_PROPERTY_NOT_FOUND'],
    ['a bad event id', upd, JSON.stringify({ event_id: 7, twin: {} }), 400, 'TWIN_MALFORMED'],
    ['too large', upd, JSON.stringify({ event_id: 'x5', twin: { temperature: { actual: { value: '1' } } }, pad: 'x'.repeat(70_000) }), 400, 'TWIN_MALFORMED'],
    ['an unknown device', topics.twinUpdate('default', 'ghost'), update('x6', { temperature: { actual: { value: '1' } } }), 404, 'TWIN_DEVICE_NOT_FOUND'],
  ];
  for (const [name, topic, payload, code, error] of cases) {
    const resultTopic = topic === upd ? res : topics.twinUpdateResult('default', 'ghost');
    const r = await f.request(topic, resultTopic, payload);
    assert.equal(r['code'], code, name);
    assert.equal(r['error'], error, name);
    assert.equal(typeof r['reason'], 'string', name);
  }
  const badState = await f.request(topics.stateUpdate('default', 'boiler'), topics.stateUpdateResult('default', 'boiler'), { event_id: 's1', state: 'exploded' });
  assert.equal(badState['code'], 400);
  const badGet = await f.request(topics.twinGet('default', 'ghost'), topics.twinGetResult('default', 'ghost'), { event_id: 'g1' });
  assert.equal(badGet['code'], 404);
  // ...and everything still works.
  const ok = await f.request(upd, res, update('ok', { temperature: { actual: { value: '21' } } }));
  assert.equal(ok['code'], undefined);
  assert.equal(f.twin.stats.refused, cases.length + 2);
});

test('E2E_DEVICE_TWIN_5: a desired value from the cloud goes out as a delta until the mapper reports it applied; the cloud sees observedDesired', async () => {
  const f = await fixture();
  f.put({ kind: 'devicemodels', object: MODEL }, { kind: 'devices', object: device('boiler', '5', PROPS) });
  await f.request(topics.twinUpdate('default', 'boiler'), topics.twinUpdateResult('default', 'boiler'), update('u0', { setpoint: { actual: { value: '20' } } }));
  const from = f.messages.length;
  f.put({ kind: 'devices', object: device('boiler', '6', [PROPS[0]!, { name: 'setpoint', desired: { value: '22.5' } }, PROPS[2]!]) });
  const delta = await f.waitFor((m) => m.topic === topics.twinDelta('default', 'boiler'), from);
  assert.deepEqual(delta['delta'], { setpoint: '22.5' });
  const twin = (delta['twin'] as Record<string, { expected?: { value: string }; expected_version?: { cloud: number } }>)['setpoint'];
  assert.equal(twin?.expected?.value, '22.5');
  assert.equal(twin?.expected_version?.cloud, 6);
  // The mapper writes it and reports the value it applied and the one it reads back.
  const after = f.messages.length;
  await f.request(topics.twinUpdate('default', 'boiler'), topics.twinUpdateResult('default', 'boiler'), update('u1', { setpoint: { expected: { value: '22.5' }, actual: { value: '22.5' } } }));
  // Answers go out in order: anything the update caused comes before the answer to a later get.
  await f.request(topics.twinGet('default', 'boiler'), topics.twinGetResult('default', 'boiler'), { event_id: 'g' });
  assert.ok(!f.messages.slice(after).some((m) => m.topic === topics.twinDelta('default', 'boiler')), 'no delta once applied');
  const setpoint = f.takeReport().find((d) => d.name === 'boiler')?.twins.find((t) => t.propertyName === 'setpoint');
  assert.deepEqual(setpoint?.reported, { value: '22.5', metadata: { timestamp: '1700000000000', type: 'double' } });
  assert.equal(setpoint?.observedDesired?.value, '22.5');
});

test('E2E_DEVICE_TWIN_6: state updates are answered with the last online time and reported on transitions; reportToCloud false stays local', async () => {
  const f = await fixture();
  f.put({ kind: 'devicemodels', object: MODEL }, { kind: 'devices', object: device('boiler', '5', PROPS) });
  const r = await f.request(topics.stateUpdate('default', 'boiler'), topics.stateUpdateResult('default', 'boiler'), { event_id: 's1', timestamp: 1, state: 'online' });
  const dev = r['device'] as { name: string; state: string; lastOnlineTime: string };
  assert.equal(dev.name, 'boiler');
  assert.equal(dev.state, 'online');
  assert.match(dev.lastOnlineTime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  await f.request(topics.twinUpdate('default', 'boiler'), topics.twinUpdateResult('default', 'boiler'), update('u', { secret: { actual: { value: 'pin-1234' } } }));
  const [report] = f.takeReport();
  assert.equal(report?.state, 'online');
  assert.equal(report?.lastOnlineTime, dev.lastOnlineTime);
  assert.deepEqual(report?.twins, [], 'a property with reportToCloud: false never reaches the cloud');
  // The same state again is no news for the cloud.
  await f.request(topics.stateUpdate('default', 'boiler'), topics.stateUpdateResult('default', 'boiler'), { event_id: 's2', state: 'online' });
  assert.equal(f.twin.uplink.next(), undefined);
});

test('E2E_DEVICE_TWIN_7: reports are latest-wins and survive a restart; a release keeps them pending; a new session resends everything', async () => {
  const f = await Fixture.start();
  fixtures.push(f);
  f.put({ kind: 'devicemodels', object: MODEL }, { kind: 'devices', object: device('a', '5', PROPS) }, { kind: 'devices', object: device('b', '5', PROPS) });
  for (let i = 0; i < 50; i++) void f.client.publishAsync(topics.twinUpdate('default', 'a'), JSON.stringify(update(`n${i}`, { temperature: { actual: { value: String(i) } } })));
  await f.waitFor((m) => m.topic === topics.twinUpdateResult('default', 'a') && m.payload['event_id'] === 'n49');
  const first = f.twin.uplink.next();
  assert.ok(first !== undefined);
  assert.deepEqual((first.envelope.content as Contents['report']).devices.map((d) => d.twins[0]?.reported?.value), ['49'], 'only the latest value is sent');
  first.release();
  await f.restart();
  const again = f.takeReport();
  assert.deepEqual(again.map((d) => [d.name, d.twins[0]?.reported?.value]), [['a', '49']], 'still pending after a restart');
  assert.equal(f.twin.uplink.next(), undefined);
  f.twin.uplink.resync();
  assert.deepEqual(f.takeReport().map((d) => d.name), ['a'], 'a resync sends every device that has something to say');
});

test('E2E_DEVICE_TWIN_8: devices removed or changed in the cloud are announced on membership/updated and leave edge.db', async () => {
  const f = await fixture();
  f.put({ kind: 'devicemodels', object: MODEL }, { kind: 'devices', object: device('boiler', '5', PROPS) });
  await f.request(topics.twinUpdate('default', 'boiler'), topics.twinUpdateResult('default', 'boiler'), update('u', { temperature: { actual: { value: '1' } } }));
  let from = f.messages.length;
  // A visitor change is news for mappers; a status-only change (the cloud echoing a report) is not.
  f.put({ kind: 'devices', object: { ...device('boiler', '6', PROPS), status: { state: 'online' } } });
  f.put({ kind: 'devices', object: device('boiler', '7', [{ name: 'temperature', visitors: { protocolName: 'modbus', configData: { register: 'InputRegister', offset: 4 } } }]) });
  const changed = await f.waitFor((m) => m.topic === topics.membershipUpdated(NODE), from);
  assert.deepEqual((changed['added_devices'] as { id: string }[]).map((d) => d.id), ['default/boiler']);
  assert.equal(f.messages.slice(from).filter((m) => m.topic === topics.membershipUpdated(NODE)).length, 1);
  from = f.messages.length;
  f.meta.applyBatch([{ op: 'delete', kind: 'devices', namespace: 'default', name: 'boiler', uid: 'uid-boiler' }]);
  const removed = await f.waitFor((m) => m.topic === topics.membershipUpdated(NODE), from);
  assert.deepEqual(removed['removed_devices'], [{ id: 'default/boiler', name: 'boiler', namespace: 'default' }]);
  // Removals are committed before they are announced.
  assert.equal((f.db.prepare('SELECT COUNT(*) AS n FROM twin_properties').get() as { n: number }).n, 0);
  assert.equal((f.db.prepare('SELECT COUNT(*) AS n FROM twin_devices').get() as { n: number }).n, 0);
});
