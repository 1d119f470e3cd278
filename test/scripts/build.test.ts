import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { stripTypeScriptTypes } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { importBuiltinsDirectly } from '../../scripts/build.ts';

test('imports of node: built-ins become getBuiltinModule constants on the same lines; other imports stay', () => {
  const src = [
    "import { readFileSync, statSync as stat } from 'node:fs';",
    "import https from 'node:https';",
    "import * as path from 'node:path';",
    "import {",
    '  createHash,',
    '  randomBytes,',
    "} from 'node:crypto';",
    "import 'node:sqlite';",
    "import { parse } from 'yaml';",
    "import { helper } from './helper.js';",
    "const s = 'import { x } from \"node:fs\"';",
    '',
  ].join('\n');
  const out = importBuiltinsDirectly(src, 'm.js');
  assert.deepEqual(out.split('\n'), [
    'const { readFileSync, statSync: stat } = process.getBuiltinModule("node:fs");',
    'const https = process.getBuiltinModule("node:https");',
    'const path = process.getBuiltinModule("node:path");',
    'const { createHash, randomBytes } = process.getBuiltinModule("node:crypto");',
    '',
    '',
    '',
    'process.getBuiltinModule("node:sqlite");',
    "import { parse } from 'yaml';",
    "import { helper } from './helper.js';",
    "const s = 'import { x } from \"node:fs\"';",
    '',
  ]);
});

test('what the type stripper leaves of type-only specifiers is handled: bindings kept, an emptied import still loads the module', () => {
  const stripped = stripTypeScriptTypes("import { type Server, createServer } from 'node:net';\nimport { type Socket } from 'node:dgram';\nimport tls, { type TLSSocket } from 'node:tls';\n");
  assert.equal(
    importBuiltinsDirectly(stripped, 'm.js'),
    'const { createServer } = process.getBuiltinModule("node:net");\nprocess.getBuiltinModule("node:dgram");\nconst tls = process.getBuiltinModule("node:tls");\n',
  );
  assert.throws(() => importBuiltinsDirectly("import { default as fs } from 'node:fs';", 'm.js'), /m\.js: import \{ default as … \} from 'node:fs'/);
});

test('a built module gets the values its ESM imports would have given, without the facade that loads WebCrypto', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kedge-build-test-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const source = "import { connect, checkServerIdentity as check } from 'node:tls';\nimport crypto from 'node:crypto';\nexport const got = { connect, check, crypto };\n";
  const built = join(dir, 'built.mjs');
  const esm = join(dir, 'esm.mjs');
  writeFileSync(built, importBuiltinsDirectly(source, built));
  writeFileSync(esm, source);
  const { got } = (await import(pathToFileURL(built).href)) as { got: { connect: unknown; check: unknown; crypto: unknown } };
  const tls = process.getBuiltinModule('node:tls');
  assert.equal(got.connect, tls.connect);
  assert.equal(got.check, tls.checkServerIdentity);
  assert.equal(got.crypto, process.getBuiltinModule('node:crypto'));
  // node:crypto's ESM facade reads its `webcrypto` getter, which loads WebCrypto; the built module does not.
  const loadsWebCrypto = (file: string): boolean =>
    execFileSync(process.execPath, ['--input-type=module', '-e', `await import(${JSON.stringify(pathToFileURL(file).href)}); console.log(process.moduleLoadList.includes('NativeModule internal/crypto/webcrypto'))`], { encoding: 'utf8' }).trim() === 'true';
  assert.equal(loadsWebCrypto(esm), true);
  assert.equal(loadsWebCrypto(built), false);
});
