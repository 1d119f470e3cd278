/**
 * Defaulting of the other core/v1 kinds, and of CustomResourceDefinitions. Where Kubernetes fills a
 * field in its REST strategy or conversion rather than its defaulter (Service IP families, Secret
 * `stringData`), the same value is filled here so every stored object looks as it would on a real
 * cluster; allocation (cluster IPs, node ports) stays with the server.
 */
import type { CustomResourceDefinition } from 'kubernetes-types/apiextensions/v1.d.ts';
import type { Endpoints, Namespace, Node, Secret, Service } from 'kubernetes-types/core/v1.d.ts';
import { isObject } from '../validation/util.ts';
import { canonicalizeQuantities } from './pod.ts';

/** The label every namespace carries with its own name (`v1.LabelMetadataName`). */
export const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';

/** `SetDefaults_Namespace` and `SetDefaults_NamespaceStatus`: the name label and phase Active. */
export function defaultNamespace(ns: Namespace): void {
  const meta = ns.metadata;
  if (isObject(meta) && typeof meta.name === 'string' && meta.name !== '') {
    if (!isObject(meta.labels)) meta.labels = {};
    meta.labels[NAMESPACE_NAME_LABEL] = meta.name;
  }
  if (!isObject(ns.status)) ns.status = {};
  ns.status.phase ||= 'Active';
}

/** `SetDefaults_NodeStatus`: allocatable is the capacity until the node says otherwise. */
export function defaultNode(node: Node): void {
  const status = node.status;
  if (!isObject(status)) return;
  canonicalizeQuantities(status.capacity);
  canonicalizeQuantities(status.allocatable);
  if (status.allocatable === undefined && isObject(status.capacity)) status.allocatable = { ...status.capacity };
}

/**
 * `SetDefaults_Secret` (type Opaque) and the v1 conversion of `stringData`: its entries are
 * written into `data` (base64, overriding) and the field itself is never stored.
 */
export function defaultSecret(secret: Secret): void {
  secret.type ||= 'Opaque';
  if (isObject(secret.stringData)) {
    if (!isObject(secret.data)) secret.data = {};
    const encoder = new TextEncoder();
    for (const [k, v] of Object.entries(secret.stringData)) {
      if (typeof v === 'string') secret.data[k] = btoa(String.fromCharCode(...encoder.encode(v)));
    }
  }
  delete secret.stringData;
}

/** `service.ExternallyAccessible`. */
function externallyAccessible(spec: NonNullable<Service['spec']>): boolean {
  return spec.type === 'LoadBalancer' || spec.type === 'NodePort' || (spec.type === 'ClusterIP' && (spec.externalIPs?.length ?? 0) > 0);
}

/**
 * `SetDefaults_Service`, the strategy's cluster IP normalization (`clusterIP` and `clusterIPs`
 * mirror each other) and the single-stack IPv4 family kedge's allocator assigns.
 */
export function defaultService(svc: Service): void {
  if (!isObject(svc.spec)) svc.spec = {};
  const spec = svc.spec;
  spec.sessionAffinity ||= 'None';
  if (spec.sessionAffinity === 'None') delete spec.sessionAffinityConfig;
  spec.type ||= 'ClusterIP';
  for (const p of Array.isArray(spec.ports) ? spec.ports : []) {
    if (!isObject(p)) continue;
    p.protocol ||= 'TCP';
    if (p.targetPort === undefined || p.targetPort === 0 || p.targetPort === '') p.targetPort = p.port;
  }
  if (externallyAccessible(spec)) spec.externalTrafficPolicy ||= 'Cluster';
  if (spec.type === 'NodePort' || spec.type === 'LoadBalancer' || spec.type === 'ClusterIP') spec.internalTrafficPolicy ??= 'Cluster';
  if (spec.type === 'LoadBalancer') spec.allocateLoadBalancerNodePorts ??= true;
  if (spec.type === 'ExternalName') return;
  if (typeof spec.clusterIP === 'string' && spec.clusterIP !== '' && (spec.clusterIPs?.length ?? 0) === 0) spec.clusterIPs = [spec.clusterIP];
  if ((spec.clusterIP ?? '') === '' && typeof spec.clusterIPs?.[0] === 'string') spec.clusterIP = spec.clusterIPs[0];
  spec.ipFamilyPolicy ??= 'SingleStack';
  if ((spec.ipFamilies?.length ?? 0) === 0) spec.ipFamilies = ['IPv4'];
}

/** `SetDefaults_EndpointPort`: TCP. */
export function defaultEndpoints(ep: Endpoints): void {
  for (const subset of Array.isArray(ep.subsets) ? ep.subsets : []) {
    for (const p of Array.isArray(subset?.ports) ? subset.ports : []) if (isObject(p)) p.protocol ||= 'TCP';
  }
}

/** `SetDefaults_CustomResourceDefinitionSpec`: singular and list kind from the kind, no conversion. */
export function defaultCRD(crd: CustomResourceDefinition): void {
  const spec = crd.spec;
  if (!isObject(spec)) return;
  if (isObject(spec.names)) {
    const kind = typeof spec.names.kind === 'string' ? spec.names.kind : '';
    spec.names.singular ||= kind.toLowerCase();
    if (!spec.names.listKind && kind !== '') spec.names.listKind = `${kind}List`;
  }
  if (!isObject(spec.conversion)) spec.conversion = { strategy: 'None' };
  const service = spec.conversion.webhook?.clientConfig?.service;
  if (isObject(service)) service.port ??= 443;
}
