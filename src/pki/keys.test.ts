 
import assert from 'node:assert/strict';
import { stat, readdir } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { CertificateError } from './errors.ts';
import { exportPrivateKeyPem, exportPublicKeyPem, generateKeyPair, importPrivateKeyPem } from './keys.ts';
import { decodePem, encodePem, readPemFile, writeCertificateFile, writeKeyFile } from './pem.ts';
import { openssl, tempDir } from './test-helpers.ts';

describe('keys', () => {
  it('exports P-256 keys openssl reads and imports them back', async () => {
    const pair = await generateKeyPair();
    const pem = await exportPrivateKeyPem(pair.privateKey);
    const text = await openssl(['pkey', '-noout', '-text'], pem);
    assert.match(text.stdout, /prime256v1|P-256/);
    const again = importPrivateKeyPem(pem);
    assert.equal(await exportPublicKeyPem(again.publicKey), await exportPublicKeyPem(pair.publicKey));
  });

  for (const [what, args] of [
    ['SEC1 EC', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout']],
    ['PKCS#1 RSA', ['genrsa', '-traditional', '2048']],
    ['P-384', ['ecparam', '-name', 'secp384r1', '-genkey', '-noout']],
  ] as const) {
    it(`imports ${what} keys written by openssl, with a matching public key`, async () => {
      const gen = await openssl(args);
      assert.equal(gen.code, 0, gen.stderr);
      const pair = importPrivateKeyPem(gen.stdout);
      const pub = await openssl(['pkey', '-pubout'], gen.stdout);
      assert.equal(await exportPublicKeyPem(pair.publicKey), pub.stdout);
    });
  }

  it('refuses short RSA keys, unsupported key types and garbage', async () => {
    const weak = await openssl(['genrsa', '1024']);
    assert.throws(() => importPrivateKeyPem(weak.stdout), (e) => e instanceof CertificateError && e.reason === 'invalid-key');
    const ed = await openssl(['genpkey', '-algorithm', 'ed25519']);
    assert.throws(() => importPrivateKeyPem(ed.stdout), (e) => e instanceof CertificateError && e.reason === 'invalid-key');
    assert.throws(() => importPrivateKeyPem('-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n'), (e) => e instanceof CertificateError && e.reason === 'invalid-key');
  });
});

describe('pem files', () => {
  it('writes keys 0600 and certificates 0644, replacing files without leftovers', async () => {
    await using dir = await tempDir();
    const key = `${dir.path}/a.key`;
    const cert = `${dir.path}/a.crt`;
    await writeKeyFile(key, 'one');
    await writeKeyFile(key, 'two');
    await writeCertificateFile(cert, 'c');
    assert.equal((await stat(key)).mode & 0o777, 0o600);
    assert.equal((await stat(cert)).mode & 0o777, 0o644);
    assert.equal(await readPemFile(key), 'two');
    assert.deepEqual((await readdir(dir.path)).sort(), ['a.crt', 'a.key']);
    assert.equal(await readPemFile(`${dir.path}/missing.pem`), undefined);
  });

  it('splits bundles and round-trips DER with 64-column lines', () => {
    const der = Buffer.alloc(100, 7);
    const pem = encodePem('CERTIFICATE', der);
    assert.ok(pem.split('\n').every((l) => l.length <= 64));
    const blocks = decodePem(`junk\n${pem}Bag Attributes: x\r\n${encodePem('PRIVATE KEY', Buffer.from([1, 2])).replaceAll('\n', '\r\n')}`);
    assert.deepEqual(
      blocks.map((b) => [b.label, b.der.length]),
      [
        ['CERTIFICATE', 100],
        ['PRIVATE KEY', 2],
      ],
    );
    assert.ok(blocks[0]?.der.equals(der));
  });
});
