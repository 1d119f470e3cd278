import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { hasCode } from '../errors/platform-error.ts';
import { silentLogger } from '../log/logger.ts';
import type { Backend, KeyValue, ListOptions, ListResult, WatchEvent } from './backend.ts';
import { type AttrsFn, type CacheEvent, Cacher, type CacherOptions, type WatchBatch, toCachedObject } from './cacher.ts';
import { CompactedError, RevisionTimeoutError, WatchTerminatedError } from './errors.ts';
import { SqliteBackend } from './sqlite.ts';

const dir = mkdtempSync(join(tmpdir(), 'kedge-cacher-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const log = silentLogger();
let files = 0;
const PODS = '/registry/core/pods/';

const podAttrs: AttrsFn = (obj) => {
  const meta = obj.metadata as { name: string; namespace: string; labels?: Record<string, string> };
  const spec = obj.spec as { nodeName?: string } | undefined;
  return { labels: meta.labels ?? {}, fields: { 'metadata.name': meta.name, 'metadata.namespace': meta.namespace, 'spec.nodeName': spec?.nodeName ?? '' } };
};

function podJson(namespace: string, name: string, labels: Record<string, string> = {}, nodeName = ''): string {
  return JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace, labels }, spec: { nodeName } });
}

const podKey = (namespace: string, name: string): string => `${PODS}${namespace}/${name}`;

interface Fixture {
  readonly backend: Backend;
  readonly cacher: Cacher;
  readonly path: string;
  /** Stops the cacher and closes the backend. */
  close(): Promise<void>;
}

async function fixture(options: Partial<CacherOptions> = {}, path = join(dir, `state-${++files}.db`), seed?: (b: Backend) => Promise<void>): Promise<Fixture> {
  const backend = await SqliteBackend.open(path, { log });
  await seed?.(backend);
  const cacher = new Cacher({ backend, prefix: PODS, attrs: podAttrs, log, ...options });
  const running = new AbortController();
  await cacher.start(running.signal);
  return {
    backend,
    cacher,
    path,
    close: async () => {
      running.abort();
      await cacher.stop();
      await backend.close();
    },
  };
}

/** Writes through the backend and waits until the cache has applied the write. */
async function applied(cacher: Cacher, write: Promise<KeyValue>): Promise<KeyValue> {
  const kv = await write;
  await cacher.waitForRevision(kv.modRevision);
  return kv;
}

/** The first `n` events of a cache watch; fewer if the watch ends (it does after 5 s at the latest). */
async function take(batches: AsyncIterable<WatchBatch>, n: number): Promise<CacheEvent[]> {
  const got: CacheEvent[] = [];
  for await (const batch of batches) {
    got.push(...batch.events);
    if (got.length >= n) break;
  }
  return got;
}

const summary = (events: readonly CacheEvent[]): string[] =>
  events.map((e) => `${e.type} ${e.object.key.slice(PODS.length)} ${JSON.stringify((JSON.parse(e.object.json) as { metadata: { labels: unknown } }).metadata.labels)}`);

const resourceVersion = (json: string): string | undefined => (JSON.parse(json) as { metadata: { resourceVersion?: string } }).metadata.resourceVersion;

const watchFor = (cacher: Cacher, afterRevision: number, more: { prefix?: string; filter?: (a: { labels: Readonly<Record<string, string>> }) => boolean } = {}): AsyncIterable<WatchBatch> =>
  cacher.watch({ afterRevision, signal: AbortSignal.timeout(5_000), ...more });

describe('toCachedObject', () => {
  test('sets metadata.resourceVersion to the modification revision and computes attributes', () => {
    const kv: KeyValue = { key: podKey('ns', 'a'), value: podJson('ns', 'a', { app: 'web' }, 'node-1'), createRevision: 3, modRevision: 7 };
    const obj = toCachedObject(kv, podAttrs);
    assert.equal(resourceVersion(obj.json), '7');
    assert.equal(obj.revision, 7);
    assert.equal(obj.createRevision, 3);
    assert.deepEqual(obj.attrs.labels, { app: 'web' });
    assert.equal(obj.attrs.fields['spec.nodeName'], 'node-1');
  });

  test('a value that is not a JSON object with metadata is STORE_CORRUPT_VALUE', () => {
    for (const value of ['{not json', '[1]', '{"kind":"Pod"}']) {
      assert.throws(() => toCachedObject({ key: '/k', value, createRevision: 1, modRevision: 1 }, podAttrs), (err) => hasCode(err, 'STORE_CORRUPT_VALUE'));
    }
  });
});

describe('Cacher reads', () => {
  test('start loads what the store holds, at the store revision', async () => {
    const f = await fixture({}, undefined, async (b) => {
      await b.create(podKey('ns', 'a'), podJson('ns', 'a'));
      await b.create(podKey('ns', 'b'), podJson('ns', 'b'));
      await b.create('/registry/core/configmaps/ns/c', podJson('ns', 'c'));
    });
    try {
      assert.equal(f.cacher.revision, await f.backend.currentRevision());
      assert.equal(f.cacher.size, 2);
      const a = f.cacher.get(podKey('ns', 'a'));
      assert.equal(a?.revision, 1);
      assert.equal(resourceVersion(a.json), '1');
      assert.equal(f.cacher.get('/registry/core/configmaps/ns/c'), undefined);
    } finally {
      await f.close();
    }
  });

  test('list filters by namespace prefix and selector and paginates in key order', async () => {
    const f = await fixture();
    try {
      for (const ns of ['ns-b', 'ns-a', 'ns-c']) {
        for (let i = 9; i >= 0; i--) await f.backend.create(podKey(ns, `p${i}`), podJson(ns, `p${i}`, { parity: i % 2 === 0 ? 'even' : 'odd' }));
      }
      await f.cacher.waitForRevision(await f.backend.currentRevision());

      const all = f.cacher.list();
      assert.equal(all.items.length, 30);
      assert.deepEqual(
        all.items.map((o) => o.key),
        all.items.map((o) => o.key).sort(),
      );
      assert.equal(all.revision, f.cacher.revision);

      const nsB = f.cacher.list({ prefix: `${PODS}ns-b/` });
      assert.deepEqual(
        nsB.items.map((o) => o.key),
        Array.from({ length: 10 }, (_, i) => podKey('ns-b', `p${i}`)),
      );

      const even = (attrs: { labels: Readonly<Record<string, string>> }): boolean => attrs.labels.parity === 'even';
      const pages: string[][] = [];
      let startAfter: string | undefined;
      for (;;) {
        const page = f.cacher.list({ filter: even, limit: 4, startAfter });
        pages.push(page.items.map((o) => o.key));
        if (!page.more) break;
        startAfter = page.items.at(-1)?.key;
      }
      assert.deepEqual(
        pages.map((p) => p.length),
        [4, 4, 4, 3],
      );
      assert.deepEqual(
        pages.flat(),
        f.cacher
          .list({ filter: even })
          .items.map((o) => o.key),
      );
      // `more` is about matching items: the last even pod of ns-c is p8, so nothing matches after it.
      const last = f.cacher.list({ filter: even, startAfter: podKey('ns-c', 'p6'), limit: 1 });
      assert.deepEqual(
        last.items.map((o) => o.key),
        [podKey('ns-c', 'p8')],
      );
      assert.equal(last.more, false);
    } finally {
      await f.close();
    }
  });

  test('writes show in get and list once waitForRevision resolves, including deletes', async () => {
    const f = await fixture();
    try {
      const created = await applied(f.cacher, f.backend.create(podKey('ns', 'a'), podJson('ns', 'a', { v: '1' })));
      const updated = await applied(f.cacher, f.backend.update(podKey('ns', 'a'), podJson('ns', 'a', { v: '2' }), created.modRevision));
      assert.equal(resourceVersion(f.cacher.get(podKey('ns', 'a'))!.json), String(updated.modRevision));
      assert.deepEqual(f.cacher.get(podKey('ns', 'a'))?.attrs.labels, { v: '2' });
      await applied(f.cacher, f.backend.delete(podKey('ns', 'a')));
      assert.equal(f.cacher.get(podKey('ns', 'a')), undefined);
      assert.deepEqual(f.cacher.list().items, []);
    } finally {
      await f.close();
    }
  });
});

describe('Cacher.waitForRevision', () => {
  test('follows writes to other resources too, so a consistent read never waits for its own resource to change', async () => {
    const f = await fixture();
    try {
      const other = await f.backend.create('/registry/core/configmaps/ns/x', podJson('ns', 'x'));
      await f.cacher.waitForRevision(other.modRevision, undefined, 2_000);
      assert.equal(f.cacher.revision, other.modRevision);
    } finally {
      await f.close();
    }
  });

  test('a revision the store has not reached times out with API_TIMEOUT; an abort rejects at once', async () => {
    const f = await fixture();
    try {
      const future = (await f.backend.currentRevision()) + 5;
      const err = await f.cacher.waitForRevision(future, undefined, 50).then(
        () => assert.fail('expected a timeout'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof RevisionTimeoutError);
      assert.equal(err.code, 'API_TIMEOUT');
      const ac = new AbortController();
      const waiting = f.cacher.waitForRevision(future, ac.signal, 60_000);
      ac.abort(new Error('client went away'));
      await assert.rejects(waiting, /client went away/);
    } finally {
      await f.close();
    }
  });
});

describe('Cacher.watch', () => {
  test('sends every change after the revision in order, with resourceVersions; a deletion carries the last state', async () => {
    const f = await fixture();
    try {
      const start = f.cacher.revision;
      const events = take(watchFor(f.cacher, start), 3);
      const a = await f.backend.create(podKey('ns', 'a'), podJson('ns', 'a', { v: '1' }));
      const a2 = await f.backend.update(podKey('ns', 'a'), podJson('ns', 'a', { v: '2' }), a.modRevision);
      const gone = await f.backend.delete(podKey('ns', 'a'));
      const got = await events;
      assert.deepEqual(summary(got), ['ADDED ns/a {"v":"1"}', 'MODIFIED ns/a {"v":"2"}', 'DELETED ns/a {"v":"2"}']);
      assert.deepEqual(
        got.map((e) => resourceVersion(e.object.json)),
        [a, a2, gone].map((kv) => String(kv.modRevision)),
      );
    } finally {
      await f.close();
    }
  });

  test('a filtered watch sees objects enter the selection as ADDED and leave it as DELETED with their new state', async () => {
    const f = await fixture();
    try {
      const web = (attrs: { labels: Readonly<Record<string, string>> }): boolean => attrs.labels.app === 'web';
      const events = take(watchFor(f.cacher, f.cacher.revision, { filter: web }), 4);
      const a = await f.backend.create(podKey('ns', 'a'), podJson('ns', 'a', { app: 'web' }));
      const b = await f.backend.create(podKey('ns', 'b'), podJson('ns', 'b', { app: 'db' }));
      const b2 = await f.backend.update(podKey('ns', 'b'), podJson('ns', 'b', { app: 'web' }), b.modRevision);
      const a2 = await f.backend.update(podKey('ns', 'a'), podJson('ns', 'a', { app: 'db' }), a.modRevision);
      await f.backend.update(podKey('ns', 'a'), podJson('ns', 'a', { app: 'db', v: '3' }), a2.modRevision);
      await f.backend.delete(podKey('ns', 'b'), b2.modRevision);
      await f.backend.delete(podKey('ns', 'a'));
      assert.deepEqual(summary(await events), ['ADDED ns/a {"app":"web"}', 'ADDED ns/b {"app":"web"}', 'DELETED ns/a {"app":"db"}', 'DELETED ns/b {"app":"web"}']);
    } finally {
      await f.close();
    }
  });

  test('a namespace watch gets only that namespace', async () => {
    const f = await fixture();
    try {
      const events = take(watchFor(f.cacher, f.cacher.revision, { prefix: `${PODS}ns-b/` }), 1);
      await f.backend.create(podKey('ns-a', 'x'), podJson('ns-a', 'x'));
      await f.backend.create(podKey('ns-bb', 'x'), podJson('ns-bb', 'x'));
      await f.backend.create(podKey('ns-b', 'x'), podJson('ns-b', 'x'));
      assert.deepEqual(summary(await events), ['ADDED ns-b/x {}']);
    } finally {
      await f.close();
    }
  });

  test('resumes from a recent revision out of memory, then continues live, without a gap or a duplicate', async () => {
    const f = await fixture();
    try {
      let rev = 0;
      for (let i = 0; i < 10; i++) rev = (await f.backend.create(podKey('ns', `p${i}`), podJson('ns', `p${i}`))).modRevision;
      await f.cacher.waitForRevision(rev);
      const from = rev - 4;
      const events = take(watchFor(f.cacher, from), 6);
      await f.backend.create(podKey('ns', 'live-1'), podJson('ns', 'live-1'));
      await f.backend.create(podKey('ns', 'live-2'), podJson('ns', 'live-2'));
      assert.deepEqual(
        (await events).map((e) => e.object.key.slice(PODS.length)),
        ['ns/p6', 'ns/p7', 'ns/p8', 'ns/p9', 'ns/live-1', 'ns/live-2'],
      );
    } finally {
      await f.close();
    }
  });

  test('resumes from a revision older than the memory holds by replaying the store, keeping filter transitions', async () => {
    const f = await fixture({ historyLimit: 3 });
    try {
      const web = (attrs: { labels: Readonly<Record<string, string>> }): boolean => attrs.labels.app === 'web';
      const from = f.cacher.revision;
      const a = await f.backend.create(podKey('ns', 'a'), podJson('ns', 'a', { app: 'db' }));
      const a2 = await f.backend.update(podKey('ns', 'a'), podJson('ns', 'a', { app: 'web' }), a.modRevision);
      await f.backend.update(podKey('ns', 'a'), podJson('ns', 'a', { app: 'db' }), a2.modRevision);
      for (let i = 0; i < 5; i++) await f.backend.create(podKey('ns', `p${i}`), podJson('ns', `p${i}`, { app: 'web' }));
      await f.cacher.waitForRevision(await f.backend.currentRevision());

      const all = take(watchFor(f.cacher, from), 9);
      const filtered = take(watchFor(f.cacher, from, { filter: web }), 8);
      await f.backend.create(podKey('ns', 'live'), podJson('ns', 'live', { app: 'web' }));
      assert.deepEqual(summary(await all), [
        'ADDED ns/a {"app":"db"}',
        'MODIFIED ns/a {"app":"web"}',
        'MODIFIED ns/a {"app":"db"}',
        'ADDED ns/p0 {"app":"web"}',
        'ADDED ns/p1 {"app":"web"}',
        'ADDED ns/p2 {"app":"web"}',
        'ADDED ns/p3 {"app":"web"}',
        'ADDED ns/p4 {"app":"web"}',
        'ADDED ns/live {"app":"web"}',
      ]);
      assert.deepEqual(summary(await filtered), [
        'ADDED ns/a {"app":"web"}',
        'DELETED ns/a {"app":"db"}',
        'ADDED ns/p0 {"app":"web"}',
        'ADDED ns/p1 {"app":"web"}',
        'ADDED ns/p2 {"app":"web"}',
        'ADDED ns/p3 {"app":"web"}',
        'ADDED ns/p4 {"app":"web"}',
        'ADDED ns/live {"app":"web"}',
      ]);
    } finally {
      await f.close();
    }
  });

  test('a watch that replayed the store joins the live stream without waiting for another change', async () => {
    const f = await fixture({ historyLimit: 1, progressIntervalMs: 20 });
    try {
      const from = f.cacher.revision;
      await f.backend.create(podKey('ns', 'a'), podJson('ns', 'a'));
      const last = await applied(f.cacher, f.backend.create(podKey('ns', 'b'), podJson('ns', 'b')));
      const batches: WatchBatch[] = [];
      // Once live, the idle watch gets a progress batch; a watch still replaying would get nothing.
      for await (const batch of watchFor(f.cacher, from)) {
        batches.push(batch);
        if (batch.events.length === 0) break;
      }
      assert.deepEqual(
        batches.flatMap((b) => b.events.map((e) => e.object.key)),
        [podKey('ns', 'a'), podKey('ns', 'b')],
      );
      assert.deepEqual(batches.at(-1), { events: [], revision: last.modRevision }, 'the watch went live and reported progress');
    } finally {
      await f.close();
    }
  });

  test('after a restart, a watch from before it replays the store and joins the live stream', async () => {
    const first = await fixture();
    const from = first.cacher.revision;
    const a = await first.backend.create(podKey('ns', 'a'), podJson('ns', 'a', { v: '1' }));
    await first.backend.update(podKey('ns', 'a'), podJson('ns', 'a', { v: '2' }), a.modRevision);
    await first.backend.create(podKey('ns', 'b'), podJson('ns', 'b'));
    await first.close();

    const second = await fixture({}, first.path);
    try {
      // Nothing changed under the prefix since the restart: the replay must still end and go live.
      await second.backend.create('/registry/core/configmaps/ns/x', podJson('ns', 'x'));
      const events = take(watchFor(second.cacher, from), 5);
      await second.backend.delete(podKey('ns', 'b'));
      await second.backend.create(podKey('ns', 'c'), podJson('ns', 'c'));
      assert.deepEqual(summary(await events), ['ADDED ns/a {"v":"1"}', 'MODIFIED ns/a {"v":"2"}', 'ADDED ns/b {}', 'DELETED ns/b {}', 'ADDED ns/c {}']);
    } finally {
      await second.close();
    }
  });

  test('a watch from before the compacted revision fails with STORE_COMPACTED', async () => {
    const f = await fixture({ historyLimit: 2 });
    try {
      const from = f.cacher.revision;
      let kv = await f.backend.create(podKey('ns', 'a'), podJson('ns', 'a'));
      for (let i = 0; i < 5; i++) kv = await f.backend.update(podKey('ns', 'a'), podJson('ns', 'a', { v: `${i}` }), kv.modRevision);
      await f.backend.compact(kv.modRevision - 1);
      await f.cacher.waitForRevision(kv.modRevision);
      await assert.rejects(take(watchFor(f.cacher, from), 1), (err) => hasCode(err, 'STORE_COMPACTED'));
      // The memory still reaches back far enough for this one.
      assert.equal((await take(watchFor(f.cacher, kv.modRevision - 1), 1)).length, 1);
    } finally {
      await f.close();
    }
  });

  test('a watcher that stops reading is cut off with WatchTerminatedError; others are unaffected', async () => {
    const f = await fixture({ maxPendingEvents: 10 });
    try {
      const start = f.cacher.revision;
      const stuck = watchFor(f.cacher, start)[Symbol.asyncIterator]();
      const first = stuck.next();
      const healthy = take(watchFor(f.cacher, start), 30);
      for (let i = 0; i < 30; i++) await f.backend.create(podKey('ns', `p${i}`), podJson('ns', `p${i}`));
      assert.equal((await first).value?.events.length, 1);
      assert.equal((await healthy).length, 30);
      const err = await stuck.next().then(
        () => assert.fail('expected the stuck watcher to be cut off'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof WatchTerminatedError);
      assert.equal(err.reason, 'too-slow');
    } finally {
      await f.close();
    }
  });

  test('an idle watch gets empty batches carrying the current revision', async () => {
    const f = await fixture({ progressIntervalMs: 20 });
    try {
      const none = (): boolean => false;
      const other = await f.backend.create('/registry/core/configmaps/ns/x', podJson('ns', 'x'));
      await f.backend.create(podKey('ns', 'hidden'), podJson('ns', 'hidden'));
      for await (const batch of f.cacher.watch({ afterRevision: f.cacher.revision, filter: none, signal: AbortSignal.timeout(5_000) })) {
        assert.deepEqual(batch.events, []);
        if (batch.revision > other.modRevision) break;
      }
      assert.equal(f.cacher.revision, other.modRevision + 1);
    } finally {
      await f.close();
    }
  });

  test('a watch from a revision the cache has not reached yet starts once it gets there', async () => {
    const f = await fixture();
    try {
      const next = f.cacher.revision + 1;
      const events = take(watchFor(f.cacher, next), 1);
      await f.backend.create(podKey('ns', 'a'), podJson('ns', 'a'));
      await f.backend.create(podKey('ns', 'b'), podJson('ns', 'b'));
      assert.deepEqual(summary(await events), ['ADDED ns/b {}']);
    } finally {
      await f.close();
    }
  });

  test('stopping the cache ends its watches and rejects waiters', async () => {
    const f = await fixture();
    const watching = take(watchFor(f.cacher, f.cacher.revision), 1);
    const waiting = f.cacher.waitForRevision(f.cacher.revision + 100, undefined, 60_000);
    await f.cacher.stop();
    assert.deepEqual(await watching, []);
    await assert.rejects(waiting, (err) => hasCode(err, 'STORE_CLOSED'));
    await f.close();
  });
});

/** The real store, with a switch that makes the next whole-keyspace watch batch fail as if compacted. */
class LosingTrackBackend implements Backend {
  readonly #inner: Backend;
  failNextBatch = false;
  constructor(inner: Backend) {
    this.#inner = inner;
  }
  currentRevision(): Promise<number> {
    return this.#inner.currentRevision();
  }
  compactedRevision(): Promise<number> {
    return this.#inner.compactedRevision();
  }
  get(key: string): Promise<KeyValue | undefined> {
    return this.#inner.get(key);
  }
  list(prefix: string, options?: ListOptions): Promise<ListResult> {
    return this.#inner.list(prefix, options);
  }
  create(key: string, value: string): Promise<KeyValue> {
    return this.#inner.create(key, value);
  }
  update(key: string, value: string, expectedModRevision: number): Promise<KeyValue> {
    return this.#inner.update(key, value, expectedModRevision);
  }
  delete(key: string, expectedModRevision?: number): Promise<KeyValue> {
    return this.#inner.delete(key, expectedModRevision);
  }
  async *watch(prefix: string, afterRevision: number, signal: AbortSignal): AsyncIterable<readonly WatchEvent[]> {
    for await (const batch of this.#inner.watch(prefix, afterRevision, signal)) {
      if (prefix === '' && this.failNextBatch) {
        this.failNextBatch = false;
        throw new CompactedError(afterRevision, batch[0]!.kv.modRevision);
      }
      yield batch;
    }
  }
  compact(revision: number): Promise<void> {
    return this.#inner.compact(revision);
  }
  close(): Promise<void> {
    return this.#inner.close();
  }
}

test('a cache that loses track of the store reloads it and ends its watches with a resync error', { timeout: 20_000 }, async () => {
  const sqlite = await SqliteBackend.open(join(dir, `state-${++files}.db`), { log });
  const backend = new LosingTrackBackend(sqlite);
  const cacher = new Cacher({ backend, prefix: PODS, attrs: podAttrs, log });
  const running = new AbortController();
  try {
    await cacher.start(running.signal);
    const watching = take(watchFor(cacher, cacher.revision), 10);
    backend.failNextBatch = true;
    const lost = await backend.create(podKey('ns', 'lost'), podJson('ns', 'lost'));
    await assert.rejects(watching, (err) => err instanceof WatchTerminatedError && err.reason === 'resync');
    await cacher.waitForRevision(lost.modRevision, undefined, 10_000);
    assert.ok(cacher.get(podKey('ns', 'lost')) !== undefined, 'the reload brought in the change the lost watch did not deliver');
    const after = await applied(cacher, backend.create(podKey('ns', 'after'), podJson('ns', 'after')));
    assert.equal(cacher.get(podKey('ns', 'after'))?.revision, after.modRevision, 'the cache follows the store again');
  } finally {
    running.abort();
    await cacher.stop();
    await sqlite.close();
  }
});
