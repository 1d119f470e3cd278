import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Pod } from 'kubernetes-types/core/v1.d.ts';
import { applyDefaults } from '../defaults/index.ts';
import { formatFieldError } from '../field-error.ts';
import type { KubeObject } from '../object.ts';
import { validateCreate, validateStatusUpdate, validateUpdate } from './index.ts';

const POD = { group: '', version: 'v1', kind: 'Pod' };
const LABEL_RULE =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";

/** A valid, defaulted pod, changed by `mutate` (after defaulting, as a client may send anything). */
function pod(mutate: (p: Pod & KubeObject) => void = () => {}): Pod & KubeObject {
  const p = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'web', namespace: 'default', uid: 'u1', creationTimestamp: '2024-01-01T00:00:00Z' },
    spec: {
      containers: [{ name: 'app', image: 'nginx:1.25', ports: [{ name: 'http', containerPort: 80 }], volumeMounts: [{ name: 'cfg', mountPath: '/etc/app' }] }],
      volumes: [{ name: 'cfg', configMap: { name: 'app-config' } }],
    },
  } as Pod & KubeObject;
  applyDefaults(POD, p);
  mutate(p);
  return p;
}

const messages = (errs: readonly { type: string }[]): string[] => errs.map((e) => formatFieldError(e as never));
const c0 = (p: Pod) => p.spec!.containers[0]!;

describe('pod create: the messages a user sees in a 422', () => {
  const cases: [name: string, mutate: (p: Pod & KubeObject) => void, expected: string[]][] = [
    ['a valid pod', () => {}, []],
    ['no containers', (p) => (p.spec!.containers = []), ['spec.containers: Required value']],
    ['a container without an image', (p) => delete (c0(p) as { image?: string }).image, ['spec.containers[0].image: Required value']],
    ['a container without a name', (p) => (c0(p).name = ''), ['spec.containers[0].name: Required value']],
    ['a container name with capitals', (p) => (c0(p).name = 'App'), [`spec.containers[0].name: Invalid value: "App": ${LABEL_RULE}`]],
    [
      'the same name for an init and a regular container',
      (p) => (p.spec!.initContainers = [{ ...c0(p), ports: [] }]),
      ['spec.initContainers[0].name: Duplicate value: "app"'],
    ],
    ['two regular containers with one name', (p) => p.spec!.containers.push({ ...c0(p), ports: [] }), ['spec.containers[1].name: Duplicate value: "app"']],
    ['port 0', (p) => (c0(p).ports![0]!.containerPort = 0), ['spec.containers[0].ports[0].containerPort: Required value']],
    ['port 70000', (p) => (c0(p).ports![0]!.containerPort = 70000), ['spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive']],
    [
      'a port name over 15 characters',
      (p) => (c0(p).ports![0]!.name = 'metrics-endpoint'),
      ['spec.containers[0].ports[0].name: Invalid value: "metrics-endpoint": must be no more than 15 characters'],
    ],
    [
      'two ports with one name',
      (p) => c0(p).ports!.push({ name: 'http', containerPort: 81, protocol: 'TCP' }),
      ['spec.containers[0].ports[1].name: Duplicate value: "http"'],
    ],
    [
      'an unknown protocol',
      (p) => (c0(p).ports![0]!.protocol = 'ICMP'),
      ['spec.containers[0].ports[0].protocol: Unsupported value: "ICMP": supported values: "SCTP", "TCP", "UDP"'],
    ],
    [
      'one host port twice',
      (p) => (c0(p).ports = [{ containerPort: 80, hostPort: 8080, protocol: 'TCP' }, { containerPort: 81, hostPort: 8080, protocol: 'TCP' }]),
      ['spec.containers[0].ports[1].hostPort: Duplicate value: "/TCP/8080"'],
    ],
    ['an env var without a name', (p) => (c0(p).env = [{ name: '', value: 'x' }]), ['spec.containers[0].env[0].name: Required value']],
    [
      'an env var name with =',
      (p) => (c0(p).env = [{ name: 'A=B', value: 'x' }]),
      ["spec.containers[0].env[0].name: Invalid value: \"A=B\": a valid environment variable name must consist only of printable ASCII characters other than '='"],
    ],
    [
      'valueFrom next to a value',
      (p) => (c0(p).env = [{ name: 'A', value: 'x', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.name' } } }]),
      ['spec.containers[0].env[0].valueFrom: Invalid value: "": may not be specified when `value` is not empty'],
    ],
    [
      'valueFrom with no source',
      (p) => (c0(p).env = [{ name: 'A', valueFrom: {} }]),
      ['spec.containers[0].env[0].valueFrom: Invalid value: "": must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`'],
    ],
    [
      'a fieldRef to an unknown field',
      (p) => (c0(p).env = [{ name: 'A', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'spec.schedulerName' } } }]),
      [
        'spec.containers[0].env[0].valueFrom.fieldRef.fieldPath: Unsupported value: "spec.schedulerName": supported values: "metadata.name", "metadata.namespace", "metadata.uid", "spec.nodeName", "spec.serviceAccountName", "status.hostIP", "status.hostIPs", "status.podIP", "status.podIPs"',
      ],
    ],
    [
      'a secretKeyRef without a key',
      (p) => (c0(p).env = [{ name: 'A', valueFrom: { secretKeyRef: { name: 'creds', key: '' } } }]),
      ['spec.containers[0].env[0].valueFrom.secretKeyRef.key: Required value'],
    ],
    [
      'envFrom with both sources',
      (p) => (c0(p).envFrom = [{ configMapRef: { name: 'a' }, secretRef: { name: 'b' } }]),
      ['spec.containers[0].envFrom: Invalid value: "": may not have more than one field specified at a time'],
    ],
    [
      'a request above its limit',
      (p) => (c0(p).resources = { limits: { cpu: '500m' }, requests: { cpu: '1' } }),
      ['spec.containers[0].resources.requests: Invalid value: "1": must be less than or equal to cpu limit of 500m'],
    ],
    [
      'a negative memory limit',
      (p) => (c0(p).resources = { limits: { memory: '-1Mi' } }),
      ['spec.containers[0].resources.limits[memory]: Invalid value: "-1Mi": must be greater than or equal to 0'],
    ],
    [
      'a quantity that does not parse',
      (p) => (c0(p).resources = { limits: { memory: '1 GB' } }),
      ["spec.containers[0].resources.limits[memory]: Invalid value: \"1 GB\": quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"],
    ],
    [
      'an unknown resource without a domain',
      (p) => (c0(p).resources = { limits: { gpu: '1' } }),
      ['spec.containers[0].resources.limits[gpu]: Invalid value: "gpu": must be a standard resource type or fully qualified'],
    ],
    [
      'an extended resource request without a limit',
      (p) => (c0(p).resources = { requests: { 'example.com/gpu': '1' } }),
      ['spec.containers[0].resources.limits: Required value: Limit must be set for non overcommitable resources'],
    ],
    [
      'a fractional extended resource',
      (p) => (c0(p).resources = { limits: { 'example.com/gpu': '500m' }, requests: { 'example.com/gpu': '500m' } }),
      [
        'spec.containers[0].resources.limits[example.com/gpu]: Invalid value: "500m": must be an integer',
        'spec.containers[0].resources.requests[example.com/gpu]: Invalid value: "500m": must be an integer',
      ],
    ],
    [
      'two volumes with one name',
      (p) => p.spec!.volumes!.push({ name: 'cfg', emptyDir: {} }),
      ['spec.volumes[1].name: Duplicate value: "cfg"'],
    ],
    [
      'a volume with two sources',
      (p) => (p.spec!.volumes![0]!.emptyDir = {}),
      ['spec.volumes[0].configMap: Forbidden: may not specify more than 1 volume type', 'spec.containers[0].volumeMounts[0].name: Not found: "cfg"'],
    ],
    [
      'a volume with a bad source fails, and its mounts with it',
      (p) => (p.spec!.volumes![0]!.configMap!.name = ''),
      ['spec.volumes[0].configMap.name: Required value', 'spec.containers[0].volumeMounts[0].name: Not found: "cfg"'],
    ],
    [
      'a mount of a missing volume',
      (p) => (c0(p).volumeMounts![0]!.name = 'data'),
      ['spec.containers[0].volumeMounts[0].name: Not found: "data"'],
    ],
    [
      'two mounts at one path',
      (p) => c0(p).volumeMounts!.push({ name: 'cfg', mountPath: '/etc/app' }),
      ['spec.containers[0].volumeMounts[1].mountPath: Invalid value: "/etc/app": must be unique'],
    ],
    [
      'a subPath that climbs out',
      (p) => (c0(p).volumeMounts![0]!.subPath = '../etc'),
      ["spec.containers[0].volumeMounts.subPath: Invalid value: \"../etc\": must not contain '..'"],
    ],
    [
      'a configMap item with an absolute path',
      (p) => (p.spec!.volumes![0]!.configMap!.items = [{ key: 'a', path: '/abs' }]),
      ['spec.volumes[0].configMap.items[0].path: Invalid value: "/abs": must be a relative path', 'spec.containers[0].volumeMounts[0].name: Not found: "cfg"'],
    ],
    [
      'a file mode above 0777',
      (p) => (p.spec!.volumes![0]!.configMap!.defaultMode = 0o1000),
      ['spec.volumes[0].configMap.defaultMode: Invalid value: 512: must be a number between 0 and 0777 (octal), both inclusive', 'spec.containers[0].volumeMounts[0].name: Not found: "cfg"'],
    ],
    [
      'an unknown restart policy',
      (p) => (p.spec!.restartPolicy = 'Sometimes'),
      ['spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"'],
    ],
    [
      'an unknown DNS policy',
      (p) => (p.spec!.dnsPolicy = 'Custom'),
      ['spec.dnsPolicy: Unsupported value: "Custom": supported values: "ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"'],
    ],
    ['DNS policy None without a config', (p) => (p.spec!.dnsPolicy = 'None'), ['spec.dnsConfig: Required value: must provide `dnsConfig` when `dnsPolicy` is None']],
    [
      'a probe without a handler',
      (p) => (c0(p).readinessProbe = { periodSeconds: 10, timeoutSeconds: 1, successThreshold: 1, failureThreshold: 3 }),
      ['spec.containers[0].readinessProbe: Required value: must specify a handler type'],
    ],
    [
      'a probe with two handlers',
      (p) => (c0(p).livenessProbe = { exec: { command: ['true'] }, tcpSocket: { port: 80 }, successThreshold: 1 }),
      ['spec.containers[0].livenessProbe.tcpSocket: Forbidden: may not specify more than 1 handler type'],
    ],
    [
      'a liveness probe that needs two successes',
      (p) => (c0(p).livenessProbe = { tcpSocket: { port: 'http' }, successThreshold: 2 }),
      ['spec.containers[0].livenessProbe.successThreshold: Invalid value: 2: must be 1'],
    ],
    [
      'a probe on a plain init container',
      (p) => (p.spec!.initContainers = [{ name: 'init', image: 'busybox', imagePullPolicy: 'IfNotPresent', terminationMessagePolicy: 'File', readinessProbe: { exec: { command: ['true'] } } }]),
      ['spec.initContainers[0].readinessProbe: Forbidden: may not be set for init containers without restartPolicy=Always'],
    ],
    [
      'a bad node selector value',
      (p) => (p.spec!.nodeSelector = { zone: 'a b' }),
      [
        "spec.nodeSelector: Invalid value: \"a b\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
      ],
    ],
    [
      'a toleration of every key with Equal',
      (p) => (p.spec!.tolerations = [{ operator: 'Equal', value: 'x' }]),
      ['spec.tolerations[0].operator: Invalid value: "Equal": operator must be Exists when `key` is empty, which means "match all values and all keys"'],
    ],
    [
      'an Exists toleration with a value',
      (p) => (p.spec!.tolerations = [{ key: 'k', operator: 'Exists', value: 'v' }]),
      ['spec.tolerations[0].operator: Invalid value: {"key":"k","operator":"Exists","value":"v"}: value must be empty when `operator` is \'Exists\''],
    ],
    [
      'tolerationSeconds on a NoSchedule toleration',
      (p) => (p.spec!.tolerations = [{ key: 'k', operator: 'Exists', effect: 'NoSchedule', tolerationSeconds: 30 }]),
      ["spec.tolerations[0].effect: Invalid value: \"NoSchedule\": effect must be 'NoExecute' when `tolerationSeconds` is set"],
    ],
    [
      'an unknown toleration effect and operator',
      (p) => (p.spec!.tolerations = [{ key: 'k', operator: 'Maybe', effect: 'Sometimes' }]),
      [
        'spec.tolerations[0].operator: Unsupported value: "Maybe": supported values: "Equal", "Exists"',
        'spec.tolerations[0].effect: Unsupported value: "Sometimes": supported values: "NoSchedule", "PreferNoSchedule", "NoExecute"',
      ],
    ],
    ['a negative grace period', (p) => (p.spec!.terminationGracePeriodSeconds = -1), ['spec.terminationGracePeriodSeconds: Invalid value: -1: must be greater than or equal to 0']],
    ['a zero deadline', (p) => (p.spec!.activeDeadlineSeconds = 0), ['spec.activeDeadlineSeconds: Invalid value: 0: must be between 1 and 2147483647, inclusive']],
    [
      'host network with a different host port',
      (p) => {
        p.spec!.hostNetwork = true;
        c0(p).ports![0]!.hostPort = 8080;
      },
      ['spec.containers[0].ports[0].containerPort: Invalid value: 80: must match `hostPort` when `hostNetwork` is true'],
    ],
    ['ephemeral containers on create', (p) => (p.spec!.ephemeralContainers = [{ name: 'debug', image: 'busybox' }]), ['spec.ephemeralContainers: Forbidden: cannot be set on create']],
  ];
  for (const [name, mutate, expected] of cases) {
    it(name, () => {
      assert.deepEqual(messages(validateCreate(POD, pod(mutate))), expected);
    });
  }
});

describe('pod update: only images, deadline, tolerations and labels may change', () => {
  const forbidden = (diff: string[]): string =>
    [
      'spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)',
      '  core.PodSpec{',
      ...diff,
      '  }',
    ].join('\n');
  const cases: [name: string, mutate: (p: Pod & KubeObject) => void, expected: string[]][] = [
    ['a new image', (p) => (c0(p).image = 'nginx:1.26'), []],
    ['new labels and annotations', (p) => ((p.metadata.labels = { app: 'web' }), (p.metadata.annotations = { note: 'x' })), []],
    ['an added toleration', (p) => (p.spec!.tolerations = [{ key: 'k', operator: 'Exists' }]), []],
    [
      'a changed container port',
      (p) => (c0(p).ports![0]!.containerPort = 8080),
      [forbidden(['- \tcontainers[0].ports[0].containerPort: 80,', '+ \tcontainers[0].ports[0].containerPort: 8080,'])],
    ],
    ['a node name set by update', (p) => (p.spec!.nodeName = 'edge-1'), [forbidden(['+ \tnodeName: "edge-1",'])]],
    ['an added container', (p) => p.spec!.containers.push({ ...c0(p), name: 'sidecar', ports: [] }), ['spec.containers: Forbidden: pod updates may not add or remove containers']],
    ['an image removed', (p) => (c0(p).image = ''), ['spec.containers[0].image: Required value']],
    ['a renamed pod', (p) => (p.metadata.name = 'other'), ['metadata.name: Invalid value: "other": field is immutable']],
  ];
  for (const [name, mutate, expected] of cases) {
    it(name, () => {
      const old = pod();
      assert.deepEqual(messages(validateUpdate(POD, pod(mutate), old)), expected);
    });
  }

  it('a deadline may shrink but not grow', () => {
    const old = pod((p) => (p.spec!.activeDeadlineSeconds = 100));
    assert.deepEqual(messages(validateUpdate(POD, pod((p) => (p.spec!.activeDeadlineSeconds = 50)), old)), []);
    assert.deepEqual(messages(validateUpdate(POD, pod((p) => (p.spec!.activeDeadlineSeconds = 200)), old)), [
      'spec.activeDeadlineSeconds: Invalid value: 200: must be less than or equal to previous value',
    ]);
  });

  it('an existing toleration may not change', () => {
    const old = pod((p) => (p.spec!.tolerations = [{ key: 'k', operator: 'Equal', value: 'a' }]));
    const updated = pod((p) => (p.spec!.tolerations = [{ key: 'k', operator: 'Equal', value: 'b' }]));
    assert.deepEqual(messages(validateUpdate(POD, updated, old)), ['spec.tolerations: Forbidden: existing toleration can not be modified except its tolerationSeconds']);
  });
});

describe('pod status update', () => {
  it('a terminated container of a Never pod may not run again', () => {
    const old = pod((p) => {
      p.spec!.restartPolicy = 'Never';
      Object.assign(p, { status: { containerStatuses: [{ name: 'app', image: 'nginx', imageID: '', ready: false, restartCount: 0, state: { terminated: { exitCode: 1 } } }] } });
    });
    const updated = pod((p) => {
      p.spec!.restartPolicy = 'Never';
      Object.assign(p, { status: { containerStatuses: [{ name: 'app', image: 'nginx', imageID: '', ready: true, restartCount: 0, state: { running: {} } }] } });
    });
    assert.deepEqual(messages(validateStatusUpdate(POD, updated, old)), ['status.containerStatuses[0].state: Forbidden: may not be transitioned to non-terminated state']);
  });

  it('pod IPs must be IPs', () => {
    const updated = pod((p) => Object.assign(p, { status: { podIPs: [{ ip: '10.0.0.1' }, { ip: 'nope' }] } }));
    assert.deepEqual(messages(validateStatusUpdate(POD, updated, pod())), [
      'status.podIPs[1]: Invalid value: "nope": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)',
    ]);
  });

  it('the node name may not change through status', () => {
    assert.deepEqual(messages(validateStatusUpdate(POD, pod((p) => (p.spec!.nodeName = 'n1')), pod())), ['status.nodeName: Forbidden: may not be changed directly']);
  });
});

describe('binding', () => {
  const BINDING = { group: '', version: 'v1', kind: 'Binding' };
  it('targets a node by name', () => {
    const b = (target: Record<string, string>): KubeObject => ({ metadata: { name: 'web', namespace: 'default' }, target });
    assert.deepEqual(messages(validateCreate(BINDING, b({ kind: 'Node', name: 'edge-1' }))), []);
    assert.deepEqual(messages(validateCreate(BINDING, b({ kind: 'Pod', name: '' }))), [
      'target.kind: Unsupported value: "Pod": supported values: "Node", "<empty>"',
      'target.name: Required value',
    ]);
  });
});
