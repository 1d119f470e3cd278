import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { silentLogger } from '../../log/logger.ts';
import { isValidFilter, topicMatches } from './bus.ts';
import { runEventBusConformance } from './conformance.ts';
import { loadOrCreateCredentials, MQTT_USERNAME } from './credentials.ts';
import { EmbeddedBroker } from './embedded-broker.ts';
import { ExternalBus } from './external-bus.ts';
import { freeTcpPort, Mosquitto } from './testing.ts';

const log = silentLogger();

runEventBusConformance('embedded broker', async () => {
  const abort = new AbortController();
  const broker = new EmbeddedBroker({ port: 0, log });
  await broker.start(abort.signal);
  return {
    bus: broker,
    url: broker.url,
    dispose: async () => {
      abort.abort();
      await broker.closed;
    },
  };
});

const mosquitto = await Mosquitto.start();
after(() => mosquitto.dispose());

runEventBusConformance('external bus on mosquitto', async () => {
  const abort = new AbortController();
  const bus = new ExternalBus({ url: mosquitto.url, clientId: `kedge-test-${Math.random().toString(36).slice(2)}`, log, reconnectPeriodMs: 100 });
  await bus.start(abort.signal);
  return { bus, url: mosquitto.url, dispose: () => Promise.resolve(abort.abort()) };
});

test('topic filters match as MQTT 3.1.1 says, $ topics only with a literal first level', () => {
  const cases: [string, string, boolean][] = [
    ['$hw/events/device/+/+/twin/update', '$hw/events/device/default/d/twin/update', true],
    ['$hw/events/device/+/+/twin/update', '$hw/events/device/default/d/twin/update/result', false],
    ['$hw/events/device/+/+/twin/+', '$hw/events/device/default/d/twin/get', true],
    ['$hw/#', '$hw/events/node/n/membership/get', true],
    ['#', '$hw/events/node/n/membership/get', false],
    ['+/events/#', '$hw/events/x', false],
    ['a/#', 'a', true],
    ['a/+', 'a', false],
  ];
  for (const [filter, topic, want] of cases) assert.equal(topicMatches(filter, topic), want, `${filter} ~ ${topic}`);
  assert.equal(isValidFilter('a/#/b'), false);
  assert.equal(isValidFilter('a/b+'), false);
  assert.equal(isValidFilter('$hw/events/+/x/#'), true);
});

test('the embedded broker refuses clients that are not on loopback unless they present the credentials', async () => {
  const external = Object.values(networkInterfaces())
    .flat()
    .find((i) => i !== undefined && i.family === 'IPv4' && !i.internal)?.address;
  assert.ok(external !== undefined, 'this test needs a non-loopback IPv4 address on the machine to connect from');
  const dir = await mkdtemp(join(tmpdir(), 'kedge-mqtt-'));
  const abort = new AbortController();
  try {
    const credentials = await loadOrCreateCredentials(join(dir, 'mqtt-password'));
    assert.equal((await stat(join(dir, 'mqtt-password'))).mode & 0o777, 0o600);
    assert.deepEqual(await loadOrCreateCredentials(join(dir, 'mqtt-password')), credentials, 'the password is kept');
    const port = await freeTcpPort();
    const broker = new EmbeddedBroker({ bindAddress: '0.0.0.0', port, credentials, log });
    await broker.start(abort.signal);
    const connect = (host: string, auth?: { username: string; password: string }) => mqtt.connectAsync(`mqtt://${host}:${port}`, { reconnectPeriod: 0, connectTimeout: 3000, ...auth });
    await (await connect('127.0.0.1')).endAsync();
    await assert.rejects(connect(external), /Bad username or password|Not authorized|refused/i);
    await assert.rejects(connect(external, { username: MQTT_USERNAME, password: 'wrong-password-000' }), /Bad username or password|refused/i);
    await (await connect(external, credentials)).endAsync();
  } finally {
    abort.abort();
    await rm(dir, { recursive: true, force: true });
  }
});

test('the embedded broker refuses to listen beyond loopback without credentials, and reports a taken port', async () => {
  await assert.rejects(new EmbeddedBroker({ bindAddress: '0.0.0.0', port: 0, log }).start(new AbortController().signal), (err: unknown) => (err as { code?: string }).code === 'EDGE_EVENTBUS_UNAVAILABLE');
  await assert.rejects(new EmbeddedBroker({ port: mosquitto.port, log }).start(new AbortController().signal), (err: unknown) => (err as { code?: string }).code === 'EDGE_EVENTBUS_UNAVAILABLE');
});

test('the external bus resubscribes after the broker restarts', async () => {
  const m = await Mosquitto.start();
  const abort = new AbortController();
  try {
    const bus = new ExternalBus({ url: m.url, clientId: 'kedge-resub', log, reconnectPeriodMs: 50 });
    await bus.start(abort.signal);
    const got: string[] = [];
    await bus.subscribe('$hw/events/node/+/membership/get', (_t, p) => got.push(p.toString()));
    const c = await mqtt.connectAsync(m.url, { reconnectPeriod: 50 });
    const publishUntil = async (payload: string): Promise<void> => {
      const deadline = Date.now() + 10_000;
      while (!got.includes(payload)) {
        if (Date.now() > deadline) assert.fail(`${payload} never arrived`);
        if (c.connected) await c.publishAsync('$hw/events/node/n/membership/get', payload).catch(() => undefined);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    await publishUntil('before');
    await m.restart();
    await publishUntil('after');
    await c.endAsync();
  } finally {
    abort.abort();
    await m.dispose();
  }
});

test('with retryListen, a broker whose port is taken runs in-process and listens once the port is free', async () => {
  const m = await Mosquitto.start();
  const abort = new AbortController();
  try {
    const broker = new EmbeddedBroker({ port: m.port, retryListen: true, log });
    await broker.start(abort.signal);
    assert.equal(broker.listening, false);
    const got: string[] = [];
    await broker.subscribe('$hw/events/node/+/membership/get', (_t, p) => got.push(p.toString()));
    await m.stop();
    const deadline = Date.now() + 10_000;
    while (!broker.listening) {
      if (Date.now() > deadline) assert.fail('never listened');
      await new Promise((r) => setTimeout(r, 50));
    }
    const c = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0 });
    await c.publishAsync('$hw/events/node/n/membership/get', 'hello', { qos: 1 });
    await c.endAsync();
    assert.deepEqual(got, ['hello']);
  } finally {
    abort.abort();
    await m.dispose();
  }
});

test('bursts of thousands of messages, behind slow subscribers and with none, do not exhaust the broker\'s stack', async () => {
  const abort = new AbortController();
  const broker = new EmbeddedBroker({ port: 0, log });
  await broker.start(abort.signal);
  try {
    let got = 0;
    await broker.subscribe('$hw/events/device/+/+/twin/update', () => got++);
    // A TCP subscriber completes deliveries only when its socket took them: slow, next to in-process ones.
    const sub = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0 });
    let results = 0;
    sub.on('message', () => results++);
    await sub.subscribeAsync('$hw/events/device/+/+/twin/update/result');
    const pub = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0 });
    const n = 20_000;
    for (let i = 0; i < 3000; i++) broker.publish('$hw/events/device/ns/d/twin/update/result', 'x'.repeat(100));
    // Messages nobody subscribed to complete at once; queued behind the slow ones they used to recurse.
    for (let i = 0; i < n; i++) broker.publish('$hw/events/device/ns/d/twin/update/document', '{}');
    for (let i = 0; i < n; i++) pub.publish('$hw/events/device/ns/d/twin/update', `{"i":${i}}`, { qos: 0 });
    const deadline = Date.now() + 30_000;
    while (got < n || results < 3000) {
      if (Date.now() > deadline) assert.fail(`only ${got} of ${n} in, ${results} of 3000 out`);
      await new Promise((r) => setTimeout(r, 20));
    }
    await sub.endAsync();
    await pub.endAsync();
  } finally {
    abort.abort();
    await broker.closed;
  }
});
