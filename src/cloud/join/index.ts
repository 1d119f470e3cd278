/** Joining edge nodes: bootstrap tokens, node name records and the HTTPS join service. */
export { JoinError, JOIN_ERROR_STATUS, type JoinErrorCode } from './errors.ts';
export { BootstrapTokens, BOOTSTRAP_TOKEN_TYPE, JOIN_USAGE, TOKEN_NAMESPACE, TOKEN_RETENTION_MS, TOKEN_SECRET_PREFIX, type CreatedToken, type CreateTokenOptions, type SecretObject, type SecretsClient, type TokenInfo } from './tokens.ts';
export { NodeIdentities, NODE_IDENTITY_PREFIX, NODE_IDENTITY_TYPE, publicKeyFingerprint, type NodeIdentity } from './identities.ts';
export { JoinService, type JoinServiceOptions } from './join-service.ts';
