/**
 * The EventBus conformance suite (aedes' `abstract.js` pattern): what DeviceTwin relies on, run
 * against every implementation (the embedded broker, and mosquitto through the external bus) with
 * a real MQTT client (mqtt.js) on the other side, as a mapper would be.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import mqtt, { type MqttClient } from 'mqtt';
import type { EventBus } from './bus.ts';

/** A started bus and where outside clients reach it. */
export interface BusUnderTest {
  readonly bus: EventBus;
  /** URL an mqtt.js client connects to. */
  readonly url: string;
  dispose(): Promise<void>;
}

async function client(url: string): Promise<MqttClient> {
  return mqtt.connectAsync(url, { reconnectPeriod: 0, connectTimeout: 5000 });
}

/** Subscribes `c` to `filter` (resolving once the broker acknowledged it); `first` is the first message that arrives. */
async function subscribeFirst(c: MqttClient, filter: string): Promise<{ first: Promise<{ topic: string; payload: Buffer }> }> {
  const first = new Promise<{ topic: string; payload: Buffer }>((resolve) => {
    const on = (topic: string, payload: Buffer): void => {
      c.off('message', on);
      resolve({ topic, payload });
    };
    c.on('message', on);
  });
  await c.subscribeAsync(filter, { qos: 1 });
  return { first };
}

async function until(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Registers the suite's tests under `name`. `start` makes a fresh bus for each test. */
export function runEventBusConformance(name: string, start: () => Promise<BusUnderTest>): void {
  test(`${name}: a device message published by a client reaches the subscribed handler, topic and bytes intact`, async () => {
    const b = await start();
    const c = await client(b.url);
    try {
      const got: { topic: string; payload: string }[] = [];
      await b.bus.subscribe('$hw/events/device/+/+/twin/update', (topic, payload) => got.push({ topic, payload: payload.toString('utf8') }));
      // An external broker subscribes asynchronously: publish until the first one gets through.
      const body = '{"event_id":"e1","timestamp":1,"twin":{"t":{"actual":{"value":"1"}}}}';
      await until(() => {
        if (got.length === 0) void c.publishAsync('$hw/events/device/default/dev-1/twin/update', body, { qos: 1 });
        return got.length > 0;
      }, 'the first message');
      assert.deepEqual(got[0], { topic: '$hw/events/device/default/dev-1/twin/update', payload: body });
      // Non-matching topics are not delivered.
      await c.publishAsync('$hw/events/device/default/dev-1/twin/update/result', 'x', { qos: 1 });
      await c.publishAsync('$hw/events/device/default/dev-1/twin/update', 'last', { qos: 1 });
      await until(() => got.at(-1)?.payload === 'last', 'the last message');
      assert.ok(!got.some((g) => g.payload === 'x'), 'a longer topic does not match');
    } finally {
      await c.endAsync();
      await b.dispose();
    }
  });

  test(`${name}: what the bus publishes reaches clients subscribed with wildcards`, async () => {
    const b = await start();
    const c = await client(b.url);
    try {
      const { first } = await subscribeFirst(c, '$hw/events/device/+/+/twin/update/result');
      b.bus.publish('$hw/events/device/ns1/dev-2/twin/update/result', '{"event_id":"x","timestamp":2}');
      const m = await first;
      assert.equal(m.topic, '$hw/events/device/ns1/dev-2/twin/update/result');
      assert.equal(m.payload.toString(), '{"event_id":"x","timestamp":2}');
    } finally {
      await c.endAsync();
      await b.dispose();
    }
  });

  test(`${name}: a failing handler does not stop delivery, and one client's messages arrive in order`, async () => {
    const b = await start();
    const c = await client(b.url);
    try {
      const got: number[] = [];
      await b.bus.subscribe('$hw/events/node/+/membership/get', () => {
        throw new Error('handler bug');
      });
      await b.bus.subscribe('$hw/events/node/+/membership/get', (_t, p) => got.push(Number(p.toString())));
      await until(() => {
        if (got.length === 0) void c.publishAsync('$hw/events/node/n1/membership/get', '0', { qos: 1 });
        return got.length > 0;
      }, 'the subscription');
      got.length = 0;
      for (let i = 1; i <= 500; i++) void c.publishAsync('$hw/events/node/n1/membership/get', String(i), { qos: 0 });
      await until(() => got.length >= 500 || got.at(-1) === 500, '500 messages');
      const inOrder = got.filter((n) => n > 0);
      assert.deepEqual(inOrder, [...inOrder].sort((x, y) => x - y), 'in publication order');
    } finally {
      await c.endAsync();
      await b.dispose();
    }
  });
}
