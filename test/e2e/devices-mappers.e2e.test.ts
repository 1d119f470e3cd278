// The edge runs its mappers: no `kedge mapper` is started by hand here. A virtual and a Modbus device
// (against the pymodbus simulator) applied with kubectl report values to `kubectl get device -o yaml`
// through `kedge mapper` processes the edge started itself; deleting the last Modbus device stops
// the modbus mapper; a mapper killed with SIGKILL is restarted and values keep flowing; and neither
// an edge stopped nor an edge killed with SIGKILL leaves a mapper process behind.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { createToken, KedgeEdge, useEdgeCloud } from './harness/edge.ts';
import { deviceStatus, freeTcpPort, ModbusSimulator, Mosquitto, reported } from './harness/devices.ts';
import { eventually } from './harness/wait.ts';

const c = await useEdgeCloud();
const NS = 'devices-mappers';
await c.cloud.kubectlOk('1.33', ['create', 'namespace', NS]);
const mqttPort = await freeTcpPort();
// Default flags: --mappers auto.
const edge = await KedgeEdge.join(c, { nodeName: 'mappers-edge', token: await createToken(c), args: ['--mqtt-port', String(mqttPort)] });
const sim = await ModbusSimulator.start();
after(() => sim.stop());

const MANIFESTS = `
apiVersion: devices.kubeedge.io/v1beta1
kind: DeviceModel
metadata: {name: thermometer, namespace: ${NS}}
spec:
  protocol: virtual
  properties:
  - {name: temperature, type: INT, accessMode: ReadOnly, minimum: "0", maximum: "1000000"}
---
apiVersion: devices.kubeedge.io/v1beta1
kind: Device
metadata: {name: thermo-1, namespace: ${NS}}
spec:
  deviceModelRef: {name: thermometer}
  nodeName: ${edge.nodeName}
  protocol: {protocolName: virtual, configData: {}}
  properties:
  - name: temperature
    collectCycle: 200000000
    reportCycle: 200000000
    visitors: {protocolName: virtual, configData: {generator: counter, min: 0, max: 1000000}}
---
apiVersion: devices.kubeedge.io/v1beta1
kind: DeviceModel
metadata: {name: boiler-model, namespace: ${NS}}
spec:
  protocol: modbus
  properties:
  - {name: temperature, type: INT, accessMode: ReadOnly, minimum: "-40", maximum: "120"}
---
apiVersion: devices.kubeedge.io/v1beta1
kind: Device
metadata: {name: boiler-1, namespace: ${NS}}
spec:
  deviceModelRef: {name: boiler-model}
  nodeName: ${edge.nodeName}
  protocol: {protocolName: modbus, configData: {ip: 127.0.0.1, port: ${sim.port}, slaveID: 1, timeout: 1000}}
  properties:
  - name: temperature
    collectCycle: 300000000
    reportCycle: 300000000
    visitors: {protocolName: modbus, configData: {register: InputRegister, offset: 0, limit: 1}}
`;

/** The pids of the mapper processes an edge said it started for `protocol`, oldest first. */
function startedPids(protocol: string, of: KedgeEdge = edge): number[] {
  const pids: number[] = [];
  for (const line of of.log.split('\n')) {
    if (!line.includes('"mapper started"')) continue;
    try {
      const j = JSON.parse(line) as { protocol?: string; pid?: number };
      if (j.protocol === protocol && typeof j.pid === 'number') pids.push(j.pid);
    } catch {
      // not a whole log line
    }
  }
  return pids;
}

/** Running and not a zombie (an orphan waits for whatever reaps here). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

function cmdline(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter((a) => a !== '');
  } catch {
    return [];
  }
}

/** Every live `kedge mapper` process of an edge, found by the PKI dir under its data dir, whoever its parent is. */
function mapperProcesses(of: KedgeEdge = edge): number[] {
  const marker = `${of.dataDir}/mapper-pki/`;
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map(Number)
    .filter((pid) => alive(pid) && cmdline(pid).some((a) => a.startsWith(marker)));
}

async function waitForMapper(protocol: string, count: number): Promise<number> {
  return eventually(
    () => {
      const pids = startedPids(protocol);
      assert.ok(pids.length >= count, `${pids.length} ${protocol} mapper starts so far`);
      const pid = pids.at(-1)!;
      assert.ok(alive(pid), `${protocol} mapper ${pid} is not running`);
      return pid;
    },
    { timeoutMs: 20_000, intervalMs: 100, what: `the edge to start ${protocol} mapper #${count}` },
  );
}

test('E2E_DEVICES_MAPPERS_1: devices applied with kubectl report values through mappers the edge started itself, one per protocol', async () => {
  assert.deepEqual(mapperProcesses(), [], 'no device, no mapper');
  await sim.set('ir', 0, [42]);
  await c.cloud.apply('1.33', MANIFESTS);
  await eventually(
    async () => {
      const thermo = await deviceStatus(c.cloud, NS, 'thermo-1');
      assert.match(reported(thermo, 'temperature') ?? '', /^\d+$/);
      assert.equal(thermo.state, 'online');
      const boiler = await deviceStatus(c.cloud, NS, 'boiler-1');
      assert.equal(reported(boiler, 'temperature'), '42');
      assert.equal(boiler.state, 'online');
    },
    { timeoutMs: 45_000, intervalMs: 250, what: 'values from both devices in kubectl get device -o yaml' },
  );
  const virtual = await waitForMapper('virtual', 1);
  const modbus = await waitForMapper('modbus', 1);
  assert.deepEqual(startedPids('virtual'), [virtual], 'exactly one virtual mapper was started');
  assert.deepEqual(startedPids('modbus'), [modbus], 'exactly one modbus mapper was started');
  assert.deepEqual(mapperProcesses().sort(), [virtual, modbus].sort());
  const args = cmdline(virtual);
  const at = args.indexOf('mapper');
  assert.deepEqual(args.slice(at, at + 4), ['mapper', 'virtual', '--node', edge.nodeName]);
  assert.ok(args.includes('--stop-on-stdin-close'));
  assert.equal(args[args.indexOf('--mqtt') + 1], `mqtt://127.0.0.1:${mqttPort}`);
  // The mappers' own lines are in the edge's log, tagged with their protocol.
  assert.match(edge.log, /"mapper":"virtual"[^\n]*"msg":"connected to the EventBus"/);
  assert.match(edge.log, /"mapper":"modbus"[^\n]*"msg":"connected to the EventBus"/);
});

test('E2E_DEVICES_MAPPERS_2: a mapper killed with SIGKILL is restarted and values keep flowing', async () => {
  const before = startedPids('virtual');
  const victim = before.at(-1)!;
  process.kill(victim, 'SIGKILL');
  const killedAt = Date.now();
  const restarted = await waitForMapper('virtual', before.length + 1);
  assert.notEqual(restarted, victim);
  assert.ok(!alive(victim));
  assert.match(edge.log, new RegExp(`"protocol":"virtual","pid":${victim},[^\\n]*"signal":"SIGKILL"[^\\n]*"msg":"mapper exited; restarting it"`));
  await eventually(
    async () => {
      const twin = (await deviceStatus(c.cloud, NS, 'thermo-1')).twins?.find((t) => t.propertyName === 'temperature');
      assert.ok(Number(twin?.reported?.metadata?.['timestamp']) > killedAt, `reported at ${twin?.reported?.metadata?.['timestamp']}, killed at ${killedAt}`);
    },
    { timeoutMs: 30_000, intervalMs: 250, what: 'a value read after the restart in the Device status' },
  );
  assert.deepEqual(mapperProcesses().length, 2);
});

test('E2E_DEVICES_MAPPERS_3: deleting the last device of a protocol stops its mapper; the others keep running', async () => {
  const modbus = startedPids('modbus').at(-1)!;
  const virtual = startedPids('virtual').at(-1)!;
  await c.cloud.kubectlOk('1.33', ['delete', 'device', 'boiler-1', '-n', NS]);
  await eventually(() => assert.ok(!alive(modbus), `modbus mapper ${modbus} still running`), { timeoutMs: 20_000, intervalMs: 100, what: 'the modbus mapper to stop' });
  assert.match(edge.log, new RegExp(`"protocol":"modbus","pid":${modbus},[^\\n]*"msg":"mapper stopped"`));
  assert.ok(alive(virtual));
  assert.deepEqual(mapperProcesses(), [virtual]);
});

test('E2E_DEVICES_MAPPERS_4: an edge killed with SIGKILL leaves no mapper behind; restarted, it starts them again; stopped, it stops them', async () => {
  const virtual = startedPids('virtual').at(-1)!;
  await edge.crash();
  // The mapper notices on its own: the edge's end of its stdin closed with the edge.
  await eventually(() => assert.deepEqual(mapperProcesses(), []), { timeoutMs: 20_000, intervalMs: 100, what: `mapper ${virtual} to exit after the edge was killed` });

  const starts = startedPids('virtual').length;
  edge.start();
  const again = await waitForMapper('virtual', starts + 1);
  assert.deepEqual(startedPids('modbus').length, 1, 'no device needs modbus after the restart');
  await edge.stop();
  assert.ok(!alive(again));
  assert.deepEqual(mapperProcesses(), []);
  assert.match(edge.log, /"msg":"stopping the mappers"/);
});

test('E2E_DEVICES_MAPPERS_5: with an external broker (mosquitto) the edge hands its mappers the broker, and a mapper still stops when the edge is killed while the broker stays up', async () => {
  const mosquitto = await Mosquitto.start();
  after(() => mosquitto.dispose());
  const external = await KedgeEdge.join(c, { nodeName: 'mappers-external', token: await createToken(c), args: ['--mqtt-external', mosquitto.url, '--mqtt-port', '0'] });
  await c.cloud.apply(
    '1.33',
    MANIFESTS.split('---')
      .slice(1, 2)
      .join('')
      .replace('name: thermo-1', 'name: thermo-ext')
      .replace(`nodeName: ${edge.nodeName}`, `nodeName: ${external.nodeName}`),
  );
  await eventually(async () => assert.match(reported(await deviceStatus(c.cloud, NS, 'thermo-ext'), 'temperature') ?? '', /^\d+$/), { timeoutMs: 30_000, intervalMs: 250, what: 'a value through mosquitto' });
  const [pid] = startedPids('virtual', external);
  assert.ok(pid !== undefined && alive(pid));
  const args = cmdline(pid);
  assert.equal(args[args.indexOf('--mqtt') + 1], mosquitto.url);
  await external.crash();
  await eventually(() => assert.deepEqual(mapperProcesses(external), []), { timeoutMs: 20_000, intervalMs: 100, what: 'the mapper to exit after its edge was killed' });
});
