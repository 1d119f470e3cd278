import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, it } from 'node:test';
import { bitString, contextConstructed, integer, nullValue, objectIdentifier, sequence, setOf, utf8String } from './der.ts';
import { createCa } from './certificate.ts';
import { parseCsr, signCsr } from './csr.ts';
import { CertificateError, CsrError } from './errors.ts';
import { exportPrivateKeyPem, generateKeyPair, importPrivateKeyPem } from './keys.ts';
import { encodePem, firstPemBlock } from './pem.ts';
import { createCsr } from './pkcs10.ts';
import { openssl, tempDir } from './test-helpers.ts';
import { inspectCertificate } from './verify.ts';

const NODE = { commonName: 'system:node:edge-1', organizations: ['system:nodes'] };
const NODE_CERT = { ...NODE, usages: ['client auth' as const] };

/** The tag-length-value elements directly inside the constructed element at the start of `der`. */
function children(der: Buffer): Buffer[] {
  const header = (at: number): { start: number; end: number } => {
    const first = der[at + 1] ?? 0;
    if (first < 0x80) return { start: at + 2, end: at + 2 + first };
    const n = first & 0x7f;
    const length = der.subarray(at + 2, at + 2 + n).reduce((acc, b) => acc * 256 + b, 0);
    return { start: at + 2 + n, end: at + 2 + n + length };
  };
  const outer = header(0);
  const out: Buffer[] = [];
  for (let at = outer.start; at < outer.end; ) {
    const { end } = header(at);
    out.push(der.subarray(at, end));
    at = end;
  }
  return out;
}

function csrDer(pem: string): Buffer {
  const der = firstPemBlock(pem, 'CERTIFICATE REQUEST');
  assert.ok(der !== undefined);
  return der;
}

describe('der', () => {
  it('encodes the values a CSR needs as X.690 prescribes', () => {
    const hex = (b: Buffer): string => b.toString('hex');
    assert.equal(hex(integer(0)), '020100');
    assert.equal(hex(integer(127)), '02017f');
    assert.equal(hex(integer(128)), '02020080');
    assert.equal(hex(integer(65537)), '0203010001');
    assert.equal(hex(objectIdentifier('2.5.4.3')), '0603550403');
    assert.equal(hex(objectIdentifier('1.2.840.10045.4.3.2')), '06082a8648ce3d040302');
    assert.equal(hex(objectIdentifier('1.2.840.113549.1.1.11')), '06092a864886f70d01010b');
    assert.equal(hex(nullValue()), '0500');
    assert.equal(hex(bitString(Buffer.from([0xab]))), '030200ab');
    assert.equal(hex(contextConstructed(0)), 'a000');
    assert.equal(hex(utf8String('ü')), '0c02c3bc');
    // SET OF sorts its elements by encoding; SEQUENCE keeps their order.
    assert.equal(hex(setOf(integer(2), integer(1))), '3106020101020102');
    assert.equal(hex(sequence(integer(2), integer(1))), '3006020102020101');
  });

  it('writes long-form lengths at 128 bytes and beyond', () => {
    assert.equal(utf8String('x'.repeat(127)).subarray(0, 2).toString('hex'), '0c7f');
    assert.equal(utf8String('x'.repeat(128)).subarray(0, 3).toString('hex'), '0c8180');
    assert.equal(utf8String('x'.repeat(300)).subarray(0, 4).toString('hex'), '0c82012c');
    assert.equal(utf8String('x'.repeat(70_000)).subarray(0, 5).toString('hex'), '0c83011170');
  });

  it('refuses what it cannot encode', () => {
    assert.throws(() => integer(-1), RangeError);
    assert.throws(() => objectIdentifier('3.1'), RangeError);
    assert.throws(() => objectIdentifier('1.40'), RangeError);
    assert.throws(() => objectIdentifier('1'), RangeError);
  });
});

describe('createCsr (PKCS#10 on node:crypto)', () => {
  it('makes a CSR openssl verifies, showing the subject, key and signature asked for', async () => {
    await using dir = await tempDir();
    const csr = await createCsr({ ...NODE, key: await generateKeyPair() });
    const file = await dir.file('n.csr', csr);
    const verified = await openssl(['req', '-verify', '-noout', '-in', file]);
    assert.equal(verified.code, 0, verified.stderr);
    // OpenSSL 3.0 exits 0 on a bad signature too; what it prints is the verdict.
    assert.match(verified.stderr + verified.stdout, /verify OK/);
    const text = await openssl(['req', '-text', '-noout', '-in', file]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /Version: 1 \(0x0\)/);
    assert.match(text.stdout, /Subject: O ?= ?system:nodes, CN ?= ?system:node:edge-1\n/);
    assert.match(text.stdout, /ASN1 OID: prime256v1/);
    assert.match(text.stdout, /Attributes:\s+\(none\)/);
    assert.match(text.stdout, /Signature Algorithm: ecdsa-with-SHA256/);
  });

  it('writes the request info byte for byte as openssl does for the same key and subject', async () => {
    await using dir = await tempDir();
    const key = await generateKeyPair();
    const ours = csrDer(await createCsr({ ...NODE, key }));
    const keyFile = await dir.file('k.pem', await exportPrivateKeyPem(key.privateKey));
    const cnf = await dir.file('req.cnf', ['[req]', 'distinguished_name = dn', 'string_mask = utf8only', '[dn]'].join('\n'));
    const theirs = await openssl(['req', '-new', '-config', cnf, '-key', keyFile, '-subj', '/O=system:nodes/CN=system:node:edge-1']);
    assert.equal(theirs.code, 0, theirs.stderr);
    const theirDer = csrDer(theirs.stdout);
    // Info and signature algorithm; the ECDSA signatures themselves differ on every run.
    assert.deepEqual(children(ours).slice(0, 2), children(theirDer).slice(0, 2));
  });

  it('writes long and non-ASCII names, several organizations, and P-384 and RSA keys', async () => {
    await using dir = await tempDir();
    const p384 = await openssl(['ecparam', '-name', 'secp384r1', '-genkey', '-noout']);
    const cases = [
      { key: await generateKeyPair(), commonName: `system:node:${'n'.repeat(300)}`, organizations: ['system:nodes'], alg: /ecdsa-with-SHA256/ },
      { key: await generateKeyPair(), commonName: 'zoë-ünï', organizations: ['b', 'a', 'system:nodes'], alg: /ecdsa-with-SHA256/ },
      { key: importPrivateKeyPem(p384.stdout), commonName: 'p384', organizations: [], alg: /ecdsa-with-SHA384/ },
      { key: await generateKeyPair('RSA-2048'), commonName: 'rsa', organizations: ['o'], alg: /sha256WithRSAEncryption/ },
    ];
    for (const [i, c] of cases.entries()) {
      const file = await dir.file(`${i}.csr`, await createCsr(c));
      const r = await openssl(['req', '-verify', '-text', '-noout', '-nameopt', 'RFC2253,-esc_msb', '-subject', '-in', file]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout + r.stderr, /verify OK/);
      const subject = [`CN=${c.commonName}`, ...[...c.organizations].reverse().map((o) => `O=${o}`)].join(',');
      assert.ok(r.stdout.includes(`subject=${subject}\n`), `${subject} in ${r.stdout}`);
      assert.match(r.stdout, c.alg);
    }
  });

  it('is accepted by the cloud signer, which issues the certificate asked for', async () => {
    const ca = await createCa();
    const key = await generateKeyPair();
    const csr = await createCsr({ ...NODE, key });
    const info = await parseCsr(csr);
    assert.equal(info.commonName, 'system:node:edge-1');
    assert.deepEqual(info.organizations, ['system:nodes']);
    assert.equal(info.keyDescription, 'ECDSA P-256');
    const cert = inspectCertificate(await signCsr(ca, csr, NODE_CERT));
    assert.equal(cert.commonName, 'system:node:edge-1');
    assert.deepEqual(cert.usages, ['client auth']);
    const rsa = await parseCsr(await createCsr({ commonName: 'r', key: await generateKeyPair('RSA-2048') }));
    assert.equal(rsa.keyDescription, 'RSA 2048');
  });

  it('yields CSRs that the signer and openssl refuse once tampered with', async () => {
    await using dir = await tempDir();
    const ca = await createCa();
    const key = await generateKeyPair();
    const good = csrDer(await createCsr({ ...NODE, key }));
    const other = (await generateKeyPair()).publicKey.export({ type: 'spki', format: 'der' });
    const tamper = (edit: (der: Buffer) => void): string => {
      const der = Buffer.from(good);
      edit(der);
      return encodePem('CERTIFICATE REQUEST', der);
    };
    const spkiAt = good.indexOf(key.publicKey.export({ type: 'spki', format: 'der' }));
    assert.ok(spkiAt > 0);
    const forged = [
      // Another node's name under this signature.
      tamper((der) => der.write('2', good.indexOf('edge-1') + 'edge-'.length, 'latin1')),
      // Someone else's key under this key's signature.
      tamper((der) => other.copy(der, spkiAt)),
      // The signature itself (its last byte is the last of the DER).
      tamper((der) => (der[der.length - 1] = (der[der.length - 1] ?? 0) ^ 0x01)),
    ];
    for (const [i, pem] of forged.entries()) {
      // The signature is checked before the subject, so even the renamed one fails on it.
      await assert.rejects(signCsr(ca, pem, NODE_CERT), (e) => e instanceof CsrError && e.reason === 'bad-signature');
      // OpenSSL 3.0 exits 0 either way; what it prints is the verdict.
      const r = await openssl(['req', '-verify', '-noout', '-in', await dir.file(`f${i}.csr`, pem)]);
      assert.match(r.stdout + r.stderr, /verify failure/, `openssl on forgery ${i}`);
    }
    const truncated = encodePem('CERTIFICATE REQUEST', good.subarray(0, good.length - 10));
    await assert.rejects(signCsr(ca, truncated, NODE_CERT), (e) => e instanceof CsrError && e.reason === 'malformed');
  });

  it('refuses keys kedge does not use and pairs whose halves differ', async () => {
    const ed = generateKeyPairSync('ed25519');
    await assert.rejects(createCsr({ ...NODE, key: ed }), (e) => e instanceof CertificateError && e.reason === 'invalid-key');
    const secp256k1 = generateKeyPairSync('ec', { namedCurve: 'secp256k1' });
    await assert.rejects(createCsr({ ...NODE, key: secp256k1 }), (e) => e instanceof CertificateError && e.reason === 'invalid-key');
    const a = await generateKeyPair();
    const b = await generateKeyPair();
    await assert.rejects(createCsr({ ...NODE, key: { privateKey: a.publicKey, publicKey: a.publicKey } }), (e) => e instanceof CertificateError && e.reason === 'invalid-key');
    await assert.rejects(createCsr({ ...NODE, key: { privateKey: a.privateKey, publicKey: b.publicKey } }), (e) => e instanceof CertificateError && e.reason === 'key-mismatch');
  });
});
