import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../../api/object.ts';
import { silentLogger } from '../../../log/logger.ts';
import type { ListResult, ResourceClient, WatchEvent } from '../../client/client.ts';
import { eventually, TestApi } from '../gc/testing.ts';
import { Informer } from './informer.ts';
import { SharedInformers } from './shared-informers.ts';

function configMap(name: string): KubeObject {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name } };
}

describe('shared informers', () => {
  let api: TestApi;
  before(async () => {
    api = await TestApi.start();
  });
  after(() => api.close());

  it('INFORMER_HANDLER_1: a removed handler hears nothing more, and removing one while an event is dispatched skips no other', async () => {
    const informers = new SharedInformers({ client: api.client, log: silentLogger() });
    const configMaps = informers.get('', 'v1', 'configmaps');
    const seen: string[] = [];
    const removeFirst = configMaps.addHandler({ add: () => removeFirst() });
    configMaps.addHandler({ add: (o) => seen.push(`second ${o.metadata.name ?? ''}`) });
    const removeThird = configMaps.addHandler({ add: (o) => seen.push(`third ${o.metadata.name ?? ''}`) });
    await configMaps.start(api.signal);
    await api.configMaps.create('default', configMap('handler-a'));
    await eventually(() => assert.deepEqual(seen, ['second handler-a', 'third handler-a']));
    removeThird();
    removeThird();
    await api.configMaps.create('default', configMap('handler-b'));
    await eventually(() => assert.deepEqual(seen, ['second handler-a', 'third handler-a', 'second handler-b']));
  });

  it('SHARED_LEASE_1: the last release of an informer nobody pinned stops and drops it; the next one lists afresh', async () => {
    const informers = new SharedInformers({ client: api.client, log: silentLogger() });
    const a = informers.acquire('', 'v1', 'secrets');
    const b = informers.acquire('', 'v1', 'secrets');
    assert.equal(a.informer, b.informer);
    await a.informer.start(api.signal);
    const names = (i: Informer<KubeObject>): string[] => i.list('default').map((o) => o.metadata.name ?? '').sort();
    a.release();
    a.release();
    assert.equal(informers.has('', 'v1', 'secrets'), true, 'kept while a lease is held');
    await api.client.resource('', 'v1', 'secrets').create('default', { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'lease-1' } });
    await eventually(() => assert.deepEqual(names(b.informer), ['lease-1']));
    b.release();
    assert.equal(informers.has('', 'v1', 'secrets'), false);
    assert.equal(informers.size, 0);
    await api.client.resource('', 'v1', 'secrets').create('default', { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'lease-2' } });
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(names(b.informer), ['lease-1'], 'a stopped informer no longer watches');
    const c = informers.acquire('', 'v1', 'secrets');
    assert.notEqual(c.informer, b.informer);
    await c.informer.start(api.signal);
    assert.deepEqual(names(c.informer), ['lease-1', 'lease-2']);
    c.release();
  });

  it('SHARED_PIN_1: an informer a component took with get outlives every lease and keeps watching', async () => {
    const informers = new SharedInformers({ client: api.client, log: silentLogger() });
    const lease = informers.acquire('', 'v1', 'configmaps');
    const pinned = informers.get('', 'v1', 'configmaps');
    assert.equal(lease.informer, pinned);
    await pinned.start(api.signal);
    lease.release();
    assert.equal(informers.has('', 'v1', 'configmaps'), true);
    assert.equal(informers.acquire('', 'v1', 'configmaps').informer, pinned);
    await api.configMaps.create('default', configMap('pinned'));
    await eventually(() => assert.ok(pinned.get('default', 'pinned')));
  });

  it('INFORMER_START_1: a first list that failed is tried again by the next start', async () => {
    let lists = 0;
    const client = {
      list: (): Promise<ListResult<KubeObject>> => {
        lists++;
        return lists === 1 ? Promise.reject(new Error('not served')) : Promise.resolve({ items: [configMap('later')], resourceVersion: '1' });
      },
      watch: async function* (_ns: string | undefined, options: { signal: AbortSignal }): AsyncIterable<WatchEvent<KubeObject>> {
        await new Promise((r) => options.signal.addEventListener('abort', r, { once: true }));
        yield* [];
      },
    } as unknown as ResourceClient<KubeObject>;
    const informer = new Informer<KubeObject>({ client, log: silentLogger() });
    const stop = new AbortController();
    try {
      await assert.rejects(informer.start(stop.signal), /not served/);
      assert.equal(informer.hasSynced, false);
      await informer.start(stop.signal);
      assert.equal(informer.hasSynced, true);
      assert.ok(informer.get(undefined, 'later'));
    } finally {
      stop.abort();
    }
  });
});
