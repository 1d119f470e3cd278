import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createConnection, createServer, type Socket } from 'node:net';
import { promisify } from 'node:util';
import mqtt from 'mqtt';
import { silentLogger } from '../../../log/logger.ts';
import { EmbeddedBroker } from '../embedded-broker.ts';
import { MqttBroker } from './broker.ts';
import { encode, PacketReader, type Packet } from './packets.ts';

const log = silentLogger();
const run = promisify(execFile);

async function withBroker(fn: (b: EmbeddedBroker) => Promise<void>): Promise<void> {
  const abort = new AbortController();
  const broker = new EmbeddedBroker({ port: 0, log });
  await broker.start(abort.signal);
  try {
    await fn(broker);
  } finally {
    abort.abort();
    await broker.closed;
  }
}

async function until(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A client speaking raw packets, for what the real clients will not send. */
class RawClient {
  readonly socket: Socket;
  readonly #packets: Packet[] = [];
  readonly #waiters: ((p: Packet) => void)[] = [];
  readonly closed: Promise<void>;

  private constructor(socket: Socket) {
    this.socket = socket;
    const reader = new PacketReader(16 * 1024 * 1024);
    socket.on('data', (chunk: Buffer) =>
      reader.read(chunk, (p) => {
        const w = this.#waiters.shift();
        if (w !== undefined) w(p);
        else this.#packets.push(p);
      }),
    );
    this.closed = once(socket, 'close').then(() => undefined);
  }

  static async open(port: number): Promise<RawClient> {
    const s = createConnection({ port, host: '127.0.0.1' });
    await once(s, 'connect');
    return new RawClient(s);
  }

  send(p: Packet | Buffer): void {
    this.socket.write(Buffer.isBuffer(p) ? p : encode(p));
  }

  next(timeoutMs = 3000): Promise<Packet> {
    const p = this.#packets.shift();
    if (p !== undefined) return Promise.resolve(p);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no packet')), timeoutMs);
      this.#waiters.push((q) => (clearTimeout(timer), resolve(q)));
    });
  }

  async connect(clientId: string, options: { clean?: boolean; keepalive?: number; level?: 3 | 4 } = {}): Promise<Packet> {
    this.send({ type: 'connect', protocolLevel: options.level ?? 4, clean: options.clean ?? true, keepalive: options.keepalive ?? 0, clientId });
    return this.next();
  }
}

test('mosquitto clients: QoS 0, 1 and 2 both ways over MQTT 3.1.1 and 3.1; MQTT 5 is refused with CONNACK 1', async () => {
  await withBroker(async (b) => {
    const port = String(b.port);
    const got: string[] = [];
    await b.subscribe('kedge/test/+', (t, p) => got.push(`${t} ${p.toString()}`));
    for (const version of ['mqttv311', 'mqttv31']) {
      for (const qos of ['0', '1', '2']) {
        // -C 1: exits after one message, printed as "retain topic payload".
        const sub = run('mosquitto_sub', ['-p', port, '-V', version, '-q', qos, '-t', 'kedge/out/#', '-C', '1', '-W', '5', '-F', '%r %t %p']);
        // Connected is not yet subscribed: publish until it has one.
        const timer = setInterval(() => b.publish('kedge/out/x', `to ${version} q${qos}`, { qos: 1 }), 20);
        const { stdout } = await sub.finally(() => clearInterval(timer));
        assert.equal(stdout.trim(), `0 kedge/out/x to ${version} q${qos}`);
        await until(() => b.clients === 0, 'the subscriber to leave');
        await run('mosquitto_pub', ['-p', port, '-V', version, '-q', qos, '-t', 'kedge/test/a', '-m', `${version} q${qos}`]);
        await until(() => got.at(-1) === `kedge/test/a ${version} q${qos}`, `the ${version} QoS ${qos} message`);
      }
    }
    assert.equal(got.length, 6, 'each message once, QoS 2 included');
    // libmosquitto reads the 3.1.1 CONNACK code 1 as "Unsupported Protocol Version", as it would from mosquitto itself.
    await assert.rejects(run('mosquitto_pub', ['-p', port, '-V', 'mqttv5', '-t', 'kedge/test/a', '-m', 'v5']), /Unsupported Protocol Version/i);
    const v5 = await RawClient.open(b.port);
    v5.send(Buffer.from([0x10, 14, 0, 4, 0x4d, 0x51, 0x54, 0x54, 5, 2, 0, 60, 0, 0, 1, 0x63]));
    assert.deepEqual(await v5.next(), { type: 'connack', sessionPresent: false, returnCode: 1 });
    await v5.closed;
    assert.equal(got.length, 6);
  });
});

test('mosquitto clients: retained messages reach later subscribers with the retain flag; an empty one deletes it', async () => {
  await withBroker(async (b) => {
    const port = String(b.port);
    await run('mosquitto_pub', ['-p', port, '-t', 'dev/a/state', '-m', 'online', '-r', '-q', '1']);
    b.publish('dev/b/state', 'offline', { retain: true });
    const { stdout } = await run('mosquitto_sub', ['-p', port, '-t', 'dev/+/state', '-C', '2', '-W', '5', '-F', '%r %t %p']);
    assert.deepEqual(stdout.trim().split('\n').sort(), ['1 dev/a/state online', '1 dev/b/state offline']);
    await run('mosquitto_pub', ['-p', port, '-t', 'dev/a/state', '-n', '-r']);
    const after = await run('mosquitto_sub', ['-p', port, '-t', 'dev/+/state', '-C', '2', '-W', '1', '-F', '%r %t %p']).catch((err: { stdout: string }) => err);
    assert.equal(after.stdout.trim(), '1 dev/b/state offline');
  });
});

test('mqtt.js: a persistent session keeps its QoS 1 subscription and queues what arrives while the client is away', async () => {
  await withBroker(async (b) => {
    const opts = { clientId: 'mapper-persistent', clean: false, reconnectPeriod: 0, protocolVersion: 4 as const };
    const first = await mqtt.connectAsync(b.url, opts);
    await first.subscribeAsync('$hw/events/device/+/+/twin/update/delta', { qos: 1 });
    await first.endAsync();
    await until(() => b.clients === 0, 'the disconnect');
    for (let i = 0; i < 3; i++) b.publish(`$hw/events/device/ns/d/twin/update/delta`, `delta ${i}`, { qos: 1 });
    b.publish('$hw/events/device/ns/d/twin/update/delta', 'qos 0 is not kept', { qos: 0 });
    const got: string[] = [];
    const second = mqtt.connect(b.url, opts);
    second.on('message', (_t, p) => got.push(p.toString()));
    const connack = await new Promise<{ sessionPresent: boolean }>((resolve) => second.once('connect', resolve));
    assert.equal(connack.sessionPresent, true);
    await until(() => got.length === 3, 'the queued messages');
    assert.deepEqual(got, ['delta 0', 'delta 1', 'delta 2']);
    // Still subscribed without subscribing again.
    b.publish('$hw/events/device/ns/d/twin/update/delta', 'live', { qos: 1 });
    await until(() => got.at(-1) === 'live', 'a live message');
    await second.endAsync();
    // A clean session discards it.
    const clean = await mqtt.connectAsync(b.url, { ...opts, clean: true });
    b.publish('$hw/events/device/ns/d/twin/update/delta', 'nobody', { qos: 1 });
    await clean.endAsync();
  });
});

test('QoS 1 messages not acknowledged are sent again with DUP when a persistent session reconnects', async () => {
  await withBroker(async (b) => {
    const c1 = await RawClient.open(b.port);
    assert.deepEqual(await c1.connect('raw-1', { clean: false }), { type: 'connack', sessionPresent: false, returnCode: 0 });
    c1.send({ type: 'subscribe', packetId: 1, subscriptions: [{ filter: 'a/#', qos: 2 }] });
    assert.deepEqual(await c1.next(), { type: 'suback', packetId: 1, returnCodes: [1] }, 'QoS 2 is granted as 1');
    b.publish('a/b', 'unacked', { qos: 1 });
    const sent = await c1.next();
    assert.ok(sent.type === 'publish' && sent.qos === 1 && !sent.dup);
    c1.socket.destroy();
    await until(() => b.clients === 0, 'the disconnect');
    const c2 = await RawClient.open(b.port);
    assert.deepEqual(await c2.connect('raw-1', { clean: false }), { type: 'connack', sessionPresent: true, returnCode: 0 });
    const again = await c2.next();
    assert.ok(again.type === 'publish' && again.dup && again.packetId === sent.packetId && again.payload.toString() === 'unacked');
    c2.send({ type: 'puback', packetId: again.packetId });
    // MQTT 3.1 has no session-present flag.
    c2.socket.destroy();
    await until(() => b.clients === 0, 'the disconnect');
    const c3 = await RawClient.open(b.port);
    assert.deepEqual(await c3.connect('raw-1', { clean: false, level: 3 }), { type: 'connack', sessionPresent: false, returnCode: 0 });
    c3.socket.destroy();
  });
});

test('QoS 2 in: PUBREC, PUBREL, PUBCOMP, and a resent PUBLISH is delivered once', async () => {
  await withBroker(async (b) => {
    const got: string[] = [];
    await b.subscribe('q2/#', (_t, p) => got.push(p.toString()));
    const c = await RawClient.open(b.port);
    await c.connect('raw-q2');
    const publish = { type: 'publish', topic: 'q2/x', payload: Buffer.from('once'), qos: 2, retain: false, dup: false, packetId: 9 } as const;
    c.send(publish);
    assert.deepEqual(await c.next(), { type: 'pubrec', packetId: 9 });
    c.send({ ...publish, dup: true });
    assert.deepEqual(await c.next(), { type: 'pubrec', packetId: 9 });
    c.send({ type: 'pubrel', packetId: 9 });
    assert.deepEqual(await c.next(), { type: 'pubcomp', packetId: 9 });
    c.send({ type: 'pingreq' });
    assert.deepEqual(await c.next(), { type: 'pingresp' });
    assert.deepEqual(got, ['once']);
    // After PUBREL the id is free again: a new message with it is delivered.
    c.send({ ...publish, payload: Buffer.from('twice') });
    await c.next();
    await until(() => got.length === 2, 'the second message');
    c.socket.destroy();
  });
});

test('CONNECT rules: empty client ids, a first packet that is not CONNECT, malformed packets close only that connection', async () => {
  await withBroker(async (b) => {
    const watcher = await mqtt.connectAsync(b.url, { reconnectPeriod: 0 });
    const seen: string[] = [];
    watcher.on('message', (t) => seen.push(t));
    await watcher.subscribeAsync('ok/#', { qos: 1 });

    const anon = await RawClient.open(b.port);
    assert.deepEqual(await anon.connect('', { clean: true }), { type: 'connack', sessionPresent: false, returnCode: 0 }, 'an id is assigned');
    anon.send({ type: 'subscribe', packetId: 3, subscriptions: [{ filter: 'ok/+', qos: 1 }, { filter: 'bad/#/x', qos: 0 }, { filter: 'b+', qos: 1 }] });
    assert.deepEqual(await anon.next(), { type: 'suback', packetId: 3, returnCodes: [1, 0x80, 0x80] });
    anon.send({ type: 'disconnect' });
    await anon.closed;

    const persistentAnon = await RawClient.open(b.port);
    assert.deepEqual(await persistentAnon.connect('', { clean: false }), { type: 'connack', sessionPresent: false, returnCode: 2 });
    await persistentAnon.closed;

    const violations: [string, Buffer][] = [
      ['PUBLISH before CONNECT', encode({ type: 'publish', topic: 'ok/x', payload: Buffer.from('no'), qos: 0, retain: false, dup: false, packetId: 0 })],
      ['garbage', Buffer.from('GET / HTTP/1.1\r\n\r\n')],
      ['bad remaining length', Buffer.from([0x10, 0xff, 0xff, 0xff, 0xff, 0x7f])],
      ['a packet above 1 MB', Buffer.from([0x10, 0xff, 0xff, 0xff, 0x7f])],
    ];
    for (const [what, bytes] of violations) {
      const c = await RawClient.open(b.port);
      c.send(bytes);
      await c.closed;
      assert.ok(true, what);
    }
    const afterConnect: [string, Packet | Buffer][] = [
      ['a second CONNECT', { type: 'connect', protocolLevel: 4, clean: true, keepalive: 0, clientId: 'again' }],
      ['a wildcard topic', { type: 'publish', topic: 'ok/+', payload: Buffer.alloc(0), qos: 0, retain: false, dup: false, packetId: 0 }],
      ['invalid UTF-8 in a topic', Buffer.from([0x30, 4, 0, 2, 0xc3, 0x28])],
      ['an unknown packet type', Buffer.from([0xf0, 0])],
      ['a truncated string', Buffer.from([0x82, 5, 0, 1, 0, 9, 0x61])],
      ['a CONNACK from a client', { type: 'connack', sessionPresent: false, returnCode: 0 }],
    ];
    for (const [what, p] of afterConnect) {
      const c = await RawClient.open(b.port);
      await c.connect(`violator-${what}`);
      c.send(p);
      await c.closed;
      assert.ok(true, what);
    }
    await watcher.publishAsync('ok/still', 'fine', { qos: 1 });
    await until(() => seen.includes('ok/still'), 'the well-behaved client to keep working');
    assert.equal(seen.length, 1, 'nothing a violator sent was delivered');
    await watcher.endAsync();
  });
});

test('a will is published when a client is killed, not when it disconnects; a second connection with its id takes over', async () => {
  await withBroker(async (b) => {
    const wills: string[] = [];
    await b.subscribe('wills/#', (t, p) => wills.push(`${t} ${p.toString()}`));
    const port = String(b.port);
    const killed = spawn('mosquitto_sub', ['-p', port, '-t', 'x', '-i', 'killed', '--will-topic', 'wills/killed', '--will-payload', 'gone', '--will-qos', '1'], { stdio: 'ignore' });
    await until(() => b.clients === 1, 'the client');
    killed.kill('SIGKILL');
    await until(() => wills.length === 1, 'the will');
    assert.deepEqual(wills, ['wills/killed gone']);

    const polite = await mqtt.connectAsync(b.url, { reconnectPeriod: 0, will: { topic: 'wills/polite', payload: Buffer.from('gone'), qos: 0, retain: false } });
    await polite.endAsync();
    await until(() => b.clients === 0, 'the disconnect');

    const first = await mqtt.connectAsync(b.url, { clientId: 'twin-mapper', reconnectPeriod: 0, will: { topic: 'wills/first', payload: Buffer.from('taken over'), qos: 0, retain: false } });
    const firstClosed = new Promise<void>((resolve) => first.once('close', () => resolve()));
    const second = await mqtt.connectAsync(b.url, { clientId: 'twin-mapper', reconnectPeriod: 0 });
    await firstClosed;
    assert.equal(b.clients, 1);
    await until(() => wills.length === 2, 'the will of the connection taken over');
    assert.deepEqual(wills, ['wills/killed gone', 'wills/first taken over']);
    await second.endAsync();
  });
});

test('a client silent for 1.5 × its keepalive is disconnected; PINGREQ keeps it', async () => {
  await withBroker(async (b) => {
    const silent = await RawClient.open(b.port);
    const pinging = await RawClient.open(b.port);
    await silent.connect('silent', { keepalive: 1 });
    await pinging.connect('pinging', { keepalive: 1 });
    const started = Date.now();
    const timer = setInterval(() => pinging.send({ type: 'pingreq' }), 400);
    await silent.closed;
    const took = Date.now() - started;
    assert.ok(took >= 1400 && took < 10_000, `closed after ${took} ms`);
    assert.equal(pinging.socket.destroyed, false);
    clearInterval(timer);
    pinging.socket.destroy();
  });
});

test('a subscriber that does not read is disconnected after the drain timeout; the others keep receiving', async () => {
  const server = createServer();
  const broker = new MqttBroker({ log, authenticate: () => true, drainTimeoutMs: 300, writeBufferBound: 64 * 1024 });
  server.on('connection', (s) => broker.handle(s));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  try {
    const stuck = await RawClient.open(port);
    await stuck.connect('stuck');
    stuck.send({ type: 'subscribe', packetId: 1, subscriptions: [{ filter: 'flood/#', qos: 0 }] });
    await stuck.next();
    stuck.socket.pause();
    const reader = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0 });
    let last = '';
    reader.on('message', (_t, p) => (last = p.toString()));
    await reader.subscribeAsync('flood/#', { qos: 0 });
    let local = 0;
    broker.subscribe('flood/#', () => local++);
    const payload = Buffer.alloc(1024, 0x78);
    const started = Date.now();
    let sent = 0;
    // Flood until the kernel's buffers are full and the stuck client is cut off.
    while (!stuck.socket.destroyed && broker.connectedClients === 2) {
      for (let i = 0; i < 500; i++) broker.publish('flood/x', payload, 0, false);
      sent += 500;
      await new Promise((r) => setTimeout(r, 5));
      if (Date.now() - started > 20_000) assert.fail('the stuck client was never disconnected');
    }
    await until(() => broker.connectedClients === 1, 'the stuck client to go');
    await until(() => local === sent, 'in-process delivery');
    // The reader may have lost QoS 0 messages of the flood when it fell behind, but it is still served.
    await until(() => {
      broker.publish('flood/x', Buffer.from('after'), 0, false);
      return last === 'after';
    }, 'the reading client to be served');
    assert.equal(reader.connected, true);
    await reader.endAsync();
  } finally {
    broker.close();
    server.close();
  }
});
