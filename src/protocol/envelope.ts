import type { KubeObject } from '../api/object.ts';
import type { DeviceTwinStatus } from './devices.ts';

/**
 * The cloud–edge envelope, version 1: KubeEdge's header/route/content split, typed. One WebSocket
 * text frame carries one envelope as JSON. Every envelope is decoded and validated at the wire
 * (`codec.ts`); nothing past the codec sees untyped input.
 *
 * Flows (see DESIGN.md, "The cloud–edge channel"):
 * - connect: edge → `inventory` (uid → resourceVersion of everything it holds); cloud → `upsert`s and
 *   `delete`s for the difference, then `synced`. Each upsert/delete is acked by the edge after it is
 *   persisted; anything unacked is covered by the next inventory diff.
 * - while connected: cloud → `upsert`/`delete` as objects change; edge → `status` (latest wins),
 *   `upsert` of its own Node, `lease`, `event` (outbox, at least once, de-duplicated by header id),
 *   `csr` (certificate rotation), `report` (group `twin`: device twins and states, latest wins, many
 *   devices per message), each answered by `ack`, `response` or `error` carrying `parentId`.
 */
export const PROTOCOL_VERSION = 1 as const;

/** The largest frame either side accepts (Kubernetes objects are capped well below this). */
export const MAX_FRAME_BYTES = 4 * 1024 * 1024;

/** The kinds of object the cloud keeps in sync on an edge node, by their plural resource name. */
export const SYNCED_KINDS = ['pods', 'configmaps', 'secrets', 'nodes', 'devices', 'devicemodels'] as const;
export type SyncedKind = (typeof SYNCED_KINDS)[number];

/** Kinds an edge may report status for. */
export const STATUS_KINDS = ['pods', 'nodes', 'devices'] as const;
export type StatusKind = (typeof STATUS_KINDS)[number];

export const OPERATIONS = ['upsert', 'delete', 'inventory', 'synced', 'status', 'lease', 'event', 'csr', 'report', 'ack', 'response', 'error', 'keepalive'] as const;
export type Operation = (typeof OPERATIONS)[number];

export const GROUPS = ['resource', 'hub', 'twin'] as const;
export type Group = (typeof GROUPS)[number];

export interface Header {
  /** Unique per message (a UUID); the outbox de-duplicates by it. */
  readonly id: string;
  /** Set on `ack`, `response` and `error`: the id of the message answered. */
  readonly parentId?: string;
  /** Milliseconds since the epoch, at the sender. */
  readonly timestamp: number;
  /** For `upsert`/`delete`: the object's resourceVersion in the cloud. */
  readonly resourceVersion?: string;
}

/** Which object a message is about. */
export interface ResourceRef {
  readonly kind: SyncedKind | 'events' | 'leases';
  readonly namespace?: string;
  readonly name: string;
  readonly uid?: string;
}

export interface Route {
  readonly source: 'cloud' | 'edge';
  readonly group: Group;
  readonly operation: Operation;
  readonly resource?: ResourceRef;
}

/** One held object in an inventory. */
export interface InventoryItem {
  readonly kind: SyncedKind;
  readonly namespace?: string;
  readonly name: string;
  readonly uid: string;
  readonly resourceVersion: string;
}

/** Devices one `report` carries at most. */
export const MAX_REPORT_DEVICES = 1000;

/**
 * One device's latest twins and state as its edge holds them (`report`, group `twin`): KubeEdge's
 * `device/<id>/twin/edge_updated` and DMI `ReportDeviceStatus`/`ReportDeviceStates` in one. Each
 * report is the device's whole current picture, so the cloud may drop any older one it has not
 * written yet. `uid` names the Device the edge holds; a report for a re-created Device is refused.
 */
export interface DeviceReport {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  /** Absent when the device's `stateReport.reportToCloud` is false or no state was reported yet. */
  readonly state?: string;
  readonly lastOnlineTime?: string;
  /** The properties whose values go to the cloud (`reportToCloud`), each with what is known of it. */
  readonly twins: readonly DeviceTwinStatus[];
}

/** What the cloud answers a `report` with: the devices it refused and why (the others are taken). */
export interface ReportResult {
  readonly refused: readonly { readonly namespace: string; readonly name: string; readonly code: string; readonly message: string }[];
}

/** The content each operation carries. */
export interface Contents {
  upsert: KubeObject;
  delete: { readonly uid: string };
  inventory: { readonly items: readonly InventoryItem[] };
  synced: { readonly revision: string };
  status: { readonly status: Record<string, unknown> };
  lease: { readonly renewTime: string; readonly leaseDurationSeconds: number };
  event: KubeObject;
  csr: { readonly csr: string };
  report: { readonly devices: readonly DeviceReport[] };
  ack: null;
  response: Record<string, unknown>;
  error: { readonly code: string; readonly message: string };
  keepalive: null;
}

/** A typed envelope: the content type follows from `route.operation`. */
export type Envelope<O extends Operation = Operation> = {
  [K in O]: {
    readonly v: typeof PROTOCOL_VERSION;
    readonly header: Header;
    readonly route: Route & { readonly operation: K };
    readonly content: Contents[K];
  };
}[O];

// ---------------------------------------------------------------------------------------------
// Transport and join: what an edge needs to reach the cloud. Shared by both halves so that the
// paths, ports and bodies cannot drift.

/** The hub's WebSocket path: `wss://<hub host>:<hub port>/v1/hub`. The node's identity is its client certificate only. */
export const HUB_PATH = '/v1/hub';
/** Default ports: the hub (WSS, mutual TLS) and the join service (HTTPS). */
export const DEFAULT_HUB_PORT = 10000;
export const DEFAULT_JOIN_PORT = 10002;
/** `GET` on the join service: the cluster CA (PEM), unauthenticated; the edge checks its SHA-256 against the token. */
export const JOIN_CA_PATH = '/ca.crt';
/** `POST` on the join service: a {@link JoinRequest} (JSON) answered by a {@link JoinResponse} or a {@link JoinErrorBody}. */
export const JOIN_PATH = '/join';

/**
 * WebSocket close codes the hub uses (4000–4999 are private to the application). The edge reconnects
 * after any of them except {@link HUB_CLOSE_REPLACED}, which means another connection with the same
 * certificate took over (reconnecting would steal it back, forever).
 */
export const HUB_CLOSE_REPLACED = 4001;
/** Too many malformed or refused frames. */
export const HUB_CLOSE_POLICY = 4002;
/** The cloud is shutting down; reconnect with back-off. */
export const HUB_CLOSE_GOING_AWAY = 1001;

/**
 * A join token: `<sha256 of the CA certificate DER, hex>.<token id>.<token secret>`. The id
 * (6 × [a-z0-9]) names the bootstrap-token Secret; the secret (16 × [a-z0-9]) is checked against
 * the hash stored there. The first part lets the edge trust the CA it downloads.
 */
export interface JoinToken {
  readonly caDigest: string;
  readonly id: string;
  readonly secret: string;
}

/** The body of `POST /join`. */
export interface JoinRequest {
  readonly token: string;
  /** A DNS subdomain (the Node's name). */
  readonly nodeName: string;
  /** PEM `CERTIFICATE REQUEST` with `CN=system:node:<nodeName>, O=system:nodes`. */
  readonly csr: string;
}

/** The answer to a successful `POST /join`. */
export interface JoinResponse {
  readonly nodeName: string;
  /** The node's client certificate (PEM). */
  readonly certificate: string;
  /** The cluster CA (PEM): the hub's serving certificate chains to it. */
  readonly caCertificate: string;
  /** Where the hub listens: connect to `wss://<host>:<port>` + {@link HUB_PATH}. */
  readonly hub: { readonly host: string; readonly port: number };
}

/** The body of every error answer of the join service (HTTP 4xx/5xx), with a stable code (docs/errors.md). */
export interface JoinErrorBody {
  readonly code: string;
  readonly message: string;
}
