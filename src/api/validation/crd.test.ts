import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { applyDefaults } from '../defaults/index.ts';
import { formatFieldError } from '../field-error.ts';
import type { KubeObject } from '../object.ts';
import { validateCreate, validateUpdate } from './index.ts';

const CRD = { group: 'apiextensions.k8s.io', version: 'v1', kind: 'CustomResourceDefinition' };
const messages = (errs: readonly Parameters<typeof formatFieldError>[0][]): string[] => errs.map(formatFieldError);

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function crd(mutate: (o: Json) => void = () => {}): KubeObject {
  const o: Json = {
    metadata: { name: 'devices.devices.kedge.io' },
    spec: {
      group: 'devices.kedge.io',
      scope: 'Namespaced',
      names: { plural: 'devices', kind: 'Device', shortNames: ['dev'] },
      versions: [
        {
          name: 'v1alpha1',
          served: true,
          storage: true,
          schema: { openAPIV3Schema: { type: 'object', properties: { spec: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } } },
          additionalPrinterColumns: [{ name: 'Protocol', type: 'string', jsonPath: '.spec.protocol' }],
        },
      ],
    },
  };
  applyDefaults(CRD, o as KubeObject);
  mutate(o);
  return o as KubeObject;
}

describe('custom resource definition', () => {
  const cases: [name: string, mutate: (o: Json) => void, expected: string[]][] = [
    ['a valid CRD', () => {}, []],
    ['a name that is not plural.group', (o) => (o['metadata'].name = 'device.devices.kedge.io'), ['metadata.name: Invalid value: "device.devices.kedge.io": must be spec.names.plural+"."+spec.group']],
    [
      'a group without a dot',
      (o) => ((o['spec'].group = 'devices'), (o['metadata'].name = 'devices.devices')),
      ['spec.group: Invalid value: "devices": should be a domain with at least one dot'],
    ],
    ['no scope', (o) => delete o['spec'].scope, ['spec.scope: Required value']],
    ['an unknown scope', (o) => (o['spec'].scope = 'Global'), ['spec.scope: Unsupported value: "Global": supported values: "Cluster", "Namespaced"']],
    [
      'two storage versions',
      (o) => void (o['spec'].versions as Json[]).push({ ...(o['spec'].versions[0] as Json), name: 'v1' }),
      [`spec.versions: Invalid value: ${JSON.stringify([])}: must have exactly one version marked as storage version`],
    ],
    [
      'a version name that is not a DNS-1035 label',
      (o) => (o['spec'].versions[0].name = 'V1'),
      [
        "spec.versions[0].name: Invalid value: \"V1\": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')",
      ],
    ],
    ['a version without a schema', (o) => delete o['spec'].versions[0].schema, ['spec.versions[0].schema.openAPIV3Schema: Required value: schemas are required']],
    ['a kind equal to its list kind', (o) => (o['spec'].names.listKind = 'Device'), ['spec.names.listKind: Invalid value: "Device": kind and listKind may not be the same']],
    ['no plural', (o) => ((o['spec'].names.plural = ''), (o['metadata'].name = '.devices.kedge.io')), [
      "metadata.name: Invalid value: \".devices.kedge.io\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
      'spec.names.plural: Required value',
    ]],
    [
      'a printer column without a path',
      (o) => (o['spec'].versions[0].additionalPrinterColumns = [{ name: 'X', type: 'string', jsonPath: '' }]),
      ['spec.versions[0].additionalPrinterColumns[0].JSONPath: Required value'],
    ],
    [
      'a printer column path without a leading dot',
      (o) => (o['spec'].versions[0].additionalPrinterColumns = [{ name: 'X', type: 'string', jsonPath: 'spec.x' }]),
      ['spec.versions[0].additionalPrinterColumns[0].JSONPath: Invalid value: "spec.x": must be a simple json path starting with .'],
    ],
    [
      'a printer column of an unknown type and format',
      (o) => (o['spec'].versions[0].additionalPrinterColumns = [{ name: 'X', type: 'text', format: 'uuid', jsonPath: '.x' }]),
      [
        'spec.versions[0].additionalPrinterColumns[0].type: Invalid value: "text": must be one of boolean,date,integer,number,string',
        'spec.versions[0].additionalPrinterColumns[0].format: Invalid value: "uuid": must be one of byte,date,date-time,double,float,int32,int64,password',
      ],
    ],
    ['an unknown conversion strategy', (o) => (o['spec'].conversion = { strategy: 'Magic' }), ['spec.conversion.strategy: Unsupported value: "Magic": supported values: "None", "Webhook"']],
  ];
  for (const [name, mutate, expected] of cases) {
    it(name, () => {
      const o = crd(mutate);
      const actual = messages(validateCreate(CRD, o)).map((m) => m.replace(/Invalid value: \[.*\]: must have exactly/, 'Invalid value: []: must have exactly'));
      assert.deepEqual(actual, expected);
    });
  }

  it('keeps its group and plural, and its scope once established', () => {
    const old = crd((o) => (o['status'] = { conditions: [{ type: 'Established', status: 'True' }] }));
    const updated = crd((o) => (o['spec'].scope = 'Cluster'));
    assert.deepEqual(messages(validateUpdate(CRD, updated, old)), ['spec.scope: Invalid value: "Cluster": field is immutable']);
  });
});
