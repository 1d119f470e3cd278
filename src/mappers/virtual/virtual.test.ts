import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { MapperDevice, MapperProperty } from '../lib/driver.ts';
import { MapperError } from '../lib/errors.ts';
import { parseVirtualVisitor, VirtualDriver } from './driver.ts';

function prop(name: string, type: MapperProperty['type'], configData: Record<string, unknown> | undefined, extra: Partial<MapperProperty> = {}): MapperProperty {
  return { name, description: '', type, accessMode: 'ReadWrite', ...(configData !== undefined ? { visitors: { protocolName: 'virtual', configData } } : {}), collectCycleMs: 1000, reportCycleMs: 1000, reportToCloud: true, ...extra };
}

function device(properties: MapperProperty[]): MapperDevice {
  return { id: 'd/v', name: 'v', namespace: 'd', description: '', state: 'unknown', last_online: '', attributes: {}, twin: {}, model: 'm', protocol: { protocolName: 'virtual', configData: {} }, properties };
}

test('virtual values: random within the range, a sine over its period, a wrapping counter, constants that keep what was written', async () => {
  let now = 0;
  const props = [
    prop('r', 'INT', { generator: 'random', min: 10, max: 20 }),
    prop('s', 'DOUBLE', { generator: 'sine', min: 0, max: 10, periodMs: 4000 }),
    prop('c', 'INT', { generator: 'counter', min: 0, max: 2 }),
    prop('k', 'STRING', { value: 'eco' }),
    prop('ro', 'DOUBLE', undefined, { accessMode: 'ReadOnly', minimum: '-5', maximum: '5' }),
  ];
  const [r, s, c, k, ro] = props as [MapperProperty, MapperProperty, MapperProperty, MapperProperty, MapperProperty];
  const conn = await new VirtualDriver({ now: () => now }).connect(device(props));
  for (let i = 0; i < 50; i++) {
    const v = Number(await conn.read(r));
    assert.ok(Number.isInteger(v) && v >= 10 && v <= 20, String(v));
    const x = Number(await conn.read(ro));
    assert.ok(x >= -5 && x <= 5, 'a ReadOnly property without visitors is random within the model');
  }
  assert.equal(await conn.read(s), '5');
  now = 1000;
  assert.equal(await conn.read(s), '10');
  assert.deepEqual([await conn.read(c), await conn.read(c), await conn.read(c), await conn.read(c)], ['0', '1', '2', '0']);
  assert.equal(await conn.read(k), 'eco');
  await conn.write(k, 'boost');
  assert.equal(await conn.read(k), 'boost');
  await assert.rejects(conn.write(ro, '1'), (e) => e instanceof MapperError && e.code === 'MAPPER_NOT_WRITABLE');
  await assert.rejects(conn.write(r, 'ten'), (e) => e instanceof MapperError && e.code === 'MAPPER_VALUE_INVALID');
  assert.throws(() => parseVirtualVisitor(prop('x', 'INT', { generator: 'noise' })), (e) => e instanceof MapperError && e.code === 'MAPPER_CONFIG_INVALID');
  assert.throws(() => parseVirtualVisitor(prop('x', 'INT', { min: 5, max: 1 })), (e) => e instanceof MapperError && /min is above max/.test(e.message));
});
