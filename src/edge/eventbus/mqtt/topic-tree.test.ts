import { test } from 'node:test';
import assert from 'node:assert/strict';
import { topicMatches } from '../bus.ts';
import { TopicTree } from './topic-tree.ts';

function matches(tree: TopicTree<string>, topic: string): string[] {
  const got: string[] = [];
  tree.match(topic, (s, q) => got.push(`${s}@${q}`));
  return got.sort();
}

test('the trie matches wildcards as MQTT 3.1.1 §4.7 says, $ topics only with a literal first level', () => {
  const filters = ['a/b', 'a/+', 'a/#', '#', '+', '+/b', 'a/+/c', '$hw/#', '$hw/events/+', '+/events/#', '$SYS', 'a/', '/a', '+/+', 'a/b/c/#'];
  const tree = new TopicTree<string>();
  for (const f of filters) tree.add(f, f, 1);
  const topics = ['a', 'a/b', 'a/b/c', 'a/x/c', 'a/', '/a', '/', 'b', '$hw/events/x', '$hw', '$SYS', '$hw/events/x/y', 'x/events/y', 'a/b/c/d/e'];
  for (const t of topics) {
    const want = filters.filter((f) => topicMatches(f, t)).map((f) => `${f}@1`).sort();
    assert.deepEqual(matches(tree, t), want, t);
  }
  assert.deepEqual(matches(tree, '$hw/events/x'), ['$hw/#@1', '$hw/events/+@1']);
  assert.deepEqual(matches(tree, 'a'), ['#@1', '+@1', 'a/#@1'], 'a/# matches its parent level');
});

test('subscriptions are replaced, removed and pruned; one subscriber with two filters is visited for each', () => {
  const tree = new TopicTree<string>();
  tree.add('a/+', 's', 0);
  tree.add('a/+', 's', 1);
  assert.equal(tree.size, 1);
  assert.deepEqual(matches(tree, 'a/b'), ['s@1']);
  tree.add('a/#', 's', 0);
  assert.deepEqual(matches(tree, 'a/b'), ['s@0', 's@1']);
  assert.equal(tree.remove('a/+', 's'), true);
  assert.equal(tree.remove('a/+', 's'), false);
  assert.equal(tree.remove('x/y', 's'), false);
  assert.equal(tree.remove('a/#', 's'), true);
  assert.equal(tree.size, 0);
  assert.deepEqual(matches(tree, 'a/b'), []);
});

test('thousands of device subscriptions: each message visits only its own subscribers', () => {
  const tree = new TopicTree<string>();
  const devices = 5000;
  for (let i = 0; i < devices; i++) {
    tree.add(`$hw/events/device/ns/d${i}/twin/update/delta`, `mapper-${i}`, 1);
    tree.add(`$hw/events/device/ns/d${i}/twin/update/result`, `mapper-${i}`, 0);
  }
  tree.add('$hw/events/device/+/+/twin/update', 'twin', 1);
  tree.add('#', 'spy', 0); // does not see $ topics
  assert.equal(tree.size, 2 * devices + 2);
  assert.deepEqual(matches(tree, '$hw/events/device/ns/d4321/twin/update/delta'), ['mapper-4321@1']);
  assert.deepEqual(matches(tree, '$hw/events/device/ns/d7/twin/update'), ['twin@1']);
  assert.deepEqual(matches(tree, 'plain/topic'), ['spy@0']);
  let visited = 0;
  for (let i = 0; i < 100_000; i++) tree.match(`$hw/events/device/ns/d${i % devices}/twin/update/result`, () => visited++);
  assert.equal(visited, 100_000);
  for (let i = 0; i < devices; i++) {
    tree.remove(`$hw/events/device/ns/d${i}/twin/update/delta`, `mapper-${i}`);
    tree.remove(`$hw/events/device/ns/d${i}/twin/update/result`, `mapper-${i}`);
  }
  assert.equal(tree.size, 2);
});
