import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BoundedQueue } from './bounded-queue.ts';
import { decodeAll, encode, encodeRemainingLength, MalformedPacketError, PacketReader, UnacceptableProtocolError, type Packet } from './packets.ts';

const roundTrips: Packet[] = [
  { type: 'connect', protocolLevel: 4, clean: true, keepalive: 60, clientId: 'mapper-1', will: undefined, username: undefined, password: undefined },
  { type: 'connect', protocolLevel: 3, clean: false, keepalive: 0, clientId: 'paho', will: { topic: 'status/paho', payload: Buffer.from('gone'), qos: 1, retain: true }, username: 'kedge', password: Buffer.from([0, 255, 1]) },
  { type: 'connack', sessionPresent: true, returnCode: 0 },
  { type: 'connack', sessionPresent: false, returnCode: 4 },
  { type: 'publish', topic: '$hw/events/device/ns/d/twin/update', payload: Buffer.from('{"a":1}'), qos: 0, retain: false, dup: false, packetId: 0 },
  { type: 'publish', topic: 'a/b', payload: Buffer.alloc(0), qos: 1, retain: true, dup: true, packetId: 65535 },
  { type: 'publish', topic: 'é/ü', payload: Buffer.from([1, 2, 3]), qos: 2, retain: false, dup: false, packetId: 7 },
  { type: 'puback', packetId: 1 },
  { type: 'pubrec', packetId: 2 },
  { type: 'pubrel', packetId: 3 },
  { type: 'pubcomp', packetId: 4 },
  { type: 'subscribe', packetId: 5, subscriptions: [{ filter: 'a/+', qos: 0 }, { filter: '$hw/#', qos: 2 }] },
  { type: 'suback', packetId: 5, returnCodes: [0, 1, 0x80] },
  { type: 'unsubscribe', packetId: 6, filters: ['a/+', 'b'] },
  { type: 'unsuback', packetId: 6 },
  { type: 'pingreq' },
  { type: 'pingresp' },
  { type: 'disconnect' },
];

test('every packet type encodes and decodes back to itself', () => {
  for (const p of roundTrips) assert.deepEqual(decodeAll(encode(p)), [p], p.type);
  // All of them in one stream, cut at every byte: the reader keeps what a chunk leaves incomplete.
  const stream = Buffer.concat(roundTrips.map(encode));
  for (let cut = 1; cut < stream.length; cut++) {
    const got: Packet[] = [];
    const r = new PacketReader(1024);
    r.read(stream.subarray(0, cut), (p) => got.push(p));
    r.read(stream.subarray(cut), (p) => got.push(p));
    assert.equal(got.length, roundTrips.length, `cut at ${cut}`);
    assert.equal(r.incomplete, false);
  }
  // And one byte at a time.
  const got: Packet[] = [];
  const r = new PacketReader(1024);
  for (const byte of stream) r.read(Buffer.from([byte]), (p) => got.push(p));
  assert.deepEqual(got, roundTrips);
});

test('the wire bytes are MQTT 3.1.1 as written in the spec', () => {
  assert.deepEqual([...encode({ type: 'connack', sessionPresent: false, returnCode: 1 })], [0x20, 2, 0, 1]);
  assert.deepEqual([...encode({ type: 'pubrel', packetId: 0x102 })], [0x62, 2, 1, 2]);
  assert.deepEqual([...encode({ type: 'pingresp' })], [0xd0, 0]);
  assert.deepEqual([...encode({ type: 'publish', topic: 'a', payload: Buffer.from('x'), qos: 1, retain: true, dup: true, packetId: 10 })], [0x3b, 6, 0, 1, 0x61, 0, 10, 0x78]);
  assert.deepEqual([...encode({ type: 'subscribe', packetId: 1, subscriptions: [{ filter: 'a', qos: 1 }] })], [0x82, 6, 0, 1, 0, 1, 0x61, 1]);
  const connect = encode({ type: 'connect', protocolLevel: 4, clean: true, keepalive: 10, clientId: 'c' });
  assert.deepEqual([...connect], [0x10, 13, 0, 4, 0x4d, 0x51, 0x54, 0x54, 4, 0x02, 0, 10, 0, 1, 0x63]);
});

test('remaining lengths at each boundary of the 1–4 byte field', () => {
  const cases: [number, number[]][] = [
    [0, [0]],
    [127, [0x7f]],
    [128, [0x80, 0x01]],
    [16_383, [0xff, 0x7f]],
    [16_384, [0x80, 0x80, 0x01]],
    [2_097_151, [0xff, 0xff, 0x7f]],
    [2_097_152, [0x80, 0x80, 0x80, 0x01]],
    [268_435_455, [0xff, 0xff, 0xff, 0x7f]],
  ];
  for (const [n, bytes] of cases) assert.deepEqual([...encodeRemainingLength(n)], bytes, String(n));
  assert.throws(() => encodeRemainingLength(268_435_456), RangeError);
  // PUBLISHes whose remaining length is exactly each boundary decode with their payload intact.
  for (const n of [127, 128, 16_383, 16_384, 2_097_151, 2_097_152]) {
    const payload = Buffer.alloc(n - 3, 0x61); // 2 bytes of topic length + topic 't'
    const b = encode({ type: 'publish', topic: 't', payload, qos: 0, retain: false, dup: false, packetId: 0 });
    assert.equal(b.length, 1 + encodeRemainingLength(n).length + n);
    const [p] = decodeAll(b);
    assert.equal(p?.type === 'publish' && p.payload.length, n - 3, String(n));
  }
  // A fifth length byte is malformed, not a longer packet.
  assert.throws(() => decodeAll(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01])), MalformedPacketError);
});

test('a packet above the size limit is refused from its header, before its body is buffered', () => {
  const r = new PacketReader(1024);
  const header = Buffer.concat([Buffer.from([0x30]), encodeRemainingLength(2000)]);
  assert.throws(() => r.read(header, () => undefined), /above the limit/);
  // Exactly the limit, header included (1 type byte, 2 length bytes, 3 of topic), is allowed.
  const ok = encode({ type: 'publish', topic: 't', payload: Buffer.alloc(1024 - 3 - 3), qos: 0, retain: false, dup: false, packetId: 0 });
  assert.equal(ok.length, 1024);
  assert.equal(decodeAll(ok, 1024).length, 1);
  assert.throws(() => decodeAll(Buffer.concat([ok, Buffer.from([0x30, 0xfe, 0x07])]), 1024), /above the limit/);
});

test('malformed input is refused with MalformedPacketError', () => {
  const connect = (flags: number, rest: number[] = [0, 1, 0x63]): Buffer => {
    const body = [0, 4, 0x4d, 0x51, 0x54, 0x54, 4, flags, 0, 0, ...rest];
    return Buffer.from([0x10, body.length, ...body]);
  };
  const bad: [string, Buffer][] = [
    ['reserved type 0', Buffer.from([0x00, 0])],
    ['reserved type 15 (MQTT 5 AUTH)', Buffer.from([0xf0, 0])],
    ['PUBLISH QoS 3', Buffer.from([0x36, 5, 0, 1, 0x61, 0, 1])],
    ['PUBLISH with packet id 0', Buffer.from([0x32, 5, 0, 1, 0x61, 0, 0])],
    ['topic longer than the packet', Buffer.from([0x30, 3, 0, 9, 0x61])],
    ['truncated topic length', Buffer.from([0x30, 1, 0])],
    ['invalid UTF-8 in a topic', Buffer.from([0x30, 4, 0, 2, 0xc3, 0x28])],
    ['U+0000 in a topic', Buffer.from([0x30, 4, 0, 2, 0x61, 0x00])],
    ['PUBACK with flags', Buffer.from([0x41, 2, 0, 1])],
    ['PUBREL without its 0010 flags', Buffer.from([0x60, 2, 0, 1])],
    ['SUBSCRIBE without its 0010 flags', Buffer.from([0x80, 6, 0, 1, 0, 1, 0x61, 0])],
    ['PUBACK of 3 bytes', Buffer.from([0x40, 3, 0, 1, 0])],
    ['PINGREQ with a body', Buffer.from([0xc0, 1, 0])],
    ['SUBSCRIBE without filters', Buffer.from([0x82, 2, 0, 1])],
    ['SUBSCRIBE with reserved QoS bits', Buffer.from([0x82, 6, 0, 1, 0, 1, 0x61, 0x04])],
    ['SUBSCRIBE with QoS 3', Buffer.from([0x82, 6, 0, 1, 0, 1, 0x61, 0x03])],
    ['UNSUBSCRIBE without filters', Buffer.from([0xa2, 2, 0, 1])],
    ['CONNECT with the reserved flag', connect(0x03)],
    ['CONNECT with will QoS but no will', connect(0x0a)],
    ['CONNECT with will retain but no will', connect(0x22)],
    ['CONNECT with a password but no user name', connect(0x42)],
    ['CONNECT with will QoS 3', connect(0x1e, [0, 1, 0x63, 0, 1, 0x74, 0, 0])],
    ['CONNECT with a will topic with wildcards', connect(0x06, [0, 1, 0x63, 0, 1, 0x23, 0, 0])],
    ['CONNECT that ends inside the client id', connect(0x02, [0, 5, 0x63])],
    ['CONNECT with bytes after its payload', connect(0x02, [0, 1, 0x63, 0])],
    ['CONNECT of another protocol', Buffer.from([0x10, 8, 0, 4, 0x48, 0x54, 0x54, 0x50, 4, 2])],
  ];
  for (const [what, b] of bad) assert.throws(() => decodeAll(b), MalformedPacketError, what);
  // A known protocol at another level (MQTT 5) is answered, not just dropped.
  const v5 = Buffer.from([0x10, 11, 0, 4, 0x4d, 0x51, 0x54, 0x54, 5, 2, 0, 60, 0, 0, 0]);
  assert.throws(() => decodeAll(v5), (err: unknown) => err instanceof UnacceptableProtocolError && err.protocolLevel === 5);
  assert.throws(() => decodeAll(Buffer.from([0x10, 10, 0, 6, 0x4d, 0x51, 0x49, 0x73, 0x64, 0x70, 4, 2])), UnacceptableProtocolError, 'MQIsdp is level 3 only');
  // Packets before a malformed one in the same chunk are still delivered.
  const got: Packet[] = [];
  assert.throws(() => new PacketReader(1024).read(Buffer.from([0xc0, 0, 0xf0, 0]), (p) => got.push(p)), MalformedPacketError);
  assert.deepEqual(got, [{ type: 'pingreq' }]);
});

test('the bounded queue keeps the newest items in order and gives back the ones it drops', () => {
  const q = new BoundedQueue<number>(3);
  assert.equal(q.push(1), undefined);
  assert.equal(q.push(2), undefined);
  assert.equal(q.shift(), 1);
  q.push(3);
  q.push(4);
  assert.equal(q.push(5), 2);
  assert.deepEqual([q.shift(), q.shift(), q.shift(), q.shift()], [3, 4, 5, undefined]);
  const big = new BoundedQueue<number>(100_000);
  for (let i = 0; i < 150_000; i++) big.push(i);
  assert.equal(big.length, 100_000);
  assert.equal(big.shift(), 50_000);
});
