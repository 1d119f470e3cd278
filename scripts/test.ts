// Every check kedge has, in the order that fails fastest: types, lint, then one run of Node's test
// runner over the unit tests (beside the code) and the e2e tests (test/e2e), so CI reads one summary.
// `npm test -- <pattern>...` limits the test run to files whose path contains a pattern.
import { spawnSync } from 'node:child_process';
import { globSync } from 'node:fs';

function run(what: string, command: string, args: string[]): void {
  console.log(`\n== ${what}`);
  const r = spawnSync(command, args, { stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`== ${what} failed (exit ${r.status ?? r.signal})`);
    process.exit(r.status ?? 1);
  }
}

const patterns = process.argv.slice(2);
const files = [...globSync('src/**/*.test.ts'), ...globSync('test/**/*.test.ts')]
  .filter((f) => patterns.length === 0 || patterns.some((p) => f.includes(p)))
  .sort();

if (patterns.length === 0) {
  // The tools' own entry points, on this Node.js (npx would read tsc's -p as its own --package).
  run('typecheck', process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json']);
  run('lint', process.execPath, ['node_modules/eslint/bin/eslint.js', '--max-warnings', '0', 'src', 'test', 'bench', 'scripts']);
}
// The e2e tests start bin/kedge, which runs the build when it is current: build first, so they test
// what a user runs.
run('build', process.execPath, ['--disable-warning=ExperimentalWarning', 'scripts/build.ts']);
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
run(`tests (${files.length} files)`, process.execPath, [
  '--disable-warning=ExperimentalWarning',
  '--test',
  '--test-concurrency=2',
  '--test-timeout=600000',
  ...files,
]);
