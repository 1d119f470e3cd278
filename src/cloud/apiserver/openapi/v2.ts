import { builtinDefinitions } from '../../../api/schema/builtin.ts';
import { V2_REF_PREFIX } from '../../../api/schema/resolver.ts';
import type { SchemaNode } from '../../../api/schema/schema-node.ts';
import { crdDefinitions } from './crd-schema.ts';
import { buildPaths, type HttpMethod, type OperationSpec, type ParameterSpec } from './operations.ts';
import type { ServedResource } from './served-resource.ts';

/** A Swagger 2.0 parameter, as kube-apiserver publishes them. */
export interface SwaggerParameter {
  readonly name: string;
  readonly in: 'path' | 'query' | 'body';
  readonly description?: string;
  readonly required?: boolean;
  readonly type?: string;
  readonly uniqueItems?: boolean;
  readonly schema?: SchemaNode;
}

export interface SwaggerResponse {
  readonly description: string;
  readonly schema?: SchemaNode;
}

export interface SwaggerOperation {
  readonly description: string;
  readonly consumes: readonly string[];
  readonly produces: readonly string[];
  readonly schemes: readonly string[];
  readonly tags: readonly string[];
  readonly operationId: string;
  readonly parameters?: readonly SwaggerParameter[];
  readonly responses: Readonly<Record<string, SwaggerResponse>>;
  readonly 'x-kubernetes-action': string;
  readonly 'x-kubernetes-group-version-kind'?: { readonly group: string; readonly version: string; readonly kind: string };
}

export type SwaggerPathItem = { readonly parameters?: readonly SwaggerParameter[] } & { readonly [M in HttpMethod]?: SwaggerOperation };

export interface ApiKeySecurityScheme {
  readonly type: 'apiKey';
  readonly name: string;
  readonly in: 'header';
  readonly description: string;
}

/** The subset of a Swagger 2.0 document kube-apiserver serves at `/openapi/v2`. */
export interface SwaggerDocument {
  readonly swagger: '2.0';
  readonly info: { readonly title: string; readonly version: string };
  readonly paths: Readonly<Record<string, SwaggerPathItem>>;
  readonly definitions: Readonly<Record<string, SchemaNode>>;
  readonly securityDefinitions: Readonly<Record<string, ApiKeySecurityScheme>>;
  readonly security: readonly Readonly<Record<string, readonly string[]>>[];
}

/** Bearer tokens in the Authorization header: what kube-apiserver declares. */
export const BEARER_TOKEN: ApiKeySecurityScheme = { type: 'apiKey', name: 'authorization', in: 'header', description: 'Bearer Token authentication' };

/** Options of the OpenAPI builders. */
export interface OpenApiInfo {
  /** `info.version`, the Kubernetes version the server presents, e.g. `v1.30.0`. */
  readonly version: string;
}

/**
 * The OpenAPI v2 (Swagger 2.0) document of the served resources: every built-in definition, the
 * definitions of served custom resources (reduced to what v2 expresses), and the paths with their
 * operations and parameters. Paths and definitions are sorted, so equal inputs give equal bytes.
 */
export function buildV2Document(resources: readonly ServedResource[], info: OpenApiInfo): SwaggerDocument {
  const definitions: Record<string, SchemaNode> = { ...builtinDefinitions };
  for (const r of resources) {
    if (typeof r.definition !== 'string') Object.assign(definitions, crdDefinitions(r, r.definition, 'v2'));
  }
  const paths: Record<string, SwaggerPathItem> = {};
  for (const spec of buildPaths(resources)) {
    const item: { parameters?: SwaggerParameter[] } & { [M in HttpMethod]?: SwaggerOperation } = {};
    for (const op of spec.operations) item[op.method] = v2Operation(op);
    if (spec.parameters.length > 0) item.parameters = spec.parameters.map(v2Parameter);
    paths[spec.path] = item;
  }
  return {
    swagger: '2.0',
    info: { title: 'Kubernetes', version: info.version },
    paths,
    definitions: Object.fromEntries(Object.keys(definitions).sort().map((k) => [k, definitions[k]!])),
    securityDefinitions: { BearerToken: BEARER_TOKEN },
    security: [{ BearerToken: [] }],
  };
}

function ref(name: string): SchemaNode {
  return { $ref: `${V2_REF_PREFIX}${name}` };
}

function v2Parameter(p: ParameterSpec): SwaggerParameter {
  if (p.in === 'body') return { name: p.name, in: 'body', required: p.required === true, schema: ref(p.schema ?? '') };
  return { name: p.name, in: p.in, description: p.description, ...(p.required === true ? { required: true } : {}), type: p.type, uniqueItems: p.uniqueItems };
}

function v2Operation(op: OperationSpec): SwaggerOperation {
  return {
    description: op.description,
    consumes: op.consumes,
    produces: op.produces,
    schemes: ['https'],
    tags: [op.tag],
    operationId: op.operationId,
    ...(op.parameters.length > 0 ? { parameters: op.parameters.map(v2Parameter) } : {}),
    responses: Object.fromEntries(op.responses.map((r) => [r.code, r.schema === undefined ? { description: r.description } : { description: r.description, schema: ref(r.schema) }])),
    'x-kubernetes-action': op.action,
    ...(op.gvk === undefined ? {} : { 'x-kubernetes-group-version-kind': op.gvk }),
  };
}
