 
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Authorizer } from './authorizer.ts';
import { NodeGraphIndex } from './node-graph.ts';
import type { RequestAttributes, UserInfo } from './types.ts';

const admin: UserInfo = { name: 'kedge-admin', groups: ['system:masters', 'system:authenticated'] };
const bob: UserInfo = { name: 'bob', groups: ['dev', 'system:authenticated'] };
const edge1: UserInfo = { name: 'system:node:edge-1', groups: ['system:nodes', 'system:authenticated'] };

function graph(): NodeGraphIndex {
  const g = new NodeGraphIndex();
  g.upsertPod({
    metadata: { namespace: 'apps', name: 'mine', uid: '1' },
    spec: {
      nodeName: 'edge-1',
      serviceAccountName: 'sa',
      containers: [{ name: 'c', envFrom: [{ secretRef: { name: 'my-secret' } }] }],
      volumes: [{ name: 'v', configMap: { name: 'my-config' } }, { name: 'd', persistentVolumeClaim: { claimName: 'my-claim' } }],
    },
  });
  g.upsertPod({ metadata: { namespace: 'apps', name: 'theirs', uid: '2' }, spec: { nodeName: 'edge-2', containers: [{ name: 'c' }], volumes: [{ name: 'v', configMap: { name: 'their-config' } }] } });
  g.upsertDevice({ metadata: { namespace: 'plant', name: 'my-device' }, spec: { nodeName: 'edge-1', deviceModelRef: { name: 'thermo' } } });
  g.upsertDevice({ metadata: { namespace: 'plant', name: 'their-device' }, spec: { nodeName: 'edge-2', deviceModelRef: { name: 'pump' } } });
  return g;
}

const authorizer = new Authorizer({ nodeGraph: graph() });

function r(verb: RequestAttributes['verb'], resource: string, more: Partial<RequestAttributes> = {}): RequestAttributes {
  // 'devices.devices.kubeedge.io/status' → resource devices, group devices.kubeedge.io, subresource status
  const [qualified, subresource] = resource.split('/') as [string, string?];
  const [plain, group = ''] = qualified.split(/\.(.*)/s) as [string, string?];
  return { verb, group, resource: plain, ...(subresource !== undefined ? { subresource } : {}), ...more };
}

const nodeCases: [string, RequestAttributes, boolean][] = [
  // its Node
  ['get own node', r('get', 'nodes', { name: 'edge-1' }), true],
  ['get another node', r('get', 'nodes', { name: 'edge-2' }), false],
  ['list nodes without selector', r('list', 'nodes'), false],
  ['list own node by metadata.name', r('list', 'nodes', { fieldSelector: { 'metadata.name': 'edge-1' } }), true],
  ['watch own node by metadata.name', r('watch', 'nodes', { fieldSelector: { 'metadata.name': 'edge-1' } }), true],
  ['watch another node by metadata.name', r('watch', 'nodes', { fieldSelector: { 'metadata.name': 'edge-2' } }), false],
  ['create own node', r('create', 'nodes', { name: 'edge-1' }), true],
  ['create node without a name', r('create', 'nodes'), false],
  ['create another node', r('create', 'nodes', { name: 'edge-2' }), false],
  ['patch own node', r('patch', 'nodes', { name: 'edge-1' }), true],
  ['update own node status', r('update', 'nodes/status', { name: 'edge-1' }), true],
  ['patch another node status', r('patch', 'nodes/status', { name: 'edge-2' }), false],
  ['delete own node', r('delete', 'nodes', { name: 'edge-1' }), false],
  ['proxy to own node', r('get', 'nodes/proxy', { name: 'edge-1' }), false],
  // pods
  ['get a bound pod', r('get', 'pods', { namespace: 'apps', name: 'mine' }), true],
  ['get another node’s pod', r('get', 'pods', { namespace: 'apps', name: 'theirs' }), false],
  ['list pods on this node', r('list', 'pods', { fieldSelector: { 'spec.nodeName': 'edge-1' } }), true],
  ['watch pods on this node in a namespace', r('watch', 'pods', { namespace: 'apps', fieldSelector: { 'spec.nodeName': 'edge-1' } }), true],
  ['list all pods', r('list', 'pods'), false],
  ['list pods on another node', r('list', 'pods', { fieldSelector: { 'spec.nodeName': 'edge-2' } }), false],
  ['patch status of a bound pod', r('patch', 'pods/status', { namespace: 'apps', name: 'mine' }), true],
  ['update status of another pod', r('update', 'pods/status', { namespace: 'apps', name: 'theirs' }), false],
  ['update a bound pod’s spec', r('update', 'pods', { namespace: 'apps', name: 'mine' }), false],
  ['delete a bound pod', r('delete', 'pods', { namespace: 'apps', name: 'mine' }), true],
  ['delete another pod', r('delete', 'pods', { namespace: 'apps', name: 'theirs' }), false],
  ['create a pod', r('create', 'pods', { namespace: 'apps', name: 'new' }), false],
  ['exec into a bound pod', r('create', 'pods/exec', { namespace: 'apps', name: 'mine' }), false],
  // objects used by its pods
  ['get a referenced configmap', r('get', 'configmaps', { namespace: 'apps', name: 'my-config' }), true],
  ['watch a referenced configmap by name', r('watch', 'configmaps', { namespace: 'apps', fieldSelector: { 'metadata.name': 'my-config' } }), true],
  ['get an unreferenced configmap', r('get', 'configmaps', { namespace: 'apps', name: 'their-config' }), false],
  ['list configmaps', r('list', 'configmaps', { namespace: 'apps' }), false],
  ['get a referenced secret', r('get', 'secrets', { namespace: 'apps', name: 'my-secret' }), true],
  ['get a secret in another namespace', r('get', 'secrets', { namespace: 'kube-system', name: 'my-secret' }), false],
  ['update a referenced secret', r('update', 'secrets', { namespace: 'apps', name: 'my-secret' }), false],
  ['get the pod service account', r('get', 'serviceaccounts', { namespace: 'apps', name: 'sa' }), true],
  ['request a token for it', r('create', 'serviceaccounts/token', { namespace: 'apps', name: 'sa' }), true],
  ['request a token for another', r('create', 'serviceaccounts/token', { namespace: 'apps', name: 'default' }), false],
  ['get a referenced claim', r('get', 'persistentvolumeclaims', { namespace: 'apps', name: 'my-claim' }), true],
  // its Lease
  ['get own lease', r('get', 'leases.coordination.k8s.io', { namespace: 'kube-node-lease', name: 'edge-1' }), true],
  ['create own lease', r('create', 'leases.coordination.k8s.io', { namespace: 'kube-node-lease', name: 'edge-1' }), true],
  ['update own lease', r('update', 'leases.coordination.k8s.io', { namespace: 'kube-node-lease', name: 'edge-1' }), true],
  ['update another lease', r('update', 'leases.coordination.k8s.io', { namespace: 'kube-node-lease', name: 'edge-2' }), false],
  ['own name in another namespace', r('update', 'leases.coordination.k8s.io', { namespace: 'kube-system', name: 'edge-1' }), false],
  ['delete own lease', r('delete', 'leases.coordination.k8s.io', { namespace: 'kube-node-lease', name: 'edge-1' }), false],
  // events, services
  ['create an event', r('create', 'events', { namespace: 'apps' }), true],
  ['patch an events.k8s.io event', r('patch', 'events.events.k8s.io', { namespace: 'apps', name: 'e' }), true],
  ['delete an event', r('delete', 'events', { namespace: 'apps', name: 'e' }), false],
  ['watch services', r('watch', 'services'), true],
  ['list endpoints', r('list', 'endpoints', { namespace: 'apps' }), true],
  ['create a service', r('create', 'services', { namespace: 'apps', name: 's' }), false],
  // devices
  ['get a device on this node', r('get', 'devices.devices.kubeedge.io', { namespace: 'plant', name: 'my-device' }), true],
  ['get a device elsewhere', r('get', 'devices.devices.kubeedge.io', { namespace: 'plant', name: 'their-device' }), false],
  ['watch devices on this node', r('watch', 'devices.devices.kubeedge.io', { fieldSelector: { 'spec.nodeName': 'edge-1' } }), true],
  ['list all devices', r('list', 'devices.devices.kubeedge.io'), false],
  ['patch own device status', r('patch', 'devices.devices.kubeedge.io/status', { namespace: 'plant', name: 'my-device' }), true],
  ['patch own device spec', r('patch', 'devices.devices.kubeedge.io', { namespace: 'plant', name: 'my-device' }), false],
  ['get the model of a device here', r('get', 'devicemodels.devices.kubeedge.io', { namespace: 'plant', name: 'thermo' }), true],
  ['get an unrelated model', r('get', 'devicemodels.devices.kubeedge.io', { namespace: 'plant', name: 'pump' }), false],
  // everything else
  ['list namespaces', r('list', 'namespaces'), false],
  ['get a deployment', r('get', 'deployments.apps', { namespace: 'apps', name: 'd' }), false],
  ['read discovery', { verb: 'get', group: '', resource: '', path: '/apis/apps/v1' }, true],
];

describe('Authorizer, node identities', () => {
  for (const [name, attrs, allowed] of nodeCases) {
    it(`${allowed ? 'allows' : 'denies'}: ${name}`, () => {
      const d = authorizer.authorize(edge1, attrs);
      assert.equal(d.allowed, allowed);
      if (!d.allowed) assert.ok(d.reason.length > 0);
    });
  }

  it('treats a node name without the nodes group (or the reverse) as no node at all', () => {
    const impostors: UserInfo[] = [
      { name: 'system:node:edge-1', groups: ['system:authenticated'] },
      { name: 'edge-1', groups: ['system:nodes', 'system:authenticated'] },
    ];
    for (const u of impostors) assert.equal(authorizer.authorize(u, r('get', 'nodes', { name: 'edge-1' })).allowed, false);
  });
});

describe('Authorizer, other users', () => {
  it('lets system:masters do anything', () => {
    for (const attrs of [r('deletecollection', 'pods', { namespace: 'apps' }), r('create', 'nodes/proxy', { name: 'x' }), { verb: 'create' as const, group: '', resource: '', path: '/logs' }]) {
      assert.deepEqual(authorizer.authorize(admin, attrs), { allowed: true });
    }
  });

  it('lets any authenticated user read discovery, version, OpenAPI and health, and nothing else', () => {
    for (const path of ['/api', '/api/v1', '/apis', '/apis/apps/v1', '/version', '/openapi/v2', '/openapi/v3/apis/apps/v1', '/healthz', '/livez', '/readyz']) {
      assert.equal(authorizer.authorize(bob, { verb: 'get', group: '', resource: '', path }).allowed, true, path);
    }
    assert.equal(authorizer.authorize(bob, { verb: 'create', group: '', resource: '', path: '/api' }).allowed, false);
    assert.equal(authorizer.authorize(bob, { verb: 'get', group: '', resource: '', path: '/metrics' }).allowed, false);
    const pods = authorizer.authorize(bob, r('list', 'pods', { namespace: 'apps' }));
    assert.equal(pods.allowed, false);
    assert.match(pods.allowed ? '' : pods.reason, /system:masters/);
  });

  it('lets any authenticated user ask who they are and what they can do', () => {
    assert.equal(authorizer.authorize(bob, r('create', 'selfsubjectreviews.authentication.k8s.io')).allowed, true);
    assert.equal(authorizer.authorize(bob, r('create', 'selfsubjectaccessreviews.authorization.k8s.io')).allowed, true);
    assert.equal(authorizer.authorize(bob, r('create', 'subjectaccessreviews.authorization.k8s.io')).allowed, false);
  });

  it('denies a user who is not in system:authenticated even discovery', () => {
    assert.equal(authorizer.authorize({ name: 'system:anonymous', groups: ['system:unauthenticated'] }, { verb: 'get', group: '', resource: '', path: '/version' }).allowed, false);
  });
});
