import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kedgeExecutable } from './self.ts';

test('kedgeExecutable: the same Node.js, options and main module, less the debugger options', () => {
  assert.deepEqual(kedgeExecutable(['/opt/node', '/opt/kedge/dist/src/cli/main.js', 'edge'], ['--max-semi-space-size=1', '--inspect=9229', '--disable-warning=ExperimentalWarning'], '/opt/node'), {
    file: '/opt/node',
    args: ['--max-semi-space-size=1', '--disable-warning=ExperimentalWarning', '--jitless', '--no-opt', '--no-maglev', '--optimize-for-size', '/opt/kedge/dist/src/cli/main.js'],
  });
  // A mapper started by `kedge up` (cloud options) still runs small.
  assert.deepEqual(kedgeExecutable(['/opt/node', '/opt/kedge/src/cli/main.ts', 'up'], ['--disable-warning=ExperimentalWarning'], '/opt/node')?.args, ['--disable-warning=ExperimentalWarning', '--max-semi-space-size=1', '--no-sparkplug', '--no-opt', '--no-maglev', '--optimize-for-size', '/opt/kedge/src/cli/main.ts']);
  assert.equal(kedgeExecutable(['/opt/node'], [], '/opt/node'), undefined);
});
