import { once } from 'node:events';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { Aedes, type AuthenticateError, type Client, type PublishPacket } from 'aedes';
import { describeError } from '../../errors/platform-error.ts';
import type { Logger } from '../../log/logger.ts';
import { EdgeError } from '../errors.ts';
import { isValidFilter, type BusHandler, type EventBus, type PublishOptions } from './bus.ts';
import { credentialsMatch, isLoopback, type BrokerCredentials } from './credentials.ts';

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
/** Messages of this process handed to aedes at once: well below its emitter's concurrency (100). */
const MAX_PUBLISHES_IN_FLIGHT = 32;
/** Messages waiting for slow subscribers before the oldest are dropped. */
const MAX_QUEUED_PUBLISHES = 100_000;

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

/** MQTT CONNACK return code 4 (MQTT 3.1.1 §3.2.2.3): bad user name or password. */
const BAD_USERNAME_OR_PASSWORD = 4;
/** A subscriber that stops reading is dropped after this long, so it cannot stall delivery to everyone. */
const DRAIN_TIMEOUT_MS = 10_000;

/**
 * The embedded MQTT broker (aedes, in memory) that is the edge's EventBus by default: mappers and
 * apps connect to it over TCP; DeviceTwin subscribes and publishes in-process, with no socket and
 * no serialization in between.
 *
 * Authentication: a client connecting from loopback needs no credentials (what KubeEdge's
 * internal broker and a default mosquitto allow); any other client must present
 * {@link EmbeddedBrokerOptions.credentials} or is refused with CONNACK code 4.
 */
export class EmbeddedBroker implements EventBus {
  readonly mode = 'embedded' as const;
  readonly #o: EmbeddedBrokerOptions;
  readonly #log: Logger;
  #aedes: Aedes | undefined;
  #server: Server | undefined;
  #closed: Promise<void> = Promise.resolve();
  readonly #outgoing: PublishPacket[] = [];
  #inFlight = 0;
  #pumpScheduled = false;
  #dropped = 0;

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
    const aedes = await Aedes.createBroker({
      drainTimeout: DRAIN_TIMEOUT_MS,
      authenticate: (client, username, password, done) => this.#authenticate(client, username, password, done),
    });
    aedes.on('clientError', (client, err) => this.#log.debug('MQTT client error', { client: client.id, err: describeError(err) }));
    aedes.on('connectionError', (client, err) => this.#log.debug('MQTT connection error', { client: client.id, err: describeError(err) }));
    aedes.on('clientReady', (client) => this.#log.debug('MQTT client connected', { client: client.id, remote: (client.conn as Socket).remoteAddress }));
    this.#aedes = aedes;
    const server = createServer((socket) => aedes.handle(socket));
    this.#server = server;
    this.#closed = new Promise<void>((resolve) => {
      const stop = (): void => {
        server.close();
        aedes.close(() => resolve());
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
        server.close();
        aedes.close();
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
    return this.#aedes?.connectedClients ?? 0;
  }

  subscribe(filter: string, handler: BusHandler): Promise<void> {
    const aedes = this.#broker();
    if (!isValidFilter(filter)) return Promise.reject(new EdgeError('EDGE_EVENTBUS_UNAVAILABLE', `invalid MQTT filter ${JSON.stringify(filter)}`));
    return new Promise<void>((resolve) => {
      aedes.subscribe(
        filter,
        (packet, cb) => {
          try {
            handler(packet.topic, Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload));
          } catch (err) {
            this.#log.error('MQTT handler failed', { topic: packet.topic, err: describeError(err) });
          }
          // mqemitter delivers the next queued message from inside this callback: called
          // synchronously, a burst of queued messages would recurse until the stack overflows.
          process.nextTick(cb);
        },
        resolve,
      );
    });
  }

  publish(topic: string, payload: string | Buffer, options: PublishOptions = {}): void {
    const aedes = this.#aedes;
    if (aedes === undefined || aedes.closed) return;
    if (this.#outgoing.length >= MAX_QUEUED_PUBLISHES) {
      // Subscribers this slow have lost the thread anyway: the oldest answers go first.
      this.#outgoing.shift();
      if (this.#dropped++ % 10_000 === 0) this.#log.warn('MQTT subscribers too slow; dropping the oldest messages', { dropped: this.#dropped });
    }
    this.#outgoing.push({ cmd: 'publish', topic, payload: typeof payload === 'string' ? Buffer.from(payload) : payload, qos: options.qos ?? 0, retain: options.retain ?? false, dup: false });
    this.#pump(aedes);
  }

  /**
   * Hands queued messages to aedes, at most {@link MAX_PUBLISHES_IN_FLIGHT} at a time. aedes' emitter
   * queues whatever exceeds its concurrency and, when a slot frees, works through the queue
   * recursively: a burst of messages that complete at once (no subscriber) behind a few slow ones
   * (a TCP subscriber) would overflow the stack. Kept below its concurrency, nothing queues there.
   */
  #pump(aedes: Aedes): void {
    while (this.#inFlight < MAX_PUBLISHES_IN_FLIGHT && this.#outgoing.length > 0) {
      const packet = this.#outgoing.shift()!;
      this.#inFlight++;
      aedes.publish(packet, (err) => {
        this.#inFlight--;
        if (err !== undefined && err !== null) this.#log.warn('MQTT publish failed', { topic: packet.topic, err: describeError(err) });
        if (this.#outgoing.length > 0 && !this.#pumpScheduled) {
          this.#pumpScheduled = true;
          process.nextTick(() => {
            this.#pumpScheduled = false;
            this.#pump(aedes);
          });
        }
      });
    }
  }

  #broker(): Aedes {
    if (this.#aedes === undefined) throw new EdgeError('EDGE_EVENTBUS_UNAVAILABLE', 'the MQTT broker is not started');
    return this.#aedes;
  }

  #authenticate(client: Client, username: string | undefined, password: Buffer | undefined, done: (error: AuthenticateError | null, success: boolean | null) => void): void {
    const remote = (client.conn as Socket).remoteAddress;
    if (isLoopback(remote)) return done(null, true);
    const creds = this.#o.credentials;
    if (creds !== undefined && credentialsMatch(creds, username, password)) return done(null, true);
    this.#log.warn('MQTT client refused: not on loopback and no valid credentials', { client: client.id, remote, username });
    const refusal: AuthenticateError = Object.assign(new Error('bad user name or password'), { returnCode: BAD_USERNAME_OR_PASSWORD });
    done(refusal, false);
  }
}
