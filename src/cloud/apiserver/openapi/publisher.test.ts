import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SchemaNode } from '../../../api/schema/schema-node.ts';
import { OpenApiPublisher, type ServedResource } from './publisher.ts';

const VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

const CRON_TAB_SCHEMA: SchemaNode = {
  type: 'object',
  description: 'CronTab runs a command on a schedule.',
  properties: {
    spec: {
      type: 'object',
      required: ['cronSpec', 'note'],
      properties: {
        cronSpec: { type: 'string', description: 'When to run.', pattern: '^\\S+$' },
        note: { type: 'string', nullable: true },
        port: { 'x-kubernetes-int-or-string': true, anyOf: [{ type: 'integer' }, { type: 'string' }] },
        extra: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true, properties: { a: { type: 'string' } } },
        replicas: { type: 'integer', minimum: 1, maximum: 10, default: 1 },
      },
    },
  },
};

const RESOURCES: ServedResource[] = [
  { group: '', version: 'v1', kind: 'Pod', plural: 'pods', namespaced: true, subresources: ['status'], verbs: VERBS, definition: 'io.k8s.api.core.v1.Pod' },
  { group: '', version: 'v1', kind: 'Node', plural: 'nodes', namespaced: false, subresources: ['status'], verbs: VERBS, definition: 'io.k8s.api.core.v1.Node' },
  { group: '', version: 'v1', kind: 'Binding', plural: 'bindings', namespaced: true, subresources: [], verbs: ['create'], definition: 'io.k8s.api.core.v1.Binding' },
  { group: 'apps', version: 'v1', kind: 'Deployment', plural: 'deployments', namespaced: true, subresources: ['status', 'scale'], verbs: VERBS, definition: 'io.k8s.api.apps.v1.Deployment' },
  { group: 'stable.example.com', version: 'v1', kind: 'CronTab', plural: 'crontabs', namespaced: true, subresources: ['status'], verbs: VERBS, definition: CRON_TAB_SCHEMA },
];

function publisher(resources = RESOURCES): OpenApiPublisher {
  const p = new OpenApiPublisher({ version: 'v1.30.0' });
  p.update(resources);
  return p;
}

interface Swagger {
  swagger: string;
  info: { title: string; version: string };
  paths: Record<string, Record<string, { operationId: string; consumes: string[]; parameters?: { name: string; in: string }[]; 'x-kubernetes-group-version-kind'?: unknown }>>;
  definitions: Record<string, SchemaNode>;
}

describe('OpenAPI v2', () => {
  const doc = JSON.parse(publisher().v2Json().toString()) as Swagger;

  it('describes every operation of every served resource, as kube-apiserver names them', () => {
    const ops = (path: string): string[] => Object.entries(doc.paths[path] ?? {}).filter(([k]) => k !== 'parameters').map(([method, op]) => `${method} ${op.operationId}`);
    assert.deepEqual(ops('/api/v1/namespaces/{namespace}/pods'), ['get listCoreV1NamespacedPod', 'post createCoreV1NamespacedPod', 'delete deleteCoreV1CollectionNamespacedPod']);
    assert.deepEqual(ops('/api/v1/namespaces/{namespace}/pods/{name}'), ['get readCoreV1NamespacedPod', 'put replaceCoreV1NamespacedPod', 'patch patchCoreV1NamespacedPod', 'delete deleteCoreV1NamespacedPod']);
    assert.deepEqual(ops('/api/v1/namespaces/{namespace}/pods/{name}/status'), ['get readCoreV1NamespacedPodStatus', 'put replaceCoreV1NamespacedPodStatus', 'patch patchCoreV1NamespacedPodStatus']);
    assert.deepEqual(ops('/api/v1/pods'), ['get listCoreV1PodForAllNamespaces']);
    assert.deepEqual(ops('/api/v1/nodes/{name}'), ['get readCoreV1Node', 'put replaceCoreV1Node', 'patch patchCoreV1Node', 'delete deleteCoreV1Node']);
    assert.deepEqual(ops('/api/v1/namespaces/{namespace}/bindings'), ['post createCoreV1NamespacedBinding']);
    assert.deepEqual(ops('/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale'), ['get readAppsV1NamespacedDeploymentScale', 'put replaceAppsV1NamespacedDeploymentScale', 'patch patchAppsV1NamespacedDeploymentScale']);
    assert.deepEqual(ops('/apis/stable.example.com/v1/namespaces/{namespace}/crontabs/{name}'), [
      'get readStableExampleComV1NamespacedCronTab',
      'put replaceStableExampleComV1NamespacedCronTab',
      'patch patchStableExampleComV1NamespacedCronTab',
      'delete deleteStableExampleComV1NamespacedCronTab',
    ]);
    assert.equal(doc.paths['/api/v1/namespaces/{namespace}/bindings/{name}'], undefined);
  });

  it('lets kubectl leave validation to the server: PATCH takes fieldValidation for every kind', () => {
    for (const [path, item] of Object.entries(doc.paths)) {
      const patch = item.patch;
      if (patch === undefined) continue;
      const params = (patch.parameters ?? []).map((p) => `${p.in}:${p.name}`);
      for (const name of ['query:dryRun', 'query:fieldManager', 'query:fieldValidation', 'query:force', 'body:body']) assert.ok(params.includes(name), `${path} PATCH takes ${name}`);
      assert.ok(patch['x-kubernetes-group-version-kind'], `${path} PATCH names its kind`);
    }
    const create = doc.paths['/api/v1/namespaces/{namespace}/pods']!.post!;
    assert.deepEqual(create.parameters?.map((p) => p.name), ['body', 'dryRun', 'fieldManager', 'fieldValidation']);
  });

  it('offers strategic merge patch for built-in types only', () => {
    assert.ok(doc.paths['/api/v1/namespaces/{namespace}/pods/{name}']!.patch!.consumes.includes('application/strategic-merge-patch+json'));
    assert.deepEqual(doc.paths['/apis/stable.example.com/v1/namespaces/{namespace}/crontabs/{name}']!.patch!.consumes, [
      'application/json-patch+json',
      'application/merge-patch+json',
      'application/apply-patch+yaml',
    ]);
  });

  it('publishes a CRD schema as kube-apiserver does for v2: standard fields added, v3-only keywords removed', () => {
    const def = doc.definitions['com.example.stable.v1.CronTab']!;
    assert.deepEqual(def['x-kubernetes-group-version-kind'], [{ group: 'stable.example.com', version: 'v1', kind: 'CronTab' }]);
    assert.equal(def.properties?.metadata?.$ref, '#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta');
    assert.equal(def.properties?.kind?.type, 'string');
    const spec = def.properties.spec!;
    assert.deepEqual(spec.required, ['cronSpec']);
    assert.deepEqual(spec.properties?.note, {});
    assert.deepEqual(spec.properties?.port, { 'x-kubernetes-int-or-string': true });
    assert.deepEqual(spec.properties?.extra, { type: 'object', 'x-kubernetes-preserve-unknown-fields': true });
    const list = doc.definitions['com.example.stable.v1.CronTabList']!;
    assert.equal(list.properties?.items?.items?.$ref, '#/definitions/com.example.stable.v1.CronTab');
    assert.ok(doc.definitions['io.k8s.api.core.v1.Pod']);
  });
});

describe('OpenAPI v3', () => {
  const p = publisher();
  const index = JSON.parse(p.v3Index().toString()) as { paths: Record<string, { serverRelativeURL: string }> };

  it('indexes one document per group-version, addressed by its content hash', () => {
    assert.deepEqual(Object.keys(index.paths), ['api/v1', 'apis/apps/v1', 'apis/stable.example.com/v1']);
    const core = p.v3GroupVersion('api/v1')!;
    assert.equal(index.paths['api/v1']!.serverRelativeURL, `/openapi/v3/api/v1?hash=${core.hash}`);
    assert.match(core.hash, /^[0-9A-F]{128}$/);
    assert.equal(p.v3GroupVersion('/apis/apps/v1/')?.hash, p.v3GroupVersion('apis/apps/v1')?.hash);
    assert.equal(p.v3GroupVersion('apis/batch/v1'), undefined);
  });

  it('has operations whose PATCH lists fieldValidation and whose bodies reference components', () => {
    const doc = JSON.parse(p.v3GroupVersion('apis/apps/v1')!.body.toString()) as {
      openapi: string;
      paths: Record<string, Record<string, { parameters?: { name: string }[]; requestBody?: { content: Record<string, { schema: SchemaNode }> } }>>;
      components: { schemas: Record<string, SchemaNode> };
    };
    assert.equal(doc.openapi, '3.0.0');
    const patch = doc.paths['/apis/apps/v1/namespaces/{namespace}/deployments/{name}']!.patch!;
    assert.ok(patch.parameters?.some((x) => x.name === 'fieldValidation'));
    assert.deepEqual(patch.requestBody?.content['application/strategic-merge-patch+json'], { schema: { $ref: '#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.Patch' } });
    // Only this group-version's closure, with v3 references.
    assert.ok(doc.components.schemas['io.k8s.api.core.v1.PodSpec']);
    assert.equal(doc.components.schemas['io.k8s.api.core.v1.Node'], undefined);
    const metadata = doc.components.schemas['io.k8s.api.apps.v1.Deployment']!.properties!.metadata!;
    assert.deepEqual(metadata.allOf, [{ $ref: '#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta' }]);
    assert.deepEqual(doc.components.schemas['io.k8s.apimachinery.pkg.util.intstr.IntOrString']!.oneOf, [{ type: 'integer' }, { type: 'string' }]);
    assert.equal(doc.components.schemas['io.k8s.apimachinery.pkg.util.intstr.IntOrString']!.format, 'int-or-string');
  });

  it('keeps a CRD schema whole in v3', () => {
    const doc = JSON.parse(p.v3GroupVersion('apis/stable.example.com/v1')!.body.toString()) as { components: { schemas: Record<string, SchemaNode> } };
    const spec = doc.components.schemas['com.example.stable.v1.CronTab']!.properties!.spec!;
    assert.deepEqual(spec.properties?.note, { type: 'string', nullable: true });
    assert.deepEqual(spec.required, ['cronSpec', 'note']);
    assert.ok(doc.components.schemas['io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta']);
  });
});

describe('OpenApiPublisher caching', () => {
  it('returns the same bytes until the served resources change, then new ones', () => {
    const p = publisher(RESOURCES.slice(0, 4));
    const v2 = p.v2Json();
    const etag = p.v2ETag();
    const apps = p.v3GroupVersion('apis/apps/v1')!.hash;
    assert.equal(p.v2Json(), v2);
    assert.equal(p.v3GroupVersion('apis/stable.example.com/v1'), undefined);
    p.update(RESOURCES);
    assert.notEqual(p.v2ETag(), etag);
    assert.ok(p.v3GroupVersion('apis/stable.example.com/v1'));
    // A group-version the change did not touch keeps its hash, so clients keep their cache.
    assert.equal(p.v3GroupVersion('apis/apps/v1')!.hash, apps);
  });

  it('does not depend on the order resources are listed in', () => {
    assert.equal(publisher([...RESOURCES].reverse()).v2ETag(), publisher().v2ETag());
  });
});

// ------------------------------------------------------------------------------------------------
// A protobuf reader written independently of the encoder, with gnostic's field numbers spelled out,
// to check the v2 protobuf decodes back to the JSON document.

type Field = { wire: number; value: bigint | Buffer };

function fields(buf: Buffer): Map<number, Field[]> {
  const out = new Map<number, Field[]>();
  let i = 0;
  const varint = (): bigint => {
    let result = 0n;
    for (let shift = 0n; ; shift += 7n) {
      const byte = buf[i++]!;
      result |= BigInt(byte & 0x7f) << shift;
      if (byte < 0x80) return result;
    }
  };
  while (i < buf.length) {
    const key = Number(varint());
    const wire = key & 7;
    let value: bigint | Buffer;
    if (wire === 0) value = varint();
    else if (wire === 1) {
      value = buf.subarray(i, i + 8);
      i += 8;
    } else if (wire === 2) {
      const len = Number(varint());
      value = buf.subarray(i, i + len);
      i += len;
    } else throw new Error(`unexpected wire type ${wire}`);
    const list = out.get(key >> 3) ?? [];
    list.push({ wire, value });
    out.set(key >> 3, list);
  }
  return out;
}

const bytesOf = (f: Field): Buffer => f.value as Buffer;
const str = (m: Map<number, Field[]>, n: number): string | undefined => (m.get(n)?.[0] === undefined ? undefined : bytesOf(m.get(n)![0]!).toString());
const strs = (m: Map<number, Field[]>, n: number): string[] => (m.get(n) ?? []).map((f) => bytesOf(f).toString());
const sub = (m: Map<number, Field[]>, n: number): Map<number, Field[]> | undefined => (m.get(n)?.[0] === undefined ? undefined : fields(bytesOf(m.get(n)![0]!)));
const subs = (m: Map<number, Field[]>, n: number): Map<number, Field[]>[] => (m.get(n) ?? []).map((f) => fields(bytesOf(f)));
const num = (m: Map<number, Field[]>, n: number): number | undefined => {
  const f = m.get(n)?.[0];
  if (f === undefined) return undefined;
  return f.wire === 1 ? bytesOf(f).readDoubleLE() : Number(f.value);
};
const yamlOf = (any: Map<number, Field[]>): unknown => JSON.parse(str(any, 2) ?? 'null');

/** gnostic Schema (fields 1–31) back to JSON. */
function decodeSchema(m: Map<number, Field[]>): SchemaNode {
  const s: Record<string, unknown> = {};
  const set = (key: string, value: unknown): void => {
    if (value !== undefined) s[key] = value;
  };
  set('$ref', str(m, 1));
  set('format', str(m, 2));
  set('description', str(m, 4));
  const def = sub(m, 5);
  if (def) s.default = yamlOf(def);
  set('multipleOf', num(m, 6));
  set('maximum', num(m, 7));
  if (num(m, 8)) s.exclusiveMaximum = true;
  set('minimum', num(m, 9));
  if (num(m, 10)) s.exclusiveMinimum = true;
  set('maxLength', num(m, 11));
  set('minLength', num(m, 12));
  set('pattern', str(m, 13));
  set('maxItems', num(m, 14));
  set('minItems', num(m, 15));
  if (num(m, 16)) s.uniqueItems = true;
  set('maxProperties', num(m, 17));
  set('minProperties', num(m, 18));
  if (m.has(19)) s.required = strs(m, 19);
  if (m.has(20)) s.enum = subs(m, 20).map(yamlOf);
  const additional = sub(m, 21);
  if (additional) s.additionalProperties = additional.has(2) ? num(additional, 2) === 1 : decodeSchema(sub(additional, 1)!);
  const type = sub(m, 22);
  if (type) s.type = strs(type, 1)[0];
  const items = sub(m, 23);
  if (items) s.items = decodeSchema(subs(items, 1)[0]!);
  if (m.has(24)) s.allOf = subs(m, 24).map(decodeSchema);
  const props = sub(m, 25);
  if (props) s.properties = Object.fromEntries(subs(props, 1).map((named) => [str(named, 1), decodeSchema(sub(named, 2)!)]));
  for (const ext of subs(m, 31)) s[str(ext, 1)!] = yamlOf(sub(ext, 2)!);
  return s;
}

/** Sorts object keys recursively, so documents compare regardless of key order. */
function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.keys(value).sort().map((k) => [k, canonical((value as Record<string, unknown>)[k])]));
  return value;
}

describe('OpenAPI v2 protobuf', () => {
  const p = publisher();
  const json = JSON.parse(p.v2Json().toString()) as Swagger;
  const doc = fields(p.v2Protobuf());

  it('is a gnostic Document with the same info and definitions as the JSON', () => {
    assert.equal(str(doc, 1), '2.0');
    const info = sub(doc, 2)!;
    assert.deepEqual([str(info, 1), str(info, 2)], ['Kubernetes', 'v1.30.0']);
    const definitions = Object.fromEntries(subs(sub(doc, 9)!, 1).map((named) => [str(named, 1), decodeSchema(sub(named, 2)!)]));
    assert.deepEqual(canonical(definitions), canonical(json.definitions));
  });

  it('has the paths, with PATCH operations taking fieldValidation as a query parameter', () => {
    const paths = new Map(subs(sub(doc, 8)!, 2).map((named) => [str(named, 1), sub(named, 2)!]));
    assert.deepEqual([...paths.keys()], Object.keys(json.paths));
    const item = paths.get('/api/v1/namespaces/{namespace}/pods/{name}')!;
    const patch = sub(item, 8)!;
    assert.equal(str(patch, 5), 'patchCoreV1NamespacedPod');
    assert.ok(strs(patch, 7).includes('application/strategic-merge-patch+json'));
    const queryNames = subs(patch, 8).flatMap((pi) => {
      const nonBody = sub(sub(pi, 1)!, 2);
      const query = nonBody === undefined ? undefined : sub(nonBody, 3);
      return query === undefined ? [] : [str(query, 4)];
    });
    assert.deepEqual(queryNames, ['dryRun', 'fieldManager', 'fieldValidation', 'force']);
    const gvk = subs(patch, 13).find((ext) => str(ext, 1) === 'x-kubernetes-group-version-kind')!;
    assert.deepEqual(yamlOf(sub(gvk, 2)!), { group: '', version: 'v1', kind: 'Pod' });
    // Path-level parameters: name and namespace are path parameters (PathParameterSubSchema = 4).
    const pathParams = subs(item, 9).map((pi) => sub(sub(sub(pi, 1)!, 2)!, 4)).filter((x) => x !== undefined);
    assert.deepEqual(pathParams.map((x) => [str(x, 4), num(x, 1)]), [['name', 1], ['namespace', 1]]);
  });

  it('declares bearer token security', () => {
    const named = subs(sub(doc, 13)!, 1)[0]!;
    assert.equal(str(named, 1), 'BearerToken');
    const apiKey = sub(sub(named, 2)!, 2)!;
    assert.deepEqual([str(apiKey, 1), str(apiKey, 2), str(apiKey, 3)], ['apiKey', 'authorization', 'header']);
  });
});
