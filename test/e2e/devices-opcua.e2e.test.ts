// Issue 6, devices over OPC UA: a node-opcua server as the device, with Basic256Sha256
// SignAndEncrypt and a user name and password, served by `kedge mapper opcua` through a real edge.
// A variable's value reaches the Device status, a change at the device shows up, and a desired
// value set with kubectl patch is written to the variable.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createToken, KedgeEdge, useEdgeCloud } from './harness/edge.ts';
import { deviceStatus, freeTcpPort, KedgeMapper, OpcuaTestServer, reported } from './harness/devices.ts';
import { eventually } from './harness/wait.ts';

const c = await useEdgeCloud();
const NS = 'devices-opcua';
await c.cloud.kubectlOk('1.33', ['create', 'namespace', NS]);
const mqttPort = await freeTcpPort();
const edge = await KedgeEdge.join(c, { nodeName: 'opcua-edge', token: await createToken(c), args: ['--mqtt-port', String(mqttPort), '--mappers', 'none'] });
const server = await OpcuaTestServer.start({ users: { operator: 'op-s3cret' } });
after(() => server.dispose());
const dir = await mkdtemp(join(tmpdir(), 'kedge-e2e-opcua-'));
after(() => rm(dir, { recursive: true, force: true }));
// The password stays out of the Device: the mapper reads it from a file.
await writeFile(join(dir, 'password'), 'op-s3cret\n', { mode: 0o600 });
await KedgeMapper.start({ protocol: 'opcua', node: edge.nodeName, mqtt: `mqtt://127.0.0.1:${mqttPort}`, args: ['--pki-dir', join(dir, 'pki')] });

test('E2E_DEVICES_OPCUA_1: a variable read over Basic256Sha256 with a user and password reaches the Device status, and changes follow', async () => {
  await c.cloud.apply(
    '1.33',
    `
apiVersion: devices.kubeedge.io/v1beta1
kind: DeviceModel
metadata: {name: boiler-opcua, namespace: ${NS}}
spec:
  protocol: opcua
  properties:
  - {name: temperature, type: DOUBLE, accessMode: ReadOnly, maximum: "150"}
  - {name: setpoint, type: DOUBLE, accessMode: ReadWrite, minimum: "5", maximum: "90"}
  - {name: running, type: BOOLEAN, accessMode: ReadWrite}
---
apiVersion: devices.kubeedge.io/v1beta1
kind: Device
metadata: {name: boiler-ua, namespace: ${NS}}
spec:
  deviceModelRef: {name: boiler-opcua}
  nodeName: ${edge.nodeName}
  protocol:
    protocolName: opcua
    configData: {url: "${server.url}", securityPolicy: Basic256Sha256, securityMode: SignAndEncrypt, userName: operator, passwordFile: "${join(dir, 'password')}", timeout: 5000}
  properties:
  - name: temperature
    collectCycle: 300000000
    visitors: {protocolName: opcua, configData: {nodeID: "${server.nodeId('Temperature')}"}}
  - name: setpoint
    collectCycle: 300000000
    visitors: {protocolName: opcua, configData: {nodeID: "${server.nodeId('Setpoint')}"}}
  - name: running
    collectCycle: 300000000
    visitors: {protocolName: opcua, configData: {nodeID: "${server.nodeId('Switch')}"}}
`,
  );
  await eventually(
    async () => {
      const s = await deviceStatus(c.cloud, NS, 'boiler-ua');
      assert.equal(reported(s, 'temperature'), '21.5');
      assert.equal(reported(s, 'running'), 'false');
      assert.equal(s.state, 'online');
    },
    { timeoutMs: 40_000, intervalMs: 250, what: 'the OPC UA values in the Device status' },
  );
  await server.set('Temperature', 64.25);
  await eventually(async () => assert.equal(reported(await deviceStatus(c.cloud, NS, 'boiler-ua'), 'temperature'), '64.25'), { timeoutMs: 15_000, intervalMs: 200, what: 'the changed variable' });
});

test('E2E_DEVICES_OPCUA_2: desired values set with kubectl patch are written to the variables', async () => {
  await c.cloud.kubectlOk('1.33', ['patch', 'device', 'boiler-ua', '-n', NS, '--type=json', '-p', JSON.stringify([{ op: 'add', path: '/spec/properties/1/desired', value: { value: '42.5' } }, { op: 'add', path: '/spec/properties/2/desired', value: { value: 'true' } }])]);
  await eventually(
    () => {
      assert.equal(server.get('Setpoint'), 42.5);
      assert.equal(server.get('Switch'), true);
    },
    { timeoutMs: 15_000, intervalMs: 100, what: 'the desired values on the OPC UA server' },
  );
  await eventually(
    async () => {
      const s = await deviceStatus(c.cloud, NS, 'boiler-ua');
      assert.equal(s.twins?.find((t) => t.propertyName === 'setpoint')?.observedDesired?.value, '42.5');
      assert.equal(reported(s, 'setpoint'), '42.5');
      assert.equal(reported(s, 'running'), 'true');
    },
    { timeoutMs: 15_000, intervalMs: 200, what: 'the written values in the Device status' },
  );
});

test('E2E_DEVICES_OPCUA_3: the device goes offline when the server stops and online when it is back', async () => {
  await server.stop();
  await eventually(async () => assert.equal((await deviceStatus(c.cloud, NS, 'boiler-ua')).state, 'offline'), { timeoutMs: 30_000, intervalMs: 250, what: 'the device offline' });
  await server.restart();
  await eventually(async () => assert.equal((await deviceStatus(c.cloud, NS, 'boiler-ua')).state, 'online'), { timeoutMs: 40_000, intervalMs: 250, what: 'the device online again' });
});
