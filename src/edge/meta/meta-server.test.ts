import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import type { KubeObject } from '../../api/object.ts';
import { silentLogger } from '../../log/logger.ts';
import { openEdgeDatabase } from '../db.ts';
import { MetaManager } from './meta-manager.ts';
import { MetaServer } from './meta-server.ts';

function pod(name: string, uid: string, rv: string, labels: Record<string, string> = {}, phase = 'Running'): KubeObject {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default', uid, resourceVersion: rv, labels, creationTimestamp: '2025-01-01T00:00:00Z' }, spec: { nodeName: 'edge-1', containers: [{ name: 'c', image: 'busybox' }] }, status: { phase } };
}

/** The parts of API responses these tests look at; the assertions check the rest. */
interface Body {
  kind?: string;
  type?: string;
  reason?: string;
  code?: number;
  versions?: string[];
  groups?: { name: string }[];
  resources?: { name: string; namespaced: boolean; verbs: string[] }[];
  metadata: { name: string; uid: string; resourceVersion: string };
  items?: Body[];
  columnDefinitions?: { name: string }[];
  rows?: { cells: unknown[]; object?: Body }[];
  object?: Body;
}

async function serve(t: { after(fn: () => void): void }): Promise<{ meta: MetaManager; base: string }> {
  const meta = new MetaManager({ db: openEdgeDatabase(':memory:'), log: silentLogger() });
  const abort = new AbortController();
  const server = new MetaServer({ meta, port: 0, kedgeVersion: '0.1.0', log: silentLogger() });
  await server.start(abort.signal);
  t.after(() => abort.abort());
  return { meta, base: `http://127.0.0.1:${server.port}` };
}

async function getJson(url: string, accept = 'application/json'): Promise<{ status: number; body: Body }> {
  const res = await fetch(url, { headers: { accept } });
  return { status: res.status, body: (await res.json()) as Body };
}

/** Reads newline-delimited watch events until `count` have arrived. */
function watch(url: string, accept = 'application/json'): { events(count: number): Promise<Body[]>; close(): void } {
  const lines: Body[] = [];
  let waiter: (() => void) | undefined;
  let buf = '';
  const req = request(url, { headers: { accept } }, (res) => {
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      buf += chunk;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        lines.push(JSON.parse(buf.slice(0, nl)) as Body);
        buf = buf.slice(nl + 1);
      }
      waiter?.();
    });
  });
  req.on('error', () => undefined);
  req.end();
  return {
    async events(count: number) {
      while (lines.length < count) await new Promise<void>((r) => (waiter = r));
      return lines.splice(0, count);
    },
    close: () => req.destroy(),
  };
}

test('discovery lists the synced kinds, read-only', async (t) => {
  const { base } = await serve(t);
  const api = await getJson(`${base}/api`);
  assert.deepEqual(api.body.versions, ['v1']);
  const v1 = await getJson(`${base}/api/v1`);
  assert.deepEqual(
    v1.body.resources!.map((r) => [r.name, r.namespaced, r.verbs.join(',')]),
    [
      ['pods', true, 'get,list,watch'],
      ['configmaps', true, 'get,list,watch'],
      ['secrets', true, 'get,list,watch'],
      ['nodes', false, 'get,list,watch'],
    ],
  );
  const apis = await getJson(`${base}/apis`);
  assert.equal(apis.body.groups![0]!.name, 'devices.kubeedge.io');
  const devices = await getJson(`${base}/apis/devices.kubeedge.io/v1beta1`);
  assert.deepEqual(
    devices.body.resources!.map((r) => r.name),
    ['devices', 'devicemodels'],
  );
  const put = await fetch(`${base}/api/v1/namespaces/default/pods/a`, { method: 'PUT', body: '{}' });
  assert.equal(put.status, 405);
  assert.equal(((await put.json()) as Body).reason, 'MethodNotAllowed');
  assert.equal((await getJson(`${base}/api/v1/services`)).status, 404);
});

test('every response carries an HTTP Date header, errors too', async (t) => {
  const { base } = await serve(t);
  for (const path of ['/api/v1', '/api/v1/services', '/healthz']) {
    const before = Math.floor(Date.now() / 1000) * 1000;
    const date = (await fetch(`${base}${path}`)).headers.get('date');
    assert.match(date ?? '', /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/, path);
    const at = Date.parse(date!);
    assert.ok(at >= before && at <= Date.now(), `${path}: ${date} is not now`);
  }
});

test('get and list serve stored objects with local resourceVersions and selectors', async (t) => {
  const { meta, base } = await serve(t);
  meta.applyBatch([
    { op: 'upsert', kind: 'pods', object: pod('a', 'u-a', '100', { app: 'web' }) },
    { op: 'upsert', kind: 'pods', object: pod('b', 'u-b', '101', { app: 'db' }, 'Pending') },
    { op: 'upsert', kind: 'pods', object: { ...pod('c', 'u-c', '102'), metadata: { name: 'c', namespace: 'other', uid: 'u-c' } } },
  ]);
  const one = await getJson(`${base}/api/v1/namespaces/default/pods/a`);
  assert.equal(one.status, 200);
  assert.equal(one.body.metadata.uid, 'u-a');
  assert.equal(one.body.metadata.resourceVersion, '1');

  const missing = await getJson(`${base}/api/v1/namespaces/default/pods/zzz`);
  assert.equal(missing.status, 404);
  assert.equal(missing.body.reason, 'NotFound');

  const all = await getJson(`${base}/api/v1/pods`);
  assert.equal(all.body.kind, 'PodList');
  assert.equal(all.body.metadata.resourceVersion, '3');
  assert.deepEqual(
    all.body.items!.map((p) => p.metadata.name),
    ['a', 'b', 'c'],
  );
  const ns = await getJson(`${base}/api/v1/namespaces/default/pods?labelSelector=app%20in%20(web,db)`);
  assert.deepEqual(
    ns.body.items!.map((p) => p.metadata.name),
    ['a', 'b'],
  );
  const byField = await getJson(`${base}/api/v1/pods?fieldSelector=status.phase%3DPending`);
  assert.deepEqual(
    byField.body.items!.map((p) => p.metadata.name),
    ['b'],
  );
  const badField = await getJson(`${base}/api/v1/pods?fieldSelector=spec.nope%3Dx`);
  assert.equal(badField.status, 400);
  const badLabel = await getJson(`${base}/api/v1/pods?labelSelector=a%20in`);
  assert.equal(badLabel.status, 400);
});

test('lists come as Tables when kubectl asks for them', async (t) => {
  const { meta, base } = await serve(t);
  meta.applyBatch([{ op: 'upsert', kind: 'pods', object: pod('a', 'u-a', '100') }]);
  const table = await getJson(`${base}/api/v1/namespaces/default/pods`, 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json');
  assert.equal(table.body.kind, 'Table');
  assert.deepEqual(
    table.body.columnDefinitions!.slice(0, 3).map((c) => c.name),
    ['Name', 'Ready', 'Status'],
  );
  assert.equal(table.body.rows![0]!.cells[0], 'a');
  assert.equal(table.body.rows![0]!.object!.kind, 'PartialObjectMetadata');
  meta.applyBatch([{ op: 'upsert', kind: 'devices', object: { apiVersion: 'devices.kubeedge.io/v1beta1', kind: 'Device', metadata: { name: 'd', namespace: 'default', uid: 'u-d' }, spec: { nodeName: 'edge-1', deviceModelRef: { name: 'm' } } } }]);
  const devices = await getJson(`${base}/apis/devices.kubeedge.io/v1beta1/devices`, 'application/json;as=Table;v=v1;g=meta.k8s.io');
  assert.deepEqual(
    devices.body.columnDefinitions!.map((c) => c.name),
    ['Name', 'Node', 'Model', 'State', 'Age'],
  );
  assert.deepEqual(devices.body.rows![0]!.cells.slice(0, 3), ['d', 'edge-1', 'm']);
});

test('a watch without resourceVersion starts with the current state and then streams changes', async (t) => {
  const { meta, base } = await serve(t);
  meta.applyBatch([{ op: 'upsert', kind: 'pods', object: pod('a', 'u-a', '1', { app: 'web' }) }]);
  const w = watch(`${base}/api/v1/namespaces/default/pods?watch=true&labelSelector=app%3Dweb`);
  t.after(() => w.close());
  const [added] = await w.events(1);
  assert.equal(added!.type!, 'ADDED');
  assert.equal(added!.object!.metadata.name, 'a');
  meta.applyBatch([
    { op: 'upsert', kind: 'pods', object: pod('b', 'u-b', '2', { app: 'db' }) },
    { op: 'upsert', kind: 'configmaps', object: { metadata: { name: 'x', namespace: 'default', uid: 'u-x' } } },
    { op: 'upsert', kind: 'pods', object: pod('a', 'u-a', '3', { app: 'web' }, 'Succeeded') },
  ]);
  meta.applyBatch([{ op: 'delete', kind: 'pods', namespace: 'default', name: 'a', uid: 'u-a' }]);
  const events = await w.events(2);
  assert.deepEqual(
    events.map((e) => [e.type!, e.object!.metadata.name, e.object!.metadata.resourceVersion]),
    [
      ['MODIFIED', 'a', '4'],
      ['DELETED', 'a', '5'],
    ],
  );
});

test('a watch resumes from a listed resourceVersion, and too old a one gets 410 Expired', async (t) => {
  const { meta, base } = await serve(t);
  meta.applyBatch([{ op: 'upsert', kind: 'pods', object: pod('a', 'u-a', '1') }]);
  const list = await getJson(`${base}/api/v1/pods`);
  meta.applyBatch([{ op: 'upsert', kind: 'pods', object: pod('b', 'u-b', '2') }]);
  const w = watch(`${base}/api/v1/pods?watch=1&resourceVersion=${list.body.metadata.resourceVersion}`);
  t.after(() => w.close());
  const [ev] = await w.events(1);
  assert.deepEqual([ev!.type!, ev!.object!.metadata.name], ['ADDED', 'b']);

  const small = new MetaManager({ db: openEdgeDatabase(':memory:'), log: silentLogger(), historySize: 1 });
  const abort = new AbortController();
  t.after(() => abort.abort());
  const server = new MetaServer({ meta: small, port: 0, kedgeVersion: '0.1.0', log: silentLogger() });
  await server.start(abort.signal);
  small.applyBatch([{ op: 'upsert', kind: 'pods', object: pod('a', 'u-a', '1') }]);
  small.applyBatch([{ op: 'upsert', kind: 'pods', object: pod('b', 'u-b', '2') }]);
  small.applyBatch([{ op: 'upsert', kind: 'pods', object: pod('c', 'u-c', '3') }]);
  const res = await fetch(`http://127.0.0.1:${server.port}/api/v1/pods?watch=1&resourceVersion=1`);
  const body = JSON.parse((await res.text()).trim()) as Body;
  assert.equal(body['type'], 'ERROR');
  assert.equal(body.object!.code, 410);
  assert.equal(body.object!.reason, 'Expired');
});

test('a watch on one object and a Table watch for kubectl get -w', async (t) => {
  const { meta, base } = await serve(t);
  meta.applyBatch([{ op: 'upsert', kind: 'pods', object: pod('a', 'u-a', '1') }, { op: 'upsert', kind: 'pods', object: pod('b', 'u-b', '1') }]);
  const w = watch(`${base}/api/v1/namespaces/default/pods?watch=true&fieldSelector=metadata.name%3Db`, 'application/json;as=Table;v=v1;g=meta.k8s.io');
  t.after(() => w.close());
  const [first] = await w.events(1);
  assert.equal(first!.object!.kind, 'Table');
  assert.equal(first!.object!.rows![0]!.cells[0], 'b');
  assert.ok(first!.object!.columnDefinitions!.length > 0);
  meta.applyBatch([{ op: 'upsert', kind: 'pods', object: pod('b', 'u-b', '2', {}, 'Failed') }]);
  const [second] = await w.events(1);
  assert.equal(second!.type!, 'MODIFIED');
  assert.deepEqual(second!.object!.columnDefinitions, []);
});

test('limit and continue page a list in namespace and name order; a continuation after a change is 410 Expired', async (t) => {
  const { meta, base } = await serve(t);
  const inNs = (name: string, namespace: string): KubeObject => {
    const p = pod(name, `u-${namespace}-${name}`, '1');
    return { ...p, metadata: { ...p.metadata, namespace } };
  };
  // "a" and "a-b" as namespaces: a key "a/..." sorts after "a-b/..." byte-wise, the order is by namespace first.
  meta.applyBatch(['x', 'y'].flatMap((name) => ['a', 'a-b', 'c'].map((ns) => ({ op: 'upsert' as const, kind: 'pods' as const, object: inNs(name, ns) }))));
  const names: string[] = [];
  let next = '';
  let rv: string | undefined;
  for (let pages = 0; pages < 10; pages++) {
    const page = (await getJson(`${base}/api/v1/pods?limit=4${next === '' ? '' : `&continue=${encodeURIComponent(next)}`}`)).body as Body & { metadata: { continue?: string; remainingItemCount?: number } };
    assert.ok(page.items!.length <= 4);
    names.push(...page.items!.map((o) => `${(o.metadata as { namespace?: string }).namespace}/${o.metadata.name}`));
    rv ??= page.metadata.resourceVersion;
    assert.equal(page.metadata.resourceVersion, rv, 'every page is read at the first page\'s version');
    if (page.metadata.continue === undefined) break;
    assert.equal(page.metadata.remainingItemCount, 6 - names.length);
    next = page.metadata.continue;
  }
  assert.deepEqual(names, ['a/x', 'a/y', 'a-b/x', 'a-b/y', 'c/x', 'c/y']);

  const selected = await getJson(`${base}/api/v1/namespaces/a-b/pods?limit=1&fieldSelector=metadata.name%3Dy`);
  assert.deepEqual(selected.body.items!.map((o) => o.metadata.name), ['y']);

  const first = (await getJson(`${base}/api/v1/pods?limit=2`)).body as Body & { metadata: { continue: string } };
  meta.applyBatch([{ op: 'upsert', kind: 'pods', object: inNs('z', 'c') }]);
  const stale = await getJson(`${base}/api/v1/pods?limit=2&continue=${encodeURIComponent(first.metadata.continue)}`);
  assert.equal(stale.status, 410);
  assert.equal(stale.body.reason, 'Expired');

  const bad = await getJson(`${base}/api/v1/pods?limit=2&continue=garbage`);
  assert.equal(bad.status, 400);
  assert.equal((await getJson(`${base}/api/v1/pods?limit=-1`)).status, 400);
});
