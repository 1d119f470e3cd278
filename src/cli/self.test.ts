import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kedgeExecutable } from './self.ts';

test('kedgeExecutable: the same Node.js, options and main module, less the debugger options', () => {
  assert.deepEqual(kedgeExecutable(['/opt/node', '/opt/kedge/dist/src/cli/main.js', 'edge'], ['--max-semi-space-size=1', '--inspect=9229', '--disable-warning=ExperimentalWarning'], '/opt/node'), {
    file: '/opt/node',
    args: ['--max-semi-space-size=1', '--disable-warning=ExperimentalWarning', '/opt/kedge/dist/src/cli/main.js'],
  });
  assert.equal(kedgeExecutable(['/opt/node'], [], '/opt/node'), undefined);
});
