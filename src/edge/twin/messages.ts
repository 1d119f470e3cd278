/**
 * KubeEdge's DeviceTwin MQTT protocol: the exact topics (`edge/pkg/devicetwin/dtcommon/common.go`,
 * with the namespace segment of v1.17+) and JSON payloads (`edge/pkg/devicetwin/dttype/types.go`),
 * so mappers and apps written for KubeEdge work unchanged against kedge. Inbound payloads are
 * decoded and validated here; nothing past this file sees untrusted JSON.
 *
 * Conventions of the payloads: every message carries `event_id` (an id the sender chose, echoed in
 * the answer) and `timestamp` (milliseconds since the epoch); values are strings whatever the
 * property type; the device id is `<namespace>/<name>`.
 */
import { isJsonObject } from '../../api/object.ts';
import { DEVICE_STATES, MAX_VALUE_LENGTH, TWIN_KEY, type DeviceState, type ResolvedProperty } from '../../protocol/devices.ts';
import { TwinError } from './errors.ts';

// ---------------------------------------------------------------------------------------------
// Topics. "in" = published by mappers/apps, handled by DeviceTwin; "out" = published by DeviceTwin.

const DEVICE = '$hw/events/device';
const NODE = '$hw/events/node';

/** Subscriptions DeviceTwin makes (KubeEdge EventBus subscribes the same, at QoS 1). */
export const TWIN_SUBSCRIPTIONS = [
  // in: a mapper reports actual values (and the desired values it applied) [dtcommon.DeviceETPrefix + TwinETUpdateSuffix]
  `${DEVICE}/+/+/twin/update`,
  // in: an app asks for a device's twins
  `${DEVICE}/+/+/twin/get`,
  // in: a mapper reports the device's state (online, offline, unhealthy...)
  `${DEVICE}/+/+/state/update`,
  // in: a mapper asks which devices this node has [MemETGetSuffix]
  `${NODE}/+/membership/get`,
] as const;

/** Which device or node an inbound topic names, and what it asks. */
export type InboundTopic =
  | { readonly kind: 'twin-update' | 'twin-get' | 'state-update'; readonly namespace: string; readonly name: string }
  | { readonly kind: 'membership-get'; readonly node: string };

const DEVICE_TOPIC = /^\$hw\/events\/device\/([^/+#]+)\/([^/+#]+)\/(twin\/update|twin\/get|state\/update)$/;
const NODE_TOPIC = /^\$hw\/events\/node\/([^/+#]+)\/membership\/get$/;
const KINDS = { 'twin/update': 'twin-update', 'twin/get': 'twin-get', 'state/update': 'state-update' } as const;

/** Parses an inbound topic; undefined for anything else. */
export function parseInboundTopic(topic: string): InboundTopic | undefined {
  const d = DEVICE_TOPIC.exec(topic);
  if (d !== null) return { kind: KINDS[d[3] as keyof typeof KINDS], namespace: d[1]!, name: d[2]! };
  const n = NODE_TOPIC.exec(topic);
  if (n !== null) return { kind: 'membership-get', node: n[1]! };
  return undefined;
}

export const topics = {
  /** out: the answer to a twin update: the applied twins, or an error result. */
  twinUpdateResult: (ns: string, name: string) => `${DEVICE}/${ns}/${name}/twin/update/result`,
  /** out: twins whose desired (expected) value differs from the actual one; mappers write them to the device. */
  twinDelta: (ns: string, name: string) => `${DEVICE}/${ns}/${name}/twin/update/delta`,
  /** out: each changed twin's last and current state, for apps that follow a device. */
  twinDocument: (ns: string, name: string) => `${DEVICE}/${ns}/${name}/twin/update/document`,
  /** out: the answer to twin/get. */
  twinGetResult: (ns: string, name: string) => `${DEVICE}/${ns}/${name}/twin/get/result`,
  /** out: the answer to state/update. */
  stateUpdateResult: (ns: string, name: string) => `${DEVICE}/${ns}/${name}/state/update/result`,
  /** out: the device's attributes changed. */
  deviceUpdated: (ns: string, name: string) => `${DEVICE}/${ns}/${name}/updated`,
  /** out: the answer to membership/get. */
  membershipGetResult: (node: string) => `${NODE}/${node}/membership/get/result`,
  /** out: devices added to (or changed on) and removed from this node. */
  membershipUpdated: (node: string) => `${NODE}/${node}/membership/updated`,
  /** mapper → local consumers: every collected value (not handled by DeviceTwin, as in KubeEdge). */
  dataUpdate: (ns: string, name: string) => `$ke/events/device/${ns}/${name}/data/update`,
  /** in (what mappers publish to). */
  twinUpdate: (ns: string, name: string) => `${DEVICE}/${ns}/${name}/twin/update`,
  stateUpdate: (ns: string, name: string) => `${DEVICE}/${ns}/${name}/state/update`,
  twinGet: (ns: string, name: string) => `${DEVICE}/${ns}/${name}/twin/get`,
  membershipGet: (node: string) => `${NODE}/${node}/membership/get`,
};

// ---------------------------------------------------------------------------------------------
// Payloads.

/** `TwinValue`: a value and when it was set. */
export interface TwinValue {
  readonly value?: string;
  readonly metadata?: { readonly timestamp?: number };
}

/** `TwinVersion`: KubeEdge's optimistic versions of a twin side. */
export interface TwinVersion {
  readonly cloud: number;
  readonly edge: number;
}

/** `MsgTwin`: one property's twin. */
export interface MsgTwin {
  readonly expected?: TwinValue;
  readonly actual?: TwinValue;
  readonly optional?: boolean;
  readonly metadata?: { readonly type?: string };
  readonly expected_version?: TwinVersion;
  readonly actual_version?: TwinVersion;
}

/** `BaseMessage`: carried by every payload. */
export interface BaseMessage {
  readonly event_id: string;
  readonly timestamp: number;
}

/** in `twin/update`: `DeviceTwinUpdate`. */
export interface TwinUpdate extends BaseMessage {
  readonly twin: Readonly<Record<string, MsgTwin>>;
}

/** in `state/update`. */
export interface StateUpdate extends BaseMessage {
  readonly state: DeviceState;
}

/** out `.../result` on failure: KubeEdge's `Result` (+ kedge's stable `error` code). */
export interface ErrorResult extends BaseMessage {
  readonly code: number;
  readonly reason: string;
  readonly error: string;
}

/** out `twin/update/result`, `twin/get/result`: `DeviceTwinResult`. */
export interface TwinResult extends BaseMessage {
  readonly twin: Readonly<Record<string, MsgTwin>>;
}

/** out `twin/update/delta`: `DeviceTwinDelta`. */
export interface TwinDelta extends BaseMessage {
  readonly twin: Readonly<Record<string, MsgTwin>>;
  /** propertyName → the desired value to write. */
  readonly delta: Readonly<Record<string, string>>;
}

/** out `twin/update/document`: `DeviceTwinDocument`. */
export interface TwinDocument extends BaseMessage {
  readonly twin: Readonly<Record<string, { readonly last: MsgTwin | null; readonly current: MsgTwin | null }>>;
}

/** out `state/update/result`. */
export interface StateResult extends BaseMessage {
  readonly device: { readonly name: string; readonly state: string; readonly lastOnlineTime: string };
}

/** A device attribute (`MsgAttr`). */
export interface MsgAttr {
  readonly value: string;
  readonly optional: boolean;
  readonly metadata: { readonly type: string };
}

/**
 * A property as mappers need it (kedge's extension of the membership Device): its model definition
 * and the device's visitors and cycles. Desired values are in the twin (`expected`), not here.
 */
export type MembershipProperty = Omit<ResolvedProperty, 'desired'>;

/**
 * A device in membership messages: KubeEdge's `Device` (`id`, `name`, `description`, `state`,
 * `last_online`, `attributes`, `twin`) plus what a mapper needs to reach it (`namespace`,
 * `model`, `protocol`, `properties`), which KubeEdge mappers ignore.
 */
export interface MembershipDevice {
  readonly id: string;
  readonly name: string;
  readonly description: string;
  readonly state: string;
  readonly last_online: string;
  readonly attributes: Readonly<Record<string, MsgAttr>>;
  readonly twin: Readonly<Record<string, MsgTwin>>;
  readonly namespace: string;
  readonly model: string;
  readonly protocol: { readonly protocolName: string; readonly configData: Readonly<Record<string, unknown>> };
  readonly properties: readonly MembershipProperty[];
}

/** out `membership/get/result`. */
export interface MembershipResult extends BaseMessage {
  readonly devices: readonly MembershipDevice[];
}

/** out `membership/updated`: `MembershipUpdate`. */
export interface MembershipUpdate extends BaseMessage {
  readonly added_devices: readonly MembershipDevice[];
  readonly removed_devices: readonly { readonly id: string; readonly name: string; readonly namespace: string }[];
}

/** out `$hw/events/device/<ns>/<name>/updated`: attributes changed. */
export interface DeviceUpdated extends BaseMessage {
  readonly attributes: Readonly<Record<string, MsgAttr>>;
}

/** mapper → consumers `$ke/events/device/<ns>/<name>/data/update`: `DeviceData`. */
export interface DataUpdate extends BaseMessage {
  readonly data: Readonly<Record<string, { readonly value: string; readonly metadata: { readonly timestamp: number; readonly type: string } }>>;
}

// ---------------------------------------------------------------------------------------------
// Decoding inbound payloads.

/** The largest inbound payload DeviceTwin parses. */
export const MAX_PAYLOAD_BYTES = 64 * 1024;
const MAX_EVENT_ID = 128;
const MAX_TWINS_PER_UPDATE = 1024;

function malformed(message: string): never {
  throw new TwinError('TWIN_MALFORMED', message);
}

/** The largest membership message a mapper parses: a whole node's devices, about 1 KiB each. */
export const MAX_MEMBERSHIP_BYTES = 64 * 1024 * 1024;

/** Parses JSON into an object; an empty payload is `{}` (KubeEdge's `membership/get` may be sent bare). */
function object(payload: Buffer, max = MAX_PAYLOAD_BYTES): Record<string, unknown> {
  if (payload.length > max) malformed(`payload of ${payload.length} bytes exceeds ${max}`);
  if (payload.length === 0) return {};
  let v: unknown;
  try {
    v = JSON.parse(payload.toString('utf8'));
  } catch {
    malformed('payload is not JSON');
  }
  if (!isJsonObject(v)) malformed('payload must be a JSON object');
  return v;
}

function base(v: Record<string, unknown>): BaseMessage {
  const id = v['event_id'];
  if (id !== undefined && (typeof id !== 'string' || id.length > MAX_EVENT_ID)) malformed(`event_id must be a string of at most ${MAX_EVENT_ID} characters`);
  const ts = v['timestamp'];
  if (ts !== undefined && (typeof ts !== 'number' || !Number.isFinite(ts))) malformed('timestamp must be a number (milliseconds)');
  return { event_id: id ?? '', timestamp: ts ?? 0 };
}

/** The `event_id` of a payload, best effort, for answering one that failed to decode. */
export function eventIdOf(payload: Buffer): string {
  if (payload.length > MAX_PAYLOAD_BYTES) return '';
  try {
    const v: unknown = JSON.parse(payload.toString('utf8'));
    const id = isJsonObject(v) ? v['event_id'] : undefined;
    return typeof id === 'string' && id.length <= MAX_EVENT_ID ? id : '';
  } catch {
    return '';
  }
}

function twinValue(v: unknown, what: string): TwinValue | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isJsonObject(v)) malformed(`${what} must be an object`);
  const value = v['value'];
  if (value !== undefined && value !== null && typeof value !== 'string') malformed(`${what}.value must be a string (KubeEdge sends every value as a string), not ${typeof value}`);
  if (typeof value === 'string' && value.length > MAX_VALUE_LENGTH) malformed(`${what}.value is longer than ${MAX_VALUE_LENGTH} characters`);
  const meta = v['metadata'];
  if (meta !== undefined && meta !== null && !isJsonObject(meta)) malformed(`${what}.metadata must be an object`);
  const ts = isJsonObject(meta) ? meta['timestamp'] : undefined;
  if (ts !== undefined && (typeof ts !== 'number' || !Number.isFinite(ts))) malformed(`${what}.metadata.timestamp must be a number`);
  return { ...(typeof value === 'string' ? { value } : {}), ...(ts !== undefined ? { metadata: { timestamp: ts } } : {}) };
}

/**
 * Decodes `twin/update`.
 * @throws {TwinError} `TWIN_MALFORMED` naming what is wrong
 */
export function decodeTwinUpdate(payload: Buffer): TwinUpdate {
  const v = object(payload);
  const b = base(v);
  const twin = v['twin'];
  if (!isJsonObject(twin)) malformed('twin must be an object of property name to twin');
  const entries = Object.entries(twin);
  if (entries.length > MAX_TWINS_PER_UPDATE) malformed(`an update may carry at most ${MAX_TWINS_PER_UPDATE} twins`);
  const out: Record<string, MsgTwin> = {};
  for (const [key, t] of entries) {
    if (!TWIN_KEY.test(key)) malformed(`twin name ${JSON.stringify(key.slice(0, 140))} must be 1-128 characters of letters, digits and -_.,:/@#`);
    if (!isJsonObject(t)) malformed(`twin ${key} must be an object`);
    const actual = twinValue(t['actual'], `twin ${key}.actual`);
    const expected = twinValue(t['expected'], `twin ${key}.expected`);
    const meta = t['metadata'];
    if (meta !== undefined && meta !== null && (!isJsonObject(meta) || (meta['type'] !== undefined && typeof meta['type'] !== 'string'))) malformed(`twin ${key}.metadata must be an object with a string type`);
    const type = isJsonObject(meta) && typeof meta['type'] === 'string' ? meta['type'] : undefined;
    out[key] = { ...(actual !== undefined ? { actual } : {}), ...(expected !== undefined ? { expected } : {}), ...(type !== undefined ? { metadata: { type } } : {}) };
  }
  return { ...b, twin: out };
}

/**
 * Decodes `state/update`.
 * @throws {TwinError} `TWIN_MALFORMED` for a malformed payload or a state KubeEdge does not know
 */
export function decodeStateUpdate(payload: Buffer): StateUpdate {
  const v = object(payload);
  const b = base(v);
  const state = v['state'];
  if (typeof state !== 'string' || !(DEVICE_STATES as readonly string[]).includes(state)) malformed(`state must be one of ${DEVICE_STATES.join(', ')}`);
  return { ...b, state: state as DeviceState };
}

/**
 * Decodes `twin/get` and `membership/get`: only the event id matters.
 * @throws {TwinError} `TWIN_MALFORMED`
 */
export function decodeGet(payload: Buffer): BaseMessage {
  return base(object(payload));
}

// ---------------------------------------------------------------------------------------------
// Decoding what DeviceTwin publishes: for mappers (src/mappers), which validate everything they
// receive too.

function str(v: unknown, what: string): string {
  if (typeof v !== 'string') malformed(`${what} must be a string`);
  return v;
}

function msgTwins(v: unknown, what: string): Record<string, MsgTwin> {
  if (v === undefined || v === null) return {};
  if (!isJsonObject(v)) malformed(`${what} must be an object`);
  const out: Record<string, MsgTwin> = {};
  for (const [k, t] of Object.entries(v)) {
    if (!isJsonObject(t)) malformed(`${what}.${k} must be an object`);
    const expected = twinValue(t['expected'], `${what}.${k}.expected`);
    const actual = twinValue(t['actual'], `${what}.${k}.actual`);
    out[k] = { ...(expected !== undefined ? { expected } : {}), ...(actual !== undefined ? { actual } : {}) };
  }
  return out;
}

function membershipProperty(v: unknown, what: string): MembershipProperty {
  if (!isJsonObject(v)) malformed(`${what} must be an object`);
  const num = (k: string, fallback: number): number => (typeof v[k] === 'number' && Number.isFinite(v[k]) && v[k] > 0 ? v[k] : fallback);
  const type = str(v['type'], `${what}.type`);
  const visitors = v['visitors'];
  const optional = (k: string): Record<string, string> => (typeof v[k] === 'string' ? { [k]: v[k] } : {});
  return {
    name: str(v['name'], `${what}.name`),
    description: typeof v['description'] === 'string' ? v['description'] : '',
    type: type as ResolvedProperty['type'],
    accessMode: v['accessMode'] === 'ReadOnly' ? 'ReadOnly' : 'ReadWrite',
    ...optional('minimum'),
    ...optional('maximum'),
    ...optional('unit'),
    ...(isJsonObject(visitors) ? { visitors: visitors } : {}),
    collectCycleMs: num('collectCycleMs', 1000),
    reportCycleMs: num('reportCycleMs', num('collectCycleMs', 1000)),
    reportToCloud: v['reportToCloud'] !== false,
  };
}

function membershipDevice(v: unknown, what: string): MembershipDevice {
  if (!isJsonObject(v)) malformed(`${what} must be an object`);
  const protocol = v['protocol'];
  const props = v['properties'];
  return {
    id: str(v['id'], `${what}.id`),
    name: str(v['name'], `${what}.name`),
    description: typeof v['description'] === 'string' ? v['description'] : '',
    state: typeof v['state'] === 'string' ? v['state'] : 'unknown',
    last_online: typeof v['last_online'] === 'string' ? v['last_online'] : '',
    attributes: {},
    twin: msgTwins(v['twin'], `${what}.twin`),
    namespace: str(v['namespace'], `${what}.namespace`),
    model: typeof v['model'] === 'string' ? v['model'] : '',
    protocol: {
      protocolName: isJsonObject(protocol) && typeof protocol['protocolName'] === 'string' ? protocol['protocolName'] : '',
      configData: isJsonObject(protocol) && isJsonObject(protocol['configData']) ? protocol['configData'] : {},
    },
    properties: Array.isArray(props) ? props.map((p: unknown, i) => membershipProperty(p, `${what}.properties[${i}]`)) : [],
  };
}

/**
 * Decodes `membership/get/result` (mapper side).
 * @throws {TwinError} `TWIN_MALFORMED`
 */
export function decodeMembershipResult(payload: Buffer): MembershipResult {
  const v = object(payload, MAX_MEMBERSHIP_BYTES);
  const devices = v['devices'];
  if (!Array.isArray(devices)) malformed('devices must be a list');
  return { ...base(v), devices: devices.map((d: unknown, i) => membershipDevice(d, `devices[${i}]`)) };
}

/**
 * Decodes `membership/updated` (mapper side).
 * @throws {TwinError} `TWIN_MALFORMED`
 */
export function decodeMembershipUpdate(payload: Buffer): MembershipUpdate {
  const v = object(payload, MAX_MEMBERSHIP_BYTES);
  const added = v['added_devices'] ?? [];
  const removed = v['removed_devices'] ?? [];
  if (!Array.isArray(added) || !Array.isArray(removed)) malformed('added_devices and removed_devices must be lists');
  return {
    ...base(v),
    added_devices: added.map((d: unknown, i) => membershipDevice(d, `added_devices[${i}]`)),
    removed_devices: removed.map((d: unknown, i) => {
      if (!isJsonObject(d)) malformed(`removed_devices[${i}] must be an object`);
      return { id: str(d['id'], `removed_devices[${i}].id`), name: str(d['name'], `removed_devices[${i}].name`), namespace: typeof d['namespace'] === 'string' ? d['namespace'] : '' };
    }),
  };
}

/**
 * Decodes `twin/update/delta` (mapper side).
 * @throws {TwinError} `TWIN_MALFORMED`
 */
export function decodeTwinDelta(payload: Buffer): TwinDelta {
  const v = object(payload);
  const delta = v['delta'];
  if (!isJsonObject(delta) || !Object.values(delta).every((d) => typeof d === 'string')) malformed('delta must map property names to strings');
  return { ...base(v), twin: msgTwins(v['twin'], 'twin'), delta: delta as Record<string, string> };
}
