import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { hasCode } from '../errors/platform-error.ts';
import { silentLogger } from '../log/logger.ts';
import { Compactor } from './compactor.ts';
import { SqliteBackend } from './sqlite.ts';

const dir = mkdtempSync(join(tmpdir(), 'kedge-compactor-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const log = silentLogger();
let files = 0;
const open = (): Promise<SqliteBackend> => SqliteBackend.open(join(dir, `state-${++files}.db`), { log });

test('each tick compacts to the revision that was current one tick earlier', async () => {
  const backend = await open();
  try {
    const compactor = new Compactor({ backend, log });
    const a = await backend.create('/p/a', '1');
    const a2 = await backend.update('/p/a', '2', a.modRevision);
    assert.equal(await compactor.tick(), undefined, 'the first tick only records the revision');
    assert.equal(await backend.compactedRevision(), 0);

    const a3 = await backend.update('/p/a', '3', a2.modRevision);
    assert.equal(await compactor.tick(), a2.modRevision);
    assert.equal(await backend.compactedRevision(), a2.modRevision);
    // History after the previous tick is still there to resume from; older history is gone.
    for await (const [event] of backend.watch('/p/', a2.modRevision, AbortSignal.timeout(5_000))) {
      assert.deepEqual(event?.kv, a3);
      break;
    }
    await assert.rejects(
      (async () => {
        for await (const _ of backend.watch('/p/', a.modRevision, AbortSignal.timeout(5_000))) break;
      })(),
      (err) => hasCode(err, 'STORE_COMPACTED'),
    );
    assert.equal(await compactor.tick(), a3.modRevision);
    assert.equal(await compactor.tick(), undefined, 'nothing was written since the last tick');
  } finally {
    await backend.close();
  }
});

test('started, it compacts in the background until stopped', async () => {
  const backend = await open();
  try {
    const compactor = new Compactor({ backend, intervalMs: 5, log });
    const written = await backend.create('/p/a', '1');
    compactor.start(AbortSignal.timeout(10_000));
    for (const deadline = Date.now() + 5_000; (await backend.compactedRevision()) < written.modRevision; ) {
      assert.ok(Date.now() < deadline, 'no compaction within 5 s');
      await sleep(5);
    }
    await compactor.stop();
    const later = await backend.create('/p/b', '1');
    await backend.create('/p/c', '1');
    await sleep(30);
    assert.ok((await backend.compactedRevision()) < later.modRevision, 'a stopped compactor compacts no more');
  } finally {
    await backend.close();
  }
});

test('a closed store ends the loop quietly', async () => {
  const backend = await open();
  const compactor = new Compactor({ backend, intervalMs: 5, log });
  compactor.start(AbortSignal.timeout(10_000));
  await backend.close();
  await compactor.stop();
});
