import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatFieldError } from '../field-error.ts';
import { builtinResolver, definitionFor } from './builtin.ts';
import { emptyResolver } from './resolver.ts';
import type { SchemaNode } from './schema-node.ts';
import { strictDecodingMessage, validateValue, type ValidateOptions } from './validate.ts';

const pod = definitionFor({ group: '', version: 'v1', kind: 'Pod' })!.schema;
const deployment = definitionFor({ group: 'apps', version: 'v1', kind: 'Deployment' })!.schema;

function validPod(): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'web', namespace: 'default', labels: { app: 'web' }, creationTimestamp: null },
    spec: {
      containers: [{ name: 'c', image: 'nginx', ports: [{ containerPort: 80, protocol: 'TCP' }], resources: { limits: { cpu: 1, memory: '128Mi' } } }],
      restartPolicy: 'Always',
    },
  };
}

function messages(value: unknown, schema: SchemaNode, options: ValidateOptions = { unknownFields: 'strict' }, resolver = emptyResolver): string[] {
  return validateValue(value, schema, resolver, options).errors.map(formatFieldError);
}

describe('validateValue with built-in types', () => {
  it('accepts a valid pod, with a numeric cpu quantity and a null creationTimestamp as kubectl writes them', () => {
    const obj = validPod();
    const result = validateValue(obj, pod, builtinResolver, { unknownFields: 'strict', resource: true });
    assert.deepEqual(result, { errors: [], unknownFields: [] });
    // The null was read as "unset", as Go's decoder does.
    assert.equal(Object.hasOwn(obj.metadata as object, 'creationTimestamp'), false);
  });

  it('reports unknown fields with the paths kube-apiserver prints, without touching them in strict mode', () => {
    const obj = validPod();
    const spec = obj.spec as { containers: Record<string, unknown>[]; foo?: number };
    spec.foo = 1;
    spec.containers[0]!.imagePullPolicyy = 'Always';
    (obj.metadata as Record<string, unknown>).bogus = true;
    const result = validateValue(obj, pod, builtinResolver, { unknownFields: 'strict', resource: true });
    assert.deepEqual(result.unknownFields, ['metadata.bogus', 'spec.containers[0].imagePullPolicyy', 'spec.foo']);
    assert.equal(spec.foo, 1);
    assert.equal(
      strictDecodingMessage(result.unknownFields),
      'strict decoding error: unknown field "metadata.bogus", unknown field "spec.containers[0].imagePullPolicyy", unknown field "spec.foo"',
    );
  });

  it('removes unknown fields in prune mode and still reports them (fieldValidation=Warn)', () => {
    const obj = validPod();
    (obj.spec as Record<string, unknown>).foo = 1;
    const result = validateValue(obj, pod, builtinResolver, { unknownFields: 'prune', resource: true });
    assert.deepEqual(result.unknownFields, ['spec.foo']);
    assert.equal(Object.hasOwn(obj.spec as object, 'foo'), false);
  });

  it('keeps free-form built-in objects (managedFields) whole', () => {
    const obj = validPod();
    (obj.metadata as Record<string, unknown>).managedFields = [{ manager: 'kubectl', operation: 'Apply', fieldsType: 'FieldsV1', fieldsV1: { 'f:spec': { 'f:containers': {} } } }];
    assert.deepEqual(validateValue(obj, pod, builtinResolver, { unknownFields: 'strict', resource: true }).unknownFields, []);
  });

  it('reports wrong types and missing required fields with their paths', () => {
    const obj = validPod();
    const container = (obj.spec as { containers: Record<string, unknown>[] }).containers[0]!;
    delete container.name;
    container.ports = [{ containerPort: '80' }];
    assert.deepEqual(messages(obj, pod, { unknownFields: 'strict', resource: true }, builtinResolver), [
      'spec.containers[0].ports[0].containerPort: Invalid value: "string": spec.containers[0].ports[0].containerPort in body must be of type integer: "string"',
      'spec.containers[0].name: Required value',
    ]);
  });

  it('accepts integers and strings for int-or-string fields and rejects other types', () => {
    const dep = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd' }, spec: { selector: {}, template: {}, strategy: { rollingUpdate: { maxSurge: 1, maxUnavailable: '25%' } } } };
    assert.deepEqual(messages(dep, deployment, { unknownFields: 'strict', resource: true }, builtinResolver), []);
    dep.spec.strategy.rollingUpdate.maxSurge = true as unknown as number;
    assert.deepEqual(messages(dep, deployment, { unknownFields: 'strict', resource: true }, builtinResolver), [
      'spec.strategy.rollingUpdate.maxSurge: Invalid value: "boolean": spec.strategy.rollingUpdate.maxSurge in body must be of type integer,string: "boolean"',
    ]);
  });

  it('checks date-time and base64 formats', () => {
    const obj = validPod();
    (obj.metadata as Record<string, unknown>).creationTimestamp = 'yesterday';
    assert.deepEqual(messages(obj, pod, { unknownFields: 'strict', resource: true }, builtinResolver), [
      'metadata.creationTimestamp: Invalid value: "yesterday": metadata.creationTimestamp in body must be of type date-time: "yesterday"',
    ]);
    const secret = definitionFor({ group: '', version: 'v1', kind: 'Secret' })!.schema;
    assert.deepEqual(messages({ metadata: { name: 's' }, data: { ok: 'aGVsbG8=', bad: 'not base64!' } }, secret, { unknownFields: 'strict' }, builtinResolver), [
      'data[bad]: Invalid value: "not base64!": data[bad] in body must be of type byte: "not base64!"',
    ]);
  });
});

describe('validateValue with CRD schemas', () => {
  const cronTab: SchemaNode = {
    type: 'object',
    properties: {
      spec: {
        type: 'object',
        required: ['cronSpec'],
        properties: {
          cronSpec: { type: 'string', pattern: '^(\\S+ ){4}\\S+$' },
          image: { type: 'string', minLength: 1, maxLength: 20 },
          replicas: { type: 'integer', minimum: 1, maximum: 10, default: 1 },
          color: { type: 'string', enum: ['red', 'green'] },
          paused: { type: 'boolean', nullable: true },
          port: { 'x-kubernetes-int-or-string': true, anyOf: [{ type: 'integer' }, { type: 'string' }] },
          tags: { type: 'array', items: { type: 'string' }, maxItems: 2, 'x-kubernetes-list-type': 'set' },
          extra: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
          labels: { type: 'object', additionalProperties: { type: 'string' }, maxProperties: 2 },
          opaque: { type: 'object' },
        },
      },
    },
  };
  const crd: ValidateOptions = { unknownFields: 'prune', resource: true, uniqueListItems: true };

  it('applies defaults, prunes unknown fields, drops non-nullable nulls and keeps metadata and preserved fields', () => {
    const obj = {
      apiVersion: 'stable.example.com/v1',
      kind: 'CronTab',
      metadata: { name: 'x', labels: { a: 'b' }, unknownMeta: 1 },
      spec: { cronSpec: '* * * * *', paused: null, image: null, extra: { anything: { goes: [1] } }, opaque: { dropped: true }, surprise: 'x' },
    };
    const result = validateValue(obj, cronTab, builtinResolver, crd);
    assert.deepEqual(result.errors, []);
    assert.deepEqual(result.unknownFields, ['metadata.unknownMeta', 'spec.opaque.dropped', 'spec.surprise']);
    assert.deepEqual(obj, {
      apiVersion: 'stable.example.com/v1',
      kind: 'CronTab',
      metadata: { name: 'x', labels: { a: 'b' } },
      spec: { cronSpec: '* * * * *', paused: null, replicas: 1, extra: { anything: { goes: [1] } }, opaque: {} },
    });
  });

  it('reports value violations as kube-apiserver words them', () => {
    const obj = {
      spec: { cronSpec: 'nope', image: '', replicas: 11, color: 'pink', port: 1.5, tags: ['a', 'a', 'b'], labels: { a: 'x', b: 'y', c: 'z' } },
    };
    assert.deepEqual(messages(obj, cronTab, crd), [
      'spec.cronSpec: Invalid value: "nope": spec.cronSpec in body should match \'^(\\S+ ){4}\\S+$\'',
      'spec.image: Invalid value: "": spec.image in body should be at least 1 chars long',
      'spec.replicas: Invalid value: 11: spec.replicas in body should be less than or equal to 10',
      'spec.color: Unsupported value: "pink": supported values: "red", "green"',
      'spec.port: Invalid value: "number": spec.port in body must be of type integer,string: "number"',
      'spec.tags: Too many: 3: must have at most 2 items',
      'spec.tags[1]: Duplicate value: "a"',
      'spec.labels: Too many: 3: must have at most 2 items',
    ]);
  });

  it('requires declared required fields and counts characters, not bytes, for lengths', () => {
    assert.deepEqual(messages({ spec: { image: 'é'.repeat(20) } }, cronTab, crd), ['spec.cronSpec: Required value']);
    assert.deepEqual(validateValue({ spec: { cronSpec: '* * * * *', image: 'x'.repeat(21) } }, cronTab, emptyResolver, crd).errors, [
      { type: 'FieldValueTooLong', field: 'spec.image', value: 'x'.repeat(21), detail: 'may not be more than 20 bytes' },
    ]);
  });

  it('rejects a null for a non-nullable array item, where apiextensions does not prune', () => {
    assert.deepEqual(messages({ spec: { cronSpec: '* * * * *', tags: [null] } }, cronTab, crd), ['spec.tags[0]: Invalid value: "null": spec.tags[0] in body must be of type string: "null"']);
  });

  it('evaluates oneOf, anyOf and not without letting their branches prune or default', () => {
    const schema: SchemaNode = {
      type: 'object',
      properties: { a: { type: 'string' }, b: { type: 'string' } },
      oneOf: [{ required: ['a'] }, { required: ['b'] }],
      not: { properties: { a: { enum: ['forbidden'] } } },
    };
    assert.deepEqual(messages({ a: 'x' }, schema), []);
    assert.deepEqual(messages({ a: 'x', b: 'y' }, schema), [': Invalid value: {"a":"x","b":"y"}: body must validate one and only one schema (oneOf). Found 2 valid alternatives']);
    assert.deepEqual(messages({ a: 'forbidden' }, schema), [': Invalid value: {"a":"forbidden"}: body must not validate the schema (not)']);
    const anyOf: SchemaNode = { type: 'integer', anyOf: [{ minimum: 10 }, { maximum: 0 }] };
    assert.deepEqual(messages(5, anyOf, { unknownFields: 'strict', path: 'spec.n' }), ['spec.n: Invalid value: 5: spec.n in body must validate at least one schema (anyOf)']);
  });

  it('checks embedded resources: type meta required, metadata is an ObjectMeta', () => {
    const schema: SchemaNode = {
      type: 'object',
      properties: { template: { type: 'object', 'x-kubernetes-embedded-resource': true, properties: { spec: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } } },
    };
    assert.deepEqual(messages({ template: { metadata: { name: 1 }, spec: { x: 1 } } }, schema, crd, builtinResolver), [
      'template.metadata.name: Invalid value: "integer": template.metadata.name in body must be of type string: "integer"',
      'template.apiVersion: Required value: must not be empty',
      'template.kind: Required value: must not be empty',
    ]);
    assert.deepEqual(messages({ template: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { x: 1 } } }, schema, crd, builtinResolver), []);
  });

  it('applies CRD metadata restrictions on top of ObjectMeta', () => {
    const schema: SchemaNode = { type: 'object', properties: { metadata: { type: 'object', properties: { name: { type: 'string', maxLength: 5 } } } } };
    assert.deepEqual(validateValue({ metadata: { name: 'too-long-name', labels: { a: 'b' } } }, schema, builtinResolver, crd).errors, [
      { type: 'FieldValueTooLong', field: 'metadata.name', value: 'too-long-name', detail: 'may not be more than 5 bytes' },
    ]);
  });

  it('enforces list-type map keys only when asked to', () => {
    const schema: SchemaNode = {
      type: 'array',
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['name'],
      items: { type: 'object', required: ['name'], properties: { name: { type: 'string' }, v: { type: 'integer' } } },
    };
    const value = [{ name: 'a', v: 1 }, { name: 'a', v: 2 }];
    assert.deepEqual(messages(value, schema, { unknownFields: 'strict', uniqueListItems: true, path: 'spec.list' }), ['spec.list[1]: Duplicate value: {"name":"a"}']);
    assert.deepEqual(messages(value, schema, { unknownFields: 'strict', path: 'spec.list' }), []);
  });

  it('accepts patterns written for Go regular expressions and reports broken ones', () => {
    assert.deepEqual(messages('a-b', { type: 'string', pattern: '^[a-z]+\\-[a-z]+$' }), []);
    assert.deepEqual(validateValue('x', { type: 'string', pattern: '([' }, emptyResolver, { unknownFields: 'strict', path: 'spec.x' }).errors.map((e) => e.type), ['InternalError']);
  });

  it('reports an unresolvable reference instead of accepting anything', () => {
    assert.deepEqual(validateValue({}, { $ref: '#/definitions/nope' }, emptyResolver, { unknownFields: 'strict' }).errors, [
      { type: 'InternalError', field: '', detail: 'unresolvable schema reference #/definitions/nope' },
    ]);
  });
});
