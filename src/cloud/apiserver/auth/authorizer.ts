import type { NodeGraph, PodReferencedKind } from './node-graph.ts';
import { AUTHENTICATED_GROUP, MASTERS_GROUP, NODES_GROUP, NODE_USER_PREFIX, type Decision, type RequestAttributes, type UserInfo, type Verb } from './types.ts';

export type { Decision, RequestAttributes, Verb } from './types.ts';

/** Dependencies of {@link Authorizer}. */
export interface AuthorizerOptions {
  /** Which pods, referenced objects and devices belong to which node. */
  readonly nodeGraph: NodeGraph;
}

const ALLOW: Decision = Object.freeze({ allowed: true });

function deny(reason: string): Decision {
  return { allowed: false, reason };
}

/** What every authenticated user may read, as Kubernetes' `system:discovery` and `system:public-info-viewer`. */
const DISCOVERY_PATHS = new Set(['/api', '/apis', '/version', '/healthz', '/livez', '/readyz', '/openapi']);
const DISCOVERY_PREFIXES = ['/api/', '/apis/', '/openapi/', '/version/', '/healthz/', '/livez/', '/readyz/'];

/** Self-reviews every authenticated user may create (Kubernetes' `system:basic-user`), so `kubectl auth whoami` and `can-i` work. */
const SELF_REVIEWS = new Set(['selfsubjectreviews.authentication.k8s.io', 'selfsubjectaccessreviews.authorization.k8s.io', 'selfsubjectrulesreviews.authorization.k8s.io']);

const READS: ReadonlySet<Verb> = new Set<Verb>(['get', 'list', 'watch']);
const NODE_LEASE_NAMESPACE = 'kube-node-lease';
const DEVICES_GROUP = 'devices.kubeedge.io';

/**
 * Decides whether a user may do what a request asks. kedge has no RBAC yet, so the rules are
 * fixed:
 * - `system:masters` may do anything;
 * - every authenticated user may read discovery, version, OpenAPI and health paths, and create
 *   self-reviews;
 * - a node identity (user `system:node:<name>` in group `system:nodes`) follows Kubernetes' Node
 *   authorizer and NodeRestriction: it reaches only its own Node and Lease, the pods bound to it,
 *   the configmaps, secrets, service accounts and claims those pods use, and the devices behind it;
 * - anything else is denied, with a reason the server puts into the 403.
 */
export class Authorizer {
  readonly #graph: NodeGraph;

  constructor(options: AuthorizerOptions) {
    this.#graph = options.nodeGraph;
  }

  authorize(user: UserInfo, attrs: RequestAttributes): Decision {
    if (user.groups.includes(MASTERS_GROUP)) return ALLOW;
    if (!user.groups.includes(AUTHENTICATED_GROUP)) return deny('the user is not authenticated');
    if (attrs.path !== undefined) return nonResource(attrs);
    if (attrs.verb === 'create' && SELF_REVIEWS.has(qualified(attrs))) return ALLOW;
    const node = nodeNameOf(user);
    if (node !== undefined) return this.#node(node, attrs);
    if (user.name.startsWith(NODE_USER_PREFIX) || user.groups.includes(NODES_GROUP)) {
      return deny(`node identities need both the user name ${NODE_USER_PREFIX}<node> and the group ${NODES_GROUP}`);
    }
    return deny(`kedge has no role bindings yet: only members of ${MASTERS_GROUP} may access resources`);
  }

  #node(node: string, a: RequestAttributes): Decision {
    const resource = qualified(a);
    switch (resource) {
      case 'nodes':
        return nodeRule(node, a);
      case 'pods':
        return this.#pod(node, a);
      case 'configmaps':
      case 'secrets':
      case 'serviceaccounts':
      case 'persistentvolumeclaims':
        return this.#podReferenced(node, a);
      case 'leases.coordination.k8s.io':
        return leaseRule(node, a);
      case 'events':
      case 'events.events.k8s.io':
        return a.subresource === undefined && (a.verb === 'create' || a.verb === 'update' || a.verb === 'patch') ? ALLOW : deny('nodes may only create, update and patch events');
      case 'services':
      case 'endpoints':
        return a.subresource === undefined && READS.has(a.verb) ? ALLOW : deny(`nodes may only get, list and watch ${resource}`);
      case `devices.${DEVICES_GROUP}`:
        return this.#device(node, a);
      case `devicemodels.${DEVICES_GROUP}`:
        return this.#deviceModel(node, a);
      default:
        return deny(`nodes may not access ${resource}`);
    }
  }

  #pod(node: string, a: RequestAttributes): Decision {
    const sub = a.subresource;
    if (a.verb === 'list' || a.verb === 'watch') {
      if (sub === undefined && a.fieldSelector?.['spec.nodeName'] === node) return ALLOW;
      const name = singleName(a);
      if (sub === undefined && name !== undefined && a.namespace !== undefined && this.#graph.podBoundTo(node, a.namespace, name)) return ALLOW;
      return deny(`can only ${a.verb} pods with the field selector spec.nodeName=${node}`);
    }
    const allowed =
      (a.verb === 'get' && (sub === undefined || sub === 'status')) ||
      ((a.verb === 'update' || a.verb === 'patch') && sub === 'status') ||
      (a.verb === 'delete' && sub === undefined);
    if (!allowed) return deny(`nodes may get, delete and update the status of pods bound to them, not ${a.verb} pods${sub !== undefined ? `/${sub}` : ''}`);
    if (a.namespace === undefined || a.name === undefined) return deny('can only access individual pods by namespace and name');
    return this.#graph.podBoundTo(node, a.namespace, a.name) ? ALLOW : deny(noRelationship(node));
  }

  #podReferenced(node: string, a: RequestAttributes): Decision {
    const kind = a.resource as PodReferencedKind;
    // The kubelet mints tokens for projected service account volumes of its pods.
    const tokenRequest = kind === 'serviceaccounts' && a.subresource === 'token' && a.verb === 'create';
    if (!tokenRequest && (a.subresource !== undefined || !READS.has(a.verb))) return deny(`nodes may only get, list and watch ${kind}`);
    const name = tokenRequest ? a.name : singleName(a);
    if (name === undefined || a.namespace === undefined) {
      return deny(`can only ${a.verb} individual ${kind} (by name, or with the field selector metadata.name=<name>)`);
    }
    return this.#graph.referencedByNodePods(node, kind, a.namespace, name) ? ALLOW : deny(noRelationship(node));
  }

  #device(node: string, a: RequestAttributes): Decision {
    if (a.subresource === undefined && (a.verb === 'list' || a.verb === 'watch') && a.fieldSelector?.['spec.nodeName'] === node) return ALLOW;
    // The edge reports twin values into the status of its own devices.
    const statusWrite = a.subresource === 'status' && (a.verb === 'update' || a.verb === 'patch');
    if (!statusWrite && (a.subresource !== undefined || !READS.has(a.verb))) return deny('nodes may only read devices on them and update their status');
    const name = statusWrite ? a.name : singleName(a);
    if (name === undefined || a.namespace === undefined) return deny(`can only ${a.verb} devices with the field selector spec.nodeName=${node}, or one device by name`);
    return this.#graph.deviceOnNode(node, a.namespace, name) ? ALLOW : deny(noRelationship(node));
  }

  #deviceModel(node: string, a: RequestAttributes): Decision {
    if (a.subresource !== undefined || !READS.has(a.verb)) return deny('nodes may only get, list and watch device models');
    const name = singleName(a);
    if (name === undefined || a.namespace === undefined) return deny(`can only ${a.verb} individual device models`);
    return this.#graph.deviceModelUsedByNode(node, a.namespace, name) ? ALLOW : deny(noRelationship(node));
  }
}

function nonResource(a: RequestAttributes): Decision {
  const path = a.path ?? '';
  const discovery = DISCOVERY_PATHS.has(path) || DISCOVERY_PREFIXES.some((p) => path.startsWith(p));
  if (discovery && a.verb === 'get') return ALLOW;
  return deny(discovery ? `${path} is read-only` : `no rule allows ${path}`);
}

/** A node's own Node object: read, register, update it and its status; never delete or touch another. */
function nodeRule(node: string, a: RequestAttributes): Decision {
  if (a.subresource !== undefined && a.subresource !== 'status') return deny(`nodes may not access nodes/${a.subresource}`);
  if (a.verb === 'delete' || a.verb === 'deletecollection') return deny('nodes may not delete Node objects');
  if (a.verb === 'create' && a.subresource !== undefined) return deny('nodes may not create subresources');
  const name = a.verb === 'list' || a.verb === 'watch' ? singleName(a) : a.name;
  if (name === undefined) return deny(`can only ${a.verb} its own Node (name ${node}, or the field selector metadata.name=${node})`);
  return name === node ? ALLOW : deny(`node '${node}' may only access its own Node object`);
}

/** A node's heartbeat Lease `kube-node-lease/<node>`. */
function leaseRule(node: string, a: RequestAttributes): Decision {
  if (a.subresource !== undefined || !['get', 'create', 'update', 'patch'].includes(a.verb)) return deny('nodes may only get, create, update and patch their Lease');
  if (a.namespace !== NODE_LEASE_NAMESPACE) return deny(`node Leases live in the ${NODE_LEASE_NAMESPACE} namespace`);
  return a.name === node ? ALLOW : deny(`node '${node}' may only access the Lease ${NODE_LEASE_NAMESPACE}/${node}`);
}

/** The node name of a node identity, or undefined. */
export function nodeNameOf(user: UserInfo): string | undefined {
  if (!user.name.startsWith(NODE_USER_PREFIX) || !user.groups.includes(NODES_GROUP)) return undefined;
  const name = user.name.slice(NODE_USER_PREFIX.length);
  return name === '' ? undefined : name;
}

/** The one object a request addresses: its name, or a list/watch narrowed by `metadata.name=<name>`. */
function singleName(a: RequestAttributes): string | undefined {
  return a.name ?? a.fieldSelector?.['metadata.name'];
}

function qualified(a: RequestAttributes): string {
  return a.group === '' ? a.resource : `${a.resource}.${a.group}`;
}

function noRelationship(node: string): string {
  return `no relationship found between node '${node}' and this object`;
}
