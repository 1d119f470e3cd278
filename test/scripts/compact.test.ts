import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { stripTypeScriptTypes } from 'node:module';
import { test } from 'node:test';
import { runInNewContext } from 'node:vm';
import { compact } from '../../scripts/compact.ts';

const lines = (s: string): number => s.split('\n').length;

test('comments, indentation and blank runs go; every line stays', () => {
  const src = ['/** doc', ' * more', ' */', 'export function f(a,   b) {', '    // why', '    return a /* inline */ + b; // tail', '}', ''].join('\n');
  const out = compact(src);
  assert.equal(out, ['', '', '', 'export function f(a, b) {', '', 'return a + b;', '}', ''].join('\n'));
  assert.equal(lines(out), lines(src));
});

test('literals are kept byte for byte: strings, templates over several lines, regular expressions', () => {
  const src = "const a = '  // not a comment  ';\nconst b = `line one\n    indented /* not a comment */ ${a}   x\n  end`;\nconst r = /\\/\\/  [ ]+/g;\nconst s = \"a  b\";\n";
  const out = compact(src);
  assert.equal(out, src);
});

test('a comment between two tokens still separates them, and a sourceURL directive stays', () => {
  assert.equal(compact('function g() { return/**/x }\n//# sourceURL=file:///a.ts'), 'function g() { return x }\n//# sourceURL=file:///a.ts');
  assert.equal(compact('a = b/*c*/-/*d*/-c;'), 'a = b - -c;');
});

test('characters beyond Latin-1 in literals become escapes with the same value; tagged templates are left alone', () => {
  const src = "const m = 'a → b — é';\nconst t = `x → ${1} ←`;\nconst r = /→/u;\nconst raw = String.raw`→`;\n";
  const out = compact(src);
  assert.ok(!/[\u0100-\uffff]/.test(out.replace(/String\.raw`→`/, '')), out);
  const run = (code: string): string => JSON.stringify(runInNewContext(`${code}\n[m, t, r.test('→'), raw]`));
  assert.equal(run(out), run(src));
});

test('kedge sources compact to code that behaves the same: the line count of every module is kept', () => {
  for (const file of ['src/edge/hub/edge-hub.ts', 'src/edge/twin/messages.ts', 'src/api/selectors/labels.ts']) {
    const stripped = stripTypeScriptTypes(readFileSync(file, 'utf8'), { mode: 'strip' });
    const out = compact(stripped);
    assert.equal(lines(out), lines(stripped), file);
    assert.ok(out.length < stripped.length * 0.8, `${file}: ${out.length} of ${stripped.length}`);
  }
});
