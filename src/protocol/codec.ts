import { randomUUID } from 'node:crypto';
import { PlatformError } from '../errors/platform-error.ts';
import { isJsonObject } from '../api/object.ts';
import { dns1123SubdomainErrors } from '../api/selectors/label-validation.ts';
import { DEVICE_STATES, MAX_VALUE_LENGTH, TWIN_KEY, type DeviceTwinStatus, type TwinProperty } from './devices.ts';
import { GROUPS, MAX_FRAME_BYTES, MAX_REPORT_DEVICES, OPERATIONS, PROTOCOL_VERSION, STATUS_KINDS, SYNCED_KINDS, type Contents, type DeviceReport, type Envelope, type Group, type Header, type JoinRequest, type JoinResponse, type JoinToken, type Operation, type ResourceRef } from './envelope.ts';

/** A frame that is not a valid v1 envelope. The hub answers it with an `error` envelope or closes the session. */
export class ProtocolError extends PlatformError {
  constructor(code: 'PROTOCOL_MALFORMED' | 'PROTOCOL_UNSUPPORTED_VERSION' | 'PROTOCOL_FRAME_TOO_LARGE', message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

const KINDS_WITH_EVENTS_AND_LEASES: readonly string[] = [...SYNCED_KINDS, 'events', 'leases'];
const MAX_NAME = 253;
const MAX_INVENTORY = 200_000;

function fail(message: string): never {
  throw new ProtocolError('PROTOCOL_MALFORMED', message);
}

function str(v: unknown, what: string, max = MAX_NAME): string {
  if (typeof v !== 'string' || v.length === 0 || v.length > max) fail(`${what} must be a non-empty string of at most ${max} characters`);
  return v;
}

function optStr(v: unknown, what: string, max = MAX_NAME): string | undefined {
  return v === undefined ? undefined : str(v, what, max);
}

function header(v: unknown): Header {
  if (!isJsonObject(v)) fail('header must be an object');
  const timestamp = v['timestamp'];
  if (typeof timestamp !== 'number' || !Number.isFinite(timestamp)) fail('header.timestamp must be a number');
  const parentId = optStr(v['parentId'], 'header.parentId', 64);
  const resourceVersion = optStr(v['resourceVersion'], 'header.resourceVersion', 32);
  return { id: str(v['id'], 'header.id', 64), timestamp, ...(parentId !== undefined ? { parentId } : {}), ...(resourceVersion !== undefined ? { resourceVersion } : {}) };
}

function resource(v: unknown): ResourceRef | undefined {
  if (v === undefined) return undefined;
  if (!isJsonObject(v)) fail('route.resource must be an object');
  const kind = v['kind'];
  if (typeof kind !== 'string' || !KINDS_WITH_EVENTS_AND_LEASES.includes(kind)) fail(`route.resource.kind ${JSON.stringify(kind)} is not one of ${KINDS_WITH_EVENTS_AND_LEASES.join(', ')}`);
  const namespace = optStr(v['namespace'], 'route.resource.namespace', 63);
  const uid = optStr(v['uid'], 'route.resource.uid', 64);
  return { kind: kind as ResourceRef['kind'], name: str(v['name'], 'route.resource.name'), ...(namespace !== undefined ? { namespace } : {}), ...(uid !== undefined ? { uid } : {}) };
}

function kubeObject(v: unknown, what: string): Contents['upsert'] {
  if (!isJsonObject(v) || !isJsonObject(v['metadata'])) fail(`${what} must be a Kubernetes object with metadata`);
  return v as unknown as Contents['upsert'];
}

/** Checks the content of each operation; returns it typed. */
function content(op: Operation, v: unknown, res: ResourceRef | undefined): unknown {
  switch (op) {
    case 'upsert':
    case 'event':
      if (res === undefined) fail(`${op} needs route.resource`);
      return kubeObject(v, `${op} content`);
    case 'delete':
      if (res === undefined) fail('delete needs route.resource');
      if (!isJsonObject(v)) fail('delete content must be an object');
      return { uid: str(v['uid'], 'delete content.uid', 64) };
    case 'inventory': {
      if (!isJsonObject(v) || !Array.isArray(v['items'])) fail('inventory content must have an items list');
      const items = v['items'];
      if (items.length > MAX_INVENTORY) fail(`inventory has more than ${MAX_INVENTORY} items`);
      return {
        items: items.map((it: unknown, i) => {
          if (!isJsonObject(it)) fail(`inventory item ${i} must be an object`);
          const kind = it['kind'];
          if (typeof kind !== 'string' || !(SYNCED_KINDS as readonly string[]).includes(kind)) fail(`inventory item ${i}: unknown kind ${JSON.stringify(kind)}`);
          const namespace = optStr(it['namespace'], `inventory item ${i} namespace`, 63);
          return {
            kind,
            name: str(it['name'], `inventory item ${i} name`),
            uid: str(it['uid'], `inventory item ${i} uid`, 64),
            resourceVersion: str(it['resourceVersion'], `inventory item ${i} resourceVersion`, 32),
            ...(namespace !== undefined ? { namespace } : {}),
          };
        }),
      };
    }
    case 'synced':
      if (!isJsonObject(v)) fail('synced content must be an object');
      return { revision: str(v['revision'], 'synced content.revision', 32) };
    case 'status':
      if (res === undefined || !(STATUS_KINDS as readonly string[]).includes(res.kind)) fail(`status needs route.resource of kind ${STATUS_KINDS.join(', ')}`);
      if (!isJsonObject(v) || !isJsonObject(v['status'])) fail('status content must have a status object');
      return { status: v['status'] };
    case 'lease': {
      if (!isJsonObject(v)) fail('lease content must be an object');
      const d = v['leaseDurationSeconds'];
      if (typeof d !== 'number' || !Number.isInteger(d) || d <= 0 || d > 3600) fail('lease content.leaseDurationSeconds must be an integer between 1 and 3600');
      return { renewTime: str(v['renewTime'], 'lease content.renewTime', 64), leaseDurationSeconds: d };
    }
    case 'csr':
      if (!isJsonObject(v)) fail('csr content must be an object');
      return { csr: str(v['csr'], 'csr content.csr', 16_384) };
    case 'report': {
      if (!isJsonObject(v) || !Array.isArray(v['devices'])) fail('report content must have a devices list');
      const devices = v['devices'];
      if (devices.length > MAX_REPORT_DEVICES) fail(`report has more than ${MAX_REPORT_DEVICES} devices`);
      return { devices: devices.map((d: unknown, i) => deviceReport(d, `report device ${i}`)) };
    }
    case 'ack':
    case 'keepalive':
      if (v !== null && v !== undefined) fail(`${op} carries no content`);
      return null;
    case 'response':
      if (!isJsonObject(v)) fail('response content must be an object');
      return v;
    case 'error':
      if (!isJsonObject(v)) fail('error content must be an object');
      return { code: str(v['code'], 'error content.code', 64), message: str(v['message'], 'error content.message', 4096) };
  }
}

/** Twins one device report carries at most, and metadata entries one value carries at most. */
const MAX_TWINS = 1024;
const MAX_METADATA = 16;

function twinProperty(v: unknown, what: string): TwinProperty | undefined {
  if (v === undefined) return undefined;
  if (!isJsonObject(v) || typeof v['value'] !== 'string' || v['value'].length > MAX_VALUE_LENGTH) fail(`${what} must be {value, metadata} with a value of at most ${MAX_VALUE_LENGTH} characters`);
  const meta = v['metadata'];
  if (meta === undefined) return { value: v['value'] };
  if (!isJsonObject(meta)) fail(`${what}.metadata must be an object`);
  const entries = Object.entries(meta);
  if (entries.length > MAX_METADATA || entries.some(([k, m]) => k.length > 63 || typeof m !== 'string' || m.length > 256)) fail(`${what}.metadata must map at most ${MAX_METADATA} short keys to strings`);
  return { value: v['value'], metadata: meta as Record<string, string> };
}

function deviceReport(v: unknown, what: string): DeviceReport {
  if (!isJsonObject(v)) fail(`${what} must be an object`);
  const state = v['state'];
  if (state !== undefined && (typeof state !== 'string' || !(DEVICE_STATES as readonly string[]).includes(state))) fail(`${what}.state must be one of ${DEVICE_STATES.join(', ')}`);
  const lastOnlineTime = optStr(v['lastOnlineTime'], `${what}.lastOnlineTime`, 64);
  const twins = v['twins'];
  if (!Array.isArray(twins) || twins.length > MAX_TWINS) fail(`${what}.twins must be a list of at most ${MAX_TWINS}`);
  return {
    namespace: str(v['namespace'], `${what}.namespace`, 63),
    name: str(v['name'], `${what}.name`),
    uid: str(v['uid'], `${what}.uid`, 64),
    ...(state !== undefined ? { state } : {}),
    ...(lastOnlineTime !== undefined ? { lastOnlineTime } : {}),
    twins: twins.map((t: unknown, i): DeviceTwinStatus => {
      if (!isJsonObject(t) || typeof t['propertyName'] !== 'string' || !TWIN_KEY.test(t['propertyName'])) fail(`${what}.twins[${i}].propertyName must be a property name`);
      const reported = twinProperty(t['reported'], `${what}.twins[${i}].reported`);
      const observedDesired = twinProperty(t['observedDesired'], `${what}.twins[${i}].observedDesired`);
      return { propertyName: t['propertyName'], ...(reported !== undefined ? { reported } : {}), ...(observedDesired !== undefined ? { observedDesired } : {}) };
    }),
  };
}

/**
 * Decodes and validates one frame.
 * @throws ProtocolError `PROTOCOL_FRAME_TOO_LARGE`, `PROTOCOL_UNSUPPORTED_VERSION` or `PROTOCOL_MALFORMED`, whose message names what is wrong
 */
export function decodeEnvelope(frame: string | Buffer): Envelope {
  const size = typeof frame === 'string' ? Buffer.byteLength(frame) : frame.length;
  if (size > MAX_FRAME_BYTES) throw new ProtocolError('PROTOCOL_FRAME_TOO_LARGE', `frame of ${size} bytes exceeds the limit of ${MAX_FRAME_BYTES}`);
  let raw: unknown;
  try {
    raw = JSON.parse(typeof frame === 'string' ? frame : frame.toString('utf8'));
  } catch (err) {
    throw new ProtocolError('PROTOCOL_MALFORMED', 'frame is not JSON', { cause: err });
  }
  if (!isJsonObject(raw)) fail('envelope must be an object');
  if (raw['v'] !== PROTOCOL_VERSION) throw new ProtocolError('PROTOCOL_UNSUPPORTED_VERSION', `envelope version ${JSON.stringify(raw['v'])} is not supported (this side speaks ${PROTOCOL_VERSION})`);
  const h = header(raw['header']);
  const route = raw['route'];
  if (!isJsonObject(route)) fail('route must be an object');
  const source = route['source'];
  if (source !== 'cloud' && source !== 'edge') fail('route.source must be "cloud" or "edge"');
  const group = route['group'];
  if (typeof group !== 'string' || !(GROUPS as readonly string[]).includes(group)) fail(`route.group ${JSON.stringify(group)} is unknown`);
  const op = route['operation'];
  if (typeof op !== 'string' || !(OPERATIONS as readonly string[]).includes(op)) fail(`route.operation ${JSON.stringify(op)} is unknown`);
  const operation = op as Operation;
  if ((operation === 'ack' || operation === 'response' || operation === 'error') && h.parentId === undefined) fail(`${operation} needs header.parentId`);
  const res = resource(route['resource']);
  return {
    v: PROTOCOL_VERSION,
    header: h,
    route: { source, group: group as Group, operation, ...(res !== undefined ? { resource: res } : {}) },
    content: content(operation, raw['content'], res),
  } as Envelope;
}

/** Encodes an envelope for the wire. */
export function encodeEnvelope(env: Envelope): string {
  return JSON.stringify(env);
}

/** Builds an envelope with a fresh id and the current time. */
export function envelope<O extends Operation>(
  source: 'cloud' | 'edge',
  group: Group,
  operation: O,
  content: Contents[O],
  extra: { resource?: ResourceRef; parentId?: string; resourceVersion?: string } = {},
): Envelope<O> {
  return {
    v: PROTOCOL_VERSION,
    header: {
      id: randomUUID(),
      timestamp: Date.now(),
      ...(extra.parentId !== undefined ? { parentId: extra.parentId } : {}),
      ...(extra.resourceVersion !== undefined ? { resourceVersion: extra.resourceVersion } : {}),
    },
    route: { source, group, operation, ...(extra.resource !== undefined ? { resource: extra.resource } : {}) },
    content,
  };
}

const JOIN_TOKEN = /^([0-9a-f]{64})\.([a-z0-9]{6})\.([a-z0-9]{16})$/;

/** Parses a join token (`<CA digest>.<id>.<secret>`, see {@link JoinToken}); undefined when it is not one. */
export function decodeJoinToken(text: string): JoinToken | undefined {
  const m = JOIN_TOKEN.exec(text.trim());
  if (m === null) return undefined;
  return { caDigest: m[1]!, id: m[2]!, secret: m[3]! };
}

/** Formats a join token. */
export function encodeJoinToken(token: JoinToken): string {
  return `${token.caDigest}.${token.id}.${token.secret}`;
}

/**
 * Validates the body of `POST /join` (already parsed JSON). The token is only checked to be a
 * string here: the join service tells a malformed token apart from a malformed request.
 * @throws ProtocolError `PROTOCOL_MALFORMED` naming the field
 */
export function decodeJoinRequest(v: unknown): JoinRequest {
  if (!isJsonObject(v)) fail('join request must be a JSON object');
  const nodeName = str(v['nodeName'], 'nodeName');
  const problems = dns1123SubdomainErrors(nodeName);
  if (problems.length > 0) fail(`nodeName ${JSON.stringify(nodeName)}: ${problems.join('; ')}`);
  return { token: str(v['token'], 'token', 256), nodeName, csr: str(v['csr'], 'csr', 16_384) };
}

/**
 * Validates the answer of `POST /join` (already parsed JSON).
 * @throws ProtocolError `PROTOCOL_MALFORMED` naming the field
 */
export function decodeJoinResponse(v: unknown): JoinResponse {
  if (!isJsonObject(v)) fail('join response must be a JSON object');
  const hub = v['hub'];
  if (!isJsonObject(hub)) fail('join response hub must be an object');
  const port = hub['port'];
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) fail('join response hub.port must be a port number');
  return {
    nodeName: str(v['nodeName'], 'nodeName'),
    certificate: str(v['certificate'], 'certificate', 65_536),
    caCertificate: str(v['caCertificate'], 'caCertificate', 65_536),
    hub: { host: str(hub['host'], 'hub.host'), port },
  };
}
