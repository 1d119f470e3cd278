/** Who made a request, once authenticated: the same shape as Kubernetes' `user.Info`. */
export interface UserInfo {
  readonly name: string;
  readonly groups: readonly string[];
  readonly uid?: string;
}

/** The group every authenticated user belongs to. */
export const AUTHENTICATED_GROUP = 'system:authenticated';
/** The group allowed to do anything, as in Kubernetes' `cluster-admin` binding. */
export const MASTERS_GROUP = 'system:masters';
/** The group of edge node identities. */
export const NODES_GROUP = 'system:nodes';
/** A node's user name is this prefix followed by the node name. */
export const NODE_USER_PREFIX = 'system:node:';
/** The user name of the admin credentials written on first start. */
export const ADMIN_USER = 'kedge-admin';

/** Kubernetes API verbs that kedge authorizes. */
export type Verb = 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete' | 'deletecollection';

/**
 * What a request wants to do, in the terms of Kubernetes' `authorizer.Attributes`. Either a
 * resource request (`resource` set, `path` undefined) or a non-resource request (`path` set, e.g.
 * `/version`; `group` and `resource` empty).
 */
export interface RequestAttributes {
  readonly verb: Verb;
  /** API group; `''` for the core group. */
  readonly group: string;
  /** Plural resource name, e.g. `pods`; `''` for a non-resource request. */
  readonly resource: string;
  /** E.g. `status`. */
  readonly subresource?: string;
  readonly namespace?: string;
  /**
   * The object's name. For `create` it must be the name in the request body: node identities may
   * create only their own Node and Lease, and the authorizer can only check what it is told.
   */
  readonly name?: string;
  /**
   * Exact-match field selector requirements of a list or watch, e.g. `{ 'spec.nodeName': 'edge-1' }`;
   * node identities may only list and watch what such a selector restricts to their own objects.
   */
  readonly fieldSelector?: Readonly<Record<string, string>>;
  /** The URL path of a non-resource request. */
  readonly path?: string;
}

/** An authorization decision; a denial says why, for the 403 message and the audit log. */
export type Decision = { readonly allowed: true } | { readonly allowed: false; readonly reason: string };
