import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isApiError } from '../errors.ts';
import { LabelSelector, labelSelectorFromMeta, parseLabelSelector, validateLabelSelector, type Labels } from './labels.ts';

const KEY_NAME_RULE =
  "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
const VALUE_RULE =
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";

/** Runs `fn` and returns the 400 it must throw. */
function badRequest(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(isApiError(err), `expected an ApiError, got ${String(err)}`);
    assert.equal(err.httpStatus, 400);
    assert.equal(err.reason, 'BadRequest');
    assert.equal(err.code, 'API_BAD_REQUEST');
    return err.message;
  }
  assert.fail('expected the call to throw');
}

describe('parseLabelSelector', () => {
  const canonical: [name: string, input: string, expected: string][] = [
    ['empty selects everything', '', ''],
    ['blank selects everything', '  \t ', ''],
    ['equality', 'app=web', 'app=web'],
    ['double equals is kept as written', 'app==web', 'app==web'],
    ['inequality', 'app!=web', 'app!=web'],
    ['requirements are sorted by key', 'tier=db,app=web', 'app=web,tier=db'],
    ['whitespace around tokens is ignored', '  app  =  web ,  tier != db ', 'app=web,tier!=db'],
    ['tabs and newlines are whitespace', 'app\t=\nweb', 'app=web'],
    ['exists', 'canary', 'canary'],
    ['does not exist', '!canary', '!canary'],
    ['does not exist with a space', '! canary', '!canary'],
    ['in lists values sorted', 'env in (prod, dev)', 'env in (dev,prod)'],
    ['in without spaces', 'env in(prod)', 'env in (prod)'],
    ['notin', 'env notin (prod,dev)', 'env notin (dev,prod)'],
    ['duplicate values collapse', 'env in (a,a,b)', 'env in (a,b)'],
    ['empty parentheses mean the empty value', 'env notin ()', 'env notin ()'],
    ['empty entries are the empty value', 'env in (,a)', 'env in (,a)'],
    ['trailing comma adds the empty value', 'env in (a,)', 'env in (,a)'],
    ['double comma adds the empty value', 'env in (a,,b)', 'env in (,a,b)'],
    ['empty exact value', 'app=', 'app='],
    ['empty exact value before a comma', 'app=,tier=db', 'app=,tier=db'],
    ['greater than', 'replicas>3', 'replicas>3'],
    ['less than', 'replicas < 10', 'replicas<10'],
    ['prefixed key', 'app.kubernetes.io/name=web', 'app.kubernetes.io/name=web'],
    ['keywords are values in value position', 'x in (in,notin)', 'x in (in,notin)'],
    ['a key may be named in', 'in', 'in'],
    ['a key may be named notin and compared', 'notin=in', 'notin=in'],
    ['several requirements on one key keep their order', 'a!=1,a!=2', 'a!=1,a!=2'],
  ];
  for (const [name, input, expected] of canonical) {
    it(`accepts ${name}: ${JSON.stringify(input)}`, () => {
      assert.equal(parseLabelSelector(input).toString(), expected);
    });
  }

  const rejected: [name: string, input: string, message: string][] = [
    ['a key without an operator before another word', 'app web', "unable to parse requirement: found 'web', expected: in, notin, =, ==, !=, gt, lt"],
    ['two operators in a row', 'x==a==b', "found '==', expected: ',' or 'end of string'"],
    ['an operator after does-not-exist', '!x=a', "found '=', expected: ',' or 'end of string'"],
    ['a leading comma', ',x', "found ',', expected: !, identifier, or 'end of string'"],
    ['a trailing comma', 'x,', "found '', expected: identifier after ','"],
    ['a lone bang', '!', "unable to parse requirement: found '', expected: identifier"],
    ['in without parentheses', 'x in a', "unable to parse requirement: found 'a' expected: '('"],
    ['in without a value list', 'x in', "unable to parse requirement: found '' expected: '('"],
    ['an unclosed value list', 'x in (a', "unable to parse requirement: found '', expected: ',' or ')'"],
    ['an operator inside a value list', 'x in (=)', "unable to parse requirement: found '=', expected: ',', ')' or identifier"],
    ['an operator after a comma in a value list', 'x in (a,=)', "unable to parse requirement: found '=', expected: ',', or identifier"],
    ['an operator as the exact value', 'x=(', "unable to parse requirement: found '(', expected: identifier"],
    ['a colon in the key', 'app:monolith', `unable to parse requirement: <nil>: Invalid value: "app:monolith": ${KEY_NAME_RULE}`],
    [
      'an upper-case key prefix',
      'Example.com/app=x',
      `unable to parse requirement: <nil>: Invalid value: "Example.com/app": prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`,
    ],
    [
      'a key with two slashes',
      'a/b/c',
      `unable to parse requirement: <nil>: Invalid value: "a/b/c": a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`,
    ],
    ['an empty key prefix', '/app', `unable to parse requirement: <nil>: Invalid value: "/app": prefix part must be non-empty`],
    ['an empty key name', 'example.com/', `unable to parse requirement: <nil>: Invalid value: "example.com/": name part must be non-empty; ${KEY_NAME_RULE}`],
    ['a key name over 63 characters', `${'k'.repeat(64)}`, `unable to parse requirement: <nil>: Invalid value: "${'k'.repeat(64)}": name part must be no more than 63 characters`],
    ['a value with bad characters', 'x=a||y', `unable to parse requirement: values[0][x]: Invalid value: "a||y": ${VALUE_RULE}`],
    ['a value over 63 characters', `x=${'v'.repeat(64)}`, `unable to parse requirement: values[0][x]: Invalid value: "${'v'.repeat(64)}": must be no more than 63 characters`],
    ['a bad value in a set, indexed in sorted order', 'x in (b,-a)', `unable to parse requirement: values[0][x]: Invalid value: "-a": ${VALUE_RULE}`],
    ['a non-integer comparison', 'x<a', `unable to parse requirement: values[0]: Invalid value: "a": for 'Gt', 'Lt' operators, the value must be an integer`],
    ['an integer beyond int64', 'x>9223372036854775808', `unable to parse requirement: values[0]: Invalid value: "9223372036854775808": for 'Gt', 'Lt' operators, the value must be an integer`],
    [
      'two problems with one value',
      'x>a.',
      `unable to parse requirement: [values[0]: Invalid value: "a.": for 'Gt', 'Lt' operators, the value must be an integer, values[0][x]: Invalid value: "a.": ${VALUE_RULE}]`,
    ],
  ];
  for (const [name, input, message] of rejected) {
    it(`rejects ${name} with Kubernetes' message: ${JSON.stringify(input)}`, () => {
      assert.equal(badRequest(() => parseLabelSelector(input)), message);
    });
  }

  it('reads its own string form back to the same selector', () => {
    const s = parseLabelSelector('z notin (b,a),!y,x>5,w,v==1,u=,t in ()');
    assert.equal(parseLabelSelector(s.toString()).toString(), s.toString());
  });
});

describe('LabelSelector.matches', () => {
  const labels: Labels = { app: 'web', tier: 'frontend', replicas: '5', empty: '' };
  const cases: [selector: string, expected: boolean][] = [
    ['', true],
    ['app=web', true],
    ['app==web', true],
    ['app=db', false],
    ['missing=x', false],
    ['app!=db', true],
    ['app!=web', false],
    ['missing!=x', true],
    ['app in (web,db)', true],
    ['app in (db)', false],
    ['missing in (x)', false],
    ['app notin (db)', true],
    ['app notin (web)', false],
    ['missing notin (x)', true],
    ['app', true],
    ['missing', false],
    ['!missing', true],
    ['!app', false],
    ['replicas>4', true],
    ['replicas>5', false],
    ['replicas<6', true],
    ['replicas<5', false],
    ['app>1', false],
    ['missing>1', false],
    ['empty=', true],
    ['empty in ()', true],
    ['app=web,tier=frontend', true],
    ['app=web,tier=backend', false],
    ['constructor', false],
    ['!constructor', true],
    ['constructor notin (x)', true],
  ];
  for (const [selector, expected] of cases) {
    it(`${JSON.stringify(selector)} ${expected ? 'matches' : 'does not match'} ${JSON.stringify(labels)}`, () => {
      assert.equal(parseLabelSelector(selector).matches(labels), expected);
    });
  }

  it('compares integers beyond 2^53 exactly', () => {
    assert.equal(parseLabelSelector('n>9007199254740992').matches({ n: '9007199254740993' }), true);
  });
});

describe('LabelSelector helpers', () => {
  it('everything is empty and matches anything', () => {
    assert.equal(LabelSelector.everything().isEmpty(), true);
    assert.equal(LabelSelector.everything().matches({}), true);
    assert.equal(LabelSelector.everything().toString(), '');
  });

  it('nothing is not empty and matches nothing', () => {
    const nothing = LabelSelector.nothing();
    assert.equal(nothing.isEmpty(), false);
    assert.equal(nothing.selectsNothing, true);
    assert.equal(nothing.matches({}), false);
    assert.equal(nothing.toString(), '');
  });

  it('fromSet matches supersets of the set and prints sorted pairs', () => {
    const s = LabelSelector.fromSet({ tier: 'db', app: 'web' });
    assert.equal(s.toString(), 'app=web,tier=db');
    assert.equal(s.matches({ app: 'web', tier: 'db', extra: 'x' }), true);
    assert.equal(s.matches({ app: 'web' }), false);
    assert.equal(LabelSelector.fromSet({}).isEmpty(), true);
  });

  const exact: [selector: string, key: string, expected: string | undefined][] = [
    ['node=a', 'node', 'a'],
    ['node==a', 'node', 'a'],
    ['node in (a)', 'node', 'a'],
    ['node in (a,b)', 'node', undefined],
    ['node!=a', 'node', undefined],
    ['node', 'node', undefined],
    ['other=a', 'node', undefined],
    ['app=web,node=a', 'node', 'a'],
  ];
  for (const [selector, key, expected] of exact) {
    it(`requiresExactMatch(${key}) of ${JSON.stringify(selector)} is ${String(expected)}`, () => {
      assert.equal(parseLabelSelector(selector).requiresExactMatch(key), expected);
    });
  }
});

describe('labelSelectorFromMeta', () => {
  it('treats a missing selector as selecting nothing', () => {
    for (const missing of [null, undefined]) {
      const r = labelSelectorFromMeta(missing);
      assert.ok(r.ok);
      assert.equal(r.selector.selectsNothing, true);
    }
  });

  it('treats an empty selector as selecting everything', () => {
    const r = labelSelectorFromMeta({});
    assert.ok(r.ok);
    assert.equal(r.selector.isEmpty(), true);
    assert.equal(r.selector.matches({ any: 'thing' }), true);
  });

  const converted: [name: string, selector: Parameters<typeof labelSelectorFromMeta>[0], expected: string][] = [
    ['converts matchLabels to equalities', { matchLabels: { app: 'web', tier: 'db' } }, 'app=web,tier=db'],
    [
      'converts every operator of matchExpressions',
      {
        matchExpressions: [
          { key: 'd', operator: 'DoesNotExist' },
          { key: 'c', operator: 'Exists' },
          { key: 'b', operator: 'NotIn', values: ['y', 'x'] },
          { key: 'a', operator: 'In', values: ['2', '1'] },
        ],
      },
      'a in (1,2),b notin (x,y),c,!d',
    ],
    ['ANDs labels and expressions, sorted together', { matchLabels: { z: '1' }, matchExpressions: [{ key: 'a', operator: 'Exists' }] }, 'a,z=1'],
  ];
  for (const [name, selector, expected] of converted) {
    it(name, () => {
      const r = labelSelectorFromMeta(selector);
      assert.ok(r.ok, 'expected a valid selector');
      assert.equal(r.selector.toString(), expected);
    });
  }

  it('the converted selector matches like the parsed one', () => {
    const r = labelSelectorFromMeta({ matchLabels: { app: 'web' }, matchExpressions: [{ key: 'env', operator: 'NotIn', values: ['prod'] }] });
    assert.ok(r.ok);
    assert.equal(r.selector.matches({ app: 'web', env: 'dev' }), true);
    assert.equal(r.selector.matches({ app: 'web', env: 'prod' }), false);
    assert.equal(r.selector.matches({ app: 'web' }), true);
  });

  const invalid: [name: string, selector: Parameters<typeof validateLabelSelector>[0], errors: { type: string; field: string }[]][] = [
    ['an unknown operator', { matchExpressions: [{ key: 'a', operator: 'Gt', values: ['1'] }] }, [{ type: 'FieldValueInvalid', field: 'spec.selector.matchExpressions[0].operator' }]],
    ['In without values', { matchExpressions: [{ key: 'a', operator: 'In' }] }, [{ type: 'FieldValueRequired', field: 'spec.selector.matchExpressions[0].values' }]],
    ['Exists with values', { matchExpressions: [{ key: 'a', operator: 'Exists', values: ['x'] }] }, [{ type: 'FieldValueForbidden', field: 'spec.selector.matchExpressions[0].values' }]],
    ['a bad expression key', { matchExpressions: [{ key: 'a b', operator: 'Exists' }] }, [{ type: 'FieldValueInvalid', field: 'spec.selector.matchExpressions[0].key' }]],
    ['a bad expression value', { matchExpressions: [{ key: 'a', operator: 'In', values: ['ok', 'not ok'] }] }, [{ type: 'FieldValueInvalid', field: 'spec.selector.matchExpressions[0].values[1]' }]],
    ['a bad matchLabels key', { matchLabels: { 'a b': 'x' } }, [{ type: 'FieldValueInvalid', field: 'spec.selector.matchLabels' }]],
    ['a bad matchLabels value', { matchLabels: { a: 'x y' } }, [{ type: 'FieldValueInvalid', field: 'spec.selector.matchLabels' }]],
  ];
  for (const [name, selector, errors] of invalid) {
    it(`reports ${name} as a field error`, () => {
      const r = labelSelectorFromMeta(selector, 'spec.selector');
      assert.equal(r.ok, false);
      assert.ok(!r.ok);
      assert.deepEqual(
        r.errors.map((e) => ({ type: e.type, field: e.field })),
        errors,
      );
      assert.deepEqual(validateLabelSelector(selector, 'spec.selector'), r.errors);
    });
  }

  it('explains a missing In value list as Kubernetes does', () => {
    const [e] = validateLabelSelector({ matchExpressions: [{ key: 'a', operator: 'In', values: [] }] }, 'spec.selector');
    assert.equal(e?.detail, "must be specified when `operator` is 'In' or 'NotIn'");
  });
});
