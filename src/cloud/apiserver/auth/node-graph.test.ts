 
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Pod } from 'kubernetes-types/core/v1.d.ts';
import { NodeGraphIndex, type DeviceObject } from './node-graph.ts';

function pod(name: string, nodeName: string | undefined, spec: Partial<NonNullable<Pod['spec']>> = {}, uid = `uid-${name}`): Pod {
  return { metadata: { namespace: 'apps', name, uid }, spec: { containers: [{ name: 'c' }], ...spec, ...(nodeName !== undefined ? { nodeName } : {}) } };
}

describe('NodeGraphIndex pods', () => {
  it('binds a pod to its node only once it is scheduled', () => {
    const g = new NodeGraphIndex();
    g.upsertPod(pod('web', undefined));
    assert.equal(g.podBoundTo('edge-1', 'apps', 'web'), false);
    g.upsertPod(pod('web', 'edge-1'));
    assert.equal(g.podBoundTo('edge-1', 'apps', 'web'), true);
    assert.equal(g.podBoundTo('edge-2', 'apps', 'web'), false);
    assert.equal(g.podBoundTo('edge-1', 'other', 'web'), false);
  });

  it('finds every kind of reference a pod makes', () => {
    const g = new NodeGraphIndex();
    g.upsertPod(
      pod('web', 'edge-1', {
        serviceAccountName: 'web-sa',
        imagePullSecrets: [{ name: 'pull' }],
        initContainers: [{ name: 'i', envFrom: [{ configMapRef: { name: 'init-env' } }] }],
        containers: [
          {
            name: 'c',
            envFrom: [{ secretRef: { name: 'env-secret' } }],
            env: [
              { name: 'A', valueFrom: { configMapKeyRef: { name: 'key-cm', key: 'a' } } },
              { name: 'B', valueFrom: { secretKeyRef: { name: 'key-secret', key: 'b' } } },
            ],
          },
        ],
        volumes: [
          { name: 'cm', configMap: { name: 'vol-cm' } },
          { name: 's', secret: { secretName: 'vol-secret' } },
          { name: 'p', projected: { sources: [{ configMap: { name: 'proj-cm' } }, { secret: { name: 'proj-secret' } }] } },
          { name: 'data', persistentVolumeClaim: { claimName: 'data-claim' } },
          { name: 'scratch', ephemeral: { volumeClaimTemplate: { spec: {} } } },
          { name: 'csi', csi: { driver: 'x', nodePublishSecretRef: { name: 'csi-secret' } } },
        ],
      }),
    );
    const yes: [Parameters<NodeGraphIndex['referencedByNodePods']>[1], string][] = [
      ['serviceaccounts', 'web-sa'],
      ['secrets', 'pull'],
      ['configmaps', 'init-env'],
      ['secrets', 'env-secret'],
      ['configmaps', 'key-cm'],
      ['secrets', 'key-secret'],
      ['configmaps', 'vol-cm'],
      ['secrets', 'vol-secret'],
      ['configmaps', 'proj-cm'],
      ['secrets', 'proj-secret'],
      ['persistentvolumeclaims', 'data-claim'],
      ['persistentvolumeclaims', 'web-scratch'],
      ['secrets', 'csi-secret'],
    ];
    for (const [kind, name] of yes) assert.equal(g.referencedByNodePods('edge-1', kind, 'apps', name), true, `${kind}/${name}`);
    assert.equal(g.referencedByNodePods('edge-1', 'secrets', 'apps', 'vol-cm'), false, 'kinds are not interchangeable');
    assert.equal(g.referencedByNodePods('edge-2', 'configmaps', 'apps', 'vol-cm'), false);
    assert.equal(g.referencedByNodePods('edge-1', 'configmaps', 'default', 'vol-cm'), false);
  });

  it('keeps a shared object readable until the last pod using it goes', () => {
    const g = new NodeGraphIndex();
    const uses = { volumes: [{ name: 'v', configMap: { name: 'shared' } }] };
    g.upsertPod(pod('a', 'edge-1', uses));
    g.upsertPod(pod('b', 'edge-1', uses));
    g.deletePod(pod('a', 'edge-1'));
    assert.equal(g.referencedByNodePods('edge-1', 'configmaps', 'apps', 'shared'), true);
    g.deletePod(pod('b', 'edge-1'));
    assert.equal(g.referencedByNodePods('edge-1', 'configmaps', 'apps', 'shared'), false);
  });

  it('moves access when a pod changes or stops using an object', () => {
    const g = new NodeGraphIndex();
    g.upsertPod(pod('a', 'edge-1', { volumes: [{ name: 'v', secret: { secretName: 'old' } }] }));
    g.upsertPod(pod('a', 'edge-1', { volumes: [{ name: 'v', secret: { secretName: 'new' } }] }));
    assert.equal(g.referencedByNodePods('edge-1', 'secrets', 'apps', 'old'), false);
    assert.equal(g.referencedByNodePods('edge-1', 'secrets', 'apps', 'new'), true);
  });

  it('ignores a stale delete for an older pod of the same name', () => {
    const g = new NodeGraphIndex();
    g.upsertPod(pod('a', 'edge-1', {}, 'uid-2'));
    g.deletePod(pod('a', 'edge-1', {}, 'uid-1'));
    assert.equal(g.podBoundTo('edge-1', 'apps', 'a'), true);
    g.deletePod(pod('a', 'edge-1', {}, 'uid-2'));
    assert.equal(g.podBoundTo('edge-1', 'apps', 'a'), false);
  });
});

describe('NodeGraphIndex devices', () => {
  const device = (name: string, nodeName: string | undefined, model = 'thermo'): DeviceObject => ({
    metadata: { namespace: 'plant', name, uid: name },
    spec: { ...(nodeName !== undefined ? { nodeName } : {}), deviceModelRef: { name: model } },
  });

  it('links devices and their models to the node they sit behind', () => {
    const g = new NodeGraphIndex();
    g.upsertDevice(device('t1', 'edge-1'));
    g.upsertDevice(device('t2', undefined));
    assert.equal(g.deviceOnNode('edge-1', 'plant', 't1'), true);
    assert.equal(g.deviceOnNode('edge-1', 'plant', 't2'), false);
    assert.equal(g.deviceModelUsedByNode('edge-1', 'plant', 'thermo'), true);
    assert.equal(g.deviceModelUsedByNode('edge-2', 'plant', 'thermo'), false);
    g.upsertDevice(device('t1', 'edge-2'));
    assert.equal(g.deviceOnNode('edge-1', 'plant', 't1'), false);
    assert.equal(g.deviceOnNode('edge-2', 'plant', 't1'), true);
    g.deleteDevice(device('t1', 'edge-2'));
    assert.equal(g.deviceModelUsedByNode('edge-2', 'plant', 'thermo'), false);
  });
});
