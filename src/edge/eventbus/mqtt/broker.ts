/**
 * The MQTT broker inside the edge: MQTT 3.1.1 and 3.1 over TCP for mappers and apps, and an
 * in-process path for DeviceTwin, both routed through one {@link TopicTree}. Written for what the
 * edge needs (QoS 0 and 1 out, QoS 0–2 in, retained messages, wills, persistent sessions in
 * memory) instead of aedes, whose streams, emitters and persistence layer cost the edge about
 * 480 KB of resident JavaScript.
 *
 * Every queue is bounded: bytes a client has not read (it is disconnected when it stays above
 * {@link WRITE_BUFFER_BOUND} for the drain timeout), QoS 1 messages per session, persistent
 * sessions kept offline, retained topics, messages waiting for in-process handlers.
 */
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { describeError } from '../../../errors/platform-error.ts';
import type { Logger } from '../../../log/logger.ts';
import { isValidFilter, topicMatches } from '../bus.ts';
import { BoundedQueue } from './bounded-queue.ts';
import {
  CONNACK_ACCEPTED,
  CONNACK_IDENTIFIER_REJECTED,
  CONNACK_UNACCEPTABLE_PROTOCOL_VERSION,
  CONNACK_BAD_USERNAME_OR_PASSWORD,
  encode,
  encodeAck,
  encodePublish,
  isValidTopicName,
  MalformedPacketError,
  PacketReader,
  PINGRESP,
  SUBACK_FAILURE,
  UnacceptableProtocolError,
  type ConnectPacket,
  type Packet,
  type PublishPacket,
  type QoS,
  type SubscribePacket,
  type Will,
} from './packets.ts';
import { TopicTree } from './topic-tree.ts';

/**
 * The largest packet accepted. The remaining-length field allows 256 MB, which one client could
 * make the edge buffer before a single byte of it can be checked; the largest thing on the edge's
 * bus is a twin document of a few KB, and mosquitto's and KubeEdge's mappers send far less.
 */
export const MAX_PACKET_SIZE = 1024 * 1024;
/**
 * Bytes a client may leave unread in its socket's write buffer (beyond what the kernel holds)
 * before QoS 0 messages to it are dropped and QoS 1 ones wait in its session, and before the drain
 * timeout starts. Big enough for a burst of a few thousand twin documents to a client that reads.
 */
export const WRITE_BUFFER_BOUND = 4 * 1024 * 1024;
/** QoS 1 messages sent to a client and not yet acknowledged (mosquitto allows 20 by default). */
const MAX_INFLIGHT = 100;
/** QoS 1 messages a session holds while offline or behind its in-flight window (mosquitto's default). */
const MAX_QUEUED = 1000;
/** Persistent sessions kept for clients that are gone; the longest gone are forgotten first. */
const MAX_OFFLINE_SESSIONS = 1000;
/** Topics with a retained message. */
const MAX_RETAINED = 10_000;
/** Levels of a subscription filter: matching recurses once per level (KubeEdge's topics have 8). */
const MAX_FILTER_LEVELS = 128;
/** A connection that has not sent CONNECT by then is closed. */
const CONNECT_TIMEOUT_MS = 10_000;
/** Messages waiting for in-process handlers before the oldest are dropped. */
const MAX_LOCAL_QUEUE = 100_000;
/** Past this many waiting for in-process handlers, the clients that publish them stop being read… */
const LOCAL_PAUSE_AT = 10_000;
/** …until the handlers are down to this many. */
const LOCAL_RESUME_AT = 1_000;

export interface MqttBrokerOptions {
  readonly log: Logger;
  /** Whether a client connecting from `remoteAddress` with these credentials may connect. */
  readonly authenticate: (remoteAddress: string | undefined, username: string | undefined, password: Buffer | undefined, clientId: string) => boolean;
  /** How long a client may leave more than {@link WRITE_BUFFER_BOUND} bytes unread before it is disconnected. */
  readonly drainTimeoutMs: number;
  /** @default {@link MAX_PACKET_SIZE} */
  readonly maxPacketSize?: number;
  /** @default {@link WRITE_BUFFER_BOUND} (tests lower it) */
  readonly writeBufferBound?: number;
}

/** Called for each message on an in-process subscription. */
export type LocalHandler = (topic: string, payload: Buffer) => void;

/** An in-process subscriber: one per {@link MqttBroker.subscribe} call, so two handlers on one filter both get each message. */
class LocalSubscriber {
  readonly handler: LocalHandler;
  active = true;
  constructor(handler: LocalHandler) {
    this.handler = handler;
  }
}

interface Message {
  readonly topic: string;
  readonly payload: Buffer;
  readonly retain: boolean;
}

/** What a client id keeps between connections (for a persistent session) or during one. */
class Session {
  readonly clientId: string;
  clean = true;
  /** Filter → granted QoS. */
  readonly subscriptions = new Map<string, QoS>();
  /** QoS 1 messages sent and not yet acknowledged, by packet id: sent again, with DUP, on reconnect [MQTT-4.4.0-1]. */
  readonly inflight = new Map<number, Message>();
  readonly queue = new BoundedQueue<Message>(MAX_QUEUED);
  /** Ids of QoS 2 messages received and delivered whose PUBREL has not come: a resent PUBLISH is not delivered again. */
  readonly qos2 = new Set<number>();
  connection: Connection | undefined;
  dropped = 0;
  #nextId = 0;

  constructor(clientId: string) {
    this.clientId = clientId;
  }

  nextPacketId(): number {
    // The in-flight window is far below 65,535, so a free id is always near.
    do this.#nextId = (this.#nextId % 0xffff) + 1;
    while (this.inflight.has(this.#nextId));
    return this.#nextId;
  }
}

type Subscriber = Session | LocalSubscriber;

/** One TCP connection. */
class Connection {
  readonly socket: Socket;
  readonly remote: string | undefined;
  readonly reader: PacketReader;
  readonly #bound: number;
  session: Session | undefined;
  clientId = '';
  protocolLevel = 4;
  will: Will | undefined;
  closed = false;
  paused = false;
  keepaliveMs = 0;
  lastPacket = Date.now();
  timer: NodeJS.Timeout | undefined;
  stallTimer: NodeJS.Timeout | undefined;
  dropped = 0;
  #corked = false;

  constructor(socket: Socket, maxPacketSize: number, writeBufferBound: number) {
    this.socket = socket;
    this.remote = socket.remoteAddress;
    this.reader = new PacketReader(maxPacketSize);
    this.#bound = writeBufferBound;
  }

  /** More than the bound is waiting to be written: the client is not keeping up. */
  get congested(): boolean {
    return this.socket.writableLength > this.#bound;
  }

  /**
   * Queues `b` on the socket. Writes of one turn of the event loop go out together (cork until the
   * next tick): a message routed to many clients, or a chunk of many PUBLISHes acknowledged, costs
   * one system call per socket, not one per packet.
   */
  write(b: Buffer): void {
    if (this.closed) return;
    if (!this.#corked) {
      this.#corked = true;
      this.socket.cork();
      process.nextTick(uncork, this);
    }
    this.socket.write(b);
  }

  uncork(): void {
    this.#corked = false;
    this.socket.uncork();
  }

  /** Closes after what was written (a refusing CONNACK) has gone; a peer that does not close its half is cut off soon after. */
  end(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.end();
    setTimeout(() => this.socket.destroy(), 1000).unref();
  }

  destroy(): void {
    this.closed = true;
    this.socket.destroy();
  }

  get label(): Record<string, unknown> {
    return { client: this.clientId, remote: this.remote };
  }
}

function uncork(c: Connection): void {
  c.uncork();
}

function connack(sessionPresent: boolean, returnCode: number): Buffer {
  return encode({ type: 'connack', sessionPresent, returnCode });
}

export class MqttBroker {
  readonly #o: MqttBrokerOptions;
  readonly #log: Logger;
  readonly #tree = new TopicTree<Subscriber>();
  readonly #sessions = new Map<string, Session>();
  /** Persistent sessions without a connection, longest gone first. */
  readonly #offline = new Map<string, Session>();
  readonly #connections = new Set<Connection>();
  readonly #retained = new Map<string, { readonly payload: Buffer; readonly qos: QoS }>();
  readonly #local = new BoundedQueue<{ readonly sub: LocalSubscriber; readonly topic: string; readonly payload: Buffer }>(MAX_LOCAL_QUEUE);
  #localScheduled = false;
  readonly #paused = new Set<Connection>();
  #closed = false;
  #localDropped = 0;
  #retainedRefused = 0;

  constructor(options: MqttBrokerOptions) {
    this.#o = options;
    this.#log = options.log;
  }

  /** Clients that have connected (sent an accepted CONNECT) and not gone. */
  get connectedClients(): number {
    let n = 0;
    for (const c of this.#connections) if (c.session !== undefined && !c.closed) n++;
    return n;
  }

  /** Serves one accepted TCP connection until it closes. */
  handle(socket: Socket): void {
    if (this.#closed) {
      socket.destroy();
      return;
    }
    const conn = new Connection(socket, this.#o.maxPacketSize ?? MAX_PACKET_SIZE, this.#o.writeBufferBound ?? WRITE_BUFFER_BOUND);
    this.#connections.add(conn);
    // Small packets both ways (acks, twin answers): Nagle's algorithm would hold each for an ack.
    socket.setNoDelay(true);
    conn.timer = setTimeout(() => {
      this.#log.debug('MQTT connection closed: no CONNECT', conn.label);
      conn.destroy();
    }, CONNECT_TIMEOUT_MS);
    socket.on('data', (chunk: Buffer) => this.#onData(conn, chunk));
    socket.on('drain', () => this.#onDrain(conn));
    socket.on('error', (err) => this.#log.debug('MQTT connection error', { ...conn.label, err: describeError(err) }));
    socket.on('close', () => this.#onClose(conn));
  }

  /**
   * Subscribes `handler` in-process. Messages reach it asynchronously, in the order the broker
   * routed them, one at a time, never from inside a {@link publish} call or another handler.
   * @returns the function that unsubscribes it
   */
  subscribe(filter: string, handler: LocalHandler): () => void {
    const sub = new LocalSubscriber(handler);
    this.#tree.add(filter, sub, 1);
    return () => {
      sub.active = false;
      this.#tree.remove(filter, sub);
    };
  }

  /** Publishes a message of this process, as a client's PUBLISH would be. */
  publish(topic: string, payload: Buffer, qos: QoS, retain: boolean): void {
    if (this.#closed) return;
    this.#route(topic, payload, qos, retain, undefined);
  }

  /** Disconnects every client (publishing no wills) and stops delivering. */
  close(): void {
    this.#closed = true;
    for (const c of this.#connections) c.destroy();
    this.#local.clear();
  }

  #onData(conn: Connection, chunk: Buffer): void {
    if (conn.closed) return;
    if (conn.session === undefined && !conn.reader.incomplete && chunk[0] !== 0x10) {
      // Not MQTT at all (an HTTP request, a TLS hello): no need to wait for a length that may never come.
      this.#log.debug('MQTT connection closed: the first packet is not CONNECT', { ...conn.label, first: chunk[0] });
      conn.destroy();
      return;
    }
    try {
      conn.reader.read(chunk, (p) => {
        if (!conn.closed) this.#onPacket(conn, p);
      });
    } catch (err) {
      if (err instanceof UnacceptableProtocolError && conn.session === undefined) {
        this.#log.debug('MQTT client refused: protocol level not supported', { ...conn.label, level: err.protocolLevel });
        conn.write(connack(false, CONNACK_UNACCEPTABLE_PROTOCOL_VERSION));
        conn.end();
        return;
      }
      // A client's bytes are not the edge's problem: close that connection and go on [MQTT-4.8.0-1].
      this.#log.debug('MQTT connection closed: protocol violation', { ...conn.label, err: describeError(err) });
      conn.destroy();
    }
  }

  #onPacket(conn: Connection, p: Packet): void {
    conn.lastPacket = Date.now();
    const s = conn.session;
    if (s === undefined) {
      if (p.type !== 'connect') throw new MalformedPacketError(`${p.type} before CONNECT`); // [MQTT-3.1.0-1]
      return this.#connect(conn, p);
    }
    switch (p.type) {
      case 'publish':
        return this.#onPublish(conn, s, p);
      case 'puback':
        if (s.inflight.delete(p.packetId)) this.#flush(s);
        return;
      case 'pubrel':
        s.qos2.delete(p.packetId);
        return conn.write(encodeAck('pubcomp', p.packetId));
      case 'subscribe':
        return this.#onSubscribe(conn, s, p);
      case 'unsubscribe':
        for (const filter of p.filters) if (s.subscriptions.delete(filter)) this.#tree.remove(filter, s);
        return conn.write(encodeAck('unsuback', p.packetId));
      case 'pingreq':
        return conn.write(PINGRESP);
      case 'disconnect':
        conn.will = undefined; // [MQTT-3.14.4-3]
        return conn.end();
      case 'pubrec':
      case 'pubcomp':
        // Answers to QoS 2 messages, which the broker never sends (it grants QoS 1 at most).
        return;
      default:
        throw new MalformedPacketError(`${p.type} from a client`); // including a second CONNECT [MQTT-3.1.0-2]
    }
  }

  #connect(conn: Connection, p: ConnectPacket): void {
    clearTimeout(conn.timer);
    conn.timer = undefined;
    conn.protocolLevel = p.protocolLevel;
    let clientId = p.clientId;
    if (clientId === '') {
      // An empty id asks for one, for a session that cannot outlive the connection [MQTT-3.1.3-6, -8].
      if (!p.clean) {
        this.#log.debug('MQTT client refused: empty client id for a persistent session', conn.label);
        conn.write(connack(false, CONNACK_IDENTIFIER_REJECTED));
        return conn.end();
      }
      clientId = `kedge-${randomBytes(8).toString('hex')}`;
    }
    conn.clientId = clientId;
    if (!this.#o.authenticate(conn.remote, p.username, p.password, clientId)) {
      conn.write(connack(false, CONNACK_BAD_USERNAME_OR_PASSWORD));
      return conn.end();
    }
    // A second connection with the same id takes over: the first is closed [MQTT-3.1.4-2], and its
    // close, seeing the session is no longer its own, leaves the session alone (its will still goes out).
    let session = this.#sessions.get(clientId);
    const previous = session?.connection;
    if (session !== undefined) session.connection = undefined;
    if (previous !== undefined) {
      this.#log.debug('MQTT session taken over by a new connection', { client: clientId, remote: conn.remote, previous: previous.remote });
      previous.destroy();
    }
    if (session !== undefined && (p.clean || session.clean)) {
      this.#discard(session);
      session = undefined;
    }
    const present = session !== undefined;
    if (session === undefined) {
      session = new Session(clientId);
      this.#sessions.set(clientId, session);
    }
    this.#offline.delete(clientId);
    session.clean = p.clean;
    session.connection = conn;
    conn.session = session;
    conn.will = p.will;
    // MQTT 3.1 has no session-present flag: the byte is reserved there.
    conn.write(connack(present && p.protocolLevel === 4, CONNACK_ACCEPTED));
    if (p.keepalive > 0) {
      conn.keepaliveMs = p.keepalive * 1500; // [MQTT-3.1.2-24]
      conn.timer = setTimeout(() => this.#checkKeepalive(conn), conn.keepaliveMs);
    }
    this.#log.debug('MQTT client connected', { ...conn.label, clean: p.clean, level: p.protocolLevel, keepalive: p.keepalive });
    for (const [id, m] of session.inflight) conn.write(encodePublish(m.topic, m.payload, 1, m.retain, true, id));
    this.#flush(session);
  }

  /** One timer per connection, moved on only when it fires: resetting it for each of 10,000 packets a second would cost more. */
  #checkKeepalive(conn: Connection): void {
    const idle = Date.now() - conn.lastPacket;
    if (idle < conn.keepaliveMs) {
      conn.timer = setTimeout(() => this.#checkKeepalive(conn), conn.keepaliveMs - idle);
      return;
    }
    this.#log.debug('MQTT connection closed: keepalive expired', { ...conn.label, idleMs: idle });
    conn.destroy();
  }

  #onPublish(conn: Connection, s: Session, p: PublishPacket): void {
    if (!isValidTopicName(p.topic)) throw new MalformedPacketError(`PUBLISH to ${JSON.stringify(p.topic)}`); // [MQTT-3.3.2-2]
    if (p.qos === 0) return this.#route(p.topic, p.payload, 0, p.retain, conn);
    if (p.qos === 1) {
      this.#route(p.topic, p.payload, 1, p.retain, conn);
      return conn.write(encodeAck('puback', p.packetId));
    }
    // QoS 2, delivered at PUBLISH and remembered until PUBREL (method B of MQTT 3.1.1 §4.3.3).
    if (!s.qos2.has(p.packetId)) {
      s.qos2.add(p.packetId);
      this.#route(p.topic, p.payload, 2, p.retain, conn);
    }
    conn.write(encodeAck('pubrec', p.packetId));
  }

  #onSubscribe(conn: Connection, s: Session, p: SubscribePacket): void {
    const codes: number[] = [];
    const granted: { filter: string; qos: QoS }[] = [];
    for (const { filter, qos } of p.subscriptions) {
      if (!isValidFilter(filter) || filter.split('/').length > MAX_FILTER_LEVELS) {
        this.#log.debug('MQTT subscription refused: invalid filter', { ...conn.label, filter });
        codes.push(SUBACK_FAILURE);
        continue;
      }
      // QoS 2 is granted as 1, which the client must accept [MQTT-3.9.3-1]: the edge's bus needs no more.
      const g: QoS = qos === 0 ? 0 : 1;
      this.#tree.add(filter, s, g);
      s.subscriptions.set(filter, g);
      codes.push(g);
      granted.push({ filter, qos: g });
    }
    conn.write(encode({ type: 'suback', packetId: p.packetId, returnCodes: codes }));
    // Retained messages, after the SUBACK, with the retain flag [MQTT-3.3.1-6, -8].
    if (this.#retained.size === 0) return;
    for (const { filter, qos } of granted) {
      for (const [topic, m] of this.#retained) if (topicMatches(filter, topic)) this.#deliver(s, topic, m.payload, Math.min(qos, m.qos) as QoS, true, undefined);
    }
  }

  /** Delivers a message to every matching subscriber, each at most once at the highest QoS its matching filters grant. */
  #route(topic: string, payload: Buffer, qos: QoS, retain: boolean, from: Connection | undefined): void {
    if (retain) this.#retain(topic, payload, qos);
    const hits = new Map<Subscriber, QoS>();
    this.#tree.match(topic, (sub, granted) => {
      const q = Math.min(qos, granted) as QoS;
      const prev = hits.get(sub);
      if (prev === undefined || q > prev) hits.set(sub, q);
    });
    if (hits.size === 0) return;
    // Delivered messages carry retain 0 [MQTT-3.3.1-9]: one encoding serves every QoS 0 subscriber.
    let shared: Buffer | undefined;
    for (const [sub, q] of hits) {
      if (sub instanceof LocalSubscriber) this.#enqueueLocal(sub, topic, payload, from);
      else this.#deliver(sub, topic, payload, q, false, q === 0 ? (shared ??= encodePublish(topic, payload, 0, false, false, 0)) : undefined);
    }
  }

  #retain(topic: string, payload: Buffer, qos: QoS): void {
    if (payload.length === 0) {
      this.#retained.delete(topic); // [MQTT-3.3.1-10, -11]
      return;
    }
    if (!this.#retained.has(topic) && this.#retained.size >= MAX_RETAINED) {
      if (this.#retainedRefused++ % 1000 === 0) this.#log.warn('MQTT retained messages at their limit; new retained topics are not kept', { limit: MAX_RETAINED, refused: this.#retainedRefused });
      return;
    }
    // A copy: the payload is a view of the socket's chunk, which a kept message should not pin.
    this.#retained.set(topic, { payload: Buffer.from(payload), qos });
  }

  #deliver(s: Session, topic: string, payload: Buffer, qos: QoS, retain: boolean, encoded: Buffer | undefined): void {
    const c = s.connection;
    if (qos === 0) {
      // QoS 0 is not kept for clients that are gone or not reading: it may be lost by definition.
      if (c === undefined) return;
      if (c.congested) return this.#dropForSlowClient(c);
      c.write(encoded ?? encodePublish(topic, payload, 0, retain, false, 0));
      if (c.congested) this.#watchStall(c);
      return;
    }
    const m: Message = { topic, payload, retain };
    if (c !== undefined && !c.congested && s.queue.length === 0 && s.inflight.size < MAX_INFLIGHT) return this.#send(s, c, m);
    if (s.queue.push({ topic, payload: Buffer.from(payload), retain }) !== undefined && s.dropped++ % 1000 === 0) {
      this.#log.warn('MQTT session queue full; dropping its oldest QoS 1 messages', { client: s.clientId, online: c !== undefined, limit: MAX_QUEUED, dropped: s.dropped });
    }
  }

  #send(s: Session, c: Connection, m: Message): void {
    const id = s.nextPacketId();
    s.inflight.set(id, m);
    c.write(encodePublish(m.topic, m.payload, 1, m.retain, false, id));
    if (c.congested) this.#watchStall(c);
  }

  /** Sends queued QoS 1 messages while the window and the socket allow. */
  #flush(s: Session): void {
    const c = s.connection;
    while (c !== undefined && !c.closed && !c.congested && s.inflight.size < MAX_INFLIGHT && s.queue.length > 0) this.#send(s, c, s.queue.shift()!);
  }

  #dropForSlowClient(c: Connection): void {
    this.#watchStall(c);
    if (c.dropped++ % 1000 === 0) this.#log.warn('MQTT client not reading; dropping QoS 0 messages to it', { ...c.label, unread: c.socket.writableLength, dropped: c.dropped });
  }

  /** A client that leaves the buffer above the bound for the drain timeout is disconnected, so it cannot hold memory or stall anyone. */
  #watchStall(c: Connection): void {
    if (c.stallTimer !== undefined) return;
    c.stallTimer = setTimeout(() => {
      c.stallTimer = undefined;
      if (!c.congested || c.closed) return;
      this.#log.warn('MQTT client disconnected: not reading', { ...c.label, unread: c.socket.writableLength, timeoutMs: this.#o.drainTimeoutMs });
      c.destroy();
    }, this.#o.drainTimeoutMs);
  }

  #onDrain(c: Connection): void {
    clearTimeout(c.stallTimer);
    c.stallTimer = undefined;
    if (c.session?.connection === c) this.#flush(c.session);
  }

  #enqueueLocal(sub: LocalSubscriber, topic: string, payload: Buffer, from: Connection | undefined): void {
    if (this.#local.push({ sub, topic, payload }) !== undefined && this.#localDropped++ % 10_000 === 0) {
      this.#log.warn('MQTT in-process handlers too slow; dropping the oldest messages', { dropped: this.#localDropped });
    }
    // Flow control for clients: stop reading a publisher that outruns the handlers, instead of dropping what it sends.
    if (from !== undefined && !from.paused && this.#local.length >= LOCAL_PAUSE_AT) {
      from.paused = true;
      from.socket.pause();
      this.#paused.add(from);
    }
    if (!this.#localScheduled) {
      this.#localScheduled = true;
      setImmediate(this.#drainLocal);
    }
  }

  /**
   * Calls in-process handlers with what is queued. Handlers that publish queue behind, for the next
   * turn after I/O: a handler is never called from inside another, so a burst cannot recurse, and
   * a loop of handlers answering each other cannot starve the sockets.
   */
  readonly #drainLocal = (): void => {
    this.#localScheduled = false;
    for (let n = this.#local.length; n > 0; n--) {
      const d = this.#local.shift()!;
      if (!d.sub.active) continue;
      try {
        d.sub.handler(d.topic, d.payload);
      } catch (err) {
        this.#log.error('MQTT handler failed', { topic: d.topic, err: describeError(err) });
      }
    }
    if (this.#local.length > 0 && !this.#localScheduled) {
      this.#localScheduled = true;
      setImmediate(this.#drainLocal);
    }
    if (this.#paused.size > 0 && this.#local.length <= LOCAL_RESUME_AT) {
      for (const c of this.#paused) {
        c.paused = false;
        if (!c.closed) c.socket.resume();
      }
      this.#paused.clear();
    }
  };

  #discard(s: Session): void {
    for (const filter of s.subscriptions.keys()) this.#tree.remove(filter, s);
    s.subscriptions.clear();
    this.#sessions.delete(s.clientId);
    this.#offline.delete(s.clientId);
  }

  #onClose(conn: Connection): void {
    conn.closed = true;
    clearTimeout(conn.timer);
    clearTimeout(conn.stallTimer);
    this.#connections.delete(conn);
    this.#paused.delete(conn);
    const s = conn.session;
    if (s !== undefined && s.connection === conn) {
      s.connection = undefined;
      if (s.clean) this.#discard(s);
      else {
        this.#offline.set(s.clientId, s);
        if (this.#offline.size > MAX_OFFLINE_SESSIONS) {
          const oldest = this.#offline.values().next().value!;
          this.#log.warn('MQTT persistent sessions at their limit; forgetting the longest gone', { client: oldest.clientId, limit: MAX_OFFLINE_SESSIONS });
          this.#discard(oldest);
        }
      }
    }
    if (s !== undefined) this.#log.debug('MQTT client disconnected', conn.label);
    // The will of a connection that ended without DISCONNECT [MQTT-3.1.2-8]; not on the broker's own shutdown.
    const will = conn.will;
    conn.will = undefined;
    if (will !== undefined && !this.#closed) this.#route(will.topic, will.payload, will.qos, will.retain, undefined);
  }
}
