import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../api/object.ts';
import type { Envelope } from '../../protocol/envelope.ts';
import type { ResourceClient } from '../client/client.ts';
import { SharedInformers } from '../controllers/runtime/shared-informers.ts';
import { NodeIdentities } from '../join/identities.ts';
import type { SecretObject } from '../join/tokens.ts';
import { CloudHub } from './hub.ts';
import { TestCloud, TestEdge } from './testing.ts';

type Obj = KubeObject & { spec?: Record<string, unknown>; status?: Record<string, unknown> };

let cloud: TestCloud;
let hub: CloudHub;
let devices: ResourceClient<Obj>;
const edges: TestEdge[] = [];

before(async () => {
  cloud = await TestCloud.start();
  hub = new CloudHub({
    bindAddress: '127.0.0.1',
    port: 0,
    tls: { cert: cloud.credentials.servingCertPem, key: cloud.credentials.servingKeyPem },
    ca: cloud.credentials.ca,
    client: cloud.client,
    informers: new SharedInformers({ client: cloud.client, log: cloud.log }),
    identities: new NodeIdentities({ secrets: cloud.client.resource<SecretObject>('', 'v1', 'secrets') }),
    certificateValidityMs: 86_400_000,
    log: cloud.log,
  });
  await hub.start(cloud.signal);
  devices = cloud.client.resource('devices.kubeedge.io', 'v1beta1', 'devices');
});
after(async () => {
  await Promise.all(edges.map((e) => e.close()));
  await cloud.close();
});

const isDevice = (e: Envelope): boolean => e.route.operation === 'upsert' && e.route.resource?.kind === 'devices';

test('HUB_DEVICES_ECHO_1: a Device whose status alone changed (the edge\'s reports written back) is not sent back to the edge; any other change is, and a reconnect resyncs', async () => {
  const edge = await TestEdge.connect(hub.port, await cloud.nodeCertificate('echo-1'), cloud.credentials.caCertPem, { autoAck: true });
  edges.push(edge);
  await edge.sync();
  await cloud.client.resource('devices.kubeedge.io', 'v1beta1', 'devicemodels').create('default', { apiVersion: 'devices.kubeedge.io/v1beta1', kind: 'DeviceModel', metadata: { name: 'm' }, spec: { protocol: 'modbus', properties: [{ name: 't', type: 'INT' }] } });
  await devices.create('default', { apiVersion: 'devices.kubeedge.io/v1beta1', kind: 'Device', metadata: { name: 'd' }, spec: { nodeName: 'echo-1', deviceModelRef: { name: 'm' }, protocol: { protocolName: 'modbus' } } });
  const first = await edge.next(isDevice);
  for (let i = 0; i < 5; i++) await devices.patch('default', 'd', 'merge', { status: { state: 'online', twins: [{ propertyName: 't', reported: { value: String(i) } }] } }, { subresource: 'status' });
  await devices.patch('default', 'd', 'merge', { metadata: { labels: { zone: 'a' } } });
  const next = await edge.next(isDevice);
  assert.equal((next.content as Obj).metadata.labels?.['zone'], 'a', 'the first device sent after the status writes is the labelled one');
  assert.equal(edge.received.filter(isDevice).length, 0);

  // An edge that comes back holding the first version gets the current one.
  await edge.close();
  const again = await TestEdge.connect(hub.port, await cloud.nodeCertificate('echo-1'), cloud.credentials.caCertPem, { autoAck: true });
  edges.push(again);
  const r = first.route.resource!;
  const sent = await again.sync([{ kind: 'devices', namespace: r.namespace!, name: r.name, uid: r.uid!, resourceVersion: first.header.resourceVersion! }]);
  const resent = sent.find(isDevice);
  assert.equal((resent?.content as Obj | undefined)?.status?.['state'], 'online');
});
