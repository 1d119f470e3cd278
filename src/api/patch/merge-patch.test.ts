import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isApiError } from '../errors.ts';
import type { JsonValue } from '../object.ts';
import { jsonMergePatch, mergePatchObject } from './merge-patch.ts';

describe('jsonMergePatch: RFC 7386 appendix A', () => {
  const cases: [original: JsonValue, patch: JsonValue, expected: JsonValue][] = [
    [{ a: 'b' }, { a: 'c' }, { a: 'c' }],
    [{ a: 'b' }, { b: 'c' }, { a: 'b', b: 'c' }],
    [{ a: 'b' }, { a: null }, {}],
    [{ a: 'b', b: 'c' }, { a: null }, { b: 'c' }],
    [{ a: ['b'] }, { a: 'c' }, { a: 'c' }],
    [{ a: 'c' }, { a: ['b'] }, { a: ['b'] }],
    [{ a: { b: 'c' } }, { a: { b: 'd', c: null } }, { a: { b: 'd' } }],
    [{ a: [{ b: 'c' }] }, { a: [1] }, { a: [1] }],
    [['a', 'b'], ['c', 'd'], ['c', 'd']],
    [{ a: 'b' }, ['c'], ['c']],
    [{ a: 'foo' }, null, null],
    [{ a: 'foo' }, 'bar', 'bar'],
    [{ e: null }, { a: 1 }, { e: null, a: 1 }],
    [[1, 2], { a: 'b', c: null }, { a: 'b' }],
    [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
  ];
  for (const [original, patch, expected] of cases) {
    it(`${JSON.stringify(original)} + ${JSON.stringify(patch)} = ${JSON.stringify(expected)}`, () => {
      assert.deepEqual(jsonMergePatch(original, patch), expected);
    });
  }

  it('treats a missing target like a non-object', () => {
    assert.deepEqual(jsonMergePatch(undefined, { a: { b: null, c: 1 } }), { a: { c: 1 } });
  });

  it('changes neither input and shares nothing with them', () => {
    const original = { a: { b: 1 }, keep: { x: 1 } };
    const patch = { a: { c: [1] } };
    const result = jsonMergePatch(original, patch) as { a: { b: number; c: number[] }; keep: { x: number } };
    assert.deepEqual(original, { a: { b: 1 }, keep: { x: 1 } });
    result.a.c.push(2);
    result.keep.x = 2;
    assert.deepEqual(patch, { a: { c: [1] } });
    assert.equal(original.keep.x, 1);
  });

  it('keeps a __proto__ key as data', () => {
    const result = jsonMergePatch({}, JSON.parse('{"__proto__":{"polluted":true}}') as JsonValue) as Record<string, unknown>;
    assert.equal(Object.hasOwn(result, '__proto__'), true);
    assert.equal(Object.getPrototypeOf(result), Object.prototype);
  });
});

describe('mergePatchObject', () => {
  it('sets a label, deletes another and replaces a list, as kubectl patch --type=merge does', () => {
    const deployment = { metadata: { name: 'web', labels: { app: 'web', old: 'x' } }, spec: { template: { spec: { containers: [{ name: 'app', image: 'a' }] } } } };
    const result = mergePatchObject(deployment, { metadata: { labels: { old: null, tier: 'fe' } }, spec: { template: { spec: { containers: [{ name: 'other', image: 'b' }] } } } });
    assert.deepEqual(result, { metadata: { name: 'web', labels: { app: 'web', tier: 'fe' } }, spec: { template: { spec: { containers: [{ name: 'other', image: 'b' }] } } } });
  });

  for (const patch of [null, [], 'x', 1] as JsonValue[]) {
    it(`rejects a ${JSON.stringify(patch)} patch as 400 BadRequest`, () => {
      assert.throws(
        () => mergePatchObject({ metadata: {} }, patch),
        (err) => isApiError(err) && err.httpStatus === 400 && err.message.startsWith('invalid JSON merge patch: the patch must be a JSON object'),
      );
    });
  }
});
