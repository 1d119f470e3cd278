import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { builtinDefinitions, builtinResolver, definitionFor } from './builtin.ts';
import type { SchemaNode } from './schema-node.ts';
import { validateValue } from './validate.ts';

const CORE = 'io.k8s.api.core.v1';
const META = 'io.k8s.apimachinery.pkg.apis.meta.v1';

function prop(definition: string, field: string): SchemaNode {
  const node = builtinDefinitions[definition]?.properties?.[field];
  assert.ok(node, `${definition}.${field} exists`);
  return node;
}

describe('built-in definitions', () => {
  it('finds kinds by group, version and kind', () => {
    assert.equal(definitionFor({ group: '', version: 'v1', kind: 'Pod' })?.name, `${CORE}.Pod`);
    assert.equal(definitionFor({ group: 'apps', version: 'v1', kind: 'DeploymentList' })?.name, 'io.k8s.api.apps.v1.DeploymentList');
    assert.equal(definitionFor({ group: 'coordination.k8s.io', version: 'v1', kind: 'Lease' })?.name, 'io.k8s.api.coordination.v1.Lease');
    assert.equal(definitionFor({ group: 'apiextensions.k8s.io', version: 'v1', kind: 'CustomResourceDefinition' })?.name, 'io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinition');
    assert.equal(definitionFor({ group: 'apps', version: 'v1', kind: 'DeleteOptions' })?.name, `${META}.DeleteOptions`);
    assert.equal(definitionFor({ group: 'batch', version: 'v1', kind: 'Job' }), undefined);
  });

  it('covers every kind kedge serves, with its list kind', () => {
    const kinds = ['Namespace', 'Node', 'Pod', 'ConfigMap', 'Secret', 'Service', 'Endpoints', 'Event', 'ServiceAccount'];
    for (const kind of kinds) {
      assert.ok(definitionFor({ group: '', version: 'v1', kind }), kind);
      assert.ok(definitionFor({ group: '', version: 'v1', kind: `${kind}List` }), `${kind}List`);
    }
    for (const kind of ['Deployment', 'ReplicaSet', 'DaemonSet']) assert.ok(definitionFor({ group: 'apps', version: 'v1', kind }), kind);
    assert.ok(definitionFor({ group: 'autoscaling', version: 'v1', kind: 'Scale' }));
    assert.ok(definitionFor({ group: '', version: 'v1', kind: 'Binding' }));
    assert.ok(builtinDefinitions['io.k8s.apimachinery.pkg.version.Info']);
  });

  it('references every definition it uses', () => {
    const missing: string[] = [];
    const visit = (node: SchemaNode, where: string): void => {
      if (node.$ref !== undefined && builtinResolver.resolve(node) === node) missing.push(`${where} → ${node.$ref}`);
      for (const [k, v] of Object.entries(node.properties ?? {})) visit(v, `${where}.${k}`);
      if (node.items !== undefined) visit(node.items, `${where}[]`);
      if (typeof node.additionalProperties === 'object') visit(node.additionalProperties, `${where}{}`);
    };
    for (const [name, def] of Object.entries(builtinDefinitions)) visit(def, name);
    assert.deepEqual(missing, []);
  });

  it('carries descriptions, required fields and Kubernetes formats', () => {
    assert.match(builtinDefinitions[`${CORE}.Pod`]!.description!, /^Pod is a collection of containers/);
    assert.deepEqual(builtinDefinitions[`${CORE}.Container`]!.required, ['name']);
    assert.deepEqual(prop(`${META}.ObjectMeta`, 'generation'), { description: prop(`${META}.ObjectMeta`, 'generation').description, type: 'integer', format: 'int64' });
    assert.equal(prop(`${CORE}.ContainerPort`, 'containerPort').format, 'int32');
    assert.deepEqual(prop(`${CORE}.Secret`, 'data').additionalProperties, { type: 'string', format: 'byte' });
    assert.equal(prop(`${META}.ObjectMeta`, 'creationTimestamp').$ref, `#/definitions/${META}.Time`);
    assert.deepEqual(builtinDefinitions[`${META}.Time`]!.format, 'date-time');
    assert.equal(prop('io.k8s.api.apps.v1.RollingUpdateDeployment', 'maxSurge').$ref, '#/definitions/io.k8s.apimachinery.pkg.util.intstr.IntOrString');
    assert.equal(prop('io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaProps', 'maximum').format, 'double');
  });

  it('carries the patch extensions strategic merge patch needs', () => {
    assert.equal(prop(`${CORE}.PodSpec`, 'containers')['x-kubernetes-patch-merge-key'], 'name');
    assert.equal(prop(`${CORE}.PodSpec`, 'volumes')['x-kubernetes-patch-strategy'], 'merge,retainKeys');
    assert.deepEqual(prop(`${CORE}.Container`, 'ports')['x-kubernetes-list-map-keys'], ['containerPort', 'protocol']);
    assert.equal(prop(`${CORE}.Container`, 'volumeMounts')['x-kubernetes-patch-merge-key'], 'mountPath');
    assert.equal(prop(`${CORE}.ServiceSpec`, 'ports')['x-kubernetes-patch-merge-key'], 'port');
    assert.equal(prop(`${META}.ObjectMeta`, 'ownerReferences')['x-kubernetes-patch-merge-key'], 'uid');
    assert.equal(prop(`${META}.ObjectMeta`, 'finalizers')['x-kubernetes-list-type'], 'set');
    assert.equal(prop(`${CORE}.NodeStatus`, 'images')['x-kubernetes-list-type'], 'atomic');
    assert.equal(prop('io.k8s.api.apps.v1.DeploymentStatus', 'conditions')['x-kubernetes-patch-merge-key'], 'type');
  });

  it('keeps JSONSchemaProps recursive and lists its x-kubernetes fields', () => {
    const props = builtinDefinitions['io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaProps']!.properties!;
    assert.equal((props.properties?.additionalProperties as SchemaNode).$ref, '#/definitions/io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaProps');
    assert.equal(props['x-kubernetes-preserve-unknown-fields']?.type, 'boolean');
    assert.equal(props['x-kubernetes-validations']?.items?.$ref, '#/definitions/io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.ValidationRule');
    // Free-form JSON has no type, and keeps whatever it holds.
    assert.deepEqual(builtinDefinitions['io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSON'], {
      description: builtinDefinitions['io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSON']!.description,
      'x-kubernetes-preserve-unknown-fields': true,
    });
  });

  it('lets a CRD schema through whole, array items included', () => {
    const crd = builtinResolver.definition('io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinition')!;
    const items = { type: 'object', required: ['name'], properties: { name: { type: 'string' } } };
    const obj = {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: 'widgets.example.com' },
      spec: {
        group: 'example.com',
        scope: 'Namespaced',
        names: { kind: 'Widget', plural: 'widgets' },
        versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', properties: { spec: { type: 'array', items } } } } }],
      },
    };
    const r = validateValue(obj, crd, builtinResolver, { unknownFields: 'prune' });
    assert.deepEqual(r.unknownFields, []);
    assert.deepEqual(obj.spec.versions[0]!.schema.openAPIV3Schema.properties.spec.items, items);
  });

  it('is frozen, so no component can change what the others validate against', () => {
    assert.throws(() => {
      (builtinDefinitions[`${CORE}.Pod`] as { description?: string }).description = 'x';
    }, TypeError);
  });

  it('is what scripts/gen-openapi.ts generates from the installed kubernetes-types', async () => {
    const root = join(dirname(fileURLToPath(import.meta.url)), '../../..');
    await promisify(execFile)(process.execPath, ['--disable-warning=ExperimentalWarning', 'scripts/gen-openapi.ts', '--check'], { cwd: root });
  });
});
