// Type-aware lint. Beyond the recommended sets it enforces two things the design depends on:
// no floating promises (every async path is awaited or explicitly voided), and the edge/cloud
// boundary (edge code never imports cloud code and the other way round; both may use api/ and protocol/).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// ESLint keeps one setting per rule and file (the last matching config wins), so every area's
// setting carries the rule that applies everywhere in src/ as well: @peculiar/x509 needs a Reflect
// polyfill and WebCrypto set up first, which src/pki/x509.ts does.
const X509 = { name: '@peculiar/x509', message: 'import certificate helpers from src/pki instead' };
const boundary = (forbidden, why) => ({
  'no-restricted-imports': ['error', { paths: [X509], patterns: [{ group: forbidden, message: why }] }],
});
// The issuing half of the PKI loads @peculiar/x509 with its ASN.1 schemas, tsyringe and WebCrypto:
// about 30 MB of an edge node's 70 MB. Edge code uses src/pki/light.ts (node:crypto only); types
// cost nothing at run time, so `import type` stays allowed.
const FULL_PKI = {
  group: ['**/pki/index.ts', '**/pki/certificate.ts', '**/pki/csr.ts', '**/pki/x509.ts', '**/pki/reflect-metadata.ts', '@peculiar/*', 'tsyringe'],
  allowTypeImports: true,
  message: 'import src/pki/light.ts: the full PKI loads @peculiar/x509 (about 30 MB)',
};

// Kubernetes orders strings by bytes; localeCompare depends on the locale and loads ICU's collation.
const LOCALE_COMPARE = { property: 'localeCompare', message: 'use compareStrings from src/api/compare.ts (byte order, as Kubernetes sorts)' };

export default tseslint.config(
  { ignores: ['node_modules/**', 'web/dist/**', 'src/api/schema/builtin-definitions.json'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // node:test's describe/it return promises the runner itself tracks.
      '@typescript-eslint/no-floating-promises': [
        'error',
        { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['describe', 'it', 'test', 'suite', 'before', 'after', 'beforeEach', 'afterEach'] }] },
      ],
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      'no-console': 'error',
      eqeqeq: ['error', 'always', { null: 'ignore' }],
      'no-restricted-properties': ['error', LOCALE_COMPARE],
    },
  },
  {
    // V8's date formatters load ICU's time-zone tables, even for UTC: about 1 MB resident in every
    // process that formats one (ADR 006). Tests may compare against them.
    files: ['src/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-properties': [
        'error',
        LOCALE_COMPARE,
        { property: 'toISOString', message: 'use rfc3339 / rfc3339Milli from src/api/time.ts (Date formatters load ICU time-zone data)' },
        { property: 'toUTCString', message: 'use httpDate from src/api/time.ts (Date formatters load ICU time-zone data)' },
      ],
    },
  },
  {
    files: ['src/**/*.ts'],
    ignores: ['src/pki/**'],
    rules: { 'no-restricted-imports': ['error', { paths: [X509] }] },
  },
  {
    files: ['src/edge/**/*.ts', 'src/mappers/**/*.ts'],
    rules: {
      ...boundary(['**/cloud/**'], 'edge code must not import cloud code; share it through src/api or src/protocol'),
      // The ESM facade of node:http reads its WebSocket getters, which load undici and http2: about
      // 10 MB of an edge node's 70 MB.
      '@typescript-eslint/no-restricted-imports': [
        'error',
        { paths: [{ name: 'node:http', allowTypeImports: true, message: "use process.getBuiltinModule('node:http') (the ESM import costs 10 MB)" }], patterns: [FULL_PKI] },
      ],
    },
  },
  {
    files: ['src/cloud/**/*.ts'],
    rules: boundary(['**/edge/**', '**/mappers/**'], 'cloud code must not import edge code; share it through src/api or src/protocol'),
  },
  {
    files: ['src/api/**/*.ts', 'src/protocol/**/*.ts'],
    rules: boundary(['**/cloud/**', '**/edge/**', '**/store/**', '**/cli/**'], 'api/ and protocol/ are pure and shared by both halves'),
  },
  {
    // The CLI, tests, benchmarks and scripts talk to a terminal.
    files: ['src/cli/**/*.ts', 'test/**/*.ts', 'bench/**/*.ts', 'scripts/**/*.ts'],
    rules: { 'no-console': 'off' },
  },
  {
    files: ['**/*.test.ts', 'test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
);
