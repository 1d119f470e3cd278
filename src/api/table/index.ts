/**
 * Server-side tables (`meta.k8s.io/v1` Table) with Kubernetes' own columns and cells, so that
 * `kubectl get` output from kedge is what a real cluster prints. Cells always include the wide
 * (priority 1) columns, as kube-apiserver generates them; kubectl hides those without `-o wide`.
 */
import type { GroupVersionKind, KubeObject } from '../object.ts';
import { ageSince } from './duration.ts';
import { DOCS, type DocKey } from './descriptions.ts';
import { podCells, podRowConditions } from './pod.ts';
import {
  configMapCells,
  crdCells,
  daemonSetCells,
  deploymentCells,
  endpointsCells,
  eventCells,
  leaseCells,
  namespaceCells,
  nodeCells,
  replicaSetCells,
  scaleCells,
  secretCells,
  serviceAccountCells,
  serviceCells,
} from './printers.ts';
import { compilePrinterColumns, type CrdPrinterColumn } from './printer-columns.ts';
import type { TableColumn } from './types.ts';

export type { TableColumn } from './types.ts';
export { humanDuration, ageSince } from './duration.ts';
export { compileJsonPath, JsonPathSyntaxError, type CompiledJsonPath } from './jsonpath.ts';
export { summarizePod, type PodSummary } from './pod.ts';
export { formatLabels, formatLabelSelector, formatEndpoints } from './printers.ts';
export {
  compilePrinterColumns,
  printerColumnCells,
  printerColumnDefinitions,
  DEFAULT_CRD_PRINTER_COLUMNS,
  type CompiledPrinterColumns,
  type CrdPrinterColumn,
} from './printer-columns.ts';

type ColumnSpec = [name: string, type: TableColumn['type'], description: string, priority?: number];

function columns(...specs: ColumnSpec[]): TableColumn[] {
  return specs.map(([name, type, description, priority = 0]) => ({ name, type, format: name === 'Name' ? 'name' : '', description, priority }));
}

const doc = (key: DocKey): string => DOCS[key];
const NAME: ColumnSpec = ['Name', 'string', doc('ObjectMeta.name')];
const AGE: ColumnSpec = ['Age', 'string', doc('ObjectMeta.creationTimestamp')];
const CONTAINERS: ColumnSpec = ['Containers', 'string', 'Names of each container in the template.', 1];
const IMAGES: ColumnSpec = ['Images', 'string', 'Images referenced by each container in the template.', 1];

type Printer = { columns: TableColumn[]; cells: (obj: never, now: Date) => unknown[] };

const PRINTERS: ReadonlyMap<string, Printer> = new Map<string, Printer>([
  [
    '/Pod',
    {
      columns: columns(
        NAME,
        ['Ready', 'string', 'The aggregate readiness state of this pod for accepting traffic.'],
        ['Status', 'string', 'The aggregate status of the containers in this pod.'],
        ['Restarts', 'string', 'The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.'],
        AGE,
        ['IP', 'string', doc('PodStatus.podIP'), 1],
        ['Node', 'string', doc('PodSpec.nodeName'), 1],
        ['Nominated Node', 'string', doc('PodStatus.nominatedNodeName'), 1],
        ['Readiness Gates', 'string', doc('PodSpec.readinessGates'), 1],
      ),
      cells: podCells,
    },
  ],
  [
    '/Node',
    {
      columns: columns(
        NAME,
        ['Status', 'string', 'The status of the node'],
        ['Roles', 'string', 'The roles of the node'],
        AGE,
        ['Version', 'string', doc('NodeSystemInfo.kubeletVersion')],
        ['Internal-IP', 'string', doc('NodeStatus.addresses'), 1],
        ['External-IP', 'string', doc('NodeStatus.addresses'), 1],
        ['OS-Image', 'string', doc('NodeSystemInfo.osImage'), 1],
        ['Kernel-Version', 'string', doc('NodeSystemInfo.kernelVersion'), 1],
        ['Container-Runtime', 'string', doc('NodeSystemInfo.containerRuntimeVersion'), 1],
      ),
      cells: nodeCells,
    },
  ],
  ['/Namespace', { columns: columns(NAME, ['Status', 'string', 'The status of the namespace'], AGE), cells: namespaceCells }],
  ['/ConfigMap', { columns: columns(NAME, ['Data', 'string', doc('ConfigMap.data')], AGE), cells: configMapCells }],
  ['/Secret', { columns: columns(NAME, ['Type', 'string', doc('Secret.type')], ['Data', 'string', doc('Secret.data')], AGE), cells: secretCells }],
  [
    '/Service',
    {
      columns: columns(
        NAME,
        ['Type', 'string', doc('ServiceSpec.type')],
        ['Cluster-IP', 'string', doc('ServiceSpec.clusterIP')],
        ['External-IP', 'string', doc('ServiceSpec.externalIPs')],
        ['Port(s)', 'string', doc('ServiceSpec.ports')],
        AGE,
        ['Selector', 'string', doc('ServiceSpec.selector'), 1],
      ),
      cells: serviceCells,
    },
  ],
  ['/Endpoints', { columns: columns(NAME, ['Endpoints', 'string', doc('Endpoints.subsets')], AGE), cells: endpointsCells }],
  [
    '/Event',
    {
      columns: columns(
        ['Last Seen', 'string', doc('Event.lastTimestamp')],
        ['Type', 'string', doc('Event.type')],
        ['Reason', 'string', doc('Event.reason')],
        ['Object', 'string', doc('Event.involvedObject')],
        ['Subobject', 'string', doc('ObjectReference.fieldPath'), 1],
        ['Source', 'string', doc('Event.source'), 1],
        ['Message', 'string', doc('Event.message')],
        ['First Seen', 'string', doc('Event.firstTimestamp'), 1],
        ['Count', 'string', doc('Event.count'), 1],
        ['Name', 'string', doc('ObjectMeta.name'), 1],
      ),
      cells: eventCells,
    },
  ],
  ['/ServiceAccount', { columns: columns(NAME, ['Secrets', 'string', doc('ServiceAccount.secrets')], AGE), cells: serviceAccountCells }],
  ['coordination.k8s.io/Lease', { columns: columns(NAME, ['Holder', 'string', doc('LeaseSpec.holderIdentity')], AGE), cells: leaseCells }],
  [
    'apps/Deployment',
    {
      columns: columns(
        NAME,
        ['Ready', 'string', 'Number of the pod with ready state'],
        ['Up-to-date', 'string', doc('DeploymentStatus.updatedReplicas')],
        ['Available', 'string', doc('DeploymentStatus.availableReplicas')],
        AGE,
        CONTAINERS,
        IMAGES,
        ['Selector', 'string', doc('DeploymentSpec.selector'), 1],
      ),
      cells: deploymentCells,
    },
  ],
  [
    'apps/ReplicaSet',
    {
      columns: columns(
        NAME,
        ['Desired', 'integer', doc('ReplicaSetSpec.replicas')],
        ['Current', 'integer', doc('ReplicaSetStatus.replicas')],
        ['Ready', 'integer', doc('ReplicaSetStatus.readyReplicas')],
        AGE,
        CONTAINERS,
        IMAGES,
        ['Selector', 'string', doc('ReplicaSetSpec.selector'), 1],
      ),
      cells: replicaSetCells,
    },
  ],
  [
    'apps/DaemonSet',
    {
      columns: columns(
        NAME,
        ['Desired', 'integer', doc('DaemonSetStatus.desiredNumberScheduled')],
        ['Current', 'integer', doc('DaemonSetStatus.currentNumberScheduled')],
        ['Ready', 'integer', doc('DaemonSetStatus.numberReady')],
        ['Up-to-date', 'integer', doc('DaemonSetStatus.updatedNumberScheduled')],
        ['Available', 'integer', doc('DaemonSetStatus.numberAvailable')],
        ['Node Selector', 'string', doc('PodSpec.nodeSelector')],
        AGE,
        CONTAINERS,
        IMAGES,
        ['Selector', 'string', doc('DaemonSetSpec.selector'), 1],
      ),
      cells: daemonSetCells,
    },
  ],
  [
    'autoscaling/Scale',
    { columns: columns(NAME, ['Desired', 'integer', doc('ScaleSpec.replicas')], ['Available', 'integer', doc('ScaleStatus.replicas')], AGE), cells: scaleCells },
  ],
  [
    'apiextensions.k8s.io/CustomResourceDefinition',
    { columns: columns(NAME, ['Created At', 'date', doc('ObjectMeta.creationTimestamp')]), cells: crdCells },
  ],
]);

const printerFor = (gvk: GroupVersionKind | undefined): Printer | undefined => (gvk === undefined ? undefined : PRINTERS.get(`${gvk.group}/${gvk.kind}`));

/**
 * The generic columns, NAME and AGE, for kinds without a printer of their own (and custom
 * resources without printer columns, whose only column in Kubernetes is their age).
 */
export function defaultTableColumns(): TableColumn[] {
  return columns(NAME, ['Age', 'date', doc('ObjectMeta.creationTimestamp')]);
}

/** Kubernetes' columns for a built-in kind, or undefined when it has none (use {@link defaultTableColumns}). */
export function tableColumnsFor(gvk: GroupVersionKind): TableColumn[] | undefined {
  return printerFor(gvk)?.columns.map((c) => ({ ...c }));
}

/**
 * One row's cells for every column of {@link tableColumnsFor} (wide ones included), or the NAME
 * and AGE cells when the kind has no printer (or `gvk` is undefined).
 */
export function tableRowCells(gvk: GroupVersionKind | undefined, obj: KubeObject, now: Date): unknown[] {
  const printer = printerFor(gvk);
  if (printer === undefined) return [obj.metadata?.name ?? '', ageSince(obj.metadata?.creationTimestamp, now)];
  return printer.cells(obj as never, now);
}

/** Row conditions Kubernetes attaches (finished pods are `Completed`); empty for other kinds. */
export function tableRowConditions(gvk: GroupVersionKind, obj: KubeObject): { type: string; status: string; reason: string; message: string }[] {
  return gvk.group === '' && gvk.kind === 'Pod' ? podRowConditions(obj as never) : [];
}

/**
 * A CRD version's printer columns as a table: the Name column, then one per printer column, and
 * this object's cells in that order.
 */
export function printerColumnsTable(printerColumns: readonly CrdPrinterColumn[], obj: KubeObject, now: Date): { columns: TableColumn[]; cells: unknown[] } {
  const compiled = compilePrinterColumns(printerColumns);
  return { columns: [...columns(NAME), ...compiled.columns], cells: [obj.metadata?.name ?? '', ...compiled.cells(obj, now)] };
}
