/**
 * Generates `src/api/schema/builtin-definitions.json`: the OpenAPI v2 definitions of every built-in
 * type kedge serves, keyed by Kubernetes' canonical names (`io.k8s.api.core.v1.Pod`), as
 * kube-apiserver publishes them at `/openapi/v2`.
 *
 * Source: the `.d.ts` files of the installed `kubernetes-types` package, read with the TypeScript
 * compiler API. They carry the types, the required fields and Kubernetes' descriptions. What they
 * lose on the way from Go is put back from the hand-written tables below, each checked against
 * Kubernetes' own `api/openapi-spec`: integer widths and other formats, the patch extensions taken
 * from the Go struct tags and `+listType` markers, the `x-kubernetes-*` fields of JSONSchemaProps,
 * and the scalar types (IntOrString, Quantity, Time) that the package inlines or aliases.
 *
 * Run: `npm run gen:openapi` (add `--check` to fail when the committed file is stale).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import type { SchemaNode } from '../src/api/schema/schema-node.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const OUT = join(ROOT, 'src/api/schema/builtin-definitions.json');
const TYPES_DIR = dirname(createRequire(import.meta.url).resolve('kubernetes-types/package.json'));

/** kubernetes-types module → Kubernetes' canonical package prefix. */
const PACKAGES: Record<string, string> = {
  'core/v1': 'io.k8s.api.core.v1',
  'apps/v1': 'io.k8s.api.apps.v1',
  'coordination/v1': 'io.k8s.api.coordination.v1',
  'autoscaling/v1': 'io.k8s.api.autoscaling.v1',
  'apiextensions/v1': 'io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1',
  'meta/v1': 'io.k8s.apimachinery.pkg.apis.meta.v1',
  'api/resource': 'io.k8s.apimachinery.pkg.api.resource',
  runtime: 'io.k8s.apimachinery.pkg.runtime',
  version: 'io.k8s.apimachinery.pkg.version',
};

const CORE = 'io.k8s.api.core.v1';
const APPS = 'io.k8s.api.apps.v1';
const META = 'io.k8s.apimachinery.pkg.apis.meta.v1';
const APIEXT = 'io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1';
const INT_OR_STRING = 'io.k8s.apimachinery.pkg.util.intstr.IntOrString';

/** The kinds kedge serves (and the meta types its endpoints return); the output is their closure. */
const ROOTS: string[] = [
  ...['Namespace', 'Node', 'Pod', 'ConfigMap', 'Secret', 'Service', 'Endpoints', 'Event', 'ServiceAccount'].flatMap((k) => [`${CORE}.${k}`, `${CORE}.${k}List`]),
  `${CORE}.Binding`,
  'io.k8s.api.coordination.v1.Lease',
  'io.k8s.api.coordination.v1.LeaseList',
  ...['Deployment', 'ReplicaSet', 'DaemonSet'].flatMap((k) => [`${APPS}.${k}`, `${APPS}.${k}List`]),
  'io.k8s.api.autoscaling.v1.Scale',
  `${APIEXT}.CustomResourceDefinition`,
  `${APIEXT}.CustomResourceDefinitionList`,
  ...['Status', 'DeleteOptions', 'WatchEvent', 'Patch', 'APIResourceList', 'APIGroupList', 'APIGroup', 'APIVersions'].map((k) => `${META}.${k}`),
  'io.k8s.apimachinery.pkg.version.Info',
];

/** Built-in group-versions; the meta kinds every group registers carry one GVK for each. */
const GROUP_VERSIONS = [
  { group: '', version: 'v1' },
  { group: 'apps', version: 'v1' },
  { group: 'autoscaling', version: 'v1' },
  { group: 'coordination.k8s.io', version: 'v1' },
  { group: 'apiextensions.k8s.io', version: 'v1' },
];

/** Definitions that kubernetes-types aliases, inlines or leaves empty, as Kubernetes publishes them. */
const SCALARS: Record<string, SchemaNode> = {
  [`${META}.Time`]: { type: 'string', format: 'date-time' },
  [`${META}.MicroTime`]: { type: 'string', format: 'date-time' },
  'io.k8s.apimachinery.pkg.api.resource.Quantity': { type: 'string' },
  [INT_OR_STRING]: {
    description:
      'IntOrString is a type that can hold an int32 or a string.  When used in JSON or YAML marshalling and unmarshalling, it produces or consumes the inner type.  This allows you to have, for example, a JSON field that can accept a name or number.',
    type: 'string',
    format: 'int-or-string',
  },
  // Arbitrary JSON: no type at all. The preserve marker keeps the validation engine from treating
  // them as objects that declare no fields (a nested CRD schema must pass through whole; its own
  // structural checks run on CRD creation).
  [`${APIEXT}.JSON`]: { 'x-kubernetes-preserve-unknown-fields': true },
  [`${APIEXT}.JSONSchemaPropsOrArray`]: { 'x-kubernetes-preserve-unknown-fields': true },
  [`${APIEXT}.JSONSchemaPropsOrBool`]: { 'x-kubernetes-preserve-unknown-fields': true },
  [`${APIEXT}.JSONSchemaPropsOrStringArray`]: { 'x-kubernetes-preserve-unknown-fields': true },
  // Free-form objects. Kubernetes publishes them as a bare `type: object`; the preserve marker is
  // kedge's, so that the one validation engine (whose structural rules prune the fields of an object
  // without properties) keeps them.
  [`${META}.FieldsV1`]: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
  'io.k8s.apimachinery.pkg.runtime.RawExtension': { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
  [`${META}.Patch`]: { type: 'object' },
};

/** Integer fields Kubernetes declares as int64 (every other `number` is an int32). */
const INT64 = new Set([
  `${META}.ObjectMeta.generation`,
  `${META}.ObjectMeta.deletionGracePeriodSeconds`,
  `${META}.DeleteOptions.gracePeriodSeconds`,
  `${META}.ListMeta.remainingItemCount`,
  `${META}.Condition.observedGeneration`,
  `${CORE}.PodSpec.activeDeadlineSeconds`,
  `${CORE}.PodSpec.terminationGracePeriodSeconds`,
  `${CORE}.PodSecurityContext.fsGroup`,
  `${CORE}.PodSecurityContext.runAsGroup`,
  `${CORE}.PodSecurityContext.runAsUser`,
  `${CORE}.PodSecurityContext.supplementalGroups[]`,
  `${CORE}.SecurityContext.runAsGroup`,
  `${CORE}.SecurityContext.runAsUser`,
  `${CORE}.Probe.terminationGracePeriodSeconds`,
  `${CORE}.SleepAction.seconds`,
  `${CORE}.Toleration.tolerationSeconds`,
  `${CORE}.ServiceAccountTokenProjection.expirationSeconds`,
  `${CORE}.ContainerImage.sizeBytes`,
  `${APPS}.DeploymentStatus.observedGeneration`,
  `${APPS}.ReplicaSetStatus.observedGeneration`,
  `${APPS}.DaemonSetStatus.observedGeneration`,
  `${APIEXT}.JSONSchemaProps.maxItems`,
  `${APIEXT}.JSONSchemaProps.maxLength`,
  `${APIEXT}.JSONSchemaProps.maxProperties`,
  `${APIEXT}.JSONSchemaProps.minItems`,
  `${APIEXT}.JSONSchemaProps.minLength`,
  `${APIEXT}.JSONSchemaProps.minProperties`,
]);

/** Floating-point fields (`format: double`). */
const DOUBLE = new Set([`${APIEXT}.JSONSchemaProps.maximum`, `${APIEXT}.JSONSchemaProps.minimum`, `${APIEXT}.JSONSchemaProps.multipleOf`]);

/** Base64 strings (`[]byte` in Go, `format: byte`); `[]` marks the values of a map. */
const BYTES = new Set([`${CORE}.Secret.data[]`, `${CORE}.ConfigMap.binaryData[]`, `${APIEXT}.WebhookClientConfig.caBundle`]);

type Extensions = Pick<SchemaNode, 'x-kubernetes-patch-merge-key' | 'x-kubernetes-patch-strategy' | 'x-kubernetes-list-type' | 'x-kubernetes-list-map-keys' | 'x-kubernetes-map-type'>;
const merge = (key: string): Extensions => ({ 'x-kubernetes-patch-merge-key': key, 'x-kubernetes-patch-strategy': 'merge' });
const listMap = (...keys: string[]): Extensions => ({ 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': keys });
const atomic: Extensions = { 'x-kubernetes-list-type': 'atomic' };

/**
 * The patch extensions of list fields: `patchStrategy`/`patchMergeKey` from the Go struct tags,
 * `x-kubernetes-list-type`/`-list-map-keys` from the `+listType`/`+listMapKey` markers. Strategic
 * merge patch and server-side apply read them; a list without an entry is replaced as a whole.
 * (Node taints and pod tolerations have no tags in Kubernetes: they are replaced whole.)
 */
const LIST_EXTENSIONS: Record<string, Extensions> = {
  [`${META}.ObjectMeta.ownerReferences`]: merge('uid'),
  [`${META}.ObjectMeta.finalizers`]: { 'x-kubernetes-patch-strategy': 'merge', 'x-kubernetes-list-type': 'set' },
  [`${CORE}.PodSpec.containers`]: merge('name'),
  [`${CORE}.PodSpec.initContainers`]: merge('name'),
  [`${CORE}.PodSpec.ephemeralContainers`]: merge('name'),
  [`${CORE}.PodSpec.volumes`]: { 'x-kubernetes-patch-merge-key': 'name', 'x-kubernetes-patch-strategy': 'merge,retainKeys' },
  [`${CORE}.PodSpec.imagePullSecrets`]: merge('name'),
  [`${CORE}.PodSpec.hostAliases`]: merge('ip'),
  [`${CORE}.PodSpec.topologySpreadConstraints`]: { ...merge('topologyKey'), ...listMap('topologyKey', 'whenUnsatisfiable') },
  [`${CORE}.PodSpec.schedulingGates`]: { ...merge('name'), ...listMap('name') },
  [`${CORE}.PodSpec.resourceClaims`]: { 'x-kubernetes-patch-merge-key': 'name', 'x-kubernetes-patch-strategy': 'merge,retainKeys', ...listMap('name') },
  [`${CORE}.PodStatus.conditions`]: merge('type'),
  [`${CORE}.PodStatus.podIPs`]: merge('ip'),
  [`${CORE}.PodStatus.hostIPs`]: { ...merge('ip'), ...atomic },
  [`${CORE}.PodStatus.resourceClaimStatuses`]: { 'x-kubernetes-patch-merge-key': 'name', 'x-kubernetes-patch-strategy': 'merge,retainKeys', ...listMap('name') },
  ...Object.fromEntries(
    ['Container', 'EphemeralContainer'].flatMap((c) => [
      [`${CORE}.${c}.ports`, { ...merge('containerPort'), ...listMap('containerPort', 'protocol') }],
      [`${CORE}.${c}.env`, merge('name')],
      [`${CORE}.${c}.volumeMounts`, merge('mountPath')],
      [`${CORE}.${c}.volumeDevices`, merge('devicePath')],
      [`${CORE}.${c}.resizePolicy`, atomic],
    ]),
  ) as Record<string, Extensions>,
  [`${CORE}.NodeSpec.podCIDRs`]: { 'x-kubernetes-patch-strategy': 'merge' },
  [`${CORE}.NodeStatus.conditions`]: merge('type'),
  [`${CORE}.NodeStatus.addresses`]: merge('type'),
  [`${CORE}.NodeStatus.images`]: atomic,
  [`${CORE}.NamespaceStatus.conditions`]: merge('type'),
  [`${CORE}.ServiceSpec.ports`]: { ...merge('port'), ...listMap('port', 'protocol') },
  [`${CORE}.ServiceSpec.clusterIPs`]: atomic,
  [`${CORE}.ServiceSpec.ipFamilies`]: atomic,
  [`${CORE}.ServiceStatus.conditions`]: { ...merge('type'), ...listMap('type') },
  [`${CORE}.ServiceAccount.secrets`]: merge('name'),
  [`${APPS}.DeploymentStatus.conditions`]: merge('type'),
  [`${APPS}.ReplicaSetStatus.conditions`]: merge('type'),
  [`${APPS}.DaemonSetStatus.conditions`]: merge('type'),
  [`${APIEXT}.CustomResourceDefinitionStatus.conditions`]: listMap('type'),
  [`${APIEXT}.CustomResourceDefinitionSpec.versions`]: atomic,
};

/**
 * The `x-kubernetes-*` fields of JSONSchemaProps, which kubernetes-types omits (they are not valid
 * identifiers); descriptions as Kubernetes publishes them.
 */
const JSON_SCHEMA_PROPS_EXTENSIONS: Record<string, SchemaNode> = {
  'x-kubernetes-embedded-resource': {
    description:
      'x-kubernetes-embedded-resource defines that the value is an embedded Kubernetes runtime.Object, with TypeMeta and ObjectMeta. The type must be object. It is allowed to further restrict the embedded object. kind, apiVersion and metadata are validated automatically. x-kubernetes-preserve-unknown-fields is allowed to be true, but does not have to be if the object is fully specified (up to kind, apiVersion, metadata).',
    type: 'boolean',
  },
  'x-kubernetes-int-or-string': {
    description:
      'x-kubernetes-int-or-string specifies that this value is either an integer or a string. If this is true, an empty type is allowed and type as child of anyOf is permitted if following one of the following patterns:\n\n1) anyOf:\n   - type: integer\n   - type: string\n2) allOf:\n   - anyOf:\n     - type: integer\n     - type: string\n   - ... zero or more',
    type: 'boolean',
  },
  'x-kubernetes-list-map-keys': {
    description:
      'x-kubernetes-list-map-keys annotates an array with the x-kubernetes-list-type `map` by specifying the keys used as the index of the map.\n\nThis tag MUST only be used on lists that have the "x-kubernetes-list-type" extension set to "map". Also, the values specified for this attribute must be a scalar typed field of the child structure (no nesting is supported).\n\nThe properties specified must either be required or have a default value, to ensure those properties are present for all list items.',
    type: 'array',
    items: { type: 'string', default: '' },
    'x-kubernetes-list-type': 'atomic',
  },
  'x-kubernetes-list-type': {
    description:
      'x-kubernetes-list-type annotates an array to further describe its topology. This extension must only be used on lists and may have 3 possible values:\n\n1) `atomic`: the list is treated as a single entity, like a scalar.\n     Atomic lists will be entirely replaced when updated. This extension\n     may be used on any type of list (struct, scalar, ...).\n2) `set`:\n     Sets are lists that must not have multiple items with the same value. Each\n     value must be a scalar, an object with x-kubernetes-map-type `atomic` or an\n     array with x-kubernetes-list-type `atomic`.\n3) `map`:\n     These lists are like maps in that their elements have a non-index key\n     used to identify them. Order is preserved upon merge. The map tag\n     must only be used on a list with elements of type object.\nDefaults to atomic for arrays.',
    type: 'string',
  },
  'x-kubernetes-map-type': {
    description:
      'x-kubernetes-map-type annotates an object to further describe its topology. This extension must only be used when type is object and may have 2 possible values:\n\n1) `granular`:\n     These maps are actual maps (key-value pairs) and each fields are independent\n     from each other (they can each be manipulated by separate actors). This is\n     the default behaviour for all maps.\n2) `atomic`: the list is treated as a single entity, like a scalar.\n     Atomic maps will be entirely replaced when updated.',
    type: 'string',
  },
  'x-kubernetes-preserve-unknown-fields': {
    description:
      'x-kubernetes-preserve-unknown-fields stops the API server decoding step from pruning fields which are not specified in the validation schema. This affects fields recursively, but switches back to normal pruning behaviour if nested properties or additionalProperties are specified in the schema. This can either be true or undefined. False is forbidden.',
    type: 'boolean',
  },
  'x-kubernetes-validations': {
    description: 'x-kubernetes-validations describes a list of validation rules written in the CEL expression language.',
    type: 'array',
    items: { $ref: `#/definitions/${APIEXT}.ValidationRule` },
    'x-kubernetes-patch-merge-key': 'rule',
    'x-kubernetes-patch-strategy': 'merge',
    'x-kubernetes-list-type': 'map',
    'x-kubernetes-list-map-keys': ['rule'],
  },
};

// ---------------------------------------------------------------------------------------------

interface Declaration {
  readonly module: string;
  readonly node: ts.InterfaceDeclaration | ts.TypeAliasDeclaration;
  readonly imports: ReadonlyMap<string, string>;
}

/** Parses every kubernetes-types module we map and indexes its declarations by canonical name. */
function loadDeclarations(): Map<string, Declaration> {
  const declarations = new Map<string, Declaration>();
  for (const [module, prefix] of Object.entries(PACKAGES)) {
    const file = join(TYPES_DIR, `${module}.d.ts`);
    const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true);
    const imports = new Map<string, string>();
    for (const statement of source.statements) {
      if (ts.isImportDeclaration(statement) && ts.isStringLiteral(statement.moduleSpecifier)) {
        const target = relative(TYPES_DIR, resolve(dirname(file), statement.moduleSpecifier.text)).replaceAll('\\', '/');
        const bindings = statement.importClause?.namedBindings;
        if (bindings !== undefined && ts.isNamedImports(bindings)) {
          for (const element of bindings.elements) imports.set(element.name.text, target);
        }
      }
      if (ts.isInterfaceDeclaration(statement) || ts.isTypeAliasDeclaration(statement)) {
        declarations.set(`${prefix}.${statement.name.text}`, { module, node: statement, imports });
      }
    }
  }
  return declarations;
}

/** The JSDoc text of a declaration or member, as Kubernetes' description. */
function docOf(node: ts.Node): string | undefined {
  const docs = ts.getJSDocCommentsAndTags(node).filter(ts.isJSDoc);
  const text = docs.map((d) => ts.getTextOfJSDocComment(d.comment) ?? '').join('\n').trim();
  return text === '' ? undefined : text;
}

function literalString(type: ts.TypeNode | undefined): string | undefined {
  return type !== undefined && ts.isLiteralTypeNode(type) && ts.isStringLiteral(type.literal) ? type.literal.text : undefined;
}

class Generator {
  readonly definitions = new Map<string, SchemaNode>();
  private readonly pending: string[] = [];
  private readonly declarations: Map<string, Declaration>;

  constructor(declarations: Map<string, Declaration>) {
    this.declarations = declarations;
  }

  run(roots: readonly string[]): Record<string, SchemaNode> {
    for (const root of roots) this.require(root);
    for (let name = this.pending.pop(); name !== undefined; name = this.pending.pop()) this.definitions.set(name, this.define(name));
    const sorted = [...this.definitions.keys()].sort();
    return Object.fromEntries(sorted.map((name) => [name, this.definitions.get(name)!]));
  }

  /** Schedules `name` for output and returns a `$ref` to it. */
  private require(name: string): SchemaNode {
    if (!this.definitions.has(name) && !this.pending.includes(name)) {
      if (SCALARS[name] === undefined && !this.declarations.has(name)) throw new Error(`no declaration for ${name}`);
      this.definitions.set(name, {});
      this.pending.push(name);
    }
    return { $ref: `#/definitions/${name}` };
  }

  private define(name: string): SchemaNode {
    const declaration = this.declarations.get(name);
    const description = declaration === undefined ? undefined : docOf(declaration.node);
    const scalar = SCALARS[name];
    if (scalar !== undefined) return description === undefined ? scalar : { description, ...scalar };
    if (declaration === undefined || !ts.isInterfaceDeclaration(declaration.node)) throw new Error(`${name}: not an interface`);

    const node: SchemaNode = {};
    if (description !== undefined) node.description = description;
    node.type = 'object';
    const properties: Record<string, SchemaNode> = {};
    const required: string[] = [];
    let apiVersion: string | undefined;
    let kind: string | undefined;
    for (const member of declaration.node.members) {
      if (!ts.isPropertySignature(member) || member.type === undefined) throw new Error(`${name}: unexpected member`);
      const field = member.name.getText().replace(/^"(.*)"$/, '$1');
      const schema = this.typeSchema(member.type, declaration, `${name}.${field}`);
      const doc = docOf(member);
      properties[field] = doc === undefined ? schema : { description: doc, ...schema };
      Object.assign(properties[field], LIST_EXTENSIONS[`${name}.${field}`]);
      if (member.questionToken === undefined) required.push(field);
      if (field === 'apiVersion') apiVersion = literalString(member.type);
      if (field === 'kind') kind = literalString(member.type);
    }
    if (name === `${APIEXT}.JSONSchemaProps`) Object.assign(properties, structuredClone(JSON_SCHEMA_PROPS_EXTENSIONS));
    if (name === `${APIEXT}.JSONSchemaProps`) this.require(`${APIEXT}.ValidationRule`);
    // An empty Go struct is published as a bare object (no `properties`).
    if (Object.keys(properties).length > 0) node.properties = properties;
    if (required.length > 0) node.required = required;

    const gvks = this.groupVersionKinds(name, apiVersion, kind);
    if (gvks.length > 0) node['x-kubernetes-group-version-kind'] = gvks;
    return node;
  }

  /** kubernetes-types spells a top-level kind's GVK as literal `apiVersion` and `kind` types. */
  private groupVersionKinds(name: string, apiVersion: string | undefined, kind: string | undefined): { group: string; version: string; kind: string }[] {
    const short = name.slice(name.lastIndexOf('.') + 1);
    if (name.startsWith(`${META}.`) && ['DeleteOptions', 'WatchEvent'].includes(short)) {
      return GROUP_VERSIONS.map((gv) => ({ ...gv, kind: short }));
    }
    if (name === `${META}.Status`) return [{ group: '', version: 'v1', kind: 'Status' }];
    if (apiVersion === undefined || kind === undefined) return [];
    const slash = apiVersion.indexOf('/');
    return [{ group: slash < 0 ? '' : apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1), kind }];
  }

  private typeSchema(type: ts.TypeNode, from: Declaration, path: string): SchemaNode {
    if (type.kind === ts.SyntaxKind.StringKeyword || literalString(type) !== undefined) {
      return BYTES.has(path) ? { type: 'string', format: 'byte' } : { type: 'string' };
    }
    if (type.kind === ts.SyntaxKind.BooleanKeyword) return { type: 'boolean' };
    if (type.kind === ts.SyntaxKind.NumberKeyword) {
      if (DOUBLE.has(path)) return { type: 'number', format: 'double' };
      return { type: 'integer', format: INT64.has(path) ? 'int64' : 'int32' };
    }
    if (ts.isUnionTypeNode(type)) {
      const kinds = type.types.map((t) => t.kind).sort();
      if (kinds.length === 2 && kinds[0] === ts.SyntaxKind.NumberKeyword && kinds[1] === ts.SyntaxKind.StringKeyword) return this.require(INT_OR_STRING);
      throw new Error(`${path}: unsupported union ${type.getText()}`);
    }
    if (ts.isArrayTypeNode(type)) return { type: 'array', items: this.typeSchema(type.elementType, from, `${path}[]`) };
    if (ts.isTypeLiteralNode(type)) {
      const [index] = type.members;
      if (type.members.length !== 1 || index === undefined || !ts.isIndexSignatureDeclaration(index)) throw new Error(`${path}: unsupported type literal`);
      return { type: 'object', additionalProperties: this.typeSchema(index.type, from, `${path}[]`) };
    }
    if (ts.isTypeReferenceNode(type) && ts.isIdentifier(type.typeName)) {
      const ref = type.typeName.text;
      const [arg] = type.typeArguments ?? [];
      if (ref === 'Array' && arg !== undefined) return { type: 'array', items: this.typeSchema(arg, from, `${path}[]`) };
      const module = from.imports.get(ref) ?? from.module;
      const prefix = PACKAGES[module];
      if (prefix === undefined) throw new Error(`${path}: ${ref} comes from unmapped module ${module}`);
      return this.require(`${prefix}.${ref}`);
    }
    throw new Error(`${path}: unsupported type ${type.getText()}`);
  }
}

function main(): void {
  const definitions = new Generator(loadDeclarations()).run(ROOTS);
  const text = `${JSON.stringify(definitions, null, 1)}\n`;
  if (process.argv.includes('--check')) {
    const current = readFileSync(OUT, 'utf8');
    if (current !== text) {
      console.error(`${relative(ROOT, OUT)} is stale: run npm run gen:openapi`);
      process.exitCode = 1;
    }
    return;
  }
  writeFileSync(OUT, text);
  console.log(`wrote ${relative(ROOT, OUT)}: ${Object.keys(definitions).length} definitions, ${text.length} bytes`);
}

main();
