import assert from 'node:assert/strict';
import { test } from 'node:test';
import { OrderedMap } from './ordered-map.ts';

interface Entry {
  readonly key: string;
  readonly value: number;
}

/** A deterministic pseudo-random sequence, so a failure can be replayed. */
function random(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return s / 2 ** 31;
  };
}

test('stays sorted and equal to a plain model through many inserts, replacements and deletes', () => {
  const next = random(42);
  const map = new OrderedMap<Entry>();
  const model = new Map<string, number>();
  const key = (): string => `/k/${Math.floor(next() * 5_000).toString().padStart(4, '0')}`;
  for (let step = 0; step < 30_000; step++) {
    const k = key();
    if (next() < 0.6) {
      const previous = map.set({ key: k, value: step });
      assert.equal(previous?.value, model.get(k));
      model.set(k, step);
    } else {
      assert.equal(map.delete(k)?.value, model.get(k));
      model.delete(k);
    }
  }
  const sorted = [...model.keys()].sort();
  assert.equal(map.size, model.size);
  assert.deepEqual(
    [...map.scan('')].map((e) => e.key),
    sorted,
  );
  for (const k of sorted) assert.equal(map.get(k)?.value, model.get(k));
  // Scans from arbitrary points, present or absent, inclusive or not.
  for (let i = 0; i < 200; i++) {
    const from = key();
    const exclusive = next() < 0.5;
    const expected = sorted.filter((k) => (exclusive ? k > from : k >= from)).slice(0, 50);
    const got: string[] = [];
    for (const e of map.scan(from, exclusive)) {
      if (got.length === 50) break;
      got.push(e.key);
    }
    assert.deepEqual(got, expected, `scan from ${from} exclusive=${exclusive}`);
  }
});

test('deleting everything leaves an empty map that can be filled again', () => {
  const map = new OrderedMap<Entry>();
  for (let i = 0; i < 2_000; i++) map.set({ key: `k${i}`, value: i });
  for (let i = 0; i < 2_000; i++) map.delete(`k${i}`);
  assert.equal(map.size, 0);
  assert.deepEqual([...map.scan('')], []);
  map.set({ key: 'b', value: 1 });
  map.set({ key: 'a', value: 2 });
  assert.deepEqual(
    [...map.scan('')].map((e) => e.key),
    ['a', 'b'],
  );
});
