import type { Verb } from '../resources/resource-type.ts';

/** What a request URL and method address, in the terms of Kubernetes' RequestInfoFactory. */
export type RequestInfo = ResourceRequestInfo | NonResourceRequestInfo;

export interface NonResourceRequestInfo {
  readonly kind: 'nonResource';
  readonly path: string;
  readonly verb: string;
}

export interface ResourceRequestInfo {
  readonly kind: 'resource';
  readonly path: string;
  /** The Kubernetes verb: get, list, watch, create, update, patch, delete, deletecollection. */
  readonly verb: Verb;
  readonly group: string;
  readonly version: string;
  readonly resource: string;
  readonly subresource?: string;
  readonly namespace?: string;
  readonly name?: string;
}

const METHOD_VERBS: Record<string, Verb | undefined> = {
  POST: 'create',
  PUT: 'update',
  PATCH: 'patch',
  DELETE: 'delete',
  GET: 'get',
  HEAD: 'get',
};

/**
 * Splits `/api/v1/namespaces/default/pods/web/status` (and `/apis/<group>/<version>/...`, and the
 * legacy `/api/v1/watch/...` form) into its parts. Anything else is a non-resource path
 * (discovery, OpenAPI, health).
 */
export function parseRequestInfo(method: string, path: string, query: URLSearchParams): RequestInfo {
  const parts = path.split('/').filter((p) => p !== '');
  let group = '';
  let version: string | undefined;
  let rest: string[];
  if (parts[0] === 'api' && parts.length >= 3) {
    version = parts[1];
    rest = parts.slice(2);
  } else if (parts[0] === 'apis' && parts.length >= 4) {
    group = parts[1]!;
    version = parts[2];
    rest = parts.slice(3);
  } else {
    return { kind: 'nonResource', path, verb: method.toLowerCase() };
  }
  const decoded = rest.map((p) => decodeURIComponent(p));
  let verb = METHOD_VERBS[method];
  if (verb === undefined || version === undefined) return { kind: 'nonResource', path, verb: method.toLowerCase() };

  let legacyWatch = false;
  if (decoded[0] === 'watch') {
    legacyWatch = true;
    decoded.shift();
  }
  let namespace: string | undefined;
  // `namespaces/<ns>/<resource>...`, but `namespaces/<name>` and `namespaces/<name>/status` address the namespace itself.
  if (decoded[0] === 'namespaces' && decoded.length >= 3 && decoded[2] !== 'status' && decoded[2] !== 'finalize') {
    namespace = decoded[1];
    decoded.splice(0, 2);
  } else if (decoded[0] === 'namespaces' && decoded.length >= 2) {
    namespace = undefined;
  }
  const [resource, name, subresource] = decoded;
  if (resource === undefined || decoded.length > 3) return { kind: 'nonResource', path, verb: method.toLowerCase() };

  if (name === undefined) {
    if (verb === 'get') verb = legacyWatch || isTrue(query.get('watch')) ? 'watch' : 'list';
    else if (verb === 'delete') verb = 'deletecollection';
  } else if (verb === 'get' && (legacyWatch || isTrue(query.get('watch')))) {
    verb = 'watch';
  }
  const info: ResourceRequestInfo = {
    kind: 'resource',
    path,
    verb,
    group,
    version,
    resource,
    ...(namespace !== undefined ? { namespace } : {}),
    ...(name !== undefined ? { name } : {}),
    ...(subresource !== undefined ? { subresource } : {}),
  };
  return info;
}

function isTrue(v: string | null): boolean {
  return v === 'true' || v === '1';
}
