import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { caCertificateDigest } from '../../pki/index.ts';
import { TestCloud } from '../../cloud/hub/testing.ts';
import { BootstrapTokens, type SecretObject } from '../../cloud/join/index.ts';
import { tokenCommand } from './token.ts';

/** Runs `kedge token <args>` against the test cloud; returns exit code and output. */
async function run(kubeconfig: string, positionals: string[], values: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  stdout.on('data', (c: Buffer) => out.push(c));
  stderr.on('data', (c: Buffer) => err.push(c));
  const code = await tokenCommand.run({ values: { 'data-dir': '/nonexistent', ttl: '24h', kubeconfig, ...values }, positionals, signal: new AbortController().signal, stdout, stderr });
  return { code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() };
}

describe('kedge token', () => {
  let cloud: TestCloud;
  let kubeconfig: string;
  let tokens: BootstrapTokens;

  before(async () => {
    cloud = await TestCloud.start();
    kubeconfig = await cloud.credentials.writeAdminKubeconfig(`https://127.0.0.1:${cloud.api.port}`);
    tokens = new BootstrapTokens({ secrets: cloud.client.resource<SecretObject>('', 'v1', 'secrets'), caDigest: caCertificateDigest(cloud.credentials.caCertPem) });
  });
  after(async () => cloud.close());

  test('create prints a token the join service accepts; list shows it; revoke ends it', async () => {
    const created = await run(kubeconfig, ['create'], { ttl: '2h', description: 'cli test' });
    assert.equal(created.code, 0, created.stderr);
    const token = created.stdout.trim();
    assert.match(token, /^[0-9a-f]{64}\.[a-z0-9]{6}\.[a-z0-9]{16}$/);
    assert.match(created.stderr, /kedge edge join --cloud 127\.0\.0\.1 --token /);
    const id = await tokens.verify(token);

    const forever = await run(kubeconfig, ['create'], { ttl: '0' });
    const listed = await run(kubeconfig, ['list']);
    assert.equal(listed.code, 0);
    const lines = listed.stdout.trim().split('\n');
    assert.match(lines[0]!, /^ID\s+TTL\s+EXPIRES\s+USAGES\s+DESCRIPTION$/);
    assert.match(lines.find((l) => l.startsWith(id))!, new RegExp(`^${id}\\s+1h\\s+\\S+Z\\s+edge-join\\s+cli test$`));
    assert.match(lines.find((l) => l.startsWith(forever.stdout.split('.')[1]!))!, /<forever>\s+<never>/);

    assert.deepEqual(await run(kubeconfig, ['revoke', id]), { code: 0, stdout: `token ${id} revoked\n`, stderr: '' });
    await assert.rejects(tokens.verify(token), (err: unknown) => (err as { code?: string }).code === 'JOIN_TOKEN_REVOKED');
    assert.match((await run(kubeconfig, ['list'])).stdout, new RegExp(`${id}\\s+<revoked>`));
    assert.equal((await run(kubeconfig, ['revoke', 'zzzzzz'])).code, 1);
  });

  test('usage mistakes exit 2 with a message', async () => {
    for (const [args, values] of [[[], {}], [['bogus'], {}], [['revoke'], {}], [['list', 'extra'], {}], [['create'], { ttl: 'soon' }]] as [string[], Record<string, string>][]) {
      const r = await run(kubeconfig, args, values);
      assert.equal(r.code, 2, args.join(' '));
      assert.match(r.stderr, /^kedge token: /);
    }
  });
});
