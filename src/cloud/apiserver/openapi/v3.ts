import { builtinDefinitions } from '../../../api/schema/builtin.ts';
import { refName, SCALAR_UNIONS, V3_REF_PREFIX } from '../../../api/schema/resolver.ts';
import type { SchemaNode } from '../../../api/schema/schema-node.ts';
import { crdDefinitions } from './crd-schema.ts';
import { buildPaths, type OperationSpec, type ParameterSpec, type PathSpec } from './operations.ts';
import { groupVersionPath, type ServedResource } from './served-resource.ts';
import { BEARER_TOKEN, type OpenApiInfo } from './v2.ts';

/** An OpenAPI 3.0 parameter (non-body; bodies are `requestBody`). */
export interface V3Parameter {
  readonly name: string;
  readonly in: 'path' | 'query';
  readonly description: string;
  readonly required?: boolean;
  readonly schema: { readonly type: string; readonly uniqueItems?: boolean };
}

type Content = Readonly<Record<string, { readonly schema: SchemaNode }>>;

export interface V3Operation {
  readonly tags: readonly string[];
  readonly description: string;
  readonly operationId: string;
  readonly parameters?: readonly V3Parameter[];
  readonly requestBody?: { readonly content: Content; readonly required?: boolean };
  readonly responses: Readonly<Record<string, { readonly description: string; readonly content?: Content }>>;
  readonly 'x-kubernetes-action': string;
  readonly 'x-kubernetes-group-version-kind'?: { readonly group: string; readonly version: string; readonly kind: string };
}

/** One group-version's OpenAPI v3 document, as served at `/openapi/v3/apis/<group>/<version>`. */
export interface V3Document {
  readonly openapi: '3.0.0';
  readonly info: { readonly title: string; readonly version: string };
  readonly paths: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  readonly components: { readonly schemas: Readonly<Record<string, SchemaNode>>; readonly securitySchemes: Readonly<Record<string, unknown>> };
}

/**
 * One OpenAPI v3 document per served group-version, keyed by the path kubectl asks for (`api/v1`,
 * `apis/apps/v1`). Each holds that group-version's paths and the closure of the schemas they
 * reference, with `$ref`s in v3 form (wrapped in `allOf` where a description sits beside them, as
 * kube-openapi does) and Quantity/IntOrString as their v3 `oneOf`s.
 */
export function buildV3Documents(resources: readonly ServedResource[], info: OpenApiInfo): Map<string, V3Document> {
  const byGroupVersion = new Map<string, PathSpec[]>();
  for (const spec of buildPaths(resources)) {
    const key = groupVersionPath(spec.group, spec.version).slice(1);
    byGroupVersion.set(key, [...(byGroupVersion.get(key) ?? []), spec]);
  }
  const definitions: Record<string, SchemaNode> = { ...builtinDefinitions };
  for (const r of resources) {
    if (typeof r.definition !== 'string') Object.assign(definitions, crdDefinitions(r, r.definition, 'v3'));
  }

  const documents = new Map<string, V3Document>();
  for (const key of [...byGroupVersion.keys()].sort()) {
    const specs = byGroupVersion.get(key) ?? [];
    const paths: Record<string, Record<string, unknown>> = {};
    const roots = new Set<string>();
    for (const spec of specs) {
      const item: Record<string, unknown> = {};
      for (const op of spec.operations) {
        item[op.method] = v3Operation(op);
        for (const p of op.parameters) if (p.schema !== undefined) roots.add(p.schema);
        for (const r of op.responses) if (r.schema !== undefined) roots.add(r.schema);
      }
      if (spec.parameters.length > 0) item.parameters = spec.parameters.map(v3Parameter);
      paths[spec.path] = item;
    }
    const schemas: Record<string, SchemaNode> = {};
    for (const name of [...closure(roots, definitions)].sort()) schemas[name] = v3Definition(name, definitions[name]!);
    documents.set(key, {
      openapi: '3.0.0',
      info: { title: 'Kubernetes', version: info.version },
      paths,
      components: { schemas, securitySchemes: { BearerToken: BEARER_TOKEN } },
    });
  }
  return documents;
}

/** The names of `roots` and every definition they reach through `$ref`s. */
function closure(roots: Iterable<string>, definitions: Readonly<Record<string, SchemaNode>>): Set<string> {
  const seen = new Set<string>();
  const pending = [...roots];
  const visit = (node: SchemaNode): void => {
    if (node.$ref !== undefined) {
      const name = refName(node.$ref);
      if (name !== undefined && !seen.has(name)) pending.push(name);
    }
    for (const child of Object.values(node.properties ?? {})) visit(child);
    if (node.items !== undefined) visit(node.items);
    if (typeof node.additionalProperties === 'object') visit(node.additionalProperties);
    for (const child of [...(node.allOf ?? []), ...(node.anyOf ?? []), ...(node.oneOf ?? [])]) visit(child);
    if (node.not !== undefined) visit(node.not);
  };
  for (let name = pending.pop(); name !== undefined; name = pending.pop()) {
    const def = definitions[name];
    if (seen.has(name) || def === undefined) continue;
    seen.add(name);
    visit(def);
  }
  return seen;
}

function v3Definition(name: string, def: SchemaNode): SchemaNode {
  const union = SCALAR_UNIONS[name];
  if (union === undefined) return toV3(def);
  const { type: _type, ...rest } = def;
  return { ...rest, oneOf: union.map((type) => ({ type })) };
}

/** Rewrites v2 `$ref`s to v3 ones; a `$ref` with siblings becomes `allOf: [{$ref}]` plus them. */
export function toV3(node: SchemaNode): SchemaNode {
  const out: SchemaNode = { ...node };
  if (node.properties !== undefined) out.properties = Object.fromEntries(Object.entries(node.properties).map(([k, v]) => [k, toV3(v)]));
  if (node.items !== undefined) out.items = toV3(node.items);
  if (typeof node.additionalProperties === 'object') out.additionalProperties = toV3(node.additionalProperties);
  for (const junctor of ['allOf', 'anyOf', 'oneOf'] as const) {
    if (node[junctor] !== undefined) out[junctor] = node[junctor].map(toV3);
  }
  if (node.not !== undefined) out.not = toV3(node.not);
  if (node.$ref === undefined) return out;
  const name = refName(node.$ref);
  const target = { $ref: name === undefined ? node.$ref : `${V3_REF_PREFIX}${name}` };
  const { $ref: _ref, ...siblings } = out;
  return Object.keys(siblings).length === 0 ? target : { allOf: [target], ...siblings };
}

function v3Parameter(p: ParameterSpec): V3Parameter {
  const schema = p.uniqueItems === true ? { type: p.type ?? 'string', uniqueItems: true } : { type: p.type ?? 'string' };
  return { name: p.name, in: p.in === 'path' ? 'path' : 'query', description: p.description, ...(p.required === true ? { required: true } : {}), schema };
}

function content(types: readonly string[], schema: string): Content {
  const ref = { $ref: `${V3_REF_PREFIX}${schema}` };
  return Object.fromEntries(types.map((t) => [t, { schema: ref }]));
}

function v3Operation(op: OperationSpec): V3Operation {
  const bodyParam = op.parameters.find((p) => p.in === 'body');
  const parameters = op.parameters.filter((p) => p.in !== 'body').map(v3Parameter);
  return {
    tags: [op.tag],
    description: op.description,
    operationId: op.operationId,
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(bodyParam?.schema === undefined ? {} : { requestBody: { content: content(op.consumes, bodyParam.schema), ...(bodyParam.required === true ? { required: true } : {}) } }),
    responses: Object.fromEntries(op.responses.map((r) => [r.code, r.schema === undefined ? { description: r.description } : { description: r.description, content: content(op.produces, r.schema) }])),
    'x-kubernetes-action': op.action,
    ...(op.gvk === undefined ? {} : { 'x-kubernetes-group-version-kind': op.gvk }),
  };
}
