import mqtt, { type MqttClient } from 'mqtt';
import { describeError } from '../../errors/platform-error.ts';
import type { Logger } from '../../log/logger.ts';
import { EdgeError } from '../errors.ts';
import { isValidFilter, topicMatches, type BusHandler, type EventBus, type PublishOptions } from './bus.ts';

/** Options of {@link ExternalBus}. */
export interface ExternalBusOptions {
  /** `mqtt://[user:password@]host:port` (or `mqtts://`), e.g. a local mosquitto. */
  readonly url: string;
  /** The MQTT client id: one per edge, so two edges on one broker do not kick each other off. */
  readonly clientId: string;
  readonly log: Logger;
  /** @default 1000 */
  readonly reconnectPeriodMs?: number;
}

/**
 * The EventBus as a client of an existing broker (KubeEdge's default "external" mode with
 * mosquitto). Subscriptions are made with QoS 1 on every connection (the broker forgets them with
 * a clean session) and dispatched here by filter; the client reconnects by itself. While the broker
 * is away, publications are dropped rather than queued: they are answers and notices that the next
 * exchange supersedes.
 */
export class ExternalBus implements EventBus {
  readonly mode = 'external' as const;
  readonly #o: ExternalBusOptions;
  readonly #log: Logger;
  readonly #subscriptions: { filter: string; handler: BusHandler }[] = [];
  #client: MqttClient | undefined;

  constructor(options: ExternalBusOptions) {
    this.#o = options;
    this.#log = options.log;
  }

  /** The broker's URL without credentials: what mappers are told to connect to. */
  get url(): string {
    const u = new URL(this.#o.url);
    u.username = '';
    u.password = '';
    return u.toString().replace(/\/$/, '');
  }

  get connected(): boolean {
    return this.#client?.connected === true;
  }

  /**
   * Starts connecting and returns at once: the broker may come up after the edge, and the edge does
   * not wait for it. Aborting `signal` disconnects.
   * @throws {EdgeError} `EDGE_EVENTBUS_UNAVAILABLE` for a URL that is not an MQTT URL
   */
  start(signal: AbortSignal): Promise<void> {
    let url: URL;
    try {
      url = new URL(this.#o.url);
    } catch (err) {
      return Promise.reject(new EdgeError('EDGE_EVENTBUS_UNAVAILABLE', `--mqtt-external ${JSON.stringify(this.#o.url)} is not a URL`, { cause: err }));
    }
    if (!['mqtt:', 'mqtts:', 'tcp:', 'ssl:'].includes(url.protocol)) return Promise.reject(new EdgeError('EDGE_EVENTBUS_UNAVAILABLE', `--mqtt-external must be an mqtt:// or mqtts:// URL, not ${url.protocol}`));
    const client = mqtt.connect(this.#o.url, { clientId: this.#o.clientId, clean: true, reconnectPeriod: this.#o.reconnectPeriodMs ?? 1000, connectTimeout: 10_000, queueQoSZero: false, resubscribe: false });
    this.#client = client;
    let wasConnected = false;
    client.on('connect', () => {
      wasConnected = true;
      this.#log.info('connected to the MQTT broker', { url: this.url });
      for (const s of this.#subscriptions) this.#subscribeOn(client, s.filter);
    });
    client.on('close', () => {
      if (wasConnected) this.#log.warn('disconnected from the MQTT broker; reconnecting', { url: this.url });
      wasConnected = false;
    });
    client.on('error', (err) => this.#log.debug('MQTT client error', { url: this.url, err: describeError(err) }));
    client.on('message', (topic, payload) => this.#dispatch(topic, payload));
    signal.addEventListener('abort', () => void client.endAsync(true).catch(() => undefined), { once: true });
    return Promise.resolve();
  }

  subscribe(filter: string, handler: BusHandler): Promise<void> {
    if (!isValidFilter(filter)) return Promise.reject(new EdgeError('EDGE_EVENTBUS_UNAVAILABLE', `invalid MQTT filter ${JSON.stringify(filter)}`));
    this.#subscriptions.push({ filter, handler });
    const client = this.#client;
    if (client?.connected === true) this.#subscribeOn(client, filter);
    return Promise.resolve();
  }

  publish(topic: string, payload: string | Buffer, options: PublishOptions = {}): void {
    const client = this.#client;
    if (client?.connected !== true) {
      this.#log.debug('MQTT broker away; message dropped', { topic });
      return;
    }
    client.publish(topic, payload, { qos: options.qos ?? 0, retain: options.retain ?? false }, (err) => {
      if (err !== undefined) this.#log.debug('MQTT publish failed', { topic, err: describeError(err) });
    });
  }

  #subscribeOn(client: MqttClient, filter: string): void {
    client.subscribe(filter, { qos: 1 }, (err) => {
      if (err !== null) this.#log.warn('MQTT subscribe failed', { filter, err: describeError(err) });
    });
  }

  #dispatch(topic: string, payload: Buffer): void {
    for (const s of this.#subscriptions) {
      if (!topicMatches(s.filter, topic)) continue;
      try {
        s.handler(topic, payload);
      } catch (err) {
        this.#log.error('MQTT handler failed', { topic, err: describeError(err) });
      }
    }
  }
}
