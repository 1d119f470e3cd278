import type { Container, EphemeralContainer, Node, Pod, Volume } from 'kubernetes-types/core/v1.d.ts';
import type { KubeObject } from '../../api/object.ts';
import { DEVICES_GROUP, DEVICES_VERSION, type DeviceObject } from '../../protocol/devices.ts';
import type { SyncedKind } from '../../protocol/envelope.ts';
import type { SharedInformers } from '../controllers/runtime/shared-informers.ts';
import type { Informer} from '../controllers/runtime/informer.ts';
import { objectKey } from '../controllers/runtime/informer.ts';

export type PodObject = KubeObject & Pod;
export type NodeObject = KubeObject & Node;
export type { DeviceObject } from '../../protocol/devices.ts';

/** Where each synced kind is served. */
export const SYNCED_RESOURCES: Readonly<Record<SyncedKind, { readonly group: string; readonly version: string; readonly plural: string }>> = {
  pods: { group: '', version: 'v1', plural: 'pods' },
  configmaps: { group: '', version: 'v1', plural: 'configmaps' },
  secrets: { group: '', version: 'v1', plural: 'secrets' },
  nodes: { group: '', version: 'v1', plural: 'nodes' },
  devices: { group: DEVICES_GROUP, version: DEVICES_VERSION, plural: 'devices' },
  devicemodels: { group: DEVICES_GROUP, version: DEVICES_VERSION, plural: 'devicemodels' },
};

/**
 * The order objects are sent in: what a pod or device needs arrives before it, so the edge can
 * start a pod as soon as it lands. Deletes go in the reverse order.
 */
export const SEND_ORDER: readonly SyncedKind[] = ['nodes', 'configmaps', 'secrets', 'devicemodels', 'devices', 'pods'];

/** One object a node should hold. */
export interface DesiredObject {
  readonly kind: SyncedKind;
  readonly object: KubeObject;
}

const BY_NODE = 'node';
const BY_REFERENCE = 'reference';
const BY_MODEL = 'model';

/** The node a pod is bound to, or a device is on. */
function nodeOf(obj: PodObject | DeviceObject): string[] {
  const n = obj.spec?.nodeName;
  return n === undefined || n === '' ? [] : [n];
}

/**
 * The ConfigMaps and Secrets a pod uses (volumes, projected sources, env, envFrom, image pull
 * secrets), as `configmaps/<ns>/<name>` and `secrets/<ns>/<name>`: what its edge needs to run it.
 * Secrets that only volume plugins talking to remote storage use are not among them: an edge
 * node has no such plugins.
 */
export function podReferences(pod: PodObject): string[] {
  const ns = pod.metadata.namespace ?? 'default';
  const refs = new Set<string>();
  const add = (kind: 'configmaps' | 'secrets', name: string | undefined): void => {
    if (name !== undefined && name !== '') refs.add(`${kind}/${ns}/${name}`);
  };
  const spec = pod.spec;
  if (spec === undefined) return [];
  for (const s of spec.imagePullSecrets ?? []) add('secrets', s.name);
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
  for (const v of spec.volumes ?? ([] as Volume[])) {
    add('configmaps', v.configMap?.name);
    add('secrets', v.secret?.secretName);
    for (const source of v.projected?.sources ?? []) {
      add('configmaps', source.configMap?.name);
      add('secrets', source.secret?.name);
    }
  }
  return [...refs];
}

function modelOf(device: DeviceObject): string[] {
  const model = device.spec?.deviceModelRef?.name;
  return model === undefined || model === '' ? [] : [`${device.metadata.namespace ?? 'default'}/${model}`];
}

/**
 * What every edge node should hold, answered from one set of shared informers (pods, configmaps,
 * secrets, nodes, devices, device models) with indexes by node, by referenced object and by
 * model: the cost is per object in the cluster, not per node, and a node's desired set is computed
 * on demand from the indexes in O(its own objects).
 *
 * Every change is reported through `onChange` as the nodes whose desired set it may alter; the
 * hub then diffs those nodes' sessions (level-triggered: the diff, not the event, decides what is
 * sent).
 */
export class EdgeObjectIndex {
  readonly pods: Informer<PodObject>;
  readonly configMaps: Informer<KubeObject>;
  readonly secrets: Informer<KubeObject>;
  readonly nodes: Informer<NodeObject>;
  /** Undefined when the devices CRD is not served. */
  readonly devices: Informer<DeviceObject> | undefined;
  readonly deviceModels: Informer<KubeObject> | undefined;
  readonly #onChange: (nodes: Iterable<string>) => void;
  #revision = 0;

  /**
   * @param options.onChange called synchronously with the nodes a change may concern; must be quick.
   * @param options.devices false when the devices.kubeedge.io resources are not served.
   */
  constructor(options: { informers: SharedInformers; devices: boolean; onChange: (nodes: Iterable<string>) => void }) {
    const { informers } = options;
    const informer = <T extends KubeObject>(kind: SyncedKind): Informer<T> => {
      const r = SYNCED_RESOURCES[kind];
      return informers.get<T>(r.group, r.version, r.plural);
    };
    this.#onChange = options.onChange;
    this.pods = informer<PodObject>('pods');
    this.pods.addIndex(BY_NODE, nodeOf);
    this.pods.addIndex(BY_REFERENCE, podReferences);
    this.configMaps = informer('configmaps');
    this.secrets = informer('secrets');
    this.nodes = informer<NodeObject>('nodes');
    this.devices = options.devices ? informer<DeviceObject>('devices') : undefined;
    this.devices?.addIndex(BY_NODE, nodeOf);
    this.devices?.addIndex(BY_MODEL, modelOf);
    this.deviceModels = options.devices ? informer('devicemodels') : undefined;

    this.pods.addHandler(this.#handler((p) => nodeOf(p)));
    const referencing = (kind: 'configmaps' | 'secrets') => (o: KubeObject) => this.#nodesOfPods(this.pods.byIndex(BY_REFERENCE, `${kind}/${o.metadata.namespace ?? ''}/${o.metadata.name ?? ''}`));
    this.configMaps.addHandler(this.#handler(referencing('configmaps')));
    this.secrets.addHandler(this.#handler(referencing('secrets')));
    this.nodes.addHandler(this.#handler((n) => [n.metadata.name ?? '']));
    this.devices?.addHandler(this.#handler((d) => nodeOf(d)));
    this.deviceModels?.addHandler(
      this.#handler((m) => {
        const out = new Set<string>();
        for (const d of this.devices?.byIndex(BY_MODEL, objectKey(m)) ?? []) for (const n of nodeOf(d)) out.add(n);
        return out;
      }),
    );
  }

  /** The highest resourceVersion seen: the `synced` revision. */
  get revision(): string {
    return String(this.#revision);
  }

  /** Lists and watches everything; resolves once every cache is filled. */
  async start(signal: AbortSignal): Promise<void> {
    await Promise.all([this.pods.start(signal), this.configMaps.start(signal), this.secrets.start(signal), this.nodes.start(signal), this.devices?.start(signal), this.deviceModels?.start(signal)]);
  }

  /** Everything `node` should hold, by uid. Objects referenced but missing (a ConfigMap not created yet) are simply not there. */
  desiredFor(node: string): Map<string, DesiredObject> {
    const out = new Map<string, DesiredObject>();
    const add = (kind: SyncedKind, obj: KubeObject | undefined): void => {
      const uid = obj?.metadata.uid;
      if (obj !== undefined && uid !== undefined) out.set(uid, { kind, object: obj });
    };
    add('nodes', this.nodes.get(undefined, node));
    for (const pod of this.pods.byIndex(BY_NODE, node)) {
      add('pods', pod);
      for (const ref of podReferences(pod)) {
        const [kind, ns, name] = ref.split('/') as ['configmaps' | 'secrets', string, string];
        add(kind, (kind === 'configmaps' ? this.configMaps : this.secrets).get(ns, name));
      }
    }
    for (const device of this.devices?.byIndex(BY_NODE, node) ?? []) {
      add('devices', device);
      for (const model of modelOf(device)) add('devicemodels', this.deviceModels?.getByKey(model));
    }
    return out;
  }

  #nodesOfPods(pods: readonly PodObject[]): Set<string> {
    const out = new Set<string>();
    for (const p of pods) for (const n of nodeOf(p)) out.add(n);
    return out;
  }

  #handler<T extends KubeObject>(nodesOf: (obj: T) => Iterable<string>): { add(o: T): void; update(old: T, o: T): void; delete(o: T): void } {
    const seen = (o: T): void => {
      const rv = Number(o.metadata.resourceVersion);
      if (Number.isSafeInteger(rv) && rv > this.#revision) this.#revision = rv;
    };
    return {
      add: (o) => {
        seen(o);
        this.#onChange(nodesOf(o));
      },
      update: (old, o) => {
        seen(o);
        this.#onChange(new Set([...nodesOf(old), ...nodesOf(o)]));
      },
      delete: (o) => this.#onChange(nodesOf(o)),
    };
  }
}
