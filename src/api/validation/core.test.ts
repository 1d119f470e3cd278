import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { applyDefaults } from '../defaults/index.ts';
import { formatFieldError } from '../field-error.ts';
import type { GroupVersionKind, KubeObject } from '../object.ts';
import { validateCreate, validateStatusUpdate, validateUpdate } from './index.ts';

const core = (kind: string): GroupVersionKind => ({ group: '', version: 'v1', kind });
const LEASE: GroupVersionKind = { group: 'coordination.k8s.io', version: 'v1', kind: 'Lease' };
const messages = (errs: readonly Parameters<typeof formatFieldError>[0][]): string[] => errs.map(formatFieldError);
const b64 = (s: string): string => btoa(s);

/** Defaults then validates a new object, as the API server does. */
function create(gvk: GroupVersionKind, o: Record<string, unknown>): string[] {
  applyDefaults(gvk, o as KubeObject);
  return messages(validateCreate(gvk, o as KubeObject));
}

describe('namespace', () => {
  const cases: [name: string, o: Record<string, unknown>, expected: string[]][] = [
    ['a valid namespace', { metadata: { name: 'edge-apps' } }, []],
    [
      'a dotted name is not a DNS label',
      { metadata: { name: 'edge.apps' } },
      [
        "metadata.name: Invalid value: \"edge.apps\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
      ],
    ],
    ['a namespace inside a namespace', { metadata: { name: 'a', namespace: 'b' } }, ['metadata.namespace: Forbidden: not allowed on this type']],
    [
      'an unqualified finalizer',
      { metadata: { name: 'a' }, spec: { finalizers: ['kubernetes', 'cleanup'] } },
      ['spec.finalizers: Invalid value: "cleanup": name is neither a standard finalizer name nor is it fully qualified'],
    ],
  ];
  for (const [name, o, expected] of cases) {
    it(name, () => assert.deepEqual(create(core('Namespace'), o), expected));
  }

  it('may only be Active until deleted', () => {
    const old: KubeObject = { metadata: { name: 'a' }, status: { phase: 'Active' } };
    const terminating: KubeObject = { metadata: { name: 'a' }, status: { phase: 'Terminating' } };
    assert.deepEqual(messages(validateStatusUpdate(core('Namespace'), terminating, old)), [
      "status.Phase: Invalid value: \"Terminating\": may only be 'Active' if `deletionTimestamp` is empty",
    ]);
  });
});

describe('node', () => {
  it('accepts a node as an edge agent registers it', () => {
    assert.deepEqual(
      create(core('Node'), {
        metadata: { name: 'edge-1.factory.example', labels: { 'node-role.kubernetes.io/edge': '' } },
        spec: { podCIDRs: ['10.42.1.0/24'], taints: [{ key: 'node-role.kubernetes.io/edge', effect: 'NoSchedule' }] },
        status: { capacity: { cpu: '4', memory: '8Gi', pods: '110' } },
      }),
      [],
    );
  });

  it('reports bad taints where Kubernetes does', () => {
    assert.deepEqual(
      create(core('Node'), {
        metadata: { name: 'n' },
        spec: { taints: [{ key: 'a', effect: 'Never' }, { key: 'b', effect: 'NoSchedule' }, { key: 'b', value: 'x', effect: 'NoSchedule' }, { key: 'c' }] },
      }),
      [
        'metadata.taints[0].effect: Unsupported value: "Never": supported values: "NoSchedule", "PreferNoSchedule", "NoExecute"',
        'metadata.taints[2]: Duplicate value: {"key":"b","value":"x","effect":"NoSchedule"}: taints must be unique by key and effect pair',
        'metadata.taints[3].effect: Required value',
      ],
    );
  });

  it('refuses a negative capacity and a bad pod CIDR', () => {
    assert.deepEqual(create(core('Node'), { metadata: { name: 'n' }, spec: { podCIDRs: ['10.42.1.0/33'] }, status: { capacity: { cpu: '-1' } } }), [
      'status.capacity.cpu: Invalid value: "-1": must be greater than or equal to 0',
      'status.allocatable.cpu: Invalid value: "-1": must be greater than or equal to 0',
      'spec.podCIDRs[0]: Invalid value: "10.42.1.0/33": must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)',
    ]);
  });

  it('keeps pod CIDRs and provider ID once set', () => {
    const old: KubeObject = { metadata: { name: 'n' }, spec: { podCIDRs: ['10.42.1.0/24'], providerID: 'kedge://n' } };
    const updated: KubeObject = { metadata: { name: 'n' }, spec: { podCIDRs: ['10.42.2.0/24'], providerID: 'kedge://m' } };
    assert.deepEqual(messages(validateUpdate(core('Node'), updated, old)), [
      'spec.podCIDRs: Forbidden: node updates may not change podCIDR except from "" to valid',
      'spec.providerID: Forbidden: node updates may not change providerID except from "" to valid',
    ]);
  });

  it('refuses duplicate addresses in status', () => {
    const old: KubeObject = { metadata: { name: 'n' } };
    const updated: KubeObject = { metadata: { name: 'n' }, status: { addresses: [{ type: 'InternalIP', address: '10.0.0.1' }, { type: 'InternalIP', address: '10.0.0.1' }] } };
    assert.deepEqual(messages(validateStatusUpdate(core('Node'), updated, old)), ['status.addresses[1]: Duplicate value: {"type":"InternalIP","address":"10.0.0.1"}']);
  });
});

describe('config map', () => {
  const cases: [name: string, o: Record<string, unknown>, expected: string[]][] = [
    ['valid keys', { metadata: { name: 'c', namespace: 'n' }, data: { 'app.conf': 'x', KEY_1: 'y' }, binaryData: { 'logo.png': b64('png') } }, []],
    [
      'a key with a slash',
      { metadata: { name: 'c', namespace: 'n' }, data: { 'conf/app': 'x' } },
      [
        "data[conf/app]: Invalid value: \"conf/app\": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')",
      ],
    ],
    ['a key in both maps', { metadata: { name: 'c', namespace: 'n' }, data: { a: 'x' }, binaryData: { a: b64('y') } }, ['data[a]: Invalid value: "a": duplicate of key present in binaryData']],
    ['more than 1 MiB', { metadata: { name: 'c', namespace: 'n' }, data: { a: 'x'.repeat(1024 * 1024), b: 'y' } }, [': Too long: may not be more than 1048576 bytes']],
  ];
  for (const [name, o, expected] of cases) {
    it(name, () => assert.deepEqual(create(core('ConfigMap'), o), expected));
  }

  it('an immutable config map stays as it is', () => {
    const old: KubeObject = { metadata: { name: 'c', namespace: 'n' }, data: { a: '1' }, immutable: true };
    const updated: KubeObject = { metadata: { name: 'c', namespace: 'n' }, data: { a: '2' } };
    assert.deepEqual(messages(validateUpdate(core('ConfigMap'), updated, old)), [
      'immutable: Forbidden: field is immutable when `immutable` is set',
      'data: Forbidden: field is immutable when `immutable` is set',
    ]);
  });
});

describe('secret', () => {
  const cases: [name: string, o: Record<string, unknown>, expected: string[]][] = [
    ['an opaque secret from stringData', { metadata: { name: 's', namespace: 'n' }, stringData: { password: 'hunter2' } }, []],
    [
      'a TLS secret without its key',
      { metadata: { name: 's', namespace: 'n' }, type: 'kubernetes.io/tls', data: { 'tls.crt': b64('cert') } },
      ['data[tls.key]: Required value'],
    ],
    [
      'a docker config that is not JSON',
      { metadata: { name: 's', namespace: 'n' }, type: 'kubernetes.io/dockerconfigjson', data: { '.dockerconfigjson': b64('[]') } },
      ['data[.dockerconfigjson]: Invalid value: "<secret contents redacted>": json: cannot unmarshal array into Go value of type map[string]interface {}'],
    ],
    ['a docker config secret without its key', { metadata: { name: 's', namespace: 'n' }, type: 'kubernetes.io/dockerconfigjson' }, ['data[.dockerconfigjson]: Required value']],
    [
      'basic auth without username or password',
      { metadata: { name: 's', namespace: 'n' }, type: 'kubernetes.io/basic-auth', data: {} },
      ['data[username]: Required value', 'data[password]: Required value'],
    ],
    [
      'a service account token secret without its account',
      { metadata: { name: 's', namespace: 'n' }, type: 'kubernetes.io/service-account-token' },
      ['metadata.annotations[kubernetes.io/service-account.name]: Required value'],
    ],
    ['data that is not base64', { metadata: { name: 's', namespace: 'n' }, data: { a: 'no*pe' } }, ['data[a]: Invalid value: "<secret contents redacted>": illegal base64 data at input byte 2']],
  ];
  for (const [name, o, expected] of cases) {
    it(name, () => assert.deepEqual(create(core('Secret'), o), expected));
  }

  it('keeps its type', () => {
    const old: KubeObject = { metadata: { name: 's', namespace: 'n' }, type: 'Opaque' };
    const updated: KubeObject = { metadata: { name: 's', namespace: 'n' }, type: 'kubernetes.io/basic-auth', data: { username: b64('u') } };
    assert.deepEqual(messages(validateUpdate(core('Secret'), updated, old)), ['type: Invalid value: "kubernetes.io/basic-auth": field is immutable']);
  });
});

describe('event', () => {
  it('belongs to the namespace of its object', () => {
    assert.deepEqual(create(core('Event'), { metadata: { name: 'e', namespace: 'default' }, involvedObject: { kind: 'Pod', name: 'p', namespace: 'default' }, reason: 'Started' }), []);
    assert.deepEqual(create(core('Event'), { metadata: { name: 'e', namespace: 'apps' }, involvedObject: { kind: 'Pod', name: 'p', namespace: 'default' } }), [
      'involvedObject.namespace: Invalid value: "default": does not match event.namespace',
    ]);
  });

  it('of the new API names its reporter and action', () => {
    // Kubernetes also checks the empty reporter as a qualified name, so it is reported three times.
    assert.deepEqual(create(core('Event'), { metadata: { name: 'e', namespace: 'default' }, involvedObject: { kind: 'Pod', name: 'p', namespace: 'default' }, eventTime: '2024-01-01T00:00:00.000000Z' }), [
      'reportingComponent: Required value',
      'reportingComponent: Invalid value: "": name part must be non-empty',
      "reportingComponent: Invalid value: \"\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
      'reportingInstance: Required value',
      'action: Required value',
      'reason: Required value',
    ]);
  });
});

describe('lease and service account', () => {
  it('a lease lasts a positive time', () => {
    assert.deepEqual(create(LEASE, { metadata: { name: 'edge-1', namespace: 'kube-node-lease' }, spec: { holderIdentity: 'edge-1', leaseDurationSeconds: 40 } }), []);
    assert.deepEqual(create(LEASE, { metadata: { name: 'edge-1', namespace: 'kube-node-lease' }, spec: { leaseDurationSeconds: 0, leaseTransitions: -1 } }), [
      'spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0',
      'spec.leaseTransitions: Invalid value: -1: must be greater than or equal to 0',
    ]);
  });

  it('a service account needs only a good name', () => {
    assert.deepEqual(create(core('ServiceAccount'), { metadata: { name: 'default', namespace: 'n' } }), []);
    assert.deepEqual(create(core('ServiceAccount'), { metadata: { name: 'default' } }), ['metadata.namespace: Required value']);
  });
});
