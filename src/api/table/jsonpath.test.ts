import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { compileJsonPath, JsonPathSyntaxError } from './jsonpath.ts';

const doc = {
  metadata: { name: 'n', labels: { 'app.kubernetes.io/name': 'web', tier: 'front' } },
  spec: {
    ports: [
      { name: 'http', port: 80 },
      { name: 'https', port: 443 },
      { name: 'metrics', port: 9100 },
    ],
    nested: { a: { name: 'deep' } },
  },
  status: { conditions: [{ type: 'Ready', status: 'True' }, { type: 'Synced', status: 'False', observed: false }] },
};

describe('JSONPath subset used by printer columns', () => {
  const cases: [path: string, expected: unknown[]][] = [
    ['.metadata.name', ['n']],
    ['{.metadata.name}', ['n']],
    ['$.metadata.name', ['n']],
    ['.', [doc]],
    [".metadata.labels['app.kubernetes.io/name']", ['web']],
    ['.metadata.labels["tier"]', ['front']],
    ['.metadata.labels.app\\.kubernetes\\.io/name', ['web']],
    ['.spec.ports[0].port', [80]],
    ['.spec.ports[-1].name', ['metrics']],
    ['.spec.ports[5].name', []],
    ['.spec.ports[*].port', [80, 443, 9100]],
    ['.spec.ports[0:2].name', ['http', 'https']],
    ['.spec.ports[1:].name', ['https', 'metrics']],
    ['.spec.ports[?(@.port > 100)].name', ['https', 'metrics']],
    ['.spec.ports[?(@.name=="http")].port', [80]],
    ['.status.conditions[?(@.type=="Ready")].status', ['True']],
    [".status.conditions[?(@.type!='Ready')].type", ['Synced']],
    ['.status.conditions[?(@.observed)].type', []],
    ['.status.conditions[?(@.status)].type', ['Ready', 'Synced']],
    ['.metadata.labels.*', ['web', 'front']],
    ['..name', ['n', 'http', 'https', 'metrics', 'deep']],
    ['.missing.deeper', []],
    ['.spec.ports.name', []],
  ];
  for (const [path, expected] of cases) {
    it(path, () => {
      assert.deepEqual(compileJsonPath(path).evaluate(doc), expected);
    });
  }

  for (const bad of ['metadata.name', '.spec[', '.spec[?(@.a ~ 1)]']) {
    it(`refuses ${JSON.stringify(bad)}`, () => {
      assert.throws(() => compileJsonPath(bad), JsonPathSyntaxError);
    });
  }
});
