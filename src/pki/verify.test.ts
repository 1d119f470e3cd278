import assert from 'node:assert/strict';
import { X509Certificate as NodeX509Certificate } from 'node:crypto';
import { describe, it } from 'node:test';
import { createCa, issueClientCertificate, issueServingCertificate, loadCa, type CertificateAuthority } from './certificate.ts';
import { createCsr, signCsr } from './csr.ts';
import { CertificateError } from './errors.ts';
import { generateKeyPair } from './keys.ts';
import { canonicalIp } from './names.ts';
import { encodePem, firstPemBlock } from './pem.ts';
import { openssl, tempDir } from './test-helpers.ts';
import { inspectCertificate, keyMatchesCertificate, parseNodeCertificate, verifyCertificate, type CertificateInfo, type CertificateUsage } from './verify.ts';
import * as x509 from './x509.ts';

const DAY = 24 * 60 * 60 * 1000;

function rejection(reason: string): (err: unknown) => boolean {
  return (err) => err instanceof CertificateError && err.code === 'PKI_INVALID_CERTIFICATE' && err.reason === reason;
}

/**
 * What inspectCertificate returned when it read certificates with @peculiar/x509, every field
 * from that library (node:crypto's answers are what is under test).
 */
function inspectWithPeculiar(pem: string): CertificateInfo {
  const cert = new x509.X509Certificate(pem);
  const items = cert.getExtension(x509.SubjectAlternativeNameExtension)?.names.items ?? [];
  const eku = cert.getExtension(x509.ExtendedKeyUsageExtension);
  const byOid: Record<string, CertificateUsage> = { [x509.ExtendedKeyUsage.serverAuth]: 'server auth', [x509.ExtendedKeyUsage.clientAuth]: 'client auth' };
  return {
    commonName: cert.subjectName.getField('CN').at(-1) ?? '',
    organizations: [...cert.subjectName.getField('O')],
    dnsNames: items.filter((i) => i.type === 'dns').map((i) => i.value),
    ipAddresses: items.filter((i) => i.type === 'ip').map((i) => canonicalIp(i.value) ?? i.value),
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
    serialNumber: cert.serialNumber.toUpperCase(),
    isCa: cert.getExtension(x509.BasicConstraintsExtension)?.ca ?? false,
    usages: eku === null ? undefined : Array.from(eku.usages).flatMap((oid) => (typeof oid === 'string' && byOid[oid] !== undefined ? [byOid[oid]] : [])),
  };
}

/** Certificates of every kind the cloud issues, and two made by openssl. */
async function certificates(dir: { file(name: string, content: string): Promise<string> }): Promise<{ name: string; pem: string; ca: CertificateAuthority }[]> {
  const ca = await createCa();
  const csr = await createCsr({ commonName: 'system:node:edge-1', organizations: ['system:nodes'], key: await generateKeyPair() });
  const opensslCa = await loadCa(...(await opensslPair(dir, ['-x509', '-subj', '/O=Example Org/CN=external-ca', '-addext', 'basicConstraints=critical,CA:TRUE'])));
  // Multiple CNs (the last counts), separators inside values, no extended key usage at all.
  const [odd] = await opensslPair(dir, ['-x509', '-subj', '/O=a\\, b/O=c=d/CN=first/CN=we"ird, \\+x', '-addext', 'subjectAltName=DNS:a.example,IP:fe80::1']);
  return [
    { name: 'CA', pem: ca.certPem, ca },
    { name: 'serving', pem: (await issueServingCertificate(ca, { dnsNames: ['localhost', 'API.Example.com'], ipAddresses: ['127.0.0.1', '0:0:0:0:0:0:0:1', '10.1.2.3'] })).certPem, ca },
    { name: 'client', pem: (await issueClientCertificate(ca, { commonName: 'kedge-admin', organizations: ['system:masters', 'team-a'] })).certPem, ca },
    { name: 'RSA client', pem: (await issueClientCertificate(ca, { commonName: 'rsa-user', keyAlgorithm: 'RSA-2048' })).certPem, ca },
    { name: 'node (from a CSR)', pem: await signCsr(ca, csr, { commonName: 'system:node:edge-1', organizations: ['system:nodes'], usages: ['client auth', 'server auth'], dnsNames: ['edge-1'], ipAddresses: ['192.168.1.9'] }), ca },
    { name: 'openssl CA', pem: opensslCa.certPem, ca: opensslCa },
    { name: 'served by an openssl CA', pem: (await issueServingCertificate(opensslCa, { dnsNames: ['x.example'] })).certPem, ca: opensslCa },
    { name: 'openssl odd names', pem: odd, ca: opensslCa },
  ];
}

async function opensslPair(dir: { file(name: string, content: string): Promise<string> }, args: string[]): Promise<[string, string]> {
  const key = await openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout']);
  const r = await openssl(['req', '-new', '-key', await dir.file(`k${Math.random()}.pem`, key.stdout), '-days', '30', ...args]);
  assert.equal(r.code, 0, r.stderr);
  return [r.stdout, key.stdout];
}

describe('inspectCertificate on node:crypto', () => {
  it('reads every certificate as @peculiar/x509 does', async () => {
    await using dir = await tempDir();
    for (const { name, pem } of await certificates(dir)) {
      assert.deepEqual(inspectCertificate(pem), inspectWithPeculiar(pem), name);
    }
  });

  it('reads the fields the cloud put in', async () => {
    await using dir = await tempDir();
    const byName = new Map((await certificates(dir)).map((c) => [c.name, inspectCertificate(c.pem)]));
    assert.deepEqual(byName.get('serving')?.ipAddresses, ['127.0.0.1', '::1', '10.1.2.3']);
    assert.deepEqual(byName.get('serving')?.dnsNames, ['localhost', 'api.example.com']);
    assert.deepEqual(byName.get('client')?.organizations, ['system:masters', 'team-a']);
    assert.deepEqual(byName.get('node (from a CSR)')?.usages, ['client auth', 'server auth']);
    assert.equal(byName.get('CA')?.isCa, true);
    assert.equal(byName.get('CA')?.usages, undefined);
    assert.equal(byName.get('openssl odd names')?.commonName, 'we"ird, +x');
    assert.deepEqual(byName.get('openssl odd names')?.organizations, ['a, b', 'c=d']);
  });

  it('cannot be fooled by a DNS name that looks like two', async () => {
    await using dir = await tempDir();
    const cnf = await dir.file('san.cnf', ['[req]', 'distinguished_name = dn', '[dn]', '[ext]', 'subjectAltName = @alt', '[alt]', 'DNS.1 = a.example, DNS:b.example', 'IP.1 = 10.0.0.1'].join('\n'));
    const [pem] = await opensslPair(dir, ['-x509', '-config', cnf, '-extensions', 'ext', '-subj', '/CN=s']);
    assert.deepEqual(inspectCertificate(pem).dnsNames, ['a.example, DNS:b.example']);
    assert.deepEqual(inspectCertificate(pem), inspectWithPeculiar(pem));
  });

  it('refuses what is not a certificate', () => {
    assert.throws(() => inspectCertificate('hello'), rejection('malformed'));
    assert.throws(() => inspectCertificate(encodePem('CERTIFICATE', Buffer.from('not asn.1'))), rejection('malformed'));
    assert.throws(() => parseNodeCertificate(encodePem('PRIVATE KEY', Buffer.from([1, 2]))), rejection('malformed'));
  });
});

describe('verifyCertificate on node:crypto', () => {
  it('agrees with @peculiar/x509 on who signed what', async () => {
    await using dir = await tempDir();
    const certs = await certificates(dir);
    const cas = [...new Set(certs.map((c) => c.ca))];
    for (const { name, pem, ca } of certs) {
      const der = firstPemBlock(pem, 'CERTIFICATE')!;
      const forged = Buffer.from(der);
      forged[forged.length - 1] = (forged[forged.length - 1] ?? 0) ^ 0x01;
      for (const [variant, leaf] of [['as issued', der], ['forged', forged]] as const) {
        for (const candidate of cas) {
          const peculiar = new x509.X509Certificate(leaf);
          const issuer = new x509.X509Certificate(candidate.certPem);
          const expected = peculiar.issuer !== issuer.subject ? 'unknown-authority' : !(await peculiar.verify({ publicKey: issuer, signatureOnly: true })) ? 'bad-signature' : 'ok';
          let actual = 'ok';
          try {
            verifyCertificate(candidate, new NodeX509Certificate(leaf));
          } catch (err) {
            assert.ok(err instanceof CertificateError, String(err));
            actual = err.reason;
          }
          assert.equal(actual, expected, `${name}, ${variant}, against ${issuer.subject} (issued by ${ca.certificate.subject})`);
        }
      }
    }
  });

  it('checks validity, usage and the CA constraint', async () => {
    const ca = await createCa({ now: new Date(Date.now() - 100 * DAY) });
    const expired = await issueClientCertificate(ca, { commonName: 'old', validityDays: 1, now: new Date(Date.now() - 10 * DAY) });
    assert.throws(() => verifyCertificate(ca, expired.certPem), rejection('expired'));
    const client = await issueClientCertificate(ca, { commonName: 'now' });
    assert.throws(() => verifyCertificate(ca, client.certPem, { now: new Date(Date.now() - DAY) }), rejection('not-yet-valid'));
    assert.throws(() => verifyCertificate(ca, client.certPem, { usage: 'server auth' }), rejection('wrong-usage'));
    assert.equal(verifyCertificate(ca, client.certPem, { usage: 'client auth' }).commonName, 'now');
    assert.throws(() => verifyCertificate(parseNodeCertificate(client.certPem), client.certPem), rejection('not-a-ca'));
    assert.throws(() => verifyCertificate(ca, 'garbage'), rejection('malformed'));
  });

  it('pairs keys with certificates and refuses keys of the wrong kind', async () => {
    const ca = await createCa();
    const a = await issueClientCertificate(ca, { commonName: 'a' });
    const rsa = await issueClientCertificate(ca, { commonName: 'rsa', keyAlgorithm: 'RSA-2048' });
    assert.equal(keyMatchesCertificate(a.certPem, a.keyPem), true);
    assert.equal(keyMatchesCertificate(rsa.certPem, rsa.keyPem), true);
    assert.equal(keyMatchesCertificate(a.certPem, rsa.keyPem), false);
    // node:crypto derives a public key from a certificate or public key PEM too; neither is the private key.
    assert.equal(keyMatchesCertificate(a.certPem, a.certPem), false);
    assert.equal(keyMatchesCertificate(a.certPem, parseNodeCertificate(a.certPem).publicKey.export({ type: 'spki', format: 'pem' }).toString()), false);
  });
});
