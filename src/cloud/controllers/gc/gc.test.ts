import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../../api/object.ts';
import { silentLogger } from '../../../log/logger.ts';
import { CrdController } from '../../apiserver/crd/crd-controller.ts';
import { EventRecorder } from '../events/recorder.ts';
import { Controller } from '../runtime/controller.ts';
import { Informer } from '../runtime/informer.ts';
import { GarbageCollector, garbageCollectorModule, namespaceModule } from './index.ts';
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

const WIDGETS_CRD = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'widgets.gc.test.kedge.io' },
  spec: {
    group: 'gc.test.kedge.io',
    scope: 'Namespaced',
    names: { plural: 'widgets', singular: 'widget', kind: 'Widget', listKind: 'WidgetList' },
    versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } }],
  },
};

describe('garbage collector on the shared informers', () => {
  let api: TestApi;
  let gc: GarbageCollector;
  before(async () => {
    api = await TestApi.start();
    const log = silentLogger();
    const crds = api.registry.lookup('apiextensions.k8s.io', 'v1', 'customresourcedefinitions');
    assert.ok(crds);
    await new CrdController({ crds, registry: api.registry, log }).start(api.signal);
    // Another component follows pods before the collector starts, as the controllers before it do.
    await api.informers.get('', 'v1', 'pods').start(api.signal);
    let collector: GarbageCollector | undefined = undefined;
    const controller = new Controller({ reconciler: { name: 'garbage-collector', reconcile: (uid) => collector!.reconcile(uid) }, log });
    collector = new GarbageCollector({ client: api.client, informers: api.informers, log, enqueue: (uid) => controller.enqueue(uid) });
    gc = collector;
    // Resources are synced by hand here (the module does it every few seconds).
    await gc.syncResources(api.signal);
    controller.start(api.signal);
  });
  after(() => api.close());

  it('GC_SHARED_1: every resource is followed through one shared informer, and the graph holds the informer\'s own objects', async () => {
    assert.ok(gc.resourceCount > 10);
    assert.equal(api.informers.size, gc.resourceCount, 'no informer of the collector beside the shared ones');
    assert.ok(api.informers.has('', 'v1', 'pods'));
    const pod = await api.createPod('shared');
    const cm = await configMap(api, 'shared');
    await eventually(() => {
      assert.equal(gc.graph.get(pod.metadata.uid ?? '')?.object, api.informers.get('', 'v1', 'pods').get('default', 'shared'));
      assert.equal(gc.graph.get(cm.metadata.uid ?? '')?.object, api.informers.get('', 'v1', 'configmaps').get('default', 'shared'));
    });
    assert.ok(Object.isFrozen(gc.graph.get(cm.metadata.uid ?? '')?.object.metadata), 'cached objects are frozen');
    // Writes start from copies: collecting a dependent of a deleted owner works on frozen objects.
    await configMap(api, 'shared-child', { owners: [ownerRef(cm)] });
    await api.configMaps.delete('default', 'shared');
    await gone(api, 'shared-child');
  });

  it('GC_CRD_1: a CRD deleted and re-created is followed again, on a new informer that lists afresh', async () => {
    const crds = api.client.resource('apiextensions.k8s.io', 'v1', 'customresourcedefinitions');
    const widgets = api.client.resource('gc.test.kedge.io', 'v1', 'widgets');
    const widget = (name: string): KubeObject => ({ apiVersion: 'gc.test.kedge.io/v1', kind: 'Widget', metadata: { name } });
    const before = gc.resourceCount;
    // A look at the widgets informer that does not keep it (as `get` would).
    const peek = (): unknown => {
      const lease = api.informers.acquire('gc.test.kedge.io', 'v1', 'widgets');
      lease.release();
      return lease.informer;
    };

    await crds.create(undefined, WIDGETS_CRD);
    await eventually(async () => assert.ok((await api.client.serverResources()).some((r) => r.plural === 'widgets')));
    const old = await widgets.create('default', widget('old'));
    await gc.syncResources(api.signal);
    assert.equal(gc.resourceCount, before + 1);
    const first = peek();
    await eventually(() => assert.ok(gc.graph.get(old.metadata.uid ?? '')));

    await crds.delete(undefined, WIDGETS_CRD.metadata.name);
    await eventually(async () => assert.equal((await api.client.serverResources()).some((r) => r.plural === 'widgets'), false));
    await gc.syncResources(api.signal);
    assert.equal(gc.resourceCount, before);
    assert.equal(gc.graph.get(old.metadata.uid ?? ''), undefined, 'the objects of a resource no longer served are forgotten');
    assert.equal(api.informers.has('gc.test.kedge.io', 'v1', 'widgets'), false, 'its informer, used by nobody else, is dropped');

    await crds.create(undefined, WIDGETS_CRD);
    await eventually(async () => assert.ok((await api.client.serverResources()).some((r) => r.plural === 'widgets')));
    const owner = await widgets.create('default', widget('new'));
    await configMap(api, 'widget-child', { owners: [{ apiVersion: 'gc.test.kedge.io/v1', kind: 'Widget', name: 'new', uid: owner.metadata.uid }] });
    await gc.syncResources(api.signal);
    assert.equal(gc.resourceCount, before + 1);
    assert.notEqual(peek(), first, 'a new informer');
    assert.ok(gc.graph.get(owner.metadata.uid ?? ''));
    // The dependent of a re-created resource's object is collected when its owner goes.
    await new Promise((r) => setTimeout(r, 100));
    assert.ok(await api.configMaps.get('default', 'widget-child'), 'kept while its owner lives');
    await widgets.delete('default', 'new');
    await gone(api, 'widget-child');
  });
});
