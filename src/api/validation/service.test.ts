import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { applyDefaults } from '../defaults/index.ts';
import { formatFieldError } from '../field-error.ts';
import type { KubeObject } from '../object.ts';
import { validateCreate, validateStatusUpdate, validateUpdate } from './index.ts';

const SERVICE = { group: '', version: 'v1', kind: 'Service' };
const ENDPOINTS = { group: '', version: 'v1', kind: 'Endpoints' };
const messages = (errs: readonly Parameters<typeof formatFieldError>[0][]): string[] => errs.map(formatFieldError);

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function service(spec: Json, name = 'web'): KubeObject {
  const o = { metadata: { name, namespace: 'default', uid: 'u' }, spec } as KubeObject;
  applyDefaults(SERVICE, o);
  return o;
}

describe('service create', () => {
  const cases: [name: string, svc: KubeObject, expected: string[]][] = [
    ['a ClusterIP service', service({ selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080 }] }), []],
    ['a headless service without ports', service({ clusterIP: 'None', selector: { app: 'web' } }), []],
    ['an ExternalName service', service({ type: 'ExternalName', externalName: 'db.example.com.' }), []],
    [
      'a name that is not a DNS-1035 label',
      service({ ports: [{ port: 80 }] }, '1web'),
      [
        "metadata.name: Invalid value: \"1web\": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')",
      ],
    ],
    ['no ports', service({ selector: { app: 'web' } }), ['spec.ports: Required value']],
    ['two ports, one unnamed', service({ ports: [{ name: 'http', port: 80 }, { port: 443 }] }), ['spec.ports[1].name: Required value']],
    ['two ports with one name', service({ ports: [{ name: 'http', port: 80 }, { name: 'http', port: 81 }] }), ['spec.ports[1].name: Duplicate value: "http"']],
    [
      'one port twice',
      service({ ports: [{ name: 'a', port: 80 }, { name: 'b', port: 80 }] }),
      ['spec.ports[1]: Duplicate value: {"port":80,"protocol":"TCP"}'],
    ],
    ['port 0', service({ ports: [{ port: 0, targetPort: 80 }] }), ['spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive']],
    [
      'a named target port that is not a port name',
      service({ ports: [{ port: 80, targetPort: 'HTTP' }] }),
      [
        'spec.ports[0].targetPort: Invalid value: "HTTP": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)',
        'spec.ports[0].targetPort: Invalid value: "HTTP": must contain at least one letter (a-z)',
      ],
    ],
    [
      'an unknown type',
      service({ type: 'Ingress', ports: [{ port: 80 }] }),
      ['spec.type: Unsupported value: "Ingress": supported values: "ClusterIP", "ExternalName", "LoadBalancer", "NodePort"'],
    ],
    [
      'a node port on a ClusterIP service',
      service({ ports: [{ port: 80, nodePort: 30080 }] }),
      ["spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'"],
    ],
    [
      'a node port outside the range',
      service({ type: 'NodePort', ports: [{ port: 80, nodePort: 8080 }] }),
      ['spec.ports[0].nodePort: Invalid value: 8080: provided port is not in the valid range. The range of valid ports is 30000-32767'],
    ],
    [
      'one node port twice',
      service({ type: 'NodePort', ports: [{ name: 'a', port: 80, nodePort: 30080 }, { name: 'b', port: 81, nodePort: 30080 }] }),
      ['spec.ports[1].nodePort: Duplicate value: 30080'],
    ],
    ['a headless NodePort', service({ type: 'NodePort', clusterIP: 'None', ports: [{ port: 80 }] }), ["spec.clusterIPs[0]: Invalid value: \"None\": may not be set to 'None' for NodePort services"]],
    ['an ExternalName without a name', service({ type: 'ExternalName' }), ['spec.externalName: Required value']],
    [
      'an unknown session affinity',
      service({ sessionAffinity: 'Cookie', ports: [{ port: 80 }] }),
      ['spec.sessionAffinity: Unsupported value: "Cookie": supported values: "ClientIP", "None"'],
    ],
    [
      'a cluster IP that is not an IP',
      service({ clusterIP: '10.96.0.300', ports: [{ port: 80 }] }),
      ['spec.clusterIPs[0]: Invalid value: "10.96.0.300": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)'],
    ],
  ];
  for (const [name, svc, expected] of cases) {
    it(name, () => assert.deepEqual(messages(validateCreate(SERVICE, svc)), expected));
  }
});

describe('service update', () => {
  it('keeps its cluster IP', () => {
    const old = service({ clusterIP: '10.96.0.10', ports: [{ port: 80 }] });
    const updated = service({ clusterIP: '10.96.0.11', ports: [{ port: 80 }] });
    assert.deepEqual(messages(validateUpdate(SERVICE, updated, old)), ['spec.clusterIPs[0]: Invalid value: ["10.96.0.11"]: may not change once set']);
  });

  it('may not drop its cluster IP', () => {
    const old = service({ clusterIP: '10.96.0.10', ports: [{ port: 80 }] });
    const updated = service({ ports: [{ port: 80 }] });
    assert.deepEqual(messages(validateUpdate(SERVICE, updated, old)), ['spec.clusterIPs[0]: Invalid value: []: primary clusterIP can not be unset']);
  });

  it('load balancer ingress holds IPs and DNS names', () => {
    const old = service({ type: 'LoadBalancer', clusterIP: '10.96.0.10', ports: [{ port: 80 }] });
    const updated = { ...old, status: { loadBalancer: { ingress: [{ ip: 'lb' }, { hostname: '203.0.113.1' }] } } } as KubeObject;
    assert.deepEqual(messages(validateStatusUpdate(SERVICE, updated, old)), [
      'status.loadBalancer.ingress[0].ip: Invalid value: "lb": must be a valid IP address',
      'status.loadBalancer.ingress[1].hostname: Invalid value: "203.0.113.1": must be a DNS name, not an IP address',
    ]);
  });
});

describe('endpoints', () => {
  const ep = (subsets: Json[]): KubeObject => {
    const o = { metadata: { name: 'web', namespace: 'default' }, subsets } as KubeObject;
    applyDefaults(ENDPOINTS, o);
    return o;
  };
  const cases: [name: string, o: KubeObject, expected: string[]][] = [
    ['pod addresses with a port', ep([{ addresses: [{ ip: '10.42.0.5', nodeName: 'edge-1' }], ports: [{ port: 8080 }] }]), []],
    ['a subset without addresses', ep([{ ports: [{ port: 8080 }] }]), ['subsets[0]: Required value: must specify `addresses` or `notReadyAddresses`']],
    ['a loopback address', ep([{ addresses: [{ ip: '127.0.0.1' }] }]), ['subsets[0].addresses[0].ip: Invalid value: "127.0.0.1": may not be in the loopback range (127.0.0.0/8, ::1/128)']],
    ['a link-local address', ep([{ addresses: [{ ip: '169.254.1.1' }] }]), ['subsets[0].addresses[0].ip: Invalid value: "169.254.1.1": may not be in the link-local range (169.254.0.0/16, fe80::/10)']],
    ['two unnamed ports', ep([{ addresses: [{ ip: '10.0.0.1' }], ports: [{ port: 80 }, { port: 81 }] }]), ['subsets[0].ports[0].name: Required value', 'subsets[0].ports[1].name: Required value']],
  ];
  for (const [name, o, expected] of cases) {
    it(name, () => assert.deepEqual(messages(validateCreate(ENDPOINTS, o)), expected));
  }
});
