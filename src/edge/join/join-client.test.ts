import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import https from 'node:https';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hasCode } from '../../errors/platform-error.ts';
import { silentLogger } from '../../log/logger.ts';
import { caCertificateDigest, createCa, inspectCertificate, issueServingCertificate, signCsr, type CertificateAuthority } from '../../pki/index.ts';
import { encodeJoinToken } from '../../protocol/codec.ts';
import type { JoinRequest } from '../../protocol/envelope.ts';
import { joinCloud } from './join-client.ts';
import { loadJoinedState, saveJoinedState, statePaths } from './state.ts';

interface FakeJoin {
  port: number;
  ca: CertificateAuthority;
  token: string;
  /** Answer every POST /join with this error instead of a certificate. */
  refuse: { status: number; code: string } | undefined;
  requests: JoinRequest[];
}

async function fakeJoinService(t: { after(fn: () => void): void }, servedCa?: CertificateAuthority): Promise<FakeJoin> {
  const ca = await createCa();
  const shown = servedCa ?? ca;
  const serving = await issueServingCertificate(ca, { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
  const state: FakeJoin = { port: 0, ca, token: encodeJoinToken({ caDigest: caCertificateDigest(ca.certPem), id: 'abcdef', secret: '0123456789abcdef' }), refuse: undefined, requests: [] };
  const server = https.createServer({ cert: serving.certPem, key: serving.keyPem }, (req, res) => {
    if (req.url === '/ca.crt') {
      res.end(shown.certPem);
      return;
    }
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const request = JSON.parse(body) as JoinRequest;
      state.requests.push(request);
      if (state.refuse !== undefined) {
        res.writeHead(state.refuse.status, { 'Content-Type': 'application/json' }).end(JSON.stringify({ code: state.refuse.code, message: `refused: ${state.refuse.code}` }));
        return;
      }
      const cn = `system:node:${request.nodeName}`;
      void signCsr(ca, request.csr, { commonName: cn, organizations: ['system:nodes'], usages: ['client auth'] }).then((certificate) =>
        res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ nodeName: request.nodeName, certificate, caCertificate: ca.certPem, hub: { host: '127.0.0.1', port: 10000 } })),
      );
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  state.port = (server.address() as { port: number }).port;
  t.after(() => server.close());
  return state;
}

test('a valid token: the CA is pinned by the token, the certificate is the node\'s, and the state round-trips through the data dir', async (t) => {
  const svc = await fakeJoinService(t);
  const result = await joinCloud({ cloud: '127.0.0.1', joinPort: svc.port, token: svc.token, nodeName: 'edge-7', log: silentLogger() });
  assert.equal(result.tls.ca, svc.ca.certPem);
  const info = inspectCertificate(result.tls.cert);
  assert.equal(info.commonName, 'system:node:edge-7');
  assert.deepEqual(info.organizations, ['system:nodes']);
  assert.deepEqual(result.hub, { host: '127.0.0.1', port: 10000 });
  assert.match(svc.requests[0]!.csr, /BEGIN CERTIFICATE REQUEST/);

  const dir = mkdtempSync(join(tmpdir(), 'kedge-join-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  assert.equal(await loadJoinedState(dir), undefined);
  await saveJoinedState(dir, { apiVersion: 'kedge.io/v1alpha1', kind: 'EdgeNode', nodeName: 'edge-7', cloud: '127.0.0.1', joinPort: svc.port, hub: result.hub, labels: { zone: 'a' }, joinedAt: new Date().toISOString() }, result.tls);
  assert.equal(statSync(statePaths(dir).node).mode & 0o777, 0o600, 'the key file is private');
  const loaded = await loadJoinedState(dir);
  assert.equal(loaded?.state.nodeName, 'edge-7');
  assert.deepEqual(loaded?.state.labels, { zone: 'a' });
  assert.equal(loaded?.credentials.current().cert, result.tls.cert);

  // Rotation replaces certificate and key in one file.
  const other = await joinCloud({ cloud: 'localhost', joinPort: svc.port, token: svc.token, nodeName: 'edge-7', log: silentLogger() });
  assert.ok(loaded !== undefined);
  await loaded.credentials.replace(other.tls.cert, other.tls.key);
  assert.equal((await loadJoinedState(dir))?.credentials.current().key, other.tls.key);

  // A certificate that does not match the key is refused at load.
  writeFileSync(statePaths(dir).node, `${result.tls.cert}${other.tls.key}`);
  await assert.rejects(loadJoinedState(dir), (err) => hasCode(err, 'EDGE_STATE_INVALID'));
});

test('a malformed token is refused before anything is sent', async (t) => {
  const svc = await fakeJoinService(t);
  await assert.rejects(joinCloud({ cloud: '127.0.0.1', joinPort: svc.port, token: 'abc.def', nodeName: 'n', log: silentLogger() }), (err) => hasCode(err, 'JOIN_TOKEN_MALFORMED'));
  assert.equal(svc.requests.length, 0);
});

test('a CA that does not match the token is refused, and no CSR is sent', async (t) => {
  const impostor = await createCa({ commonName: 'someone-else' });
  const svc = await fakeJoinService(t, impostor);
  await assert.rejects(joinCloud({ cloud: '127.0.0.1', joinPort: svc.port, token: svc.token, nodeName: 'n', log: silentLogger() }), (err) => hasCode(err, 'JOIN_CA_MISMATCH'));
  assert.equal(svc.requests.length, 0);
});

test('the join service\'s refusals keep their codes', async (t) => {
  const svc = await fakeJoinService(t);
  for (const [status, code] of [
    [401, 'JOIN_TOKEN_EXPIRED'],
    [401, 'JOIN_TOKEN_REVOKED'],
    [401, 'JOIN_TOKEN_INVALID'],
    [401, 'JOIN_TOKEN_WRONG_CA'],
    [409, 'JOIN_NODE_NAME_TAKEN'],
  ] as const) {
    svc.refuse = { status, code };
    await assert.rejects(joinCloud({ cloud: '127.0.0.1', joinPort: svc.port, token: svc.token, nodeName: 'n', log: silentLogger() }), (err) => hasCode(err, code));
  }
});

test('nothing listening is JOIN_UNREACHABLE', async () => {
  const token = encodeJoinToken({ caDigest: 'a'.repeat(64), id: 'abcdef', secret: '0123456789abcdef' });
  await assert.rejects(joinCloud({ cloud: '127.0.0.1', joinPort: 1, token, nodeName: 'n', log: silentLogger() }), (err) => hasCode(err, 'JOIN_UNREACHABLE'));
});
