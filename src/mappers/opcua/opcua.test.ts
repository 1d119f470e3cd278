import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../log/logger.ts';
import type { DeviceConnection, MapperDevice, MapperProperty } from '../lib/driver.ts';
import { MapperError } from '../lib/errors.ts';
import { OpcuaDriver, parseOpcuaConfig } from './driver.ts';
import { OpcuaTestServer, type TestVariable } from './testing.ts';

const code = (err: unknown): string | undefined => (err instanceof MapperError ? err.code : undefined);
const log = silentLogger();

function prop(name: string, type: MapperProperty['type'], nodeID: string, accessMode: MapperProperty['accessMode'] = 'ReadWrite'): MapperProperty {
  return { name, description: '', type, accessMode, visitors: { protocolName: 'opcua', configData: { nodeID } }, collectCycleMs: 1000, reportCycleMs: 1000, reportToCloud: true };
}

function device(configData: Record<string, unknown>, properties: MapperProperty[]): MapperDevice {
  return { id: 'default/boiler', name: 'boiler', namespace: 'default', description: '', state: 'unknown', last_online: '', attributes: {}, twin: {}, model: 'm', protocol: { protocolName: 'opcua', configData }, properties };
}

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kedge-opcua-client-'));
});
after(() => rm(dir, { recursive: true, force: true }));

test('device configs are checked, naming the field; a password can come from a file', async () => {
  await assert.rejects(parseOpcuaConfig('d', {}), (e) => code(e) === 'MAPPER_CONFIG_INVALID' && /url/.test((e as Error).message));
  await assert.rejects(parseOpcuaConfig('d', { url: 'opc.tcp://h:4840', securityPolicy: 'Basic128' }), (e) => /securityPolicy/.test((e as Error).message));
  await assert.rejects(parseOpcuaConfig('d', { url: 'opc.tcp://h:4840', securityPolicy: 'None', securityMode: 'Sign' }), (e) => /does not go with/.test((e as Error).message));
  await assert.rejects(parseOpcuaConfig('d', { url: 'opc.tcp://h:4840', userName: 'op' }), (e) => /password/.test((e as Error).message));
  assert.equal((await parseOpcuaConfig('d', { url: 'opc.tcp://h:4840', securityPolicy: 'basic256sha256' })).securityMode, 'SignAndEncrypt');
  await writeFile(join(dir, 'pw'), 's3cret\n');
  assert.equal((await parseOpcuaConfig('d', { url: 'opc.tcp://h:4840', userName: 'op', passwordFile: join(dir, 'pw') })).password, 's3cret');
});

for (const security of ['None', 'Basic256Sha256'] as const) {
  describe(`OPC UA with security ${security} against a node-opcua server`, () => {
    let server: OpcuaTestServer;
    let config: Record<string, unknown>;
    const users = security === 'None' ? undefined : { operator: 's3cret' };
    before(async () => {
      server = await OpcuaTestServer.start(users !== undefined ? { users } : {});
      config = { url: server.url, securityPolicy: security, ...(users !== undefined ? { userName: 'operator', password: 's3cret' } : {}), timeout: 5000 };
    });
    after(() => server.dispose());

    test('reads and writes variables of each type; refuses what the server refuses', async () => {
      const p = (name: TestVariable, type: MapperProperty['type'], mode: MapperProperty['accessMode'] = 'ReadWrite') => prop(name.toLowerCase(), type, server.nodeId(name), mode);
      const props = [p('Temperature', 'DOUBLE', 'ReadOnly'), p('Setpoint', 'DOUBLE'), p('Counter', 'INT'), p('Switch', 'BOOLEAN'), p('Label', 'STRING')];
      const [temperature, setpoint, counter, sw, label] = props as [MapperProperty, MapperProperty, MapperProperty, MapperProperty, MapperProperty];
      const conn: DeviceConnection = await new OpcuaDriver({ pkiDir: join(dir, `pki-${security}`), log }).connect(device(config, props));
      try {
        assert.equal(await conn.read(temperature), '21.5');
        await server.set('Temperature', 22.25);
        assert.equal(await conn.read(temperature), '22.25');
        await conn.write(setpoint, '23.5');
        assert.equal(server.get('Setpoint'), 23.5);
        await conn.write(counter, '-42');
        assert.equal(await conn.read(counter), '-42');
        await conn.write(sw, 'true');
        assert.equal(server.get('Switch'), true);
        await conn.write(label, 'hello world');
        assert.equal(await conn.read(label), 'hello world');
        await assert.rejects(conn.write(counter, '1.5'), (e) => code(e) === 'MAPPER_VALUE_INVALID');
        await assert.rejects(conn.write({ ...temperature, accessMode: 'ReadWrite' }, '1'), (e) => code(e) === 'MAPPER_NOT_WRITABLE');
        await assert.rejects(conn.read(prop('ghost', 'INT', `ns=${server.namespaceIndex};s=Nothing`)), (e) => code(e) === 'MAPPER_DEVICE_ERROR' && /BadNodeIdUnknown/.test((e as Error).message));
        // Still usable after refusals.
        assert.equal(await conn.read(setpoint), '23.5');
      } finally {
        await conn.close();
      }
    });

    if (users !== undefined) {
      test('wrong credentials are a configuration error, not a reason to hammer the server', async () => {
        await assert.rejects(new OpcuaDriver({ pkiDir: join(dir, 'pki-wrong'), log }).connect(device({ ...config, password: 'nope' }, [])), (e) => code(e) === 'MAPPER_CONFIG_INVALID');
      });
    }
  });
}

test('a server that goes away fails the next read as a lost connection; an absent one is unreachable', async () => {
  const server = await OpcuaTestServer.start();
  const props = [prop('setpoint', 'DOUBLE', server.nodeId('Setpoint'))];
  const driver = new OpcuaDriver({ pkiDir: join(dir, 'pki-loss'), log });
  const conn = await driver.connect(device({ url: server.url, timeout: 2000 }, props));
  try {
    assert.equal(await conn.read(props[0]!), '20');
    await server.stop();
    await assert.rejects(conn.read(props[0]!), (e) => e instanceof MapperError && e.connectionLost);
  } finally {
    await conn.close();
    await server.dispose();
  }
  await assert.rejects(driver.connect(device({ url: server.url, timeout: 2000 }, props)), (e) => e instanceof MapperError && e.connectionLost);
});
