/** Authentication (client certificates, bearer tokens) and authorization (masters, discovery, node rules) for the API server. */
export { Authenticator, bearerToken, type AuthenticatorOptions } from './authenticator.ts';
export { Authorizer, nodeNameOf, type AuthorizerOptions } from './authorizer.ts';
export { NodeGraphIndex, type DeviceObject, type NodeGraph, type PodReferencedKind } from './node-graph.ts';
export { TokenStore, generateToken, readTokenFile, writeTokenFile, type TokenAuthenticator, type TokenEntry, type TokenFile } from './token-store.ts';
export * from './types.ts';
