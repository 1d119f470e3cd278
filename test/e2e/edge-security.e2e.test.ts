// Issue 3, the channel's guarantees: a node certificate cannot read another node's objects (through
// the API or the hub), and garbage, malformed and oversized frames on the hub port neither crash the
// cloud nor disturb the edges connected to it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect as netConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import WebSocket from 'ws';
import { decodeEnvelope, encodeEnvelope, envelope } from '../../src/protocol/codec.ts';
import { HUB_PATH, type Contents, type Envelope } from '../../src/protocol/envelope.ts';
import type { ClientIdentity } from './harness/https.ts';
import { probeReadyz } from './harness/https.ts';
import { eventually } from './harness/wait.ts';
import { createToken, KedgeEdge, useEdgeCloud } from './harness/edge.ts';

const c = await useEdgeCloud();
const NS = 'edge-security';
const token = await createToken(c);
const edgeA = await KedgeEdge.join(c, { nodeName: 'sec-a', token });
const edgeB = await KedgeEdge.join(c, { nodeName: 'sec-b', token });

const pod = (name: string, node: string, configMap: string): unknown => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: NS },
  spec: { nodeName: node, containers: [{ name: 'c', image: 'busybox', envFrom: [{ configMapRef: { name: configMap } }] }] },
});
const model = (name: string): unknown => ({
  apiVersion: 'devices.kubeedge.io/v1beta1',
  kind: 'DeviceModel',
  metadata: { name, namespace: NS },
  spec: { protocol: 'virtual', properties: [{ name: 'temperature', type: 'DOUBLE', accessMode: 'ReadOnly' }] },
});
const device = (name: string, node: string, modelName: string): unknown => ({
  apiVersion: 'devices.kubeedge.io/v1beta1',
  kind: 'Device',
  metadata: { name, namespace: NS },
  spec: { deviceModelRef: { name: modelName }, nodeName: node, protocol: { protocolName: 'virtual', configData: {} }, properties: [{ name: 'temperature', visitors: { protocolName: 'virtual', configData: {} } }] },
});
await c.cloud.kubectlOk('1.33', ['apply', '-f', '-'], {
  stdin: JSON.stringify({
    apiVersion: 'v1',
    kind: 'List',
    items: [
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } },
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm-a', namespace: NS }, data: { owner: 'a' } },
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm-b', namespace: NS }, data: { owner: 'b' } },
      pod('pod-a', 'sec-a', 'cm-a'),
      pod('pod-b', 'sec-b', 'cm-b'),
      model('model-a'),
      model('model-b'),
      device('dev-a', 'sec-a', 'model-a'),
      device('dev-b', 'sec-b', 'model-b'),
    ],
  }),
});
await eventually(() => assert.ok(edgeA.stored().has(`pods/${NS}/pod-a`) && edgeB.stored().has(`pods/${NS}/pod-b`)), { timeoutMs: 15_000, what: 'each pod on its edge' });

/** A raw hub client: a WebSocket with a node certificate, decoding what the hub sends. */
async function hubClient(identity: ClientIdentity): Promise<{ ws: WebSocket; received: Envelope[]; closed: Promise<number>; next(match: (e: Envelope) => boolean): Promise<Envelope> }> {
  const ws = new WebSocket(`wss://127.0.0.1:${c.hubPort}${HUB_PATH}`, { cert: identity.certPem, key: identity.keyPem, ca: c.cloud.credentials.caPem, perMessageDeflate: false });
  const received: Envelope[] = [];
  const waiters: { match: (e: Envelope) => boolean; resolve: (e: Envelope) => void }[] = [];
  ws.on('message', (data: Buffer) => {
    const env = decodeEnvelope(data);
    received.push(env);
    for (const w of waiters.filter((x) => x.match(env))) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve(env);
    }
  });
  const closed = new Promise<number>((resolve) => ws.once('close', (code: number) => resolve(code)));
  await once(ws, 'open');
  return {
    ws,
    received,
    closed,
    next: (match) => {
      const seen = received.find(match);
      return seen !== undefined ? Promise.resolve(seen) : new Promise((resolve) => waiters.push({ match, resolve }));
    },
  };
}

test('E2E_EDGE_SECURITY_1: a node certificate used to read another node\'s objects is refused', async () => {
  const a = await edgeA.identity();
  const get = (path: string) => c.cloud.request({ path, identity: a });
  assert.equal((await get(`/api/v1/namespaces/${NS}/pods/pod-a`)).status, 200, 'its own pod');
  assert.equal((await get(`/api/v1/namespaces/${NS}/configmaps/cm-a`)).status, 200, 'a ConfigMap its pod uses');
  const devices = `/apis/devices.kubeedge.io/v1beta1/namespaces/${NS}`;
  assert.equal((await get(`${devices}/devices/dev-a`)).status, 200, 'a Device behind it');
  assert.equal((await get(`${devices}/devicemodels/model-a`)).status, 200, 'the model of a Device behind it');
  for (const path of [`/api/v1/namespaces/${NS}/pods/pod-b`, `/api/v1/namespaces/${NS}/configmaps/cm-b`, `/api/v1/namespaces/${NS}/pods`, '/api/v1/pods', `${devices}/devices/dev-b`, `${devices}/devicemodels/model-b`]) {
    const r = await get(path);
    assert.equal(r.status, 403, `${path} as sec-a answered ${r.status}`);
    assert.equal(r.json()['reason'], 'Forbidden');
  }
  // Through the hub, each edge holds only what belongs to it.
  assert.equal(edgeA.stored().has(`pods/${NS}/pod-b`), false);
  assert.equal(edgeA.stored().has(`configmaps/${NS}/cm-b`), false);
  assert.equal(edgeB.stored().has(`pods/${NS}/pod-a`), false);

  // A third node's session may neither receive nor write sec-b's objects.
  const client = await hubClient(await c.cloud.nodeIdentity('sec-c'));
  try {
    const inventory = envelope('edge', 'hub', 'inventory', { items: [] });
    client.ws.send(encodeEnvelope(inventory));
    await client.next((e) => e.header.parentId === inventory.header.id);
    assert.deepEqual(
      client.received.filter((e) => e.route.operation === 'upsert').map((e) => e.route.resource?.name),
      [],
    );
    const status = envelope('edge', 'resource', 'status', { status: { phase: 'Failed' } }, { resource: { kind: 'pods', namespace: NS, name: 'pod-b' } });
    client.ws.send(encodeEnvelope(status));
    const reply = await client.next((e) => e.header.parentId === status.header.id);
    assert.equal(reply.route.operation, 'error');
    assert.equal((reply.content as Contents['error']).code, 'HUB_FORBIDDEN');
  } finally {
    client.ws.close();
  }
  const podB = JSON.parse(await c.cloud.kubectlOk('1.33', ['get', 'pod', 'pod-b', '-n', NS, '-o', 'json'])) as { status?: { phase?: string } };
  assert.notEqual(podB.status?.phase, 'Failed');
});

test('E2E_EDGE_SECURITY_2: garbage and oversized frames on the hub port do not crash the cloud', async () => {
  // Not TLS at all.
  const raw = netConnect(c.hubPort, '127.0.0.1');
  await once(raw, 'connect');
  raw.on('error', () => undefined);
  raw.resume();
  const rawClosed = once(raw, 'close');
  raw.end(Buffer.from('\x16\x03\x01garbage that is not a TLS hello\r\n\r\n'));
  await rawClosed;

  // TLS without a client certificate: the handshake is refused.
  const anonymous = tlsConnect({ host: '127.0.0.1', port: c.hubPort, ca: c.cloud.credentials.caPem, servername: 'localhost' });
  const refused = new Promise<string>((resolve) => {
    anonymous.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    anonymous.on('close', () => resolve('closed'));
  });
  anonymous.resume();
  anonymous.write('GET / HTTP/1.1\r\n\r\n');
  assert.match(await refused, /CERTIFICATE_REQUIRED|closed|ECONNRESET/);

  const client = await hubClient(await c.cloud.nodeIdentity('sec-garbage'));
  const errors = (): number => client.received.filter((e) => e.route.operation === 'error').length;
  client.ws.send('this is not JSON');
  client.ws.send(Buffer.from([0, 1, 2, 3, 255]), { binary: true });
  client.ws.send(JSON.stringify({ v: 99, header: { id: 'x', timestamp: 1 }, route: { source: 'edge', group: 'hub', operation: 'keepalive' } }));
  client.ws.send(JSON.stringify({ v: 1, header: { id: 'y', timestamp: 1 }, route: { source: 'edge', group: 'resource', operation: 'nonsense' } }));
  await eventually(() => assert.equal(errors(), 4), { timeoutMs: 5000, what: 'an error reply to each malformed frame' });
  // Over the 4 MiB frame limit: the hub drops the connection instead of buffering it.
  client.ws.send('x'.repeat(5 * 1024 * 1024));
  const code = await client.closed;
  assert.ok(code === 1009 || code === 1006, `closed with ${code}`);

  // A peer that keeps sending garbage is cut off.
  const noisy = await hubClient(await c.cloud.nodeIdentity('sec-noisy'));
  for (let i = 0; i < 30; i++) noisy.ws.send(`garbage ${i}`);
  assert.equal(await noisy.closed, 4002);

  assert.equal(c.cloud.running, true, 'the cloud is still running');
  assert.equal((await probeReadyz(c.cloud.port)).status, 200);
  // The real edges did not notice.
  await c.cloud.kubectlOk('1.33', ['apply', '-f', '-'], { stdin: JSON.stringify(pod('pod-a2', 'sec-a', 'cm-a')) });
  await eventually(() => assert.ok(edgeA.stored().has(`pods/${NS}/pod-a2`)), { timeoutMs: 10_000, what: 'a new pod on sec-a' });
  assert.equal(edgeA.syncs.length, 1, 'sec-a never had to reconnect');
  assert.equal(edgeB.syncs.length, 1, 'sec-b never had to reconnect');
});
