import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { builtinDefinitions } from '../schema/builtin.ts';
import { messageForKind } from './kinds.ts';
import { allMessages, parseTable } from './schema.ts';

/** Table package → the prefix of kedge's OpenAPI definition names. */
const OPENAPI_PREFIX: Readonly<Record<string, string>> = {
  'meta.v1': 'io.k8s.apimachinery.pkg.apis.meta.v1',
  'core.v1': 'io.k8s.api.core.v1',
  'apps.v1': 'io.k8s.api.apps.v1',
  'autoscaling.v1': 'io.k8s.api.autoscaling.v1',
  'coordination.v1': 'io.k8s.api.coordination.v1',
  'apiextensions.v1': 'io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1',
  runtime: 'io.k8s.apimachinery.pkg.runtime',
  intstr: 'io.k8s.apimachinery.pkg.util.intstr',
  resource: 'io.k8s.apimachinery.pkg.api.resource',
};

/**
 * Where the protobuf table and kedge's OpenAPI definitions differ, and why. Anything else that
 * differs fails the test: a proto field whose JSON name the schema does not know, or a schema
 * property the table cannot decode.
 */
const EXPECTED_MISMATCHES: readonly string[] = [
  // Wire-only messages: their JSON is custom (a string, a number, raw JSON) or they never reach JSON.
  'no definition: meta.v1.Duration',
  'no definition: meta.v1.TypeMeta',
  'no definition: runtime.TypeMeta',
  'no definition: runtime.Unknown',
  'no definition: core.v1.EphemeralContainerCommon',
  'no definition: core.v1.ProbeHandler',
  'no definition: core.v1.VolumeSource',
  'proto field without property: meta.v1.FieldsV1.Raw',
  'proto field without property: meta.v1.MicroTime.seconds',
  'proto field without property: meta.v1.MicroTime.nanos',
  'proto field without property: meta.v1.Time.seconds',
  'proto field without property: meta.v1.Time.nanos',
  'proto field without property: runtime.RawExtension.raw',
  'proto field without property: intstr.IntOrString.type',
  'proto field without property: intstr.IntOrString.intVal',
  'proto field without property: intstr.IntOrString.strVal',
  'proto field without property: resource.Quantity.string',
  'proto field without property: apiextensions.v1.JSON.raw',
  'proto field without property: apiextensions.v1.JSONSchemaPropsOrArray.schema',
  'proto field without property: apiextensions.v1.JSONSchemaPropsOrArray.jSONSchemas',
  'proto field without property: apiextensions.v1.JSONSchemaPropsOrBool.allows',
  'proto field without property: apiextensions.v1.JSONSchemaPropsOrBool.schema',
  'proto field without property: apiextensions.v1.JSONSchemaPropsOrStringArray.schema',
  'proto field without property: apiextensions.v1.JSONSchemaPropsOrStringArray.property',
  // Fields newer than kedge's schema (Kubernetes 1.30): decoded, so a body carries them as a JSON
  // body would, and kedge's schema check then treats them the same way.
  'proto field without property: core.v1.NodeRuntimeHandlerFeatures.userNamespaces',
  'proto field without property: core.v1.PodSecurityContext.supplementalGroupsPolicy',
  'proto field without property: core.v1.PodSecurityContext.seLinuxChangePolicy',
  'proto field without property: core.v1.PodSpec.resources',
  'proto field without property: apps.v1.DeploymentSpec.podReplacementPolicy',
  'proto field without property: apps.v1.DeploymentStatus.terminatingReplicas',
  'proto field without property: apps.v1.ReplicaSetStatus.terminatingReplicas',
];

/** OpenAPI definitions the table leaves out: discovery documents, never request bodies. */
const DEFINITIONS_NOT_DECODED: readonly string[] = [
  'io.k8s.apimachinery.pkg.apis.meta.v1.APIGroup',
  'io.k8s.apimachinery.pkg.apis.meta.v1.APIGroupList',
  'io.k8s.apimachinery.pkg.apis.meta.v1.APIResource',
  'io.k8s.apimachinery.pkg.apis.meta.v1.APIResourceList',
  'io.k8s.apimachinery.pkg.apis.meta.v1.APIVersions',
  'io.k8s.apimachinery.pkg.apis.meta.v1.GroupVersionForDiscovery',
  'io.k8s.apimachinery.pkg.apis.meta.v1.Patch',
  'io.k8s.apimachinery.pkg.apis.meta.v1.ServerAddressByClientCIDR',
  'io.k8s.apimachinery.pkg.version.Info',
];

function definitionName(message: string): string {
  const dot = message.lastIndexOf('.');
  return `${OPENAPI_PREFIX[message.slice(0, dot)]}.${message.slice(dot + 1)}`;
}

describe('protobuf message table', () => {
  it('parses, with every referenced message present and field numbers unique', () => {
    assert.ok(allMessages().size > 200);
  });

  it('rejects malformed tables', () => {
    assert.throws(() => parseTable({ p: { A: 'a 1 string; b 1 string' } }), /field number 1 is used twice/);
    assert.throws(() => parseTable({ p: { A: 'a 1 Missing' } }), /unknown message p\.Missing/);
    assert.throws(() => parseTable({ p: { A: 'a one string' } }), /cannot read field/);
    assert.throws(() => parseTable({ p: { A: '^a 1 string' } }), /only a single message can be inline/);
  });

  it('holds every message the served kinds reach, and nothing unreachable', () => {
    const roots = [
      ['v1', 'Pod'], ['v1', 'Node'], ['v1', 'Namespace'], ['v1', 'Binding'], ['v1', 'ConfigMap'], ['v1', 'Secret'], ['v1', 'Service'],
      ['v1', 'Endpoints'], ['v1', 'Event'], ['v1', 'ServiceAccount'], ['v1', 'Status'], ['v1', 'DeleteOptions'],
      ['apps/v1', 'Deployment'], ['apps/v1', 'ReplicaSet'], ['apps/v1', 'DaemonSet'], ['autoscaling/v1', 'Scale'],
      ['coordination.k8s.io/v1', 'Lease'], ['apiextensions.k8s.io/v1', 'CustomResourceDefinition'],
    ] as const;
    const reached = new Set<string>(['runtime.Unknown', 'runtime.TypeMeta', 'meta.v1.WatchEvent', 'meta.v1.Duration', 'meta.v1.TypeMeta']);
    const queue = roots.map(([v, k]) => {
      const m = messageForKind(v, k);
      assert.ok(m !== undefined, `${v} ${k} has a message`);
      return m;
    });
    for (const name of [...reached]) queue.push(name);
    while (queue.length > 0) {
      const name = queue.pop()!;
      for (const f of allMessages().get(name)?.fields ?? []) {
        if (f.message !== undefined && !reached.has(f.message)) {
          reached.add(f.message);
          queue.push(f.message);
        }
      }
      reached.add(name);
    }
    const lists = [...allMessages().keys()].filter((n) => n.endsWith('List'));
    const unreachable = [...allMessages().keys()].filter((n) => !reached.has(n) && !lists.includes(n));
    assert.deepEqual(unreachable, []);
  });

  it("maps every proto field to a property of kedge's OpenAPI definition with the same name", () => {
    const found: string[] = [];
    const messages = allMessages();
    const covered = new Set<string>();
    for (const m of messages.values()) {
      const def = builtinDefinitions[definitionName(m.name)];
      covered.add(definitionName(m.name));
      if (def === undefined) {
        found.push(`no definition: ${m.name}`);
        continue;
      }
      const props = new Set(Object.keys(def.properties ?? {}));
      for (const f of m.fields) {
        if (f.inline) {
          for (const inner of messages.get(f.message!)!.fields) props.delete(inner.json);
          continue;
        }
        if (!props.delete(f.json)) found.push(`proto field without property: ${m.name}.${f.json}`);
      }
      props.delete('kind');
      props.delete('apiVersion');
      for (const p of props) found.push(`property without proto field: ${m.name}.${p}`);
    }
    assert.deepEqual(found.sort(), [...EXPECTED_MISMATCHES].sort());
    const uncovered = Object.keys(builtinDefinitions).filter((d) => !covered.has(d));
    assert.deepEqual(uncovered.sort(), [...DEFINITIONS_NOT_DECODED].sort());
  });
});
