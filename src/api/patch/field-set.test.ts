import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { JsonValue } from '../object.ts';
import { decodeElement, encodeElement, fieldElement, FieldSet, formatPath, keyElement, removeAtPath, valueAtPath, type FieldPath, type PathElement } from './field-set.ts';

const f = fieldElement;
const k = (fields: Record<string, JsonValue>): PathElement => keyElement(Object.entries(fields));
const v = (value: JsonValue): PathElement => ({ kind: 'value', value });

/** A managedFields entry as kubectl apply --server-side leaves it on a Deployment. */
const deploymentFields = {
  'f:metadata': { 'f:labels': { 'f:app': {} } },
  'f:spec': {
    'f:replicas': {},
    'f:selector': {},
    'f:template': {
      'f:spec': {
        'f:containers': {
          'k:{"name":"nginx"}': {
            '.': {},
            'f:image': {},
            'f:name': {},
            'f:ports': { 'k:{"containerPort":80,"protocol":"TCP"}': { '.': {}, 'f:containerPort': {}, 'f:protocol': {} } },
          },
        },
      },
    },
  },
};

describe('path elements', () => {
  const cases: [name: string, element: PathElement, encoded: string, printed: string][] = [
    ['a field', f('replicas'), 'f:replicas', '.replicas'],
    ['a field with dots and slashes', f('app.kubernetes.io/name'), 'f:app.kubernetes.io/name', '.app.kubernetes.io/name'],
    ['a one-field key', k({ name: 'nginx' }), 'k:{"name":"nginx"}', '[name="nginx"]'],
    ['a two-field key, sorted by field name', k({ protocol: 'TCP', containerPort: 80 }), 'k:{"containerPort":80,"protocol":"TCP"}', '[containerPort=80,protocol="TCP"]'],
    ['a set value', v('example.com/finalizer'), 'v:"example.com/finalizer"', '[="example.com/finalizer"]'],
    ['an index', { kind: 'index', index: 3 }, 'i:3', '[3]'],
  ];
  for (const [name, element, encoded, printed] of cases) {
    it(`encodes, decodes and prints ${name}`, () => {
      assert.equal(encodeElement(element), encoded);
      assert.deepEqual(decodeElement(encoded), element);
      assert.equal(formatPath([element]), printed);
    });
  }

  for (const bad of ['x:1', 'k:not json', 'k:[1]', 'i:-1', '']) {
    it(`rejects ${JSON.stringify(bad)}`, () => {
      assert.equal(decodeElement(bad), undefined);
    });
  }

  it('prints a path as Kubernetes does in apply conflicts', () => {
    assert.equal(formatPath([f('spec'), f('template'), f('spec'), f('containers'), k({ name: 'nginx' }), f('image')]), '.spec.template.spec.containers[name="nginx"].image');
  });
});

describe('FieldSet', () => {
  it('reads and writes FieldsV1 unchanged', () => {
    assert.deepEqual(FieldSet.fromFieldsV1(deploymentFields).toFieldsV1(), deploymentFields);
  });

  it('lists member paths, parents before children', () => {
    const paths = FieldSet.fromFieldsV1({ 'f:metadata': { 'f:labels': { '.': {}, 'f:app': {} } }, 'f:spec': { 'f:replicas': {} } }).paths();
    assert.deepEqual(paths.map(formatPath), ['.metadata.labels', '.metadata.labels.app', '.spec.replicas']);
  });

  it('orders fields before keys before values when writing', () => {
    const set = new FieldSet();
    set.insert([f('x'), v('b')]);
    set.insert([f('x'), k({ name: 'a' })]);
    set.insert([f('x'), f('z')]);
    assert.deepEqual(Object.keys(set.toFieldsV1()['f:x'] as object), ['f:z', 'k:{"name":"a"}', 'v:"b"']);
  });

  it('skips what is not FieldsV1', () => {
    assert.deepEqual(FieldSet.fromFieldsV1({ 'f:a': {}, junk: {}, 'k:oops': {} }).toFieldsV1(), { 'f:a': {} });
    assert.equal(FieldSet.fromFieldsV1(null).isEmpty(), true);
  });

  const a = FieldSet.fromFieldsV1({ 'f:spec': { 'f:replicas': {}, 'f:paused': {} } });
  const b = FieldSet.fromFieldsV1({ 'f:spec': { 'f:replicas': {}, 'f:selector': {} } });
  const setOps: [name: string, result: FieldSet, expected: Record<string, JsonValue>][] = [
    ['union', a.union(b), { 'f:spec': { 'f:paused': {}, 'f:replicas': {}, 'f:selector': {} } }],
    ['difference', a.difference(b), { 'f:spec': { 'f:paused': {} } }],
    ['intersection', a.intersection(b), { 'f:spec': { 'f:replicas': {} } }],
  ];
  for (const [name, result, expected] of setOps) {
    it(`computes the ${name}`, () => {
      assert.deepEqual(result.toFieldsV1(), expected);
    });
  }

  it('answers membership, at a path and below it', () => {
    const set = FieldSet.fromFieldsV1(deploymentFields);
    const container: FieldPath = [f('spec'), f('template'), f('spec'), f('containers'), k({ name: 'nginx' })];
    assert.equal(set.has(container), true);
    assert.equal(set.has([f('spec')]), false);
    assert.equal(set.hasAtOrBelow([f('spec')]), true);
    assert.equal(set.hasAtOrBelow([f('status')]), false);
    assert.equal(set.equals(FieldSet.fromFieldsV1(deploymentFields)), true);
    assert.equal(set.equals(a), false);
  });
});

describe('valueAtPath and removeAtPath', () => {
  const object = (): JsonValue => ({
    spec: {
      containers: [
        { name: 'a', ports: [{ containerPort: 80, protocol: 'TCP' }] },
        { name: 'b', image: 'x' },
      ],
    },
    metadata: { finalizers: ['x', 'y'] },
  });

  it('finds values through keys and set values', () => {
    assert.equal(valueAtPath(object(), [f('spec'), f('containers'), k({ name: 'b' }), f('image')]), 'x');
    assert.deepEqual(valueAtPath(object(), [f('spec'), f('containers'), k({ name: 'a' }), f('ports'), k({ containerPort: 80, protocol: 'TCP' })]), { containerPort: 80, protocol: 'TCP' });
    assert.equal(valueAtPath(object(), [f('metadata'), f('finalizers'), v('y')]), 'y');
    assert.equal(valueAtPath(object(), [f('spec'), f('containers'), k({ name: 'c' })]), undefined);
  });

  it('removes a list element by key, a set value and a field', () => {
    const o = object();
    assert.equal(removeAtPath(o, [f('spec'), f('containers'), k({ name: 'a' })]), true);
    assert.equal(removeAtPath(o, [f('metadata'), f('finalizers'), v('x')]), true);
    assert.equal(removeAtPath(o, [f('spec'), f('containers'), k({ name: 'b' }), f('image')]), true);
    assert.equal(removeAtPath(o, [f('spec'), f('nothing')]), false);
    assert.deepEqual(o, { spec: { containers: [{ name: 'b' }] }, metadata: { finalizers: ['y'] } });
  });
});
