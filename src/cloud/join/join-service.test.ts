import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import { caCertificateDigest, createCsr, generateKeyPair, verifyCertificate, type KeyPair } from '../../pki/index.ts';
import { decodeJoinResponse } from '../../protocol/codec.ts';
import { JOIN_CA_PATH, JOIN_PATH } from '../../protocol/envelope.ts';
import { TestCloud } from '../hub/testing.ts';
import { JoinService } from './join-service.ts';
import { NodeIdentities } from './identities.ts';
import { BootstrapTokens, TOKEN_NAMESPACE, type SecretObject } from './tokens.ts';

interface Answer {
  status: number;
  type: string | undefined;
  body: string;
}

function call(port: number, method: string, path: string, body?: string | Buffer, ca?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port, method, path, ...(ca !== undefined ? { ca, servername: 'localhost' } : { rejectUnauthorized: false }), headers: { 'Content-Type': 'application/json' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'], body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('join service', () => {
  let cloud: TestCloud;
  let service: JoinService;
  let tokens: BootstrapTokens;
  let clock = Date.now();
  const now = (): Date => new Date(clock);

  before(async () => {
    cloud = await TestCloud.start();
    const secrets = cloud.client.resource<SecretObject>('', 'v1', 'secrets');
    tokens = new BootstrapTokens({ secrets, caDigest: caCertificateDigest(cloud.credentials.caCertPem), now });
    service = new JoinService({
      bindAddress: '127.0.0.1',
      port: 0,
      tls: { cert: cloud.credentials.servingCertPem, key: cloud.credentials.servingKeyPem },
      ca: cloud.credentials.ca,
      tokens,
      identities: new NodeIdentities({ secrets, now }),
      hub: { host: undefined, port: () => 10000 },
      certificateValidityMs: 30 * 86_400_000,
      log: cloud.log,
      now,
    });
    await service.start(cloud.signal);
  });
  after(async () => cloud.close());

  async function join(token: string, nodeName: string, key?: KeyPair, commonName = `system:node:${nodeName}`): Promise<Answer & { json: Record<string, unknown> }> {
    const csr = await createCsr({ commonName, organizations: ['system:nodes'], key: key ?? (await generateKeyPair()) });
    const answer = await call(service.port, 'POST', JOIN_PATH, JSON.stringify({ token, nodeName, csr }), cloud.credentials.caCertPem);
    return { ...answer, json: JSON.parse(answer.body) as Record<string, unknown> };
  }

  test('JOIN_CA: GET /ca.crt serves the CA to anyone, and its digest is the token prefix', async () => {
    const answer = await call(service.port, 'GET', JOIN_CA_PATH);
    assert.equal(answer.status, 200);
    assert.equal(answer.body, cloud.credentials.caCertPem);
    const { token } = await tokens.create();
    assert.equal(token.split('.')[0], caCertificateDigest(answer.body));
  });

  test('JOIN_OK: a valid token and CSR get a node certificate and the hub address', async () => {
    const { token } = await tokens.create({ ttlMs: 3_600_000 });
    const answer = await join(token, 'edge-ok');
    assert.equal(answer.status, 200, answer.body);
    const response = decodeJoinResponse(answer.json);
    assert.deepEqual(response.hub, { host: '127.0.0.1', port: 10000 });
    assert.equal(response.nodeName, 'edge-ok');
    assert.equal(response.caCertificate, cloud.credentials.caCertPem);
    const info = verifyCertificate(cloud.credentials.ca, response.certificate, { usage: 'client auth' });
    assert.equal(info.commonName, 'system:node:edge-ok');
    assert.deepEqual(info.organizations, ['system:nodes']);
    assert.ok(Math.abs(info.notAfter.getTime() - (clock + 30 * 86_400_000)) < 60_000);
  });

  test('JOIN_TOKENS: each kind of bad token is refused with its own code', async () => {
    const valid = await tokens.create();
    const [digest, id, secret] = valid.token.split('.') as [string, string, string];
    const expired = await tokens.create({ ttlMs: 60_000 });
    const revoked = await tokens.create();
    assert.equal(await tokens.revoke(revoked.id), true);
    clock += 120_000;
    try {
      const cases: [string, string][] = [
        ['not-a-token', 'JOIN_TOKEN_MALFORMED'],
        [`${digest}.${id}`, 'JOIN_TOKEN_MALFORMED'],
        [`${'0'.repeat(64)}.${id}.${secret}`, 'JOIN_TOKEN_WRONG_CA'],
        [`${digest}.zzzzzz.${secret}`, 'JOIN_TOKEN_INVALID'],
        [`${digest}.${id}.${'0'.repeat(16)}`, 'JOIN_TOKEN_INVALID'],
        [expired.token, 'JOIN_TOKEN_EXPIRED'],
        [revoked.token, 'JOIN_TOKEN_REVOKED'],
      ];
      for (const [token, code] of cases) {
        const answer = await join(token, 'edge-bad-token');
        assert.equal(answer.status, 401, token);
        assert.equal(answer.json['code'], code, token);
      }
      // A revoked token with the wrong secret does not tell it was revoked.
      assert.equal((await join(`${digest}.${revoked.id}.${'0'.repeat(16)}`, 'edge-bad-token')).json['code'], 'JOIN_TOKEN_INVALID');
      assert.equal((await join(valid.token, 'edge-good-token')).status, 200);
    } finally {
      clock -= 120_000;
    }
  });

  test('JOIN_NAME: a name is held by its key: the same key may join again, another is refused until the holder expires', async () => {
    const { token } = await tokens.create();
    const key = await generateKeyPair();
    assert.equal((await join(token, 'edge-held', key)).status, 200);
    assert.equal((await join(token, 'edge-held', key)).status, 200);
    const other = await join(token, 'edge-held');
    assert.equal(other.status, 409);
    assert.equal(other.json['code'], 'JOIN_NODE_NAME_TAKEN');
    clock += 31 * 86_400_000;
    try {
      const fresh = await tokens.create();
      assert.equal((await join(fresh.token, 'edge-held')).status, 200, 'the old certificate expired, so the name is free');
    } finally {
      clock -= 31 * 86_400_000;
    }
    // Deleting the record frees the name at once.
    await cloud.client.resource('', 'v1', 'secrets').delete(TOKEN_NAMESPACE, NodeIdentities.recordName('edge-held'));
    assert.equal((await join(token, 'edge-held')).status, 200);
  });

  test('JOIN_RACE: of two keys joining one name at once, exactly one wins', async () => {
    const { token } = await tokens.create();
    const answers = await Promise.all([join(token, 'edge-race'), join(token, 'edge-race'), join(token, 'edge-race')]);
    assert.deepEqual(answers.map((a) => a.status).sort(), [200, 409, 409]);
  });

  test('JOIN_BAD_REQUEST: malformed requests are refused with a code, never a crash', async () => {
    const { token } = await tokens.create();
    const wrongCn = await join(token, 'edge-cn', undefined, 'system:node:someone-else');
    assert.equal(wrongCn.status, 400);
    assert.equal(wrongCn.json['code'], 'JOIN_BAD_REQUEST');
    const cases: [string, string, string | Buffer | undefined, number][] = [
      ['POST', JOIN_PATH, 'not json', 400],
      ['POST', JOIN_PATH, JSON.stringify({ token, nodeName: 'Bad_Name', csr: 'x' }), 400],
      ['POST', JOIN_PATH, JSON.stringify({ token, nodeName: 'edge-x', csr: 'not a csr' }), 400],
      ['POST', JOIN_PATH, JSON.stringify([1]), 400],
      ['POST', JOIN_PATH, Buffer.alloc(70 * 1024, 0x20), 413],
      ['GET', JOIN_PATH, undefined, 405],
      ['POST', JOIN_CA_PATH, '', 405],
      ['GET', '/nothing', undefined, 404],
    ];
    for (const [method, path, body, status] of cases) {
      const answer = await call(service.port, method, path, body);
      assert.equal(answer.status, status, `${method} ${path}: ${answer.body}`);
      assert.equal((JSON.parse(answer.body) as { code: string }).code, 'JOIN_BAD_REQUEST');
    }
    assert.equal((await call(service.port, 'GET', '/healthz')).status, 200);
  });
});
