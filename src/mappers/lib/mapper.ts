import { randomBytes } from 'node:crypto';
import mqtt, { type MqttClient } from 'mqtt';
import { describeError } from '../../errors/platform-error.ts';
import type { Logger } from '../../log/logger.ts';
import { decodeMembershipResult, decodeMembershipUpdate, decodeTwinDelta, topics, type MembershipDevice } from '../../edge/twin/messages.ts';
import { DeviceRunner, type RunnerStats } from './device-runner.ts';
import type { DeviceDriver } from './driver.ts';
import { redactUrl } from './url.ts';

/** Options of {@link Mapper}. */
export interface MapperOptions {
  readonly driver: DeviceDriver;
  /** The edge node whose devices this mapper serves. */
  readonly nodeName: string;
  /** The EventBus: `mqtt://127.0.0.1:1883` for the edge's embedded broker. */
  readonly mqttUrl: string;
  readonly mqttUsername?: string;
  readonly mqttPassword?: string;
  readonly log: Logger;
  /** Device reconnect back-off. @default 1000 */
  readonly reconnectInitialMs?: number;
  /** @default 30_000 */
  readonly reconnectMaxMs?: number;
  /** How often membership is asked for again while unanswered. @default 5000 */
  readonly membershipRetryMs?: number;
}

const DEVICE_DELTA = '$hw/events/device/+/+/twin/update/delta';
const DEVICE_TOPIC = /^\$hw\/events\/device\/([^/]+)\/([^/]+)\//;

/**
 * A mapper: the shared loop every protocol runs in (KubeEdge's mapper-framework, over the MQTT
 * topics instead of DMI's gRPC). It connects to the EventBus, asks for this node's devices
 * (`membership/get`, again on every reconnect until answered), runs a {@link DeviceRunner} for each
 * device of its protocol, follows `membership/updated` (devices added, changed: restarted; removed:
 * stopped), and hands desired values from `.../twin/update/delta` to their runner.
 */
export class Mapper {
  readonly #o: MapperOptions;
  readonly #log: Logger;
  readonly #runners = new Map<string, { runner: DeviceRunner; key: string }>();
  readonly #clientId: string;
  #client: MqttClient | undefined;
  #signal: AbortSignal | undefined;
  #membershipTimer: NodeJS.Timeout | undefined;
  #answered = false;
  #requests = 0;
  #synced: (() => void) | undefined;
  readonly #firstSync: Promise<void>;

  constructor(options: MapperOptions) {
    this.#o = options;
    this.#log = options.log;
    this.#clientId = `kedge-mapper-${options.driver.protocol}-${randomBytes(4).toString('hex')}`;
    this.#firstSync = new Promise((resolve) => (this.#synced = resolve));
  }

  /** Resolves once the first membership answer has been applied. */
  get synced(): Promise<void> {
    return this.#firstSync;
  }

  /** The devices being run, by id (`<namespace>/<name>`). */
  get devices(): ReadonlyMap<string, DeviceRunner> {
    return new Map([...this.#runners].map(([id, r]) => [id, r.runner]));
  }

  /** Totals over all devices. */
  get stats(): RunnerStats & { devices: number } {
    const total: RunnerStats & { devices: number } = { reads: 0, readErrors: 0, writes: 0, twinUpdates: 0, connects: 0, devices: this.#runners.size };
    for (const { runner } of this.#runners.values()) for (const k of ['reads', 'readErrors', 'writes', 'twinUpdates', 'connects'] as const) total[k] += runner.stats[k];
    return total;
  }

  /**
   * Connects to the EventBus and returns; devices start as membership arrives. Runs until `signal`
   * aborts; {@link stop} then waits for every device to be closed.
   */
  start(signal: AbortSignal): Promise<void> {
    this.#signal = signal;
    const client = mqtt.connect(this.#o.mqttUrl, {
      clientId: this.#clientId,
      clean: true,
      reconnectPeriod: 1000,
      connectTimeout: 10_000,
      queueQoSZero: false,
      ...(this.#o.mqttUsername !== undefined ? { username: this.#o.mqttUsername } : {}),
      ...(this.#o.mqttPassword !== undefined ? { password: this.#o.mqttPassword } : {}),
    });
    this.#client = client;
    client.on('connect', () => this.#onConnect(client));
    client.on('close', () => clearTimeout(this.#membershipTimer));
    client.on('error', (err) => this.#log.warn('EventBus connection error', { url: redactUrl(this.#o.mqttUrl), err: describeError(err) }));
    client.on('message', (topic, payload) => this.#onMessage(topic, payload));
    return Promise.resolve();
  }

  /** Stops every device and disconnects. */
  async stop(): Promise<void> {
    clearTimeout(this.#membershipTimer);
    await Promise.all([...this.#runners.values()].map((r) => r.runner.stop()));
    this.#runners.clear();
    await this.#client?.endAsync().catch(() => undefined);
  }

  #onConnect(client: MqttClient): void {
    this.#log.info('connected to the EventBus', { url: redactUrl(this.#o.mqttUrl), node: this.#o.nodeName, protocol: this.#o.driver.protocol });
    const node = this.#o.nodeName;
    // Not the twin update results: values are checked against the model before they are sent, and
    // every device's answer to every update would double the edge's MQTT traffic.
    client.subscribe([topics.membershipGetResult(node), topics.membershipUpdated(node), DEVICE_DELTA], { qos: 1 }, (err) => {
      if (err !== null) {
        this.#log.warn('cannot subscribe on the EventBus', { err: describeError(err) });
        return;
      }
      // The edge may have restarted while we were away: ask again, and say again how devices are.
      this.#answered = false;
      this.#askMembership();
      for (const { runner } of this.#runners.values()) runner.republishState();
    });
  }

  #askMembership(): void {
    clearTimeout(this.#membershipTimer);
    if (this.#answered || this.#client?.connected !== true) return;
    const event = `${this.#clientId}-m${++this.#requests}`;
    this.#client.publish(topics.membershipGet(this.#o.nodeName), JSON.stringify({ event_id: event, timestamp: Date.now() }), { qos: 1 });
    this.#membershipTimer = setTimeout(() => {
      this.#log.info('no membership answer yet; asking again', { node: this.#o.nodeName });
      this.#askMembership();
    }, this.#o.membershipRetryMs ?? 5000);
  }

  #onMessage(topic: string, payload: Buffer): void {
    const node = this.#o.nodeName;
    try {
      if (topic === topics.membershipGetResult(node)) {
        const r = decodeMembershipResult(payload);
        this.#answered = true;
        clearTimeout(this.#membershipTimer);
        this.#reconcile(r.devices, true);
        this.#synced?.();
      } else if (topic === topics.membershipUpdated(node)) {
        const u = decodeMembershipUpdate(payload);
        this.#reconcile(u.added_devices, false);
        for (const d of u.removed_devices) this.#stopRunner(d.id);
      } else if (topic.endsWith('/twin/update/delta')) {
        const m = DEVICE_TOPIC.exec(topic);
        const entry = m === null ? undefined : this.#runners.get(`${m[1]!}/${m[2]!}`);
        if (entry === undefined) return;
        const delta = decodeTwinDelta(payload);
        const twins = Object.fromEntries(Object.keys(delta.delta).map((k) => [k, delta.twin[k] ?? { expected: { value: delta.delta[k]! } }]));
        entry.runner.setDesired(twins, false);
      }
    } catch (err) {
      // A payload we cannot read is the sender's problem; the mapper carries on.
      this.#log.warn('ignored a malformed message', { topic, err: describeError(err) });
    }
  }

  /** Runs the given devices of this protocol: new ones started, changed ones restarted; with `all`, the others stopped. */
  #reconcile(devices: readonly MembershipDevice[], all: boolean): void {
    const mine = devices.filter((d) => d.protocol.protocolName === this.#o.driver.protocol);
    const seen = new Set<string>();
    for (const d of mine) {
      seen.add(d.id);
      const key = JSON.stringify([d.protocol, d.properties]);
      const current = this.#runners.get(d.id);
      if (current !== undefined && current.key === key) {
        current.runner.setDesired(d.twin, true);
        continue;
      }
      if (current !== undefined) this.#stopRunner(d.id);
      this.#startRunner(d, key);
    }
    if (all) for (const id of [...this.#runners.keys()]) if (!seen.has(id)) this.#stopRunner(id);
  }

  #startRunner(device: MembershipDevice, key: string): void {
    const runner = new DeviceRunner({
      device,
      driver: this.#o.driver,
      publish: (topic, payload) => {
        if (this.#client?.connected === true) this.#client.publish(topic, payload, { qos: 0 });
      },
      eventPrefix: this.#clientId,
      log: this.#log,
      ...(this.#o.reconnectInitialMs !== undefined ? { reconnectInitialMs: this.#o.reconnectInitialMs } : {}),
      ...(this.#o.reconnectMaxMs !== undefined ? { reconnectMaxMs: this.#o.reconnectMaxMs } : {}),
    });
    this.#runners.set(device.id, { runner, key });
    this.#log.info('device added', { device: device.id, properties: device.properties.length });
    runner.start(this.#signal ?? new AbortController().signal);
  }

  #stopRunner(id: string): void {
    const r = this.#runners.get(id);
    if (r === undefined) return;
    this.#runners.delete(id);
    this.#log.info('device removed', { device: id });
    r.runner.stop().catch((err: unknown) => this.#log.warn('device did not stop cleanly', { device: id, err: describeError(err) }));
  }
}
