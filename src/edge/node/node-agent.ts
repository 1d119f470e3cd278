import type { Node, NodeCondition, NodeStatus } from 'kubernetes-types/core/v1.d.ts';
import type { KubeObject } from '../../api/object.ts';
import { canonicalQuantity } from '../../api/quantity.ts';
import type { Logger } from '../../log/logger.ts';
import type { StatusTable } from '../hub/status-table.ts';
import type { MetaManager } from '../meta/meta-manager.ts';
import { goArch, type HostFacts } from './host.ts';
import { compareStrings } from '../../api/compare.ts';
import { rfc3339 } from '../../api/time.ts';

/** The label every edge node carries (KubeEdge's). */
export const EDGE_ROLE_LABEL = 'node-role.kubernetes.io/edge';

/** Where the node's heartbeats go: EdgeHub, which sends them whenever it is connected. */
export interface LeaseSink {
  renewLease(leaseDurationSeconds: number): void;
}

/** Options of {@link NodeAgent}. */
export interface NodeAgentOptions {
  readonly nodeName: string;
  /** User labels (`--labels`), added to the standard ones. */
  readonly labels: Readonly<Record<string, string>>;
  readonly meta: MetaManager;
  readonly statuses: StatusTable;
  readonly lease: LeaseSink;
  /** Reads the host; called at start and at every status check. */
  readonly host: () => HostFacts;
  readonly log: Logger;
  /** @default 40 */
  readonly leaseDurationSeconds?: number;
  /**
   * How often the Lease is renewed. Each renewal is one small frame (about 300 bytes on the wire),
   * which is all an idle node sends.
   * @default 15_000
   */
  readonly leaseRenewIntervalMs?: number;
  /** How often the host is read again for changed capacity or addresses. @default 60_000 */
  readonly statusCheckIntervalMs?: number;
  /** Pods the node accepts. @default 110 */
  readonly maxPods?: number;
  /** @default () => new Date() */
  readonly now?: () => Date;
}

type NodeObject = KubeObject & Node;

/** The conditions the edge owns; the node lifecycle controller turns them Unknown when the node goes silent. */
const CONDITIONS: readonly { type: string; reason: string; message: string; status: 'True' | 'False' }[] = [
  { type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kedge edge is posting ready status' },
  { type: 'MemoryPressure', status: 'False', reason: 'KubeletHasSufficientMemory', message: 'kedge edge has sufficient memory available' },
  { type: 'DiskPressure', status: 'False', reason: 'KubeletHasNoDiskPressure', message: 'kedge edge has no disk pressure' },
  { type: 'PIDPressure', status: 'False', reason: 'KubeletHasSufficientPID', message: 'kedge edge has sufficient PID available' },
];

/**
 * Registers this node and keeps its heartbeat, as the kubelet does with node leases:
 *
 * - registration: the Node object (standard and user labels, capacity, nodeInfo, addresses,
 *   conditions) goes into the status table as an upsert; EdgeHub sends it when it can.
 * - heartbeat: a Lease renewal every interval, a tiny frame; the cloud judges liveness by it.
 * - status: only on change. The reference is the Node the cloud syncs back to this node (through
 *   MetaManager): when the cloud's copy differs from what the edge would report (new addresses,
 *   capacity, or the Unknown conditions the lifecycle controller set during an outage), the edge
 *   reports again. Level-triggered, and without knowing anything about connectivity.
 */
export class NodeAgent {
  readonly #o: NodeAgentOptions;
  readonly #log: Logger;
  readonly #now: () => Date;
  readonly #leaseDuration: number;
  /** The status last put in the table (times excluded), to report only changes. */
  #lastReported: string | undefined;

  constructor(options: NodeAgentOptions) {
    this.#o = options;
    this.#log = options.log;
    this.#now = options.now ?? (() => new Date());
    this.#leaseDuration = options.leaseDurationSeconds ?? 40;
  }

  /** The Node this edge registers: labels, spec and status from the host. */
  desiredNode(host: HostFacts = this.#o.host()): NodeObject {
    const os = host.nodeInfo.operatingSystem;
    const arch = host.nodeInfo.architecture || goArch();
    return {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: {
        name: this.#o.nodeName,
        labels: {
          [EDGE_ROLE_LABEL]: '',
          'kubernetes.io/hostname': this.#o.nodeName,
          'kubernetes.io/os': os,
          'kubernetes.io/arch': arch,
          'beta.kubernetes.io/os': os,
          'beta.kubernetes.io/arch': arch,
          ...this.#o.labels,
        },
      },
      spec: {},
      status: this.#status(host, undefined),
    };
  }

  /**
   * Registers the node, renews its Lease every interval and reports status changes until `signal`
   * aborts. Returns once registered (the registration is durable in the status table).
   */
  start(signal: AbortSignal): Promise<void> {
    const node = this.desiredNode();
    this.#o.statuses.put({ op: 'upsert', kind: 'nodes', name: this.#o.nodeName, object: node });
    this.#lastReported = fingerprint(node.status!);
    this.#log.info('node registration queued', { node: this.#o.nodeName, labels: Object.keys(node.metadata.labels ?? {}).length });

    const renew = (): void => this.#o.lease.renewLease(this.#leaseDuration);
    renew();
    const leaseTimer = setInterval(renew, this.#o.leaseRenewIntervalMs ?? 15_000);
    const checkTimer = setInterval(() => this.#check(), this.#o.statusCheckIntervalMs ?? 60_000);
    const unsubscribe = this.#o.meta.subscribe((changes) => {
      if (changes.some((c) => c.object.kind === 'nodes' && c.object.name === this.#o.nodeName && c.type !== 'DELETED')) this.#check();
    });
    signal.addEventListener(
      'abort',
      () => {
        clearInterval(leaseTimer);
        clearInterval(checkTimer);
        unsubscribe();
      },
      { once: true },
    );
    this.#check();
    return Promise.resolve();
  }

  /** Reports the status if what the edge would say differs from what it last said or from the cloud's copy. */
  #check(): void {
    let host: HostFacts;
    try {
      host = this.#o.host();
    } catch (err) {
      this.#log.warn('cannot read the host; status unchanged', { err: err instanceof Error ? err.message : String(err) });
      return;
    }
    const cloudCopy = this.#o.meta.get('nodes', '', this.#o.nodeName)?.object as NodeObject | undefined;
    const status = this.#status(host, cloudCopy?.status);
    const mine = fingerprint(status);
    const differsFromCloud = cloudCopy !== undefined && fingerprint(cloudCopy.status ?? {}) !== mine;
    if (mine === this.#lastReported && !differsFromCloud) return;
    this.#log.info('reporting node status', { node: this.#o.nodeName, reason: mine !== this.#lastReported ? 'changed on the host' : 'differs from the cloud' });
    this.#o.statuses.put({ op: 'status', kind: 'nodes', name: this.#o.nodeName, status: status as Record<string, unknown> });
    this.#lastReported = mine;
  }

  /** The node status, keeping the transition times of conditions whose status has not changed. */
  #status(host: HostFacts, previous: NodeStatus | undefined): NodeStatus {
    const now = rfc3339(this.#now().getTime());
    const capacity = { cpu: String(host.cpus), memory: `${Math.floor(host.memoryBytes / 1024)}Ki`, pods: String(this.#o.maxPods ?? 110) };
    const conditions: NodeCondition[] = CONDITIONS.map((c) => {
      const before = previous?.conditions?.find((p) => p.type === c.type);
      return {
        type: c.type,
        status: c.status,
        reason: c.reason,
        message: c.message,
        lastHeartbeatTime: now,
        lastTransitionTime: before?.status === c.status && before.lastTransitionTime !== undefined ? before.lastTransitionTime : now,
      };
    });
    return {
      capacity,
      allocatable: { ...capacity },
      conditions,
      addresses: [...host.addresses],
      nodeInfo: { ...host.nodeInfo },
      daemonEndpoints: { kubeletEndpoint: { Port: 0 } },
    };
  }
}

const OWN_CONDITIONS = new Set(CONDITIONS.map((c) => c.type));

/**
 * What a status says about the fields the edge reports, without the timestamps that change every
 * time it is computed. Quantities are compared canonically (the API server may rewrite `1024Ki` as
 * `1Mi`) and conditions others add are ignored: a difference the edge cannot remove must not make
 * it report again and again.
 */
function fingerprint(status: NodeStatus): string {
  const quantities = (q: Record<string, string> | undefined): [string, string][] =>
    Object.entries(q ?? {})
      .map(([k, v]): [string, string] => [k, canonicalQuantity(v) ?? v])
      .sort(([a], [b]) => compareStrings(a, b));
  return JSON.stringify({
    capacity: quantities(status.capacity),
    allocatable: quantities(status.allocatable),
    conditions: (status.conditions ?? [])
      .filter((c) => OWN_CONDITIONS.has(c.type))
      .map((c) => [c.type, c.status, c.reason ?? ''])
      .sort(),
    addresses: (status.addresses ?? []).map((a) => [a.type, a.address]),
    nodeInfo: Object.entries(status.nodeInfo ?? {}).sort(([a], [b]) => compareStrings(a, b)),
  });
}
