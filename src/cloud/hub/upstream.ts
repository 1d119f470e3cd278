import { createHash } from 'node:crypto';
import type { Lease } from 'kubernetes-types/coordination/v1.d.ts';
import type { Event, NodeSpec, Taint } from 'kubernetes-types/core/v1.d.ts';
import type { KubeObject } from '../../api/object.ts';
import { isJsonObject } from '../../api/object.ts';
import { hasCode } from '../../errors/platform-error.ts';
import type { Logger } from '../../log/logger.ts';
import { CsrError, inspectCertificate, parseCsr, signCsr, type CertificateAuthority } from '../../pki/index.ts';
import type { DeviceReport, Envelope, ReportResult } from '../../protocol/envelope.ts';
import { NODES_GROUP, NODE_USER_PREFIX } from '../apiserver/auth/types.ts';
import type { KubeClient, ResourceClient } from '../client/client.ts';
import { publicKeyFingerprint, type NodeIdentities } from '../join/identities.ts';
import { SYNCED_RESOURCES, type DeviceObject, type EdgeObjectIndex, type NodeObject, type PodObject } from './desired.ts';
import { HubError } from './errors.ts';
import { rfc3339, rfc3339Micro } from '../../api/time.ts';

/** Where node heartbeats live. */
export const NODE_LEASE_NAMESPACE = 'kube-node-lease';
/** The role label every edge node carries (KubeEdge's). */
export const EDGE_ROLE_LABEL = 'node-role.kubernetes.io/edge';
/**
 * The taints (`key:effect`) the edge itself set on its Node, comma-separated: the only taints it may change
 * later (NodeRestriction). The unreachable taint of the node lifecycle controller, or an admin's
 * `kubectl taint`, are not the edge's to lift.
 */
export const EDGE_TAINTS_ANNOTATION = 'kedge.io/edge-taints';
/** Labels a node may never set on itself (Kubernetes' NodeRestriction). */
const RESTRICTED_LABEL_PREFIX = 'node-restriction.kubernetes.io/';

type LeaseObject = KubeObject & Lease;
type EventObject = KubeObject & Event;

/**
 * The certificate a session stands on: the key that holds the node name (the TLS certificate's,
 * until the session rotates it) and a way to tell the session it now stands on a new one.
 */
export interface SessionPeer {
  /** Hex SHA-256 of the current certificate's public key. */
  key(): string;
  /** The node rotated its certificate in this session. */
  rotated(fingerprint: string, notAfter: Date): void;
}

/** What answers an edge message: an `ack`, or a `response` with content. */
export type UpstreamResult = { readonly ack: true } | { readonly response: Record<string, unknown> };

const ACK: UpstreamResult = Object.freeze({ ack: true });
const MAX_CONFLICT_RETRIES = 5;

/** Where accepted device reports go: the device controller's report writer, which writes them behind. */
export interface DeviceReportSink {
  /** Takes reports already authorized; never throws, never waits. */
  accept(reports: readonly DeviceReport[]): void;
}

/** Options of {@link Upstream}. */
export interface UpstreamOptions {
  readonly client: KubeClient;
  readonly index: EdgeObjectIndex;
  /** Undefined when devices are not served: reports are then refused. */
  readonly deviceReports: DeviceReportSink | undefined;
  readonly ca: CertificateAuthority;
  readonly identities: NodeIdentities;
  /** Lifetime of certificates issued on rotation. */
  readonly certificateValidityMs: number;
  readonly log: Logger;
  /** @default () => new Date() */
  readonly now?: () => Date;
}

/**
 * Applies what an edge node sends to the API, as that node and only for what is its own: the
 * hub's equivalent of the Node authorizer plus NodeRestriction. A node may patch the status of
 * pods bound to it and of its devices, report its devices' twins and states (written behind by the
 * device report writer), register and update its own Node (labels and its own taints only), renew
 * its Lease, record Events about itself and its pods, delete its pods once stopped, and rotate its
 * certificate. Anything else is a {@link HubError} `HUB_FORBIDDEN`, logged.
 */
export class Upstream {
  readonly #index: EdgeObjectIndex;
  readonly #pods: ResourceClient<PodObject>;
  readonly #nodes: ResourceClient<NodeObject>;
  readonly #leases: ResourceClient<LeaseObject>;
  readonly #events: ResourceClient<EventObject>;
  readonly #devices: ResourceClient<DeviceObject> | undefined;
  readonly #o: UpstreamOptions;
  readonly #now: () => Date;

  constructor(options: UpstreamOptions) {
    this.#o = options;
    this.#index = options.index;
    const { client } = options;
    this.#pods = client.resource('', 'v1', 'pods');
    this.#nodes = client.resource('', 'v1', 'nodes');
    this.#leases = client.resource('coordination.k8s.io', 'v1', 'leases');
    this.#events = client.resource('', 'v1', 'events');
    const d = SYNCED_RESOURCES.devices;
    this.#devices = options.index.devices !== undefined ? client.resource(d.group, d.version, d.plural) : undefined;
    this.#now = options.now ?? (() => new Date());
  }

  /**
   * Handles one edge → cloud message from `node`.
   * @param peer the session's certificate, for rotation.
   * @throws HubError, or the API's error (ApiError) when a write fails.
   */
  async handle(node: string, env: Envelope, peer: SessionPeer): Promise<UpstreamResult> {
    switch (env.route.operation) {
      case 'status':
        return this.#status(node, env as Envelope<'status'>);
      case 'upsert':
        return this.#upsert(node, env as Envelope<'upsert'>);
      case 'lease':
        return this.#lease(node, env as Envelope<'lease'>);
      case 'event':
        return this.#event(node, env as Envelope<'event'>);
      case 'delete':
        return this.#delete(node, env as Envelope<'delete'>);
      case 'csr':
        return this.#csr(node, env as Envelope<'csr'>, peer);
      case 'report':
        return this.#report(node, env as Envelope<'report'>);
      default:
        throw new HubError('HUB_UNSUPPORTED_OPERATION', `the edge may not send ${env.route.operation}`);
    }
  }

  async #status(node: string, env: Envelope<'status'>): Promise<UpstreamResult> {
    const ref = env.route.resource!;
    const patch = { status: env.content.status };
    switch (ref.kind) {
      case 'pods': {
        const pod = this.#ownPod(node, ref.namespace, ref.name, ref.uid);
        if (pod === undefined) return ACK;
        await this.#pods.patch(ref.namespace, ref.name, 'merge', patch, { subresource: 'status' });
        return ACK;
      }
      case 'nodes':
        if (ref.name !== node) throw forbidden(node, `update the status of node ${ref.name}`);
        await this.#nodes.patch(undefined, node, 'merge', patch, { subresource: 'status' });
        return ACK;
      case 'devices': {
        const device = this.#index.devices?.get(ref.namespace, ref.name);
        if (device === undefined || this.#devices === undefined) throw new HubError('HUB_FORBIDDEN', `device ${ref.namespace ?? ''}/${ref.name} does not exist`);
        if (device.spec?.nodeName !== node) throw forbidden(node, `update the status of device ${ref.namespace ?? ''}/${ref.name}, which is not on it`);
        await this.#devices.patch(ref.namespace, ref.name, 'merge', patch, { subresource: 'status' });
        return ACK;
      }
      default:
        throw new HubError('HUB_UNSUPPORTED_OPERATION', `status of ${ref.kind} is not reported by edges`);
    }
  }

  /**
   * A pod bound to `node` (and of `uid`, when given), from the cache; undefined when it no longer
   * exists, which makes a late status or delete a no-op rather than an error the edge would retry.
   * @throws HubError `HUB_FORBIDDEN` when the pod is bound elsewhere.
   */
  #ownPod(node: string, namespace: string | undefined, name: string, uid: string | undefined): PodObject | undefined {
    const pod = this.#index.pods.get(namespace, name);
    if (pod === undefined) return undefined;
    if (pod.spec?.nodeName !== node) throw forbidden(node, `access pod ${namespace ?? ''}/${name}, which is not bound to it`);
    return uid !== undefined && pod.metadata.uid !== uid ? undefined : pod;
  }

  async #upsert(node: string, env: Envelope<'upsert'>): Promise<UpstreamResult> {
    const ref = env.route.resource!;
    if (ref.kind !== 'nodes') throw new HubError('HUB_UNSUPPORTED_OPERATION', `edges upsert only their own Node, not ${ref.kind}`);
    const wanted = env.content as NodeObject;
    if (ref.name !== node || wanted.metadata.name !== node) throw forbidden(node, `register or update node ${wanted.metadata.name ?? ref.name}`);
    const labels = { ...wanted.metadata.labels };
    const restricted = Object.keys(labels).filter((k) => k.startsWith(RESTRICTED_LABEL_PREFIX));
    if (restricted.length > 0) throw forbidden(node, `set the labels ${restricted.join(', ')} (the ${RESTRICTED_LABEL_PREFIX} prefix is reserved for administrators)`);
    const taints = wanted.spec?.taints ?? [];
    for (let attempt = 0; ; attempt++) {
      const current = await this.#nodes.get(undefined, node);
      try {
        if (current === undefined) {
          await this.#nodes.create(undefined, {
            apiVersion: 'v1',
            kind: 'Node',
            metadata: { name: node, labels: { [EDGE_ROLE_LABEL]: '', ...labels }, annotations: { ...wanted.metadata.annotations, [EDGE_TAINTS_ANNOTATION]: taintIds(taints) } },
            spec: { ...wanted.spec, taints },
            ...(wanted.status !== undefined ? { status: wanted.status } : {}),
          });
          return ACK;
        }
        const next = this.#nodeUpdate(node, current, wanted, labels, taints);
        if (next !== undefined) await this.#nodes.update(next);
        if (wanted.status !== undefined) await this.#nodes.patch(undefined, node, 'merge', { status: wanted.status }, { subresource: 'status' });
        return ACK;
      } catch (err) {
        if ((hasCode(err, 'API_CONFLICT') || hasCode(err, 'API_ALREADY_EXISTS')) && attempt < MAX_CONFLICT_RETRIES) continue;
        throw err;
      }
    }
  }

  /**
   * The Node after the edge's update: its labels and annotations added (the ones others set stay),
   * the taints it set before replaced by the ones it asks for now, everything else as it is.
   * Undefined when nothing changes.
   * @throws HubError `HUB_FORBIDDEN` when the edge would change a taint it did not set.
   */
  #nodeUpdate(node: string, current: NodeObject, wanted: NodeObject, labels: Record<string, string>, taints: readonly Taint[]): NodeObject | undefined {
    const owned = new Set((current.metadata.annotations?.[EDGE_TAINTS_ANNOTATION] ?? '').split(',').filter((k) => k !== ''));
    const currentTaints = current.spec?.taints ?? [];
    const others = currentTaints.filter((c) => !owned.has(taintId(c)));
    // A taint someone else set, asked for unchanged (e.g. echoed from the edge's copy of its Node), is left theirs.
    const claimed = taints.filter((t) => {
      const theirs = others.find((c) => taintId(c) === taintId(t));
      if (theirs === undefined) return true;
      if (!sameTaint(theirs, t)) throw forbidden(node, `change the taint ${taintId(t)}, which it did not set`);
      return false;
    });
    const nextTaints = [...others, ...claimed];
    const spec: NodeSpec = { ...current.spec, taints: nextTaints };
    if (nextTaints.length === 0) delete spec.taints;
    const next: NodeObject = {
      ...current,
      metadata: {
        ...current.metadata,
        labels: { ...current.metadata.labels, ...labels },
        annotations: { ...current.metadata.annotations, ...wanted.metadata.annotations, [EDGE_TAINTS_ANNOTATION]: taintIds(claimed) },
      },
      spec,
    };
    const same = JSON.stringify([next.metadata.labels, next.metadata.annotations, next.spec]) === JSON.stringify([current.metadata.labels, current.metadata.annotations, current.spec]);
    return same ? undefined : next;
  }

  async #lease(node: string, env: Envelope<'lease'>): Promise<UpstreamResult> {
    const nodeUid = this.#index.nodes.get(undefined, node)?.metadata.uid;
    // The cloud's clock, not the edge's: the lifecycle controller judges silence by what it
    // observes, and kubectl shows renew times that make sense next to the cloud's.
    await this.#leases.update({
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: {
        name: node,
        namespace: NODE_LEASE_NAMESPACE,
        ...(nodeUid !== undefined ? { ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: node, uid: nodeUid }] } : {}),
      },
      spec: { holderIdentity: node, leaseDurationSeconds: env.content.leaseDurationSeconds, renewTime: rfc3339Micro(this.#now().getTime()) },
    });
    return ACK;
  }

  async #event(node: string, env: Envelope<'event'>): Promise<UpstreamResult> {
    const event = env.content as EventObject;
    const involved = objectReference(event.involvedObject);
    if (involved === undefined) throw new HubError('HUB_FORBIDDEN', 'an event needs an involvedObject with a kind and a name');
    switch (involved.kind) {
      case 'Node':
        if (involved.name !== node) throw forbidden(node, `record events about node ${involved.name}`);
        break;
      case 'Pod':
        // A pod deleted meanwhile is gone from the cache; an event about it is still history worth keeping.
        this.#ownPod(node, involved.namespace, involved.name, involved.uid);
        break;
      case 'Device':
        if (this.#index.devices?.get(involved.namespace, involved.name)?.spec?.nodeName !== node) throw forbidden(node, `record events about device ${involved.namespace ?? ''}/${involved.name}`);
        break;
      default:
        throw forbidden(node, `record events about a ${involved.kind}`);
    }
    const namespace = involved.kind === 'Node' ? 'default' : (involved.namespace ?? 'default');
    // At-least-once delivery: a resent event has the same header id, hence the same name, and
    // its create is refused as a duplicate.
    const name = `${involved.name.slice(0, 200)}.${createHash('sha256').update(`${node}/${env.header.id}`).digest('hex').slice(0, 16)}`;
    try {
      await this.#events.create(namespace, {
        ...event,
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { name, namespace },
        involvedObject: { ...event.involvedObject, namespace: involved.kind === 'Node' ? '' : namespace },
        source: { component: event.source?.component ?? 'kedge-edge', host: node },
        reportingComponent: event.reportingComponent ?? 'kedge-edge',
        reportingInstance: node,
      });
    } catch (err) {
      if (!hasCode(err, 'API_ALREADY_EXISTS')) throw err;
    }
    return ACK;
  }

  async #delete(node: string, env: Envelope<'delete'>): Promise<UpstreamResult> {
    const ref = env.route.resource!;
    if (ref.kind !== 'pods') throw new HubError('HUB_UNSUPPORTED_OPERATION', `edges delete only their stopped pods, not ${ref.kind}`);
    const uid = env.content.uid;
    if (this.#ownPod(node, ref.namespace, ref.name, uid) === undefined) return ACK;
    try {
      // The edge has stopped the pod: this is the kubelet's final delete, with no more grace.
      await this.#pods.delete(ref.namespace, ref.name, { gracePeriodSeconds: 0, preconditions: { uid } });
    } catch (err) {
      if (!hasCode(err, 'API_NOT_FOUND')) throw err;
    }
    return ACK;
  }

  /**
   * Device twins and states, many devices at once: those on this node, as the edge knows them
   * (same uid), go to the report writer; the others are listed back as refused.
   */
  #report(node: string, env: Envelope<'report'>): UpstreamResult {
    const sink = this.#o.deviceReports;
    if (sink === undefined) throw new HubError('HUB_UNSUPPORTED_OPERATION', 'devices.kubeedge.io is not served by this cloud');
    const accepted: DeviceReport[] = [];
    const refused: ReportResult['refused'][number][] = [];
    for (const r of env.content.devices) {
      const device = this.#index.devices?.get(r.namespace, r.name);
      if (device === undefined) refused.push({ namespace: r.namespace, name: r.name, code: 'API_NOT_FOUND', message: `device ${r.namespace}/${r.name} does not exist` });
      else if (device.spec?.nodeName !== node) refused.push({ namespace: r.namespace, name: r.name, ...codeAndMessage(forbidden(node, `report device ${r.namespace}/${r.name}, which is not on it`)) });
      else if (device.metadata.uid !== r.uid) refused.push({ namespace: r.namespace, name: r.name, code: 'API_CONFLICT', message: `device ${r.namespace}/${r.name} was re-created (uid ${device.metadata.uid ?? '?'}, reported ${r.uid})` });
      else accepted.push(r);
    }
    if (accepted.length > 0) sink.accept(accepted);
    if (refused.some((r) => r.code === 'HUB_FORBIDDEN')) this.#o.log.warn('device report refused for devices not on the node', { node, devices: refused.filter((r) => r.code === 'HUB_FORBIDDEN').map((r) => `${r.namespace}/${r.name}`) });
    const result: ReportResult = { refused };
    return { response: { ...result } };
  }

  async #csr(node: string, env: Envelope<'csr'>, peer: SessionPeer): Promise<UpstreamResult> {
    const commonName = `${NODE_USER_PREFIX}${node}`;
    let certificate: string;
    let fingerprint: string;
    try {
      const csr = await parseCsr(env.content.csr);
      fingerprint = publicKeyFingerprint(new Uint8Array(await crypto.subtle.exportKey('spki', csr.publicKey)));
      certificate = await signCsr(this.#o.ca, env.content.csr, { commonName, organizations: [NODES_GROUP], usages: ['client auth'], validityDays: this.#o.certificateValidityMs / 86_400_000, now: this.#now() });
    } catch (err) {
      if (err instanceof CsrError) throw new HubError('HUB_FORBIDDEN', `certificate rotation refused (${err.reason}): ${err.message}`, { cause: err });
      throw err;
    }
    const notAfter = inspectCertificate(certificate).notAfter;
    await this.#o.identities.claim(node, { fingerprint, notAfter }, { replaces: peer.key() });
    peer.rotated(fingerprint, notAfter);
    this.#o.log.info('node certificate rotated', { node, notAfter: rfc3339(notAfter.getTime()) });
    return { response: { certificate, caCertificate: this.#o.ca.certPem } };
  }
}

function codeAndMessage(err: HubError): { code: string; message: string } {
  return { code: err.code, message: err.message };
}

function forbidden(node: string, what: string): HubError {
  return new HubError('HUB_FORBIDDEN', `node ${node} may not ${what}`);
}

/** `key:effect`: a Node holds at most one taint of each. */
function taintId(t: Taint): string {
  return `${t.key}:${t.effect}`;
}

function taintIds(taints: readonly Taint[]): string {
  return [...new Set(taints.map(taintId))].sort().join(',');
}

function sameTaint(a: Taint, b: Taint): boolean {
  return a.key === b.key && a.effect === b.effect && (a.value ?? '') === (b.value ?? '');
}

/** The fields of an event's involvedObject the hub checks, when they are strings; undefined without kind and name. */
function objectReference(v: unknown): { kind: string; name: string; namespace?: string; uid?: string } | undefined {
  if (!isJsonObject(v)) return undefined;
  const text = (k: string): string | undefined => (typeof v[k] === 'string' && v[k] !== '' ? v[k] : undefined);
  const kind = text('kind');
  const name = text('name');
  if (kind === undefined || name === undefined) return undefined;
  const namespace = text('namespace');
  const uid = text('uid');
  return { kind, name, ...(namespace !== undefined ? { namespace } : {}), ...(uid !== undefined ? { uid } : {}) };
}
