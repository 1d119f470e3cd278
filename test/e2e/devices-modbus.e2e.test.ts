// Issue 6, devices over Modbus TCP: a DeviceModel and a Device applied with kubectl, served by
// `kedge mapper modbus` against the pymodbus simulator through a real edge and its embedded MQTT
// broker. Register values reach `kubectl get device -o yaml`, a register changed at the device shows
// up, a desired value patched with kubectl is written to the register, the device goes offline and
// back online with the simulator, and values collected while the cloud is down reach it when it is back.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createToken, KedgeEdge, useEdgeCloud } from './harness/edge.ts';
import { deviceStatus, freeTcpPort, KedgeMapper, ModbusSimulator, MqttWatcher, reported } from './harness/devices.ts';
import { eventually } from './harness/wait.ts';

const c = await useEdgeCloud();
const NS = 'devices-modbus';
await c.cloud.kubectlOk('1.33', ['create', 'namespace', NS]);
const mqttPort = await freeTcpPort();
const edge = await KedgeEdge.join(c, { nodeName: 'modbus-edge', token: await createToken(c), args: ['--mqtt-port', String(mqttPort), '--mappers', 'none'] });
const sim = await ModbusSimulator.start();
after(() => sim.stop());
const mapper = await KedgeMapper.start({ protocol: 'modbus', node: edge.nodeName, mqtt: `mqtt://127.0.0.1:${mqttPort}` });

const MODEL = `
apiVersion: devices.kubeedge.io/v1beta1
kind: DeviceModel
metadata: {name: boiler-model, namespace: ${NS}}
spec:
  protocol: modbus
  properties:
  - {name: temperature, type: INT, accessMode: ReadOnly, minimum: "-40", maximum: "120", unit: Celsius}
  - {name: setpoint, type: INT, accessMode: ReadWrite, minimum: "5", maximum: "95", unit: Celsius}
  - {name: pressure, type: FLOAT, accessMode: ReadOnly, unit: bar}
`;

const DEVICE = (port: number): string => `
apiVersion: devices.kubeedge.io/v1beta1
kind: Device
metadata: {name: boiler-1, namespace: ${NS}}
spec:
  deviceModelRef: {name: boiler-model}
  nodeName: ${edge.nodeName}
  protocol: {protocolName: modbus, configData: {ip: 127.0.0.1, port: ${port}, slaveID: 1, timeout: 1000}}
  properties:
  - name: temperature
    collectCycle: 300000000
    reportCycle: 300000000
    reportToCloud: true
    visitors: {protocolName: modbus, configData: {register: InputRegister, offset: 0, limit: 1}}
  - name: setpoint
    collectCycle: 300000000
    visitors: {protocolName: modbus, configData: {register: HoldingRegister, offset: 10, limit: 1}}
  - name: pressure
    collectCycle: 300000000
    visitors: {protocolName: modbus, configData: {register: HoldingRegister, offset: 20, limit: 2, isRegisterSwap: true}}
`;

test('E2E_DEVICES_MODBUS_1: a register value reaches the Device status in kubectl get device -o yaml', async () => {
  await sim.set('ir', 0, [21]);
  // float32 1.5 bar = 0x3FC00000, words swapped on the device.
  await sim.set('hr', 20, [0x0000, 0x3fc0]);
  await c.cloud.apply('1.33', MODEL, DEVICE(sim.port));
  const status = await eventually(
    async () => {
      const s = await deviceStatus(c.cloud, NS, 'boiler-1');
      assert.equal(reported(s, 'temperature'), '21');
      assert.equal(reported(s, 'pressure'), '1.5');
      assert.equal(s.state, 'online');
      return s;
    },
    { timeoutMs: 30_000, intervalMs: 250, what: 'the register value in the Device status' },
  );
  assert.match(status.lastOnlineTime ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  assert.equal(status.twins?.find((t) => t.propertyName === 'temperature')?.reported?.metadata?.['type'], 'int');
  const table = await c.cloud.kubectlOk('1.27', ['get', 'devices', '-n', NS]);
  assert.match(table, /^boiler-1\s+modbus-edge\s+boiler-model\s+online\s+/m);
});

test('E2E_DEVICES_MODBUS_2: a register changed at the device shows up in the cloud', async () => {
  await sim.set('ir', 0, [-5 & 0xffff]);
  await sim.set('ir', 0, [64]);
  await eventually(async () => assert.equal(reported(await deviceStatus(c.cloud, NS, 'boiler-1'), 'temperature'), '64'), { timeoutMs: 15_000, intervalMs: 200, what: 'the changed register' });
});

test('E2E_DEVICES_MODBUS_3: a desired value set with kubectl patch is written to the register; one out of range is refused', async () => {
  const refused = await c.cloud.kubectl('1.33', ['patch', 'device', 'boiler-1', '-n', NS, '--type=json', '-p', '[{"op":"add","path":"/spec/properties/1/desired","value":{"value":"200"}}]']);
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, /spec\.properties\[1\]\.desired\.value: Invalid value: "200": is above the maximum 95/);
  await c.cloud.kubectlOk('1.33', ['patch', 'device', 'boiler-1', '-n', NS, '--type=json', '-p', '[{"op":"add","path":"/spec/properties/1/desired","value":{"value":"60"}}]']);
  await eventually(async () => assert.deepEqual(await sim.get('hr', 10), [60]), { timeoutMs: 15_000, intervalMs: 100, what: 'the desired value in the holding register' });
  await eventually(
    async () => {
      const twin = (await deviceStatus(c.cloud, NS, 'boiler-1')).twins?.find((t) => t.propertyName === 'setpoint');
      assert.equal(twin?.reported?.value, '60');
      assert.equal(twin?.observedDesired?.value, '60');
    },
    { timeoutMs: 15_000, intervalMs: 200, what: 'observedDesired in the status' },
  );
});

test('E2E_DEVICES_MODBUS_4: the device goes offline when the simulator stops and back online when it returns', async () => {
  await sim.stop();
  await eventually(async () => assert.equal((await deviceStatus(c.cloud, NS, 'boiler-1')).state, 'offline'), { timeoutMs: 20_000, intervalMs: 200, what: 'the device offline' });
  await sim.restart();
  await sim.set('ir', 0, [33]);
  await eventually(
    async () => {
      const s = await deviceStatus(c.cloud, NS, 'boiler-1');
      assert.equal(s.state, 'online');
      assert.equal(reported(s, 'temperature'), '33');
    },
    { timeoutMs: 20_000, intervalMs: 200, what: 'the device online again' },
  );
  // The restarted simulator lost its registers (0 is below the model's minimum, so it is not
  // reported); set at the device, the setpoint shows up next to the desired value applied before:
  // the mapper writes a desired value once per setting, it does not fight the device.
  await sim.set('hr', 10, [25]);
  await eventually(
    async () => {
      const twin = (await deviceStatus(c.cloud, NS, 'boiler-1')).twins?.find((t) => t.propertyName === 'setpoint');
      assert.equal(twin?.reported?.value, '25');
      assert.equal(twin?.observedDesired?.value, '60');
    },
    { timeoutMs: 10_000, intervalMs: 200, what: 'the real setpoint after the restart' },
  );
  assert.ok(mapper.running);
});

test('E2E_DEVICES_MODBUS_5: with the cloud down values keep being collected at the edge, and the latest reach the cloud when it returns', async () => {
  const watcher = await MqttWatcher.start(mqttPort, [`$ke/events/device/${NS}/boiler-1/data/update`]);
  await c.cloud.stop();
  for (const v of [70, 71, 72]) {
    await sim.set('ir', 0, [v]);
    await eventually(
      () => assert.ok(watcher.messages.some((m) => typeof m.payload === 'object' && (m.payload['data'] as Record<string, { value: string }> | undefined)?.['temperature']?.value === String(v))),
      { timeoutMs: 10_000, intervalMs: 100, what: `the edge collecting ${v} while the cloud is down` },
    );
  }
  await c.cloud.restart();
  await eventually(async () => assert.equal(reported(await deviceStatus(c.cloud, NS, 'boiler-1'), 'temperature'), '72'), { timeoutMs: 30_000, intervalMs: 250, what: 'the latest value in the cloud after it returned' });
  watcher.stop();
});

test('E2E_DEVICES_MODBUS_6: a Device whose model does not exist or whose property is not in it is refused with a clear message', async () => {
  const noModel = await c.cloud.kubectl('1.33', ['apply', '-f', '-'], { stdin: DEVICE(sim.port).replace('name: boiler-1', 'name: boiler-2').replace('{name: boiler-model}', '{name: no-such-model}') });
  assert.notEqual(noModel.code, 0);
  assert.match(noModel.stderr, /spec\.deviceModelRef\.name: Not found: "no-such-model": no DeviceModel "no-such-model" in namespace "devices-modbus"/);
  const badProperty = await c.cloud.kubectl('1.33', ['apply', '-f', '-'], { stdin: DEVICE(sim.port).replace('name: boiler-1', 'name: boiler-3').replace('- name: pressure', '- name: humidity') });
  assert.notEqual(badProperty.code, 0);
  assert.match(badProperty.stderr, /DeviceModel "boiler-model" has no property "humidity"/);
});
