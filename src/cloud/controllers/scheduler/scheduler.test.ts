import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Node, Pod, Taint } from 'kubernetes-types/core/v1.d.ts';
import { SchedulerCache } from './node-info.ts';
import { podInfoOf } from './pod-info.ts';
import { decide, NO_NODES_MESSAGE } from './scheduler.ts';
import { podRequests } from './resources.ts';

function node(name: string, opts: { labels?: Record<string, string>; taints?: Taint[]; ready?: string; unschedulable?: boolean; cpu?: string; memory?: string; pods?: string } = {}): Node {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name, ...opts.labels } },
    spec: { taints: opts.taints, unschedulable: opts.unschedulable },
    status: {
      allocatable: { cpu: opts.cpu ?? '4', memory: opts.memory ?? '8Gi', pods: opts.pods ?? '110' },
      conditions: [{ type: 'Ready', status: opts.ready ?? 'True' }],
    },
  };
}

function pod(name: string, spec: Partial<NonNullable<Pod['spec']>> = {}, owner?: string): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', uid: `uid-${name}`, ...(owner !== undefined ? { ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: owner, uid: owner, controller: true }] } : {}) },
    spec: { containers: [{ name: 'c', image: 'busybox' }], ...spec },
  };
}

function cacheWith(...nodes: Node[]): SchedulerCache {
  const cache = new SchedulerCache();
  for (const n of nodes) cache.updateNode(n);
  return cache;
}

function bound(cache: SchedulerCache, p: Pod, nodeName: string): void {
  cache.updatePod(`default/${p.metadata!.name!}`, { ...p, spec: { ...p.spec!, nodeName } });
}

function nodeFor(cache: SchedulerCache, p: Pod): string {
  const d = decide(cache, podInfoOf(`default/${p.metadata!.name!}`, p));
  assert.ok('node' in d, `expected a node, got: ${'message' in d ? d.message : ''}`);
  return d.node;
}

function messageFor(cache: SchedulerCache, p: Pod): string {
  const d = decide(cache, podInfoOf(`default/${p.metadata!.name!}`, p));
  assert.ok('message' in d, `expected no fit, got ${'node' in d ? d.node : ''}`);
  return d.message;
}

describe('scheduler decisions', () => {
  it('SCHED_FILTER_1: places a pod only on nodes matching its nodeSelector', () => {
    const cache = cacheWith(node('a', { labels: { zone: 'x' } }), node('b', { labels: { zone: 'y' } }), node('c'));
    for (let i = 0; i < 10; i++) assert.equal(nodeFor(cache, pod(`p${i}`, { nodeSelector: { zone: 'y' } })), 'b');
  });

  it('SCHED_FILTER_2: required node affinity ORs its terms; matchFields selects by node name', () => {
    const cache = cacheWith(node('a', { labels: { disk: 'ssd', gen: '3' } }), node('b', { labels: { disk: 'hdd', gen: '5' } }), node('c'));
    const affinity = (terms: object[]): Partial<NonNullable<Pod['spec']>> => ({ affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: terms } } } });
    assert.equal(nodeFor(cache, pod('gt', affinity([{ matchExpressions: [{ key: 'gen', operator: 'Gt', values: ['4'] }] }]))), 'b');
    assert.equal(nodeFor(cache, pod('in', affinity([{ matchExpressions: [{ key: 'disk', operator: 'In', values: ['ssd'] }, { key: 'gen', operator: 'Exists' }] }]))), 'a');
    assert.equal(nodeFor(cache, pod('dne', affinity([{ matchExpressions: [{ key: 'disk', operator: 'DoesNotExist' }] }]))), 'c');
    assert.equal(nodeFor(cache, pod('field', affinity([{ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['c'] }] }]))), 'c');
    const or = new Set<string>();
    for (let i = 0; i < 30; i++) or.add(nodeFor(cache, pod(`or${i}`, affinity([{ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['a'] }] }, { matchExpressions: [{ key: 'gen', operator: 'Lt', values: ['4'] }] }]))));
    assert.deepEqual([...or], ['a']);
  });

  it('SCHED_FILTER_3: NoSchedule and NoExecute taints keep pods off unless tolerated; PreferNoSchedule does not', () => {
    const cache = cacheWith(node('tainted', { taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }] }), node('soft', { taints: [{ key: 'x', effect: 'PreferNoSchedule' }] }));
    assert.equal(nodeFor(cache, pod('plain')), 'soft');
    const tolerant = new Set<string>();
    for (let i = 0; i < 40; i++) tolerant.add(nodeFor(cache, pod(`t${i}`, { tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'gpu', effect: 'NoSchedule' }] })));
    assert.deepEqual([...tolerant].sort(), ['soft', 'tainted']);
  });

  it('SCHED_FILTER_4: nodes that are not Ready or are cordoned get nothing without a toleration', () => {
    const cache = cacheWith(node('down', { ready: 'Unknown' }), node('cordoned', { unschedulable: true }), node('notready', { ready: 'False' }));
    assert.equal(
      messageFor(cache, pod('p')),
      '0/3 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/not-ready: }, 1 node(s) had untolerated taint {node.kubernetes.io/unreachable: }, 1 node(s) were unschedulable. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling..',
    );
    // DaemonSet-style tolerations of everything still place the pod.
    assert.notEqual(nodeFor(cache, pod('ds', { tolerations: [{ operator: 'Exists' }] })), '');
  });

  it('SCHED_FILTER_5: requests are checked against allocatable minus what is already bound', () => {
    const cache = cacheWith(node('small', { cpu: '1', memory: '1Gi' }), node('big', { cpu: '2', memory: '1Gi' }));
    const big = (name: string): Pod => pod(name, { containers: [{ name: 'c', image: 'i', resources: { requests: { cpu: '800m', memory: '100Mi' } } }] });
    bound(cache, big('x'), 'small');
    assert.equal(nodeFor(cache, big('y')), 'big');
    bound(cache, big('y'), 'big');
    bound(cache, big('z'), 'big');
    assert.equal(
      messageFor(cache, big('w')),
      '0/2 nodes are available: 2 Insufficient cpu. preemption: 0/2 nodes are available: 2 No preemption victims found for incoming pod..',
    );
    // A finished pod gives its resources back.
    cache.updatePod('default/x', { ...big('x'), spec: { ...big('x').spec!, nodeName: 'small' }, status: { phase: 'Succeeded' } });
    assert.equal(nodeFor(cache, big('w')), 'small');
  });

  it('SCHED_FILTER_6: the pods limit and host ports', () => {
    const cache = cacheWith(node('one', { pods: '1' }), node('two'));
    bound(cache, pod('x'), 'one');
    const withPort = (name: string, ip?: string): Pod => pod(name, { containers: [{ name: 'c', image: 'i', ports: [{ containerPort: 80, hostPort: 8080, ...(ip ? { hostIP: ip } : {}) }] }] });
    bound(cache, withPort('web'), 'two');
    assert.equal(
      messageFor(cache, withPort('web2', '10.0.0.1')),
      "0/2 nodes are available: 1 Too many pods, 1 node(s) didn't have free ports for the requested pod ports. preemption: 0/2 nodes are available: 2 No preemption victims found for incoming pod..",
    );
    // The same port over UDP is free.
    const udp = pod('udp', { containers: [{ name: 'c', image: 'i', ports: [{ containerPort: 80, hostPort: 8080, protocol: 'UDP' }] }] });
    assert.equal(nodeFor(cache, udp), 'two');
  });

  it("SCHED_MESSAGE_1: kube-scheduler's text for a mix of reasons", () => {
    const cache = cacheWith(
      node('a1', { labels: { role: 'edge' }, taints: [{ key: 'k', value: 'v', effect: 'NoExecute' }] }),
      node('a2', { labels: { role: 'edge' }, taints: [{ key: 'k', value: 'v', effect: 'NoSchedule' }] }),
      node('b1'),
      node('b2'),
      node('b3'),
    );
    assert.equal(
      messageFor(cache, pod('p', { nodeSelector: { role: 'edge' } })),
      "0/5 nodes are available: 2 node(s) had untolerated taint {k: v}, 3 node(s) didn't match Pod's node affinity/selector. preemption: 0/5 nodes are available: 5 Preemption is not helpful for scheduling..",
    );
    assert.equal(messageFor(new SchedulerCache(), pod('p')), NO_NODES_MESSAGE);
  });

  it('SCHED_SCORE_1: replicas of one controller spread evenly over the nodes that fit', () => {
    const cache = cacheWith(node('a'), node('b'), node('c'), node('d', { labels: { other: 'x' } }));
    const counts = new Map<string, number>();
    for (let i = 0; i < 30; i++) {
      const p = pod(`r${i}`, { affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'other', operator: 'DoesNotExist' }] }] } } } }, 'rs-1');
      const n = nodeFor(cache, p);
      cache.assume(podInfoOf(`default/r${i}`, p), n);
      counts.set(n, (counts.get(n) ?? 0) + 1);
    }
    assert.deepEqual(Object.fromEntries([...counts].sort()), { a: 10, b: 10, c: 10 });
  });

  it('SCHED_SCORE_2: without an owner, the least allocated node wins', () => {
    const cache = cacheWith(node('busy'), node('idle'));
    bound(cache, pod('heavy', { containers: [{ name: 'c', image: 'i', resources: { requests: { cpu: '3', memory: '6Gi' } } }] }), 'busy');
    assert.equal(nodeFor(cache, pod('p')), 'idle');
  });
});

describe('scheduler cache', () => {
  it('SCHED_CACHE_1: an assumed pod counts until its binding shows up, and is released when forgotten or deleted', () => {
    const cache = cacheWith(node('a', { pods: '1' }));
    const p = pod('p');
    cache.assume(podInfoOf('default/p', p), 'a');
    // A status update of the still-unbound pod must not drop the assumption.
    cache.updatePod('default/p', p);
    assert.equal(cache.node('a')!.podCount, 1);
    bound(cache, p, 'a');
    assert.equal(cache.node('a')!.podCount, 1);
    cache.removePod('default/p');
    assert.equal(cache.node('a')!.podCount, 0);
    cache.assume(podInfoOf('default/q', pod('q')), 'a');
    cache.forget('default/q');
    assert.equal(cache.node('a')!.podCount, 0);
  });

  it('SCHED_CACHE_2: pods bound to a node the cache has not seen yet are counted once it appears', () => {
    const cache = new SchedulerCache();
    bound(cache, pod('early'), 'late');
    assert.equal(cache.nodes().length, 0);
    cache.updateNode(node('late', { pods: '1' }));
    assert.equal(cache.nodes().length, 1);
    assert.match(messageFor(cache, pod('p')), /1 Too many pods/);
  });

  it('SCHED_RESOURCES_1: pod requests follow Kubernetes: sum of containers, at least the largest init container, sidecars add up', () => {
    const r = podRequests({
      spec: {
        containers: [
          { name: 'a', resources: { requests: { cpu: '100m', memory: '64Mi' } } },
          { name: 'b', resources: { limits: { cpu: '200m' } } },
        ],
        initContainers: [
          { name: 'init', resources: { requests: { cpu: '1', memory: '32Mi' } } },
          { name: 'sidecar', restartPolicy: 'Always', resources: { requests: { cpu: '50m', 'nvidia.com/gpu': '1' } } },
        ],
      },
    });
    assert.equal(r.milliCpu, 1000);
    assert.equal(r.memory, 64 * 1024 * 1024);
    assert.equal(r.scalars.get('nvidia.com/gpu'), 1);
  });
});
