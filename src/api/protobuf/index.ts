/**
 * Kubernetes' protobuf encoding of request bodies, decoded into the JSON kedge works with.
 */
export { decodeKubernetesProtobuf, decodeMessage, formatGoDuration, KUBERNETES_PROTOBUF_MAGIC, KUBERNETES_PROTOBUF_MEDIA_TYPE, type DecodedProtobufBody } from './decode.ts';
export { messageForKind } from './kinds.ts';
export { allMessages, messageSpec, type FieldSpec, type MessageSpec, type Presence, type ScalarType } from './schema.ts';
export { ProtobufWireError, WireReader } from './wire.ts';
