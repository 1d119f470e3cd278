import type { KubeObject } from '../../api/object.ts';
import type { CrdPrinterColumn } from '../../api/table/index.ts';
import type { SyncedKind } from '../../protocol/envelope.ts';

/** How MetaServer serves one kind of synced object, in Kubernetes API terms. */
export interface ServedResource {
  readonly plural: SyncedKind;
  readonly singular: string;
  readonly kind: string;
  readonly group: string;
  readonly version: string;
  readonly namespaced: boolean;
  readonly shortNames: readonly string[];
  /** Field selectors the API server supports for the kind, beyond metadata.name/namespace. */
  readonly fields: (obj: KubeObject) => Readonly<Record<string, string>>;
  /** Custom resources: the CRD's printer columns (built-in kinds use src/api/table's printers). */
  readonly printerColumns?: readonly CrdPrinterColumn[];
}

const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const rec = (v: unknown): Record<string, unknown> => (typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : {});

const AGE_COLUMN: CrdPrinterColumn = { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' };

/**
 * Everything the cloud syncs to a node, served read-only. The selectable fields are
 * kube-apiserver's (`pod.GetAttrs`, `secret.GetAttrs`, `node.GetAttrs`) and, for devices, the CRD's
 * `selectableFields`; printer columns of the device CRDs are those of
 * `src/cloud/apiserver/crd/builtin/devices.kubeedge.io.yaml`.
 */
export const SERVED_RESOURCES: readonly ServedResource[] = [
  {
    plural: 'pods',
    singular: 'pod',
    kind: 'Pod',
    group: '',
    version: 'v1',
    namespaced: true,
    shortNames: ['po'],
    fields: (o) => {
      const spec = rec(o['spec']);
      const status = rec(o['status']);
      return {
        'spec.nodeName': str(spec['nodeName']),
        'spec.restartPolicy': str(spec['restartPolicy']),
        'spec.schedulerName': str(spec['schedulerName']),
        'spec.serviceAccountName': str(spec['serviceAccountName']),
        'spec.hostNetwork': String(spec['hostNetwork'] === true),
        'status.phase': str(status['phase']),
        'status.podIP': str(status['podIP']),
        'status.nominatedNodeName': str(status['nominatedNodeName']),
      };
    },
  },
  { plural: 'configmaps', singular: 'configmap', kind: 'ConfigMap', group: '', version: 'v1', namespaced: true, shortNames: ['cm'], fields: () => ({}) },
  { plural: 'secrets', singular: 'secret', kind: 'Secret', group: '', version: 'v1', namespaced: true, shortNames: [], fields: (o) => ({ type: str(o['type']) }) },
  {
    plural: 'nodes',
    singular: 'node',
    kind: 'Node',
    group: '',
    version: 'v1',
    namespaced: false,
    shortNames: ['no'],
    fields: (o) => ({ 'spec.unschedulable': String(rec(o['spec'])['unschedulable'] === true) }),
  },
  {
    plural: 'devices',
    singular: 'device',
    kind: 'Device',
    group: 'devices.kubeedge.io',
    version: 'v1beta1',
    namespaced: true,
    shortNames: [],
    fields: (o) => ({ 'spec.nodeName': str(rec(o['spec'])['nodeName']) }),
    printerColumns: [
      { name: 'Node', type: 'string', jsonPath: '.spec.nodeName' },
      { name: 'Model', type: 'string', jsonPath: '.spec.deviceModelRef.name' },
      { name: 'State', type: 'string', jsonPath: '.status.state' },
      AGE_COLUMN,
    ],
  },
  {
    plural: 'devicemodels',
    singular: 'devicemodel',
    kind: 'DeviceModel',
    group: 'devices.kubeedge.io',
    version: 'v1beta1',
    namespaced: true,
    shortNames: [],
    fields: () => ({}),
    printerColumns: [{ name: 'Protocol', type: 'string', jsonPath: '.spec.protocol' }, AGE_COLUMN],
  },
];

/** `v1` or `devices.kubeedge.io/v1beta1`. */
export function apiVersionOfResource(r: ServedResource): string {
  return r.group === '' ? r.version : `${r.group}/${r.version}`;
}
