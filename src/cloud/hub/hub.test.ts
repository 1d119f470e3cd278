import { after, before, describe, test } from 'node:test';
import { SharedInformers } from '../controllers/runtime/shared-informers.ts';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import WebSocket from 'ws';
import type { KubeObject } from '../../api/object.ts';
import { createCa, createCsr, generateKeyPair, issueClientCertificate, verifyCertificate, type IssuedCertificate } from '../../pki/index.ts';
import { encodeEnvelope, envelope } from '../../protocol/codec.ts';
import { HUB_CLOSE_POLICY, HUB_CLOSE_REPLACED, MAX_FRAME_BYTES, type Envelope, type InventoryItem } from '../../protocol/envelope.ts';
import type { ResourceClient } from '../client/client.ts';
import { NodeIdentities } from '../join/identities.ts';
import type { SecretObject } from '../join/tokens.ts';
import { CloudHub } from './hub.ts';
import { TestCloud, TestEdge } from './testing.ts';
import { EDGE_ROLE_LABEL, EDGE_TAINTS_ANNOTATION } from './upstream.ts';

type Obj = KubeObject & { spec?: Record<string, unknown>; status?: Record<string, unknown>; data?: Record<string, string> };

/** Every nodeInfo field is required by the API's validation. */
const NODE_INFO = { architecture: 'amd64', operatingSystem: 'linux', kubeletVersion: 'kedge-test', kubeProxyVersion: '', bootID: 'b', machineID: 'm', systemUUID: 's', kernelVersion: '6.1', osImage: 'Debian', containerRuntimeVersion: 'process://1' };

function nodeObject(name: string, extra: Partial<Obj> = {}): Obj {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name } },
    status: { capacity: { cpu: '2', memory: '2Gi', pods: '110' }, allocatable: { cpu: '2', memory: '2Gi', pods: '110' }, nodeInfo: NODE_INFO },
    ...extra,
  };
}

function podObject(name: string, node: string | undefined, spec: Record<string, unknown> = {}): Obj {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default' }, spec: { ...(node !== undefined ? { nodeName: node } : {}), containers: [{ name: 'c', image: 'busybox' }], ...spec } };
}

function names(envs: readonly Envelope[]): string[] {
  return envs.map((e) => `${e.route.operation} ${e.route.resource?.kind ?? ''}/${e.route.resource?.name ?? ''}`);
}

function inventoryOf(envs: readonly Envelope[]): InventoryItem[] {
  return envs
    .filter((e) => e.route.operation === 'upsert')
    .map((e) => {
      const r = e.route.resource!;
      return { kind: r.kind as InventoryItem['kind'], name: r.name, uid: r.uid!, resourceVersion: e.header.resourceVersion!, ...(r.namespace !== undefined ? { namespace: r.namespace } : {}) };
    });
}

/** Retries `check` until it stops throwing (the hub notices a closed socket a moment after its peer). */
async function eventually(check: () => void | Promise<void>, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await check();
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}

describe('cloud hub', () => {
  let cloud: TestCloud;
  let hub: CloudHub;
  let pods: ResourceClient<Obj>;
  let nodes: ResourceClient<Obj>;
  let configMaps: ResourceClient<Obj>;
  let secrets: ResourceClient<Obj>;
  let identities: NodeIdentities;
  const edges: TestEdge[] = [];

  before(async () => {
    cloud = await TestCloud.start();
    identities = new NodeIdentities({ secrets: cloud.client.resource<SecretObject>('', 'v1', 'secrets') });
    hub = new CloudHub({
      bindAddress: '127.0.0.1',
      port: 0,
      tls: { cert: cloud.credentials.servingCertPem, key: cloud.credentials.servingKeyPem },
      ca: cloud.credentials.ca,
      client: cloud.client,
      informers: new SharedInformers({ client: cloud.client, log: cloud.log }),
      identities,
      certificateValidityMs: 86_400_000,
      keepaliveIntervalMs: 250,
      limits: { offencesPerMinute: 5 },
      log: cloud.log,
    });
    await hub.start(cloud.signal);
    pods = cloud.client.resource('', 'v1', 'pods');
    nodes = cloud.client.resource('', 'v1', 'nodes');
    configMaps = cloud.client.resource('', 'v1', 'configmaps');
    secrets = cloud.client.resource('', 'v1', 'secrets');
  });
  after(async () => {
    await Promise.all(edges.map((e) => e.close()));
    await cloud.close();
  });

  async function connect(node: string, options: { autoPong?: boolean; cert?: IssuedCertificate } = {}): Promise<TestEdge> {
    const edge = await TestEdge.connect(hub.port, options.cert ?? (await cloud.nodeCertificate(node)), cloud.credentials.caCertPem, { autoAck: true, ...options });
    edges.push(edge);
    return edge;
  }

  async function register(edge: TestEdge, node: string, extra: Partial<Obj> = {}): Promise<void> {
    const reply = await edge.request('upsert', nodeObject(node, extra), { resource: { kind: 'nodes', name: node } });
    assert.equal(reply.route.operation, 'ack', JSON.stringify(reply.content));
  }

  test('HUB_AUTH_1: only certificates of the cluster CA naming a node get a session', async () => {
    const ca = cloud.credentials.caCertPem;
    const refused = async (cert: IssuedCertificate | undefined, path?: string): Promise<string> => {
      const ws = new WebSocket(`wss://127.0.0.1:${hub.port}${path ?? '/v1/hub'}`, { ca, ...(cert !== undefined ? { cert: cert.certPem, key: cert.keyPem } : {}) });
      const outcome = await new Promise<string>((resolve) => {
        ws.once('open', () => resolve('open'));
        ws.once('unexpected-response', (_req, res) => resolve(`http ${String(res.statusCode)}`));
        ws.once('error', () => resolve('error'));
      });
      ws.on('error', () => undefined);
      ws.terminate();
      return outcome;
    };
    assert.equal(await refused(undefined), 'error', 'no client certificate: the TLS handshake fails');
    const otherCa = await createCa({ commonName: 'other' });
    assert.equal(await refused(await issueClientCertificate(otherCa, { commonName: 'system:node:x', organizations: ['system:nodes'] })), 'error');
    assert.equal(await refused(await issueClientCertificate(cloud.credentials.ca, { commonName: 'kedge-admin', organizations: ['system:masters'] })), 'http 403');
    assert.equal(await refused(await cloud.nodeCertificate('x', { organizations: [] })), 'http 403');
    assert.equal(await refused(await cloud.nodeCertificate('x'), '/elsewhere'), 'http 404');
    assert.equal(await refused(await cloud.nodeCertificate('auth-ok')), 'open');
  });

  test('HUB_SYNC_1: an empty inventory gets the node, its pods and what they use, in dependency order', async () => {
    const edge = await connect('sync-1');
    await register(edge, 'sync-1');
    await configMaps.create('default', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'sync-1-cm' }, data: { a: '1' } });
    await secrets.create('default', { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'sync-1-secret' }, data: { p: Buffer.from('x').toString('base64') } });
    await configMaps.create('default', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'unrelated' }, data: {} });
    await pods.create(
      'default',
      podObject('sync-1-pod', 'sync-1', {
        volumes: [
          { name: 'v', configMap: { name: 'sync-1-cm' } },
          { name: 's', secret: { secretName: 'sync-1-secret' } },
          { name: 'gone', configMap: { name: 'not-created' } },
        ],
      }),
    );
    await pods.create('default', podObject('elsewhere', 'another-node'));
    const sent = await edge.sync();
    assert.deepEqual(names(sent), ['upsert nodes/sync-1', 'upsert configmaps/sync-1-cm', 'upsert secrets/sync-1-secret', 'upsert pods/sync-1-pod']);
    const pod = sent[3]!;
    assert.equal((pod.content as Obj).metadata.managedFields, undefined, 'managedFields stay in the cloud');
    assert.equal(pod.header.resourceVersion, (pod.content as Obj).metadata.resourceVersion);
    assert.equal(pod.route.resource?.uid, (pod.content as Obj).metadata.uid);
  });

  test('HUB_SYNC_2: a reconnecting edge gets only the difference, including deletes made while it was away', async () => {
    let edge = await connect('sync-2');
    await register(edge, 'sync-2');
    for (let i = 0; i < 5; i++) await pods.create('default', podObject(`sync-2-${i}`, 'sync-2'));
    const first = await edge.sync();
    assert.equal(first.length, 6);
    await edge.close();

    await pods.delete('default', 'sync-2-0', { gracePeriodSeconds: 0 });
    const changed = await pods.get('default', 'sync-2-1');
    await pods.update({ ...changed!, metadata: { ...changed!.metadata, labels: { changed: 'yes' } } });
    await pods.create('default', podObject('sync-2-new', 'sync-2'));

    edge = await connect('sync-2');
    const held = inventoryOf(first);
    held.push({ kind: 'configmaps', namespace: 'default', name: 'stale', uid: 'uid-of-something-long-gone', resourceVersion: '1' });
    const diff = await edge.sync(held);
    assert.deepEqual(names(diff).sort(), ['delete configmaps/stale', 'delete pods/sync-2-0', 'upsert pods/sync-2-1', 'upsert pods/sync-2-new']);
    assert.deepEqual(diff.find((e) => e.route.resource?.name === 'sync-2-0')?.content, { uid: first.find((e) => e.route.resource?.name === 'sync-2-0')?.route.resource?.uid });
  });

  test('HUB_STREAM_1: while connected, changes stream: bind, update, unreference, delete', async () => {
    const edge = await connect('stream-1');
    await register(edge, 'stream-1');
    await edge.sync();
    await configMaps.create('default', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'stream-cm' }, data: { a: '1' } });
    await pods.create('default', podObject('stream-pod', 'stream-1', { containers: [{ name: 'c', image: 'busybox', envFrom: [{ configMapRef: { name: 'stream-cm' } }] }] }));
    assert.equal((await edge.next((e) => e.route.resource?.name === 'stream-cm')).route.operation, 'upsert');
    assert.equal((await edge.next((e) => e.route.resource?.name === 'stream-pod')).route.operation, 'upsert');

    const cm = await configMaps.get('default', 'stream-cm');
    await configMaps.update({ ...cm!, data: { a: '2' } });
    const update = await edge.next((e) => e.route.resource?.name === 'stream-cm');
    assert.deepEqual((update.content as Obj).data, { a: '2' });

    // A pod bound later (the scheduler's way) arrives too.
    await pods.create('default', podObject('late-bound', undefined));
    await cloud.client.bindPod('default', 'late-bound', { apiVersion: 'v1', kind: 'Binding', metadata: { name: 'late-bound' }, target: { kind: 'Node', name: 'stream-1' } });
    assert.equal((await edge.next((e) => e.route.resource?.name === 'late-bound')).route.operation, 'upsert');

    await pods.delete('default', 'stream-pod', { gracePeriodSeconds: 0 });
    const deletes = [await edge.next((e) => e.route.operation === 'delete'), await edge.next((e) => e.route.operation === 'delete')];
    assert.deepEqual(names(deletes), ['delete pods/stream-pod', 'delete configmaps/stream-cm'], 'the pod goes first, then what only it used');
  });

  test('HUB_ISOLATION_1: a node gets only its own objects and may touch only them', async () => {
    const a = await connect('iso-a');
    const b = await connect('iso-b');
    await register(a, 'iso-a');
    await register(b, 'iso-b');
    await pods.create('default', podObject('iso-a-pod', 'iso-a'));
    await secrets.create('default', { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'iso-b-secret' }, data: {} });
    await pods.create('default', podObject('iso-b-pod', 'iso-b', { imagePullSecrets: [{ name: 'iso-b-secret' }] }));
    assert.deepEqual(names(await a.sync()), ['upsert nodes/iso-a', 'upsert pods/iso-a-pod']);
    assert.deepEqual(names(await b.sync()), ['upsert nodes/iso-b', 'upsert secrets/iso-b-secret', 'upsert pods/iso-b-pod']);

    const refusals = [
      await a.request('status', { status: { phase: 'Failed' } }, { resource: { kind: 'pods', namespace: 'default', name: 'iso-b-pod' } }),
      await a.request('status', { status: { phase: 'Ready' } }, { resource: { kind: 'nodes', name: 'iso-b' } }),
      await a.request('upsert', nodeObject('iso-b'), { resource: { kind: 'nodes', name: 'iso-b' } }),
      await a.request('upsert', nodeObject('iso-b'), { resource: { kind: 'nodes', name: 'iso-a' } }),
      await a.request('delete', { uid: 'x' }, { resource: { kind: 'pods', namespace: 'default', name: 'iso-b-pod' } }),
      await a.request('event', { metadata: { name: 'e' }, involvedObject: { kind: 'Node', name: 'iso-b' }, reason: 'Fake' }, { resource: { kind: 'events', name: 'e' } }),
      await a.request('upsert', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'mine-now', namespace: 'default' } }, { resource: { kind: 'pods', namespace: 'default', name: 'mine-now' } }),
    ];
    assert.deepEqual(
      refusals.map((r) => [r.route.operation, (r.content as { code: string }).code]),
      [['error', 'HUB_FORBIDDEN'], ['error', 'HUB_FORBIDDEN'], ['error', 'HUB_FORBIDDEN'], ['error', 'HUB_FORBIDDEN'], ['error', 'HUB_FORBIDDEN'], ['error', 'HUB_FORBIDDEN'], ['error', 'HUB_UNSUPPORTED_OPERATION']],
    );
    assert.equal((await pods.get('default', 'iso-b-pod'))?.status?.['phase'], 'Pending');
    assert.equal(a.ws.readyState, WebSocket.OPEN, 'a few refusals do not close the session');
  });

  test('HUB_UPSTREAM_1: registration, status, lease, events and the final pod delete', async () => {
    const edge = await connect('up-1');
    await register(edge, 'up-1', { metadata: { name: 'up-1', labels: { zone: 'lab' } }, spec: { taints: [{ key: 'edge/only', effect: 'NoSchedule' }] } });
    let node = await nodes.get(undefined, 'up-1');
    assert.equal(node?.metadata.labels?.[EDGE_ROLE_LABEL], '');
    assert.equal(node?.metadata.labels?.['zone'], 'lab');
    assert.deepEqual((node?.status?.['capacity'] as Record<string, string>)['cpu'], '2');
    assert.equal(node?.metadata.annotations?.[EDGE_TAINTS_ANNOTATION], 'edge/only:NoSchedule');

    // An admin's taint and label stay; the edge may not change the admin's taint.
    await nodes.update({ ...node, metadata: { ...node.metadata, labels: { ...node.metadata.labels, admin: 'set' } }, spec: { ...node.spec, taints: [{ key: 'edge/only', effect: 'NoSchedule' }, { key: 'maintenance', effect: 'NoExecute' }] } });
    await register(edge, 'up-1', { metadata: { name: 'up-1', labels: { zone: 'lab2' } }, spec: { taints: [{ key: 'maintenance', effect: 'NoExecute' }] } });
    node = await nodes.get(undefined, 'up-1');
    assert.deepEqual(node?.spec?.['taints'], [{ key: 'maintenance', effect: 'NoExecute' }], 'its own taint is gone, the admin taint stays');
    assert.equal(node?.metadata.labels?.['admin'], 'set');
    assert.equal(node?.metadata.labels?.['zone'], 'lab2');
    const lift = await edge.request('upsert', nodeObject('up-1', { spec: { taints: [{ key: 'maintenance', effect: 'NoExecute', value: 'over' }] } }), { resource: { kind: 'nodes', name: 'up-1' } });
    assert.equal((lift.content as { code: string }).code, 'HUB_FORBIDDEN');
    const restricted = await edge.request('upsert', nodeObject('up-1', { metadata: { name: 'up-1', labels: { 'node-restriction.kubernetes.io/x': 'y' } } }), { resource: { kind: 'nodes', name: 'up-1' } });
    assert.equal((restricted.content as { code: string }).code, 'HUB_FORBIDDEN');

    const nodeStatus = await edge.request('status', { status: { conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', lastHeartbeatTime: new Date().toISOString() }] } }, { resource: { kind: 'nodes', name: 'up-1' } });
    assert.equal(nodeStatus.route.operation, 'ack');
    assert.equal(((await nodes.get(undefined, 'up-1'))?.status?.['conditions'] as { type: string; status: string }[])[0]?.status, 'True');

    await pods.create('default', podObject('up-pod', 'up-1'));
    await edge.sync();
    const pod = await pods.get('default', 'up-pod');
    const status = await edge.request('status', { status: { phase: 'Running', podIP: '10.0.0.7' } }, { resource: { kind: 'pods', namespace: 'default', name: 'up-pod', uid: pod!.metadata.uid! } });
    assert.equal(status.route.operation, 'ack', JSON.stringify(status.content));
    const running = await pods.get('default', 'up-pod');
    assert.equal(running?.status?.['phase'], 'Running');
    assert.equal(running?.status?.['qosClass'], 'BestEffort', 'merge: what the edge did not send stays');
    const stale = await edge.request('status', { status: { phase: 'Failed' } }, { resource: { kind: 'pods', namespace: 'default', name: 'up-pod', uid: 'an-older-incarnation' } });
    assert.equal(stale.route.operation, 'ack');
    assert.equal((await pods.get('default', 'up-pod'))?.status?.['phase'], 'Running', 'a status for another uid is dropped');

    const lease = await edge.request('lease', { renewTime: '1999-01-01T00:00:00.000000Z', leaseDurationSeconds: 40 }, { group: 'hub' });
    assert.equal(lease.route.operation, 'ack');
    const stored = await cloud.client.resource<Obj>('coordination.k8s.io', 'v1', 'leases').get('kube-node-lease', 'up-1');
    assert.equal(stored?.spec?.['holderIdentity'], 'up-1');
    assert.equal(stored?.spec?.['leaseDurationSeconds'], 40);
    assert.ok(Math.abs(Date.parse(String(stored?.spec?.['renewTime'])) - Date.now()) < 10_000, 'renewed on the cloud clock');
    assert.equal(stored?.metadata.ownerReferences?.[0]?.name, 'up-1');

    const event = envelope('edge', 'resource', 'event', { metadata: { name: 'ignored' }, involvedObject: { kind: 'Pod', namespace: 'default', name: 'up-pod', uid: pod!.metadata.uid! }, reason: 'Started', message: 'started', type: 'Normal' }, { resource: { kind: 'events', namespace: 'default', name: 'up-pod' } });
    for (let i = 0; i < 2; i++) {
      const reply = edge.next((e) => e.header.parentId === event.header.id);
      edge.send(event);
      assert.equal((await reply).route.operation, 'ack');
    }
    const events = (await cloud.client.resource<Obj>('', 'v1', 'events').list('default')).items.filter((e) => (e['involvedObject'] as { name: string }).name === 'up-pod');
    assert.equal(events.length, 1, 'a resent event is stored once');
    assert.deepEqual(events[0]?.['source'], { component: 'kedge-edge', host: 'up-1' });

    await pods.delete('default', 'up-pod');
    assert.ok((await pods.get('default', 'up-pod'))?.metadata.deletionTimestamp !== undefined, 'a bound pod waits for its node');
    const final = await edge.request('delete', { uid: pod!.metadata.uid! }, { resource: { kind: 'pods', namespace: 'default', name: 'up-pod', uid: pod!.metadata.uid! } });
    assert.equal(final.route.operation, 'ack');
    assert.equal(await pods.get('default', 'up-pod'), undefined);
  });

  test('HUB_CSR_1: a connected node rotates its certificate without losing its session', async () => {
    // Short-lived: the session outlives this certificate because it rotates.
    const first = await cloud.nodeCertificate('csr-1', { validityDays: 1.5 / 86_400 });
    const edge = await connect('csr-1', { cert: first });
    const key = await generateKeyPair();
    const csr = await createCsr({ commonName: 'system:node:csr-1', organizations: ['system:nodes'], key });
    const reply = await edge.request('csr', { csr }, { group: 'hub' });
    assert.equal(reply.route.operation, 'response', JSON.stringify(reply.content));
    const info = verifyCertificate(cloud.credentials.ca, (reply.content as { certificate: string }).certificate, { usage: 'client auth' });
    assert.equal(info.commonName, 'system:node:csr-1');
    assert.equal((reply.content as { caCertificate: string }).caCertificate, cloud.credentials.caCertPem);
    assert.equal((await identities.get('csr-1'))?.notAfter.getTime(), info.notAfter.getTime(), 'the name now belongs to the new key');
    // A second rotation in the same session stands on the first one's certificate.
    const again = await edge.request('csr', { csr: await createCsr({ commonName: 'system:node:csr-1', organizations: ['system:nodes'], key: await generateKeyPair() }) }, { group: 'hub' });
    assert.equal(again.route.operation, 'response', JSON.stringify(again.content));
    const wrong = await edge.request('csr', { csr: await createCsr({ commonName: 'system:node:someone-else', organizations: ['system:nodes'], key }) }, { group: 'hub' });
    assert.equal((wrong.content as { code: string }).code, 'HUB_FORBIDDEN');
    await new Promise((r) => setTimeout(r, 2000));
    assert.equal(edge.ws.readyState, WebSocket.OPEN, 'the session now stands on the rotated certificate');
  });

  test('HUB_FRAMES_1: garbage, binary and unknown frames get error replies; repeated ones close the session; the hub lives on', async () => {
    const edge = await connect('frames-1');
    edge.ws.send('this is not json');
    const e1 = await edge.next((e) => e.route.operation === 'error');
    assert.deepEqual([e1.header.parentId, (e1.content as { code: string }).code], ['unknown', 'PROTOCOL_MALFORMED']);
    edge.ws.send(JSON.stringify({ v: 1, header: { id: 'abc', timestamp: 1 }, route: { source: 'edge', group: 'hub', operation: 'teleport' }, content: null }));
    const e2 = await edge.next((e) => e.route.operation === 'error');
    assert.deepEqual([e2.header.parentId, (e2.content as { code: string }).code], ['abc', 'PROTOCOL_MALFORMED']);
    edge.ws.send(JSON.stringify({ v: 2, header: { id: 'v2', timestamp: 1 } }));
    assert.equal(((await edge.next((e) => e.route.operation === 'error')).content as { code: string }).code, 'PROTOCOL_UNSUPPORTED_VERSION');
    edge.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    assert.equal(((await edge.next((e) => e.route.operation === 'error')).content as { code: string }).code, 'PROTOCOL_MALFORMED');
    edge.ws.send(encodeEnvelope(envelope('edge', 'hub', 'synced', { revision: '1' })));
    assert.equal(((await edge.next((e) => e.route.operation === 'error')).content as { code: string }).code, 'HUB_UNSUPPORTED_OPERATION');
    for (let i = 0; i < 5; i++) edge.ws.send('{');
    await once(edge.ws, 'close');
    assert.equal(edge.closeCode, HUB_CLOSE_POLICY);

    const big = await connect('frames-2');
    big.ws.send('x'.repeat(MAX_FRAME_BYTES + 10));
    await once(big.ws, 'close');
    assert.equal(big.closeCode, 1009, 'oversized frames close the connection (ws maxPayload)');

    const healthy = await connect('frames-3');
    await register(healthy, 'frames-3');
    assert.equal(hub.connected('frames-3'), true);
  });

  test('HUB_REPLACE_1: a second connection of a node replaces the first', async () => {
    const cert = await cloud.nodeCertificate('replace-1');
    const first = await connect('replace-1', { cert });
    const closed = once(first.ws, 'close');
    const second = await connect('replace-1', { cert });
    await closed;
    assert.equal(first.closeCode, HUB_CLOSE_REPLACED);
    await register(second, 'replace-1');
    assert.deepEqual(names(await second.sync()), ['upsert nodes/replace-1']);
    assert.equal(hub.connected('replace-1'), true, 'the late close of the first does not evict the second');
  });

  test('HUB_KEEPALIVE_1: an edge that stops answering pings is disconnected', async () => {
    const edge = await connect('silent-1', { autoPong: false });
    const started = Date.now();
    await once(edge.ws, 'close');
    assert.ok(Date.now() - started < 5000);
    await eventually(() => assert.equal(hub.connected('silent-1'), false));
    const live = await connect('live-1');
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(live.ws.readyState, WebSocket.OPEN, 'an edge answering pings stays');
  });

  test('HUB_KEEPALIVE_2: a session ends when its certificate expires', async () => {
    const edge = await connect('expiring-1', { cert: await cloud.nodeCertificate('expiring-1', { validityDays: 1.5 / 86_400 }) });
    await once(edge.ws, 'close');
    assert.equal(edge.closeCode, HUB_CLOSE_POLICY);
  });

  test('HUB_RATE_1: a node writing faster than its limit is told to slow down', async () => {
    const edge = await connect('rate-1');
    await register(edge, 'rate-1');
    const replies = await Promise.all(Array.from({ length: 260 }, () => edge.request('lease', { renewTime: 'x', leaseDurationSeconds: 40 }, { group: 'hub' })));
    const limited = replies.filter((r) => (r.content as { code?: string } | null)?.code === 'HUB_RATE_LIMITED').length;
    assert.ok(limited > 0 && limited < 100, `limited ${limited}`);
    assert.equal(edge.ws.readyState, WebSocket.OPEN, 'rate limiting is not an offence');
  });

  test('HUB_DEVICES_1: devices on the node and their models are synced', async () => {
    const devices = cloud.client.resource<Obj>('devices.kubeedge.io', 'v1beta1', 'devices');
    const models = cloud.client.resource<Obj>('devices.kubeedge.io', 'v1beta1', 'devicemodels');
    const edge = await connect('dev-1');
    await register(edge, 'dev-1');
    await edge.sync();
    await models.create('default', { apiVersion: 'devices.kubeedge.io/v1beta1', kind: 'DeviceModel', metadata: { name: 'thermo' }, spec: { protocol: 'modbus', properties: [] } });
    await devices.create('default', { apiVersion: 'devices.kubeedge.io/v1beta1', kind: 'Device', metadata: { name: 'thermo-1' }, spec: { nodeName: 'dev-1', deviceModelRef: { name: 'thermo' }, protocol: { protocolName: 'modbus' } } });
    assert.equal((await edge.next((e) => e.route.resource?.kind === 'devicemodels')).route.resource?.name, 'thermo');
    assert.equal((await edge.next((e) => e.route.resource?.kind === 'devices')).route.resource?.name, 'thermo-1');
    const reply = await edge.request('status', { status: { twins: [{ propertyName: 't', reported: { value: '21' } }] } }, { resource: { kind: 'devices', namespace: 'default', name: 'thermo-1' } });
    assert.equal(reply.route.operation, 'ack', JSON.stringify(reply.content));
    assert.deepEqual((await devices.get('default', 'thermo-1'))?.status?.['twins'], [{ propertyName: 't', reported: { value: '21' } }]);
    const device = await devices.get('default', 'thermo-1');
    await devices.create('default', { apiVersion: 'devices.kubeedge.io/v1beta1', kind: 'Device', metadata: { name: 'thermo-elsewhere' }, spec: { nodeName: 'another-node', deviceModelRef: { name: 'thermo' }, protocol: { protocolName: 'modbus' } } });
    const report = await edge.request(
      'report',
      {
        devices: [
          { namespace: 'default', name: 'thermo-1', uid: device!.metadata.uid!, state: 'online', twins: [] },
          { namespace: 'default', name: 'thermo-elsewhere', uid: 'u', twins: [] },
          { namespace: 'default', name: 'no-such-device', uid: 'u', twins: [] },
          { namespace: 'default', name: 'thermo-1', uid: 'an-older-incarnation', twins: [] },
        ],
      },
      { group: 'twin' },
    );
    assert.equal(report.route.operation, 'response', JSON.stringify(report.content));
    assert.deepEqual(
      (report.content as { refused: { name: string; code: string }[] }).refused.map((r) => [r.name, r.code]),
      [['thermo-elsewhere', 'HUB_FORBIDDEN'], ['no-such-device', 'API_NOT_FOUND'], ['thermo-1', 'API_CONFLICT']],
    );
    await eventually(async () => assert.equal((await devices.get('default', 'thermo-1'))?.status?.['state'], 'online'));
    const model = await models.get('default', 'thermo');
    await models.update({ ...model!, spec: { protocol: 'opcua', properties: [] } });
    assert.equal(((await edge.next((e) => e.route.resource?.kind === 'devicemodels')).content as Obj).spec?.['protocol'], 'opcua');
  });
});
