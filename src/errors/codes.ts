/**
 * The one registry of stable error codes. Every code is documented in docs/errors.md (a unit test
 * checks that), so an operator who sees `[STORE_COMPACTED]` in a log can look it up.
 */
export const ERROR_CODES = [
  // storage
  'STORE_KEY_EXISTS',
  'STORE_NOT_FOUND',
  'STORE_REVISION_MISMATCH',
  'STORE_COMPACTED',
  'STORE_CLOSED',
  'STORE_CORRUPT_VALUE',
  // Kubernetes API semantics, one per metav1.StatusReason kedge returns
  'API_BAD_REQUEST',
  'API_UNAUTHORIZED',
  'API_FORBIDDEN',
  'API_NOT_FOUND',
  'API_ALREADY_EXISTS',
  'API_CONFLICT',
  'API_GONE',
  'API_INVALID',
  'API_METHOD_NOT_ALLOWED',
  'API_NOT_ACCEPTABLE',
  'API_UNSUPPORTED_MEDIA_TYPE',
  'API_REQUEST_ENTITY_TOO_LARGE',
  'API_TOO_MANY_REQUESTS',
  'API_TIMEOUT',
  'API_INTERNAL',
  'API_SERVICE_UNAVAILABLE',
  // certificates and credentials
  'PKI_INVALID_CERTIFICATE',
  'PKI_INVALID_CSR',
  // cloud–edge protocol
  'PROTOCOL_MALFORMED',
  'PROTOCOL_UNSUPPORTED_VERSION',
  'PROTOCOL_FRAME_TOO_LARGE',
  // join service and join tokens
  'JOIN_BAD_REQUEST',
  'JOIN_TOKEN_MALFORMED',
  'JOIN_TOKEN_WRONG_CA',
  'JOIN_TOKEN_INVALID',
  'JOIN_TOKEN_EXPIRED',
  'JOIN_TOKEN_REVOKED',
  'JOIN_NODE_NAME_TAKEN',
  // cloud hub
  'HUB_FORBIDDEN',
  'HUB_UNSUPPORTED_OPERATION',
  'HUB_RATE_LIMITED',
  // edge node: joining, local state, the hub client
  'JOIN_CA_MISMATCH',
  'JOIN_UNREACHABLE',
  'EDGE_NOT_JOINED',
  'EDGE_ALREADY_JOINED',
  'EDGE_STATE_INVALID',
  'EDGE_DB_INCOMPATIBLE',
  'EDGE_META_INVALID_OBJECT',
  'EDGE_OUTBOX_FULL',
  'EDGE_HUB_REPLACED',
  'EDGE_CERT_ROTATION_FAILED',
  // edge node: container runtimes, images and pods
  'EDGE_RUNTIME_UNAVAILABLE',
  'EDGE_RUNTIME_ERROR',
  'EDGE_RUNTIME_NOT_FOUND',
  'EDGE_RUNTIME_UNSUPPORTED',
  'EDGE_CONTAINERD_FAILED',
  'EDGE_IMAGE_ARCHIVE_INVALID',
  'EDGE_IMAGE_NOT_PRESENT',
  'EDGE_IMAGE_PULL_FAILED',
  'EDGE_POD_CONFIG_INVALID',
  // edge node: the MQTT event bus and device twins (TWIN_* are also the codes of MQTT error results)
  'EDGE_EVENTBUS_UNAVAILABLE',
  'TWIN_MALFORMED',
  'TWIN_DEVICE_NOT_FOUND',
  'TWIN_PROPERTY_NOT_FOUND',
  'TWIN_VALUE_INVALID',
  'TWIN_INTERNAL',
  // device mappers
  'MAPPER_CONFIG_INVALID',
  'MAPPER_DEVICE_UNREACHABLE',
  'MAPPER_TIMEOUT',
  'MAPPER_DEVICE_ERROR',
  'MAPPER_MALFORMED_RESPONSE',
  'MAPPER_NOT_WRITABLE',
  'MAPPER_VALUE_INVALID',
  'MAPPER_CLOSED',
  // logs, exec and port-forward through the stream tunnel
  'STREAM_POD_NOT_FOUND',
  'STREAM_CONTAINER_NOT_FOUND',
  'STREAM_UNSUPPORTED',
  'STREAM_PORT_UNREACHABLE',
  'STREAM_LIMIT',
  'STREAM_FAILED',
  'STREAM_NODE_UNAVAILABLE',
  'STREAM_TIMEOUT',
  'STREAM_CLOSED',
  // configuration and command line
  'CONFIG_INVALID',
] as const;

/** A stable, documented error code. */
export type ErrorCode = (typeof ERROR_CODES)[number];
