import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../log/logger.ts';
import { openEdgeDatabase } from '../db.ts';
import { Backoff } from './backoff.ts';
import { Outbox } from './outbox.ts';
import { StatusTable } from './status-table.ts';

const event = (n: number) => ({ apiVersion: 'v1', kind: 'Event', metadata: { name: `e${n}`, namespace: 'default' }, message: 'x'.repeat(100) });

test('the status table keeps one row per object, the latest write, and settles only what was sent', () => {
  const statuses = new StatusTable(openEdgeDatabase(':memory:'));
  let woken = 0;
  statuses.onPut(() => woken++);
  statuses.put({ op: 'status', kind: 'pods', namespace: 'default', name: 'a', status: { phase: 'Pending' } });
  statuses.put({ op: 'status', kind: 'pods', namespace: 'default', name: 'b', status: { phase: 'Pending' } });
  statuses.put({ op: 'status', kind: 'pods', namespace: 'default', name: 'a', status: { phase: 'Running' } });
  assert.equal(woken, 3);
  const pending = statuses.pending();
  assert.deepEqual(
    pending.map((p) => [p.name, p.op === 'status' ? p.status['phase'] : undefined]),
    [
      ['b', 'Pending'],
      ['a', 'Running'],
    ],
  );
  const sentA = pending[1]!;
  statuses.put({ op: 'status', kind: 'pods', namespace: 'default', name: 'a', status: { phase: 'Succeeded' } });
  statuses.settle(sentA);
  assert.deepEqual(
    statuses.pending().map((p) => p.name),
    ['b', 'a'],
    'a newer write made while the old one was in flight stays',
  );
  statuses.settle(statuses.pending()[0]!);
  assert.equal(statuses.size, 1);
});

test('the status table and outbox survive a restart', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kedge-uplink-'));
  try {
    const path = join(dir, 'edge.db');
    const db = openEdgeDatabase(path);
    new StatusTable(db).put({ op: 'upsert', kind: 'nodes', name: 'edge-1', object: { metadata: { name: 'edge-1' } } });
    new Outbox({ db, log: silentLogger() }).enqueue('event', { kind: 'events', namespace: 'default', name: 'e1' }, event(1));
    db.close();
    const again = openEdgeDatabase(path);
    const statuses = new StatusTable(again);
    assert.equal(statuses.size, 1);
    statuses.put({ op: 'status', kind: 'nodes', name: 'edge-1', status: {} });
    assert.deepEqual(
      statuses.pending().map((p) => p.op),
      ['upsert', 'status'],
      'sequence numbers continue after a restart',
    );
    const outbox = new Outbox({ db: again, log: silentLogger() });
    assert.equal(outbox.size, 1);
    assert.equal(outbox.peek(10)[0]!.content.metadata.name, 'e1');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the outbox drops the oldest messages past its size cap, and expired ones', () => {
  let now = 1_000_000;
  const outbox = new Outbox({ db: openEdgeDatabase(':memory:'), log: silentLogger(), maxBytes: 3000, ttlMs: 60_000, now: () => now });
  const ids = Array.from({ length: 20 }, (_, i) => outbox.enqueue('event', { kind: 'events', namespace: 'default', name: `e${i}` }, event(i)));
  assert.ok(outbox.bytes <= 3000, `${outbox.bytes} bytes kept`);
  const kept = outbox.peek(100).map((m) => m.id);
  assert.ok(kept.length > 0 && kept.length < 20);
  assert.deepEqual(kept, ids.slice(-kept.length), 'the newest are kept, in order');
  outbox.remove(kept[0]!);
  outbox.remove(kept[0]!);
  assert.equal(outbox.size, kept.length - 1);
  now += 61_000;
  assert.deepEqual(outbox.peek(100), []);
  assert.equal(outbox.size, 0);
  assert.equal(outbox.bytes, 0);
});

test('the back-off starts fast, grows with jitter within [half, all] of the ceiling, and resets', () => {
  let r = 0;
  const b = new Backoff({ initialMs: 100, maxMs: 1000, random: () => r });
  assert.deepEqual([b.next(), b.next(), b.next(), b.next(), b.next(), b.next()], [50, 100, 200, 400, 500, 500]);
  r = 0.999;
  assert.equal(b.next(), 1000);
  assert.equal(b.next(300), 300, 'a lower cap for this attempt');
  b.reset();
  assert.equal(b.next(), 100);
});
