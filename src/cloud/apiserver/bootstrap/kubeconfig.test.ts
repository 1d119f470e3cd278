 
import assert from 'node:assert/strict';
import { chmod, stat } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { hasCode } from '../../../errors/platform-error.ts';
import { tempDir } from '../../../pki/test-helpers.ts';
import { renderKubeconfig, writeKubeconfig, type KubeconfigOptions } from './kubeconfig.ts';

const base: KubeconfigOptions = { server: 'https://127.0.0.1:6443', caCertPem: 'CA', user: 'kedge-admin', credentials: { clientCertPem: 'CERT', clientKeyPem: 'KEY' } };

describe('renderKubeconfig', () => {
  it('embeds CA and client certificate as base64 data under one current context', () => {
    const doc = parse(renderKubeconfig(base));
    assert.deepEqual(doc, {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'kedge', cluster: { server: 'https://127.0.0.1:6443', 'certificate-authority-data': Buffer.from('CA').toString('base64') } }],
      users: [{ name: 'kedge-admin', user: { 'client-certificate-data': Buffer.from('CERT').toString('base64'), 'client-key-data': Buffer.from('KEY').toString('base64') } }],
      contexts: [{ name: 'kedge', context: { cluster: 'kedge', user: 'kedge-admin' } }],
      'current-context': 'kedge',
      preferences: {},
    });
  });

  it('writes tokens, other names and a namespace for other users', () => {
    const doc = parse(renderKubeconfig({ ...base, user: 'system:node:edge-1', credentials: { token: 't0k' }, cluster: 'prod', context: 'edge-1@prod', namespace: 'apps' }));
    assert.deepEqual(doc.users, [{ name: 'system:node:edge-1', user: { token: 't0k' } }]);
    assert.deepEqual(doc.contexts, [{ name: 'edge-1@prod', context: { cluster: 'prod', user: 'system:node:edge-1', namespace: 'apps' } }]);
    assert.equal(doc['current-context'], 'edge-1@prod');
  });

  it('refuses servers that are not https URLs', () => {
    for (const server of ['127.0.0.1:6443', 'http://127.0.0.1:6443']) {
      assert.throws(() => renderKubeconfig({ ...base, server }), (e) => hasCode(e, 'CONFIG_INVALID'));
    }
  });
});

describe('writeKubeconfig', () => {
  it('writes 0600 and rewrites only on change', async () => {
    await using dir = await tempDir();
    const path = `${dir.path}/kubeconfig`;
    assert.equal(await writeKubeconfig(path, base), true);
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    await chmod(path, 0o644);
    assert.equal(await writeKubeconfig(path, base), false);
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    assert.equal(await writeKubeconfig(path, { ...base, server: 'https://10.0.0.1:6443' }), true);
  });
});
