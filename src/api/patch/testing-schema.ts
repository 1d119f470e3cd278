/**
 * A small hand-written schema in the shape of the built-in definitions (OpenAPI v2, `$ref`s into
 * `#/definitions/`), for the patch tests: a Pod whose containers merge by `name`, ports by
 * `containerPort` (and, for apply, `protocol`, defaulted to TCP), env by `name`, finalizers as a
 * set, tolerations atomic, volumes by `name` with `retainKeys`; a Deployment whose `strategy` has
 * `retainKeys` and whose `selector` is an atomic map.
 */
import type { SchemaNode, SchemaResolver } from '../schema/schema-node.ts';

const ref = (name: string): SchemaNode => ({ $ref: `#/definitions/${name}` });
const str: SchemaNode = { type: 'string' };
const int: SchemaNode = { type: 'integer' };
const stringMap: SchemaNode = { type: 'object', additionalProperties: str };

export const testDefinitions: Readonly<Record<string, SchemaNode>> = {
  Pod: { type: 'object', properties: { apiVersion: str, kind: str, metadata: ref('ObjectMeta'), spec: ref('PodSpec') } },
  Deployment: {
    type: 'object',
    properties: {
      apiVersion: str,
      kind: str,
      metadata: ref('ObjectMeta'),
      spec: {
        type: 'object',
        properties: {
          replicas: int,
          paused: { type: 'boolean' },
          selector: { type: 'object', properties: { matchLabels: stringMap }, 'x-kubernetes-map-type': 'atomic' },
          strategy: { ...ref('DeploymentStrategy'), 'x-kubernetes-patch-strategy': 'retainKeys' },
          template: { type: 'object', properties: { metadata: ref('ObjectMeta'), spec: ref('PodSpec') } },
        },
      },
    },
  },
  DeploymentStrategy: {
    type: 'object',
    properties: { type: str, rollingUpdate: { type: 'object', properties: { maxSurge: str, maxUnavailable: str } } },
  },
  ObjectMeta: {
    type: 'object',
    properties: {
      name: str,
      namespace: str,
      labels: stringMap,
      annotations: stringMap,
      finalizers: { type: 'array', items: str, 'x-kubernetes-patch-strategy': 'merge', 'x-kubernetes-list-type': 'set' },
      ownerReferences: {
        type: 'array',
        items: { type: 'object', properties: { uid: str, name: str, kind: str } },
        'x-kubernetes-patch-merge-key': 'uid',
        'x-kubernetes-patch-strategy': 'merge',
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-list-map-keys': ['uid'],
      },
    },
  },
  PodSpec: {
    type: 'object',
    properties: {
      nodeName: str,
      nodeSelector: stringMap,
      containers: { type: 'array', items: ref('Container'), 'x-kubernetes-patch-merge-key': 'name', 'x-kubernetes-patch-strategy': 'merge' },
      tolerations: { type: 'array', items: ref('Toleration') },
      volumes: { type: 'array', items: ref('Volume'), 'x-kubernetes-patch-merge-key': 'name', 'x-kubernetes-patch-strategy': 'merge,retainKeys' },
      affinity: { type: 'object', properties: { nodeAffinity: { type: 'object' }, podAffinity: { type: 'object' } } },
    },
  },
  Container: {
    type: 'object',
    properties: {
      name: str,
      image: str,
      args: { type: 'array', items: str },
      ports: {
        type: 'array',
        items: ref('ContainerPort'),
        'x-kubernetes-patch-merge-key': 'containerPort',
        'x-kubernetes-patch-strategy': 'merge',
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-list-map-keys': ['containerPort', 'protocol'],
      },
      env: { type: 'array', items: ref('EnvVar'), 'x-kubernetes-patch-merge-key': 'name', 'x-kubernetes-patch-strategy': 'merge' },
      resources: { type: 'object', properties: { limits: stringMap, requests: stringMap } },
    },
  },
  ContainerPort: { type: 'object', properties: { containerPort: int, protocol: { type: 'string', default: 'TCP' }, name: str } },
  EnvVar: { type: 'object', properties: { name: str, value: str } },
  Toleration: { type: 'object', properties: { key: str, operator: str, value: str, effect: str } },
  Volume: {
    type: 'object',
    properties: { name: str, emptyDir: { type: 'object', properties: { medium: str } }, configMap: { type: 'object', properties: { name: str } } },
  },
};

/** A resolver over {@link testDefinitions}. */
export const testResolver: SchemaResolver = {
  definition: (name) => (Object.hasOwn(testDefinitions, name) ? testDefinitions[name] : undefined),
  resolve(node) {
    let current = node;
    while (current.$ref !== undefined) {
      const target = testResolver.definition(current.$ref.replace('#/definitions/', ''));
      if (target === undefined) return current;
      current = target;
    }
    return current;
  },
};

/** The definition `name` of {@link testDefinitions}. */
export function testSchema(name: string): SchemaNode {
  const schema = testResolver.definition(name);
  if (schema === undefined) throw new Error(`no test definition ${name}`);
  return schema;
}
