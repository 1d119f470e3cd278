/**
 * Issue 2: kubectl's list and watch features against kedge: `get -w`, label and field selectors,
 * and pagination (kubectl's --chunk-size and the raw limit/continue protocol).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ConfigMapList } from 'kubernetes-types/core/v1.d.ts';
import { configMapManifest, KUBECTL_VERSIONS, names, namespaceFor, namespaceManifest, useCloud } from '../harness/index.ts';

const cloud = await useCloud();

for (const v of KUBECTL_VERSIONS) {
  const ns = namespaceFor('watch', v);

  test(`E2E_API_WATCH_1 (kubectl ${v}): kubectl get -w shows objects as they are created, modified and deleted`, async (t) => {
    await cloud.apply(v, namespaceManifest(ns), configMapManifest(ns, 'before', { a: '1' }));

    const watch = cloud.spawnKubectl(v, ['get', 'configmaps', '-n', ns, '-w', '--output-watch-events']);
    t.after(() => watch.stop());
    await watch.waitFor(/^ADDED\s+before\s+1\s/m);

    await cloud.apply(v, configMapManifest(ns, 'w1', { a: '1' }));
    await watch.waitFor(/^ADDED\s+w1\s+1\s/m);
    await cloud.kubectlOk(v, ['patch', 'configmap', 'w1', '-n', ns, '--type=merge', '-p', '{"data":{"b":"2"}}']);
    await watch.waitFor(/^MODIFIED\s+w1\s+2\s/m);
    await cloud.kubectlOk(v, ['delete', 'configmap', 'w1', '-n', ns]);
    await watch.waitFor(/^DELETED\s+w1\s+2\s/m);
    assert.equal(watch.stdout().split('\n').filter((l) => /^\S+\s+before\s/.test(l)).length, 1, 'an untouched object is listed once');

    // Plain -w on pods: the initial list in table form, then every change of the new pod.
    await cloud.kubectlOk(v, ['run', 'p0', '-n', ns, '--image=busybox:1.36', '--restart=Never']);
    const pods = cloud.spawnKubectl(v, ['get', 'pods', '-n', ns, '-w']);
    t.after(() => pods.stop());
    await pods.waitFor(/^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\n^p0\s+0\/1\s+Pending\s+0\s/m);
    await cloud.kubectlOk(v, ['run', 'p1', '-n', ns, '--image=busybox:1.36', '--restart=Never']);
    await pods.waitFor(/^p1\s+0\/1\s+Pending\s+0\s/m);
    await cloud.kubectlOk(v, ['label', 'pod', 'p1', '-n', ns, 'watched=yes']);
    await cloud.kubectlOk(v, ['delete', 'pod', 'p1', '-n', ns, '--wait=false']);
    await pods.waitFor((out) => out.split('\n').filter((l) => l.startsWith('p1 ')).length >= 3);
  });

  test(`E2E_API_SELECT_1 (kubectl ${v}): label selectors with set, existence and inequality requirements`, async () => {
    const sns = namespaceFor('labels', v);
    await cloud.apply(v, namespaceManifest(sns));
    const objects: Record<string, Record<string, string>> = {
      a1: { app: 'a', env: 'prod' },
      b1: { app: 'b', env: 'dev' },
      c1: { app: 'c', env: 'prod', x: '1' },
      d1: { env: 'dev', x: 'y' },
      e1: {},
    };
    await cloud.apply(v, ...Object.entries(objects).map(([name, labels]) => configMapManifest(sns, name, {}, labels)));

    const select = async (selector: string): Promise<string[]> => names(await cloud.kubectlOk(v, ['get', 'configmaps', '-n', sns, '-l', selector, '-o', 'name']));
    assert.deepEqual(await select('app in (a,b)'), ['a1', 'b1']);
    assert.deepEqual(await select('!x'), ['a1', 'b1', 'e1']);
    assert.deepEqual(await select('env!=prod'), ['b1', 'd1', 'e1']);
    assert.deepEqual(await select('env=prod,x'), ['c1']);
    assert.deepEqual(await select('app notin (a),env'), ['b1', 'c1', 'd1']);
    assert.deepEqual(await select('app=zzz'), []);

    const bad = await cloud.kubectl(v, ['get', 'configmaps', '-n', sns, '-l', 'app in (a']);
    assert.notEqual(bad.code, 0, 'a malformed selector is an error');
  });

  test(`E2E_API_SELECT_2 (kubectl ${v}): field selectors on metadata.name, status.phase and spec.nodeName`, async () => {
    const fns = namespaceFor('fields', v);
    await cloud.apply(v, namespaceManifest(fns));
    const pod = (name: string, node?: string): string =>
      `apiVersion: v1\nkind: Pod\nmetadata:\n  name: ${name}\n  namespace: ${fns}\nspec:\n${node !== undefined ? `  nodeName: ${node}\n` : ''}  containers:\n  - name: c\n    image: busybox:1.36\n`;
    await cloud.kubectlOk(v, ['apply', '-f', '-'], { stdin: [pod('unbound'), pod('bound', 'edge-b'), pod('running', 'edge-a')].join('---\n') });
    await cloud.kubectlOk(v, ['patch', 'pod', 'running', '-n', fns, '--subresource=status', '--type=merge', '-p', '{"status":{"phase":"Running"}}']);

    const select = async (resource: string, selector: string): Promise<string[]> => names(await cloud.kubectlOk(v, ['get', resource, '-n', fns, '--field-selector', selector, '-o', 'name']));
    assert.deepEqual(await select('pods', 'metadata.name=bound'), ['bound']);
    assert.deepEqual(await select('pods', 'status.phase=Pending'), ['bound', 'unbound']);
    assert.deepEqual(await select('pods', 'status.phase=Running'), ['running']);
    assert.deepEqual(await select('pods', 'spec.nodeName='), ['unbound']);
    assert.deepEqual(await select('pods', 'spec.nodeName=edge-b'), ['bound']);
    assert.deepEqual(await select('pods', 'spec.nodeName!=edge-b,status.phase!=Running'), ['unbound']);

    await cloud.apply(v, configMapManifest(fns, 'x'), configMapManifest(fns, 'y'));
    assert.deepEqual(await select('configmaps', 'metadata.name=x'), ['x']);
    assert.deepEqual(await select('configmaps', 'metadata.name!=x'), ['y']);
    assert.deepEqual(await select('configmaps', `metadata.namespace=${fns}`), ['x', 'y']);

    const unsupported = await cloud.kubectl(v, ['get', 'configmaps', '-n', fns, '--field-selector', 'data.a=1']);
    assert.notEqual(unsupported.code, 0);
    assert.match(unsupported.stderr, /field label not supported: data\.a/);
  });

  test(`E2E_API_PAGE_1 (kubectl ${v}): --chunk-size=5 over 23 objects fetches them in pages and prints all 23`, async () => {
    const pns = namespaceFor('pages', v);
    await cloud.apply(v, namespaceManifest(pns));
    await cloud.apply(v, ...Array.from({ length: 23 }, (_, i) => configMapManifest(pns, `cm-${String(i).padStart(2, '0')}`, { i: String(i) })));

    // -v=6 logs each request kubectl makes (1.33 in klog's structured form), so the test sees that it really paged.
    const r = await cloud.kubectl(v, ['get', 'configmaps', '-n', pns, '--chunk-size=5', '-o', 'name', '-v=6']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      names(r.stdout),
      Array.from({ length: 23 }, (_, i) => `cm-${String(i).padStart(2, '0')}`),
    );
    const pageRequests = r.stderr.split('\n').filter((l) => /(GET |verb="GET" url=")https:\/\/\S+\/configmaps\?\S*limit=5/.test(l));
    assert.equal(pageRequests.length, 5, `23 objects in pages of 5 take 5 requests:\n${pageRequests.join('\n')}`);
    assert.equal(pageRequests.filter((l) => l.includes('continue=')).length, 4);

    const table = await cloud.kubectlOk(v, ['get', 'configmaps', '-n', pns, '--chunk-size=5']);
    assert.equal(table.split('\n').filter((l) => l.startsWith('NAME ')).length, 1, 'one header for all pages');
    assert.equal(table.split('\n').filter((l) => l.startsWith('cm-')).length, 23);
  });
}

test('E2E_API_PAGE_2: raw ?limit=5 returns a continue token, and following it yields exactly the rest', async () => {
  const pns = 'pages-raw';
  const nsCreated = await cloud.request({ method: 'POST', path: '/api/v1/namespaces', body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: pns } } });
  assert.equal(nsCreated.status, 201, nsCreated.body);
  const path = `/api/v1/namespaces/${pns}/configmaps`;
  for (let i = 0; i < 23; i++) {
    const r = await cloud.request({ method: 'POST', path, body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `cm-${String(i).padStart(2, '0')}` }, data: { i: String(i) } } });
    assert.equal(r.status, 201, r.body);
  }
  const first = await cloud.request({ path: `${path}?limit=5` });
  assert.equal(first.status, 200, first.body);
  const page1 = first.json<ConfigMapList>();
  assert.equal(page1.items.length, 5);
  const token = page1.metadata?.continue;
  assert.ok(token !== undefined && token !== '', 'a continue token');
  if (page1.metadata?.remainingItemCount !== undefined) assert.equal(page1.metadata.remainingItemCount, 18);

  const rest = await cloud.request({ path: `${path}?continue=${encodeURIComponent(token)}` });
  assert.equal(rest.status, 200, rest.body);
  const restList = rest.json<ConfigMapList>();
  assert.deepEqual(
    [...page1.items, ...restList.items].map((c) => c.metadata?.name),
    Array.from({ length: 23 }, (_, i) => `cm-${String(i).padStart(2, '0')}`),
  );
  assert.ok(restList.metadata?.continue === undefined || restList.metadata.continue === '', 'the last page has no continue token');

  // Page by page, with writes in between: the pages still show the snapshot of the first one.
  const seen: string[] = [];
  let next: string | undefined = '';
  let pages = 0;
  let listRv: string | undefined;
  while (next !== undefined) {
    const r = await cloud.request({ path: `${path}?limit=5${next !== '' ? `&continue=${encodeURIComponent(next)}` : ''}` });
    assert.equal(r.status, 200, r.body);
    const l = r.json<ConfigMapList>();
    listRv ??= l.metadata?.resourceVersion;
    assert.equal(l.metadata?.resourceVersion, listRv, 'every page is served at the first page\'s resourceVersion');
    seen.push(...l.items.map((c) => c.metadata!.name!));
    pages++;
    if (pages === 1) {
      const created = await cloud.request({ method: 'POST', path, body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm-99' } } });
      assert.equal(created.status, 201, created.body);
    }
    next = l.metadata?.continue === undefined || l.metadata.continue === '' ? undefined : l.metadata.continue;
  }
  assert.equal(pages, 5);
  assert.equal(seen.length, 23);
  assert.equal(new Set(seen).size, 23, 'no object is returned twice');

  const bad = await cloud.request({ path: `${path}?limit=5&continue=not-a-token` });
  assert.equal(bad.status, 400, bad.body);
});
