import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isApiError, type ApiError } from '../errors.ts';
import type { JsonValue } from '../object.ts';
import { strategicMergePatch } from './strategic-merge-patch.ts';
import { testResolver, testSchema } from './testing-schema.ts';

/** `original` is any JSON-shaped test fixture; its inferred TypeScript type need not be JsonValue. */
const smp = (kind: string, original: unknown, patch: JsonValue): JsonValue => strategicMergePatch(original as JsonValue, patch, testSchema(kind), testResolver);

function thrown(fn: () => unknown): ApiError {
  try {
    fn();
  } catch (err) {
    assert.ok(isApiError(err), `expected an ApiError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected the call to throw');
}

const pod = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'web', labels: { app: 'web', tier: 'fe' }, finalizers: ['a.example.com/x', 'b.example.com/y'] },
  spec: {
    nodeSelector: { disk: 'ssd', zone: 'a' },
    containers: [
      {
        name: 'app',
        image: 'nginx:1.25',
        ports: [
          { containerPort: 80, protocol: 'TCP', name: 'http' },
          { containerPort: 443, protocol: 'TCP', name: 'https' },
        ],
        env: [{ name: 'A', value: '1' }],
        args: ['--verbose', '--port=80'],
      },
      { name: 'sidecar', image: 'busybox' },
    ],
    tolerations: [
      { key: 'dedicated', operator: 'Equal', value: 'edge', effect: 'NoSchedule' },
      { key: 'gpu', operator: 'Exists' },
    ],
    volumes: [{ name: 'cache', emptyDir: { medium: 'Memory' } }],
  },
};

type Pod = typeof pod;
type Container = Pod['spec']['containers'][number];

const names = (list: readonly { name: string }[]): string[] => list.map((c) => c.name);

describe('strategicMergePatch: what kubectl patch users do to a Pod', () => {
  const cases: [name: string, patch: JsonValue, check: (result: Pod) => void][] = [
    [
      "changes one container's image by name, keeping everything else",
      { spec: { containers: [{ name: 'sidecar', image: 'busybox:1.36' }] } },
      (r) => {
        assert.deepEqual(r.spec.containers, [pod.spec.containers[0], { name: 'sidecar', image: 'busybox:1.36' }]);
      },
    ],
    [
      "changes the first container's image without reordering",
      { spec: { containers: [{ name: 'app', image: 'nginx:1.27' }] } },
      (r) => {
        assert.deepEqual(names(r.spec.containers), ['app', 'sidecar']);
        assert.equal(r.spec.containers[0]!.image, 'nginx:1.27');
        assert.deepEqual(r.spec.containers[0]!.ports, pod.spec.containers[0]!.ports);
      },
    ],
    [
      'adds an env var to a container, ahead of the existing ones as apimachinery orders it',
      { spec: { containers: [{ name: 'app', env: [{ name: 'B', value: '2' }] }] } },
      (r) => assert.deepEqual(r.spec.containers[0]!.env, [{ name: 'B', value: '2' }, { name: 'A', value: '1' }]),
    ],
    [
      'changes an env var by name',
      { spec: { containers: [{ name: 'app', env: [{ name: 'A', value: '2' }] }] } },
      (r) => assert.deepEqual(r.spec.containers[0]!.env, [{ name: 'A', value: '2' }]),
    ],
    [
      'adds a container, which lands first',
      { spec: { containers: [{ name: 'debug', image: 'alpine' }] } },
      (r) => assert.deepEqual(names(r.spec.containers), ['debug', 'app', 'sidecar']),
    ],
    [
      'deletes a container with $patch: delete',
      { spec: { containers: [{ name: 'sidecar', $patch: 'delete' }] } },
      (r) => assert.deepEqual(names(r.spec.containers), ['app']),
    ],
    [
      'deletes a container that is not there without complaint',
      { spec: { containers: [{ name: 'ghost', $patch: 'delete' }] } },
      (r) => assert.deepEqual(names(r.spec.containers), ['app', 'sidecar']),
    ],
    [
      'replaces the container list with $patch: replace',
      { spec: { containers: [{ name: 'only', image: 'x' }, { $patch: 'replace' }] } },
      (r) => assert.deepEqual(r.spec.containers, [{ name: 'only', image: 'x' }]),
    ],
    [
      'replaces a list with $patch: replace even when the directive comes first',
      { spec: { containers: [{ $patch: 'replace' }, { name: 'only', image: 'x' }] } },
      (r) => assert.deepEqual(r.spec.containers, [{ name: 'only', image: 'x' }]),
    ],
    [
      'changes a port by its numeric merge key',
      { spec: { containers: [{ name: 'app', ports: [{ containerPort: 443, name: 'tls' }] }] } },
      (r) =>
        assert.deepEqual(r.spec.containers[0]!.ports, [
          { containerPort: 80, protocol: 'TCP', name: 'http' },
          { containerPort: 443, protocol: 'TCP', name: 'tls' },
        ]),
    ],
    [
      'adds a finalizer, ahead of the existing ones as apimachinery orders it',
      { metadata: { finalizers: ['c.example.com/z'] } },
      (r) => assert.deepEqual(r.metadata.finalizers, ['c.example.com/z', 'a.example.com/x', 'b.example.com/y']),
    ],
    ['adds a finalizer that is already there once', { metadata: { finalizers: ['b.example.com/y'] } }, (r) => assert.deepEqual(r.metadata.finalizers, ['a.example.com/x', 'b.example.com/y'])],
    [
      'removes a finalizer with $deleteFromPrimitiveList',
      { metadata: { '$deleteFromPrimitiveList/finalizers': ['a.example.com/x'] } },
      (r) => assert.deepEqual(r.metadata.finalizers, ['b.example.com/y']),
    ],
    ['keeps the finalizers for an empty merge list', { metadata: { finalizers: [] } }, (r) => assert.deepEqual(r.metadata.finalizers, pod.metadata.finalizers)],
    ['clears the finalizers with null', { metadata: { finalizers: null } }, (r) => assert.equal('finalizers' in r.metadata, false)],
    ['deletes a label with null', { metadata: { labels: { tier: null } } }, (r) => assert.deepEqual(r.metadata.labels, { app: 'web' })],
    ['adds and changes labels', { metadata: { labels: { app: 'api', new: 'x' } } }, (r) => assert.deepEqual(r.metadata.labels, { app: 'api', tier: 'fe', new: 'x' })],
    [
      'replaces the atomic tolerations list whole',
      { spec: { tolerations: [{ key: 'gpu', operator: 'Exists' }] } },
      (r) => assert.deepEqual(r.spec.tolerations, [{ key: 'gpu', operator: 'Exists' }]),
    ],
    ['replaces a list of strings without a strategy whole', { spec: { containers: [{ name: 'app', args: ['--quiet'] }] } }, (r) => assert.deepEqual(r.spec.containers[0]!.args, ['--quiet'])],
    ['replaces a map with $patch: replace', { spec: { nodeSelector: { $patch: 'replace', zone: 'b' } } }, (r) => assert.deepEqual(r.spec.nodeSelector, { zone: 'b' })],
    ['empties a map with $patch: delete', { spec: { nodeSelector: { $patch: 'delete' } } }, (r) => assert.deepEqual(r.spec.nodeSelector, {})],
    ['accepts $patch: merge on a map as the default', { spec: { nodeSelector: { $patch: 'merge', zone: 'b' } } }, (r) => assert.deepEqual(r.spec.nodeSelector, { disk: 'ssd', zone: 'b' })],
    ['sets a scalar', { spec: { nodeName: 'edge-7' } }, (r) => assert.equal((r.spec as Pod['spec'] & { nodeName?: string }).nodeName, 'edge-7')],
    [
      'merges unknown fields as JSON merge patch does',
      { spec: { extra: { a: 1, b: { c: null, d: [1] } } }, status: { phase: 'Running' } },
      (r) => {
        const extended = r as Pod & { spec: { extra: unknown }; status: unknown };
        assert.deepEqual(extended.spec.extra, { a: 1, b: { d: [1] } });
        assert.deepEqual(extended.status, { phase: 'Running' });
      },
    ],
    [
      'applies directives and drops nulls inside content new to the object',
      { spec: { affinity: { nodeAffinity: null, podAffinity: { $patch: 'replace', x: 1 } } } },
      (r) => assert.deepEqual((r.spec as Pod['spec'] & { affinity?: unknown }).affinity, { podAffinity: { x: 1 } }),
    ],
    [
      'clears a volume source with $retainKeys',
      { spec: { volumes: [{ name: 'cache', configMap: { name: 'cfg' }, $retainKeys: ['configMap', 'name'] }] } },
      (r) => assert.deepEqual(r.spec.volumes, [{ name: 'cache', configMap: { name: 'cfg' } }]),
    ],
  ];
  for (const [name, patch, check] of cases) {
    it(name, () => {
      check(smp('Pod', pod, patch) as Pod);
    });
  }

  it('changes neither the original nor the patch, and shares nothing with them', () => {
    const original = structuredClone(pod);
    const patch = { spec: { containers: [{ name: 'app', env: [{ name: 'B', value: '2' }] }] }, metadata: { labels: { tier: null } } };
    const patchCopy = structuredClone(patch);
    const result = smp('Pod', original, patch) as Pod;
    assert.deepEqual(original, pod);
    assert.deepEqual(patch, patchCopy);
    result.spec.containers[1]!.image = 'changed';
    result.spec.containers[0]!.env![0]!.value = 'changed';
    assert.deepEqual(original, pod);
    assert.deepEqual(patch, patchCopy);
  });

  it('keeps a __proto__ key as data', () => {
    const result = smp('Pod', pod, JSON.parse('{"metadata":{"labels":{"__proto__":"x"}}}') as JsonValue) as Pod;
    assert.equal(Object.hasOwn(result.metadata.labels, '__proto__'), true);
    assert.equal(Object.getPrototypeOf(result.metadata.labels), Object.prototype);
  });
});

describe('strategicMergePatch: list order', () => {
  const withContainers = (...list: string[]) => ({ spec: { containers: list.map((name) => ({ name })) } });
  const order = (patch: JsonValue, ...original: string[]): string[] => names((smp('Pod', withContainers(...original), patch) as { spec: { containers: Container[] } }).spec.containers);

  const cases: [name: string, original: string[], patch: JsonValue, expected: string[]][] = [
    ['patched elements stay in place', ['a', 'b', 'c'], withContainers('b'), ['a', 'b', 'c']],
    ['new elements go before the original elements after the last patched one', ['a', 'b', 'c'], withContainers('b', 'new'), ['a', 'b', 'new', 'c']],
    ['the patch order wins over the original order for patched elements', ['a', 'b', 'c'], withContainers('c', 'a'), ['b', 'c', 'a']],
    ['an original element goes first when the original had it before the next patched one', ['b', 'a'], withContainers('a'), ['b', 'a']],
    ['a new list is taken as given', [], withContainers('x', 'y'), ['x', 'y']],
    [
      '$setElementOrder reorders and places new elements',
      ['a', 'b'],
      { spec: { '$setElementOrder/containers': [{ name: 'b' }, { name: 'c' }, { name: 'a' }], containers: [{ name: 'c' }] } },
      ['b', 'c', 'a'],
    ],
    ['$setElementOrder alone reorders', ['a', 'b', 'c'], { spec: { '$setElementOrder/containers': [{ name: 'c' }, { name: 'b' }, { name: 'a' }] } }, ['c', 'b', 'a']],
    [
      '$setElementOrder interleaves unnamed original elements by their original position',
      ['a', 'b', 'c'],
      { spec: { '$setElementOrder/containers': [{ name: 'c' }, { name: 'a' }] } },
      ['b', 'c', 'a'],
    ],
    [
      '$setElementOrder with a deletion',
      ['a', 'b', 'c'],
      { spec: { '$setElementOrder/containers': [{ name: 'c' }, { name: 'a' }], containers: [{ name: 'b', $patch: 'delete' }] } },
      ['c', 'a'],
    ],
  ];
  for (const [name, original, patch, expected] of cases) {
    it(name, () => {
      assert.deepEqual(order(patch, ...original), expected);
    });
  }

  it('$setElementOrder orders a primitive list', () => {
    const result = smp('Pod', { metadata: { finalizers: ['a', 'b'] } }, { metadata: { '$setElementOrder/finalizers': ['b', 'c', 'a'], finalizers: ['c'] } }) as Pod;
    assert.deepEqual(result.metadata.finalizers, ['b', 'c', 'a']);
  });
});

describe('strategicMergePatch: Deployment', () => {
  const deployment = {
    metadata: { name: 'web' },
    spec: {
      replicas: 2,
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } },
      template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'app', image: 'a' }] } },
    },
  };
  type Deployment = typeof deployment;

  it('switches to Recreate, clearing rollingUpdate with $retainKeys as kubectl apply sends it', () => {
    const r = smp('Deployment', deployment, { spec: { strategy: { $retainKeys: ['type'], type: 'Recreate' } } }) as Deployment;
    assert.deepEqual(r.spec.strategy, { type: 'Recreate' });
  });

  it('without $retainKeys a strategy change keeps the other fields', () => {
    const r = smp('Deployment', deployment, { spec: { strategy: { type: 'Recreate' } } }) as Deployment;
    assert.deepEqual(r.spec.strategy, { type: 'Recreate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } });
  });

  it('reaches the pod template through nested definitions', () => {
    const r = smp('Deployment', deployment, { spec: { replicas: 3, template: { spec: { containers: [{ name: 'app', image: 'b' }] } } } }) as Deployment;
    assert.equal(r.spec.replicas, 3);
    assert.deepEqual(r.spec.template.spec.containers, [{ name: 'app', image: 'b' }]);
  });

  it('deletes the whole object for $patch: delete at the root', () => {
    assert.deepEqual(smp('Deployment', deployment, { $patch: 'delete' }), {});
  });
});

describe('strategicMergePatch: malformed patches', () => {
  const badRequests: [name: string, patch: JsonValue, message: string][] = [
    ['a patch that is not an object', [], 'invalid JSON document: a strategic merge patch must be a JSON object, got array'],
    ['an unknown $patch on a map', { spec: { nodeSelector: { $patch: 'remove' } } }, 'unknown patch type: "remove" in map: {"$patch":"remove"}'],
    ['an unknown $patch in a list', { spec: { containers: [{ name: 'app', $patch: 'drop' }] } }, 'unknown patch type: "drop" in map: {"name":"app","$patch":"drop"}'],
    ['a list element without its merge key', { spec: { containers: [{ image: 'x' }] } }, 'map: {"image":"x"} does not contain declared merge key: name'],
    ['a delete directive without its merge key', { spec: { containers: [{ $patch: 'delete' }] } }, 'map: {"$patch":"delete"} does not contain declared merge key: name'],
    ['$retainKeys that is not a list', { spec: { $retainKeys: 'containers' } }, 'invalid patch format of retainKeys: $retainKeys of "spec" must be a list, got string'],
    [
      'a patched field missing from $retainKeys',
      { spec: { $retainKeys: ['nodeName'], nodeSelector: { a: 'b' } } },
      'invalid patch format of retainKeys: the patch sets "nodeSelector" in "spec", which $retainKeys does not list',
    ],
    [
      '$deleteFromPrimitiveList without a field',
      { metadata: { $deleteFromPrimitiveList: ['x'] } },
      'invalid patch format of primitive list: "$deleteFromPrimitiveList" in "metadata" must be "$deleteFromPrimitiveList/<field>" with a list value',
    ],
    [
      '$deleteFromPrimitiveList that is not a list',
      { metadata: { '$deleteFromPrimitiveList/finalizers': 'x' } },
      'invalid patch format of primitive list: "$deleteFromPrimitiveList/finalizers" in "metadata" must be "$deleteFromPrimitiveList/<field>" with a list value',
    ],
    [
      '$setElementOrder that is not a list',
      { spec: { '$setElementOrder/containers': {} } },
      'invalid patch format of setElementOrder list: "$setElementOrder/containers" in "spec" must be "$setElementOrder/<field>" with a list value',
    ],
    [
      '$setElementOrder that leaves out a patched element',
      { spec: { '$setElementOrder/containers': [{ name: 'app' }], containers: [{ name: 'new' }] } },
      'invalid patch format of setElementOrder list: the order of "spec.containers" in the patch does not match "$setElementOrder/containers": [{"name":"app"}]',
    ],
    [
      '$setElementOrder entries without the merge key',
      { spec: { '$setElementOrder/containers': ['app'] } },
      'map: {} does not contain declared merge key: name',
    ],
    ['mixed element types in a merged list', { metadata: { finalizers: [1] } }, 'list element types are not identical in "metadata.finalizers": string and number'],
    ['objects in a merged list of strings', { metadata: { finalizers: [{ a: 1 }] } }, 'list element types are not identical in "metadata.finalizers": string and object'],
  ];
  for (const [name, patch, message] of badRequests) {
    it(`rejects ${name} as 400 BadRequest`, () => {
      const err = thrown(() => smp('Pod', pod, patch));
      assert.equal(err.httpStatus, 400);
      assert.equal(err.reason, 'BadRequest');
      assert.equal(err.message, message);
    });
  }

  it('rejects a list of lists in a merged list as 422 Invalid, as kube-apiserver does', () => {
    const err = thrown(() => smp('Pod', { metadata: {} }, { metadata: { finalizers: [['a']] } }));
    assert.equal(err.httpStatus, 422);
    assert.equal(err.reason, 'Invalid');
    assert.equal(err.message, 'lists of lists are not supported: "metadata.finalizers"');
  });
});
