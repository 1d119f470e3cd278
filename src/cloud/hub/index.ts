/** CloudHub: the edge nodes' WSS sessions, per-node desired state from shared informers, inventory diffs and edge writes. */
export { CloudHub, nodeOfPeer, type CloudHubOptions, type HubStats } from './hub.ts';
export { EdgeObjectIndex, podReferences, SEND_ORDER, SYNCED_RESOURCES, type DesiredObject } from './desired.ts';
export { NodeSession, DEFAULT_SESSION_LIMITS, type SessionLimits } from './session.ts';
export { Upstream, EDGE_ROLE_LABEL, EDGE_TAINTS_ANNOTATION, NODE_LEASE_NAMESPACE, type UpstreamResult } from './upstream.ts';
export { HubError, type HubErrorCode } from './errors.ts';
