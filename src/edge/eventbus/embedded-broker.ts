import { once } from 'node:events';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { describeError } from '../../errors/platform-error.ts';
import type { Logger } from '../../log/logger.ts';
import { EdgeError } from '../errors.ts';
import { isValidFilter, type BusHandler, type EventBus, type PublishOptions } from './bus.ts';
import { credentialsMatch, isLoopback, type BrokerCredentials } from './credentials.ts';
import { MqttBroker } from './mqtt/broker.ts';
import { isValidTopicName } from './mqtt/packets.ts';

/** Options of {@link EmbeddedBroker}. */
export interface EmbeddedBrokerOptions {
  /** @default '127.0.0.1' */
  readonly bindAddress?: string;
  /** @default 1883; 0 picks a free port */
  readonly port?: number;
  /**
   * What clients that are not on loopback must present. Required unless the broker listens on
   * loopback only: nothing reaches it from elsewhere unauthenticated.
   */
  readonly credentials?: BrokerCredentials;
  /**
   * When the port cannot be bound, keep trying in the background (with back-off) instead of
   * failing: the edge runs its pods whether or not mappers can reach it, and DeviceTwin works
   * in-process meanwhile. @default false
   */
  readonly retryListen?: boolean;
  readonly log: Logger;
}

const RETRY_LISTEN_MS = [1000, 2000, 5000, 10_000, 30_000] as const;

/** Binds `server`; rejects with the listen error. */
async function listen(server: Server, port: number, host: string): Promise<void> {
  server.listen(port, host);
  const onError = once(server, 'error');
  try {
    await Promise.race([once(server, 'listening'), onError.then(([err]) => Promise.reject(err as Error))]);
  } finally {
    // The losing `once` must not keep a listener on the server.
    server.removeAllListeners('error');
  }
}

/** A subscriber that stops reading is dropped after this long, so it cannot stall delivery to everyone. */
const DRAIN_TIMEOUT_MS = 10_000;

/**
 * The embedded MQTT broker ({@link MqttBroker}, in memory) that is the edge's EventBus by default:
 * mappers and apps connect to it over TCP (MQTT 3.1.1 and 3.1); DeviceTwin subscribes and
 * publishes in-process, with no socket and no serialization in between.
 *
 * Authentication: a client connecting from loopback needs no credentials (what KubeEdge's
 * internal broker and a default mosquitto allow); any other client must present
 * {@link EmbeddedBrokerOptions.credentials} or is refused with CONNACK code 4.
 */
export class EmbeddedBroker implements EventBus {
  readonly mode = 'embedded' as const;
  readonly #o: EmbeddedBrokerOptions;
  readonly #log: Logger;
  #broker: MqttBroker | undefined;
  #server: Server | undefined;
  #closed: Promise<void> = Promise.resolve();

  constructor(options: EmbeddedBrokerOptions) {
    this.#o = options;
    this.#log = options.log;
  }

  /** The port listened on, once started. */
  get port(): number {
    return (this.#server?.address() as AddressInfo | null)?.port ?? 0;
  }

  get url(): string {
    const host = this.#o.bindAddress === undefined || this.#o.bindAddress === '0.0.0.0' ? '127.0.0.1' : this.#o.bindAddress === '::' ? '[::1]' : this.#o.bindAddress;
    return `mqtt://${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}:${this.port}`;
  }

  /** Settles once the broker has closed after the signal aborted. */
  get closed(): Promise<void> {
    return this.#closed;
  }

  /**
   * Starts the broker and listens; resolves once the port is bound. Aborting `signal` disconnects
   * every client and closes the listener.
   * @throws {EdgeError} `EDGE_EVENTBUS_UNAVAILABLE` when the port cannot be bound (in use, not
   *   permitted), or when it would listen beyond loopback without credentials
   */
  async start(signal: AbortSignal): Promise<void> {
    const bindAddress = this.#o.bindAddress ?? '127.0.0.1';
    if (!isLoopback(bindAddress) && this.#o.credentials === undefined) {
      throw new EdgeError('EDGE_EVENTBUS_UNAVAILABLE', `the MQTT broker would listen on ${bindAddress} without credentials for remote clients`);
    }
    const broker = new MqttBroker({
      log: this.#log,
      drainTimeoutMs: DRAIN_TIMEOUT_MS,
      authenticate: (remote, username, password, clientId) => this.#authenticate(remote, username, password, clientId),
    });
    this.#broker = broker;
    const server = createServer((socket) => broker.handle(socket));
    this.#server = server;
    this.#closed = new Promise<void>((resolve) => {
      const stop = (): void => {
        broker.close();
        server.close(() => resolve());
      };
      if (signal.aborted) stop();
      else signal.addEventListener('abort', stop, { once: true });
    });
    const port = this.#o.port ?? 1883;
    try {
      await listen(server, port, bindAddress);
    } catch (err) {
      const failure = new EdgeError('EDGE_EVENTBUS_UNAVAILABLE', `the MQTT broker cannot listen on ${bindAddress}:${port}: ${describeError(err)}`, { cause: err });
      if (this.#o.retryListen !== true) {
        broker.close();
        throw failure;
      }
      this.#log.error('the MQTT broker cannot listen yet; mappers cannot connect until it does (retrying)', { code: failure.code, err: failure.message });
      void this.#retryListen(server, port, bindAddress, signal);
      return;
    }
    server.on('error', (err) => this.#log.error('MQTT listener error', { err: describeError(err) }));
    this.#log.info('MQTT broker listening', { address: bindAddress, port: this.port, remoteAuth: this.#o.credentials !== undefined });
  }

  /** True once the TCP listener is up (it may come later with {@link EmbeddedBrokerOptions.retryListen}). */
  get listening(): boolean {
    return this.#server?.listening === true;
  }

  async #retryListen(server: Server, port: number, bindAddress: string, signal: AbortSignal): Promise<void> {
    for (let attempt = 0; !signal.aborted; attempt++) {
      const wait = RETRY_LISTEN_MS[Math.min(attempt, RETRY_LISTEN_MS.length - 1)]!;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, wait);
        signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
      });
      if (signal.aborted) return;
      try {
        await listen(server, port, bindAddress);
        server.on('error', (err) => this.#log.error('MQTT listener error', { err: describeError(err) }));
        this.#log.info('MQTT broker listening', { address: bindAddress, port: this.port, remoteAuth: this.#o.credentials !== undefined, attempts: attempt + 2 });
        return;
      } catch (err) {
        if ((attempt + 1) % 10 === 0) this.#log.warn('the MQTT broker still cannot listen', { code: 'EDGE_EVENTBUS_UNAVAILABLE', err: describeError(err), attempts: attempt + 2 });
      }
    }
  }

  /** Connected clients (mappers, apps). */
  get clients(): number {
    return this.#broker?.connectedClients ?? 0;
  }

  /**
   * Subscribes `handler` in-process. It is called asynchronously, in the order messages were
   * routed, one message at a time and never reentrantly: the broker queues in-process deliveries
   * (bounded) and drains them on their own turn of the event loop, so a burst of thousands of
   * messages, or a handler that publishes, cannot recurse.
   */
  subscribe(filter: string, handler: BusHandler): Promise<void> {
    const broker = this.#broker;
    if (broker === undefined) return Promise.reject(new EdgeError('EDGE_EVENTBUS_UNAVAILABLE', 'the MQTT broker is not started'));
    if (!isValidFilter(filter)) return Promise.reject(new EdgeError('EDGE_EVENTBUS_UNAVAILABLE', `invalid MQTT filter ${JSON.stringify(filter)}`));
    broker.subscribe(filter, handler);
    return Promise.resolve();
  }

  publish(topic: string, payload: string | Buffer, options: PublishOptions = {}): void {
    if (!isValidTopicName(topic)) {
      this.#log.warn('MQTT publish refused: not a topic name', { topic });
      return;
    }
    this.#broker?.publish(topic, typeof payload === 'string' ? Buffer.from(payload) : payload, options.qos ?? 0, options.retain ?? false);
  }

  #authenticate(remote: string | undefined, username: string | undefined, password: Buffer | undefined, clientId: string): boolean {
    if (isLoopback(remote)) return true;
    const creds = this.#o.credentials;
    if (creds !== undefined && credentialsMatch(creds, username, password)) return true;
    this.#log.warn('MQTT client refused: not on loopback and no valid credentials', { client: clientId, remote, username });
    return false;
  }
}
