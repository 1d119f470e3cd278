import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { caCertificateDigest } from '../../pki/index.ts';
import { decodeJoinToken } from '../../protocol/codec.ts';
import { TestCloud } from '../hub/testing.ts';
import { BOOTSTRAP_TOKEN_TYPE, BootstrapTokens, TOKEN_NAMESPACE, TOKEN_RETENTION_MS, type SecretObject } from './tokens.ts';

describe('bootstrap tokens', () => {
  let cloud: TestCloud;
  let tokens: BootstrapTokens;
  let clock = Date.parse('2026-03-01T10:00:00Z');

  before(async () => {
    cloud = await TestCloud.start();
    tokens = new BootstrapTokens({ secrets: cloud.client.resource<SecretObject>('', 'v1', 'secrets'), caDigest: caCertificateDigest(cloud.credentials.caCertPem), now: () => new Date(clock) });
  });
  after(async () => cloud.close());

  test('a token is stored as a bootstrap-token Secret holding only a hash of its secret', async () => {
    const created = await tokens.create({ ttlMs: 2 * 3_600_000, description: 'for the lab' });
    const parsed = decodeJoinToken(created.token);
    assert.ok(parsed !== undefined);
    assert.equal(parsed.caDigest, caCertificateDigest(cloud.credentials.caCertPem));
    assert.equal(parsed.id, created.id);
    const secret = await cloud.client.resource<SecretObject>('', 'v1', 'secrets').get(TOKEN_NAMESPACE, `bootstrap-token-${created.id}`);
    assert.equal(secret?.type, BOOTSTRAP_TOKEN_TYPE);
    const data = Object.fromEntries(Object.entries(secret?.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]));
    assert.deepEqual(data, {
      'token-id': created.id,
      'token-secret-sha256': createHash('sha256').update(parsed.secret).digest('hex'),
      'usage-bootstrap-edge-join': 'true',
      expiration: '2026-03-01T12:00:00Z',
      description: 'for the lab',
    });
    assert.ok(!JSON.stringify(secret).includes(parsed.secret), 'the secret itself is never stored');
    assert.equal(await tokens.verify(created.token), created.id);
  });

  test('list shows every token with expiry, revocation and usages; revoke keeps the record', async () => {
    const forever = await tokens.create({ ttlMs: 0 });
    const revoked = await tokens.create();
    assert.equal(await tokens.revoke(revoked.id), true);
    assert.equal(await tokens.revoke(revoked.id), true, 'revoking twice is fine');
    assert.equal(await tokens.revoke('nope00'), false);
    const listed = await tokens.list();
    const f = listed.find((t) => t.id === forever.id);
    const r = listed.find((t) => t.id === revoked.id);
    assert.equal(f?.expires, undefined);
    assert.equal(f?.revoked, undefined);
    assert.deepEqual(f?.usages, ['edge-join']);
    assert.equal(r?.revoked?.getTime(), clock);
    assert.deepEqual(
      listed.map((t) => t.id),
      [...listed.map((t) => t.id)].sort(),
    );
  });

  test('clean-up removes tokens a week after they expired or were revoked, and only those', async () => {
    const expiring = await tokens.create({ ttlMs: 1000 });
    const revoked = await tokens.create({ ttlMs: 0 });
    await tokens.revoke(revoked.id);
    const live = await tokens.create({ ttlMs: TOKEN_RETENTION_MS * 4 });
    assert.deepEqual(await tokens.cleanUp(), []);
    clock += TOKEN_RETENTION_MS + 2000;
    try {
      const deleted = await tokens.cleanUp();
      assert.ok(deleted.includes(expiring.id));
      assert.ok(deleted.includes(revoked.id));
      assert.ok(!deleted.includes(live.id));
      const ids = (await tokens.list()).map((t) => t.id);
      assert.ok(ids.includes(live.id));
      assert.ok(!ids.includes(expiring.id));
    } finally {
      clock -= TOKEN_RETENTION_MS + 2000;
    }
  });
});
