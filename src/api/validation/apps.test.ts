import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { applyDefaults } from '../defaults/index.ts';
import { formatFieldError } from '../field-error.ts';
import type { GroupVersionKind, KubeObject } from '../object.ts';
import { validateCreate, validateStatusUpdate, validateUpdate } from './index.ts';

const DEPLOYMENT: GroupVersionKind = { group: 'apps', version: 'v1', kind: 'Deployment' };
const REPLICA_SET: GroupVersionKind = { group: 'apps', version: 'v1', kind: 'ReplicaSet' };
const DAEMON_SET: GroupVersionKind = { group: 'apps', version: 'v1', kind: 'DaemonSet' };
const SCALE: GroupVersionKind = { group: 'autoscaling', version: 'v1', kind: 'Scale' };

// Workload specs are edited freely by the cases, so they are plain JSON here.
type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function workload(gvk: GroupVersionKind, mutate: (o: Json) => void = () => {}): KubeObject {
  const o: Json = {
    metadata: { name: 'web', namespace: 'default', uid: 'u', creationTimestamp: '2024-01-01T00:00:00Z' },
    spec: {
      selector: { matchLabels: { app: 'web' } },
      template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'app', image: 'nginx' }] } },
    },
  };
  applyDefaults(gvk, o as KubeObject);
  mutate(o);
  return o as KubeObject;
}

const messages = (errs: readonly Parameters<typeof formatFieldError>[0][]): string[] => errs.map(formatFieldError);

describe('deployment', () => {
  const cases: [name: string, mutate: (o: Json) => void, expected: string[]][] = [
    ['a valid deployment', () => {}, []],
    ['no selector', (o) => delete o['spec'].selector, ['spec.selector: Required value']],
    ['an empty selector', (o) => (o['spec'].selector = {}), ['spec.selector: Invalid value: {}: empty selector is invalid for deployment']],
    [
      'a selector that misses the template',
      (o) => (o['spec'].template.metadata.labels = { app: 'api' }),
      ['spec.template.metadata.labels: Invalid value: {"app":"api"}: `selector` does not match template `labels`'],
    ],
    [
      'a bad selector operator',
      (o) => (o['spec'].selector = { matchExpressions: [{ key: 'app', operator: 'Like', values: ['web'] }] }),
      ['spec.selector.matchExpressions[0].operator: Invalid value: "Like": not a valid selector operator'],
    ],
    ['negative replicas', (o) => (o['spec'].replicas = -1), ['spec.replicas: Invalid value: -1: must be greater than or equal to 0']],
    [
      'a template that does not always restart',
      (o) => (o['spec'].template.spec.restartPolicy = 'OnFailure'),
      ['spec.template.spec.restartPolicy: Unsupported value: "OnFailure": supported values: "Always"'],
    ],
    [
      'a template with a deadline',
      (o) => (o['spec'].template.spec.activeDeadlineSeconds = 10),
      ['spec.template.spec.activeDeadlineSeconds: Invalid value: 10: activeDeadlineSeconds in ReplicaSet is not Supported'],
    ],
    ['a template container without an image', (o) => delete o['spec'].template.spec.containers[0].image, ['spec.template.spec.containers[0].image: Required value']],
    [
      'bad template labels are reported without metadata in the path',
      (o) => ((o['spec'].template.metadata.labels['bad key'] = 'x'), (o['spec'].selector.matchLabels = { app: 'web' })),
      [
        "spec.template.labels: Invalid value: \"bad key\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
      ],
    ],
    [
      'maxSurge and maxUnavailable both zero',
      (o) => (o['spec'].strategy.rollingUpdate = { maxSurge: 0, maxUnavailable: 0 }),
      ['spec.strategy.rollingUpdate.maxUnavailable: Invalid value: 0: may not be 0 when `maxSurge` is 0'],
    ],
    [
      'maxUnavailable over 100%',
      (o) => (o['spec'].strategy.rollingUpdate.maxUnavailable = '150%'),
      ['spec.strategy.rollingUpdate.maxUnavailable: Invalid value: "150%": must not be greater than 100%'],
    ],
    [
      'a percentage that is not one',
      (o) => (o['spec'].strategy.rollingUpdate.maxSurge = 'lots'),
      ["spec.strategy.rollingUpdate.maxSurge: Invalid value: \"lots\": a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')"],
    ],
    [
      'Recreate with rolling update parameters',
      (o) => (o['spec'].strategy.type = 'Recreate'),
      ["spec.strategy.rollingUpdate: Forbidden: may not be specified when strategy `type` is 'Recreate'"],
    ],
    [
      'an unknown strategy',
      (o) => (o['spec'].strategy = { type: 'BlueGreen' }),
      ['spec.strategy: Unsupported value: {"type":"BlueGreen"}: supported values: "Recreate", "RollingUpdate"'],
    ],
    [
      'a progress deadline below minReadySeconds',
      (o) => ((o['spec'].minReadySeconds = 30), (o['spec'].progressDeadlineSeconds = 30)),
      ['spec.progressDeadlineSeconds: Invalid value: 30: must be greater than minReadySeconds'],
    ],
  ];
  for (const [name, mutate, expected] of cases) {
    it(name, () => {
      assert.deepEqual(messages(validateCreate(DEPLOYMENT, workload(DEPLOYMENT, mutate))), expected);
    });
  }

  it('the selector is immutable', () => {
    const old = workload(DEPLOYMENT);
    const updated = workload(DEPLOYMENT, (o) => {
      o['spec'].selector = { matchLabels: { app: 'web', v: '2' } };
      o['spec'].template.metadata.labels = { app: 'web', v: '2' };
    });
    assert.deepEqual(messages(validateUpdate(DEPLOYMENT, updated, old)), ['spec.selector: Invalid value: {"matchLabels":{"app":"web","v":"2"}}: field is immutable']);
  });

  it('scaling and new images are updates like any other', () => {
    const updated = workload(DEPLOYMENT, (o) => ((o['spec'].replicas = 5), (o['spec'].template.spec.containers[0].image = 'nginx:2')));
    assert.deepEqual(messages(validateUpdate(DEPLOYMENT, updated, workload(DEPLOYMENT))), []);
  });

  it('status counters are bounded by replicas', () => {
    const updated = workload(DEPLOYMENT, (o) => (o['status'] = { replicas: 2, readyReplicas: 3, availableReplicas: 3, updatedReplicas: -1 }));
    assert.deepEqual(messages(validateStatusUpdate(DEPLOYMENT, updated, workload(DEPLOYMENT))), [
      'status.updatedReplicas: Invalid value: -1: must be greater than or equal to 0',
      'status.readyReplicas: Invalid value: 3: cannot be greater than status.replicas',
      'status.availableReplicas: Invalid value: 3: cannot be greater than status.replicas',
    ]);
  });
});

describe('replica set', () => {
  it('reports an empty selector as Kubernetes does (naming deployments)', () => {
    assert.deepEqual(messages(validateCreate(REPLICA_SET, workload(REPLICA_SET, (o) => (o['spec'].selector = {})))), [
      'spec.selector: Invalid value: {}: empty selector is invalid for deployment',
    ]);
  });

  it('keeps its selector on update', () => {
    const updated = workload(REPLICA_SET, (o) => (o['spec'].selector = { matchLabels: { app: 'other' } }));
    const errs = messages(validateUpdate(REPLICA_SET, updated, workload(REPLICA_SET)));
    assert.ok(errs.includes('spec.selector: Invalid value: {"matchLabels":{"app":"other"}}: field is immutable'), errs.join('\n'));
  });

  it('status: available replicas cannot exceed ready ones', () => {
    const updated = workload(REPLICA_SET, (o) => (o['status'] = { replicas: 3, readyReplicas: 1, availableReplicas: 2 }));
    assert.deepEqual(messages(validateStatusUpdate(REPLICA_SET, updated, workload(REPLICA_SET))), [
      'status.availableReplicas: Invalid value: 2: cannot be greater than readyReplicas',
    ]);
  });
});

describe('daemon set', () => {
  const cases: [name: string, mutate: (o: Json) => void, expected: string[]][] = [
    ['a valid daemon set', () => {}, []],
    ['an empty selector', (o) => (o['spec'].selector = {}), ['spec.selector: Invalid value: {}: empty selector is invalid for daemonset']],
    [
      'surge and unavailability together',
      (o) => (o['spec'].updateStrategy.rollingUpdate = { maxUnavailable: 1, maxSurge: 1 }),
      ['spec.updateStrategy.rollingUpdate.maxSurge: Invalid value: 1: may not be set when maxUnavailable is non-zero'],
    ],
    [
      'neither surge nor unavailability',
      (o) => (o['spec'].updateStrategy.rollingUpdate = { maxUnavailable: 0, maxSurge: 0 }),
      ['spec.updateStrategy.rollingUpdate.maxUnavailable: Required value: cannot be 0 when maxSurge is 0'],
    ],
    [
      'an unknown update strategy',
      (o) => (o['spec'].updateStrategy = { type: 'Canary' }),
      ['spec.updateStrategy: Unsupported value: {"type":"Canary"}: supported values: "RollingUpdate", "OnDelete"'],
    ],
    [
      'a template with a deadline',
      (o) => (o['spec'].template.spec.activeDeadlineSeconds = 5),
      ['spec.template.spec.activeDeadlineSeconds: Invalid value: 5: activeDeadlineSeconds in DaemonSet is not Supported'],
    ],
  ];
  for (const [name, mutate, expected] of cases) {
    it(name, () => {
      assert.deepEqual(messages(validateCreate(DAEMON_SET, workload(DAEMON_SET, mutate))), expected);
    });
  }
});

describe('scale', () => {
  it('refuses negative replicas', () => {
    const scale: KubeObject = { metadata: { name: 'web', namespace: 'default' }, spec: { replicas: -2 } };
    assert.deepEqual(messages(validateCreate(SCALE, scale)), ['spec.replicas: Invalid value: -2: must be greater than or equal to 0']);
  });
});
