import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatFieldError } from '../field-error.ts';
import type { SchemaNode } from './schema-node.ts';
import { validateStructuralSchema } from './structural.ts';

const BASE = 'spec.versions[0].schema.openAPIV3Schema';

function problems(schema: SchemaNode): string[] {
  return validateStructuralSchema(schema, BASE).map(formatFieldError);
}

describe('validateStructuralSchema', () => {
  it('accepts a typical structural schema', () => {
    const schema: SchemaNode = {
      type: 'object',
      properties: {
        metadata: { type: 'object', properties: { name: { type: 'string', maxLength: 20 } } },
        spec: {
          type: 'object',
          required: ['ports'],
          properties: {
            replicas: { type: 'integer', default: 1, minimum: 0 },
            port: { 'x-kubernetes-int-or-string': true, anyOf: [{ type: 'integer' }, { type: 'string' }] },
            ports: {
              type: 'array',
              'x-kubernetes-list-type': 'map',
              'x-kubernetes-list-map-keys': ['name'],
              items: { type: 'object', required: ['name'], properties: { name: { type: 'string' }, number: { type: 'integer' } } },
            },
            template: { type: 'object', 'x-kubernetes-embedded-resource': true, 'x-kubernetes-preserve-unknown-fields': true },
            labels: { type: 'object', additionalProperties: { type: 'string' } },
            mode: { type: 'string', anyOf: [{ enum: ['a'] }, { pattern: '^b' }] },
          },
          oneOf: [{ required: ['replicas'] }, { required: ['port'] }],
        },
        status: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
      },
    };
    assert.deepEqual(problems(schema), []);
  });

  it('requires a type on every field that does not preserve unknown fields, and an object at the root', () => {
    assert.deepEqual(problems({ type: 'string' }), [`${BASE}.type: Invalid value: "string": must be object at the root`]);
    assert.deepEqual(problems({ type: 'object', properties: { spec: { properties: { a: { type: 'string' } } }, list: { type: 'array', items: {} } } }), [
      `${BASE}.properties[spec].type: Required value: must not be empty for specified object fields`,
      `${BASE}.properties[list].items.type: Required value: must not be empty for specified array items`,
    ]);
  });

  it('rejects what apiextensions v1 does not support', () => {
    const schema = {
      type: 'object',
      properties: {
        a: { $ref: '#/definitions/x' },
        b: { type: 'array', items: { type: 'string' }, uniqueItems: true },
        c: { type: 'object', additionalProperties: false },
        d: { type: 'object', properties: { x: { type: 'string' } }, additionalProperties: { type: 'string' } },
        e: { type: 'array' },
        f: { type: 'string', 'x-kubernetes-preserve-unknown-fields': false },
      },
    } as SchemaNode;
    assert.deepEqual(problems(schema), [
      `${BASE}.properties[a].$ref: Forbidden: $ref is not supported`,
      `${BASE}.properties[a].type: Required value: must not be empty for specified object fields`,
      `${BASE}.properties[b].uniqueItems: Forbidden: uniqueItems cannot be set to true since the runtime complexity becomes quadratic`,
      `${BASE}.properties[c].additionalProperties: Forbidden: additionalProperties cannot be set to false`,
      `${BASE}.properties[d].additionalProperties: Forbidden: additionalProperties and properties are mutual exclusive`,
      `${BASE}.properties[e].items: Required value: must be specified`,
      `${BASE}.properties[f].x-kubernetes-preserve-unknown-fields: Invalid value: false: must be true or undefined`,
    ]);
  });

  it('allows only name and generateName restrictions in root metadata', () => {
    assert.deepEqual(problems({ type: 'object', properties: { metadata: { type: 'object', properties: { labels: { type: 'object' } } } } }), [
      `${BASE}.properties[metadata]: Forbidden: must not specify anything other than name and generateName, but metadata is implicitly specified`,
    ]);
    assert.deepEqual(problems({ type: 'object', properties: { metadata: { type: 'object', properties: { name: { type: 'integer' } } } } }), [
      `${BASE}.properties[metadata].properties[name].type: Invalid value: "integer": must be string`,
    ]);
  });

  it('keeps junctors to value validations on fields the structural part declares', () => {
    const schema: SchemaNode = {
      type: 'object',
      properties: { spec: { type: 'object', properties: { a: { type: 'string' } }, anyOf: [{ type: 'object', properties: { b: { minLength: 1 } } }] } },
    };
    assert.deepEqual(problems(schema), [
      `${BASE}.properties[spec].anyOf[0].type: Forbidden: must be empty to be structural`,
      `${BASE}.properties[spec].properties[b]: Required value: because it is defined in ${BASE}.properties[spec].anyOf[0].properties[b]`,
    ]);
  });

  it('checks list and map extensions', () => {
    const schema: SchemaNode = {
      type: 'object',
      properties: {
        m: { type: 'array', 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['k'], items: { type: 'object', properties: { k: { type: 'string' } } } },
        s: { type: 'array', 'x-kubernetes-list-type': 'set', items: { type: 'object', properties: { k: { type: 'string' } } } },
        k: { type: 'array', 'x-kubernetes-list-map-keys': ['k'], items: { type: 'string' } },
        t: { type: 'string', 'x-kubernetes-map-type': 'atomic' },
      },
    };
    assert.deepEqual(problems(schema), [
      `${BASE}.properties[m].x-kubernetes-list-map-keys[0]: Invalid value: "k": all map keys must be required or have a default value`,
      `${BASE}.properties[s].items.type: Invalid value: "object": must be a scalar, an atomic object or an atomic array for x-kubernetes-list-type "set"`,
      `${BASE}.properties[k].x-kubernetes-list-map-keys: Forbidden: must only be used if x-kubernetes-list-type is "map"`,
      `${BASE}.properties[t].x-kubernetes-map-type: Invalid value: "atomic": must only be used if type is object`,
    ]);
  });

  it('validates defaults against their own schema and rejects unknown fields in them', () => {
    const schema: SchemaNode = {
      type: 'object',
      properties: {
        replicas: { type: 'integer', minimum: 1, default: 0 },
        spec: { type: 'object', properties: { a: { type: 'string' } }, default: { a: 'x', b: 'y' } },
      },
    };
    assert.deepEqual(problems(schema), [
      `${BASE}.properties[replicas].default: Invalid value: 0: ${BASE}.properties[replicas].default in body should be greater than or equal to 1`,
      `${BASE}.properties[spec].default: Invalid value: {"a":"x","b":"y"}: must not have unknown fields: ${BASE}.properties[spec].default.b`,
    ]);
  });
});
