import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { once } from 'node:events';
import type { MapperDevice, MapperProperty } from '../lib/driver.ts';
import { MapperError } from '../lib/errors.ts';
import { ModbusClient } from './client.ts';
import { ModbusDriver, parseDeviceConfig } from './driver.ts';
import { crc16, decodeRtu, encodeMbap, encodeRtu, MbapDecoder, parseResponse, readRequest, writeRegisterRequest } from './protocol.ts';
import { ModbusSimulator } from './testing.ts';
import { parseVisitor, registersToValue, valueToBits, valueToRegisters, type ModbusVisitor } from './values.ts';

const code = (err: unknown): string | undefined => (err instanceof MapperError ? err.code : undefined);

function prop(name: string, type: MapperProperty['type'], configData: Record<string, unknown>, accessMode: MapperProperty['accessMode'] = 'ReadWrite'): MapperProperty {
  return { name, description: '', type, accessMode, visitors: { protocolName: 'modbus', configData }, collectCycleMs: 1000, reportCycleMs: 1000, reportToCloud: true };
}

function device(configData: Record<string, unknown>, properties: MapperProperty[]): MapperDevice {
  return { id: 'default/dev', name: 'dev', namespace: 'default', description: '', state: 'unknown', last_online: '', attributes: {}, twin: {}, model: 'm', protocol: { protocolName: 'modbus', configData }, properties };
}

describe('Modbus framing', () => {
  test('CRC-16/MODBUS of the spec example', () => {
    // Read holding registers 0..9 of unit 1: 01 03 00 00 00 0A C5 CD.
    const frame = encodeRtu(1, readRequest(3, 0, 10).pdu);
    assert.equal(frame.toString('hex'), '01030000000ac5cd');
    assert.equal(crc16(Buffer.from('01030000000a', 'hex')), 0xcdc5);
    const answer = encodeRtu(1, Buffer.from('0302002a', 'hex'));
    assert.deepEqual(decodeRtu(answer, 1), Buffer.from('0302002a', 'hex'));
    const noisy = Buffer.from(answer);
    noisy[3]! ^= 0x10;
    assert.throws(() => decodeRtu(noisy, 1), (e) => code(e) === 'MAPPER_MALFORMED_RESPONSE');
    assert.throws(() => decodeRtu(encodeRtu(2, Buffer.from('0302002a', 'hex')), 1), (e) => code(e) === 'MAPPER_MALFORMED_RESPONSE');
  });

  test('MBAP frames are cut from partial and coalesced reads', () => {
    const d = new MbapDecoder();
    const a = encodeMbap(7, 1, Buffer.from('0302002a', 'hex'));
    const b = encodeMbap(8, 1, Buffer.from('8302', 'hex'));
    const both = Buffer.concat([a, b]);
    assert.deepEqual(d.push(both.subarray(0, 5)), []);
    const frames = d.push(both.subarray(5));
    assert.deepEqual(frames.map((f) => f.transactionId), [7, 8]);
    assert.throws(() => new MbapDecoder().push(Buffer.from('0001000100060103', 'hex')), (e) => code(e) === 'MAPPER_MALFORMED_RESPONSE');
  });

  test('responses are checked against their request; exceptions become MAPPER_DEVICE_ERROR', () => {
    const req = readRequest(3, 0, 1);
    assert.deepEqual(parseResponse(req, Buffer.from('0302002a', 'hex')), Buffer.from('002a', 'hex'));
    assert.throws(() => parseResponse(req, Buffer.from('8302', 'hex')), (e) => code(e) === 'MAPPER_DEVICE_ERROR' && /illegal data address/.test((e as Error).message));
    assert.throws(() => parseResponse(req, Buffer.from('0304002a002b', 'hex')), (e) => code(e) === 'MAPPER_MALFORMED_RESPONSE');
    assert.throws(() => parseResponse(req, Buffer.from('0402002a', 'hex')), (e) => code(e) === 'MAPPER_MALFORMED_RESPONSE');
    const w = writeRegisterRequest(5, 300);
    assert.throws(() => parseResponse(w, Buffer.from('060006012c', 'hex')), (e) => code(e) === 'MAPPER_MALFORMED_RESPONSE', 'a write echo of another address');
    assert.throws(() => readRequest(3, 0, 126), (e) => code(e) === 'MAPPER_CONFIG_INVALID');
  });
});

describe('Modbus values', () => {
  const v = (extra: Partial<ModbusVisitor> & { limit: number }): ModbusVisitor => ({ register: 'HoldingRegister', offset: 0, scale: 1, isSwap: false, isRegisterSwap: false, dataType: undefined, ...extra });

  test('registers are read as the property type, with scale, byte swap and word swap (KubeEdge semantics)', () => {
    assert.equal(registersToValue(Buffer.from('002a', 'hex'), v({ limit: 1 }), 'INT'), '42');
    assert.equal(registersToValue(Buffer.from('ffff', 'hex'), v({ limit: 1 }), 'INT'), '65535', 'unsigned by default, as KubeEdge');
    assert.equal(registersToValue(Buffer.from('ffff', 'hex'), v({ limit: 1, dataType: 'int16' }), 'INT'), '-1');
    assert.equal(registersToValue(Buffer.from('00d7', 'hex'), v({ limit: 1, scale: 0.1 }), 'FLOAT'), '21.5');
    assert.equal(registersToValue(Buffer.from('41ac0000', 'hex'), v({ limit: 2 }), 'FLOAT'), '21.5');
    assert.equal(registersToValue(Buffer.from('000041ac', 'hex'), v({ limit: 2, isRegisterSwap: true }), 'FLOAT'), '21.5');
    assert.equal(registersToValue(Buffer.from('ac410000', 'hex'), v({ limit: 2, isSwap: true }), 'FLOAT'), '21.5');
    assert.equal(registersToValue(Buffer.from('0000ac41', 'hex'), v({ limit: 2, isSwap: true, isRegisterSwap: true }), 'FLOAT'), '21.5');
    assert.equal(registersToValue(Buffer.from('00010002', 'hex'), v({ limit: 2 }), 'INT'), String(65536 + 2));
    assert.equal(registersToValue(Buffer.from('4f4b0000', 'hex'), v({ limit: 2 }), 'STRING'), 'OK');
    assert.equal(registersToValue(Buffer.from('0001', 'hex'), v({ limit: 1 }), 'BOOLEAN'), 'true');
  });

  test('writes are the exact reverse, range-checked', () => {
    const cases: [ModbusVisitor, MapperProperty['type'], string][] = [
      [v({ limit: 1 }), 'INT', '42'],
      [v({ limit: 1, dataType: 'int16' }), 'INT', '-40'],
      [v({ limit: 1, scale: 0.1 }), 'FLOAT', '21.5'],
      [v({ limit: 2 }), 'FLOAT', '21.5'],
      [v({ limit: 2, isSwap: true, isRegisterSwap: true }), 'FLOAT', '-3.25'],
      [v({ limit: 4 }), 'DOUBLE', '1234.5678'],
      [v({ limit: 2 }), 'INT', '70000'],
      [v({ limit: 2 }), 'STRING', 'OK'],
      [v({ limit: 1 }), 'BOOLEAN', 'true'],
    ];
    for (const [visitor, type, value] of cases) assert.equal(registersToValue(valueToRegisters('p', value, visitor, type), visitor, type), value, `${type} ${value}`);
    assert.throws(() => valueToRegisters('p', '70000', v({ limit: 1 }), 'INT'), (e) => code(e) === 'MAPPER_VALUE_INVALID');
    assert.throws(() => valueToRegisters('p', 'warm', v({ limit: 1 }), 'INT'), (e) => code(e) === 'MAPPER_VALUE_INVALID');
    assert.deepEqual(valueToBits('p', '5', 3), [true, false, true]);
    assert.throws(() => valueToBits('p', '8', 3), (e) => code(e) === 'MAPPER_VALUE_INVALID');
  });

  test('visitors and device configs are checked, naming the field', () => {
    assert.throws(() => parseVisitor('t', { register: 'Holding' }), (e) => code(e) === 'MAPPER_CONFIG_INVALID' && /register must be one of/.test((e as Error).message));
    assert.throws(() => parseVisitor('t', { register: 'HoldingRegister', offset: 70000 }), (e) => /offset/.test((e as Error).message));
    assert.throws(() => parseVisitor('t', { register: 'HoldingRegister', limit: 1, dataType: 'float32' }), (e) => /takes 2 registers/.test((e as Error).message));
    assert.deepEqual(parseDeviceConfig('d', { ip: '10.0.0.2', port: 1502, slaveID: 3 }), { transport: { kind: 'tcp', host: '10.0.0.2', port: 1502 }, unitId: 3, timeoutMs: 3000 });
    assert.deepEqual(parseDeviceConfig('d', { tcp: { ip: 'plc', port: 502 }, framing: 'rtu' }).transport, { kind: 'rtu-over-tcp', host: 'plc', port: 502 });
    assert.deepEqual(parseDeviceConfig('d', { serialPort: '/dev/ttyS0', baudRate: 19200, parity: 'E', stopBits: 1 }).transport, { kind: 'rtu', path: '/dev/ttyS0', baudRate: 19200, dataBits: 8, parity: 'even', stopBits: 1 });
    assert.throws(() => parseDeviceConfig('d', {}), (e) => /ip \(Modbus TCP\) or serialPort/.test((e as Error).message));
    assert.throws(() => parseDeviceConfig('d', { serialPort: '/dev/ttyS0', baudRate: 1234 }), (e) => /baudRate/.test((e as Error).message));
  });
});

for (const mode of ['tcp', 'rtu-over-tcp', 'rtu'] as const) {
  describe(`Modbus ${mode} against the pymodbus simulator`, () => {
    let sim: ModbusSimulator;
    let config: Record<string, unknown>;
    before(async () => {
      sim = await ModbusSimulator.start({ framer: mode === 'rtu-over-tcp' ? 'rtu' : 'socket', pty: mode === 'rtu' });
      config = mode === 'rtu' ? { serialPort: sim.pty, baudRate: 115200, slaveID: 1, timeout: 2000 } : { ip: '127.0.0.1', port: sim.port, slaveID: 1, timeout: 2000, ...(mode === 'rtu-over-tcp' ? { framing: 'rtu' } : {}) };
    });
    after(() => sim.stop());

    test('reads every register table and writes coils and holding registers', async () => {
      const props = [
        prop('temperature', 'INT', { register: 'InputRegister', offset: 3, dataType: 'int16' }, 'ReadOnly'),
        prop('setpoint', 'FLOAT', { register: 'HoldingRegister', offset: 10, limit: 2, isSwap: true, isRegisterSwap: true }),
        prop('level', 'DOUBLE', { register: 'HoldingRegister', offset: 20, limit: 1, scale: 0.1 }),
        prop('pump', 'BOOLEAN', { register: 'CoilRegister', offset: 5 }),
        prop('alarms', 'INT', { register: 'DiscreteInputRegister', offset: 0, limit: 4 }, 'ReadOnly'),
      ];
      await sim.set('ir', 3, [0xffd8]);
      await sim.set('hr', 20, [215]);
      await sim.set('di', 0, [1, 0, 1, 1]);
      const conn = await new ModbusDriver().connect(device(config, props));
      try {
        const [temperature, setpoint, level, pump, alarms] = props as [MapperProperty, MapperProperty, MapperProperty, MapperProperty, MapperProperty];
        assert.equal(await conn.read(temperature), '-40');
        assert.equal(await conn.read(level), '21.5');
        assert.equal(await conn.read(alarms), String(1 + 4 + 8));
        await conn.write(setpoint, '22.75');
        assert.equal(await conn.read(setpoint), '22.75');
        const raw = await sim.get('hr', 10, 2);
        // float32 22.75 = 0x41B60000; word swap then byte swap puts 0x0000 first, then 0xB641.
        assert.deepEqual(raw, [0x0000, 0xb641]);
        await conn.write(pump, 'true');
        assert.deepEqual(await sim.get('co', 5), [1]);
        assert.equal(await conn.read(pump), 'true');
        await conn.write(level, '30.2');
        assert.deepEqual(await sim.get('hr', 20), [302]);
        await assert.rejects(conn.write(temperature, '1'), (e) => code(e) === 'MAPPER_NOT_WRITABLE');
        await assert.rejects(conn.read(prop('far', 'INT', { register: 'HoldingRegister', offset: 5000 })), (e) => code(e) === 'MAPPER_DEVICE_ERROR');
        // The connection survives a device error.
        assert.equal(await conn.read(level), '30.2');
      } finally {
        await conn.close();
      }
    });
  });
}

test('an unreachable device and a silent one fail with their codes; a closed connection fails later calls', async () => {
  const server = createServer(() => undefined);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  try {
    // Accepts the connection, never answers.
    const silent = await ModbusClient.connect({ kind: 'tcp', host: '127.0.0.1', port }, { timeoutMs: 200 });
    await assert.rejects(silent.request(readRequest(3, 0, 1)), (e) => code(e) === 'MAPPER_TIMEOUT' && (e as MapperError).connectionLost);
    await silent.close();
    await assert.rejects(silent.request(readRequest(3, 0, 1)), (e) => code(e) === 'MAPPER_CLOSED');
  } finally {
    server.close();
  }
  await assert.rejects(ModbusClient.connect({ kind: 'tcp', host: '127.0.0.1', port }, { timeoutMs: 500 }), (e) => code(e) === 'MAPPER_DEVICE_UNREACHABLE');
  await assert.rejects(ModbusClient.connect({ kind: 'rtu', path: '/dev/does-not-exist', baudRate: 9600, dataBits: 8, parity: 'none', stopBits: 1 }), (e) => code(e) === 'MAPPER_DEVICE_UNREACHABLE');
});
