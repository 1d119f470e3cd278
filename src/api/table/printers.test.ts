import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { GroupVersionKind, KubeObject } from '../object.ts';
import { defaultTableColumns, printerColumnCells, printerColumnsTable, tableColumnsFor, tableRowCells, DEFAULT_CRD_PRINTER_COLUMNS } from './index.ts';

const NOW = new Date('2024-05-01T12:00:00Z');
const CREATED = '2024-04-28T08:00:00Z'; // 3d4h before NOW

const gvk = (group: string, kind: string, version = 'v1'): GroupVersionKind => ({ group, version, kind });
const obj = (fields: Record<string, unknown>, meta: Record<string, unknown> = {}): KubeObject => ({ metadata: { name: 'x', creationTimestamp: CREATED, ...meta }, ...fields });

describe('column headers are Kubernetes\' (kubectl upper-cases them)', () => {
  const cases: [kind: GroupVersionKind, normal: string, wide: string][] = [
    [gvk('', 'Pod'), 'Name Ready Status Restarts Age', 'IP Node Nominated Node Readiness Gates'],
    [gvk('', 'Node'), 'Name Status Roles Age Version', 'Internal-IP External-IP OS-Image Kernel-Version Container-Runtime'],
    [gvk('', 'Namespace'), 'Name Status Age', ''],
    [gvk('', 'ConfigMap'), 'Name Data Age', ''],
    [gvk('', 'Secret'), 'Name Type Data Age', ''],
    [gvk('', 'Service'), 'Name Type Cluster-IP External-IP Port(s) Age', 'Selector'],
    [gvk('', 'Endpoints'), 'Name Endpoints Age', ''],
    [gvk('', 'Event'), 'Last Seen Type Reason Object Message', 'Subobject Source First Seen Count Name'],
    [gvk('', 'ServiceAccount'), 'Name Secrets Age', ''],
    [gvk('coordination.k8s.io', 'Lease'), 'Name Holder Age', ''],
    [gvk('apps', 'Deployment'), 'Name Ready Up-to-date Available Age', 'Containers Images Selector'],
    [gvk('apps', 'ReplicaSet'), 'Name Desired Current Ready Age', 'Containers Images Selector'],
    [gvk('apps', 'DaemonSet'), 'Name Desired Current Ready Up-to-date Available Node Selector Age', 'Containers Images Selector'],
    [gvk('apiextensions.k8s.io', 'CustomResourceDefinition'), 'Name Created At', ''],
  ];
  for (const [kind, normal, wide] of cases) {
    it(`${kind.group || 'core'}/${kind.kind}`, () => {
      const cols = tableColumnsFor(kind)!;
      assert.equal(cols.filter((c) => c.priority === 0).map((c) => c.name).join(' '), normal);
      assert.equal(cols.filter((c) => c.priority === 1).map((c) => c.name).join(' '), wide);
      assert.equal(cols.find((c) => c.name === 'Name')?.format, 'name');
    });
  }

  it('describes columns with the API documentation of their field', () => {
    const age = tableColumnsFor(gvk('', 'Pod'))!.find((c) => c.name === 'Age')!;
    assert.match(age.description, /^CreationTimestamp is a timestamp representing the server time/);
  });

  it('kinds without a printer have none, and get NAME and AGE', () => {
    assert.equal(tableColumnsFor(gvk('example.com', 'Widget')), undefined);
    assert.deepEqual(defaultTableColumns().map((c) => c.name), ['Name', 'Age']);
    assert.deepEqual(tableRowCells(undefined, obj({}), NOW), ['x', '3d4h']);
  });
});

describe('row cells', () => {
  const cases: [name: string, kind: GroupVersionKind, o: KubeObject, expected: unknown[]][] = [
    [
      'a ready control-plane node',
      gvk('', 'Node'),
      obj(
        {
          status: {
            conditions: [{ type: 'MemoryPressure', status: 'False' }, { type: 'Ready', status: 'True' }],
            addresses: [{ type: 'InternalIP', address: '192.168.1.10' }, { type: 'Hostname', address: 'edge-1' }],
            nodeInfo: { kubeletVersion: 'v1.30.0-kedge', osImage: 'Debian GNU/Linux 12 (bookworm)', kernelVersion: '6.1.0', containerRuntimeVersion: 'containerd://1.6.20' },
          },
        },
        { labels: { 'node-role.kubernetes.io/control-plane': '', 'node-role.kubernetes.io/edge': '' } },
      ),
      ['x', 'Ready', 'control-plane,edge', '3d4h', 'v1.30.0-kedge', '192.168.1.10', '<none>', 'Debian GNU/Linux 12 (bookworm)', '6.1.0', 'containerd://1.6.20'],
    ],
    [
      'a cordoned node that stopped reporting',
      gvk('', 'Node'),
      obj({ spec: { unschedulable: true }, status: { conditions: [{ type: 'Ready', status: 'Unknown' }] } }, { labels: { 'kubernetes.io/role': 'worker' } }),
      ['x', 'NotReady,SchedulingDisabled', 'worker', '3d4h', '', '<none>', '<none>', '<unknown>', '<unknown>', '<unknown>'],
    ],
    ['a node without conditions', gvk('', 'Node'), obj({ status: {} }), ['x', 'Unknown', '<none>', '3d4h', '', '<none>', '<none>', '<unknown>', '<unknown>', '<unknown>']],
    ['an active namespace', gvk('', 'Namespace'), obj({ status: { phase: 'Active' } }), ['x', 'Active', '3d4h']],
    ['a config map counts data and binary data', gvk('', 'ConfigMap'), obj({ data: { a: '1', b: '2' }, binaryData: { c: 'AA==' } }), ['x', 3, '3d4h']],
    ['a TLS secret', gvk('', 'Secret'), obj({ type: 'kubernetes.io/tls', data: { 'tls.crt': '', 'tls.key': '' } }), ['x', 'kubernetes.io/tls', 2, '3d4h']],
    [
      'a ClusterIP service',
      gvk('', 'Service'),
      obj({ spec: { type: 'ClusterIP', clusterIPs: ['10.96.0.10'], ports: [{ port: 53, protocol: 'UDP' }, { port: 53, protocol: 'TCP' }], selector: { 'k8s-app': 'dns', tier: 'a' } } }),
      ['x', 'ClusterIP', '10.96.0.10', '<none>', '53/UDP,53/TCP', '3d4h', 'k8s-app=dns,tier=a'],
    ],
    [
      'a NodePort service',
      gvk('', 'Service'),
      obj({ spec: { type: 'NodePort', clusterIPs: ['10.96.0.11'], ports: [{ port: 80, nodePort: 30080, protocol: 'TCP' }] } }),
      ['x', 'NodePort', '10.96.0.11', '<none>', '80:30080/TCP', '3d4h', '<none>'],
    ],
    [
      'a load balancer still waiting for an address',
      gvk('', 'Service'),
      obj({ spec: { type: 'LoadBalancer', clusterIPs: ['10.96.0.12'], ports: [{ port: 443, nodePort: 31443, protocol: 'TCP' }] } }),
      ['x', 'LoadBalancer', '10.96.0.12', '<pending>', '443:31443/TCP', '3d4h', '<none>'],
    ],
    [
      'a load balancer with addresses',
      gvk('', 'Service'),
      obj({ spec: { type: 'LoadBalancer', clusterIPs: ['10.96.0.12'], ports: [] }, status: { loadBalancer: { ingress: [{ ip: '203.0.113.9' }, { hostname: 'lb.example.com' }] } } }),
      ['x', 'LoadBalancer', '10.96.0.12', '203.0.113.9,lb.example.com', '<none>', '3d4h', '<none>'],
    ],
    [
      'an ExternalName service',
      gvk('', 'Service'),
      obj({ spec: { type: 'ExternalName', externalName: 'db.example.com' } }),
      ['x', 'ExternalName', '<none>', 'db.example.com', '<none>', '3d4h', '<none>'],
    ],
    [
      'endpoints beyond three are summarized',
      gvk('', 'Endpoints'),
      obj({ subsets: [{ addresses: [{ ip: '10.0.0.1' }, { ip: '10.0.0.2' }, { ip: 'fd00::3' }, { ip: '10.0.0.4' }], ports: [{ port: 8080 }] }] }),
      ['x', '10.0.0.1:8080,10.0.0.2:8080,[fd00::3]:8080 + 1 more...', '3d4h'],
    ],
    ['endpoints of a headless service without ports', gvk('', 'Endpoints'), obj({ subsets: [{ addresses: [{ ip: '10.0.0.1' }] }] }), ['x', '10.0.0.1', '3d4h']],
    ['no endpoints', gvk('', 'Endpoints'), obj({}), ['x', '<none>', '3d4h']],
    [
      'an event about a pod',
      gvk('', 'Event'),
      obj(
        {
          type: 'Warning',
          reason: 'BackOff',
          message: 'Back-off restarting failed container\n',
          involvedObject: { kind: 'Pod', name: 'web-1', fieldPath: 'spec.containers{app}' },
          source: { component: 'kubelet', host: 'edge-1' },
          firstTimestamp: '2024-05-01T11:00:00Z',
          lastTimestamp: '2024-05-01T11:58:00Z',
          count: 12,
        },
        { name: 'web-1.17a' },
      ),
      ['2m', 'Warning', 'BackOff', 'pod/web-1', 'spec.containers{app}', 'kubelet, edge-1', 'Back-off restarting failed container', '60m', 12, 'web-1.17a'],
    ],
    [
      'an event of the new API without a count or last timestamp',
      gvk('', 'Event'),
      obj({ type: 'Normal', reason: 'Scheduled', involvedObject: { kind: 'Pod', name: 'p' }, eventTime: '2024-05-01T11:59:50.000000Z', reportingComponent: 'default-scheduler' }),
      ['10s', 'Normal', 'Scheduled', 'pod/p', '', 'default-scheduler', '', '10s', 1, 'x'],
    ],
    ['a service account', gvk('', 'ServiceAccount'), obj({ secrets: [{ name: 'a' }] }), ['x', 1, '3d4h']],
    ['a lease held by a node', gvk('coordination.k8s.io', 'Lease'), obj({ spec: { holderIdentity: 'edge-1' } }), ['x', 'edge-1', '3d4h']],
    [
      'a deployment rolling out',
      gvk('apps', 'Deployment'),
      obj({
        spec: {
          replicas: 3,
          selector: { matchLabels: { app: 'web' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['front', 'edge'] }] },
          template: { spec: { containers: [{ name: 'app', image: 'nginx:1.25' }, { name: 'log', image: 'fluent-bit' }] } },
        },
        status: { readyReplicas: 2, updatedReplicas: 1, availableReplicas: 2 },
      }),
      ['x', '2/3', 1, 2, '3d4h', 'app,log', 'nginx:1.25,fluent-bit', 'app=web,tier in (edge,front)'],
    ],
    [
      'a replica set',
      gvk('apps', 'ReplicaSet'),
      obj({ spec: { replicas: 2, selector: { matchLabels: { app: 'web' } }, template: { spec: { containers: [{ name: 'app', image: 'nginx' }] } } }, status: { replicas: 2, readyReplicas: 1 } }),
      ['x', 2, 2, 1, '3d4h', 'app', 'nginx', 'app=web'],
    ],
    [
      'a daemon set with a node selector',
      gvk('apps', 'DaemonSet'),
      obj({
        spec: { selector: { matchLabels: { app: 'agent' } }, template: { spec: { nodeSelector: { 'kubernetes.io/os': 'linux' }, containers: [{ name: 'agent', image: 'agent:1' }] } } },
        status: { desiredNumberScheduled: 4, currentNumberScheduled: 4, numberReady: 3, updatedNumberScheduled: 4, numberAvailable: 3 },
      }),
      ['x', 4, 4, 3, 4, 3, 'kubernetes.io/os=linux', '3d4h', 'agent', 'agent:1', 'app=agent'],
    ],
    ['a CRD shows when it was created', gvk('apiextensions.k8s.io', 'CustomResourceDefinition'), obj({}), ['x', '2024-04-28T08:00:00Z']],
  ];
  for (const [name, kind, o, expected] of cases) {
    it(name, () => {
      assert.deepEqual(tableRowCells(kind, o, NOW), expected);
    });
  }
});

describe('CRD printer columns', () => {
  const device = obj(
    {
      spec: { protocol: 'modbus', registers: [{ name: 'temp', address: 1 }, { name: 'hum', address: 2 }], ratio: 1.5, enabled: true, labels: { zone: 'a' } },
      status: { conditions: [{ type: 'Synced', status: 'True' }, { type: 'Ready', status: 'False', lastTransitionTime: '2024-05-01T11:30:00Z' }] },
    },
    { name: 'sensor-1' },
  );
  const cases: [name: string, type: string, jsonPath: string, expected: unknown][] = [
    ['a string field', 'string', '.spec.protocol', 'modbus'],
    ['a filtered condition', 'string', '.status.conditions[?(@.type=="Ready")].status', 'False'],
    ['a date from a filtered condition', 'date', '.status.conditions[?(@.type=="Ready")].lastTransitionTime', '30m'],
    ['the first of a wildcard', 'string', '.spec.registers[*].name', 'temp'],
    ['an index', 'integer', '.spec.registers[1].address', 2],
    ['the last element', 'string', '.spec.registers[-1].name', 'hum'],
    ['an integer column truncates', 'integer', '.spec.ratio', 1],
    ['a number column', 'number', '.spec.ratio', 1.5],
    ['a boolean column', 'boolean', '.spec.enabled', true],
    ['a string column of an object shows JSON', 'string', '.spec.labels', '{"zone":"a"}'],
    ['a string column of a number', 'string', '.spec.ratio', '1.5'],
    ['a missing field is empty', 'string', '.spec.nothing', null],
    ['a type mismatch is empty', 'integer', '.spec.protocol', null],
    ['an unparsable date', 'date', '.spec.protocol', '<invalid>'],
    ['a path outside the subset is empty', 'string', '.spec[', null],
  ];
  for (const [name, type, jsonPath, expected] of cases) {
    it(name, () => {
      const table = printerColumnsTable([{ name: 'Col', type, jsonPath }], device, NOW);
      assert.deepEqual(table.cells, ['sensor-1', expected]);
    });
  }

  it('publishes the columns with Name first and a generated description', () => {
    const table = printerColumnsTable([{ name: 'Protocol', type: 'string', jsonPath: '.spec.protocol', priority: 1 }], device, NOW);
    assert.deepEqual(table.columns.map((c) => [c.name, c.type, c.priority]), [
      ['Name', 'string', 0],
      ['Protocol', 'string', 1],
    ]);
    assert.equal(table.columns[1]!.description, 'Custom resource definition column (in JSONPath format): .spec.protocol');
  });

  it('serves an Age column when a CRD defines none', () => {
    assert.deepEqual(printerColumnsTable(DEFAULT_CRD_PRINTER_COLUMNS, device, NOW).cells, ['sensor-1', '3d4h']);
  });
});

describe('printerColumnCells', () => {
  it('gives the same cells on every call for one columns array', () => {
    const columns = [{ name: 'Phase', type: 'string', jsonPath: '.status.phase' }];
    const o = obj({ status: { phase: 'Online' } });
    assert.deepEqual(printerColumnCells(columns, o, NOW), ['Online']);
    assert.deepEqual(printerColumnCells(columns, obj({ status: {} }), NOW), [null]);
  });
});
