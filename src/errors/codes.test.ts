import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ERROR_CODES } from './codes.ts';

test('every error code is documented in docs/errors.md', () => {
  const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
  const missing = ERROR_CODES.filter((code) => !doc.includes(`\`${code}\``));
  assert.deepEqual(missing, [], `document these codes in docs/errors.md: ${missing.join(', ')}`);
});

test('error codes are unique', () => {
  assert.equal(new Set(ERROR_CODES).size, ERROR_CODES.length);
});
