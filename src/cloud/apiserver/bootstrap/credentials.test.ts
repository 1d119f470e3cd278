 
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { access, readdir, readFile, realpath, rm, stat, writeFile } from 'node:fs/promises';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { hasCode } from '../../../errors/platform-error.ts';
import { silentLogger } from '../../../log/logger.ts';
import { createCa, issueServingCertificate } from '../../../pki/certificate.ts';
import { CertificateError } from '../../../pki/errors.ts';
import { caPublicKeyPin } from '../../../pki/pin.ts';
import { tempDir } from '../../../pki/test-helpers.ts';
import { inspectCertificate, verifyCertificate } from '../../../pki/verify.ts';
import { Authenticator } from '../auth/authenticator.ts';
import { TokenStore, readTokenFile } from '../auth/token-store.ts';
import { ensureCloudCredentials, type CloudCredentialsOptions } from './credentials.ts';
import { writeKubeconfig } from './kubeconfig.ts';

const run = promisify(execFile);
const host = { hostname: 'Cloud-1', addresses: ['192.0.2.10', 'fd00::10', 'fe80::1%eth0'] };
const DAY = 86_400_000;

function options(dataDir: string, more: Partial<CloudCredentialsOptions> = {}): CloudCredentialsOptions {
  return { dataDir, tlsSans: [], log: silentLogger(), host, ...more };
}

describe('ensureCloudCredentials', () => {
  it('creates CA, serving and admin certificates, token and kubeconfig on first start, private to the owner', async () => {
    await using dir = await tempDir();
    const dataDir = `${dir.path}/data`;
    const creds = await ensureCloudCredentials(options(dataDir, { tlsSans: ['api.example.com', '203.0.113.5'], serverUrl: 'https://127.0.0.1:6443' }));

    const serving = verifyCertificate(creds.ca, creds.servingCertPem, { usage: 'server auth' });
    assert.deepEqual(serving.dnsNames, ['localhost', 'cloud-1', 'api.example.com']);
    assert.deepEqual(serving.ipAddresses, ['127.0.0.1', '::1', '192.0.2.10', 'fd00::10', 'fe80::1', '203.0.113.5']);
    const admin = verifyCertificate(creds.ca, creds.adminCertPem, { usage: 'client auth' });
    assert.equal(admin.commonName, 'kedge-admin');
    assert.deepEqual(admin.organizations, ['system:masters']);
    assert.equal(creds.caPin, caPublicKeyPin(creds.caCertPem));

    const tokens = await readTokenFile(creds.tokensPath);
    assert.deepEqual(tokens, [{ token: creds.adminToken, user: 'kedge-admin', groups: ['system:masters'] }]);

    assert.equal((await stat(dataDir)).mode & 0o777, 0o700);
    assert.equal((await stat(creds.paths.pkiDir)).mode & 0o777, 0o700);
    assert.deepEqual((await readdir(creds.paths.pkiDir)).sort(), ['admin.crt', 'admin.key', 'apiserver.crt', 'apiserver.key', 'ca.crt', 'ca.key', 'tokens.json']);
    for (const f of [...(await readdir(creds.paths.pkiDir)).map((n) => `${creds.paths.pkiDir}/${n}`), creds.paths.kubeconfig]) {
      assert.equal((await stat(f)).mode & 0o777, 0o600, f);
    }
    assert.match(await readFile(creds.paths.kubeconfig, 'utf8'), /server: https:\/\/127\.0\.0\.1:6443/);
  });

  it('reuses everything on later starts', async () => {
    await using dir = await tempDir();
    const first = await ensureCloudCredentials(options(dir.path, { tlsSans: ['api.example.com'] }));
    const servingMtime = (await stat(first.paths.servingCert)).mtimeMs;
    const second = await ensureCloudCredentials(options(dir.path, { tlsSans: ['API.example.com'] }));
    assert.equal(second.caCertPem, first.caCertPem);
    assert.equal(second.ca.keyPem, first.ca.keyPem);
    assert.equal(second.servingCertPem, first.servingCertPem);
    assert.equal(second.adminCertPem, first.adminCertPem);
    assert.equal(second.adminToken, first.adminToken);
    assert.equal((await stat(first.paths.servingCert)).mtimeMs, servingMtime);
  });

  it('reissues the serving certificate from the same CA when a wanted SAN is not covered', async () => {
    await using dir = await tempDir();
    const first = await ensureCloudCredentials(options(dir.path));
    const second = await ensureCloudCredentials(options(dir.path, { tlsSans: ['10.1.2.3'] }));
    assert.notEqual(second.servingCertPem, first.servingCertPem);
    assert.equal(second.caCertPem, first.caCertPem);
    assert.equal(second.adminCertPem, first.adminCertPem);
    assert.ok(verifyCertificate(first.ca, second.servingCertPem).ipAddresses.includes('10.1.2.3'));
    const moved = await ensureCloudCredentials(options(dir.path, { tlsSans: ['10.1.2.3'], host: { hostname: 'cloud-1', addresses: ['198.51.100.7'] } }));
    assert.ok(inspectCertificate(moved.servingCertPem).ipAddresses.includes('198.51.100.7'));
  });

  it('replaces a serving certificate from another CA, with a mismatched key, or close to expiry', async () => {
    await using dir = await tempDir();
    const first = await ensureCloudCredentials(options(dir.path));
    const foreign = await issueServingCertificate(await createCa(), { dnsNames: ['localhost'] });
    await writeFile(first.paths.servingCert, foreign.certPem);
    await writeFile(first.paths.servingKey, foreign.keyPem);
    const second = await ensureCloudCredentials(options(dir.path));
    assert.doesNotThrow(() => verifyCertificate(first.ca, second.servingCertPem));

    await writeFile(first.paths.servingKey, foreign.keyPem);
    const third = await ensureCloudCredentials(options(dir.path));
    assert.notEqual(third.servingKeyPem, foreign.keyPem);

    const later = await ensureCloudCredentials(options(dir.path, { now: () => new Date(Date.now() + 340 * DAY) }));
    assert.notEqual(later.servingCertPem, third.servingCertPem);
    assert.notEqual(later.adminCertPem, third.adminCertPem);
    assert.equal(later.caCertPem, first.caCertPem);
  });

  it('keeps other users’ tokens when it adds the admin token', async () => {
    await using dir = await tempDir();
    const { paths } = await ensureCloudCredentials(options(dir.path));
    await writeFile(paths.tokens, JSON.stringify({ tokens: [{ token: 'a-token-for-ci-0123456789', user: 'ci', groups: [] }] }));
    const creds = await ensureCloudCredentials(options(dir.path));
    const users = (await readTokenFile(paths.tokens)).map((t) => t.user);
    assert.deepEqual(users, ['ci', 'kedge-admin']);
    assert.equal((await TokenStore.load(paths.tokens)).lookup(creds.adminToken)?.name, 'kedge-admin');
  });

  it('refuses invalid --tls-san values', async () => {
    await using dir = await tempDir();
    await assert.rejects(ensureCloudCredentials(options(dir.path, { tlsSans: ['not a name'] })), (e) => hasCode(e, 'CONFIG_INVALID'));
  });

  it('never replaces a CA whose key went missing', async () => {
    await using dir = await tempDir();
    const { paths } = await ensureCloudCredentials(options(dir.path));
    await rm(paths.caKey);
    await assert.rejects(ensureCloudCredentials(options(dir.path)), (e) => e instanceof CertificateError && e.reason === 'invalid-key');
  });
});

/** `kubectl` and, when the machine has it beside kubectl, the oldest version kedge supports. */
async function kubectls(): Promise<string[]> {
  const { stdout } = await run('sh', ['-c', 'command -v kubectl']);
  const oldest = join(dirname(await realpath(stdout.trim())), 'kubectl.1.27');
  return (await access(oldest).then(() => true, () => false)) ? ['kubectl', oldest] : ['kubectl'];
}

describe('admin kubeconfig with the real kubectl', () => {
  it('lets kubectl reach a server using the serving certificate, as kedge-admin by certificate and by token', async () => {
    await using dir = await tempDir();
    const creds = await ensureCloudCredentials(options(dir.path, { host: { hostname: 'cloud-1', addresses: [] } }));
    const authenticator = new Authenticator({ clientCa: creds.caCertPem, tokens: await TokenStore.load(creds.tokensPath), log: silentLogger() });
    const server = https.createServer({ key: creds.servingKeyPem, cert: creds.servingCertPem, requestCert: true, rejectUnauthorized: false }, (req, res) => {
      const user = authenticator.authenticate(req);
      res.writeHead(user === undefined ? 401 : 200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(user === undefined ? { kind: 'Status', code: 401 } : { user: user.name, path: req.url }));
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const port = (server.address() as AddressInfo).port;
      const kubeconfig = await creds.writeAdminKubeconfig(`https://127.0.0.1:${port}`);
      for (const kubectl of await kubectls()) {
        const { stdout } = await run(kubectl, ['--kubeconfig', kubeconfig, 'get', '--raw', '/version'], { timeout: 30_000 });
        assert.deepEqual(JSON.parse(stdout), { user: 'kedge-admin', path: '/version' }, kubectl);
      }
      const { stdout: context } = await run('kubectl', ['--kubeconfig', kubeconfig, 'config', 'current-context']);
      assert.equal(context.trim(), 'kedge');

      const tokenConfig = `${dir.path}/token-kubeconfig`;
      await writeKubeconfig(tokenConfig, { server: `https://localhost:${port}`, caCertPem: creds.caCertPem, user: 'kedge-admin', credentials: { token: creds.adminToken } });
      const { stdout } = await run('kubectl', ['--kubeconfig', tokenConfig, 'get', '--raw', '/apis'], { timeout: 30_000 });
      assert.deepEqual(JSON.parse(stdout), { user: 'kedge-admin', path: '/apis' });
    } finally {
      server.close();
    }
  });
});
