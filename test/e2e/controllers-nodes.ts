/**
 * Nodes for the controller scenarios, made the way an operator or an edge would through the API:
 * a Node applied with kubectl, its status (allocatable, Ready) written through the status
 * subresource, and a Lease in kube-node-lease that the test renews as the edge's heartbeat.
 */
import type { KedgeCloud, KubectlVersion } from './harness/index.ts';

export interface NodeSpec {
  readonly labels?: Record<string, string>;
  readonly annotations?: Record<string, string>;
  readonly taints?: readonly { key: string; value?: string; effect: string }[];
  readonly cpu?: string;
  readonly memory?: string;
  readonly pods?: string;
}

const microTime = (d = new Date()): string => d.toISOString().replace('Z', '000Z');
const rfc3339 = (d = new Date()): string => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

/** Applies a Node, marks it Ready with allocatable resources, and creates its Lease. */
export async function registerNode(cloud: KedgeCloud, v: KubectlVersion, name: string, spec: NodeSpec = {}): Promise<void> {
  const node = {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name, ...spec.labels }, ...(spec.annotations ? { annotations: spec.annotations } : {}) },
    spec: spec.taints ? { taints: spec.taints } : {},
  };
  await cloud.kubectlOk(v, ['apply', '-f', '-'], { stdin: JSON.stringify(node) });
  const resources = { cpu: spec.cpu ?? '4', memory: spec.memory ?? '8Gi', pods: spec.pods ?? '110' };
  const status = {
    status: {
      capacity: resources,
      allocatable: resources,
      conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status', lastHeartbeatTime: rfc3339(), lastTransitionTime: rfc3339() }],
    },
  };
  await cloud.kubectlOk(v, ['patch', 'node', name, '--subresource=status', '--type=merge', '-p', JSON.stringify(status)]);
  await renewLease(cloud, name);
}

/** Creates or renews `kube-node-lease/<name>` (a server-side apply, as the edge's heartbeat). */
export async function renewLease(cloud: KedgeCloud, name: string): Promise<void> {
  const lease = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name, namespace: 'kube-node-lease' }, spec: { holderIdentity: name, leaseDurationSeconds: 40, renewTime: microTime() } };
  const res = await cloud.request({
    method: 'PATCH',
    path: `/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/${name}?fieldManager=e2e-heartbeat&force=true`,
    body: JSON.stringify(lease),
    headers: { 'Content-Type': 'application/apply-patch+yaml' },
  });
  if (res.status !== 200 && res.status !== 201) throw new Error(`renewing lease ${name}: HTTP ${res.status} ${res.body}`);
}

/** Heartbeats for a set of nodes every `intervalMs`, until each is stopped. */
export class Heartbeats {
  readonly #cloud: KedgeCloud;
  readonly #timers = new Map<string, NodeJS.Timeout>();
  readonly #intervalMs: number;

  constructor(cloud: KedgeCloud, intervalMs = 500) {
    this.#cloud = cloud;
    this.#intervalMs = intervalMs;
  }

  start(...names: string[]): void {
    for (const name of names) {
      if (this.#timers.has(name)) continue;
      this.#timers.set(
        name,
        setInterval(() => void renewLease(this.#cloud, name).catch(() => undefined), this.#intervalMs),
      );
    }
  }

  stop(...names: string[]): void {
    for (const name of names.length > 0 ? names : [...this.#timers.keys()]) {
      clearInterval(this.#timers.get(name));
      this.#timers.delete(name);
    }
  }
}

/** Creates a namespace with `kubectl apply` (kubectl 1.32+ sends `create` as protobuf, its own scenario elsewhere). */
export async function applyNamespace(cloud: KedgeCloud, v: KubectlVersion, name: string): Promise<void> {
  await cloud.kubectlOk(v, ['apply', '-f', '-'], { stdin: JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } }) });
}
