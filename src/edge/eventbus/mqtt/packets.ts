/**
 * The MQTT 3.1 / 3.1.1 packet codec of the embedded broker: every control packet both ways (the
 * broker reads what clients send; the tests speak to it as a client would), with the checks of
 * MQTT 3.1.1 §2–3 that concern the bytes. What depends on the session (a first packet that is not
 * CONNECT, client id rules, authentication) is the broker's business.
 */
import { isUtf8 } from 'node:buffer';

/** MQTT's packet types, by the name of their control packet. */
export type PacketType = 'connect' | 'connack' | 'publish' | 'puback' | 'pubrec' | 'pubrel' | 'pubcomp' | 'subscribe' | 'suback' | 'unsubscribe' | 'unsuback' | 'pingreq' | 'pingresp' | 'disconnect';

/** The type field of the fixed header (the index) → name; 0 and 15 are reserved in 3.1.1 (15 is MQTT 5's AUTH). */
const TYPES: readonly (PacketType | undefined)[] = [undefined, 'connect', 'connack', 'publish', 'puback', 'pubrec', 'pubrel', 'pubcomp', 'subscribe', 'suback', 'unsubscribe', 'unsuback', 'pingreq', 'pingresp', 'disconnect', undefined];
const CODES: Readonly<Record<PacketType, number>> = {
  connect: 1,
  connack: 2,
  publish: 3,
  puback: 4,
  pubrec: 5,
  pubrel: 6,
  pubcomp: 7,
  subscribe: 8,
  suback: 9,
  unsubscribe: 10,
  unsuback: 11,
  pingreq: 12,
  pingresp: 13,
  disconnect: 14,
};

export type QoS = 0 | 1 | 2;

/** A will message: what the broker publishes for a client whose connection ends without DISCONNECT. */
export interface Will {
  readonly topic: string;
  readonly payload: Buffer;
  readonly qos: QoS;
  readonly retain: boolean;
}

export interface ConnectPacket {
  readonly type: 'connect';
  /** 4 for MQTT 3.1.1 ("MQTT"), 3 for MQTT 3.1 ("MQIsdp"). */
  readonly protocolLevel: 3 | 4;
  readonly clean: boolean;
  /** Seconds; 0 turns the keepalive off. */
  readonly keepalive: number;
  readonly clientId: string;
  readonly will?: Will | undefined;
  readonly username?: string | undefined;
  readonly password?: Buffer | undefined;
}

export interface ConnackPacket {
  readonly type: 'connack';
  readonly sessionPresent: boolean;
  readonly returnCode: number;
}

export interface PublishPacket {
  readonly type: 'publish';
  readonly topic: string;
  readonly payload: Buffer;
  readonly qos: QoS;
  readonly retain: boolean;
  readonly dup: boolean;
  /** 0 for QoS 0, which carries none. */
  readonly packetId: number;
}

/** The acknowledgements that carry only a packet id. */
export interface IdPacket {
  readonly type: 'puback' | 'pubrec' | 'pubrel' | 'pubcomp' | 'unsuback';
  readonly packetId: number;
}

export interface SubscribePacket {
  readonly type: 'subscribe';
  readonly packetId: number;
  readonly subscriptions: readonly { readonly filter: string; readonly qos: QoS }[];
}

export interface SubackPacket {
  readonly type: 'suback';
  readonly packetId: number;
  /** The granted QoS per filter, or {@link SUBACK_FAILURE}. */
  readonly returnCodes: readonly number[];
}

export interface UnsubscribePacket {
  readonly type: 'unsubscribe';
  readonly packetId: number;
  readonly filters: readonly string[];
}

export interface EmptyPacket {
  readonly type: 'pingreq' | 'pingresp' | 'disconnect';
}

export type Packet = ConnectPacket | ConnackPacket | PublishPacket | IdPacket | SubscribePacket | SubackPacket | UnsubscribePacket | EmptyPacket;

/** CONNACK return codes, MQTT 3.1.1 §3.2.2.3. */
export const CONNACK_ACCEPTED = 0;
export const CONNACK_UNACCEPTABLE_PROTOCOL_VERSION = 1;
export const CONNACK_IDENTIFIER_REJECTED = 2;
export const CONNACK_BAD_USERNAME_OR_PASSWORD = 4;
/** The SUBACK return code of a filter the broker refuses, MQTT 3.1.1 §3.9.3. */
export const SUBACK_FAILURE = 0x80;

/** The largest remaining length the four bytes of the field can say, MQTT 3.1.1 §2.2.3. */
export const MAX_REMAINING_LENGTH = 268_435_455;

/** Bytes that are not an MQTT 3.1/3.1.1 packet: the connection that sent them must be closed [MQTT-4.8.0-1]. */
export class MalformedPacketError extends Error {
  override readonly name = 'MalformedPacketError';
}

/**
 * A CONNECT of a protocol level the broker does not speak (MQTT 5 sends 5): it must answer CONNACK
 * {@link CONNACK_UNACCEPTABLE_PROTOCOL_VERSION} before closing [MQTT-3.1.2-2].
 */
export class UnacceptableProtocolError extends MalformedPacketError {
  readonly protocolLevel: number;
  constructor(protocolName: string, protocolLevel: number) {
    super(`unsupported protocol ${JSON.stringify(protocolName)} level ${protocolLevel}`);
    this.protocolLevel = protocolLevel;
  }
}

/** Where a packet's variable header and payload are read from, with bounds checks. */
class Cursor {
  readonly #b: Buffer;
  #at: number;
  readonly #end: number;

  constructor(b: Buffer, start: number, end: number) {
    this.#b = b;
    this.#at = start;
    this.#end = end;
  }

  get remaining(): number {
    return this.#end - this.#at;
  }

  byte(): number {
    if (this.#at >= this.#end) throw new MalformedPacketError('packet ends early');
    return this.#b[this.#at++]!;
  }

  u16(): number {
    if (this.#at + 2 > this.#end) throw new MalformedPacketError('packet ends early');
    const v = this.#b.readUInt16BE(this.#at);
    this.#at += 2;
    return v;
  }

  /** A length-prefixed byte field (§1.5.3). A subarray of the input: callers that keep it copy it. */
  bytes(): Buffer {
    const n = this.u16();
    if (this.#at + n > this.#end) throw new MalformedPacketError('a string runs past the end of the packet');
    const v = this.#b.subarray(this.#at, this.#at + n);
    this.#at += n;
    return v;
  }

  /** A UTF-8 string: well-formed and without U+0000 [MQTT-1.5.3-1, MQTT-1.5.3-2]. */
  string(): string {
    const raw = this.bytes();
    if (!isUtf8(raw) || raw.includes(0)) throw new MalformedPacketError('a string is not well-formed UTF-8');
    return raw.toString('utf8');
  }

  rest(): Buffer {
    const v = this.#b.subarray(this.#at, this.#end);
    this.#at = this.#end;
    return v;
  }
}

function packetId(c: Cursor): number {
  const id = c.u16();
  if (id === 0) throw new MalformedPacketError('packet id 0'); // [MQTT-2.3.1-1]
  return id;
}

function qosOf(bits: number): QoS {
  if (bits === 3) throw new MalformedPacketError('QoS 3');
  return bits as QoS;
}

function decodeConnect(c: Cursor): ConnectPacket {
  const protocolName = c.string();
  const protocolLevel = c.byte();
  if (!((protocolName === 'MQTT' && protocolLevel === 4) || (protocolName === 'MQIsdp' && protocolLevel === 3))) {
    // A name that is not MQTT's at all is not worth an answer [MQTT-3.1.2-1]; a known one at another level is.
    if (protocolName !== 'MQTT' && protocolName !== 'MQIsdp') throw new MalformedPacketError(`protocol name ${JSON.stringify(protocolName)}`);
    throw new UnacceptableProtocolError(protocolName, protocolLevel);
  }
  const flags = c.byte();
  if ((flags & 0x01) !== 0) throw new MalformedPacketError('reserved CONNECT flag set'); // [MQTT-3.1.2-3]
  const hasWill = (flags & 0x04) !== 0;
  const willQos = qosOf((flags >> 3) & 0x03);
  const willRetain = (flags & 0x20) !== 0;
  if (!hasWill && (willQos !== 0 || willRetain)) throw new MalformedPacketError('will QoS or retain without a will'); // [MQTT-3.1.2-13, -15]
  const hasPassword = (flags & 0x40) !== 0;
  const hasUsername = (flags & 0x80) !== 0;
  if (hasPassword && !hasUsername) throw new MalformedPacketError('a password without a user name'); // [MQTT-3.1.2-22]
  const keepalive = c.u16();
  const clientId = c.string();
  let will: Will | undefined;
  if (hasWill) {
    const topic = c.string();
    if (!isValidTopicName(topic)) throw new MalformedPacketError('the will topic is not a valid topic name');
    will = { topic, payload: Buffer.from(c.bytes()), qos: willQos, retain: willRetain };
  }
  const username = hasUsername ? c.string() : undefined;
  const password = hasPassword ? Buffer.from(c.bytes()) : undefined;
  if (c.remaining !== 0) throw new MalformedPacketError('bytes after the CONNECT payload');
  return { type: 'connect', protocolLevel, clean: (flags & 0x02) !== 0, keepalive, clientId, will, username, password };
}

/** True when `topic` may be published to: not empty, no wildcards, no U+0000 [MQTT-4.7.3-1, MQTT-3.3.2-2]. */
export function isValidTopicName(topic: string): boolean {
  return topic.length > 0 && !topic.includes('+') && !topic.includes('#') && !topic.includes('\u0000');
}

/** Decodes one packet whose fixed header's first byte is `first` and whose rest is `b[start, end)`. */
function decodeBody(first: number, b: Buffer, start: number, end: number): Packet {
  const type = TYPES[first >> 4];
  const flags = first & 0x0f;
  if (type === undefined) throw new MalformedPacketError(`reserved packet type ${first >> 4}`);
  // Only PUBLISH uses the flags; PUBREL, SUBSCRIBE and UNSUBSCRIBE must carry 0010, the rest 0000 [MQTT-2.2.2-1, -2].
  if (type !== 'publish' && flags !== (type === 'pubrel' || type === 'subscribe' || type === 'unsubscribe' ? 0x02 : 0)) throw new MalformedPacketError(`${type} with flags ${flags}`);
  const c = new Cursor(b, start, end);
  switch (type) {
    case 'connect':
      return decodeConnect(c);
    case 'connack': {
      const ack = c.byte();
      if ((ack & 0xfe) !== 0 || c.remaining !== 1) throw new MalformedPacketError('malformed CONNACK');
      return { type, sessionPresent: ack === 1, returnCode: c.byte() };
    }
    case 'publish': {
      const qos = qosOf((flags >> 1) & 0x03);
      const topic = c.string();
      const id = qos > 0 ? packetId(c) : 0;
      // DUP on QoS 0 is not allowed [MQTT-3.3.1-2] but harmless: reported as false, since it means nothing there.
      return { type, topic, payload: c.rest(), qos, retain: (flags & 0x01) !== 0, dup: qos > 0 && (flags & 0x08) !== 0, packetId: id };
    }
    case 'puback':
    case 'pubrec':
    case 'pubrel':
    case 'pubcomp':
    case 'unsuback': {
      if (c.remaining !== 2) throw new MalformedPacketError(`${type} of ${c.remaining} bytes`);
      return { type, packetId: packetId(c) };
    }
    case 'subscribe': {
      const id = packetId(c);
      const subscriptions: { filter: string; qos: QoS }[] = [];
      while (c.remaining > 0) {
        const filter = c.string();
        const requested = c.byte();
        if ((requested & 0xfc) !== 0) throw new MalformedPacketError('reserved bits of a requested QoS set'); // [MQTT-3.8.3-4]
        subscriptions.push({ filter, qos: qosOf(requested) });
      }
      if (subscriptions.length === 0) throw new MalformedPacketError('SUBSCRIBE without a filter'); // [MQTT-3.8.3-3]
      return { type, packetId: id, subscriptions };
    }
    case 'suback': {
      const id = packetId(c);
      const returnCodes = [...c.rest()];
      if (returnCodes.length === 0) throw new MalformedPacketError('SUBACK without return codes');
      return { type, packetId: id, returnCodes };
    }
    case 'unsubscribe': {
      const id = packetId(c);
      const filters: string[] = [];
      while (c.remaining > 0) filters.push(c.string());
      if (filters.length === 0) throw new MalformedPacketError('UNSUBSCRIBE without a filter'); // [MQTT-3.10.3-2]
      return { type, packetId: id, filters };
    }
    case 'pingreq':
    case 'pingresp':
    case 'disconnect':
      if (c.remaining !== 0) throw new MalformedPacketError(`${type} with a body`);
      return { type };
  }
}

/**
 * Splits a byte stream into packets. Keeps at most one incomplete packet, and refuses any packet
 * longer than `maxPacketSize` from its header alone, before buffering it.
 */
export class PacketReader {
  readonly #max: number;
  /** Bytes of the packet being read (and any after it), when a chunk ended mid-packet. */
  #pending: Buffer[] = [];
  #pendingLength = 0;
  /** Total length of the incomplete packet once its header is known, else 0. */
  #need = 0;

  constructor(maxPacketSize: number) {
    this.#max = maxPacketSize;
  }

  /**
   * Reads `chunk`, calling `onPacket` for each packet it completes, in order.
   * @throws {MalformedPacketError} at the first packet that is not one (those before it were delivered)
   */
  read(chunk: Buffer, onPacket: (packet: Packet) => void): void {
    let b = chunk;
    if (this.#pendingLength > 0) {
      this.#pending.push(chunk);
      this.#pendingLength += chunk.length;
      // A large packet arrives in many chunks: join them once, when it is complete.
      if (this.#need > 0 && this.#pendingLength < this.#need) return;
      b = Buffer.concat(this.#pending, this.#pendingLength);
      this.#pending = [];
      this.#pendingLength = 0;
    }
    this.#need = 0;
    let at = 0;
    while (at < b.length) {
      // Fixed header: one byte of type and flags, then the remaining length in 1–4 bytes of 7 bits each.
      let length = 0;
      let i = at + 1;
      for (let shift = 0; ; shift += 7, i++) {
        if (i >= b.length) return this.#keep(b, at, 0);
        if (shift === 28) throw new MalformedPacketError('remaining length longer than 4 bytes');
        const byte = b[i]!;
        length += (byte & 0x7f) * 2 ** shift;
        if ((byte & 0x80) === 0) break;
      }
      const bodyStart = i + 1;
      const end = bodyStart + length;
      if (end - at > this.#max) throw new MalformedPacketError(`a packet of ${end - at} bytes, above the limit of ${this.#max}`);
      if (end > b.length) return this.#keep(b, at, end - at);
      const first = b[at]!;
      at = end;
      onPacket(decodeBody(first, b, bodyStart, end));
    }
  }

  /** True while part of a packet has been read. */
  get incomplete(): boolean {
    return this.#pendingLength > 0;
  }

  #keep(b: Buffer, from: number, need: number): void {
    this.#pending = [b.subarray(from)];
    this.#pendingLength = b.length - from;
    this.#need = need;
  }
}

/** Decodes every packet in `b`, which must end at a packet boundary (for tests and one-shot reads). */
export function decodeAll(b: Buffer, maxPacketSize = MAX_REMAINING_LENGTH + 5): Packet[] {
  const out: Packet[] = [];
  const reader = new PacketReader(maxPacketSize);
  reader.read(b, (p) => out.push(p));
  if (reader.incomplete) throw new MalformedPacketError('the input ends inside a packet');
  return out;
}

/** The remaining-length field for `n` (§2.2.3). */
export function encodeRemainingLength(n: number): Buffer {
  if (!Number.isInteger(n) || n < 0 || n > MAX_REMAINING_LENGTH) throw new RangeError(`remaining length ${n}`);
  const out: number[] = [];
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    out.push(byte);
  } while (n > 0);
  return Buffer.from(out);
}

function lengthBytes(n: number): number {
  return n < 128 ? 1 : n < 16_384 ? 2 : n < 2_097_152 ? 3 : 4;
}

/** Writes the fixed header of a packet of `type` (byte) and `length` into `b` at 0; returns where the body starts. */
function header(b: Buffer, first: number, length: number): number {
  b[0] = first;
  let at = 1;
  do {
    let byte = length % 128;
    length = Math.floor(length / 128);
    if (length > 0) byte |= 0x80;
    b[at++] = byte;
  } while (length > 0);
  return at;
}

/**
 * A PUBLISH, built in one allocation: the hot path of the broker (one encoding serves every QoS 0
 * subscriber of a message).
 */
export function encodePublish(topic: string, payload: Buffer, qos: QoS, retain: boolean, dup: boolean, packetId: number): Buffer {
  const topicLength = Buffer.byteLength(topic);
  const length = 2 + topicLength + (qos > 0 ? 2 : 0) + payload.length;
  if (length > MAX_REMAINING_LENGTH) throw new RangeError(`a PUBLISH of ${length} bytes`);
  const b = Buffer.allocUnsafe(1 + lengthBytes(length) + length);
  let at = header(b, 0x30 | (dup ? 0x08 : 0) | (qos << 1) | (retain ? 1 : 0), length);
  at = b.writeUInt16BE(topicLength, at);
  at += b.write(topic, at, 'utf8');
  if (qos > 0) at = b.writeUInt16BE(packetId, at);
  payload.copy(b, at);
  return b;
}

function field(s: string | Buffer): Buffer {
  const body = typeof s === 'string' ? Buffer.from(s, 'utf8') : s;
  if (body.length > 0xffff) throw new RangeError('a string longer than 65,535 bytes');
  const b = Buffer.allocUnsafe(2 + body.length);
  b.writeUInt16BE(body.length, 0);
  body.copy(b, 2);
  return b;
}

function u16(n: number): Buffer {
  const b = Buffer.allocUnsafe(2);
  b.writeUInt16BE(n, 0);
  return b;
}

function packet(first: number, parts: readonly Buffer[]): Buffer {
  const length = parts.reduce((n, p) => n + p.length, 0);
  return Buffer.concat([Buffer.from([first]), encodeRemainingLength(length), ...parts]);
}

/** Encodes any packet (the broker uses {@link encodePublish} and the fixed acks below on its hot paths). */
export function encode(p: Packet): Buffer {
  switch (p.type) {
    case 'connect': {
      const flags = (p.username !== undefined ? 0x80 : 0) | (p.password !== undefined ? 0x40 : 0) | (p.will?.retain === true ? 0x20 : 0) | ((p.will?.qos ?? 0) << 3) | (p.will !== undefined ? 0x04 : 0) | (p.clean ? 0x02 : 0);
      const parts = [field(p.protocolLevel === 3 ? 'MQIsdp' : 'MQTT'), Buffer.from([p.protocolLevel, flags]), u16(p.keepalive), field(p.clientId)];
      if (p.will !== undefined) parts.push(field(p.will.topic), field(p.will.payload));
      if (p.username !== undefined) parts.push(field(p.username));
      if (p.password !== undefined) parts.push(field(p.password));
      return packet(0x10, parts);
    }
    case 'connack':
      return Buffer.from([0x20, 2, p.sessionPresent ? 1 : 0, p.returnCode]);
    case 'publish':
      return encodePublish(p.topic, p.payload, p.qos, p.retain, p.dup, p.packetId);
    case 'puback':
    case 'pubrec':
    case 'pubrel':
    case 'pubcomp':
    case 'unsuback':
      return encodeAck(p.type, p.packetId);
    case 'subscribe':
      return packet(0x82, [u16(p.packetId), ...p.subscriptions.flatMap((s) => [field(s.filter), Buffer.from([s.qos])])]);
    case 'suback':
      return packet(0x90, [u16(p.packetId), Buffer.from(p.returnCodes)]);
    case 'unsubscribe':
      return packet(0xa2, [u16(p.packetId), ...p.filters.map(field)]);
    case 'pingreq':
    case 'pingresp':
    case 'disconnect':
      return Buffer.from([CODES[p.type] << 4, 0]);
  }
}

/** A 4-byte acknowledgement carrying `packetId`. */
export function encodeAck(type: IdPacket['type'], packetId: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b[0] = (CODES[type] << 4) | (type === 'pubrel' ? 0x02 : 0);
  b[1] = 2;
  b.writeUInt16BE(packetId, 2);
  return b;
}

/** PINGRESP, which never changes. */
export const PINGRESP = Buffer.from([0xd0, 0]);
