// Builds what `bin/kedge` runs: every module under src/ as plain JavaScript in dist/src/, beside copies
// of the files the code reads at run time (protos, the built-in CRDs, JSON), and dist/package.json.
//
// Why: Node.js strips TypeScript at load time with a WebAssembly compiler that stays resident, about
// 17 MB of every process; an edge node's whole budget is 70 MB. The build strips types with the same
// stripper ahead of time. Types become whitespace, so every line stays where it is in the .ts file
// and stack traces point at the source without source maps. Relative `.ts` specifiers become
// `.js` ones; they are found with TypeScript's own import scanner, not a pattern. Imports of Node.js
// built-ins become process.getBuiltinModule calls (importBuiltinsDirectly). Then comments and
// indentation go (compact.ts), which keeps every line where it was.
//
// `node scripts/build.ts` rebuilds dist/ from scratch and then writes dist/BUILT. bin/kedge runs dist/
// only while no file under src/ is newer than that stamp, and the sources directly otherwise, so an
// edit never runs stale code. scripts/setup, the test runner and the bench runner build first.
import { copyFileSync, globSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { stripTypeScriptTypes } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';
import { compact } from './compact.ts';

/** A replacement of `source.slice(pos, end)` by `to`. */
interface Edit {
  readonly pos: number;
  readonly end: number;
  readonly to: string;
}

/** `source` with non-overlapping edits applied, from the last so earlier positions stay valid. */
function applyEdits(source: string, edits: Edit[]): string {
  let out = source;
  for (const e of edits.sort((a, b) => b.pos - a.pos)) out = out.slice(0, e.pos) + e.to + out.slice(e.end);
  return out;
}

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = join(root, 'dist');

/** `source` with every relative import of a `.ts` module pointed at its `.js` build. */
export function rewriteImports(source: string, file: string): string {
  const edits: Edit[] = [];
  for (const ref of ts.preProcessFile(source, true, true).importedFiles) {
    if (!/^\.\.?\//.test(ref.fileName) || !ref.fileName.endsWith('.ts')) continue;
    // The scanner's pos is the opening quote.
    const at = ref.pos + 1;
    if (!/['"]/.test(source[ref.pos] ?? '') || !source.startsWith(ref.fileName, at)) throw new Error(`${file}: cannot place the import of ${ref.fileName}`);
    edits.push({ pos: at, end: at + ref.fileName.length, to: `${ref.fileName.slice(0, -'.ts'.length)}.js` });
  }
  return applyEdits(source, edits);
}

/**
 * `source` with every static import of a Node.js built-in (`node:…`) turned into a
 * `process.getBuiltinModule` call on the same lines.
 *
 * Why: importing a built-in from ESM builds a facade module that reads every export, getters
 * included, and several getters load or parse what a process may never use: node:tls's
 * `rootCertificates` parses the ~140 bundled root certificates into strings, node:crypto's
 * `webcrypto` loads WebCrypto, node:fs's `promises` loads fs/promises and readline, node:http's
 * `WebSocket` loads undici. getBuiltinModule hands over the module's exports as they are. The
 * bindings become constants instead of live bindings, which is the same for a built-in: its exports
 * do not change. Lines are kept, as everywhere in the build.
 */
export function importBuiltinsDirectly(source: string, file: string): string {
  const sf = ts.createSourceFile(file, source, ts.ScriptTarget.Latest, false, ts.ScriptKind.JS);
  const edits: Edit[] = [];
  for (const statement of sf.statements) {
    if (!ts.isImportDeclaration(statement) || !ts.isStringLiteral(statement.moduleSpecifier)) continue;
    const specifier = statement.moduleSpecifier.text;
    if (!specifier.startsWith('node:')) continue;
    const load = `process.getBuiltinModule(${JSON.stringify(specifier)})`;
    const clause = statement.importClause;
    const bindings: string[] = [];
    if (clause?.name !== undefined) bindings.push(`${clause.name.text} = ${load}`);
    const named = clause?.namedBindings;
    if (named !== undefined && ts.isNamespaceImport(named)) bindings.push(`${named.name.text} = ${load}`);
    if (named !== undefined && ts.isNamedImports(named) && named.elements.length > 0) {
      const names = named.elements.map((e) => {
        const exported = e.propertyName?.getText(sf) ?? e.name.text;
        if (exported === 'default') throw new Error(`${file}: import { default as … } from '${specifier}' has no getBuiltinModule form`);
        return exported === e.name.text ? exported : `${exported}: ${e.name.text}`;
      });
      bindings.push(`{ ${names.join(', ')} } = ${load}`);
    }
    const start = statement.getStart(sf);
    const lines = source.slice(start, statement.end).split('\n').length - 1;
    edits.push({ pos: start, end: statement.end, to: `${bindings.length > 0 ? `const ${bindings.join(', ')};` : `${load};`}${'\n'.repeat(lines)}` });
  }
  return applyEdits(source, edits);
}

function build(): number {
  rmSync(dist, { recursive: true, force: true });
  let modules = 0;
  for (const entry of globSync('src/**/*', { cwd: root, withFileTypes: true })) {
    if (!entry.isFile() || entry.name.endsWith('.test.ts')) continue;
    const from = join(entry.parentPath, entry.name);
    const file = relative(root, from);
    const to = join(dist, file.endsWith('.ts') ? `${file.slice(0, -'.ts'.length)}.js` : file);
    mkdirSync(dirname(to), { recursive: true });
    if (!file.endsWith('.ts')) {
      copyFileSync(from, to);
      continue;
    }
    // sourceURL: stack traces name the .ts file, whose lines and columns these are.
    const stripped = stripTypeScriptTypes(readFileSync(from, 'utf8'), { mode: 'strip', sourceUrl: pathToFileURL(from).href });
    writeFileSync(to, compact(importBuiltinsDirectly(rewriteImports(stripped, file), file)));
    modules++;
  }
  // `type: module` for the .js files, and the version the CLI reports (src/edge/version.ts imports it).
  copyFileSync(join(root, 'package.json'), join(dist, 'package.json'));
  writeFileSync(join(dist, 'BUILT'), `${new Date().toISOString()}\n`);
  return modules;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const started = performance.now();
  const modules = build();
  console.log(`build: ${modules} modules in dist/ (${Math.round(performance.now() - started)} ms)`);
}
