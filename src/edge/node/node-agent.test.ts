import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Node } from 'kubernetes-types/core/v1.d.ts';
import { silentLogger } from '../../log/logger.ts';
import { openEdgeDatabase } from '../db.ts';
import { StatusTable } from '../hub/status-table.ts';
import { MetaManager } from '../meta/meta-manager.ts';
import { readHostFacts, type HostFacts } from './host.ts';
import { EDGE_ROLE_LABEL, NodeAgent } from './node-agent.ts';

const host: HostFacts = {
  hostname: 'box',
  cpus: 4,
  memoryBytes: 8 * 1024 ** 3,
  addresses: [
    { type: 'InternalIP', address: '10.0.0.7' },
    { type: 'Hostname', address: 'box' },
  ],
  nodeInfo: { machineID: 'm', systemUUID: 's', bootID: 'b', kernelVersion: '6.1', osImage: 'Debian', containerRuntimeVersion: 'unknown://0.0.0', kubeletVersion: 'v0.1.0', kubeProxyVersion: '', operatingSystem: 'linux', architecture: 'amd64' },
};

function setup(t: { after(fn: () => void): void }, facts: () => HostFacts = () => host) {
  const db = openEdgeDatabase(':memory:');
  const meta = new MetaManager({ db, log: silentLogger() });
  const statuses = new StatusTable(db);
  const leases: number[] = [];
  const agent = new NodeAgent({ nodeName: 'edge-1', labels: { zone: 'a' }, meta, statuses, lease: { renewLease: (s) => leases.push(s) }, host: facts, log: silentLogger(), leaseRenewIntervalMs: 20, statusCheckIntervalMs: 3_600_000 });
  const abort = new AbortController();
  t.after(() => abort.abort());
  return { agent, meta, statuses, leases, abort };
}

test('the node registers with labels, capacity, nodeInfo, addresses and a Ready condition', async (t) => {
  const { agent, statuses, abort } = setup(t);
  await agent.start(abort.signal);
  const [reg] = statuses.pending();
  assert.equal(reg?.op, 'upsert');
  const node = (reg as { object: Node }).object;
  assert.equal(node.metadata?.name, 'edge-1');
  assert.equal(node.metadata?.labels?.[EDGE_ROLE_LABEL], '');
  assert.equal(node.metadata?.labels?.['zone'], 'a');
  assert.equal(node.metadata?.labels?.['kubernetes.io/os'], 'linux');
  assert.deepEqual(node.status?.capacity, { cpu: '4', memory: '8388608Ki', pods: '110' });
  assert.deepEqual(node.status?.allocatable, node.status?.capacity);
  assert.equal(node.status?.nodeInfo?.kubeletVersion, 'v0.1.0');
  assert.deepEqual(node.status?.addresses?.map((a) => a.type), ['InternalIP', 'Hostname']);
  assert.equal(node.status?.conditions?.find((c) => c.type === 'Ready')?.status, 'True');
});

test('the lease is renewed every interval', async (t) => {
  const { agent, leases, abort } = setup(t);
  await agent.start(abort.signal);
  await new Promise((r) => setTimeout(r, 90));
  assert.ok(leases.length >= 3, `${leases.length} renewals`);
  assert.ok(leases.every((s) => s === 40));
});

test('status is reported again when the cloud\'s copy of the Node says otherwise (e.g. Unknown after an outage), and only then', async (t) => {
  const { agent, meta, statuses, abort } = setup(t);
  await agent.start(abort.signal);
  statuses.settle(statuses.pending()[0]!);
  const registered = agent.desiredNode();
  // The cloud's copy as the API server stores it: same status, quantities canonical, an extra condition.
  const stored = {
    ...registered,
    metadata: { ...registered.metadata, uid: 'node-uid', resourceVersion: '5' },
    status: { ...registered.status, capacity: { cpu: '4', memory: '8Gi', pods: '110' }, conditions: [...(registered.status?.conditions ?? []), { type: 'NetworkUnavailable', status: 'False' }] },
  };
  meta.applyBatch([{ op: 'upsert', kind: 'nodes', object: stored }]);
  assert.equal(statuses.size, 0, 'an equivalent copy is not reported again');

  const unknown = {
    ...stored,
    metadata: { ...stored.metadata, resourceVersion: '6' },
    status: { ...stored.status, conditions: stored.status.conditions.map((c) => (c.type === 'Ready' ? { ...c, status: 'Unknown', reason: 'NodeStatusUnknown' } : c)) },
  };
  const readyBefore = registered.status!.conditions!.find((c) => c.type === 'Ready')!;
  meta.applyBatch([{ op: 'upsert', kind: 'nodes', object: unknown }]);
  const [report] = statuses.pending();
  assert.equal(report?.op, 'status');
  const conditions = (report as { status: Node['status'] }).status!.conditions!;
  const ready = conditions.find((c) => c.type === 'Ready')!;
  assert.equal(ready.status, 'True');
  assert.notEqual(ready.lastTransitionTime, undefined);
  assert.ok(ready.lastTransitionTime! >= readyBefore.lastTransitionTime!, 'Ready transitions from Unknown');
});

test('host facts are read from this machine', () => {
  const facts = readHostFacts({ kedgeVersion: '1.2.3' });
  assert.ok(facts.cpus >= 1);
  assert.ok(facts.memoryBytes > 0);
  assert.equal(facts.nodeInfo.kubeletVersion, 'v1.2.3');
  assert.ok(facts.addresses.some((a) => a.type === 'InternalIP'));
  assert.ok(facts.nodeInfo.kernelVersion !== '');
});
