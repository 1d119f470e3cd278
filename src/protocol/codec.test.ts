import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeEnvelope, decodeJoinRequest, decodeJoinResponse, decodeJoinToken, encodeEnvelope, encodeJoinToken, envelope, ProtocolError } from './codec.ts';
import { MAX_FRAME_BYTES, PROTOCOL_VERSION, type Envelope } from './envelope.ts';

const HEADER = { id: 'm-1', timestamp: 1_722_930_000_000 };
const POD = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'default', uid: 'u-1', resourceVersion: '7' }, spec: { containers: [] } };

/** A valid frame of each operation, as the other side would write it. */
const VALID: Record<string, Record<string, unknown>> = {
  upsert: { v: 1, header: { ...HEADER, resourceVersion: '7' }, route: { source: 'cloud', group: 'resource', operation: 'upsert', resource: { kind: 'pods', namespace: 'default', name: 'p', uid: 'u-1' } }, content: POD },
  delete: { v: 1, header: HEADER, route: { source: 'cloud', group: 'resource', operation: 'delete', resource: { kind: 'pods', namespace: 'default', name: 'p' } }, content: { uid: 'u-1' } },
  inventory: { v: 1, header: HEADER, route: { source: 'edge', group: 'hub', operation: 'inventory' }, content: { items: [{ kind: 'pods', namespace: 'default', name: 'p', uid: 'u-1', resourceVersion: '7' }, { kind: 'nodes', name: 'n', uid: 'u-2', resourceVersion: '3' }] } },
  synced: { v: 1, header: HEADER, route: { source: 'cloud', group: 'hub', operation: 'synced' }, content: { revision: '42' } },
  status: { v: 1, header: HEADER, route: { source: 'edge', group: 'resource', operation: 'status', resource: { kind: 'pods', namespace: 'default', name: 'p' } }, content: { status: { phase: 'Running' } } },
  lease: { v: 1, header: HEADER, route: { source: 'edge', group: 'hub', operation: 'lease' }, content: { renewTime: '2026-01-01T00:00:00.000000Z', leaseDurationSeconds: 40 } },
  event: { v: 1, header: HEADER, route: { source: 'edge', group: 'resource', operation: 'event', resource: { kind: 'events', namespace: 'default', name: 'p.1' } }, content: { metadata: { name: 'p.1' }, reason: 'Started' } },
  csr: { v: 1, header: HEADER, route: { source: 'edge', group: 'hub', operation: 'csr' }, content: { csr: '-----BEGIN CERTIFICATE REQUEST-----' } },
  ack: { v: 1, header: { ...HEADER, parentId: 'm-0' }, route: { source: 'edge', group: 'resource', operation: 'ack' }, content: null },
  response: { v: 1, header: { ...HEADER, parentId: 'm-0' }, route: { source: 'cloud', group: 'hub', operation: 'response' }, content: { certificate: 'x' } },
  error: { v: 1, header: { ...HEADER, parentId: 'm-0' }, route: { source: 'cloud', group: 'hub', operation: 'error' }, content: { code: 'HUB_FORBIDDEN', message: 'no' } },
  keepalive: { v: 1, header: HEADER, route: { source: 'edge', group: 'hub', operation: 'keepalive' }, content: null },
};

/** `base` with the value at `path` replaced (undefined deletes it). */
function with_(base: Record<string, unknown>, path: string, value: unknown): string {
  const copy = structuredClone(base);
  const keys = path.split('.');
  let at: Record<string, unknown> = copy;
  for (const k of keys.slice(0, -1)) at = at[k] as Record<string, unknown>;
  const last = keys.at(-1)!;
  if (value === undefined) delete at[last];
  else at[last] = value;
  return JSON.stringify(copy);
}

function rejects(frame: string | Buffer, code: ProtocolError['code']): void {
  assert.throws(
    () => decodeEnvelope(frame),
    (err: unknown) => {
      assert.ok(err instanceof ProtocolError, `expected a ProtocolError, got ${String(err)}`);
      assert.equal(err.code, code);
      return true;
    },
  );
}

test('every valid operation decodes to what was sent', () => {
  for (const [op, frame] of Object.entries(VALID)) {
    const env = decodeEnvelope(JSON.stringify(frame));
    assert.equal(env.route.operation, op);
    assert.deepEqual(JSON.parse(encodeEnvelope(env)), frame, op);
  }
});

test('decodes from a Buffer as from a string', () => {
  const env = decodeEnvelope(Buffer.from(JSON.stringify(VALID['upsert'])));
  assert.equal(env.route.operation, 'upsert');
});

test('envelope() builds frames the codec accepts, with fresh ids', () => {
  const a = envelope('edge', 'resource', 'ack', null, { parentId: 'x' });
  const b = envelope('cloud', 'resource', 'upsert', POD, { resource: { kind: 'pods', namespace: 'default', name: 'p', uid: 'u-1' }, resourceVersion: '7' });
  assert.notEqual(a.header.id, b.header.id);
  assert.deepEqual(decodeEnvelope(encodeEnvelope(a)), a);
  assert.deepEqual(decodeEnvelope(encodeEnvelope(b)), b);
  assert.equal(b.v, PROTOCOL_VERSION);
});

test('frames over the size limit are refused before parsing', () => {
  rejects('x'.repeat(MAX_FRAME_BYTES + 1), 'PROTOCOL_FRAME_TOO_LARGE');
  rejects(Buffer.alloc(MAX_FRAME_BYTES + 1, 0x20), 'PROTOCOL_FRAME_TOO_LARGE');
  // Multi-byte characters count in bytes, not in characters.
  rejects('é'.repeat(MAX_FRAME_BYTES / 2 + 1), 'PROTOCOL_FRAME_TOO_LARGE');
});

test('other envelope versions are refused as unsupported', () => {
  for (const v of [2, 0, '1', null, undefined]) rejects(with_(VALID['ack']!, 'v', v), 'PROTOCOL_UNSUPPORTED_VERSION');
});

// Each case names one way a frame can be wrong; all are PROTOCOL_MALFORMED.
const MALFORMED: [string, string | Buffer][] = [
  ['not JSON', '{"v":1,'],
  ['empty frame', ''],
  ['binary garbage', Buffer.from([0xff, 0xfe, 0x00, 0x01])],
  ['JSON array', '[1,2]'],
  ['JSON string', '"hello"'],
  ['JSON null', 'null'],
  ['header missing', with_(VALID['ack']!, 'header', undefined)],
  ['header not an object', with_(VALID['ack']!, 'header', 'h')],
  ['header.id missing', with_(VALID['keepalive']!, 'header.id', undefined)],
  ['header.id empty', with_(VALID['keepalive']!, 'header.id', '')],
  ['header.id too long', with_(VALID['keepalive']!, 'header.id', 'x'.repeat(65))],
  ['header.id a number', with_(VALID['keepalive']!, 'header.id', 5)],
  ['header.timestamp missing', with_(VALID['keepalive']!, 'header.timestamp', undefined)],
  ['header.timestamp a string', with_(VALID['keepalive']!, 'header.timestamp', '1')],
  ['header.parentId not a string', with_(VALID['ack']!, 'header.parentId', 3)],
  ['header.resourceVersion too long', with_(VALID['upsert']!, 'header.resourceVersion', '1'.repeat(33))],
  ['route missing', with_(VALID['ack']!, 'route', undefined)],
  ['route not an object', with_(VALID['ack']!, 'route', [])],
  ['route.source unknown', with_(VALID['ack']!, 'route.source', 'mars')],
  ['route.group unknown', with_(VALID['ack']!, 'route.group', 'bus')],
  ['route.operation unknown', with_(VALID['ack']!, 'route.operation', 'insert')],
  ['route.operation missing', with_(VALID['ack']!, 'route.operation', undefined)],
  ['ack without parentId', with_(VALID['ack']!, 'header.parentId', undefined)],
  ['response without parentId', with_(VALID['response']!, 'header.parentId', undefined)],
  ['error without parentId', with_(VALID['error']!, 'header.parentId', undefined)],
  ['route.resource not an object', with_(VALID['upsert']!, 'route.resource', 'pods/p')],
  ['route.resource.kind unknown', with_(VALID['upsert']!, 'route.resource.kind', 'deployments')],
  ['route.resource.name missing', with_(VALID['upsert']!, 'route.resource.name', undefined)],
  ['route.resource.namespace too long', with_(VALID['upsert']!, 'route.resource.namespace', 'n'.repeat(64))],
  ['route.resource.uid not a string', with_(VALID['upsert']!, 'route.resource.uid', 1)],
  ['upsert without resource', with_(VALID['upsert']!, 'route.resource', undefined)],
  ['upsert content not an object', with_(VALID['upsert']!, 'content', 'pod')],
  ['upsert content without metadata', with_(VALID['upsert']!, 'content', { kind: 'Pod' })],
  ['event without resource', with_(VALID['event']!, 'route.resource', undefined)],
  ['event content without metadata', with_(VALID['event']!, 'content', { reason: 'x' })],
  ['delete without resource', with_(VALID['delete']!, 'route.resource', undefined)],
  ['delete content not an object', with_(VALID['delete']!, 'content', null)],
  ['delete content without uid', with_(VALID['delete']!, 'content', {})],
  ['inventory content without items', with_(VALID['inventory']!, 'content', {})],
  ['inventory items not a list', with_(VALID['inventory']!, 'content.items', { a: 1 })],
  ['inventory item not an object', with_(VALID['inventory']!, 'content.items', [1])],
  ['inventory item of unknown kind', with_(VALID['inventory']!, 'content.items', [{ kind: 'events', name: 'e', uid: 'u', resourceVersion: '1' }])],
  ['inventory item without uid', with_(VALID['inventory']!, 'content.items', [{ kind: 'pods', namespace: 'd', name: 'p', resourceVersion: '1' }])],
  ['inventory item without resourceVersion', with_(VALID['inventory']!, 'content.items', [{ kind: 'pods', namespace: 'd', name: 'p', uid: 'u' }])],
  ['inventory item without name', with_(VALID['inventory']!, 'content.items', [{ kind: 'pods', namespace: 'd', uid: 'u', resourceVersion: '1' }])],
  ['inventory over 200,000 items', JSON.stringify({ ...VALID['inventory'], content: { items: Array.from({ length: 200_001 }, () => 0) } })],
  ['synced content without revision', with_(VALID['synced']!, 'content', {})],
  ['synced content not an object', with_(VALID['synced']!, 'content', 42)],
  ['status without resource', with_(VALID['status']!, 'route.resource', undefined)],
  ['status for a kind without status', with_(VALID['status']!, 'route.resource.kind', 'configmaps')],
  ['status content without status', with_(VALID['status']!, 'content', { phase: 'Running' })],
  ['status content status not an object', with_(VALID['status']!, 'content', { status: 'Running' })],
  ['lease content not an object', with_(VALID['lease']!, 'content', null)],
  ['lease without renewTime', with_(VALID['lease']!, 'content.renewTime', undefined)],
  ['lease duration zero', with_(VALID['lease']!, 'content.leaseDurationSeconds', 0)],
  ['lease duration fractional', with_(VALID['lease']!, 'content.leaseDurationSeconds', 1.5)],
  ['lease duration over an hour', with_(VALID['lease']!, 'content.leaseDurationSeconds', 3601)],
  ['csr content not an object', with_(VALID['csr']!, 'content', 'pem')],
  ['csr content without csr', with_(VALID['csr']!, 'content', {})],
  ['csr over 16 KiB', with_(VALID['csr']!, 'content.csr', 'x'.repeat(16_385))],
  ['ack with content', with_(VALID['ack']!, 'content', 'OK')],
  ['keepalive with content', with_(VALID['keepalive']!, 'content', 'ping')],
  ['response content not an object', with_(VALID['response']!, 'content', 'OK')],
  ['error content not an object', with_(VALID['error']!, 'content', 'boom')],
  ['error content without code', with_(VALID['error']!, 'content', { message: 'm' })],
  ['error content without message', with_(VALID['error']!, 'content', { code: 'X' })],
];

for (const [name, frame] of MALFORMED) {
  test(`malformed: ${name} → PROTOCOL_MALFORMED`, () => rejects(frame, 'PROTOCOL_MALFORMED'));
}

test('malformed frames keep the JSON parse error as cause', () => {
  try {
    decodeEnvelope('{');
    assert.fail('expected a throw');
  } catch (err) {
    assert.ok(err instanceof ProtocolError);
    assert.ok(err.cause instanceof SyntaxError);
  }
});

test('unknown top-level and route fields are dropped, not passed on', () => {
  const env = decodeEnvelope(JSON.stringify({ ...VALID['keepalive'], extra: 1, route: { ...VALID['keepalive']!['route'] as object, destination: 'x' } })) as Envelope & Record<string, unknown>;
  assert.equal(env['extra'], undefined);
  assert.equal((env.route as unknown as Record<string, unknown>)['destination'], undefined);
});

test('join tokens: round trip, and anything else is not a token', () => {
  const token = { caDigest: 'a'.repeat(64), id: 'abc123', secret: '0123456789abcdef' };
  assert.deepEqual(decodeJoinToken(encodeJoinToken(token)), token);
  assert.deepEqual(decodeJoinToken(` ${encodeJoinToken(token)}\n`), token);
  for (const bad of ['', 'abc', `${'a'.repeat(64)}.abc123`, `${'a'.repeat(63)}.abc123.0123456789abcdef`, `${'A'.repeat(64)}.abc123.0123456789abcdef`, `${'a'.repeat(64)}.ABC123.0123456789abcdef`, `${'a'.repeat(64)}.abc12.0123456789abcdef`, `${'a'.repeat(64)}.abc123.0123456789abcde`, `${'a'.repeat(64)}.abc123.0123456789abcdef.x`]) {
    assert.equal(decodeJoinToken(bad), undefined, bad);
  }
});

test('join requests: valid, and each malformed field refused', () => {
  const ok = { token: 't', nodeName: 'edge-1.example', csr: 'pem' };
  assert.deepEqual(decodeJoinRequest({ ...ok, extra: 1 }), ok);
  for (const bad of [null, [], 'x', { ...ok, token: 1 }, { ...ok, token: '' }, { ...ok, nodeName: 'Edge_1' }, { ...ok, nodeName: 'a'.repeat(254) }, { ...ok, nodeName: undefined }, { ...ok, csr: 'x'.repeat(16_385) }]) {
    assert.throws(() => decodeJoinRequest(bad), (err: unknown) => err instanceof ProtocolError && err.code === 'PROTOCOL_MALFORMED', JSON.stringify(bad));
  }
});

test('join responses: valid, and each malformed field refused', () => {
  const ok = { nodeName: 'n', certificate: 'c', caCertificate: 'ca', hub: { host: '10.0.0.1', port: 10000 } };
  assert.deepEqual(decodeJoinResponse(ok), ok);
  for (const bad of [null, { ...ok, hub: undefined }, { ...ok, hub: { host: 'h', port: 0 } }, { ...ok, hub: { host: 'h', port: 70000 } }, { ...ok, hub: { host: '', port: 1 } }, { ...ok, certificate: 1 }]) {
    assert.throws(() => decodeJoinResponse(bad), (err: unknown) => err instanceof ProtocolError && err.code === 'PROTOCOL_MALFORMED', JSON.stringify(bad));
  }
});
