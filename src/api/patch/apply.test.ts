import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ManagedFieldsEntry } from 'kubernetes-types/meta/v1.d.ts';
import { isApiError, type ApiError } from '../errors.ts';
import type { KubeObject } from '../object.ts';
import { BEFORE_FIRST_APPLY, serverSideApply, trackUpdate, type ApplyOptions } from './apply.ts';
import { testResolver, testSchema } from './testing-schema.ts';

const T1 = new Date('2024-05-01T10:00:00.123Z');
const T2 = new Date('2024-05-01T11:30:00.000Z');

function apply(live: KubeObject | undefined, config: unknown, manager: string, options: Partial<ApplyOptions> = {}): KubeObject {
  return serverSideApply(live, config as KubeObject, { manager, force: false, schema: testSchema('Deployment'), resolver: testResolver, now: T1, ...options });
}

function update(live: KubeObject | undefined, updated: unknown, manager: string, now = T1): KubeObject {
  return trackUpdate(live, updated as KubeObject, { manager, schema: testSchema('Deployment'), resolver: testResolver, now });
}

function thrown(fn: () => unknown): ApiError {
  try {
    fn();
  } catch (err) {
    assert.ok(isApiError(err), `expected an ApiError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected the call to throw');
}

/** What `kubectl apply --server-side` sends for a small Deployment. */
function config(overrides: { replicas?: number; image?: string; labels?: Record<string, string> } = {}) {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', labels: overrides.labels ?? { app: 'web' } },
    spec: {
      replicas: overrides.replicas ?? 2,
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: { containers: [{ name: 'nginx', image: overrides.image ?? 'nginx:1.25', ports: [{ containerPort: 80 }] }] },
      },
    },
  };
}

type Deployment = ReturnType<typeof config> & { metadata: { managedFields?: ManagedFieldsEntry[] } };

const entries = (obj: KubeObject): ManagedFieldsEntry[] => obj.metadata.managedFields ?? [];
const managerNames = (obj: KubeObject): string[] => entries(obj).map((e) => `${e.manager}/${e.operation}`);
const fieldsOf = (obj: KubeObject, manager: string): unknown => entries(obj).find((e) => e.manager === manager)?.fieldsV1;

describe('serverSideApply: one applier', () => {
  it('creates the object and records exactly the fields the configuration sets', () => {
    const created = apply(undefined, config(), 'kubectl');
    const { managedFields, ...metadata } = created.metadata;
    assert.deepEqual({ ...created, metadata }, config());
    assert.deepEqual(managedFields, [
      {
        manager: 'kubectl',
        operation: 'Apply',
        apiVersion: 'apps/v1',
        time: '2024-05-01T10:00:00Z',
        fieldsType: 'FieldsV1',
        fieldsV1: {
          'f:metadata': { 'f:labels': { 'f:app': {} } },
          'f:spec': {
            'f:replicas': {},
            'f:selector': {},
            'f:template': {
              'f:metadata': { 'f:labels': { 'f:app': {} } },
              'f:spec': {
                'f:containers': {
                  'k:{"name":"nginx"}': {
                    '.': {},
                    'f:image': {},
                    'f:name': {},
                    'f:ports': { 'k:{"containerPort":80,"protocol":"TCP"}': { '.': {}, 'f:containerPort': {} } },
                  },
                },
              },
            },
          },
        },
      },
    ]);
  });

  it('returns the live object itself when applying the same configuration again', () => {
    const live = apply(undefined, config(), 'kubectl');
    assert.equal(apply(live, config(), 'kubectl', { now: T2 }), live);
  });

  it('changes a value and stamps the time of the change', () => {
    const live = apply(undefined, config(), 'kubectl');
    const changed = apply(live, config({ image: 'nginx:1.27' }), 'kubectl', { now: T2 }) as Deployment;
    assert.equal(changed.spec.template.spec.containers[0]!.image, 'nginx:1.27');
    assert.equal(entries(changed)[0]!.time, '2024-05-01T11:30:00Z');
  });

  it('takes ownership of values it sets unchanged without moving its time', () => {
    const live = apply(apply(undefined, config(), 'kubectl'), { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' }, spec: { replicas: 2 } }, 'autoscaler');
    const selector = config().spec.selector;
    const again = apply(live, { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' }, spec: { replicas: 2, selector } }, 'autoscaler', { now: T2 });
    assert.notEqual(again, live);
    assert.deepEqual(fieldsOf(again, 'autoscaler'), { 'f:spec': { 'f:replicas': {}, 'f:selector': {} } });
    assert.equal(entries(again).find((e) => e.manager === 'autoscaler')?.time, '2024-05-01T10:00:00Z');
  });

  it('removes a field the applier stops setting', () => {
    const live = apply(undefined, config({ labels: { app: 'web', tier: 'fe' } }), 'kubectl');
    const next = apply(live, config(), 'kubectl', { now: T2 });
    assert.deepEqual(next.metadata.labels, { app: 'web' });
    assert.deepEqual(fieldsOf(next, 'kubectl'), fieldsOf(apply(undefined, config(), 'kubectl'), 'kubectl'));
  });

  it('removes a container the applier stops setting, and the list it emptied', () => {
    const live = apply(undefined, config(), 'kubectl');
    const withoutContainers = config() as { spec: { template: { spec: { containers?: unknown[] } } } };
    delete withoutContainers.spec.template.spec.containers;
    const next = apply(live, withoutContainers, 'kubectl') as Deployment;
    assert.deepEqual(next.spec.template.spec, {});
  });

  it('keeps fields the object had that nobody manages', () => {
    const live = apply(undefined, config(), 'kubectl') as Deployment & { spec: { paused?: boolean } };
    live.spec.paused = true;
    const next = apply(live, config({ replicas: 3 }), 'kubectl') as typeof live;
    assert.equal(next.spec.paused, true);
    assert.equal(next.spec.replicas, 3);
  });

  it('replaces an atomic map whole', () => {
    const live = apply(undefined, config(), 'kubectl');
    const next = config() as { spec: { selector: { matchLabels: Record<string, string> } } };
    next.spec.selector = { matchLabels: { other: 'x' } };
    assert.deepEqual((apply(live, next, 'kubectl') as Deployment).spec.selector, { matchLabels: { other: 'x' } });
  });
});

describe('serverSideApply: several managers', () => {
  const sidecarConfig = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web' },
    spec: { template: { spec: { containers: [{ name: 'proxy', image: 'envoy' }] } } },
  };

  it('merges list elements of different appliers and keeps each one’s when the other re-applies', () => {
    const live = apply(undefined, config(), 'kubectl');
    const both = apply(live, sidecarConfig, 'mesh-injector') as Deployment;
    assert.deepEqual(
      both.spec.template.spec.containers.map((c) => c.name),
      ['nginx', 'proxy'],
    );
    const again = apply(both, config({ image: 'nginx:1.27' }), 'kubectl') as Deployment;
    assert.deepEqual(
      again.spec.template.spec.containers.map((c) => `${c.name}=${c.image}`),
      ['nginx=nginx:1.27', 'proxy=envoy'],
    );
    assert.deepEqual(managerNames(again), ['kubectl/Apply', 'mesh-injector/Apply']);
  });

  it('keeps a field the applier drops when another manager also owns it', () => {
    const live = apply(apply(undefined, config(), 'kubectl'), { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', labels: { app: 'web' } } }, 'labeller');
    const next = apply(live, config({ labels: {} }), 'kubectl');
    assert.deepEqual(next.metadata.labels, { app: 'web' });
  });

  it('shares ownership when two appliers set the same value', () => {
    const live = apply(undefined, config(), 'kubectl');
    const shared = apply(live, { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' }, spec: { replicas: 2 } }, 'autoscaler');
    assert.deepEqual(fieldsOf(shared, 'autoscaler'), { 'f:spec': { 'f:replicas': {} } });
    assert.deepEqual((fieldsOf(shared, 'kubectl') as { 'f:spec': Record<string, unknown> })['f:spec']['f:replicas'], {});
  });

  it('reports a conflict when changing a field another applier owns', () => {
    const live = apply(undefined, config(), 'kubectl');
    const err = thrown(() => apply(live, { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' }, spec: { replicas: 5 } }, 'autoscaler'));
    assert.equal(err.httpStatus, 409);
    assert.equal(err.reason, 'Conflict');
    assert.equal(err.code, 'API_CONFLICT');
    assert.equal(err.message, 'Apply failed with 1 conflict: conflict with "kubectl": .spec.replicas');
    assert.deepEqual(err.details?.causes, [{ reason: 'FieldManagerConflict', message: 'conflict with "kubectl"', field: '.spec.replicas' }]);
  });

  it('takes the conflicting fields over with force', () => {
    const live = apply(undefined, config(), 'kubectl');
    const forced = apply(live, { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' }, spec: { replicas: 5 } }, 'autoscaler', { force: true }) as Deployment;
    assert.equal(forced.spec.replicas, 5);
    assert.deepEqual(fieldsOf(forced, 'autoscaler'), { 'f:spec': { 'f:replicas': {} } });
    assert.equal((fieldsOf(forced, 'kubectl') as { 'f:spec': Record<string, unknown> })['f:spec']['f:replicas'], undefined);
  });

  it('lists several conflicts by manager', () => {
    let live = apply(undefined, config(), 'kubectl');
    live = apply(live, { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', labels: { team: 'a' } } }, 'labeller');
    const err = thrown(() =>
      apply(live, { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', labels: { team: 'b', app: 'x' } }, spec: { replicas: 9 } }, 'intruder'),
    );
    assert.equal(
      err.message,
      'Apply failed with 3 conflicts: conflicts with "kubectl":\n- .metadata.labels.app\n- .spec.replicas\nconflicts with "labeller":\n- .metadata.labels.team',
    );
    assert.deepEqual(
      err.details?.causes?.map((c) => c.field),
      ['.metadata.labels.app', '.spec.replicas', '.metadata.labels.team'],
    );
  });

  it('conflicts with fields an update took, naming the updater and its API version', () => {
    const live = apply(undefined, config(), 'kubectl');
    const scaled = update(live, { ...live, spec: { ...(live as Deployment).spec, replicas: 4 } }, 'kube-controller-manager');
    assert.deepEqual(managerNames(scaled), ['kubectl/Apply', 'kube-controller-manager/Update']);
    assert.deepEqual(fieldsOf(scaled, 'kube-controller-manager'), { 'f:spec': { 'f:replicas': {} } });
    const err = thrown(() => apply(scaled, config({ replicas: 2 }), 'kubectl'));
    assert.equal(err.message, 'Apply failed with 1 conflict: conflict with "kube-controller-manager" using apps/v1: .spec.replicas');
  });

  it('gives everything an unmanaged object had to before-first-apply at the first apply', () => {
    const { managedFields: _, ...metadata } = apply(undefined, config(), 'kubectl').metadata;
    const unmanaged = { ...config(), metadata } as KubeObject;
    const err = thrown(() => apply(unmanaged, config({ replicas: 3 }), 'kubectl'));
    assert.equal(err.message, `Apply failed with 1 conflict: conflict with "${BEFORE_FIRST_APPLY}" using apps/v1: .spec.replicas`);
    const same = apply(unmanaged, config(), 'kubectl');
    assert.deepEqual(managerNames(same), ['kubectl/Apply', `${BEFORE_FIRST_APPLY}/Update`]);
  });

  it('orders managedFields as Kubernetes does: Apply before Update, then by time and name', () => {
    let live = apply(undefined, config(), 'zeta', { now: T2 });
    live = apply(live, { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', labels: { x: 'y' } } }, 'alpha', { now: T2 });
    live = update(live, { ...live, metadata: { ...live.metadata, annotations: { a: 'b' } } }, 'editor', T1);
    assert.deepEqual(managerNames(live), ['alpha/Apply', 'zeta/Apply', 'editor/Update']);
  });
});

describe('serverSideApply: list order', () => {
  const withContainers = (...names: string[]) => ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web' },
    spec: { template: { spec: { containers: names.map((name) => ({ name, image: name })) } } },
  });
  const order = (live: string[], applied: string[]): string[] =>
    (apply(apply(undefined, withContainers(...live), 'first'), withContainers(...applied), 'second') as Deployment).spec.template.spec.containers.map((c) => c.name);

  const cases: [name: string, live: string[], applied: string[], expected: string[]][] = [
    ['appends new elements after the live ones', ['a', 'b'], ['c'], ['a', 'b', 'c']],
    ['places new elements after the shared one before them', ['a', 'b', 'c'], ['c', 'new'], ['a', 'b', 'c', 'new']],
    ['moves shared elements into the configuration’s order', ['a', 'b', 'c'], ['c', 'a'], ['b', 'c', 'a']],
  ];
  for (const [name, live, applied, expected] of cases) {
    it(name, () => {
      assert.deepEqual(order(live, applied), expected);
    });
  }
});

describe('serverSideApply: rejected requests', () => {
  const cases: [name: string, run: () => unknown, message: string][] = [
    ['an empty field manager', () => apply(undefined, config(), ''), 'fieldManager is required for apply requests'],
    [
      'managedFields in the configuration',
      () => apply(undefined, { ...config(), metadata: { name: 'web', managedFields: [{ manager: 'x' }] } }, 'kubectl'),
      'metadata.managedFields must be nil in an applied configuration',
    ],
    [
      'a container without its key field',
      () => apply(undefined, { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' }, spec: { template: { spec: { containers: [{ image: 'x' }] } } } }, 'kubectl'),
      `.spec.template.spec.containers: associative list with keys has an element that omits key field "name" (and doesn't have default value)`,
    ],
    [
      'a container given twice',
      () => apply(apply(undefined, config(), 'kubectl'), { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' }, spec: { template: { spec: { containers: [{ name: 'a' }, { name: 'a' }] } } } }, 'kubectl'),
      '.spec.template.spec.containers: duplicate entries for key [name="a"]',
    ],
  ];
  for (const [name, run, message] of cases) {
    it(`rejects ${name} as 400 BadRequest`, () => {
      const err = thrown(run);
      assert.equal(err.httpStatus, 400);
      assert.equal(err.message, message);
    });
  }
});

describe('trackUpdate', () => {
  it('gives a creating updater every field it set', () => {
    const created = update(undefined, config(), 'kube-controller-manager');
    assert.deepEqual(managerNames(created), ['kube-controller-manager/Update']);
    assert.deepEqual(fieldsOf(created, 'kube-controller-manager'), fieldsOf(apply(undefined, config(), 'x'), 'x'));
  });

  it('moves changed fields to the updater and forgets removed ones', () => {
    const live = apply(undefined, config({ labels: { app: 'web', tier: 'fe' } }), 'kubectl');
    const edited = structuredClone(live) as Deployment;
    edited.spec.replicas = 7;
    edited.metadata.labels = { app: 'web' };
    const result = update(live, edited, 'kubectl-edit', T2);
    assert.deepEqual(fieldsOf(result, 'kubectl-edit'), { 'f:spec': { 'f:replicas': {} } });
    const kubectl = fieldsOf(result, 'kubectl') as { 'f:metadata': unknown; 'f:spec': Record<string, unknown> };
    assert.equal(kubectl['f:spec']['f:replicas'], undefined);
    assert.deepEqual(kubectl['f:metadata'], { 'f:labels': { 'f:app': {} } });
    assert.equal(entries(result).find((e) => e.manager === 'kubectl-edit')?.time, '2024-05-01T11:30:00Z');
  });

  it('records nothing for an update that changes nothing', () => {
    const live = apply(undefined, config(), 'kubectl');
    assert.deepEqual(managerNames(update(live, structuredClone(live), 'noop')), ['kubectl/Apply']);
  });

  it('ignores identity and system metadata', () => {
    const live = apply(undefined, config(), 'kubectl');
    const touched = structuredClone(live);
    touched.metadata.resourceVersion = '42';
    touched.metadata.uid = 'u-1';
    touched.metadata.generation = 3;
    assert.deepEqual(managerNames(update(live, touched, 'apiserver')), ['kubectl/Apply']);
  });
});
