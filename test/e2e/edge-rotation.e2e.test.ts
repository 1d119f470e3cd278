// Issue 3, certificate rotation: with one-minute node certificates the edge renews its certificate
// over the hub session, well before expiry, without reconnecting, and the renewed certificate is
// what it connects with next.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inspectCertificate } from '../../src/pki/index.ts';
import { eventually } from './harness/wait.ts';
import { createToken, KedgeEdge, useEdgeCloud } from './harness/edge.ts';

const c = await useEdgeCloud(['--node-certificate-validity', '1m']);

test('E2E_EDGE_ROTATION_1: the node certificate is renewed over the session and used for the next connection', async () => {
  const edge = await KedgeEdge.join(c, { nodeName: 'rotating', token: await createToken(c) });
  const first = inspectCertificate((await edge.identity()).certPem!);
  // Issued certificates start five minutes in the past, so a one-minute one is due within seconds.
  const renewed = await eventually(
    async () => {
      const now = inspectCertificate((await edge.identity()).certPem!);
      assert.notEqual(now.serialNumber, first.serialNumber);
      return now;
    },
    { timeoutMs: 45_000, intervalMs: 250, what: 'a renewed node certificate' },
  );
  assert.equal(renewed.commonName, 'system:node:rotating');
  // Validity has second precision: a renewal within the first second ends in the same second.
  assert.ok(renewed.notAfter.getTime() >= first.notAfter.getTime(), `renewed certificate ends ${renewed.notAfter.toISOString()}, before ${first.notAfter.toISOString()}`);
  assert.equal(edge.syncs.length, 1, 'renewed without reconnecting');
  assert.match(edge.log, /node certificate renewed/);

  // The next session authenticates with the renewed certificate.
  await c.cloud.restart();
  await edge.waitForSync(1, 20_000);
  const current = inspectCertificate((await edge.identity()).certPem!);
  assert.ok(current.notAfter.getTime() > Date.now(), 'connected with a certificate that is still valid');
});
