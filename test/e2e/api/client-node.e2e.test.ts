/**
 * Issue 2: @kubernetes/client-node, the JavaScript client, works against kedge unchanged: it reads the
 * admin kubeconfig kedge writes, lists, creates, patches, watches and deletes, and sees Kubernetes'
 * errors as such.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AppsV1Api, CoreV1Api, KubeConfig, PatchStrategy, Watch, setHeaderOptions } from '@kubernetes/client-node';
import { eventually, useCloud } from '../harness/index.ts';

const cloud = await useCloud();
const NS = 'client-node';

function config(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(cloud.kubeconfigPath);
  return kc;
}

test('E2E_API_CLIENT_NODE_1: create, get, list with a selector, patch, delete', async () => {
  const kc = config();
  const core = kc.makeApiClient(CoreV1Api);
  const apps = kc.makeApiClient(AppsV1Api);
  await core.createNamespace({ body: { metadata: { name: NS } } });
  const cm = await core.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name: 'settings', labels: { app: 'demo' } }, data: { mode: 'edge' } } });
  assert.ok(cm.metadata?.uid !== undefined && cm.metadata.resourceVersion !== undefined);
  const got = await core.readNamespacedConfigMap({ namespace: NS, name: 'settings' });
  assert.equal(got.data?.['mode'], 'edge');
  const listed = await core.listNamespacedConfigMap({ namespace: NS, labelSelector: 'app=demo' });
  assert.deepEqual(listed.items.map((i) => i.metadata?.name), ['settings']);

  const patched = await core.patchNamespacedConfigMap({ namespace: NS, name: 'settings', body: { data: { mode: 'cloud' } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
  assert.equal(patched.data?.['mode'], 'cloud');

  const deploy = await apps.createNamespacedDeployment({
    namespace: NS,
    body: {
      metadata: { name: 'web' },
      spec: { replicas: 2, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'nginx:1.27' }] } } },
    },
  });
  assert.equal(deploy.spec?.strategy?.type, 'RollingUpdate', 'defaulted as Kubernetes does');
  await core.deleteNamespacedConfigMap({ namespace: NS, name: 'settings' });
  await assert.rejects(core.readNamespacedConfigMap({ namespace: NS, name: 'settings' }), (err: { code?: number }) => err.code === 404);
});

test('E2E_API_CLIENT_NODE_2: a watch from the list resourceVersion sees what happens next', async () => {
  const kc = config();
  const core = kc.makeApiClient(CoreV1Api);
  const list = await core.listNamespacedConfigMap({ namespace: NS });
  const seen: string[] = [];
  const req = await new Watch(kc).watch(
    `/api/v1/namespaces/${NS}/configmaps`,
    { resourceVersion: list.metadata?.resourceVersion, allowWatchBookmarks: true },
    (type: string, obj: { metadata?: { name?: string } }) => {
      if (type !== 'BOOKMARK') seen.push(`${type} ${obj.metadata?.name ?? ''}`);
    },
    () => undefined,
  );
  try {
    await core.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name: 'watched' }, data: { a: '1' } } });
    await core.deleteNamespacedConfigMap({ namespace: NS, name: 'watched' });
    await eventually(() => assert.deepEqual(seen, ['ADDED watched', 'DELETED watched']), { what: 'the watch events' });
  } finally {
    req.abort();
  }
});
