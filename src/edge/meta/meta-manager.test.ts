import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KubeObject } from '../../api/object.ts';
import { hasCode } from '../../errors/platform-error.ts';
import { silentLogger } from '../../log/logger.ts';
import { openEdgeDatabase } from '../db.ts';
import { isNewer, MetaManager, type Change } from './meta-manager.ts';
import { compareStrings } from '../../api/compare.ts';

function pod(name: string, uid: string, rv: string, extra: Partial<KubeObject> = {}): KubeObject {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default', uid, resourceVersion: rv }, spec: { nodeName: 'edge-1' }, ...extra };
}

function tempDb(): { path: string; [Symbol.dispose](): void } {
  const dir = mkdtempSync(join(tmpdir(), 'kedge-meta-'));
  return { path: join(dir, 'edge.db'), [Symbol.dispose]: () => rmSync(dir, { recursive: true, force: true }) };
}

test('upserts are stored with uid and resourceVersion and survive reopening the file', () => {
  using tmp = tempDb();
  const db = openEdgeDatabase(tmp.path);
  const meta = new MetaManager({ db, log: silentLogger() });
  assert.deepEqual(
    meta.applyBatch([
      { op: 'upsert', kind: 'pods', object: pod('a', 'u-a', '10') },
      { op: 'upsert', kind: 'configmaps', object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg', namespace: 'default', uid: 'u-c', resourceVersion: '11' }, data: { k: 'v' } } },
      { op: 'upsert', kind: 'nodes', object: { apiVersion: 'v1', kind: 'Node', metadata: { name: 'edge-1', uid: 'u-n', resourceVersion: '12' } } },
    ]),
    ['applied', 'applied', 'applied'],
  );
  assert.equal(meta.revision, 3);
  db.close();

  const again = new MetaManager({ db: openEdgeDatabase(tmp.path), log: silentLogger() });
  assert.equal(again.revision, 3);
  assert.deepEqual(
    again.inventory().sort((x, y) => compareStrings(x.name, y.name)),
    [
      { kind: 'pods', namespace: 'default', name: 'a', uid: 'u-a', resourceVersion: '10' },
      { kind: 'configmaps', namespace: 'default', name: 'cfg', uid: 'u-c', resourceVersion: '11' },
      { kind: 'nodes', name: 'edge-1', uid: 'u-n', resourceVersion: '12' },
    ],
  );
  assert.deepEqual(again.get('configmaps', 'default', 'cfg')?.object['data'], { k: 'v' });
});

test('a redelivered or older version is unchanged; a newer one replaces it', () => {
  const meta = new MetaManager({ db: openEdgeDatabase(':memory:'), log: silentLogger() });
  meta.applyBatch([{ op: 'upsert', kind: 'pods', object: pod('a', 'u-a', '10') }]);
  assert.deepEqual(meta.applyBatch([{ op: 'upsert', kind: 'pods', object: pod('a', 'u-a', '10') }]), ['unchanged']);
  assert.deepEqual(meta.applyBatch([{ op: 'upsert', kind: 'pods', object: pod('a', 'u-a', '9') }]), ['unchanged']);
  assert.deepEqual(meta.applyBatch([{ op: 'upsert', kind: 'pods', object: pod('a', 'u-a', '11', { spec: { nodeName: 'edge-1', x: 1 } }) }]), ['applied']);
  assert.equal(meta.get('pods', 'default', 'a')?.resourceVersion, '11');
  assert.equal(meta.revision, 2);
});

test('the header resourceVersion wins over the one in the object', () => {
  const meta = new MetaManager({ db: openEdgeDatabase(':memory:'), log: silentLogger() });
  meta.applyBatch([{ op: 'upsert', kind: 'pods', object: pod('a', 'u-a', '10'), resourceVersion: '15' }]);
  assert.equal(meta.get('pods', 'default', 'a')?.resourceVersion, '15');
});

test('deletes match the uid, so a delete of an old incarnation leaves a re-created object alone', () => {
  const meta = new MetaManager({ db: openEdgeDatabase(':memory:'), log: silentLogger() });
  meta.applyBatch([{ op: 'upsert', kind: 'pods', object: pod('a', 'u-new', '20') }]);
  assert.deepEqual(meta.applyBatch([{ op: 'delete', kind: 'pods', namespace: 'default', name: 'a', uid: 'u-old' }]), ['missing']);
  assert.ok(meta.get('pods', 'default', 'a'));
  assert.deepEqual(meta.applyBatch([{ op: 'delete', kind: 'pods', namespace: 'default', name: 'a', uid: 'u-new' }]), ['applied']);
  assert.equal(meta.get('pods', 'default', 'a'), undefined);
  assert.deepEqual(meta.applyBatch([{ op: 'delete', kind: 'pods', namespace: 'default', name: 'a', uid: 'u-new' }]), ['missing']);
});

test('a re-created object (new uid, same name) is published as DELETED then ADDED', () => {
  const meta = new MetaManager({ db: openEdgeDatabase(':memory:'), log: silentLogger() });
  const seen: Change[] = [];
  meta.subscribe((c) => seen.push(...c));
  meta.applyBatch([{ op: 'upsert', kind: 'pods', object: pod('a', 'u-1', '5') }]);
  meta.applyBatch([{ op: 'upsert', kind: 'pods', object: pod('a', 'u-2', '3') }]);
  assert.deepEqual(
    seen.map((c) => [c.type, c.rev, c.object.uid]),
    [
      ['ADDED', 1, 'u-1'],
      ['DELETED', 2, 'u-1'],
      ['ADDED', 3, 'u-2'],
    ],
  );
});

test('an invalid object fails the whole batch before anything is written', () => {
  const meta = new MetaManager({ db: openEdgeDatabase(':memory:'), log: silentLogger() });
  const noUid = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'b', namespace: 'default' } };
  const namespacedNode = { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n', namespace: 'default', uid: 'u' } };
  for (const bad of [
    { op: 'upsert' as const, kind: 'pods' as const, object: noUid },
    { op: 'upsert' as const, kind: 'nodes' as const, object: namespacedNode },
    { op: 'upsert' as const, kind: 'pods' as const, object: { metadata: { name: 'p', uid: 'u' } } },
  ]) {
    assert.throws(
      () => meta.applyBatch([{ op: 'upsert', kind: 'pods', object: pod('a', 'u-a', '1') }, bad]),
      (err) => hasCode(err, 'EDGE_META_INVALID_OBJECT'),
    );
  }
  assert.equal(meta.revision, 0);
  assert.deepEqual(meta.inventory(), []);
});

test('changesSince replays kept history and refuses revisions older than it', () => {
  const meta = new MetaManager({ db: openEdgeDatabase(':memory:'), log: silentLogger(), historySize: 3 });
  for (let i = 0; i < 5; i++) meta.applyBatch([{ op: 'upsert', kind: 'pods', object: pod(`p${i}`, `u${i}`, String(i + 1)) }]);
  assert.deepEqual(
    meta.changesSince(3)?.map((c) => c.rev),
    [4, 5],
  );
  assert.deepEqual(
    meta.changesSince(2)?.map((c) => c.rev),
    [3, 4, 5],
  );
  assert.equal(meta.changesSince(1), undefined);
  assert.deepEqual(meta.changesSince(5), []);
});

test('after a restart, a watch may resume only from the current revision', () => {
  using tmp = tempDb();
  const db = openEdgeDatabase(tmp.path);
  const meta = new MetaManager({ db, log: silentLogger() });
  meta.applyBatch([{ op: 'upsert', kind: 'pods', object: pod('a', 'u-a', '1') }, { op: 'upsert', kind: 'pods', object: pod('b', 'u-b', '2') }]);
  db.close();
  const again = new MetaManager({ db: openEdgeDatabase(tmp.path), log: silentLogger() });
  assert.deepEqual(again.changesSince(2), []);
  assert.equal(again.changesSince(1), undefined);
});

test('a throwing listener does not fail the write', () => {
  const meta = new MetaManager({ db: openEdgeDatabase(':memory:'), log: silentLogger() });
  meta.subscribe(() => {
    throw new Error('reader bug');
  });
  assert.deepEqual(meta.applyBatch([{ op: 'upsert', kind: 'pods', object: pod('a', 'u-a', '1') }]), ['applied']);
});

test('isNewer compares decimal revisions numerically and anything else by difference', () => {
  assert.equal(isNewer('10', '9'), true);
  assert.equal(isNewer('9', '10'), false);
  assert.equal(isNewer('123456789012345678901', '123456789012345678900'), true);
  assert.equal(isNewer('abc', 'abd'), true);
  assert.equal(isNewer('abc', 'abc'), false);
});
