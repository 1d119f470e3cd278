import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { hasCode } from '../errors/platform-error.ts';
import type { ErrorCode } from '../errors/codes.ts';
import type { Backend, KeyValue, WatchEvent } from './backend.ts';
import { RevisionMismatchError } from './errors.ts';

/** What a conformance test gets from the implementation under test. */
export interface BackendUnderTest {
  /** A fresh, empty backend. */
  readonly backend: Backend;
  /**
   * Opens a new backend on the same storage, as a restarted process would (every kedge backend
   * persists). The suite closes `backend` before calling it.
   */
  readonly reopen: () => Promise<Backend>;
}

/** Per-test limit: a hanging watch fails its test instead of the whole run. */
const TEST_TIMEOUT_MS = 20_000;

/**
 * The behaviour every {@link Backend} must have, as a `node:test` suite. Call it at the top level of an
 * implementation's test file; `open` is called once per test and must return an empty store.
 *
 * @example
 * runBackendConformance('sqlite', async () => { const path = tmpFile(); return { backend: await SqliteBackend.open(path, { log }), reopen: () => SqliteBackend.open(path, { log }) }; });
 */
export function runBackendConformance(name: string, open: () => Promise<BackendUnderTest>): void {
  /** Runs `body` against a fresh backend and closes whatever backend is current afterwards. */
  const withBackend = (title: string, body: (t: Harness) => Promise<void>): void => {
    test(title, { timeout: TEST_TIMEOUT_MS }, async () => {
      const opened = await open();
      const { reopen } = opened;
      const harness: Harness = {
        backend: opened.backend,
        reopen: async () => {
          await harness.backend.close();
          harness.backend = await reopen();
          return harness.backend;
        },
      };
      try {
        await body(harness);
      } finally {
        await harness.backend.close();
      }
    });
  };

  describe(`Backend conformance: ${name}`, () => {
    describe('create and get', () => {
      withBackend('an empty store is at revision 0 and has nothing', async ({ backend }) => {
        assert.equal(await backend.currentRevision(), 0);
        assert.equal(await backend.get('/registry/pods/default/a'), undefined);
        assert.deepEqual((await backend.list('/registry/')).items, []);
      });

      withBackend('create stores the value at a new revision that is both create and mod revision', async ({ backend }) => {
        const kv = await backend.create('/registry/pods/default/a', '{"a":1}');
        assert.equal(kv.key, '/registry/pods/default/a');
        assert.equal(kv.value, '{"a":1}');
        assert.ok(kv.modRevision > 0);
        assert.equal(kv.createRevision, kv.modRevision);
        assert.equal(await backend.currentRevision(), kv.modRevision);
        assert.deepEqual(await backend.get('/registry/pods/default/a'), kv);
      });

      withBackend('create of an existing key fails with STORE_KEY_EXISTS and changes nothing', async ({ backend }) => {
        const kv = await backend.create('/k', 'v1');
        await assert.rejects(backend.create('/k', 'v2'), code('STORE_KEY_EXISTS'));
        assert.deepEqual(await backend.get('/k'), kv);
        assert.equal(await backend.currentRevision(), kv.modRevision);
      });

      withBackend('every write gets a strictly greater revision', async ({ backend }) => {
        const a = await backend.create('/a', '1');
        const b = await backend.create('/b', '1');
        const a2 = await backend.update('/a', '2', a.modRevision);
        const bd = await backend.delete('/b');
        assert.ok(a.modRevision < b.modRevision && b.modRevision < a2.modRevision && a2.modRevision < bd.modRevision);
        assert.equal(await backend.currentRevision(), bd.modRevision);
      });
    });

    describe('update', () => {
      withBackend('update with the current mod revision replaces the value and keeps the create revision', async ({ backend }) => {
        const created = await backend.create('/k', 'v1');
        const updated = await backend.update('/k', 'v2', created.modRevision);
        assert.equal(updated.value, 'v2');
        assert.equal(updated.createRevision, created.createRevision);
        assert.ok(updated.modRevision > created.modRevision);
        assert.deepEqual(await backend.get('/k'), updated);
      });

      withBackend('update with a stale mod revision fails with the current value and changes nothing', async ({ backend }) => {
        const created = await backend.create('/k', 'v1');
        const updated = await backend.update('/k', 'v2', created.modRevision);
        const err = await rejection(backend.update('/k', 'v3', created.modRevision));
        assert.ok(err instanceof RevisionMismatchError);
        assert.equal(err.code, 'STORE_REVISION_MISMATCH');
        assert.deepEqual(err.current, updated);
        assert.deepEqual(await backend.get('/k'), updated);
      });

      withBackend('update of a missing or deleted key fails with STORE_NOT_FOUND', async ({ backend }) => {
        await assert.rejects(backend.update('/missing', 'v', 1), code('STORE_NOT_FOUND'));
        const created = await backend.create('/k', 'v1');
        await backend.delete('/k');
        await assert.rejects(backend.update('/k', 'v2', created.modRevision), code('STORE_NOT_FOUND'));
      });
    });

    describe('delete', () => {
      withBackend('delete without a precondition returns the last value at the deletion revision', async ({ backend }) => {
        const created = await backend.create('/k', 'last');
        const deleted = await backend.delete('/k');
        assert.equal(deleted.value, 'last');
        assert.equal(deleted.createRevision, created.createRevision);
        assert.ok(deleted.modRevision > created.modRevision);
        assert.equal(await backend.currentRevision(), deleted.modRevision);
        assert.equal(await backend.get('/k'), undefined);
        await assert.rejects(backend.delete('/k'), code('STORE_NOT_FOUND'));
      });

      withBackend('delete with a precondition checks the mod revision', async ({ backend }) => {
        const created = await backend.create('/k', 'v1');
        const updated = await backend.update('/k', 'v2', created.modRevision);
        const err = await rejection(backend.delete('/k', created.modRevision));
        assert.ok(err instanceof RevisionMismatchError);
        assert.deepEqual(err.current, updated);
        assert.deepEqual(await backend.get('/k'), updated);
        const deleted = await backend.delete('/k', updated.modRevision);
        assert.equal(deleted.value, 'v2');
        assert.equal(await backend.get('/k'), undefined);
      });

      withBackend('a key created again after deletion starts a new life', async ({ backend }) => {
        await backend.create('/k', 'v1');
        const deleted = await backend.delete('/k');
        const again = await backend.create('/k', 'v2');
        assert.ok(again.createRevision > deleted.modRevision);
        assert.equal(again.createRevision, again.modRevision);
      });
    });

    describe('list', () => {
      withBackend('list returns the keys under the prefix in byte order, with the current revision', async ({ backend }) => {
        for (const key of ['/r/pods/b', '/r/pods/a/x', '/r/pods/A', '/r/podsx/a', '/r/pod', '/r/pods/c', '/r/pods/a']) await backend.create(key, key);
        const result = await backend.list('/r/pods/');
        assert.deepEqual(
          result.items.map((kv) => kv.key),
          ['/r/pods/A', '/r/pods/a', '/r/pods/a/x', '/r/pods/b', '/r/pods/c'],
        );
        assert.equal(result.revision, await backend.currentRevision());
        assert.equal(result.more, false);
        assert.equal((await backend.list('')).items.length, 7);
      });

      withBackend('list shows current values and leaves deleted keys out', async ({ backend }) => {
        const a = await backend.create('/p/a', 'a1');
        await backend.create('/p/b', 'b1');
        await backend.update('/p/a', 'a2', a.modRevision);
        await backend.delete('/p/b');
        const { items } = await backend.list('/p/');
        assert.deepEqual(
          items.map((kv) => [kv.key, kv.value]),
          [['/p/a', 'a2']],
        );
        assert.deepEqual(items[0], await backend.get('/p/a'));
      });

      withBackend('pages of limit with startAfter add up to the whole list', async ({ backend }) => {
        const keys = Array.from({ length: 23 }, (_, i) => `/p/${String(i).padStart(2, '0')}`);
        for (const key of shuffled(keys)) await backend.create(key, 'v');
        await backend.create('/q/after', 'v');
        const seen: string[] = [];
        let startAfter: string | undefined;
        let pages = 0;
        for (;;) {
          const page = await backend.list('/p/', { limit: 5, startAfter });
          pages++;
          assert.ok(page.items.length <= 5);
          seen.push(...page.items.map((kv) => kv.key));
          if (!page.more) break;
          startAfter = page.items.at(-1)?.key;
        }
        assert.equal(pages, 5);
        assert.deepEqual(seen, keys);
        const exact = await backend.list('/p/', { limit: 23 });
        assert.equal(exact.items.length, 23);
        assert.equal(exact.more, false, 'more is false when the limit takes exactly the rest');
      });

      withBackend('a list at a past revision shows the keyspace as it was then', async ({ backend }) => {
        const a = await backend.create('/p/a', 'a1');
        const b = await backend.create('/p/b', 'b1');
        const snapshot = await backend.currentRevision();
        await backend.update('/p/a', 'a2', a.modRevision);
        await backend.delete('/p/b', b.modRevision);
        await backend.create('/p/c', 'c1');
        const then = await backend.list('/p/', { revision: snapshot });
        assert.equal(then.revision, snapshot);
        assert.deepEqual(then.items, [a, b]);
        const page = await backend.list('/p/', { revision: snapshot, limit: 1, startAfter: '/p/a' });
        assert.deepEqual(page.items, [b]);
        assert.equal(page.more, false);
      });
    });

    describe('watch', () => {
      withBackend('a watch replays kept history, then streams live writes, in revision order', async ({ backend }) => {
        const start = await backend.currentRevision();
        const a = await backend.create('/p/a', 'a1');
        await backend.create('/other/x', 'x');
        const a2 = await backend.update('/p/a', 'a2', a.modRevision);
        const events = take(backend.watch('/p/', start, AbortSignal.timeout(TEST_TIMEOUT_MS)), 4);
        const b = await backend.create('/p/b', 'b1');
        const bDeleted = await backend.delete('/p/b');
        const got = await events;
        assert.deepEqual(
          got.map((e) => [e.type, e.kv.key, e.kv.modRevision]),
          [
            ['put', '/p/a', a.modRevision],
            ['put', '/p/a', a2.modRevision],
            ['put', '/p/b', b.modRevision],
            ['delete', '/p/b', bDeleted.modRevision],
          ],
        );
        assert.equal(got[0]?.prev, undefined, 'a create has no prev');
        assert.deepEqual(got[1]?.prev, a, 'an update carries the value it replaced');
        assert.deepEqual(got[1]?.kv, a2);
        assert.deepEqual(got[3]?.kv, bDeleted, 'a delete carries the last value at the deletion revision');
        assert.deepEqual(got[3]?.prev, b);
      });

      withBackend('a watch from a revision sends only later changes', async ({ backend }) => {
        await backend.create('/p/a', '1');
        const b = await backend.create('/p/b', '1');
        const c = await backend.create('/p/c', '1');
        const got = await take(backend.watch('/p/', b.modRevision, AbortSignal.timeout(TEST_TIMEOUT_MS)), 1);
        assert.deepEqual(got[0]?.kv, c);
      });

      withBackend('a watch from a revision not reached yet sends only the changes after it', async ({ backend }) => {
        const start = await backend.currentRevision();
        const events = take(backend.watch('/p/', start + 2, AbortSignal.timeout(TEST_TIMEOUT_MS)), 1);
        await backend.create('/p/a', '1');
        await backend.create('/p/b', '1');
        const c = await backend.create('/p/c', '1');
        assert.deepEqual((await events)[0]?.kv, c);
      });

      withBackend('writes made while a long history is replayed arrive once each, with no gap', async ({ backend }) => {
        const history = 2_500;
        for (let i = 0; i < history; i++) await backend.create(`/p/${i}`, 'v');
        const live = 50;
        const revisions: number[] = [];
        let written = 0;
        for await (const batch of backend.watch('/p/', 0, AbortSignal.timeout(TEST_TIMEOUT_MS))) {
          revisions.push(...batch.map((e) => e.kv.modRevision));
          // Interleave writes with the replay and with the live stream.
          for (let i = 0; i < 10 && written < live; i++, written++) await backend.create(`/p/live-${written}`, 'v');
          if (revisions.length >= history + live) break;
        }
        assert.equal(revisions.length, history + live);
        revisions.forEach((rev, i) => assert.equal(rev, i + 1, `event ${i} has revision ${rev}`));
      });

      withBackend('aborting the signal ends the watch', async ({ backend }) => {
        const ac = new AbortController();
        const done = take(backend.watch('/p/', 0, ac.signal), 1_000);
        await backend.create('/p/a', '1');
        ac.abort();
        const got = await done;
        assert.ok(got.length <= 1);
      });

      withBackend('a watch from before the compacted revision fails with STORE_COMPACTED', async ({ backend }) => {
        const a = await backend.create('/p/a', '1');
        const a2 = await backend.update('/p/a', '2', a.modRevision);
        const b = await backend.create('/p/b', '1');
        await backend.delete('/p/b');
        const c = await backend.create('/p/c', '1');
        await backend.compact(c.modRevision - 1);
        assert.equal(await backend.compactedRevision(), c.modRevision - 1);
        await assert.rejects(take(backend.watch('/p/', a.modRevision, AbortSignal.timeout(TEST_TIMEOUT_MS)), 1), code('STORE_COMPACTED'));
        await assert.rejects(backend.list('/p/', { revision: b.modRevision }), code('STORE_COMPACTED'));
        // From the compacted revision on, history is whole.
        const got = await take(backend.watch('/p/', c.modRevision - 1, AbortSignal.timeout(TEST_TIMEOUT_MS)), 1);
        assert.deepEqual(got[0]?.kv, c);
        assert.deepEqual((await backend.list('/p/')).items, [a2, c]);
        assert.deepEqual((await backend.list('/p/', { revision: c.modRevision - 1 })).items, [a2]);
      });
    });

    describe('persistence', () => {
      withBackend(
        'values, revisions and history survive a reopen',
        async (h) => {
          const a = await h.backend.create('/p/a', 'a1');
          const a2 = await h.backend.update('/p/a', 'a2', a.modRevision);
          const b = await h.backend.create('/p/b', 'b1');
          const bDeleted = await h.backend.delete('/p/b');
          const backend = await h.reopen();
          assert.equal(await backend.currentRevision(), bDeleted.modRevision);
          assert.deepEqual((await backend.list('/p/')).items, [a2]);
          const got = await take(backend.watch('/p/', 0, AbortSignal.timeout(TEST_TIMEOUT_MS)), 4);
          assert.deepEqual(
            got.map((e) => [e.type, e.kv]),
            [
              ['put', a],
              ['put', a2],
              ['put', b],
              ['delete', bDeleted],
            ],
          );
          assert.deepEqual(got[1]?.prev, a);
        },
      );

      withBackend(
        'revisions keep increasing across a reopen, even when compaction removed the newest record',
        async (h) => {
          await h.backend.create('/p/a', '1');
          const deleted = await h.backend.delete('/p/a');
          await h.backend.compact(deleted.modRevision);
          const backend = await h.reopen();
          assert.equal(await backend.compactedRevision(), deleted.modRevision);
          assert.equal(await backend.currentRevision(), deleted.modRevision);
          const next = await backend.create('/p/b', '1');
          assert.ok(next.modRevision > deleted.modRevision);
        },
      );
    });

    describe('close', () => {
      withBackend('calls after close fail with STORE_CLOSED and a live watch ends with it', async (h) => {
        const watching = take(h.backend.watch('/p/', 0, AbortSignal.timeout(TEST_TIMEOUT_MS)), 1);
        const closing = h.backend;
        await closing.close();
        await assert.rejects(watching, code('STORE_CLOSED'));
        await assert.rejects(closing.get('/p/a'), code('STORE_CLOSED'));
        await assert.rejects(closing.create('/p/a', '1'), code('STORE_CLOSED'));
        h.backend = await open().then((o) => o.backend);
      });
    });
  });
}

interface Harness {
  backend: Backend;
  /** Closes `backend`, opens the same storage again and makes that the current backend. */
  reopen(): Promise<Backend>;
}

/** The first `n` events of a watch (fewer if it ends first); stops the watch afterwards. */
async function take(watch: AsyncIterable<readonly WatchEvent[]>, n: number): Promise<WatchEvent[]> {
  const got: WatchEvent[] = [];
  for await (const batch of watch) {
    got.push(...batch);
    if (got.length >= n) break;
  }
  return got;
}

function code(expected: ErrorCode): (err: unknown) => boolean {
  return (err) => hasCode(err, expected);
}

async function rejection(promise: Promise<KeyValue>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  assert.fail('expected the operation to fail');
}

function shuffled<T>(items: readonly T[]): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy;
}
