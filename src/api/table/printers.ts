/** Row cells of the other built-in kinds, as printers.go computes them (always the wide form). */
import type { CustomResourceDefinition } from 'kubernetes-types/apiextensions/v1.d.ts';
import type { DaemonSet, Deployment, ReplicaSet } from 'kubernetes-types/apps/v1.d.ts';
import type { Scale } from 'kubernetes-types/autoscaling/v1.d.ts';
import type { Lease } from 'kubernetes-types/coordination/v1.d.ts';
import type { ConfigMap, Container, Endpoints, Event, Namespace, Node, Secret, Service, ServiceAccount } from 'kubernetes-types/core/v1.d.ts';
import type { LabelSelector as MetaLabelSelector, ObjectMeta } from 'kubernetes-types/meta/v1.d.ts';
import { labelSelectorFromMeta } from '../selectors/labels.ts';
import { ageSince } from './duration.ts';
import { rfc3339 } from '../time.ts';

const arr = <T>(v: readonly T[] | undefined): readonly T[] => (Array.isArray(v) ? (v as readonly T[]) : []);
const obj = (v: unknown): Record<string, unknown> => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {});
const int = (v: unknown): number => (typeof v === 'number' ? Math.trunc(v) : 0);
const nameOf = (meta: ObjectMeta | undefined): string => meta?.name ?? '';
const age = (meta: ObjectMeta | undefined, now: Date): string => ageSince(meta?.creationTimestamp, now);

/** `labels.FormatLabels`: `a=1,b=2` sorted by key, or `<none>`. */
export function formatLabels(labels: Readonly<Record<string, string>> | undefined): string {
  const entries = Object.entries(obj(labels)).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return entries.length === 0 ? '<none>' : entries.map(([k, v]) => `${k}=${String(v)}`).join(',');
}

/** `LabelSelectorAsSelector(s).String()`: `<invalid>` when it does not convert. */
function selectorString(selector: MetaLabelSelector | undefined): string {
  const r = labelSelectorFromMeta(selector);
  return r.ok ? r.selector.toString() : '<invalid>';
}

/** `metav1.FormatLabelSelector`: like {@link selectorString}, with `<none>` for empty and `<error>` for invalid. */
export function formatLabelSelector(selector: MetaLabelSelector | undefined): string {
  const r = labelSelectorFromMeta(selector);
  if (!r.ok) return '<error>';
  const s = r.selector.toString();
  return s === '' ? '<none>' : s;
}

/** `layoutContainerCells`: names and images, comma-separated. */
function containerCells(containers: readonly Container[] | undefined): [string, string] {
  const cs = arr(containers);
  return [cs.map((c) => c.name).join(','), cs.map((c) => c.image ?? '').join(',')];
}

export function namespaceCells(ns: Namespace, now: Date): unknown[] {
  return [nameOf(ns.metadata), ns.status?.phase ?? '', age(ns.metadata, now)];
}

/** `findNodeRoles`: `node-role.kubernetes.io/<role>` keys and `kubernetes.io/role` values, sorted. */
function nodeRoles(labels: Readonly<Record<string, string>> | undefined): string[] {
  const roles = new Set<string>();
  for (const [k, v] of Object.entries(obj(labels))) {
    if (k.startsWith('node-role.kubernetes.io/')) {
      const role = k.slice('node-role.kubernetes.io/'.length);
      if (role !== '') roles.add(role);
    } else if (k === 'kubernetes.io/role' && v !== '') {
      roles.add(String(v));
    }
  }
  return [...roles].sort();
}

/** NAME STATUS ROLES AGE VERSION INTERNAL-IP EXTERNAL-IP OS-IMAGE KERNEL-VERSION CONTAINER-RUNTIME. */
export function nodeCells(node: Node, now: Date): unknown[] {
  const ready = arr(node.status?.conditions).find((c) => c.type === 'Ready');
  const status = ready === undefined ? ['Unknown'] : [ready.status === 'True' ? 'Ready' : 'NotReady'];
  if (node.spec?.unschedulable === true) status.push('SchedulingDisabled');
  const roles = nodeRoles(node.metadata?.labels).join(',');
  const info = node.status?.nodeInfo;
  const address = (type: string): string => arr(node.status?.addresses).find((a) => a.type === type)?.address ?? '<none>';
  return [
    nameOf(node.metadata),
    status.join(','),
    roles === '' ? '<none>' : roles,
    age(node.metadata, now),
    info?.kubeletVersion ?? '',
    address('InternalIP'),
    address('ExternalIP'),
    info?.osImage || '<unknown>',
    info?.kernelVersion || '<unknown>',
    info?.containerRuntimeVersion || '<unknown>',
  ];
}

export function configMapCells(cm: ConfigMap, now: Date): unknown[] {
  return [nameOf(cm.metadata), Object.keys(obj(cm.data)).length + Object.keys(obj(cm.binaryData)).length, age(cm.metadata, now)];
}

export function secretCells(secret: Secret, now: Date): unknown[] {
  return [nameOf(secret.metadata), secret.type ?? '', Object.keys(obj(secret.data)).length, age(secret.metadata, now)];
}

/** `getServiceExternalIP` (wide: load balancer addresses are not clipped). */
function serviceExternalIP(svc: Service): string {
  const spec = svc.spec ?? {};
  const externalIPs = arr(spec.externalIPs);
  switch (spec.type) {
    case 'ClusterIP':
    case 'NodePort':
      return externalIPs.length > 0 ? externalIPs.join(',') : '<none>';
    case 'LoadBalancer': {
      const ingress = new Set<string>();
      for (const i of arr(svc.status?.loadBalancer?.ingress)) {
        if (i.ip) ingress.add(i.ip);
        else if (i.hostname) ingress.add(i.hostname);
      }
      const lb = [...ingress].sort();
      if (externalIPs.length > 0) return [...lb, ...externalIPs].join(',');
      return lb.length > 0 ? lb.join(',') : '<pending>';
    }
    case 'ExternalName':
      return spec.externalName ?? '';
    default:
      return '<unknown>';
  }
}

/** NAME TYPE CLUSTER-IP EXTERNAL-IP PORT(S) AGE SELECTOR. */
export function serviceCells(svc: Service, now: Date): unknown[] {
  const spec = svc.spec ?? {};
  const ports = arr(spec.ports)
    .map((p) => (p.nodePort ? `${p.port}:${p.nodePort}/${p.protocol ?? ''}` : `${p.port}/${p.protocol ?? ''}`))
    .join(',');
  return [
    nameOf(svc.metadata),
    spec.type ?? '',
    arr(spec.clusterIPs)[0] ?? '<none>',
    serviceExternalIP(svc),
    ports === '' ? '<none>' : ports,
    age(svc.metadata, now),
    formatLabels(spec.selector),
  ];
}

/** `net.JoinHostPort`: IPv6 literals are bracketed. */
function joinHostPort(host: string, port: number | undefined): string {
  return host.includes(':') ? `[${host}]:${port ?? 0}` : `${host}:${port ?? 0}`;
}

/** `formatEndpoints`: the first three `ip:port` pairs and how many more there are. */
export function formatEndpoints(ep: Endpoints): string {
  const subsets = arr(ep.subsets);
  if (subsets.length === 0) return '<none>';
  const max = 3;
  const list: string[] = [];
  let count = 0;
  let more = false;
  for (const ss of subsets) {
    const addresses = arr(ss.addresses);
    const ports = arr(ss.ports);
    // Headless services may have endpoints without ports.
    const pairs = ports.length === 0 ? [undefined] : ports;
    for (const port of pairs) {
      count += addresses.length;
      for (const a of addresses) {
        if (list.length === max) {
          more = true;
          break;
        }
        list.push(port === undefined ? a.ip : joinHostPort(a.ip, port.port));
      }
    }
  }
  const joined = list.join(',');
  return more ? `${joined} + ${count - max} more...` : joined;
}

export function endpointsCells(ep: Endpoints, now: Date): unknown[] {
  return [nameOf(ep.metadata), formatEndpoints(ep), age(ep.metadata, now)];
}

/** LAST SEEN TYPE REASON OBJECT SUBOBJECT SOURCE MESSAGE FIRST SEEN COUNT NAME. */
export function eventCells(event: Event, now: Date): unknown[] {
  const first = event.firstTimestamp ? ageSince(event.firstTimestamp, now) : ageSince(event.eventTime, now);
  let last = event.lastTimestamp ? ageSince(event.lastTimestamp, now) : first;
  let count = int(event.count);
  if (event.series != null) {
    last = ageSince(event.series.lastObservedTime, now);
    count = int(event.series.count);
  } else if (count === 0) {
    // Events of the new API are singletons without a count.
    count = 1;
  }
  const involved = event.involvedObject ?? {};
  const kind = (involved.kind ?? '').toLowerCase();
  const target = involved.name ? `${kind}/${involved.name}` : kind;
  const component = event.source?.component || event.reportingComponent || '';
  const instance = event.source?.host || event.reportingInstance || '';
  return [
    last,
    event.type ?? '',
    event.reason ?? '',
    target,
    involved.fieldPath ?? '',
    instance === '' ? component : `${component}, ${instance}`,
    (event.message ?? '').trim(),
    first,
    count,
    nameOf(event.metadata),
  ];
}

export function serviceAccountCells(sa: ServiceAccount, now: Date): unknown[] {
  return [nameOf(sa.metadata), arr(sa.secrets).length, age(sa.metadata, now)];
}

export function leaseCells(lease: Lease, now: Date): unknown[] {
  return [nameOf(lease.metadata), lease.spec?.holderIdentity ?? '', age(lease.metadata, now)];
}

/** NAME READY UP-TO-DATE AVAILABLE AGE CONTAINERS IMAGES SELECTOR. */
export function deploymentCells(d: Deployment, now: Date): unknown[] {
  const [names, images] = containerCells(d.spec?.template?.spec?.containers);
  const s = d.status ?? {};
  return [
    nameOf(d.metadata),
    `${int(s.readyReplicas)}/${int(d.spec?.replicas)}`,
    int(s.updatedReplicas),
    int(s.availableReplicas),
    age(d.metadata, now),
    names,
    images,
    selectorString(d.spec?.selector),
  ];
}

/** NAME DESIRED CURRENT READY AGE CONTAINERS IMAGES SELECTOR. */
export function replicaSetCells(rs: ReplicaSet, now: Date): unknown[] {
  const [names, images] = containerCells(rs.spec?.template?.spec?.containers);
  return [
    nameOf(rs.metadata),
    int(rs.spec?.replicas),
    int(rs.status?.replicas),
    int(rs.status?.readyReplicas),
    age(rs.metadata, now),
    names,
    images,
    formatLabelSelector(rs.spec?.selector),
  ];
}

/** NAME DESIRED CURRENT READY UP-TO-DATE AVAILABLE NODE SELECTOR AGE CONTAINERS IMAGES SELECTOR. */
export function daemonSetCells(ds: DaemonSet, now: Date): unknown[] {
  const [names, images] = containerCells(ds.spec?.template?.spec?.containers);
  const s = ds.status;
  return [
    nameOf(ds.metadata),
    int(s?.desiredNumberScheduled),
    int(s?.currentNumberScheduled),
    int(s?.numberReady),
    int(s?.updatedNumberScheduled),
    int(s?.numberAvailable),
    formatLabels(ds.spec?.template?.spec?.nodeSelector),
    age(ds.metadata, now),
    names,
    images,
    formatLabelSelector(ds.spec?.selector),
  ];
}

/** NAME DESIRED AVAILABLE AGE. */
export function scaleCells(scale: Scale, now: Date): unknown[] {
  return [nameOf(scale.metadata), int(scale.spec?.replicas), int(scale.status?.replicas), age(scale.metadata, now)];
}

/** NAME CREATED AT: the default table convertor, which CustomResourceDefinitions use. */
export function createdAtCells(meta: ObjectMeta | undefined): unknown[] {
  const t = Date.parse(meta?.creationTimestamp ?? '');
  // Go formats the zero time this way when an object has no creation timestamp.
  return [nameOf(meta), Number.isNaN(t) ? '0001-01-01T00:00:00Z' : rfc3339(t)];
}

export function crdCells(crd: CustomResourceDefinition): unknown[] {
  return createdAtCells(crd.metadata);
}
