import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { hasCode } from '../errors/platform-error.ts';
import { compileEdgeConfig, compileJoinConfig, nodeNameOf, parseLabels, usesPublicCas } from './config.ts';

const TOKEN = `${'a'.repeat(64)}.abcdef.0123456789abcdef`;

test('join needs --cloud and --token; the node name defaults to the host name', () => {
  assert.throws(() => compileJoinConfig({ token: TOKEN }), (e) => hasCode(e, 'CONFIG_INVALID') && /--cloud/.test(e.message));
  assert.throws(() => compileJoinConfig({ cloud: 'c' }), (e) => hasCode(e, 'CONFIG_INVALID') && /--token/.test(e.message));
  const j = compileJoinConfig({ cloud: '[::1]', token: TOKEN, 'join-port': 10002, labels: ['zone=a', 'tier=edge'] });
  assert.equal(j.cloud, '::1');
  assert.deepEqual(j.labels, { zone: 'a', tier: 'edge' });
  if (/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(hostname().toLowerCase())) assert.equal(j.nodeName, hostname().toLowerCase());
  assert.ok(Object.isFrozen(j));
});

test('a --cloud with a port or a scheme is refused (the port is --join-port)', () => {
  for (const cloud of ['https://cloud', 'cloud:10002']) assert.throws(() => compileJoinConfig({ cloud, token: TOKEN }), (e) => hasCode(e, 'CONFIG_INVALID'));
});

test('node names must be DNS subdomains', () => {
  assert.equal(nodeNameOf({ 'node-name': 'edge-1.plant' }), 'edge-1.plant');
  assert.throws(() => nodeNameOf({ 'node-name': 'Edge_1' }), (e) => hasCode(e, 'CONFIG_INVALID') && /--node-name/.test(e.message));
});

test('labels are checked as the API server checks them', () => {
  assert.deepEqual(parseLabels(['example.com/zone=a', 'empty=']), { 'example.com/zone': 'a', empty: '' });
  for (const bad of ['novalue', '=x', 'bad key=x', `k=${'v'.repeat(64)}`]) assert.throws(() => parseLabels([bad]), (e) => hasCode(e, 'CONFIG_INVALID'), bad);
});

test('edge config: defaults, bounds, frozen', () => {
  const c = compileEdgeConfig({ 'data-dir': '/tmp/x', 'lease-interval': 10_000 });
  assert.equal(c.dataDir, '/tmp/x');
  assert.equal(c.metaServerPort, 10550);
  assert.equal(c.metaServerBindAddress, '127.0.0.1');
  assert.equal(c.leaseRenewIntervalMs, 10_000);
  assert.ok(Object.isFrozen(c));
  assert.throws(() => compileEdgeConfig({ 'lease-interval': 120_000 }), (e) => hasCode(e, 'CONFIG_INVALID'));
  assert.throws(() => compileEdgeConfig({ 'outbox-max-bytes': 10 }), (e) => hasCode(e, 'CONFIG_INVALID'));
});

test('--mappers: auto by default, none, or built-in protocols; anything else is refused', () => {
  assert.equal(compileEdgeConfig({}).mappers, 'auto');
  assert.equal(compileEdgeConfig({ mappers: ['none'] }).mappers, 'none');
  assert.deepEqual(compileEdgeConfig({ mappers: ['virtual', 'modbus', 'virtual'] }).mappers, ['virtual', 'modbus']);
  assert.deepEqual(compileEdgeConfig({ mappers: 'opcua' }).mappers, ['opcua']);
  assert.throws(() => compileEdgeConfig({ mappers: ['bluetooth'] }), (e) => hasCode(e, 'CONFIG_INVALID') && /--mappers: kedge has no mapper for "bluetooth"/.test(e.message));
  assert.throws(() => compileEdgeConfig({ mappers: ['auto', 'modbus'] }), (e) => hasCode(e, 'CONFIG_INVALID') && /auto stands alone/.test(e.message));
  assert.throws(() => compileEdgeConfig({ mappers: [] }), (e) => hasCode(e, 'CONFIG_INVALID'));
});

test('usesPublicCas: only an external MQTT broker over TLS needs the public roots', () => {
  assert.equal(usesPublicCas({ mqttExternal: undefined }), false);
  assert.equal(usesPublicCas({ mqttExternal: 'mqtt://127.0.0.1:1883' }), false);
  assert.equal(usesPublicCas({ mqttExternal: 'mqtts://broker.example.com:8883' }), true);
  assert.equal(usesPublicCas({ mqttExternal: 'SSL://broker:8883' }), true);
});
