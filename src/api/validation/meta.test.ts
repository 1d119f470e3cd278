import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { formatFieldError } from '../field-error.ts';
import { validateObjectMeta, validateObjectMetaUpdate, type ObjectMetaOptions } from './meta.ts';

const NAMESPACED: ObjectMetaOptions = { namespaced: true, nameRule: 'dns1123Subdomain' };
const CLUSTER_LABEL: ObjectMetaOptions = { namespaced: false, nameRule: 'dns1123Label' };
const SUBDOMAIN_RULE =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const KEY_RULE =
  "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";

describe('validateObjectMeta', () => {
  const cases: [name: string, meta: unknown, options: ObjectMetaOptions, expected: string[]][] = [
    ['a plain name in a namespace', { name: 'web', namespace: 'default' }, NAMESPACED, []],
    ['no name and no generateName', { namespace: 'default' }, NAMESPACED, ['metadata.name: Required value: name or generateName is required']],
    ['generateName alone, before the server names the object', { generateName: 'web-', namespace: 'default' }, NAMESPACED, []],
    ['generateName with a bad prefix', { generateName: 'Web-', namespace: 'default' }, NAMESPACED, [`metadata.generateName: Invalid value: "Web-": ${SUBDOMAIN_RULE}`]],
    ['capital letters in a name', { name: 'Web', namespace: 'default' }, NAMESPACED, [`metadata.name: Invalid value: "Web": ${SUBDOMAIN_RULE}`]],
    ['namespaced kinds need a namespace', { name: 'web' }, NAMESPACED, ['metadata.namespace: Required value']],
    ['cluster-scoped kinds refuse one', { name: 'web', namespace: 'default' }, CLUSTER_LABEL, ['metadata.namespace: Forbidden: not allowed on this type']],
    ['dots are not allowed in DNS label names', { name: 'a.b' }, CLUSTER_LABEL, [
      "metadata.name: Invalid value: \"a.b\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
    ]],
    ['a label key with two slashes', { name: 'a', namespace: 'n', labels: { 'a/b/c': 'x' } }, NAMESPACED, [
      "metadata.labels: Invalid value: \"a/b/c\": a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
    ]],
    ['a label value with a space', { name: 'a', namespace: 'n', labels: { app: 'my app' } }, NAMESPACED, [
      "metadata.labels: Invalid value: \"my app\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
    ]],
    ['annotation keys are case-insensitive qualified names', { name: 'a', namespace: 'n', annotations: { 'Example.COM/Key': 'v', '-bad': 'v' } }, NAMESPACED, [
      `metadata.annotations: Invalid value: "-bad": ${KEY_RULE}`,
    ]],
    ['annotations over 256 KiB in total', { name: 'a', namespace: 'n', annotations: { big: 'x'.repeat(256 * 1024) } }, NAMESPACED, [
      'metadata.annotations: Too long: may not be more than 262144 bytes',
    ]],
    ['finalizers are qualified names', { name: 'a', namespace: 'n', finalizers: ['example.com/cleanup', 'bad name'] }, NAMESPACED, [
      `metadata.finalizers: Invalid value: "bad name": ${KEY_RULE}`,
    ]],
    ['orphan and foreground deletion together', { name: 'a', namespace: 'n', finalizers: ['orphan', 'foregroundDeletion'] }, NAMESPACED, [
      'metadata.finalizers: Invalid value: ["orphan","foregroundDeletion"]: finalizer orphan and foregroundDeletion cannot be both set',
    ]],
    ['owner references need a version, kind, name and uid', { name: 'a', namespace: 'n', ownerReferences: [{ apiVersion: 'apps/', kind: '', name: '', uid: '' }] }, NAMESPACED, [
      'metadata.ownerReferences.apiVersion: Invalid value: "apps/": version must not be empty',
      'metadata.ownerReferences.kind: Invalid value: "": must not be empty',
      'metadata.ownerReferences.name: Invalid value: "": must not be empty',
      'metadata.ownerReferences.uid: Invalid value: "": must not be empty',
    ]],
    ['only one controller owner', {
      name: 'a',
      namespace: 'n',
      ownerReferences: [
        { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'r1', uid: '1', controller: true },
        { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'r2', uid: '2', controller: true },
      ],
    }, NAMESPACED, [
      'metadata.ownerReferences: Invalid value: [{"apiVersion":"apps/v1","kind":"ReplicaSet","name":"r1","uid":"1","controller":true},{"apiVersion":"apps/v1","kind":"ReplicaSet","name":"r2","uid":"2","controller":true}]: Only one reference can have Controller set to true. Found "true" in references for ReplicaSet/r1 and ReplicaSet/r2',
    ]],
    ['negative generation', { name: 'a', namespace: 'n', generation: -1 }, NAMESPACED, ['metadata.generation: Invalid value: -1: must be greater than or equal to 0']],
    ['custom resources may use any URL-safe name', { name: 'My_Thing', namespace: 'n' }, { namespaced: true, nameRule: 'pathSegment' }, []],
  ];
  for (const [name, meta, options, expected] of cases) {
    it(name, () => {
      assert.deepEqual(validateObjectMeta(meta, options).map(formatFieldError), expected);
    });
  }
});

describe('validateObjectMetaUpdate', () => {
  const old = { name: 'a', namespace: 'n', uid: 'u1', generation: 3, creationTimestamp: '2024-01-01T00:00:00Z' };
  const cases: [name: string, meta: Record<string, unknown>, old: Record<string, unknown>, expected: string[]][] = [
    ['labels may change', { ...old, labels: { app: 'x' } }, old, []],
    ['the name is immutable', { ...old, name: 'b' }, old, ['metadata.name: Invalid value: "b": field is immutable']],
    ['the namespace is immutable', { ...old, namespace: 'm' }, old, ['metadata.namespace: Invalid value: "m": field is immutable']],
    ['the uid is immutable', { ...old, uid: 'u2' }, old, ['metadata.uid: Invalid value: "u2": field is immutable']],
    ['an absent uid means unchanged', { name: 'a', namespace: 'n' }, old, []],
    ['generation may not go back', { ...old, generation: 2 }, old, ['metadata.generation: Invalid value: 2: must not be decremented']],
    ['no new finalizers while deleting', { ...old, finalizers: ['a.io/x', 'b.io/y'] }, { ...old, deletionTimestamp: '2024-01-02T00:00:00Z', finalizers: ['a.io/x'] }, [
      'metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers ["b.io/y"]',
    ]],
    ['new labels are validated', { ...old, labels: { 'bad key!': 'v' } }, old, [`metadata.labels: Invalid value: "bad key!": ${KEY_RULE}`]],
  ];
  for (const [name, meta, oldMeta, expected] of cases) {
    it(name, () => {
      assert.deepEqual(validateObjectMetaUpdate(meta, oldMeta).map(formatFieldError), expected);
    });
  }
});
