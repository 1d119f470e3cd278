 
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { createCa } from './certificate.ts';
import { createCsr, parseCsr, signCsr, type SignCsrOptions } from './csr.ts';
import { CsrError } from './errors.ts';
import { exportPublicKeyPem, generateKeyPair } from './keys.ts';
import { encodePem, firstPemBlock } from './pem.ts';
import { openssl, tempDir } from './test-helpers.ts';
import { inspectCertificate, verifyCertificate } from './verify.ts';

const NODE_CERT: SignCsrOptions = { commonName: 'system:node:edge-1', organizations: ['system:nodes'], usages: ['client auth'] };

function rejection(reason: string): (err: unknown) => boolean {
  return (err) => err instanceof CsrError && err.code === 'PKI_INVALID_CSR' && err.reason === reason;
}

async function opensslCsr(dir: { path: string }, subject: string, keyArgs: string[], extra: string[] = []): Promise<string> {
  const keyPath = `${dir.path}/k-${Math.random().toString(36).slice(2)}.key`;
  const r = await openssl(['req', '-new', '-newkey', ...keyArgs, '-nodes', '-keyout', keyPath, '-subj', subject, ...extra]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout;
}

describe('createCsr', () => {
  it('makes a CSR openssl verifies, with the subject asked for', async () => {
    await using dir = await tempDir();
    const csr = await createCsr({ commonName: 'system:node:edge-1', organizations: ['system:nodes'], key: await generateKeyPair() });
    const r = await openssl(['req', '-verify', '-noout', '-subject', '-nameopt', 'RFC2253', '-in', await dir.file('n.csr', csr)]);
    assert.equal(r.code, 0, r.stderr);
    // OpenSSL 3.0 exits 0 on a bad signature too; what it prints is the verdict.
    assert.match(r.stdout + r.stderr, /verify OK/);
    assert.match(r.stdout, /subject=CN=system:node:edge-1,O=system:nodes/);
  });
});

describe('signCsr', () => {
  it('issues a node client certificate that chains to the CA', async () => {
    await using dir = await tempDir();
    const ca = await createCa();
    const key = await generateKeyPair();
    const certPem = await signCsr(ca, await createCsr({ commonName: 'system:node:edge-1', organizations: ['system:nodes'], key }), NODE_CERT);
    const info = verifyCertificate(ca, certPem, { usage: 'client auth' });
    assert.equal(info.commonName, 'system:node:edge-1');
    assert.deepEqual(info.organizations, ['system:nodes']);
    const days = (info.notAfter.getTime() - Date.now()) / 86_400_000;
    assert.ok(days > 364 && days <= 365);
    // The certificate is for the CSR's key, not a key the signer made up.
    const certKey = await openssl(['x509', '-pubkey', '-noout', '-in', await dir.file('c.crt', certPem)]);
    assert.equal(certKey.stdout, await exportPublicKeyPem(key.publicKey));
  });

  it('accepts a KubeEdge-style openssl CSR but copies neither its extra subject fields nor its SANs', async () => {
    await using dir = await tempDir();
    const ca = await createCa();
    const csr = await opensslCsr(dir, '/C=CN/ST=Zhejiang/L=Hangzhou/O=system:nodes/CN=system:node:edge-1', ['ec', '-pkeyopt', 'ec_paramgen_curve:P-256'], ['-addext', 'subjectAltName=DNS:evil.example.com,IP:10.9.9.9', '-addext', 'basicConstraints=critical,CA:TRUE']);
    const cert = inspectCertificate(await signCsr(ca, csr, NODE_CERT));
    assert.equal(cert.commonName, 'system:node:edge-1');
    assert.deepEqual(cert.dnsNames, []);
    assert.deepEqual(cert.ipAddresses, []);
    assert.equal(cert.isCa, false);
  });

  it('puts the SANs the signer chose into a serving certificate', async () => {
    const ca = await createCa();
    const csr = await createCsr({ commonName: 'edge-1', key: await generateKeyPair() });
    const cert = inspectCertificate(await signCsr(ca, csr, { commonName: 'edge-1', organizations: [], usages: ['server auth'], dnsNames: ['edge-1'], ipAddresses: ['10.0.0.7'] }));
    assert.deepEqual(cert.dnsNames, ['edge-1']);
    assert.deepEqual(cert.ipAddresses, ['10.0.0.7']);
    assert.deepEqual(cert.usages, ['server auth']);
  });

  it('accepts RSA-2048 and P-384 keys', async () => {
    await using dir = await tempDir();
    const ca = await createCa();
    for (const keyArgs of [['rsa:2048'], ['ec', '-pkeyopt', 'ec_paramgen_curve:P-384']]) {
      const csr = await opensslCsr(dir, '/O=system:nodes/CN=system:node:edge-1', keyArgs);
      assert.equal(verifyCertificate(ca, await signCsr(ca, csr, NODE_CERT)).commonName, 'system:node:edge-1');
    }
  });

  const mismatches: [string, { cn: string; o: string[] }][] = [
    ['another node name', { cn: 'system:node:edge-2', o: ['system:nodes'] }],
    ['an extra group', { cn: 'system:node:edge-1', o: ['system:nodes', 'system:masters'] }],
    ['a missing group', { cn: 'system:node:edge-1', o: [] }],
  ];
  for (const [name, subject] of mismatches) {
    it(`refuses a CSR that asks for ${name}`, async () => {
      const ca = await createCa();
      const csr = await createCsr({ commonName: subject.cn, organizations: subject.o, key: await generateKeyPair() });
      await assert.rejects(signCsr(ca, csr, NODE_CERT), rejection('subject-mismatch'));
    });
  }

  it('ignores the order of organizations', async () => {
    const ca = await createCa();
    const csr = await createCsr({ commonName: 'u', organizations: ['b', 'a'], key: await generateKeyPair() });
    assert.deepEqual(inspectCertificate(await signCsr(ca, csr, { commonName: 'u', organizations: ['a', 'b'], usages: ['client auth'] })).organizations, ['a', 'b']);
  });

  it('refuses weak keys, forged signatures, garbage and oversized input', async () => {
    await using dir = await tempDir();
    const ca = await createCa();
    const weak = await opensslCsr(dir, '/O=system:nodes/CN=system:node:edge-1', ['rsa:1024']);
    await assert.rejects(signCsr(ca, weak, NODE_CERT), rejection('unsupported-key'));

    const good = await createCsr({ commonName: 'system:node:edge-1', organizations: ['system:nodes'], key: await generateKeyPair() });
    const der = firstPemBlock(good, 'CERTIFICATE REQUEST')!;
    der[der.length - 1] = (der[der.length - 1] ?? 0) ^ 0x01;
    await assert.rejects(signCsr(ca, encodePem('CERTIFICATE REQUEST', der), NODE_CERT), rejection('bad-signature'));

    await assert.rejects(signCsr(ca, 'hello', NODE_CERT), rejection('malformed'));
    await assert.rejects(signCsr(ca, encodePem('CERTIFICATE REQUEST', Buffer.from('not asn.1')), NODE_CERT), rejection('malformed'));
    await assert.rejects(signCsr(ca, good + 'x'.repeat(20_000), NODE_CERT), rejection('too-large'));
  });

  it('refuses to sign without usages', async () => {
    const ca = await createCa();
    const csr = await createCsr({ commonName: 'u', key: await generateKeyPair() });
    await assert.rejects(signCsr(ca, csr, { commonName: 'u', organizations: [], usages: [] }), rejection('invalid-request'));
  });
});

describe('parseCsr', () => {
  it('reads the legacy NEW CERTIFICATE REQUEST label', async () => {
    const csr = await createCsr({ commonName: 'legacy', key: await generateKeyPair() });
    const legacy = csr.replaceAll('CERTIFICATE REQUEST', 'NEW CERTIFICATE REQUEST');
    const info = await parseCsr(legacy);
    assert.equal(info.commonName, 'legacy');
    assert.equal(info.keyDescription, 'ECDSA P-256');
  });

  it('reads a CSR file written by openssl', async () => {
    await using dir = await tempDir();
    const path = `${dir.path}/x.csr`;
    assert.equal((await openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${dir.path}/x.key`, '-subj', '/CN=file', '-out', path])).code, 0);
    assert.equal((await parseCsr(await readFile(path, 'utf8'))).commonName, 'file');
  });
});
