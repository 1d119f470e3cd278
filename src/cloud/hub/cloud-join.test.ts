import { test } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveFlags } from '../../cli/flags.ts';
import { KubeHttpClient } from '../../cli/kube-http-client.ts';
import { silentLogger } from '../../log/logger.ts';
import { caCertificateDigest, createCsr, exportPrivateKeyPem, generateKeyPair } from '../../pki/index.ts';
import { decodeJoinResponse, decodeJoinToken } from '../../protocol/codec.ts';
import { JOIN_CA_PATH, JOIN_PATH } from '../../protocol/envelope.ts';
import { startCloud } from '../cloud.ts';
import { CLOUD_FLAGS, compileCloudConfig } from '../config.ts';
import { TestEdge } from './testing.ts';

function request(port: number, method: string, path: string, options: { ca?: string; body?: string } = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port, method, path, ...(options.ca !== undefined ? { ca: options.ca } : { rejectUnauthorized: false }) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

test('CLOUD_JOIN_1: the cloud process joins an edge with a token and serves it through the hub the join service names', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'kedge-cloud-join-'));
  const abort = new AbortController();
  try {
    const flags = resolveFlags(CLOUD_FLAGS, ['--data-dir', dataDir, '--api-port', '0', '--hub-port', '0', '--join-port', '0', '--bind-address', '127.0.0.1'], {}, 'KEDGE_CLOUD');
    const cloud = await startCloud(compileCloudConfig(flags.values), silentLogger(), abort.signal);
    const { token } = await cloud.createJoinToken({ ttlMs: 600_000 });

    // What `kedge edge join` does: fetch the CA untrusted, check it against the token, then join over verified TLS.
    const ca = await request(cloud.joinPort, 'GET', JOIN_CA_PATH);
    assert.equal(caCertificateDigest(ca.body), decodeJoinToken(token)?.caDigest);
    const key = await generateKeyPair();
    const csr = await createCsr({ commonName: 'system:node:edge-a', organizations: ['system:nodes'], key });
    const answer = await request(cloud.joinPort, 'POST', JOIN_PATH, { ca: ca.body, body: JSON.stringify({ token, nodeName: 'edge-a', csr }) });
    assert.equal(answer.status, 200, answer.body);
    const joined = decodeJoinResponse(JSON.parse(answer.body));
    assert.deepEqual(joined.hub, { host: '127.0.0.1', port: cloud.hubPort });

    const edge = await TestEdge.connect(joined.hub.port, { certPem: joined.certificate, keyPem: await exportPrivateKeyPem(key.privateKey) }, joined.caCertificate, { autoAck: true });
    try {
      const nodeInfo = { architecture: 'amd64', operatingSystem: 'linux', kubeletVersion: 'kedge', kubeProxyVersion: '', bootID: 'b', machineID: 'm', systemUUID: 's', kernelVersion: '6.1', osImage: 'Debian', containerRuntimeVersion: 'process://1' };
      const registered = await edge.request('upsert', { apiVersion: 'v1', kind: 'Node', metadata: { name: 'edge-a' }, status: { nodeInfo, conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', lastHeartbeatTime: new Date().toISOString() }] } }, { resource: { kind: 'nodes', name: 'edge-a' } });
      assert.equal(registered.route.operation, 'ack', JSON.stringify(registered.content));
      assert.equal((await edge.request('lease', { renewTime: new Date().toISOString(), leaseDurationSeconds: 40 }, { group: 'hub' })).route.operation, 'ack');
      const sent = await edge.sync();
      assert.deepEqual(
        sent.map((e) => e.route.resource?.name),
        ['edge-a'],
      );

      // An object created for the node in the cloud reaches it.
      const client = await KubeHttpClient.fromKubeconfig(cloud.kubeconfigPath);
      try {
        await client.resource('', 'v1', 'pods').create('default', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'for-edge-a' }, spec: { nodeName: 'edge-a', containers: [{ name: 'c', image: 'busybox' }] } });
      } finally {
        client.close();
      }
      const pod = await edge.next((e) => e.route.resource?.name === 'for-edge-a');
      assert.equal(pod.route.operation, 'upsert');
    } finally {
      await edge.close();
    }
  } finally {
    abort.abort();
    await rm(dataDir, { recursive: true, force: true });
  }
});
