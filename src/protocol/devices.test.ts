import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeEnvelope, encodeEnvelope, envelope, ProtocolError } from './codec.ts';
import { checkValue, modelPropertyProblems, resolveDevice, type DeviceModelObject, type DeviceObject, type ResolvedProperty } from './devices.ts';
import type { Envelope } from './envelope.ts';

const prop = (type: ResolvedProperty['type'], minimum?: string, maximum?: string): Pick<ResolvedProperty, 'type' | 'minimum' | 'maximum'> => ({ type, ...(minimum !== undefined ? { minimum } : {}), ...(maximum !== undefined ? { maximum } : {}) });

test('checkValue: each type accepts its values and refuses others with a reason', () => {
  const cases: [string, Pick<ResolvedProperty, 'type' | 'minimum' | 'maximum'>, string, RegExp | undefined][] = [
    ['an integer', prop('INT'), '42', undefined],
    ['a negative integer', prop('INT'), '-7', undefined],
    ['int64 max', prop('INT'), '9223372036854775807', undefined],
    ['beyond int64', prop('INT'), '9223372036854775808', /64-bit integer/],
    ['a decimal for INT', prop('INT'), '4.2', /not an integer/],
    ['text for INT', prop('INT'), 'hot', /not an integer/],
    ['inside the range', prop('INT', '0', '100'), '100', undefined],
    ['below the minimum', prop('INT', '0', '100'), '-1', /below the minimum 0/],
    ['above the maximum', prop('INT', '0', '100'), '101', /above the maximum 100/],
    ['a float', prop('FLOAT', '-40.5', '120'), '21.25', undefined],
    ['an exponent', prop('DOUBLE'), '1e300', undefined],
    ['beyond float32', prop('FLOAT'), '1e39', /32-bit float/],
    ['a float above its maximum', prop('DOUBLE', undefined, '1.5'), '1.6', /above the maximum 1.5/],
    ['NaN', prop('DOUBLE'), 'NaN', /not a number/],
    ['an empty number', prop('FLOAT'), '', /not a number/],
    ['true', prop('BOOLEAN'), 'true', undefined],
    ['Go-style 0', prop('BOOLEAN'), '0', undefined],
    ['yes is not a boolean', prop('BOOLEAN'), 'yes', /not a boolean/],
    ['any string', prop('STRING'), 'hello world', undefined],
    ['a too long string', prop('STRING'), 'x'.repeat(513), /longer than 512/],
  ];
  for (const [name, p, value, expected] of cases) {
    const why = checkValue(value, p);
    if (expected === undefined) assert.equal(why, undefined, name);
    else assert.match(why ?? '(accepted)', expected, name);
  }
});

test('modelPropertyProblems: bounds must be numbers of a numeric type, in order', () => {
  assert.deepEqual(modelPropertyProblems({ name: 't', type: 'INT', minimum: '0', maximum: '10' }), []);
  assert.deepEqual(
    modelPropertyProblems({ name: 't', type: 'INT', minimum: '0.5' }).map((p) => p[0]),
    ['minimum'],
  );
  assert.deepEqual(
    modelPropertyProblems({ name: 't', type: 'STRING', maximum: '3' }).map((p) => p[0]),
    ['maximum'],
  );
  assert.match(modelPropertyProblems({ name: 't', type: 'DOUBLE', minimum: '5', maximum: '1' })[0]?.[2] ?? '', /greater than the maximum/);
});

test('resolveDevice: model definitions with device overrides; model visitors make a property part of every device', () => {
  const model: DeviceModelObject = {
    metadata: { name: 'm', namespace: 'default' },
    spec: {
      protocol: 'modbus',
      protocolConfigData: { port: 502, slaveID: 1 },
      properties: [
        { name: 'temp', type: 'INT', accessMode: 'ReadOnly', minimum: '-40', maximum: '120', unit: 'C', visitors: { protocolName: 'modbus', configData: { register: 'InputRegister', offset: 0 } } },
        { name: 'setpoint', type: 'FLOAT', accessMode: 'ReadWrite' },
        { name: 'unused', type: 'STRING' },
      ],
    },
  };
  const device: DeviceObject = {
    metadata: { name: 'd', namespace: 'plant', uid: 'u1' },
    spec: {
      deviceModelRef: { name: 'm' },
      protocol: { protocolName: 'modbus', configData: { ip: '10.0.0.2', port: 1502 } },
      properties: [
        { name: 'setpoint', desired: { value: '21.5' }, visitors: { protocolName: 'modbus', configData: { register: 'HoldingRegister', offset: 4, limit: 2 } }, collectCycle: 2_000_000_000, reportToCloud: false },
        { name: 'ghost' },
      ],
    },
  };
  const r = resolveDevice(device, model);
  assert.equal(r.protocolName, 'modbus');
  assert.deepEqual(r.protocolConfig, { port: 1502, slaveID: 1, ip: '10.0.0.2' });
  assert.deepEqual(
    r.properties.map((p) => p.name),
    ['temp', 'setpoint'],
  );
  const [temp, setpoint] = r.properties;
  assert.equal(temp?.collectCycleMs, 1000);
  assert.equal(temp?.reportToCloud, true);
  assert.equal(temp?.accessMode, 'ReadOnly');
  assert.deepEqual(temp?.visitors?.configData, { register: 'InputRegister', offset: 0 });
  assert.equal(setpoint?.collectCycleMs, 2000);
  assert.equal(setpoint?.reportCycleMs, 2000);
  assert.equal(setpoint?.reportToCloud, false);
  assert.equal(setpoint?.desired?.value, '21.5');
  assert.deepEqual(setpoint?.visitors?.configData, { register: 'HoldingRegister', offset: 4, limit: 2 });
});

const REPORT = {
  v: 1,
  header: { id: 'r-1', timestamp: 1 },
  route: { source: 'edge', group: 'twin', operation: 'report' },
  content: {
    devices: [
      {
        namespace: 'default',
        name: 'd',
        uid: 'u1',
        state: 'online',
        lastOnlineTime: '2026-01-01T00:00:00Z',
        twins: [{ propertyName: 'temp', reported: { value: '21', metadata: { timestamp: '1', type: 'int' } }, observedDesired: { value: '20' } }],
      },
    ],
  },
};

test('report: a valid report decodes to what was sent', () => {
  const env = decodeEnvelope(JSON.stringify(REPORT));
  assert.equal(env.route.operation, 'report');
  assert.deepEqual(JSON.parse(encodeEnvelope(env)), REPORT);
  const built: Envelope<'report'> = envelope('edge', 'twin', 'report', { devices: [] });
  assert.equal(decodeEnvelope(encodeEnvelope(built)).route.operation, 'report');
});

test('report: malformed device reports are refused, naming the field', () => {
  const broken: [string, (c: typeof REPORT.content) => unknown][] = [
    ['no devices list', () => ({})],
    ['a device without uid', (c) => ({ devices: [{ ...c.devices[0], uid: undefined }] })],
    ['an unknown state', (c) => ({ devices: [{ ...c.devices[0], state: 'exploded' }] })],
    ['twins not a list', (c) => ({ devices: [{ ...c.devices[0], twins: {} }] })],
    ['a property name with spaces', (c) => ({ devices: [{ ...c.devices[0], twins: [{ propertyName: 'a b' }] }] })],
    ['a numeric value', (c) => ({ devices: [{ ...c.devices[0], twins: [{ propertyName: 't', reported: { value: 21 } }] }] })],
    ['metadata with a number', (c) => ({ devices: [{ ...c.devices[0], twins: [{ propertyName: 't', reported: { value: '1', metadata: { timestamp: 1 } } }] }] })],
    ['too many devices', (c) => ({ devices: Array.from({ length: 1001 }, () => c.devices[0]) })],
  ];
  for (const [name, mutate] of broken) {
    const frame = JSON.stringify({ ...REPORT, content: mutate(structuredClone(REPORT.content)) });
    assert.throws(
      () => decodeEnvelope(frame),
      (err: unknown) => err instanceof ProtocolError && err.code === 'PROTOCOL_MALFORMED',
      name,
    );
  }
});
