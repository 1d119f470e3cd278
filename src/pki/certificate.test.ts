 
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import * as tls from 'node:tls';
import { createCa, issueClientCertificate, issueServingCertificate, keyMatchesCertificate, loadCa, type CertificateAuthority } from './certificate.ts';
import { CertificateError } from './errors.ts';
import { openssl, tempDir } from './test-helpers.ts';
import { inspectCertificate, verifyCertificate } from './verify.ts';

const DAY = 24 * 60 * 60 * 1000;

function rejection(reason: string): (err: unknown) => boolean {
  return (err) => err instanceof CertificateError && err.code === 'PKI_INVALID_CERTIFICATE' && err.reason === reason;
}

/** Connects with node:tls to a server using `serving` and returns the handshake outcome. */
async function handshake(ca: CertificateAuthority, serving: { certPem: string; keyPem: string }, host: string, servername?: string): Promise<{ authorized: boolean; error?: string }> {
  const server = tls.createServer({ cert: serving.certPem, key: serving.keyPem }, (s) => s.end());
  server.listen(0, host);
  await once(server, 'listening');
  try {
    const { port } = server.address() as AddressInfo;
    const socket = tls.connect({ host, port, ca: ca.certPem, servername, rejectUnauthorized: false });
    await once(socket, 'secureConnect');
    const result = { authorized: socket.authorized, error: socket.authorizationError?.message };
    socket.destroy();
    return result;
  } finally {
    server.close();
  }
}

describe('createCa', () => {
  it('makes a 10-year self-signed CA that openssl reads as a CA able to sign certificates', async () => {
    await using dir = await tempDir();
    const ca = await createCa();
    const text = await openssl(['x509', '-noout', '-text', '-in', await dir.file('ca.crt', ca.certPem)]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /CA:TRUE/);
    assert.match(text.stdout, /Certificate Sign/);
    assert.match(text.stdout, /Subject: CN ?= ?kedge-ca/);
    assert.match(text.stdout, /ecdsa-with-SHA256/);
    const self = await openssl(['verify', '-CAfile', await dir.file('ca2.crt', ca.certPem), await dir.file('ca3.crt', ca.certPem)]);
    assert.equal(self.code, 0, self.stderr);
    const years = (ca.certificate.validToDate.getTime() - Date.now()) / (365 * DAY);
    assert.ok(years > 9.9 && years < 10.1, `CA lives ${years} years`);
  });

  it('writes a PKCS#8 key that openssl accepts as the CA key', async () => {
    await using dir = await tempDir();
    const ca = await createCa();
    assert.match(ca.keyPem, /^-----BEGIN PRIVATE KEY-----\n/);
    const fromKey = await openssl(['pkey', '-pubout', '-in', await dir.file('ca.key', ca.keyPem)]);
    const fromCert = await openssl(['x509', '-pubkey', '-noout', '-in', await dir.file('ca.crt', ca.certPem)]);
    assert.equal(fromKey.stdout, fromCert.stdout);
  });
});

describe('loadCa', () => {
  it('round-trips a CA kedge made', async () => {
    const ca = await createCa({ commonName: 'round-trip' });
    const again = await loadCa(ca.certPem, ca.keyPem);
    const leaf = await issueClientCertificate(again, { commonName: 'u' });
    assert.equal(verifyCertificate(ca, leaf.certPem).commonName, 'u');
  });

  it('signs with an openssl CA (SEC1 key, PrintableString names) certificates openssl verifies', async () => {
    await using dir = await tempDir();
    const cnf = await dir.file(
      'ca.cnf',
      ['[req]', 'distinguished_name = dn', 'string_mask = nombstr', 'x509_extensions = v3', '[dn]', '[v3]', 'basicConstraints = critical,CA:TRUE', 'keyUsage = critical,keyCertSign,cRLSign', 'subjectKeyIdentifier = hash'].join('\n'),
    );
    const keyPath = `${dir.path}/ca.key`;
    assert.equal((await openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', keyPath])).code, 0);
    const req = await openssl(['req', '-x509', '-new', '-config', cnf, '-key', keyPath, '-subj', '/O=Example Org/CN=external-ca', '-days', '30']);
    assert.equal(req.code, 0, req.stderr);
    const { readFile } = await import('node:fs/promises');
    const keyPem = await readFile(keyPath, 'utf8');
    assert.match(keyPem, /BEGIN EC PRIVATE KEY/);
    const ca = await loadCa(req.stdout, keyPem);
    const serving = await issueServingCertificate(ca, { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
    const verified = await openssl(['verify', '-purpose', 'sslserver', '-CAfile', await dir.file('ca.crt', req.stdout), await dir.file('s.crt', serving.certPem)]);
    assert.equal(verified.code, 0, verified.stdout + verified.stderr);
    assert.equal((await handshake(ca, serving, '127.0.0.1', 'localhost')).authorized, true);
  });

  it('refuses a key that is not the certificate’s', async () => {
    const a = await createCa();
    const b = await createCa();
    await assert.rejects(loadCa(a.certPem, b.keyPem), rejection('key-mismatch'));
  });

  it('refuses a leaf certificate as CA and garbage as key', async () => {
    const ca = await createCa();
    const leaf = await issueClientCertificate(ca, { commonName: 'x' });
    await assert.rejects(loadCa(leaf.certPem, leaf.keyPem), rejection('not-a-ca'));
    await assert.rejects(loadCa(ca.certPem, 'not a key'), rejection('invalid-key'));
    await assert.rejects(loadCa('not a cert', ca.keyPem), rejection('malformed'));
  });
});

describe('issueServingCertificate', () => {
  it('carries the SANs and passes TLS host checks by name, IPv4 and IPv6', async () => {
    const ca = await createCa();
    const serving = await issueServingCertificate(ca, { dnsNames: ['localhost', 'API.Example.com'], ipAddresses: ['127.0.0.1', '0:0:0:0:0:0:0:1'] });
    const info = inspectCertificate(serving.certPem);
    assert.deepEqual(info.dnsNames, ['localhost', 'api.example.com']);
    assert.deepEqual(info.ipAddresses, ['127.0.0.1', '::1']);
    assert.deepEqual(info.usages, ['server auth']);
    assert.equal((await handshake(ca, serving, '127.0.0.1', 'localhost')).authorized, true);
    assert.equal((await handshake(ca, serving, '127.0.0.1')).authorized, true);
    assert.equal((await handshake(ca, serving, '::1')).authorized, true);
    const wrongName = await handshake(ca, serving, '127.0.0.1', 'other.example.com');
    assert.equal(wrongName.authorized, false);
  });

  it('is valid for one year and openssl accepts it for sslserver but not sslclient', async () => {
    await using dir = await tempDir();
    const ca = await createCa();
    const serving = await issueServingCertificate(ca, { dnsNames: ['localhost'] });
    const days = (inspectCertificate(serving.certPem).notAfter.getTime() - Date.now()) / DAY;
    assert.ok(days > 364 && days <= 365, `${days} days`);
    const caFile = await dir.file('ca.crt', ca.certPem);
    const certFile = await dir.file('s.crt', serving.certPem);
    assert.equal((await openssl(['verify', '-purpose', 'sslserver', '-CAfile', caFile, certFile])).code, 0);
    assert.notEqual((await openssl(['verify', '-purpose', 'sslclient', '-CAfile', caFile, certFile])).code, 0);
  });

  it('never outlives its CA', async () => {
    const ca = await createCa({ validityDays: 30 });
    const serving = await issueServingCertificate(ca, { dnsNames: ['localhost'], validityDays: 365 });
    assert.equal(inspectCertificate(serving.certPem).notAfter.getTime(), ca.certificate.validToDate.getTime());
  });

  it('refuses invalid SANs and an empty SAN list', async () => {
    const ca = await createCa();
    await assert.rejects(issueServingCertificate(ca, {}), rejection('invalid-request'));
    await assert.rejects(issueServingCertificate(ca, { dnsNames: ['has space'] }), rejection('invalid-request'));
    await assert.rejects(issueServingCertificate(ca, { ipAddresses: ['300.1.1.1'] }), rejection('invalid-request'));
  });
});

describe('issueClientCertificate', () => {
  it('puts the user in CN and the groups in O, for client auth only', async () => {
    await using dir = await tempDir();
    const ca = await createCa();
    const admin = await issueClientCertificate(ca, { commonName: 'kedge-admin', organizations: ['system:masters', 'team-a'] });
    const info = verifyCertificate(ca, admin.certPem, { usage: 'client auth' });
    assert.equal(info.commonName, 'kedge-admin');
    assert.deepEqual(info.organizations, ['system:masters', 'team-a']);
    assert.throws(() => verifyCertificate(ca, admin.certPem, { usage: 'server auth' }), rejection('wrong-usage'));
    const subject = await openssl(['x509', '-noout', '-subject', '-nameopt', 'RFC2253', '-in', await dir.file('a.crt', admin.certPem)]);
    assert.equal(subject.stdout.trim(), 'subject=CN=kedge-admin,O=team-a,O=system:masters');
    const verified = await openssl(['verify', '-purpose', 'sslclient', '-CAfile', await dir.file('ca.crt', ca.certPem), await dir.file('b.crt', admin.certPem)]);
    assert.equal(verified.code, 0, verified.stderr);
  });

  it('issues RSA-2048 certificates when asked', async () => {
    const ca = await createCa();
    const cert = await issueClientCertificate(ca, { commonName: 'rsa-user', keyAlgorithm: 'RSA-2048' });
    assert.match(cert.keyPem, /BEGIN PRIVATE KEY/);
    assert.equal(verifyCertificate(ca, cert.certPem).commonName, 'rsa-user');
  });
});

describe('keyMatchesCertificate', () => {
  it('pairs a certificate with its own key only', async () => {
    const ca = await createCa();
    const a = await issueClientCertificate(ca, { commonName: 'a' });
    const b = await issueClientCertificate(ca, { commonName: 'b' });
    assert.equal(keyMatchesCertificate(a.certPem, a.keyPem), true);
    assert.equal(keyMatchesCertificate(a.certPem, b.keyPem), false);
    assert.equal(keyMatchesCertificate(a.certPem, 'garbage'), false);
  });
});

describe('verifyCertificate', () => {
  it('refuses a certificate from another CA', async () => {
    const ca = await createCa();
    const other = await createCa();
    const foreign = await issueClientCertificate(other, { commonName: 'mallory', organizations: ['system:masters'] });
    assert.throws(() => verifyCertificate(ca, foreign.certPem), rejection('unknown-authority'));
  });

  it('refuses a certificate with a forged signature', async () => {
    const ca = await createCa();
    const cert = await issueClientCertificate(ca, { commonName: 'x' });
    const { X509Certificate } = await import('node:crypto');
    const der = Buffer.from(new X509Certificate(cert.certPem).raw);
    // The last byte belongs to the signature value; the TBS part, names and key ids stay intact.
    der[der.length - 1] = (der[der.length - 1] ?? 0) ^ 0x01;
    assert.throws(() => verifyCertificate(ca, new X509Certificate(der)), rejection('bad-signature'));
  });

  it('refuses expired and not-yet-valid certificates', async () => {
    const ca = await createCa({ now: new Date(Date.now() - 1000 * DAY) });
    const old = await issueClientCertificate(ca, { commonName: 'old', validityDays: 1, now: new Date(Date.now() - 10 * DAY) });
    assert.throws(() => verifyCertificate(ca, old.certPem), rejection('expired'));
    const current = await issueClientCertificate(ca, { commonName: 'now' });
    assert.throws(() => verifyCertificate(ca, current.certPem, { now: new Date(Date.now() - DAY) }), rejection('not-yet-valid'));
  });

  it('refuses a certificate signed by an expired CA', async () => {
    const ca = await createCa({ validityDays: 10, now: new Date(Date.now() - 5 * DAY) });
    const cert = await issueClientCertificate(ca, { commonName: 'late' });
    assert.throws(() => verifyCertificate(ca, cert.certPem, { now: new Date(Date.now() + 6 * DAY) }), rejection('expired'));
    await assert.rejects(issueClientCertificate(ca, { commonName: 'later', now: new Date(Date.now() + 6 * DAY) }), rejection('expired'));
  });
});
