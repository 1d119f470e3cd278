import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiError } from '../../../../api/errors.ts';
import { DeviceTestApi } from '../../../controllers/devices/testing.ts';

let api: DeviceTestApi;
before(async () => {
  api = await DeviceTestApi.start();
  await api.createModel('thermostat', [
    { name: 'temperature', type: 'INT', accessMode: 'ReadOnly', minimum: '-40', maximum: '120', unit: 'Celsius' },
    { name: 'setpoint', type: 'DOUBLE', accessMode: 'ReadWrite', minimum: '5', maximum: '30.5' },
    { name: 'enabled', type: 'BOOLEAN', accessMode: 'ReadWrite' },
  ]);
});
after(() => api.close());

/** The 422 a create is refused with: its message and the fields of its causes. */
async function refused(p: Promise<unknown>): Promise<{ message: string; fields: string[] }> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof ApiError, `expected an ApiError, got ${String(err)}`);
    assert.equal(err.httpStatus, 422, err.message);
    assert.equal(err.code, 'API_INVALID');
    return { message: err.message, fields: (err.details?.causes ?? []).map((c) => c.field) };
  }
  assert.fail('the write was accepted');
}

test('a Device of an existing model with in-range desired values is admitted', async () => {
  const d = await api.createDevice('ok-1', 'thermostat', { properties: [{ name: 'temperature' }, { name: 'setpoint', desired: { value: '21.5' } }, { name: 'enabled', desired: { value: 'true' } }] });
  assert.equal(d.metadata.name, 'ok-1');
});

test('a Device whose model does not exist is refused, naming the model', async () => {
  const r = await refused(api.createDevice('no-model', 'nonexistent'));
  assert.deepEqual(r.fields, ['spec.deviceModelRef.name']);
  assert.match(r.message, /no DeviceModel "nonexistent" in namespace "default"/);
});

test('a Device without a model reference is refused', async () => {
  const r = await refused(api.devices.create('default', { apiVersion: 'devices.kubeedge.io/v1beta1', kind: 'Device', metadata: { name: 'no-ref' }, spec: { nodeName: 'edge-1' } }));
  assert.deepEqual(r.fields, ['spec.deviceModelRef.name']);
});

test('properties not in the model, twice listed, or with bad cycles are refused', async () => {
  const r = await refused(api.createDevice('bad-props', 'thermostat', { properties: [{ name: 'humidity' }, { name: 'setpoint' }, { name: 'setpoint', collectCycle: -5 }] }));
  assert.deepEqual(r.fields.sort(), ['spec.properties[0].name', 'spec.properties[2].collectCycle', 'spec.properties[2].name']);
  assert.match(r.message, /DeviceModel "thermostat" has no property "humidity"/);
});

test('desired values that break the type or the range are refused with the reason', async () => {
  const cases: [string, string, RegExp][] = [
    ['setpoint', '31', /above the maximum 30.5/],
    ['setpoint', '4.99', /below the minimum 5/],
    ['setpoint', 'warm', /not a number/],
    ['enabled', 'maybe', /not a boolean/],
  ];
  for (const [name, value, why] of cases) {
    const r = await refused(api.createDevice(`bad-${name}-${value.replace('.', '-')}`, 'thermostat', { properties: [{ name, desired: { value } }] }));
    assert.deepEqual(r.fields, ['spec.properties[0].desired.value'], `${name}=${value}`);
    assert.match(r.message, why);
    assert.match(r.message, new RegExp(`property "${name}" of DeviceModel "thermostat"`));
  }
});

test('a desired value for a ReadOnly property is refused', async () => {
  const r = await refused(api.createDevice('ro', 'thermostat', { properties: [{ name: 'temperature', desired: { value: '20' } }] }));
  assert.deepEqual(r.fields, ['spec.properties[0].desired']);
  assert.match(r.message, /ReadOnly/);
});

test('an update that sets a bad desired value is refused; status writes and metadata changes are not checked', async () => {
  await api.createDevice('upd', 'thermostat', { properties: [{ name: 'setpoint', desired: { value: '20' } }] });
  await refused(api.devices.patch('default', 'upd', 'json', [{ op: 'replace', path: '/spec/properties/0/desired/value', value: '99' }]));
  const patched = await api.devices.patch('default', 'upd', 'json', [{ op: 'replace', path: '/spec/properties/0/desired/value', value: '22' }]);
  assert.equal(patched.spec?.properties?.[0]?.desired?.value, '22');
  // The model changes under the device: its status and labels can still be written.
  await api.models.patch('default', 'thermostat', 'json', [{ op: 'replace', path: '/spec/properties/1/maximum', value: '21' }]);
  await api.devices.patch('default', 'upd', 'merge', { status: { state: 'online' } }, { subresource: 'status' });
  await api.devices.patch('default', 'upd', 'merge', { metadata: { labels: { zone: 'a' } } });
  await api.models.patch('default', 'thermostat', 'json', [{ op: 'replace', path: '/spec/properties/1/maximum', value: '30.5' }]);
});

test('DeviceModel: duplicate names, names unusable as twins, and nonsensical bounds are refused', async () => {
  const r = await refused(
    api.createModel('bad-model', [
      { name: 'a', type: 'INT', minimum: '10', maximum: '1' },
      { name: 'a', type: 'INT' },
      { name: 'has space', type: 'STRING' },
      { name: 'b', type: 'STRING', maximum: '5' },
      { name: 'c', type: 'INT', minimum: '1.5' },
    ]),
  );
  assert.deepEqual(r.fields.sort(), ['spec.properties[0].minimum', 'spec.properties[1].name', 'spec.properties[2].name', 'spec.properties[3].maximum', 'spec.properties[4].minimum']);
});
