import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { apiErrors } from '../errors.ts';
import { applyDefaults } from '../defaults/index.ts';
import type { KubeObject } from '../object.ts';
import { hasValidation, validateCreate, validateObjectMeta, validateStatusUpdate, validateUpdate } from './index.ts';

const POD = { group: '', version: 'v1', kind: 'Pod' };

describe('validation entry points', () => {
  it('every built-in kind kedge serves has rules', () => {
    const kinds: [string, string][] = [
      ['', 'Namespace'], ['', 'Node'], ['', 'Pod'], ['', 'Binding'], ['', 'ConfigMap'], ['', 'Secret'], ['', 'Service'], ['', 'Endpoints'],
      ['', 'Event'], ['', 'ServiceAccount'], ['coordination.k8s.io', 'Lease'], ['apps', 'Deployment'], ['apps', 'ReplicaSet'],
      ['apps', 'DaemonSet'], ['autoscaling', 'Scale'], ['apiextensions.k8s.io', 'CustomResourceDefinition'],
    ];
    for (const [group, kind] of kinds) assert.ok(hasValidation({ group, version: 'v1', kind }), `${group}/${kind}`);
  });

  it('kinds without rules are valid, and their status updates still keep metadata', () => {
    const widget = { group: 'example.com', version: 'v1', kind: 'Widget' };
    const o: KubeObject = { metadata: { name: 'w' } };
    assert.deepEqual(validateCreate(widget, o), []);
    assert.deepEqual(validateStatusUpdate(widget, { metadata: { name: 'v' } }, o).map((e) => e.field), ['metadata.name']);
  });

  it('reports a problem found twice once, as Kubernetes aggregates them', () => {
    const old: KubeObject = { metadata: { name: 'web', namespace: 'default' }, spec: { containers: [{ name: 'a', image: 'x' }] } };
    applyDefaults(POD, old);
    const updated = structuredClone(old);
    updated.metadata.labels = { 'bad key': 'x' };
    const fields = validateUpdate(POD, updated, old).map((e) => e.field);
    assert.deepEqual(fields, ['metadata.labels']);
  });

  it('validates object meta of custom resources by the given name rule', () => {
    assert.deepEqual(validateObjectMeta({ name: 'a/b' }, { namespaced: false, nameRule: 'pathSegment' }).map((e) => e.detail), ["may not contain '/'"]);
  });
});

describe('the 422 a user sees', () => {
  const cases: [name: string, pod: KubeObject, message: string][] = [
    [
      'one problem',
      { metadata: { name: 'web', namespace: 'default' }, spec: { containers: [{ name: 'app' }] } },
      'Pod "web" is invalid: spec.containers[0].image: Required value',
    ],
    [
      'several problems, in Kubernetes\' order',
      { metadata: { name: 'web', namespace: 'default' }, spec: { containers: [{ name: 'App', image: 'nginx', ports: [{ containerPort: 0 }] }], restartPolicy: 'Sometimes' } },
      'Pod "web" is invalid: [spec.containers[0].name: Invalid value: "App": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or \'-\', and must start and end with an alphanumeric character (e.g. \'my-name\',  or \'123-abc\', regex used for validation is \'[a-z0-9]([-a-z0-9]*[a-z0-9])?\'), spec.containers[0].ports[0].containerPort: Required value, spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"]',
    ],
  ];
  for (const [name, pod, message] of cases) {
    it(name, () => {
      applyDefaults(POD, pod);
      const err = apiErrors.invalid('Pod', '', 'web', validateCreate(POD, pod));
      assert.equal(err.httpStatus, 422);
      assert.equal(err.message, message);
    });
  }
});
