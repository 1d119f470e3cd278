import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../api/object.ts';
import { hasCode } from '../../errors/platform-error.ts';
import { silentLogger } from '../../log/logger.ts';
import { HUB_CLOSE_REPLACED, type Contents } from '../../protocol/envelope.ts';
import { openEdgeDatabase } from '../db.ts';
import { MetaManager } from '../meta/meta-manager.ts';
import { EdgeHub, type HubTiming } from './edge-hub.ts';
import { Outbox } from './outbox.ts';
import { StatusTable } from './status-table.ts';
import { FakeHub, MemoryCredentials } from './testing.ts';
import { inspectCertificate } from '../../pki/light.ts';

function pod(name: string, rv: string, uid = `uid-${name}`): KubeObject {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default', uid, resourceVersion: rv }, spec: { nodeName: 'edge-1', containers: [{ name: 'c', image: 'busybox' }] } };
}

interface Edge {
  hub: EdgeHub;
  meta: MetaManager;
  statuses: StatusTable;
  outbox: Outbox;
  credentials: MemoryCredentials;
  abort: AbortController;
}

async function startEdge(cloud: FakeHub, t: { after(fn: () => Promise<void> | void): void }, timing: Partial<HubTiming> = {}, db = openEdgeDatabase(':memory:'), credentials?: MemoryCredentials): Promise<Edge> {
  const meta = new MetaManager({ db, log: silentLogger() });
  const statuses = new StatusTable(db);
  const outbox = new Outbox({ db, log: silentLogger() });
  const creds = credentials ?? new MemoryCredentials(await cloud.nodeTls('edge-1'));
  const hub = new EdgeHub({ nodeName: 'edge-1', hub: cloud.address, credentials: creds, sync: meta, statuses, outbox, log: silentLogger(), timing: { reconnectInitialMs: 50, reconnectUnreachableMaxMs: 200, reconnectMaxMs: 500, ...timing } });
  const abort = new AbortController();
  await hub.start(abort.signal);
  t.after(async () => {
    abort.abort();
    await hub.done.catch(() => undefined);
  });
  return { hub, meta, statuses, outbox, credentials: creds, abort };
}

async function fakeHub(t: { after(fn: () => Promise<void>): void }): Promise<FakeHub> {
  const cloud = await FakeHub.create();
  await cloud.start(0);
  t.after(() => cloud.stop());
  return cloud;
}

test('on connect the edge sends its inventory, persists the difference, acks it, and is ready at synced', async (t) => {
  const cloud = await fakeHub(t);
  cloud.put('pods', pod('a', '10'));
  cloud.put('configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg', namespace: 'default', uid: 'uid-cfg', resourceVersion: '11' }, data: { k: 'v' } });
  const acks: string[] = [];
  cloud.onMessage((_c, e) => {
    if (e.route.operation === 'ack') acks.push(e.header.parentId!);
  });
  const edge = await startEdge(cloud, t);
  await edge.hub.whenReady();
  assert.equal(edge.meta.get('pods', 'default', 'a')?.resourceVersion, '10');
  assert.deepEqual(edge.meta.get('configmaps', 'default', 'cfg')?.object['data'], { k: 'v' });
  // Both acks left before synced was handled; they reach the cloud a moment later.
  await waitFor(() => acks.length === 2);
  const sync = edge.hub.stats.lastSync!;
  assert.equal(sync.inventoryItems, 0);
  assert.equal(sync.received, 2);
  assert.equal(sync.applied, 2);
  assert.ok(sync.wireBytesIn > sync.frameBytesIn, 'wire bytes include TLS records and framing');

  // While connected, changes stream and are acknowledged.
  cloud.put('pods', pod('b', '12'));
  cloud.remove('uid-a');
  await cloud.next((e) => e.route.operation === 'ack' && acks.length >= 4);
  assert.ok(edge.meta.get('pods', 'default', 'b'));
  assert.equal(edge.meta.get('pods', 'default', 'a'), undefined);
});

test('after the cloud comes back the edge reconnects by itself and receives only the difference', async (t) => {
  const cloud = await fakeHub(t);
  for (let i = 0; i < 20; i++) cloud.put('pods', pod(`p${i}`, String(100 + i)));
  const edge = await startEdge(cloud, t);
  await edge.hub.whenReady();
  assert.equal(edge.meta.inventory().length, 20);
  const fullBytes = edge.hub.stats.lastSync!.frameBytesIn;

  await cloud.stop();
  // While the cloud is down: one changed, one deleted, one new.
  cloud.desired.set('uid-p0', { kind: 'pods', object: pod('p0', '200') });
  cloud.desired.delete('uid-p1');
  cloud.desired.set('uid-new', { kind: 'pods', object: pod('new', '201', 'uid-new') });
  const down = Date.now();
  await cloud.start();
  const ready = new Promise<void>((resolve) => {
    const off = edge.hub.onState((s) => {
      if (s === 'ready') {
        off();
        resolve();
      }
    });
  });
  await ready;
  const back = Date.now() - down;
  assert.ok(back < 2000, `in sync ${back} ms after the cloud came back`);
  const sync = edge.hub.stats.lastSync!;
  assert.equal(sync.inventoryItems, 20);
  assert.equal(sync.received, 3);
  assert.ok(sync.frameBytesIn < fullBytes / 3, `resync received ${sync.frameBytesIn} bytes, a full sync ${fullBytes}`);
  assert.equal(edge.meta.get('pods', 'default', 'p0')?.resourceVersion, '200');
  assert.equal(edge.meta.get('pods', 'default', 'p1'), undefined);
  assert.ok(edge.meta.get('pods', 'default', 'new'));
});

test('statuses go up latest-wins and are settled by acks; refused ones are dropped, "not now" ones retried', async (t) => {
  const cloud = await fakeHub(t);
  cloud.behaviour.silent = true;
  const edge = await startEdge(cloud, t, { ackTimeoutMs: 300 });
  await edge.hub.whenReady();
  edge.statuses.put({ op: 'status', kind: 'pods', namespace: 'default', name: 'a', status: { phase: 'Pending' } });
  edge.statuses.put({ op: 'status', kind: 'pods', namespace: 'default', name: 'a', status: { phase: 'Running' } });
  const first = await cloud.next((e) => e.route.operation === 'status');
  assert.deepEqual((first.content as Contents['status']).status, { phase: 'Running' }, 'only the latest status is sent');
  // Unanswered: sent again after the ack timeout.
  await cloud.next((e) => e.route.operation === 'status');
  cloud.behaviour.silent = false;
  await waitFor(() => edge.statuses.size === 0);

  cloud.behaviour.refuseWith = 'HUB_RATE_LIMITED';
  edge.statuses.put({ op: 'status', kind: 'pods', namespace: 'default', name: 'b', status: { phase: 'Running' } });
  await cloud.next((e) => e.route.operation === 'status' && e.route.resource?.name === 'b');
  await cloud.next((e) => e.route.operation === 'status' && e.route.resource?.name === 'b');
  assert.equal(edge.statuses.size, 1, 'a rate-limited status stays pending');
  cloud.behaviour.refuseWith = 'HUB_FORBIDDEN';
  await waitFor(() => edge.statuses.size === 0);
});

test('outbox messages are delivered at least once with a stable id, across a lost connection', async (t) => {
  const cloud = await fakeHub(t);
  cloud.behaviour.silent = true;
  const edge = await startEdge(cloud, t);
  await edge.hub.whenReady();
  const event: KubeObject = { apiVersion: 'v1', kind: 'Event', metadata: { name: 'e1', namespace: 'default' }, involvedObject: { kind: 'Node', name: 'edge-1' }, reason: 'Test' };
  const id = edge.outbox.enqueue('event', { kind: 'events', namespace: 'default', name: 'e1' }, event);
  const firstTry = await cloud.next((e) => e.route.operation === 'event');
  assert.equal(firstTry.header.id, id);
  // The connection drops before the ack: the message stays and goes again on the next session.
  await cloud.stop();
  cloud.behaviour.silent = false;
  await cloud.start();
  const secondTry = await cloud.next((e) => e.route.operation === 'event');
  assert.equal(secondTry.header.id, id, 'the resend carries the same id, for the cloud to de-duplicate');
  await waitFor(() => edge.outbox.size === 0);
});

test('lease renewals asked for while offline are sent once the session opens', async (t) => {
  const cloud = await FakeHub.create();
  t.after(() => cloud.stop());
  await cloud.start(0);
  const port = cloud.port;
  await cloud.stop();
  const edge = await startEdge(cloud, t);
  edge.hub.renewLease(40);
  edge.hub.renewLease(40);
  const leases: number[] = [];
  cloud.onMessage((_c, e) => {
    if (e.route.operation === 'lease') leases.push((e.content as Contents['lease']).leaseDurationSeconds);
  });
  await cloud.start(port);
  await edge.hub.whenReady();
  await waitFor(() => leases.length === 1);
  assert.deepEqual(leases, [40], 'renewals asked for offline collapse into one');
});

test('an invalid object from the cloud is refused with an error; the rest of the batch is stored', async (t) => {
  const cloud = await fakeHub(t);
  cloud.put('pods', pod('good', '1'));
  // A pod without a namespace: well-formed on the wire, but not an object the edge can store.
  cloud.put('pods', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'bad', uid: 'uid-bad', resourceVersion: '2' } });
  const errors: string[] = [];
  cloud.onMessage((_c, e) => {
    if (e.route.operation === 'error') errors.push((e.content as Contents['error']).code);
  });
  const edge = await startEdge(cloud, t);
  await edge.hub.whenReady();
  assert.ok(edge.meta.get('pods', 'default', 'good'));
  assert.equal(edge.meta.get('pods', 'default', 'bad'), undefined);
  await waitFor(() => errors.length === 1);
  assert.deepEqual(errors, ['EDGE_META_INVALID_OBJECT']);
});

test('garbage from the cloud is logged and dropped; the session goes on', async (t) => {
  const cloud = await fakeHub(t);
  const edge = await startEdge(cloud, t);
  await edge.hub.whenReady();
  cloud.sendRaw('not json');
  cloud.sendRaw(Buffer.from([1, 2, 3]));
  cloud.sendRaw(JSON.stringify({ v: 2, header: {}, route: {} }));
  cloud.put('pods', pod('after', '5'));
  await waitFor(() => edge.meta.get('pods', 'default', 'after') !== undefined);
  assert.equal(edge.hub.state, 'ready');
  assert.equal(edge.hub.stats.connects, 1);
});

test('a silent cloud is detected as dead and the edge reconnects', async (t) => {
  const cloud = await fakeHub(t);
  const edge = await startEdge(cloud, t, { keepaliveIntervalMs: 100, deadAfterMs: 400 });
  await edge.hub.whenReady();
  cloud.behaviour.deaf = true;
  // Stop reading: no pongs, no acks.
  for (const c of cloud.connections) c.ws.pause();
  await waitFor(() => cloud.connections.length >= 2, 5000);
  cloud.behaviour.deaf = false;
  cloud.connections.at(-1)!.ws.resume();
  await edge.hub.whenReady();
});

test('a stall of the edge process itself does not make it drop a healthy session', async (t) => {
  const cloud = await fakeHub(t);
  const edge = await startEdge(cloud, t, { keepaliveIntervalMs: 100, deadAfterMs: 400 });
  await edge.hub.whenReady();
  // Block this event loop well past deadAfterMs, as a long GC pause or a suspended VM would.
  const until = Date.now() + 1000;
  while (Date.now() < until) {
    // busy
  }
  await new Promise((r) => setTimeout(r, 600));
  assert.equal(edge.hub.state, 'ready');
  assert.equal(edge.hub.stats.connects, 1, 'the session survived');
});

test('a session replaced by another connection with the same certificate stops the hub with EDGE_HUB_REPLACED', async (t) => {
  const cloud = await fakeHub(t);
  const edge = await startEdge(cloud, t);
  await edge.hub.whenReady();
  cloud.closeAll(HUB_CLOSE_REPLACED, 'replaced');
  await assert.rejects(edge.hub.done, (err) => hasCode(err, 'EDGE_HUB_REPLACED'));
  assert.equal(edge.hub.state, 'stopped');
});

test('the certificate is renewed over the session once most of its lifetime has passed, without reconnecting', async (t) => {
  const cloud = await fakeHub(t);
  // A one-day certificate issued almost a day ago: due for renewal now.
  const old = await cloud.nodeTls('edge-1', 1, new Date(Date.now() - 23 * 3600_000));
  const credentials = new MemoryCredentials(old);
  const edge = await startEdge(cloud, t, {}, openEdgeDatabase(':memory:'), credentials);
  await edge.hub.whenReady();
  await waitFor(() => credentials.replaced === 1);
  const renewed = inspectCertificate(credentials.current().cert);
  assert.equal(renewed.commonName, 'system:node:edge-1');
  assert.ok(renewed.notAfter.getTime() > Date.now() + 20 * 86_400_000);
  assert.notEqual(credentials.current().key, old.key, 'a fresh key');
  assert.equal(edge.hub.stats.connects, 1, 'the session stayed up');
});

test('a short-lived renewed certificate is not renewed again at once (issued certificates start in the past)', async (t) => {
  const cloud = await fakeHub(t);
  // One-minute certificates, backdated by the signer: each looks mostly used when it arrives. The
  // first was issued 50 s ago, so it is past any due point the random spread can pick.
  cloud.behaviour.renewValidityDays = 1 / 1440;
  const credentials = new MemoryCredentials(await cloud.nodeTls('edge-1', 1 / 1440, new Date(Date.now() - 50_000)));
  const edge = await startEdge(cloud, t, {}, openEdgeDatabase(':memory:'), credentials);
  await edge.hub.whenReady();
  await waitFor(() => credentials.replaced === 1);
  await new Promise((r) => setTimeout(r, 1000));
  assert.equal(credentials.replaced, 1, 'renewed once, then left alone for half its remaining life');
});

async function waitFor(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
