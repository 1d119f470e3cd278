// Issue 6, the MQTT side of devices: an edge using an external mosquitto as its EventBus
// (--mqtt-external), `kedge mapper virtual` reporting through it, `mosquitto_sub` seeing KubeEdge's
// payloads on $hw/events/device/+/+/twin/update/result, and malformed or refused payloads published
// with `mosquitto_pub` getting error results with a code and a reason while everything keeps working.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createToken, KedgeEdge, useEdgeCloud } from './harness/edge.ts';
import { deviceStatus, KedgeMapper, Mosquitto, mosquittoPub, MqttWatcher, reported } from './harness/devices.ts';
import { eventually } from './harness/wait.ts';

const c = await useEdgeCloud();
const NS = 'devices-mqtt';
await c.cloud.kubectlOk('1.33', ['create', 'namespace', NS]);
const mosquitto = await Mosquitto.start();
after(() => mosquitto.dispose());
const edge = await KedgeEdge.join(c, { nodeName: 'mqtt-edge', token: await createToken(c), args: ['--mqtt-external', mosquitto.url, '--mqtt-port', '0', '--mappers', 'none'] });
const results = await MqttWatcher.start(mosquitto.port, ['$hw/events/device/+/+/twin/update/result', '$hw/events/device/+/+/state/update/result', `$hw/events/node/${edge.nodeName}/membership/#`]);

await c.cloud.apply(
  '1.33',
  `
apiVersion: devices.kubeedge.io/v1beta1
kind: DeviceModel
metadata: {name: sensor-model, namespace: ${NS}}
spec:
  protocol: virtual
  properties:
  - {name: temperature, type: DOUBLE, accessMode: ReadOnly, minimum: "-20", maximum: "60", unit: Celsius}
  - {name: mode, type: STRING, accessMode: ReadWrite}
---
apiVersion: devices.kubeedge.io/v1beta1
kind: Device
metadata: {name: sensor-1, namespace: ${NS}}
spec:
  deviceModelRef: {name: sensor-model}
  nodeName: ${edge.nodeName}
  protocol: {protocolName: virtual, configData: {}}
  properties:
  - name: temperature
    collectCycle: 200000000
    reportCycle: 200000000
    visitors: {protocolName: virtual, configData: {generator: counter, min: 0, max: 50}}
  - name: mode
    desired: {value: eco}
`,
);
await KedgeMapper.start({ protocol: 'virtual', node: edge.nodeName, mqtt: mosquitto.url });

type Payload = Record<string, unknown>;
const payloads = (topic: string): Payload[] => results.messages.filter((m) => m.topic === topic && typeof m.payload === 'object').map((m) => m.payload as Payload);

test('E2E_DEVICES_MQTT_1: mosquitto_sub sees KubeEdge payloads on twin/update/result, membership and state results; values reach the cloud', async () => {
  const topic = `$hw/events/device/${NS}/sensor-1/twin/update/result`;
  const result = await eventually(
    () => {
      const r = payloads(topic).find((p) => (p['twin'] as Payload | undefined)?.['temperature'] !== undefined);
      assert.ok(r !== undefined);
      return r;
    },
    { timeoutMs: 20_000, what: 'a twin update result' },
  );
  assert.equal(typeof result['event_id'], 'string');
  assert.equal(typeof result['timestamp'], 'number');
  const twin = (result['twin'] as Record<string, { actual: { value: string; metadata: { timestamp: number } }; optional: boolean; metadata: { type: string } }>)['temperature']!;
  assert.match(twin.actual.value, /^\d+(\.\d+)?$/);
  assert.equal(typeof twin.actual.metadata.timestamp, 'number');
  assert.equal(twin.optional, false);
  assert.equal(twin.metadata.type, 'double');
  // The mapper asked for the node's membership and got KubeEdge's device entries.
  const membership = payloads(`$hw/events/node/${edge.nodeName}/membership/get/result`).at(-1);
  const device = (membership?.['devices'] as Payload[] | undefined)?.find((d) => d['id'] === `${NS}/sensor-1`);
  assert.equal(device?.['name'], 'sensor-1');
  assert.ok(typeof device?.['twin'] === 'object');
  const state = payloads(`$hw/events/device/${NS}/sensor-1/state/update/result`).at(-1);
  assert.equal((state?.['device'] as Payload | undefined)?.['state'], 'online');
  // ...and through the external broker the values reach the cloud, the desired mode applied.
  await eventually(
    async () => {
      const s = await deviceStatus(c.cloud, NS, 'sensor-1');
      assert.match(reported(s, 'temperature') ?? '', /^\d+/);
      assert.equal(s.twins?.find((t) => t.propertyName === 'mode')?.observedDesired?.value, 'eco');
      assert.equal(s.state, 'online');
    },
    { timeoutMs: 20_000, intervalMs: 250, what: 'the virtual device in the cloud' },
  );
});

test('E2E_DEVICES_MQTT_2: malformed and refused payloads get error results with a code and a reason, and break nothing', async () => {
  const update = `$hw/events/device/${NS}/sensor-1/twin/update`;
  const updateResult = `${update}/result`;
  const cases: [string, string, string, number, string][] = [
    ['not JSON', update, '{"event_id": "x1", "twin": ', 400, 'TWIN_MALFORMED'],
    ['a number where KubeEdge sends strings', update, JSON.stringify({ event_id: 'x2', timestamp: 1, twin: { temperature: { actual: { value: 21 } } } }), 400, 'TWIN_MALFORMED'],
    ['an unknown property', update, JSON.stringify({ event_id: 'x3', timestamp: 1, twin: { humidity: { actual: { value: '40' } } } }), 400, 'TWIN_PROPERTY_NOT_FOUND'],
    ['a value above the maximum', update, JSON.stringify({ event_id: 'x4', timestamp: 1, twin: { temperature: { actual: { value: '99' } } } }), 400, 'TWIN_VALUE_INVALID'],
    ['a value that is not a number', update, JSON.stringify({ event_id: 'x5', timestamp: 1, twin: { temperature: { actual: { value: 'warm' } } } }), 400, 'TWIN_VALUE_INVALID'],
    ['an unknown device', `$hw/events/device/${NS}/ghost/twin/update`, JSON.stringify({ event_id: 'x6', timestamp: 1, twin: {} }), 404, 'TWIN_DEVICE_NOT_FOUND'],
    ['an unknown state', `$hw/events/device/${NS}/sensor-1/state/update`, JSON.stringify({ event_id: 'x7', timestamp: 1, state: 'on-fire' }), 400, 'TWIN_MALFORMED'],
  ];
  for (const [name, topic, message, code, error] of cases) {
    const resultTopic = `${topic}/result`;
    const before = results.messages.length;
    await mosquittoPub(mosquitto.port, topic, message);
    const r = await eventually(
      () => {
        const got = results.messages.slice(before).find((m) => m.topic === resultTopic && typeof m.payload === 'object' && m.payload['code'] !== undefined);
        assert.ok(got !== undefined);
        return got.payload as Payload;
      },
      { timeoutMs: 10_000, what: `the error result for ${name}` },
    );
    assert.equal(r['code'], code, name);
    assert.equal(r['error'], error, name);
    assert.match(String(r['reason']), /\w/, name);
    if (error === 'TWIN_VALUE_INVALID') assert.match(String(r['reason']), /temperature/);
  }
  // Everything still works: the value refused above never reached the cloud, and fresh values still do.
  const before = reported(await deviceStatus(c.cloud, NS, 'sensor-1'), 'temperature');
  assert.notEqual(before, '99');
  await eventually(async () => assert.notEqual(reported(await deviceStatus(c.cloud, NS, 'sensor-1'), 'temperature'), before), { timeoutMs: 15_000, intervalMs: 250, what: 'new values after the garbage' });
  assert.ok(edge.running);
  const last = payloads(updateResult).at(-1);
  assert.equal(last?.['code'], undefined, 'the mapper\'s updates are accepted again');
});
