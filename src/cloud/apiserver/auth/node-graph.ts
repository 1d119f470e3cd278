import type { Container, EphemeralContainer, Pod, PodSpec, Volume } from 'kubernetes-types/core/v1.d.ts';
import type { KubeObject } from '../../../api/object.ts';

/** Objects a node may read because one of its pods uses them. */
export type PodReferencedKind = 'configmaps' | 'secrets' | 'serviceaccounts' | 'persistentvolumeclaims';

/**
 * The relationships the node authorizer needs, answered from the API server's caches: which pods
 * are bound to a node, which objects those pods use, and which devices sit behind it. Every answer
 * must reflect the current state (a pod that moved away must stop granting access), and must be
 * cheap: it runs for every request a node makes.
 */
export interface NodeGraph {
  /** True when pod `namespace/name` has `spec.nodeName === node`. */
  podBoundTo(node: string, namespace: string, name: string): boolean;
  /** True when some pod bound to `node` uses `kind` `namespace/name` (volumes, env, image pull secrets, service account). */
  referencedByNodePods(node: string, kind: PodReferencedKind, namespace: string, name: string): boolean;
  /** True when device `namespace/name` (devices.kubeedge.io) has `spec.nodeName === node`. */
  deviceOnNode(node: string, namespace: string, name: string): boolean;
  /** True when some device on `node` refers to device model `namespace/name`. */
  deviceModelUsedByNode(node: string, namespace: string, name: string): boolean;
}

/** A Device as far as the graph is concerned (devices.kubeedge.io/v1beta1). */
export type DeviceObject = KubeObject & { spec?: { nodeName?: string; deviceModelRef?: { name?: string } } };

type EdgeKind = PodReferencedKind | 'pods' | 'devices' | 'devicemodels';

interface Source {
  readonly uid: string | undefined;
  readonly node: string;
  /** `kind/namespace/name` of everything this object links its node to, itself included. */
  readonly edges: readonly string[];
}

/**
 * An in-memory {@link NodeGraph} fed with pod and device events (from informers or the watch
 * cache). Each node keeps a reference count per object, so an object shared by two pods on a node
 * stays readable until both are gone. Lookups are O(1).
 */
export class NodeGraphIndex implements NodeGraph {
  /** `pods/ns/name` or `devices/ns/name` → what that object contributed. */
  readonly #sources = new Map<string, Source>();
  /** node → `kind/ns/name` → number of sources linking it. */
  readonly #byNode = new Map<string, Map<string, number>>();

  /** Adds or replaces a pod. A pod without `spec.nodeName` (not scheduled yet) links nothing. */
  upsertPod(pod: Pod): void {
    const namespace = pod.metadata?.namespace ?? 'default';
    const name = pod.metadata?.name ?? '';
    const node = pod.spec?.nodeName;
    this.#replace(key('pods', namespace, name), pod.metadata?.uid, node === undefined || node === '' ? undefined : { node, edges: podEdges(namespace, name, pod.spec ?? { containers: [] }) });
  }

  /** Removes a pod. A stale delete (another uid than the one indexed) is ignored. */
  deletePod(pod: Pod): void {
    this.#remove(key('pods', pod.metadata?.namespace ?? 'default', pod.metadata?.name ?? ''), pod.metadata?.uid);
  }

  /** Adds or replaces a device. */
  upsertDevice(device: DeviceObject): void {
    const namespace = device.metadata.namespace ?? 'default';
    const name = device.metadata.name ?? '';
    const node = device.spec?.nodeName;
    const model = device.spec?.deviceModelRef?.name;
    const edges = [key('devices', namespace, name), ...(model !== undefined && model !== '' ? [key('devicemodels', namespace, model)] : [])];
    this.#replace(key('devices', namespace, name), device.metadata.uid, node === undefined || node === '' ? undefined : { node, edges });
  }

  /** Removes a device. */
  deleteDevice(device: DeviceObject): void {
    this.#remove(key('devices', device.metadata.namespace ?? 'default', device.metadata.name ?? ''), device.metadata.uid);
  }

  podBoundTo(node: string, namespace: string, name: string): boolean {
    return this.#has(node, key('pods', namespace, name));
  }

  referencedByNodePods(node: string, kind: PodReferencedKind, namespace: string, name: string): boolean {
    return this.#has(node, key(kind, namespace, name));
  }

  deviceOnNode(node: string, namespace: string, name: string): boolean {
    return this.#has(node, key('devices', namespace, name));
  }

  deviceModelUsedByNode(node: string, namespace: string, name: string): boolean {
    return this.#has(node, key('devicemodels', namespace, name));
  }

  #has(node: string, edge: string): boolean {
    return (this.#byNode.get(node)?.get(edge) ?? 0) > 0;
  }

  #replace(sourceKey: string, uid: string | undefined, next: { node: string; edges: string[] } | undefined): void {
    const previous = this.#sources.get(sourceKey);
    if (previous !== undefined) this.#unlink(previous);
    if (next === undefined) {
      this.#sources.delete(sourceKey);
      return;
    }
    const source: Source = { uid, node: next.node, edges: [...new Set(next.edges)] };
    this.#sources.set(sourceKey, source);
    let counts = this.#byNode.get(source.node);
    if (counts === undefined) {
      counts = new Map();
      this.#byNode.set(source.node, counts);
    }
    for (const e of source.edges) counts.set(e, (counts.get(e) ?? 0) + 1);
  }

  #remove(sourceKey: string, uid: string | undefined): void {
    const previous = this.#sources.get(sourceKey);
    if (previous === undefined) return;
    // A delete for an older incarnation must not unlink a pod recreated under the same name.
    if (uid !== undefined && previous.uid !== undefined && uid !== previous.uid) return;
    this.#unlink(previous);
    this.#sources.delete(sourceKey);
  }

  #unlink(source: Source): void {
    const counts = this.#byNode.get(source.node);
    if (counts === undefined) return;
    for (const e of source.edges) {
      const n = (counts.get(e) ?? 0) - 1;
      if (n > 0) counts.set(e, n);
      else counts.delete(e);
    }
    if (counts.size === 0) this.#byNode.delete(source.node);
  }
}

function key(kind: EdgeKind, namespace: string, name: string): string {
  return `${kind}/${namespace}/${name}`;
}

/**
 * Everything a pod uses, as Kubernetes' node graph populator collects it (`VisitPodSecretNames`,
 * `VisitPodConfigmapNames`, PVCs, the service account), all in the pod's namespace.
 */
function podEdges(namespace: string, podName: string, spec: PodSpec): string[] {
  const edges = [key('pods', namespace, podName)];
  const add = (kind: PodReferencedKind, name: string | undefined): void => {
    if (name !== undefined && name !== '') edges.push(key(kind, namespace, name));
  };
  for (const s of spec.imagePullSecrets ?? []) add('secrets', s.name);
  add('serviceaccounts', spec.serviceAccountName ?? spec.serviceAccount);
  const containers: (Container | EphemeralContainer)[] = [...(spec.initContainers ?? []), ...spec.containers, ...(spec.ephemeralContainers ?? [])];
  for (const c of containers) {
    for (const from of c.envFrom ?? []) {
      add('configmaps', from.configMapRef?.name);
      add('secrets', from.secretRef?.name);
    }
    for (const env of c.env ?? []) {
      add('configmaps', env.valueFrom?.configMapKeyRef?.name);
      add('secrets', env.valueFrom?.secretKeyRef?.name);
    }
  }
  for (const v of spec.volumes ?? []) volumeEdges(v, podName, add);
  return edges;
}

function volumeEdges(v: Volume, podName: string, add: (kind: PodReferencedKind, name: string | undefined) => void): void {
  add('configmaps', v.configMap?.name);
  add('secrets', v.secret?.secretName);
  for (const source of v.projected?.sources ?? []) {
    add('configmaps', source.configMap?.name);
    add('secrets', source.secret?.name);
  }
  add('persistentvolumeclaims', v.persistentVolumeClaim?.claimName);
  // A generic ephemeral volume's claim is named `<pod>-<volume>` by the ephemeral volume controller.
  if (v.ephemeral !== undefined) add('persistentvolumeclaims', `${podName}-${v.name}`);
  // Volume plugins that authenticate to their storage with a secret.
  add('secrets', v.azureFile?.secretName);
  add('secrets', v.cephfs?.secretRef?.name);
  add('secrets', v.cinder?.secretRef?.name);
  add('secrets', v.flexVolume?.secretRef?.name);
  add('secrets', v.iscsi?.secretRef?.name);
  add('secrets', v.rbd?.secretRef?.name);
  add('secrets', v.scaleIO?.secretRef.name);
  add('secrets', v.storageos?.secretRef?.name);
  add('secrets', v.csi?.nodePublishSecretRef?.name);
}
