import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { PodSpec } from 'kubernetes-types/core/v1.d.ts';
import type { GroupVersionKind, KubeObject } from '../object.ts';
import { applyDefaults, imageTag, podQOSClass } from './index.ts';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const gvk = (group: string, kind: string): GroupVersionKind => ({ group, version: 'v1', kind });
const POD = gvk('', 'Pod');

function defaulted(kind: GroupVersionKind, o: Json): Json {
  applyDefaults(kind, o as KubeObject);
  return o;
}

describe('pod defaults', () => {
  const pod = (): Json =>
    defaulted(POD, {
      metadata: { name: 'web', namespace: 'default' },
      spec: {
        containers: [
          {
            name: 'app',
            image: 'registry.local:5000/app',
            ports: [{ containerPort: 80 }],
            env: [{ name: 'POD', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }, { name: 'MEM', valueFrom: { resourceFieldRef: { resource: 'limits.memory' } } }],
            resources: { limits: { cpu: 0.5, memory: '1024Mi' } },
            readinessProbe: { httpGet: { port: 80 } },
            lifecycle: { preStop: { httpGet: { port: 80, path: '/quit' } } },
          },
        ],
        initContainers: [{ name: 'init', image: 'busybox@sha256:abc' }],
        volumes: [{ name: 'scratch' }, { name: 'cfg', configMap: { name: 'c' } }, { name: 'sec', secret: { secretName: 's' } }, { name: 'host', hostPath: { path: '/data' } }],
      },
    });

  it('fills the pod spec as Kubernetes stores it', () => {
    const spec = pod()['spec'];
    assert.equal(spec.restartPolicy, 'Always');
    assert.equal(spec.dnsPolicy, 'ClusterFirst');
    assert.equal(spec.schedulerName, 'default-scheduler');
    assert.equal(spec.terminationGracePeriodSeconds, 30);
    assert.deepEqual(spec.securityContext, {});
    assert.equal(spec.enableServiceLinks, true);
    assert.equal(spec.priority, 0);
    assert.equal(spec.preemptionPolicy, 'PreemptLowerPriority');
  });

  it('fills containers: pull policy, termination message, port protocol, probes, field refs', () => {
    const [app] = pod()['spec'].containers;
    assert.equal(app.imagePullPolicy, 'Always');
    assert.equal(app.terminationMessagePath, '/dev/termination-log');
    assert.equal(app.terminationMessagePolicy, 'File');
    assert.equal(app.ports[0].protocol, 'TCP');
    assert.deepEqual(app.readinessProbe, { httpGet: { port: 80, path: '/', scheme: 'HTTP' }, timeoutSeconds: 1, periodSeconds: 10, successThreshold: 1, failureThreshold: 3 });
    assert.deepEqual(app.lifecycle.preStop.httpGet, { port: 80, path: '/quit', scheme: 'HTTP' });
    assert.equal(app.env[0].valueFrom.fieldRef.apiVersion, 'v1');
    assert.equal(app.env[1].valueFrom.resourceFieldRef.divisor, '0');
  });

  it('writes quantities canonically and requests what is limited', () => {
    const [app] = pod()['spec'].containers;
    assert.deepEqual(app.resources, { limits: { cpu: '500m', memory: '1Gi' }, requests: { cpu: '500m', memory: '1Gi' } });
  });

  it('gives an init container pinned by digest IfNotPresent', () => {
    assert.equal(pod()['spec'].initContainers[0].imagePullPolicy, 'IfNotPresent');
    assert.deepEqual(pod()['spec'].initContainers[0].resources, {});
  });

  it('fills volumes: emptyDir when no source, mode 0644, hostPath type', () => {
    assert.deepEqual(pod()['spec'].volumes, [
      { name: 'scratch', emptyDir: {} },
      { name: 'cfg', configMap: { name: 'c', defaultMode: 420 } },
      { name: 'sec', secret: { secretName: 's', defaultMode: 420 } },
      { name: 'host', hostPath: { path: '/data', type: '' } },
    ]);
  });

  it('uses host ports under the host network', () => {
    const p = defaulted(POD, { metadata: { name: 'p', namespace: 'n' }, spec: { hostNetwork: true, containers: [{ name: 'a', image: 'x', ports: [{ containerPort: 9100 }] }] } });
    assert.equal(p['spec'].containers[0].ports[0].hostPort, 9100);
  });

  it('takes the priority of a built-in system class', () => {
    const p = defaulted(POD, { metadata: { name: 'p', namespace: 'n' }, spec: { priorityClassName: 'system-node-critical', containers: [] } });
    assert.equal(p['spec'].priority, 2000001000);
  });

  it('is idempotent', () => {
    const once = pod();
    const twice = structuredClone(once);
    applyDefaults(POD, twice as KubeObject);
    assert.deepEqual(twice, once);
  });

  it('keeps what the user set', () => {
    const p = defaulted(POD, {
      metadata: { name: 'p', namespace: 'n' },
      spec: { restartPolicy: 'Never', terminationGracePeriodSeconds: 0, enableServiceLinks: false, containers: [{ name: 'a', image: 'x:latest', imagePullPolicy: 'Never' }] },
    });
    assert.equal(p['spec'].restartPolicy, 'Never');
    assert.equal(p['spec'].terminationGracePeriodSeconds, 0);
    assert.equal(p['spec'].enableServiceLinks, false);
    assert.equal(p['spec'].containers[0].imagePullPolicy, 'Never');
  });
});

describe('image tags decide the pull policy', () => {
  const cases: [image: string, tag: string][] = [
    ['nginx', 'latest'],
    ['nginx:latest', 'latest'],
    ['nginx:1.25', '1.25'],
    ['registry.local:5000/app', 'latest'],
    ['registry.local:5000/app:v2', 'v2'],
    ['busybox@sha256:abc', ''],
    ['busybox:1.36@sha256:abc', '1.36'],
  ];
  for (const [image, tag] of cases) {
    it(image, () => assert.equal(imageTag(image), tag));
  }
});

describe('QoS classes', () => {
  const spec = (...resources: Json[]): Json => ({ containers: resources.map((r, i) => ({ name: `c${i}`, image: 'x', resources: r })) });
  const cases: [name: string, spec: Json, expected: string][] = [
    ['nothing requested', spec({}), 'BestEffort'],
    ['limits equal requests for cpu and memory', spec({ limits: { cpu: '1', memory: '1Gi' }, requests: { cpu: '1000m', memory: '1024Mi' } }), 'Guaranteed'],
    ['only a memory limit', spec({ limits: { memory: '1Gi' }, requests: { memory: '1Gi' } }), 'Burstable'],
    ['requests below limits', spec({ limits: { cpu: '1', memory: '1Gi' }, requests: { cpu: '500m', memory: '1Gi' } }), 'Burstable'],
    ['one guaranteed and one best-effort container', spec({ limits: { cpu: '1', memory: '1Gi' }, requests: { cpu: '1', memory: '1Gi' } }, {}), 'Burstable'],
  ];
  for (const [name, s, expected] of cases) {
    it(name, () => assert.equal(podQOSClass(s as PodSpec), expected));
  }
});

describe('workload defaults', () => {
  const template = { metadata: { labels: { app: 'a' } }, spec: { containers: [{ name: 'a', image: 'x:1' }] } };

  it('deployment: one replica, 25% rolling update, history and progress deadline', () => {
    const d = defaulted(gvk('apps', 'Deployment'), { metadata: { name: 'd' }, spec: { selector: { matchLabels: { app: 'a' } }, template: structuredClone(template) } });
    assert.equal(d['spec'].replicas, 1);
    assert.deepEqual(d['spec'].strategy, { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '25%', maxSurge: '25%' } });
    assert.equal(d['spec'].revisionHistoryLimit, 10);
    assert.equal(d['spec'].progressDeadlineSeconds, 600);
    assert.equal(d['spec'].template.spec.restartPolicy, 'Always');
    // Pod-only defaults do not apply to templates.
    assert.equal(d['spec'].template.spec.enableServiceLinks, undefined);
    assert.equal(d['spec'].template.spec.priority, undefined);
  });

  it('deployment: Recreate gets no rolling update parameters', () => {
    const d = defaulted(gvk('apps', 'Deployment'), { metadata: { name: 'd' }, spec: { strategy: { type: 'Recreate' }, template: structuredClone(template) } });
    assert.deepEqual(d['spec'].strategy, { type: 'Recreate' });
  });

  it('replica set: one replica', () => {
    assert.equal(defaulted(gvk('apps', 'ReplicaSet'), { metadata: { name: 'r' }, spec: { template: structuredClone(template) } })['spec'].replicas, 1);
  });

  it('daemon set: one node at a time, no surge', () => {
    const ds = defaulted(gvk('apps', 'DaemonSet'), { metadata: { name: 'ds' }, spec: { template: structuredClone(template) } });
    assert.deepEqual(ds['spec'].updateStrategy, { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } });
    assert.equal(ds['spec'].revisionHistoryLimit, 10);
  });
});

describe('other kinds', () => {
  it('service: ClusterIP, no affinity, TCP, target port = port, single-stack IPv4', () => {
    const s = defaulted(gvk('', 'Service'), { metadata: { name: 's' }, spec: { ports: [{ port: 80 }, { port: 53, protocol: 'UDP', targetPort: 'dns' }] } });
    assert.deepEqual(s['spec'], {
      ports: [
        { port: 80, protocol: 'TCP', targetPort: 80 },
        { port: 53, protocol: 'UDP', targetPort: 'dns' },
      ],
      sessionAffinity: 'None',
      type: 'ClusterIP',
      internalTrafficPolicy: 'Cluster',
      ipFamilyPolicy: 'SingleStack',
      ipFamilies: ['IPv4'],
    });
  });

  it('service: a headless service mirrors clusterIP into clusterIPs', () => {
    const s = defaulted(gvk('', 'Service'), { metadata: { name: 's' }, spec: { clusterIP: 'None' } });
    assert.deepEqual(s['spec'].clusterIPs, ['None']);
  });

  it('service: NodePort and LoadBalancer are externally accessible', () => {
    const s = defaulted(gvk('', 'Service'), { metadata: { name: 's' }, spec: { type: 'LoadBalancer', ports: [{ port: 443 }] } });
    assert.equal(s['spec'].externalTrafficPolicy, 'Cluster');
    assert.equal(s['spec'].allocateLoadBalancerNodePorts, true);
  });

  it('service: ExternalName has no IP families', () => {
    const s = defaulted(gvk('', 'Service'), { metadata: { name: 's' }, spec: { type: 'ExternalName', externalName: 'db.example.com' } });
    assert.equal(s['spec'].ipFamilies, undefined);
    assert.equal(s['spec'].ipFamilyPolicy, undefined);
  });

  it('secret: Opaque, with stringData folded into data', () => {
    const s = defaulted(gvk('', 'Secret'), { metadata: { name: 's' }, data: { a: btoa('old'), b: btoa('keep') }, stringData: { a: 'new', c: 'héllo' } });
    assert.equal(s['type'], 'Opaque');
    assert.equal(s['stringData'], undefined);
    assert.deepEqual(s['data'], { a: btoa('new'), b: btoa('keep'), c: Buffer.from('héllo').toString('base64') });
  });

  it('namespace: name label and Active phase', () => {
    const ns = defaulted(gvk('', 'Namespace'), { metadata: { name: 'edge' } });
    assert.deepEqual(ns['metadata'].labels, { 'kubernetes.io/metadata.name': 'edge' });
    assert.deepEqual(ns['status'], { phase: 'Active' });
  });

  it('node: allocatable defaults to capacity', () => {
    const n = defaulted(gvk('', 'Node'), { metadata: { name: 'n' }, status: { capacity: { cpu: '4', memory: '8192Mi' } } });
    assert.deepEqual(n['status'].allocatable, { cpu: '4', memory: '8Gi' });
  });

  it('endpoints: TCP ports', () => {
    const e = defaulted(gvk('', 'Endpoints'), { metadata: { name: 'e' }, subsets: [{ addresses: [{ ip: '10.0.0.1' }], ports: [{ port: 80 }] }] });
    assert.equal(e['subsets'][0].ports[0].protocol, 'TCP');
  });

  it('CRD: singular, list kind and no conversion', () => {
    const c = defaulted(gvk('apiextensions.k8s.io', 'CustomResourceDefinition'), { metadata: { name: 'devices.kedge.io' }, spec: { names: { plural: 'devices', kind: 'Device' } } });
    assert.deepEqual(c['spec'].names, { plural: 'devices', kind: 'Device', singular: 'device', listKind: 'DeviceList' });
    assert.deepEqual(c['spec'].conversion, { strategy: 'None' });
  });

  it('kinds without defaults are left alone', () => {
    const cm = { metadata: { name: 'c' }, data: { a: '1' } };
    assert.deepEqual(defaulted(gvk('', 'ConfigMap'), structuredClone(cm)), cm);
  });
});
