import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { writeFile } from 'node:fs/promises';
import { ApiError } from '../api/errors.ts';
import type { KubeObject } from '../api/object.ts';
import { renderKubeconfig } from '../cloud/apiserver/bootstrap/index.ts';
import { TestCloud } from '../cloud/hub/testing.ts';
import { KubeHttpClient, readKubeconfig } from './kube-http-client.ts';

type Obj = KubeObject & { data?: Record<string, string> };

describe('kube HTTP client', () => {
  let cloud: TestCloud;
  let kubeconfig: string;

  before(async () => {
    cloud = await TestCloud.start();
    kubeconfig = await cloud.credentials.writeAdminKubeconfig(`https://127.0.0.1:${cloud.api.port}`);
  });
  after(async () => cloud.close());

  test('reads the current context of a kubeconfig: server, CA and client certificate', async () => {
    const target = await readKubeconfig(kubeconfig);
    assert.equal(target.server, `https://127.0.0.1:${cloud.api.port}`);
    assert.equal(target.caPem, cloud.credentials.caCertPem);
    assert.deepEqual(target.credentials, { certPem: cloud.credentials.adminCertPem, keyPem: cloud.credentials.adminKeyPem });
  });

  test('get, list, create, update, patch and delete with the API server semantics and error codes', async () => {
    const client = await KubeHttpClient.fromKubeconfig(kubeconfig);
    try {
      const secrets = client.resource<Obj>('', 'v1', 'secrets');
      const created = await secrets.create('default', { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'http-1', labels: { app: 'x' } }, data: { a: 'YQ==' } });
      assert.ok(created.metadata.uid !== undefined);
      await assert.rejects(secrets.create('default', { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'http-1' } }), (err: unknown) => err instanceof ApiError && err.code === 'API_ALREADY_EXISTS' && err.httpStatus === 409);
      assert.equal((await secrets.get('default', 'http-1'))?.data?.['a'], 'YQ==');
      assert.equal(await secrets.get('default', 'nope'), undefined);
      const listed = await secrets.list('default', { labelSelector: 'app=x' });
      assert.deepEqual(
        listed.items.map((s) => s.metadata.name),
        ['http-1'],
      );
      assert.ok(Number(listed.resourceVersion) > 0);
      const updated = await secrets.update({ ...created, data: { a: 'Yg==' } });
      await assert.rejects(secrets.update({ ...created, data: { a: 'Yw==' } }), (err: unknown) => err instanceof ApiError && err.code === 'API_CONFLICT');
      const patched = await secrets.patch('default', 'http-1', 'merge', { metadata: { labels: { patched: 'yes' } } });
      assert.equal(patched.metadata.labels?.['patched'], 'yes');
      assert.notEqual(patched.metadata.resourceVersion, updated.metadata.resourceVersion);
      assert.equal((await secrets.delete('default', 'http-1')).deleted, true);
      assert.equal(await secrets.get('default', 'http-1'), undefined);
      const forbidden = client.resource('', 'v1', 'nothings');
      await assert.rejects(forbidden.list('default'), (err: unknown) => err instanceof ApiError && err.code === 'API_NOT_FOUND');
    } finally {
      client.close();
    }
  });

  test('bearer tokens work as credentials; a wrong one is API_UNAUTHORIZED; a dead server API_SERVICE_UNAVAILABLE', async () => {
    const path = join(cloud.credentials.paths.pkiDir, 'token.kubeconfig');
    await writeFile(path, renderKubeconfig({ server: `https://127.0.0.1:${cloud.api.port}`, caCertPem: cloud.credentials.caCertPem, user: 'admin', credentials: { token: cloud.credentials.adminToken } }));
    const client = await KubeHttpClient.fromKubeconfig(path);
    const wrong = new KubeHttpClient({ ...(await readKubeconfig(path)), credentials: { token: 'wrong' } });
    const dead = new KubeHttpClient({ ...(await readKubeconfig(path)), server: 'https://127.0.0.1:1' });
    try {
      assert.ok((await client.resource('', 'v1', 'namespaces').list()).items.length >= 4);
      await assert.rejects(wrong.resource('', 'v1', 'namespaces').list(), (err: unknown) => err instanceof ApiError && err.code === 'API_UNAUTHORIZED');
      await assert.rejects(dead.resource('', 'v1', 'namespaces').list(), (err: unknown) => err instanceof ApiError && err.code === 'API_SERVICE_UNAVAILABLE');
    } finally {
      client.close();
      wrong.close();
      dead.close();
    }
  });

  test('a kubeconfig without what it needs is CONFIG_INVALID', async () => {
    const path = join(cloud.credentials.paths.pkiDir, 'broken.kubeconfig');
    await writeFile(path, 'apiVersion: v1\nkind: Config\ncurrent-context: none\n');
    await assert.rejects(readKubeconfig(path), (err: unknown) => err instanceof Error && (err as { code?: string }).code === 'CONFIG_INVALID');
    await assert.rejects(readKubeconfig(join(cloud.credentials.paths.pkiDir, 'missing')), (err: unknown) => (err as { code?: string }).code === 'CONFIG_INVALID');
  });
});
