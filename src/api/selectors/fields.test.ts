import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isApiError } from '../errors.ts';
import { DEFAULT_SELECTABLE_FIELDS, escapeFieldValue, FieldSelector, parseFieldSelector, validateFieldSelector, type Fields } from './fields.ts';

/** Runs `fn` and returns the message of the 400 it must throw. */
function badRequest(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(isApiError(err), `expected an ApiError, got ${String(err)}`);
    assert.equal(err.httpStatus, 400);
    assert.equal(err.reason, 'BadRequest');
    return err.message;
  }
  assert.fail('expected the call to throw');
}

describe('parseFieldSelector', () => {
  const accepted: [name: string, input: string, requirements: [string, string, string][], canonical: string][] = [
    ['the empty selector', '', [], ''],
    ['only commas', ',,', [], ''],
    ['equality', 'metadata.name=web', [['metadata.name', '=', 'web']], 'metadata.name=web'],
    ['double equals as equality', 'metadata.name==web', [['metadata.name', '=', 'web']], 'metadata.name=web'],
    ['inequality', 'status.phase!=Running', [['status.phase', '!=', 'Running']], 'status.phase!=Running'],
    ['an empty value', 'spec.nodeName=', [['spec.nodeName', '=', '']], 'spec.nodeName='],
    [
      'several terms, sorted',
      'spec.nodeName=edge-1,metadata.name=web',
      [
        ['metadata.name', '=', 'web'],
        ['spec.nodeName', '=', 'edge-1'],
      ],
      'metadata.name=web,spec.nodeName=edge-1',
    ],
    ['an escaped comma', 'a=x\\,y', [['a', '=', 'x,y']], 'a=x\\,y'],
    ['an escaped equals sign', 'a=x\\=y', [['a', '=', 'x=y']], 'a=x\\=y'],
    ['an escaped backslash', 'a=x\\\\y', [['a', '=', 'x\\y']], 'a=x\\\\y'],
    ['the first operator splits the term', 'a=!b', [['a', '=', '!b']], 'a=!b'],
    ['whitespace kept in field names and values', ' a = b ', [[' a ', '=', ' b ']], ' a = b '],
    ['an empty field name', '=x', [['', '=', 'x']], '=x'],
  ];
  for (const [name, input, requirements, canonical] of accepted) {
    it(`accepts ${name}: ${JSON.stringify(input)}`, () => {
      const s = parseFieldSelector(input);
      assert.deepEqual(
        s.requirements().map((r) => [r.field, r.operator, r.value]),
        requirements,
      );
      assert.equal(s.toString(), canonical);
      assert.equal(s.isEmpty(), requirements.length === 0);
    });
  }

  const rejected: [name: string, input: string, message: string][] = [
    ['a term without an operator', 'metadata.name', "invalid selector: 'metadata.name'; can't understand 'metadata.name'"],
    ['one bad term among good ones', 'a=b,c', "invalid selector: 'a=b,c'; can't understand 'c'"],
    ['an unknown escape', 'a=x\\y', 'invalid field selector: invalid escape sequence: \\y'],
    ['a trailing backslash', 'a=x\\', 'invalid field selector: invalid escape sequence: \\'],
    // Go prints the offending rune with %v, which is its code point.
    ['an unescaped equals sign in the value', 'a=x=y', 'invalid field selector: unescaped character in value: 61'],
    ['a triple equals', 'a===b', 'invalid field selector: unescaped character in value: 61'],
  ];
  for (const [name, input, message] of rejected) {
    it(`rejects ${name} with Kubernetes' message: ${JSON.stringify(input)}`, () => {
      assert.equal(badRequest(() => parseFieldSelector(input)), message);
    });
  }

  it('reads its own string form back, escapes included', () => {
    const s = FieldSelector.fromSet({ 'metadata.name': 'a,b=c\\d', 'spec.nodeName': 'n' });
    assert.deepEqual(parseFieldSelector(s.toString()).requirements(), s.requirements());
  });
});

describe('FieldSelector.matches', () => {
  const fields: Fields = { 'metadata.name': 'web', 'spec.nodeName': 'edge-1', 'status.phase': 'Running' };
  const cases: [selector: string, expected: boolean][] = [
    ['', true],
    ['metadata.name=web', true],
    ['metadata.name==web', true],
    ['metadata.name=db', false],
    ['metadata.name!=db', true],
    ['metadata.name!=web', false],
    ['spec.nodeName=edge-1,status.phase=Running', true],
    ['spec.nodeName=edge-1,status.phase!=Running', false],
    ['spec.missing=', true],
    ['spec.missing!=', false],
    ['spec.missing=x', false],
    ['constructor=', true],
  ];
  for (const [selector, expected] of cases) {
    it(`${JSON.stringify(selector)} ${expected ? 'matches' : 'does not match'}`, () => {
      assert.equal(parseFieldSelector(selector).matches(fields), expected);
    });
  }
});

describe('FieldSelector helpers', () => {
  const exact: [selector: string, expected: string | undefined][] = [
    ['spec.nodeName=edge-1', 'edge-1'],
    ['spec.nodeName==edge-1,metadata.name=x', 'edge-1'],
    ['spec.nodeName!=edge-1', undefined],
    ['metadata.name=x', undefined],
    ['spec.nodeName=', ''],
  ];
  for (const [selector, expected] of exact) {
    it(`requiresExactMatch(spec.nodeName) of ${JSON.stringify(selector)} is ${JSON.stringify(expected)}`, () => {
      assert.equal(parseFieldSelector(selector).requiresExactMatch('spec.nodeName'), expected);
    });
  }

  it('everything is empty and matches anything', () => {
    assert.equal(FieldSelector.everything().isEmpty(), true);
    assert.equal(FieldSelector.everything().matches({}), true);
    assert.equal(FieldSelector.fromSet({}).isEmpty(), true);
  });

  it('escapes exactly backslash, comma and equals', () => {
    assert.equal(escapeFieldValue('a\\b,c=d e'), 'a\\\\b\\,c\\=d e');
  });
});

describe('validateFieldSelector', () => {
  const supported = [...DEFAULT_SELECTABLE_FIELDS, 'spec.nodeName', 'status.phase'];

  it('accepts selectors that name only supported fields', () => {
    validateFieldSelector(parseFieldSelector('metadata.name=a,spec.nodeName!=b'), supported);
    validateFieldSelector(parseFieldSelector(''), supported);
  });

  const rejected: [selector: string, message: string][] = [
    ['spec.foo=bar', 'field label not supported: spec.foo'],
    ['metadata.name=a,spec.bar=x,spec.foo=y', 'field label not supported: spec.bar'],
    ['metadata.name =a', 'field label not supported: metadata.name '],
  ];
  for (const [selector, message] of rejected) {
    it(`rejects ${JSON.stringify(selector)} naming the first unsupported field`, () => {
      assert.equal(
        badRequest(() => validateFieldSelector(parseFieldSelector(selector), new Set(supported))),
        message,
      );
    });
  }
});
