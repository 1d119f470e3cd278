import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isApiError, type ApiError } from '../errors.ts';
import type { JsonValue } from '../object.ts';
import { applyJsonPatch, decodeJsonPatch, JsonPatchError, MAX_JSON_PATCH_OPERATIONS } from './json-patch.ts';

function patch(document: JsonValue, operations: JsonValue): JsonValue {
  return applyJsonPatch(document, decodeJsonPatch(operations));
}

function thrown(fn: () => unknown): ApiError {
  try {
    fn();
  } catch (err) {
    assert.ok(isApiError(err), `expected an ApiError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected the call to throw');
}

describe('applyJsonPatch: RFC 6902 appendix A', () => {
  const cases: [name: string, document: JsonValue, operations: JsonValue, expected: JsonValue][] = [
    ['A.1 adds an object member', { foo: 'bar' }, [{ op: 'add', path: '/baz', value: 'qux' }], { baz: 'qux', foo: 'bar' }],
    ['A.2 adds an array element', { foo: ['bar', 'baz'] }, [{ op: 'add', path: '/foo/1', value: 'qux' }], { foo: ['bar', 'qux', 'baz'] }],
    ['A.3 removes an object member', { baz: 'qux', foo: 'bar' }, [{ op: 'remove', path: '/baz' }], { foo: 'bar' }],
    ['A.4 removes an array element', { foo: ['bar', 'qux', 'baz'] }, [{ op: 'remove', path: '/foo/1' }], { foo: ['bar', 'baz'] }],
    ['A.5 replaces a value', { baz: 'qux', foo: 'bar' }, [{ op: 'replace', path: '/baz', value: 'boo' }], { baz: 'boo', foo: 'bar' }],
    [
      'A.6 moves a value',
      { foo: { bar: 'baz', waldo: 'fred' }, qux: { corge: 'grault' } },
      [{ op: 'move', from: '/foo/waldo', path: '/qux/thud' }],
      { foo: { bar: 'baz' }, qux: { corge: 'grault', thud: 'fred' } },
    ],
    ['A.7 moves an array element', { foo: ['all', 'grass', 'cows', 'eat'] }, [{ op: 'move', from: '/foo/1', path: '/foo/3' }], { foo: ['all', 'cows', 'eat', 'grass'] }],
    [
      'A.8 passes a test',
      { baz: 'qux', foo: ['a', 2, 'c'] },
      [
        { op: 'test', path: '/baz', value: 'qux' },
        { op: 'test', path: '/foo/1', value: 2 },
      ],
      { baz: 'qux', foo: ['a', 2, 'c'] },
    ],
    ['A.10 adds a nested member object', { foo: 'bar' }, [{ op: 'add', path: '/child', value: { grandchild: {} } }], { foo: 'bar', child: { grandchild: {} } }],
    ['A.11 ignores unrecognized members of an operation', { foo: 'bar' }, [{ op: 'add', path: '/baz', value: 'qux', xyz: 123 }], { foo: 'bar', baz: 'qux' }],
    ['A.14 unescapes ~01 to ~1, not to /', { '/': 9, '~1': 10 }, [{ op: 'test', path: '/~01', value: 10 }], { '/': 9, '~1': 10 }],
    ['A.16 appends an array as one element', { foo: ['bar'] }, [{ op: 'add', path: '/foo/-', value: ['abc', 'def'] }], { foo: ['bar', ['abc', 'def']] }],
  ];
  for (const [name, document, operations, expected] of cases) {
    it(name, () => {
      assert.deepEqual(patch(document, operations), expected);
    });
  }

  const failures: [name: string, document: JsonValue, operations: JsonValue, message: string][] = [
    ['A.9 fails a test', { baz: 'qux' }, [{ op: 'test', path: '/baz', value: 'bar' }], 'testing value /baz failed: test failed'],
    ['A.12 adds to a nonexistent target', { foo: 'bar' }, [{ op: 'add', path: '/baz/bat', value: 'qux' }], 'add operation does not apply: doc is missing path: "/baz/bat"'],
    ['A.15 compares strings and numbers strictly', { '/': 9, '~1': 10 }, [{ op: 'test', path: '/~01', value: '10' }], 'testing value /~01 failed: test failed'],
  ];
  for (const [name, document, operations, message] of failures) {
    it(name, () => {
      const err = thrown(() => patch(document, operations));
      assert.equal(err.httpStatus, 422);
      assert.equal(err.reason, 'Invalid');
      assert.equal(err.message, message);
    });
  }
});

describe('applyJsonPatch: what kubectl patch --type=json users do', () => {
  const pod = {
    metadata: { name: 'web', resourceVersion: '7', labels: { app: 'web' }, finalizers: ['a', 'b'] },
    spec: { containers: [{ name: 'app', image: 'nginx:1.25' }] },
  };
  const cases: [name: string, operations: JsonValue, check: (result: typeof pod) => void][] = [
    ['replaces the first container image', [{ op: 'replace', path: '/spec/containers/0/image', value: 'nginx:1.27' }], (r) => assert.equal(r.spec.containers[0]!.image, 'nginx:1.27')],
    [
      'adds a label whose key needs ~1 escaping',
      [{ op: 'add', path: '/metadata/labels/app.kubernetes.io~1name', value: 'web' }],
      (r) => assert.deepEqual(r.metadata.labels, { app: 'web', 'app.kubernetes.io/name': 'web' }),
    ],
    ['removes a finalizer by index', [{ op: 'remove', path: '/metadata/finalizers/0' }], (r) => assert.deepEqual(r.metadata.finalizers, ['b'])],
    ['appends a container', [{ op: 'add', path: '/spec/containers/-', value: { name: 'sidecar', image: 'busybox' } }], (r) => assert.deepEqual(r.spec.containers.map((c) => c.name), ['app', 'sidecar'])],
    [
      'guards an update with a resourceVersion test',
      [
        { op: 'test', path: '/metadata/resourceVersion', value: '7' },
        { op: 'replace', path: '/metadata/labels', value: { app: 'db' } },
      ],
      (r) => assert.deepEqual(r.metadata.labels, { app: 'db' }),
    ],
    ['tests that an annotation is absent with null', [{ op: 'test', path: '/metadata/labels/missing', value: null }], (r) => assert.deepEqual(r, pod)],
    ['copies a value', [{ op: 'copy', from: '/metadata/labels/app', path: '/metadata/labels/copy' }], (r) => assert.deepEqual(r.metadata.labels, { app: 'web', copy: 'web' })],
    ['moves a value onto itself as a no-op', [{ op: 'move', from: '/metadata/name', path: '/metadata/name' }], (r) => assert.deepEqual(r, pod)],
    ['replaces the whole document at the root pointer', [{ op: 'replace', path: '', value: { metadata: { name: 'x' } } }], (r) => assert.deepEqual(r, { metadata: { name: 'x' } })],
  ];
  for (const [name, operations, check] of cases) {
    it(name, () => {
      check(patch(pod, operations) as typeof pod);
    });
  }

  it('changes neither the document nor the patch, and shares nothing with them', () => {
    const document = { a: { b: 1 } };
    const value = { c: [1] };
    const operations: JsonValue = [
      { op: 'add', path: '/x', value },
      { op: 'add', path: '/x/c/-', value: 2 },
    ];
    const result = patch(document, operations) as { a: { b: number }; x: { c: number[] } };
    assert.deepEqual(document, { a: { b: 1 } });
    assert.deepEqual(value, { c: [1] });
    assert.deepEqual(result, { a: { b: 1 }, x: { c: [1, 2] } });
    result.a.b = 2;
    assert.equal(document.a.b, 1);
  });

  it('keeps a __proto__ key as data', () => {
    const result = patch({}, JSON.parse('[{"op":"add","path":"/__proto__","value":{"polluted":true}}]') as JsonValue) as Record<string, unknown>;
    assert.equal(Object.hasOwn(result, '__proto__'), true);
    assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
    assert.equal(Object.getPrototypeOf(result), Object.prototype);
  });
});

describe('applyJsonPatch failures name the operation and the path', () => {
  const document = { metadata: { name: 'web' }, list: ['a', 'b'] };
  const failures: [name: string, operations: JsonValue, message: string, index: number][] = [
    ['replace of a missing member', [{ op: 'replace', path: '/spec/replicas', value: 3 }], 'replace operation does not apply: doc is missing path: "/spec/replicas"', 0],
    ['remove of a missing member', [{ op: 'remove', path: '/metadata/labels' }], 'remove operation does not apply: doc is missing path: "/metadata/labels"', 0],
    ['remove past the end of an array', [{ op: 'remove', path: '/list/2' }], 'remove operation does not apply: index "2" is out of bounds at "/list/2"', 0],
    ['add past the end of an array', [{ op: 'add', path: '/list/3', value: 'x' }], 'add operation does not apply: index "3" is out of bounds at "/list/3"', 0],
    ['an index with a leading zero', [{ op: 'replace', path: '/list/01', value: 'x' }], 'replace operation does not apply: index "01" is out of bounds at "/list/01"', 0],
    ['replace at the append marker', [{ op: 'replace', path: '/list/-', value: 'x' }], 'replace operation does not apply: index "-" is out of bounds at "/list/-"', 0],
    ['move from a missing path', [{ op: 'move', from: '/nope', path: '/x' }], 'move operation does not apply: doc is missing from path: "/nope"', 0],
    ['copy from a missing path', [{ op: 'copy', from: '/nope', path: '/x' }], 'copy operation does not apply: doc is missing from path: "/nope"', 0],
    ['move into its own child', [{ op: 'move', from: '/metadata', path: '/metadata/inner' }], 'move operation does not apply: cannot move "/metadata" into its own child "/metadata/inner"', 0],
    ['remove of the root', [{ op: 'remove', path: '' }], 'remove operation does not apply: the document root cannot be removed', 0],
    ['test of a missing path', [{ op: 'test', path: '/a/b', value: null }], 'test operation does not apply: doc is missing path: "/a/b"', 0],
    [
      'the second of two operations',
      [
        { op: 'test', path: '/metadata/name', value: 'web' },
        { op: 'test', path: '/metadata/name', value: 'db' },
      ],
      'testing value /metadata/name failed: test failed (operation at index 1)',
      1,
    ],
  ];
  for (const [name, operations, message, index] of failures) {
    it(`reports ${name} as 422 Invalid`, () => {
      const err = thrown(() => patch(document, operations));
      assert.ok(err instanceof JsonPatchError);
      assert.equal(err.httpStatus, 422);
      assert.equal(err.code, 'API_INVALID');
      assert.equal(err.message, message);
      assert.equal(err.operationIndex, index);
    });
  }
});

describe('decodeJsonPatch', () => {
  const badRequests: [name: string, body: JsonValue, message: string][] = [
    ['an object instead of an array', { op: 'add' }, 'a JSON patch must be an array of operations, got object'],
    ['null', null, 'a JSON patch must be an array of operations, got null'],
    ['an operation that is not an object', [{ op: 'remove', path: '/a' }, 'remove'], 'a JSON patch operation must be an object, got string at index 1'],
  ];
  for (const [name, body, message] of badRequests) {
    it(`rejects ${name} as 400 BadRequest`, () => {
      const err = thrown(() => decodeJsonPatch(body));
      assert.equal(err.httpStatus, 400);
      assert.equal(err.reason, 'BadRequest');
      assert.equal(err.message, message);
    });
  }

  const invalid: [name: string, operation: JsonValue, message: string][] = [
    ['an unknown op', { op: 'merge', path: '/a' }, 'unexpected operation "merge": "op" must be one of add, remove, replace, move, copy, test'],
    ['a missing op', { path: '/a' }, 'unexpected operation null: "op" must be one of add, remove, replace, move, copy, test'],
    ['a missing path', { op: 'remove' }, 'remove operation is missing the string "path"'],
    ['a path without a leading slash', { op: 'remove', path: 'a/b' }, 'remove operation has an invalid JSON pointer in "path": "a/b"'],
    ['a bad ~ escape', { op: 'remove', path: '/a~2' }, 'remove operation has an invalid JSON pointer in "path": "/a~2"'],
    ['a move without from', { op: 'move', path: '/a' }, 'move operation is missing the string "from"'],
    ['an add without value', { op: 'add', path: '/a' }, 'add operation is missing "value"'],
  ];
  for (const [name, operation, message] of invalid) {
    it(`rejects ${name} as 422 Invalid`, () => {
      const err = thrown(() => decodeJsonPatch([operation]));
      assert.ok(err instanceof JsonPatchError);
      assert.equal(err.httpStatus, 422);
      assert.equal(err.message, message);
    });
  }

  it(`accepts ${MAX_JSON_PATCH_OPERATIONS} operations and rejects one more as 413`, () => {
    const op = { op: 'test', path: '', value: {} };
    assert.equal(decodeJsonPatch(Array.from({ length: MAX_JSON_PATCH_OPERATIONS }, () => op)).length, MAX_JSON_PATCH_OPERATIONS);
    const err = thrown(() => decodeJsonPatch(Array.from({ length: MAX_JSON_PATCH_OPERATIONS + 1 }, () => op)));
    assert.equal(err.httpStatus, 413);
    assert.equal(err.reason, 'RequestEntityTooLarge');
    assert.equal(err.message, `Request entity too large: The allowed maximum operations in a JSON patch is ${MAX_JSON_PATCH_OPERATIONS}, got ${MAX_JSON_PATCH_OPERATIONS + 1}`);
  });

  it('honours a lower cap', () => {
    assert.equal(thrown(() => decodeJsonPatch([{ op: 'remove', path: '/a' }, { op: 'remove', path: '/b' }], 1)).httpStatus, 413);
  });
});
