import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bytes, join, message, packed, string, varint, varintBytes } from '../../../api/protobuf/test-encoder.ts';
import { containerdSchema } from './containerd-messages.ts';
import { criMessage, criSchema } from './cri-messages.ts';
import { camelCase, decodeMessage, defineSchema, encodeMessage, encodeMessageChunks, ProtobufWireError, type MessageType } from './protobuf.ts';
import { normalized, randomValue, rng } from './protobuf-testing.ts';

const TEST = defineSchema({
  't.v1': {
    enums: { Color: 'RED = 0; GREEN = 1; BLUE = 2' },
    messages: {
      Inner: 'string name = 1; int64 n = 2; repeated string tags = 3',
      Outer: `
        string id = 1; Inner inner = 2; repeated Inner items = 3; map<string, string> labels = 4;
        repeated int64 numbers = 5; Color color = 6; bytes data = 7; bool flag = 8; int32 small = 9;
        uint32 attempt = 10; uint64 size = 11; repeated Color colors = 12; map<string, Inner> byName = 13`,
    },
  },
});
const OUTER = TEST.messages.get('t.v1.Outer')!;
const INNER = TEST.messages.get('t.v1.Inner')!;

function rejectsWire(fn: () => unknown, pattern: RegExp, what = ''): void {
  assert.throws(fn, (err: unknown) => err instanceof ProtobufWireError && pattern.test(err.message), `expected a ProtobufWireError matching ${String(pattern)} ${what}`);
}

describe('schema tables', () => {
  it('read like the .proto: camelCase names, labels, resolved types, services with paths', () => {
    const byName = new Map(OUTER.fields.map((f) => [f.name, f]));
    assert.equal(byName.get('labels')?.label, 'map');
    assert.equal(byName.get('items')?.label, 'repeated');
    assert.equal(byName.get('items')?.type, INNER);
    assert.equal(camelCase('runtime_api_version'), 'runtimeApiVersion');
    assert.equal(camelCase('additional_ips'), 'additionalIps');
    const version = criSchema().services.get('runtime.v1.RuntimeService')?.methods.get('Version');
    assert.equal(version?.path, '/runtime.v1.RuntimeService/Version');
    assert.equal(version?.request.name, 'runtime.v1.VersionRequest');
    const write = containerdSchema().services.get('containerd.services.content.v1.Content')?.methods.get('Write');
    assert.deepEqual([write?.clientStreaming, write?.serverStreaming], [true, true]);
  });

  it('refuse malformed tables', () => {
    assert.throws(() => defineSchema({ p: { messages: { M: 'string a 1' } } }), /cannot read field/);
    assert.throws(() => defineSchema({ p: { messages: { M: 'Nope a = 1' } } }), /unknown type Nope/);
    assert.throws(() => defineSchema({ p: { messages: { M: 'string a = 1; string b = 1' } } }), /used twice/);
    assert.throws(() => defineSchema({ p: { messages: { M: 'string a = 0' } } }), /out of range/);
    assert.throws(() => defineSchema({ p: { enums: { E: 'A = 1' } } }), /zero value/);
    assert.throws(() => defineSchema({ p: { enums: { E: 'A = 0' }, services: { S: 'Call(E) E' } } }), /not a message/);
  });
});

describe('round trips', () => {
  for (const [label, schema] of [
    ['CRI', criSchema()],
    ['containerd', containerdSchema()],
  ] as const) {
    it(`every ${label} message type, with random values, decodes to what was encoded`, () => {
      const r = rng(label.length);
      for (const type of schema.messages.values()) {
        for (let i = 0; i < 20; i++) {
          const value = randomValue(type, r);
          assert.deepEqual(decodeMessage(type, encodeMessage(type, value)), normalized(type, value), `${type.name} #${i}`);
        }
      }
    });
  }

  it('an empty message decodes with every field at its zero value', () => {
    assert.deepEqual(decodeMessage(OUTER, new Uint8Array(0)), {
      id: '',
      inner: null,
      items: [],
      labels: {},
      numbers: [],
      color: 'RED',
      data: Buffer.alloc(0),
      flag: false,
      small: 0,
      attempt: 0,
      size: 0,
      colors: [],
      byName: {},
    });
  });

  it('integers: negatives take ten bytes, int64 keeps 2^53, uint32 and uint64 stay unsigned', () => {
    const bytes = encodeMessage(OUTER, { small: -1, numbers: [-1] });
    assert.equal(bytes.length, 1 + 10 + 1 + 1 + 10, 'a sign-extended int32 and a packed -1');
    const d = decodeMessage(OUTER, encodeMessage(OUTER, { small: -(2 ** 31), numbers: [Number.MAX_SAFE_INTEGER, -(2 ** 50), 2 ** 32 + 1], attempt: 2 ** 32 - 1, size: 2 ** 40 }));
    assert.deepEqual([d['small'], d['numbers'], d['attempt'], d['size']], [-(2 ** 31), [Number.MAX_SAFE_INTEGER, -(2 ** 50), 2 ** 32 + 1], 2 ** 32 - 1, 2 ** 40]);
    // Go's int64 nanoseconds: 2026-01-01T00:00:00.123456789Z is past 2^60.
    const ns = 1_767_225_600_123_456_789n;
    const status = decodeMessage(criMessage('runtime.v1.ContainerStatus'), join(varint(5, ns)));
    assert.equal(status['startedAt'], Number(ns));
    assert.equal(Math.floor(Number(status['startedAt']) / 1e6), 1_767_225_600_123);
  });

  it('repeated numbers are read packed and unpacked; enums as names, unknown numbers as numbers', () => {
    const d = decodeMessage(OUTER, join(packed(5, [1, 300]), varint(5, 7), varint(12, 2), packed(12, [1, 9]), varint(6, 42)));
    assert.deepEqual(d['numbers'], [1, 300, 7]);
    assert.deepEqual(d['colors'], ['BLUE', 'GREEN', 9]);
    assert.equal(d['color'], 42);
  });

  it('skips unknown fields of every wire type, and known fields with a wire type they cannot have', () => {
    const unknown = join(varint(99, 1), bytes(100, Uint8Array.of(1, 2)), Uint8Array.of((101 << 3) | 1, 0, 0, 0, 0, 0, 0, 0, 0), Uint8Array.of((102 << 3) | 5, 0, 0, 0, 0));
    const d = decodeMessage(OUTER, join(unknown, string(1, 'x'), varint(2, 5), varint(8, 1)));
    assert.equal(d['id'], 'x');
    assert.equal(d['inner'], null, 'a varint where a message belongs is skipped');
    assert.equal(d['flag'], true);
  });

  it('a message that appears twice is merged; a scalar that appears twice takes the last value', () => {
    const d = decodeMessage(OUTER, join(message(2, string(1, 'a'), string(3, 't1')), message(2, varint(2, 9), string(3, 't2')), string(1, 'first'), string(1, 'last')));
    assert.deepEqual(d['inner'], { name: 'a', n: 9, tags: ['t1', 't2'] });
    assert.equal(d['id'], 'last');
  });

  it('map entries: the last value of a key wins; an absent key or value is its zero value', () => {
    const d = decodeMessage(OUTER, join(message(4, string(1, 'k'), string(2, 'v1')), message(4, string(1, 'k'), string(2, 'v2')), message(4, string(2, 'no key')), message(4, string(1, 'no value')), message(13, string(1, 'm'))));
    assert.deepEqual(d['labels'], { k: 'v2', '': 'no key', 'no value': '' });
    assert.deepEqual(d['byName'], { m: { name: '', n: 0, tags: [] } });
  });

  it('writes nothing for zero values and absent fields but keeps present empty messages and list elements', () => {
    assert.equal(encodeMessage(OUTER, { id: '', flag: false, small: 0, color: 'RED', data: Buffer.alloc(0), inner: undefined, items: null, labels: {} }).length, 0);
    assert.deepEqual([...encodeMessage(OUTER, { inner: {} })], [0x12, 0]);
    assert.deepEqual(decodeMessage(OUTER, encodeMessage(OUTER, { items: [{}, { name: '' }], colors: ['RED', 'RED'] })), normalized(OUTER, { items: [{}, {}], colors: ['RED', 'RED'] }));
  });

  it('converts as protobufjs did (strings, truncated numbers, enum numbers) and ignores undeclared properties', () => {
    const d = decodeMessage(OUTER, encodeMessage(OUTER, { id: 42, small: 3.9, color: 1, size: '12', extra: { whatever: true } }));
    assert.deepEqual([d['id'], d['small'], d['color'], d['size']], ['42', 3, 'GREEN', 12]);
  });

  it('refuses values that do not fit their field with a TypeError naming it', () => {
    assert.throws(() => encodeMessage(OUTER, { color: 'PURPLE' }), { name: 'TypeError', message: /t\.v1\.Outer\.color: "PURPLE" is not a value of t\.v1\.Color/ });
    assert.throws(() => encodeMessage(OUTER, { items: {} }), { name: 'TypeError', message: /items: expected an array/ });
    assert.throws(() => encodeMessage(OUTER, { inner: 'x' }), { name: 'TypeError', message: /inner: expected an object/ });
    assert.throws(() => encodeMessage(OUTER, { small: NaN }), { name: 'TypeError', message: /small: NaN is not a number/ });
    assert.throws(() => encodeMessage(OUTER, { data: 'abc' }), { name: 'TypeError', message: /data: expected a Buffer/ });
    assert.throws(() => encodeMessage(OUTER, { labels: [] }), { name: 'TypeError', message: /labels: expected an object/ });
  });

  it('copies bytes fields out of the frame when decoding, and passes large ones on without copying when encoding', () => {
    const frame = encodeMessage(OUTER, { data: Buffer.alloc(100_000, 7) });
    const d = decodeMessage(OUTER, frame);
    frame.fill(0);
    assert.equal((d['data'] as Buffer)[0], 7);
    assert.equal((d['data'] as Buffer).buffer === frame.buffer, false);
    const data = Buffer.alloc(1024 * 1024, 1);
    const { chunks, length } = encodeMessageChunks(OUTER, { id: 'x', data, flag: true });
    assert.ok(chunks.includes(data), 'the 1 MiB payload is passed on, not copied');
    assert.equal(length, data.length + 3 + 4 + 2);
    assert.deepEqual(Buffer.concat(chunks), encodeMessage(OUTER, { id: 'x', data, flag: true }));
  });
});

describe('malformed input', () => {
  const type: MessageType = OUTER;

  it('throws a ProtobufWireError naming the message, never reads past the end', () => {
    rejectsWire(() => decodeMessage(type, Uint8Array.of(0x08, 0x80)), /malformed t\.v1\.Outer: truncated varint/);
    rejectsWire(() => decodeMessage(type, Uint8Array.of(0x0a, 0x05, 0x61)), /runs past the end/);
    rejectsWire(() => decodeMessage(type, join(Uint8Array.of(0x0a), varintBytes(2 ** 40))), /runs past the end/);
    rejectsWire(() => decodeMessage(type, Uint8Array.of(0x12, 0x02, 0x0a, 0x05)), /runs past the end/, 'inside a nested message');
    rejectsWire(() => decodeMessage(type, Uint8Array.of(0x2a, 0x02, 0x80, 0x80)), /truncated varint/, 'inside a packed list');
    rejectsWire(() => decodeMessage(type, Uint8Array.of(0x0b)), /unsupported wire type 3/, 'groups');
    rejectsWire(() => decodeMessage(type, Uint8Array.of(0x00)), /invalid field number 0/);
    rejectsWire(() => decodeMessage(type, Uint8Array.of(0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01)), /varint/);
    rejectsWire(() => decodeMessage(type, Uint8Array.of(0x0d, 1, 2)), /truncated 32-bit/);
    rejectsWire(() => decodeMessage(type, Uint8Array.of(0x22, 0x03, 0x0a, 0x09, 0x41)), /runs past the end/, 'inside a map entry');
  });

  it('random bytes decode or throw a ProtobufWireError, quickly', () => {
    const r = rng(7);
    const started = performance.now();
    for (let i = 0; i < 5_000; i++) {
      const input = Uint8Array.from({ length: Math.floor(r() * 64) }, () => Math.floor(r() * 256));
      try {
        decodeMessage(type, input);
      } catch (err) {
        assert.ok(err instanceof ProtobufWireError, String(err));
      }
    }
    // Mutated valid messages reach deeper into the decoder than noise.
    const valid = encodeMessage(criMessage('runtime.v1.ContainerStatusResponse'), randomValue(criMessage('runtime.v1.ContainerStatusResponse'), rng(3)));
    for (let i = 0; i < 5_000; i++) {
      const input = Uint8Array.from(valid);
      for (let j = 0; j < 3; j++) input[Math.floor(r() * input.length)] = Math.floor(r() * 256);
      try {
        decodeMessage(criMessage('runtime.v1.ContainerStatusResponse'), input.subarray(0, Math.floor(r() * input.length) + 1));
      } catch (err) {
        assert.ok(err instanceof ProtobufWireError, String(err));
      }
    }
    assert.ok(performance.now() - started < 10_000);
  });
});
