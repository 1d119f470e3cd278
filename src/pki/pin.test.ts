 
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createCa, loadCa } from './certificate.ts';
import { caCertificateDigest, caPublicKeyPin, matchesCaPin } from './pin.ts';
import { openssl, tempDir } from './test-helpers.ts';

describe('caPublicKeyPin', () => {
  it('equals the kubeadm recipe (openssl x509 -pubkey | openssl pkey -pubin -outform der | sha256)', async () => {
    await using dir = await tempDir();
    const ca = await createCa();
    const caFile = await dir.file('ca.crt', ca.certPem);
    const { stdout } = await promisify(execFile)('sh', ['-c', `openssl x509 -pubkey -noout -in ${caFile} | openssl pkey -pubin -outform der | openssl dgst -sha256 -r`]);
    assert.equal(caPublicKeyPin(ca.certPem), `sha256:${stdout.split(' ')[0]}`);
  });

  it('stays the same for a CA loaded again and differs between CAs', async () => {
    const ca = await createCa();
    const again = await loadCa(ca.certPem, ca.keyPem);
    assert.equal(caPublicKeyPin(again.certificate), caPublicKeyPin(ca.certPem));
    assert.notEqual(caPublicKeyPin((await createCa()).certPem), caPublicKeyPin(ca.certPem));
  });
});

describe('matchesCaPin', () => {
  it('accepts its own pin in any hex case and refuses other pins and formats', async () => {
    const ca = await createCa();
    const pin = caPublicKeyPin(ca.certPem);
    assert.equal(matchesCaPin(ca.certPem, pin), true);
    assert.equal(matchesCaPin(ca.certPem, pin.toUpperCase().replace('SHA256', 'sha256')), true);
    assert.equal(matchesCaPin(ca.certPem, caPublicKeyPin((await createCa()).certPem)), false);
    assert.equal(matchesCaPin(ca.certPem, pin.slice('sha256:'.length)), false);
    assert.equal(matchesCaPin(ca.certPem, 'sha1:abcd'), false);
  });
});

describe('caCertificateDigest', () => {
  it('is the sha256 of the certificate DER, as in KubeEdge join tokens', async () => {
    const ca = await createCa();
    const fp = await openssl(['x509', '-noout', '-fingerprint', '-sha256'], ca.certPem);
    const hex = /=([0-9A-F:]+)/.exec(fp.stdout)?.[1]?.replaceAll(':', '').toLowerCase();
    assert.equal(caCertificateDigest(ca.certPem), hex);
  });
});
