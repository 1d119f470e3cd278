import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, test } from 'node:test';
import { silentLogger } from '../log/logger.ts';
import { runBackendConformance } from './conformance.ts';
import { SqliteBackend } from './sqlite.ts';

const dir = mkdtempSync(join(tmpdir(), 'kedge-sqlite-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const log = silentLogger();
let files = 0;
const freshPath = (): string => join(dir, `state-${++files}.db`);

runBackendConformance('sqlite', async () => {
  const path = freshPath();
  return { backend: await SqliteBackend.open(path, { log }), reopen: () => SqliteBackend.open(path, { log }) };
});

test('a write acknowledged before the process is killed with SIGKILL is never lost', { timeout: 30_000 }, async (t) => {
  const path = freshPath();
  // The test's signal kills the writer if the test fails or times out, so it never outlives the run.
  const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', join(import.meta.dirname, 'testdata', 'ack-writer.ts'), path], {
    stdio: ['ignore', 'pipe', 'inherit'],
    signal: t.signal,
    killSignal: 'SIGKILL',
  });
  const exited = once(child, 'exit');
  const acked = new Map<string, number>();
  for await (const line of createInterface({ input: child.stdout })) {
    const [key, revision] = line.split(' ');
    acked.set(key!, Number(revision));
    // Kill in the middle of a stream of writes, not at a quiet moment.
    if (acked.size === 3_000) child.kill('SIGKILL');
  }
  const [exitCode, signal] = (await exited) as [number | null, string | null];
  assert.equal(signal, 'SIGKILL', `writer exited with ${exitCode} instead of being killed`);

  const backend = await SqliteBackend.open(path, { log });
  try {
    const { items } = await backend.list('/registry/acked/');
    const stored = new Map(items.map((kv) => [kv.key, kv.modRevision]));
    for (const [key, revision] of acked) assert.equal(stored.get(key), revision, `${key} was acknowledged at ${revision}`);
    assert.ok(acked.size >= 3_000);
    const lastAcked = Math.max(...acked.values());
    assert.ok((await backend.currentRevision()) >= lastAcked);
    assert.ok((await backend.create('/registry/acked/after-crash', '{}')).modRevision > lastAcked);
  } finally {
    await backend.close();
  }
});

test('compaction keeps every current value and the history after it, in bounded steps', { timeout: 30_000 }, async () => {
  const backend = await SqliteBackend.open(freshPath(), { log });
  try {
    // Enough revisions for several compaction chunks, with keys that stay unchanged from early on.
    const revisions = new Map<string, number>();
    for (let i = 0; i < 200; i++) revisions.set(`/p/stable-${i}`, (await backend.create(`/p/stable-${i}`, 'v')).modRevision);
    for (let round = 0; round < 60; round++) {
      for (let i = 0; i < 200; i++) {
        const key = `/p/busy-${i}`;
        const previous = revisions.get(key);
        revisions.set(key, (previous === undefined ? await backend.create(key, `${round}`) : await backend.update(key, `${round}`, previous)).modRevision);
      }
    }
    for (let i = 0; i < 100; i++) await backend.delete(`/p/busy-${i}`);
    const middle = await backend.currentRevision();
    const after = await backend.update('/p/stable-0', 'v2', revisions.get('/p/stable-0')!);
    await backend.compact(middle);

    const { items } = await backend.list('/p/');
    assert.equal(items.length, 300);
    assert.equal(items.find((kv) => kv.key === '/p/stable-0')?.value, 'v2');
    assert.equal(items.find((kv) => kv.key === '/p/busy-150')?.value, '59');
    // A snapshot at the compacted revision is still whole.
    assert.equal((await backend.list('/p/', { revision: middle })).items.length, 300);
    // The update after the compacted revision still carries the value it replaced.
    for await (const [event] of backend.watch('/p/', middle, AbortSignal.timeout(5_000))) {
      assert.deepEqual(event?.kv, after);
      assert.equal(event?.prev?.value, 'v');
      break;
    }
  } finally {
    await backend.close();
  }
});

test('a watcher that stops reading for a long time still gets every event, re-read from the table', { timeout: 30_000 }, async () => {
  const backend = await SqliteBackend.open(freshPath(), { log });
  try {
    const watch = backend.watch('/p/', 0, AbortSignal.timeout(25_000))[Symbol.asyncIterator]();
    const first = watch.next();
    await backend.create('/p/first', 'v');
    assert.equal((await first).value?.[0]?.kv.key, '/p/first');
    // More live events than the store queues per watcher, while the watcher reads nothing.
    const writes = 12_000;
    for (let i = 0; i < writes; i++) await backend.create(`/p/${i}`, 'v');
    const revisions: number[] = [];
    while (revisions.length < writes) {
      const { value, done } = await watch.next();
      assert.ok(!done);
      revisions.push(...value.map((e) => e.kv.modRevision));
    }
    await watch.return?.();
    assert.deepEqual(
      revisions,
      Array.from({ length: writes }, (_, i) => i + 2),
    );
  } finally {
    await backend.close();
  }
});
