import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../../api/object.ts';
import { silentLogger } from '../../../log/logger.ts';
import { EventRecorder } from '../events/recorder.ts';
import { Controller } from '../runtime/controller.ts';
import { Informer } from '../runtime/informer.ts';
import { garbageCollectorModule, namespaceModule } from './index.ts';
import { PodGarbageCollector, type NodeObject, type PodObject } from './pod-gc.ts';
import { eventually, TestApi } from './testing.ts';

function ownerRef(owner: KubeObject, block = false): Record<string, unknown> {
  return { apiVersion: 'v1', kind: owner.kind, name: owner.metadata.name, uid: owner.metadata.uid, ...(block ? { blockOwnerDeletion: true } : {}) };
}

async function configMap(api: TestApi, name: string, options: { owners?: Record<string, unknown>[]; finalizers?: string[]; namespace?: string } = {}): Promise<KubeObject> {
  return api.configMaps.create(options.namespace ?? 'default', {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, ...(options.owners ? { ownerReferences: options.owners as never } : {}), ...(options.finalizers ? { finalizers: options.finalizers } : {}) },
    data: { k: 'v' },
  });
}

async function gone(api: TestApi, name: string, namespace = 'default'): Promise<void> {
  await eventually(async () => assert.equal(await api.configMaps.get(namespace, name), undefined, `${name} should be gone`));
}

describe('garbage collector', () => {
  let api: TestApi;
  before(async () => {
    api = await TestApi.start();
    await api.run(garbageCollectorModule);
    await api.run(namespaceModule);
  });
  after(() => api.close());

  it('GC_BACKGROUND_1: dependents go after their owner is deleted', async () => {
    const owner = await configMap(api, 'bg-owner');
    await configMap(api, 'bg-child-1', { owners: [ownerRef(owner)] });
    await configMap(api, 'bg-child-2', { owners: [ownerRef(owner)] });
    await api.configMaps.delete('default', 'bg-owner');
    await gone(api, 'bg-child-1');
    await gone(api, 'bg-child-2');
  });

  it('GC_ORPHAN_1: orphan deletion strips the owner reference, keeps the dependent and deletes the owner', async () => {
    const owner = await configMap(api, 'or-owner');
    await configMap(api, 'or-child', { owners: [ownerRef(owner)] });
    const r = await api.configMaps.delete('default', 'or-owner', { propagationPolicy: 'Orphan' });
    assert.deepEqual(r.object.metadata.finalizers, ['orphan']);
    await gone(api, 'or-owner');
    const child = await api.configMaps.get('default', 'or-child');
    assert.ok(child);
    assert.equal(child.metadata.ownerReferences, undefined);
  });

  it('GC_FOREGROUND_1: the owner waits with foregroundDeletion until blocking dependents are gone', async () => {
    const owner = await configMap(api, 'fg-owner');
    await configMap(api, 'fg-child', { owners: [ownerRef(owner, true)], finalizers: ['test.kedge.io/hold'] });
    await api.configMaps.delete('default', 'fg-owner', { propagationPolicy: 'Foreground' });
    // The dependent is being deleted, held by its own finalizer; the owner waits for it.
    await eventually(async () => assert.ok((await api.configMaps.get('default', 'fg-child'))?.metadata.deletionTimestamp));
    await new Promise((r) => setTimeout(r, 200));
    const waiting = await api.configMaps.get('default', 'fg-owner');
    assert.deepEqual(waiting?.metadata.finalizers, ['foregroundDeletion']);
    await api.configMaps.patch('default', 'fg-child', 'merge', { metadata: { finalizers: null } });
    await gone(api, 'fg-child');
    await gone(api, 'fg-owner');
  });

  it('GC_DANGLING_1: a dependent whose owner never existed (or is long gone) is deleted', async () => {
    await configMap(api, 'dangling', { owners: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'nobody', uid: '00000000-0000-0000-0000-000000000000' }] });
    await gone(api, 'dangling');
  });

  it('GC_OWNERS_1: a dependent with a living owner stays, without the reference to the deleted one', async () => {
    const a = await configMap(api, 'two-a');
    const b = await configMap(api, 'two-b');
    await configMap(api, 'two-child', { owners: [ownerRef(a), ownerRef(b)] });
    await api.configMaps.delete('default', 'two-a');
    await eventually(async () => {
      const child = await api.configMaps.get('default', 'two-child');
      assert.deepEqual(child?.metadata.ownerReferences?.map((r) => r.name), ['two-b']);
    });
  });

  it('NS_DELETE_1: deleting a namespace deletes its content, waits for what lingers, then the namespace', async () => {
    await api.namespaces.create(undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'doomed' } });
    await configMap(api, 'a', { namespace: 'doomed' });
    await configMap(api, 'held', { namespace: 'doomed', finalizers: ['test.kedge.io/hold'] });
    await api.createPod('pending', { namespace: 'doomed' });
    await api.namespaces.delete(undefined, 'doomed');
    await gone(api, 'a', 'doomed');
    await eventually(async () => assert.equal(await api.pods.get('doomed', 'pending'), undefined));
    // The held object keeps the namespace Terminating.
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual((await api.namespaces.get(undefined, 'doomed'))?.['status'], { phase: 'Terminating' });
    await api.configMaps.patch('doomed', 'held', 'merge', { metadata: { finalizers: null } });
    await eventually(async () => assert.equal(await api.namespaces.get(undefined, 'doomed'), undefined), 8_000);
  });
});

describe('pod garbage collector', () => {
  it('PODGC_ORPHAN_1: pods bound to a node that no longer exists are force deleted after the quarantine', async () => {
    const api = await TestApi.start();
    try {
      const log = silentLogger();
      await api.createNode('alive');
      await api.createPod('on-alive', { nodeName: 'alive' });
      await api.createPod('on-ghost', { nodeName: 'ghost' });
      const nodes = new Informer<NodeObject>({ client: api.client.resource('', 'v1', 'nodes'), log });
      const pods = new Informer<PodObject>({ client: api.client.resource('', 'v1', 'pods'), log });
      const gc = new PodGarbageCollector({ pods, nodes, podClient: api.client.resource('', 'v1', 'pods'), nodeClient: api.client.resource('', 'v1', 'nodes'), recorder: new EventRecorder({ client: api.client, component: 'pod-gc', log }), log, quarantineMs: 300 });
      const controller = new Controller({ reconciler: gc, log });
      pods.addHandler({ add: (p) => (gc.orphaned(p) ? controller.enqueue(`${p.metadata.namespace}/${p.metadata.name}`) : undefined) });
      await nodes.start(api.signal);
      await pods.start(api.signal);
      const started = Date.now();
      controller.start(api.signal);
      await eventually(async () => assert.equal(await api.pods.get('default', 'on-ghost'), undefined));
      assert.ok(Date.now() - started >= 300, 'not before the quarantine');
      assert.ok(await api.pods.get('default', 'on-alive'));
    } finally {
      await api.close();
    }
  });
});
