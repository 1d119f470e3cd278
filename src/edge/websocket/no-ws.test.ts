import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';

// Runs in a child process of its own: this test runner may have loaded `ws` already. The child
// records every import that resolves into the `ws` package, and who asked for it.
const probe = `
import { registerHooks } from 'node:module';
const loads = [];
registerHooks({
  resolve(specifier, context, next) {
    const r = next(specifier, context);
    if (/\\/node_modules\\/ws\\//.test(r.url)) loads.push(context.parentURL);
    return r;
  },
});
for (const m of process.argv.slice(1)) await import(new URL(m, process.env.ROOT).href);
process.stdout.write(JSON.stringify(loads));
`;

/** The first-party modules that import `ws` when `entry` is loaded. */
function importersOfWs(entry: string): string[] {
  const out = execFileSync(process.execPath, ['--disable-warning=ExperimentalWarning', '--input-type=module', '-e', probe, entry], {
    env: { ...process.env, ROOT: new URL('../../../', import.meta.url).href },
    encoding: 'utf8',
  });
  return (JSON.parse(out) as (string | null)[]).filter((p): p is string => p !== null && !p.includes('/node_modules/ws/'));
}

test('the edge process does not load ws: its hub session and stream tunnel use the edge client', () => {
  // The probe sees ws where it is used: the edge's test stand-in for CloudHub is a ws server.
  assert.ok(importersOfWs('src/edge/hub/testing.ts').some((p) => p.endsWith('/src/edge/hub/testing.ts')));
  // The CRI exec path (src/edge/runtime/cri) is being moved off ws separately; everything else must be clear of it.
  const others = importersOfWs('src/edge/edge.ts').filter((p) => !p.includes('/src/edge/runtime/cri/'));
  assert.deepEqual(others, [], 'modules importing ws');
});
