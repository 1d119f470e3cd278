import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { createCa, issueClientCertificate } from './certificate.ts';

describe('the light PKI entry', () => {
  it('loads no @peculiar/x509, ASN.1 or DI module while an edge node joins and keeps its certificate', async () => {
    const ca = await createCa();
    const node = await issueClientCertificate(ca, { commonName: 'system:node:x', organizations: ['system:nodes'] });
    // A fresh process, so that what this test runner loaded (the CA above) does not count.
    const script = `
      import { registerHooks } from 'node:module';
      const loaded = [];
      registerHooks({ load(url, context, next) { loaded.push(url); return next(url, context); } });
      const pki = await import(${JSON.stringify(new URL('./light.ts', import.meta.url).href)});
      const [caPem, certPem, keyPem] = ${JSON.stringify([ca.certPem, node.certPem, node.keyPem])};
      const key = await pki.generateKeyPair();
      await pki.exportPrivateKeyPem(key.privateKey);
      await pki.createCsr({ commonName: 'system:node:x', organizations: ['system:nodes'], key });
      pki.caCertificateDigest(caPem);
      if (!pki.keyMatchesCertificate(certPem, keyPem)) throw new Error('key does not match');
      pki.verifyCertificate(pki.parseNodeCertificate(caPem), certPem, { usage: 'client auth' });
      pki.inspectCertificate(certPem);
      console.log(JSON.stringify(loaded));
    `;
    const { stdout } = await promisify(execFile)(process.execPath, ['--disable-warning=ExperimentalWarning', '--input-type=module', '--eval', script]);
    const loaded = JSON.parse(stdout) as string[];
    assert.ok(loaded.some((u) => u.endsWith('/pki/pkcs10.ts')), 'the hook saw the PKI load');
    const heavy = loaded.filter((u) => /node_modules|\/pki\/(?:index|certificate|csr|x509|reflect-metadata)\.ts$/.test(u));
    assert.deepEqual(heavy, []);
  });
});
