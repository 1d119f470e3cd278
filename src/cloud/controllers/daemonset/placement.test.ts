import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { NodeSelectorTerm, PodSpec, Taint } from 'kubernetes-types/core/v1.d.ts';
import type { DaemonSetObject, NodeObject } from '../replicaset/objects.ts';
import { placementOn, withDaemonTolerations } from './placement.ts';

function node(name: string, labels: Record<string, string> = {}, taints: Taint[] = []): NodeObject {
  return { metadata: { name, labels }, spec: { taints } };
}

function ds(spec: Partial<PodSpec>): DaemonSetObject {
  return { metadata: { name: 'ds' }, spec: { selector: { matchLabels: { a: 'b' } }, template: { spec: { containers: [], ...spec } } } };
}

function affinity(...terms: NodeSelectorTerm[]): Partial<PodSpec> {
  return { affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: terms } } } };
}

describe('where a daemon runs', () => {
  const cases: { name: string; node: NodeObject; spec: Partial<PodSpec>; run: boolean; stay: boolean }[] = [
    { name: 'any node without constraints', node: node('n'), spec: {}, run: true, stay: true },
    { name: 'nodeSelector matching', node: node('n', { zone: 'a' }), spec: { nodeSelector: { zone: 'a' } }, run: true, stay: true },
    { name: 'nodeSelector not matching', node: node('n', { zone: 'b' }), spec: { nodeSelector: { zone: 'a' } }, run: false, stay: false },
    { name: 'affinity In', node: node('n', { zone: 'a' }), spec: affinity({ matchExpressions: [{ key: 'zone', operator: 'In', values: ['a', 'c'] }] }), run: true, stay: true },
    { name: 'affinity NotIn with the label missing', node: node('n'), spec: affinity({ matchExpressions: [{ key: 'zone', operator: 'NotIn', values: ['a'] }] }), run: true, stay: true },
    { name: 'affinity DoesNotExist', node: node('n', { gpu: '' }), spec: affinity({ matchExpressions: [{ key: 'gpu', operator: 'DoesNotExist' }] }), run: false, stay: false },
    { name: 'affinity Gt', node: node('n', { cores: '16' }), spec: affinity({ matchExpressions: [{ key: 'cores', operator: 'Gt', values: ['8'] }] }), run: true, stay: true },
    { name: 'affinity terms are ORed', node: node('n', { zone: 'b' }), spec: affinity({ matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }] }, { matchExpressions: [{ key: 'zone', operator: 'In', values: ['b'] }] }), run: true, stay: true },
    { name: 'affinity on metadata.name', node: node('edge-7'), spec: affinity({ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['edge-7'] }] }), run: true, stay: true },
    { name: 'an empty term selects nothing', node: node('n'), spec: affinity({}), run: false, stay: false },
    { name: 'template pinned to another node', node: node('n'), spec: { nodeName: 'other' }, run: false, stay: false },
    { name: 'untolerated NoSchedule: no new pod, the running one stays', node: node('n', {}, [{ key: 'k', effect: 'NoSchedule' }]), spec: {}, run: false, stay: true },
    { name: 'untolerated NoExecute: evicted', node: node('n', {}, [{ key: 'k', effect: 'NoExecute' }]), spec: {}, run: false, stay: false },
    { name: 'tolerated by key and value', node: node('n', {}, [{ key: 'k', value: 'v', effect: 'NoExecute' }]), spec: { tolerations: [{ key: 'k', operator: 'Equal', value: 'v' }] }, run: true, stay: true },
    { name: 'not tolerated with another value', node: node('n', {}, [{ key: 'k', value: 'w', effect: 'NoSchedule' }]), spec: { tolerations: [{ key: 'k', value: 'v' }] }, run: false, stay: true },
    { name: 'PreferNoSchedule never keeps a daemon off', node: node('n', {}, [{ key: 'k', effect: 'PreferNoSchedule' }]), spec: {}, run: true, stay: true },
    { name: 'an unreachable node keeps its daemon', node: node('n', {}, [{ key: 'node.kubernetes.io/unreachable', effect: 'NoExecute' }]), spec: {}, run: true, stay: true },
    { name: 'a cordoned node still gets its daemon', node: node('n', {}, [{ key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' }]), spec: {}, run: true, stay: true },
    { name: 'network-unavailable only for host-network daemons', node: node('n', {}, [{ key: 'node.kubernetes.io/network-unavailable', effect: 'NoSchedule' }]), spec: { hostNetwork: true }, run: true, stay: true },
    { name: 'network-unavailable keeps pod-network daemons off', node: node('n', {}, [{ key: 'node.kubernetes.io/network-unavailable', effect: 'NoSchedule' }]), spec: {}, run: false, stay: true },
  ];
  for (const c of cases) {
    it(c.name, () => assert.deepEqual(placementOn(c.node, ds(c.spec)), { shouldRun: c.run, shouldContinueRunning: c.stay }));
  }

  it('makes the not-ready toleration permanent even when the template limits it', () => {
    const tolerations = withDaemonTolerations({ containers: [], tolerations: [{ key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 }] });
    const notReady = tolerations.filter((t) => t.key === 'node.kubernetes.io/not-ready');
    assert.deepEqual(notReady, [{ key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute' }]);
  });
});
