// The benchmark runner. `npm run bench` lists the benchmarks (every `bench/<name>.bench.ts`);
// `npm run bench -- <name> [args]` runs that file's default export until it finishes or the first
// SIGINT/SIGTERM, which aborts its signal so it can stop its load and clean up (a second one exits).
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inspect } from 'node:util';
import type { Benchmark } from './lib/bench.ts';

// bin/kedge runs Node.js with --disable-warning=ExperimentalWarning (node:sqlite is experimental);
// benchmarks that import the store get the same quiet.
const emitWarning = process.emitWarning.bind(process) as (...args: unknown[]) => void;
process.emitWarning = (warning: string | Error, ...rest: unknown[]): void => {
  const type = typeof rest[0] === 'string' ? rest[0] : (rest[0] as { type?: string } | undefined)?.type;
  if (type === 'ExperimentalWarning' || (warning instanceof Error && warning.name === 'ExperimentalWarning')) return;
  emitWarning(warning, ...rest);
};

const SUFFIX = '.bench.ts';
const dir = fileURLToPath(new URL('.', import.meta.url));

interface BenchModule {
  default?: Benchmark;
}

function names(): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith(SUFFIX))
    .map((f) => basename(f, SUFFIX))
    .sort();
}

async function load(name: string): Promise<BenchModule> {
  return (await import(new URL(`./${name}${SUFFIX}`, import.meta.url).href)) as BenchModule;
}

/** A benchmark's `export const description = '...'`, read from its source so listing runs none of them. */
function describe(name: string): string {
  const source = readFileSync(new URL(`./${name}${SUFFIX}`, import.meta.url), 'utf8');
  return /export const description\s*=\s*(['"`])(.*?)\1/s.exec(source)?.[2] ?? '';
}

function list(): void {
  console.log('Usage: npm run bench -- <name> [args]\n\nBenchmarks:');
  const all = names();
  const width = Math.max(0, ...all.map((n) => n.length)) + 2;
  for (const name of all) console.log(`  ${name.padEnd(width)}${describe(name)}`);
}

async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined || name === '--help' || name === '-h') {
    list();
    return 0;
  }
  if (!names().includes(name)) {
    console.error(`bench: no benchmark "${name}" (bench/${name}${SUFFIX})`);
    list();
    return 2;
  }
  const bench = (await load(name)).default;
  if (typeof bench !== 'function') {
    console.error(`bench: bench/${name}${SUFFIX} has no default export to run`);
    return 2;
  }
  // Benchmarks start bin/kedge, which runs the build when it is current: measure what a user runs.
  const build = spawnSync(process.execPath, ['--disable-warning=ExperimentalWarning', fileURLToPath(new URL('../scripts/build.ts', import.meta.url))], { stdio: 'inherit' });
  if (build.status !== 0) {
    console.error('bench: the build failed');
    return 1;
  }
  const abort = new AbortController();
  const stop = (sig: NodeJS.Signals): void => {
    if (abort.signal.aborted) {
      console.error(`bench: ${sig} again, exiting now`);
      process.exit(130);
    }
    console.error(`bench: ${sig}, stopping ${name} (again to exit at once)`);
    abort.abort();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  const started = performance.now();
  await bench({ signal: abort.signal, args });
  console.log(`\nbench ${name}: done in ${((performance.now() - started) / 1000).toFixed(0)} s`);
  return abort.signal.aborted ? 130 : 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    if (err instanceof Error && err.cause !== undefined) console.error(`caused by: ${err.cause instanceof Error ? err.cause.message : inspect(err.cause)}`);
    process.exitCode = 1;
  },
);
