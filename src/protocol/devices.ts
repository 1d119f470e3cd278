import type { KubeObject } from '../api/object.ts';
import { isJsonObject } from '../api/object.ts';

/**
 * The device model both halves enforce: KubeEdge's `devices.kubeedge.io/v1beta1` Device and
 * DeviceModel (the v1.22+ shapes, see the CRDs in `src/cloud/apiserver/crd/builtin/`), the property
 * a device instance ends up with once its model and its own overrides are combined, and the one
 * definition of which values a property accepts. The API server's admission checks desired values
 * with {@link checkValue}; DeviceTwin checks every reported value with it; mappers read the
 * resolved properties. One definition, so a desired value the cloud accepted is never refused at
 * the edge. Pure: no I/O.
 */

/** The API group and version of Device and DeviceModel. */
export const DEVICES_GROUP = 'devices.kubeedge.io';
export const DEVICES_VERSION = 'v1beta1';
export const DEVICES_API_VERSION = `${DEVICES_GROUP}/${DEVICES_VERSION}`;

/** Property types of a DeviceModel (the CRD's enum). */
export const PROPERTY_TYPES = ['INT', 'FLOAT', 'DOUBLE', 'STRING', 'BOOLEAN', 'BYTES', 'STREAM'] as const;
export type PropertyType = (typeof PROPERTY_TYPES)[number];

export const ACCESS_MODES = ['ReadWrite', 'ReadOnly'] as const;
export type AccessMode = (typeof ACCESS_MODES)[number];

/**
 * Device states: what mappers send on `state/update` and what `status.state` shows. KubeEdge's
 * `ok` is accepted as a synonym of `online` (older mappers send it) and stored as sent.
 */
export const DEVICE_STATES = ['online', 'offline', 'ok', 'unknown', 'unhealthy'] as const;
export type DeviceState = (typeof DEVICE_STATES)[number];

/** Whether a state counts as online (sets lastOnlineTime). */
export function isOnlineState(state: string): boolean {
  return state === 'online' || state === 'ok';
}

/** `value` + `metadata` (map of strings): a desired, reported or observed-desired value in the API. */
export interface TwinProperty {
  readonly value: string;
  readonly metadata?: Readonly<Record<string, string>>;
}

/** `visitors` of a property: protocol-specific addressing the mapper interprets. */
export interface Visitors {
  readonly protocolName?: string;
  readonly configData?: Readonly<Record<string, unknown>>;
}

/** `DeviceModel.spec.properties[]`. */
export interface ModelProperty {
  readonly name: string;
  readonly description?: string;
  readonly type?: PropertyType;
  readonly accessMode?: AccessMode;
  readonly minimum?: string;
  readonly maximum?: string;
  readonly unit?: string;
  readonly visitors?: Visitors;
}

export interface DeviceModelSpec {
  readonly protocol?: string;
  readonly protocolConfigData?: Readonly<Record<string, unknown>>;
  readonly properties?: readonly ModelProperty[];
}

/** `Device.spec.properties[]`. Cycles are nanoseconds, as in KubeEdge. */
export interface DevicePropertySpec {
  readonly name: string;
  readonly desired?: TwinProperty;
  readonly visitors?: Visitors;
  readonly collectCycle?: number;
  readonly reportCycle?: number;
  readonly reportToCloud?: boolean;
  readonly pushMethod?: Readonly<Record<string, unknown>>;
}

export interface DeviceSpec {
  readonly deviceModelRef?: { readonly name?: string };
  readonly nodeName?: string;
  readonly protocol?: { readonly protocolName?: string; readonly configData?: Readonly<Record<string, unknown>> };
  readonly properties?: readonly DevicePropertySpec[];
  readonly methods?: readonly { readonly name?: string; readonly description?: string; readonly propertyNames?: readonly string[] }[];
  readonly stateReport?: { readonly reportToCloud?: boolean; readonly reportCycle?: number };
}

/** One entry of `Device.status.twins`. */
export interface DeviceTwinStatus {
  readonly propertyName: string;
  readonly reported?: TwinProperty;
  readonly observedDesired?: TwinProperty;
}

export interface DeviceStatus {
  readonly state?: string;
  readonly lastOnlineTime?: string;
  readonly twins?: readonly DeviceTwinStatus[];
  readonly reportToCloud?: boolean;
  readonly reportCycle?: number;
}

export type DeviceObject = KubeObject & { spec?: DeviceSpec; status?: DeviceStatus };
export type DeviceModelObject = KubeObject & { spec?: DeviceModelSpec };

/** A property of a device instance: its model's definition with the device's overrides applied. */
export interface ResolvedProperty {
  readonly name: string;
  readonly description: string;
  readonly type: PropertyType;
  readonly accessMode: AccessMode;
  readonly minimum?: string;
  readonly maximum?: string;
  readonly unit?: string;
  /** The device's visitors, or else the model's. */
  readonly visitors?: Visitors;
  /** @default 1000 (KubeEdge's mapper default of 1 s) */
  readonly collectCycleMs: number;
  /** @default collectCycleMs */
  readonly reportCycleMs: number;
  /**
   * Whether reported values go to the cloud. Unlike KubeEdge, where an unset field means false,
   * kedge reports unless it is set to false: a value that silently never shows up is the more
   * surprising default.
   */
  readonly reportToCloud: boolean;
  readonly desired?: TwinProperty;
}

/** A device instance as the edge and mappers use it. */
export interface ResolvedDevice {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  readonly model: string;
  readonly protocolName: string;
  /** The model's protocolConfigData overlaid with the device's configData. */
  readonly protocolConfig: Readonly<Record<string, unknown>>;
  /** In the order of the model. */
  readonly properties: readonly ResolvedProperty[];
  /** `stateReport.reportToCloud`, default true. */
  readonly reportState: boolean;
}

const DEFAULT_CYCLE_MS = 1000;
const NS_PER_MS = 1_000_000;

/** The longest value a twin holds: KubeEdge's twin value limit. */
export const MAX_VALUE_LENGTH = 512;
/** KubeEdge's twin (property) name pattern (`dtcommon.ValidateTwinKey`). */
export const TWIN_KEY = /^[a-zA-Z0-9-_.,:/@#]{1,128}$/;

const INT = /^[+-]?\d+$/;
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const FLOAT32_MAX = 3.4028234663852886e38;
/** Go's `strconv.ParseBool`, which KubeEdge mappers use. */
const BOOLEANS: Readonly<Record<string, boolean>> = { '1': true, t: true, T: true, TRUE: true, true: true, True: true, '0': false, f: false, F: false, FALSE: false, false: false, False: false };

/** The lower-case type name KubeEdge puts in twin metadata (`"int"`, `"float"`...). */
export function metadataType(type: PropertyType): string {
  return type.toLowerCase();
}

/** Parses a boolean the way KubeEdge does; undefined when it is not one. */
export function parseBoolean(value: string): boolean | undefined {
  return BOOLEANS[value];
}

function isNumeric(type: PropertyType): boolean {
  return type === 'INT' || type === 'FLOAT' || type === 'DOUBLE';
}

/**
 * Why `value` is not a valid value of a property of type `type` within `minimum`/`maximum`, or
 * undefined when it is. Numbers are compared exactly for INT (int64) and as doubles otherwise;
 * bounds that are not numbers are ignored (model admission refuses them).
 */
export function checkValue(value: string, prop: Pick<ResolvedProperty, 'type' | 'minimum' | 'maximum'>): string | undefined {
  if (value.length > MAX_VALUE_LENGTH) return `is longer than ${MAX_VALUE_LENGTH} characters`;
  switch (prop.type) {
    case 'INT': {
      if (!INT.test(value)) return 'is not an integer';
      const n = BigInt(value);
      if (n < INT64_MIN || n > INT64_MAX) return 'is out of the range of a 64-bit integer';
      const min = bound(prop.minimum);
      const max = bound(prop.maximum);
      if (min !== undefined && (INT.test(prop.minimum!) ? n < BigInt(prop.minimum!) : Number(value) < min)) return `is below the minimum ${prop.minimum!}`;
      if (max !== undefined && (INT.test(prop.maximum!) ? n > BigInt(prop.maximum!) : Number(value) > max)) return `is above the maximum ${prop.maximum!}`;
      return undefined;
    }
    case 'FLOAT':
    case 'DOUBLE': {
      if (!DECIMAL.test(value.trim())) return 'is not a number';
      const n = Number(value);
      if (!Number.isFinite(n) || (prop.type === 'FLOAT' && Math.abs(n) > FLOAT32_MAX)) return `is out of the range of a ${prop.type === 'FLOAT' ? '32' : '64'}-bit float`;
      const min = bound(prop.minimum);
      const max = bound(prop.maximum);
      if (min !== undefined && n < min) return `is below the minimum ${prop.minimum!}`;
      if (max !== undefined && n > max) return `is above the maximum ${prop.maximum!}`;
      return undefined;
    }
    case 'BOOLEAN':
      return parseBoolean(value) === undefined ? 'is not a boolean (true or false)' : undefined;
    case 'STRING':
    case 'BYTES':
    case 'STREAM':
      return undefined;
  }
}

/** A numeric bound, or undefined when unset or not a number. */
function bound(text: string | undefined): number | undefined {
  if (text === undefined || text.trim() === '' || !DECIMAL.test(text.trim())) return undefined;
  const n = Number(text);
  return Number.isFinite(n) ? n : undefined;
}

/**
 * Problems with one model property definition, as `[field, detail]` pairs relative to the
 * property: bounds must be numbers of a numeric type and in order. Used by DeviceModel admission.
 */
export function modelPropertyProblems(p: ModelProperty): [string, unknown, string][] {
  const out: [string, unknown, string][] = [];
  const type = p.type ?? 'STRING';
  for (const which of ['minimum', 'maximum'] as const) {
    const v = p[which];
    if (v === undefined || v === '') continue;
    if (!isNumeric(type)) out.push([which, v, `only INT, FLOAT and DOUBLE properties have a ${which}`]);
    else if (type === 'INT' ? !INT.test(v) : bound(v) === undefined) out.push([which, v, `must be ${type === 'INT' ? 'an integer' : 'a number'}`]);
  }
  const min = bound(p.minimum);
  const max = bound(p.maximum);
  if (min !== undefined && max !== undefined && min > max && isNumeric(type)) out.push(['minimum', p.minimum, `must not be greater than the maximum ${p.maximum!}`]);
  return out;
}

/** The model's properties by name. */
export function modelProperties(model: DeviceModelSpec | undefined): Map<string, ModelProperty> {
  const out = new Map<string, ModelProperty>();
  for (const p of model?.properties ?? []) if (typeof p?.name === 'string') out.set(p.name, p);
  return out;
}

function cycleMs(ns: unknown): number | undefined {
  return typeof ns === 'number' && Number.isFinite(ns) && ns > 0 ? Math.max(1, Math.round(ns / NS_PER_MS)) : undefined;
}

function record(v: unknown): Readonly<Record<string, unknown>> {
  return isJsonObject(v) ? v : {};
}

function visitorsOf(v: unknown): Visitors | undefined {
  if (!isJsonObject(v)) return undefined;
  return {
    ...(typeof v['protocolName'] === 'string' ? { protocolName: v['protocolName'] } : {}),
    ...(isJsonObject(v['configData']) ? { configData: v['configData'] } : {}),
  };
}

/**
 * The protocol a device speaks, which picks the mapper that serves it: the device's
 * `spec.protocol.protocolName`, else its model's `spec.protocol`; '' when neither says.
 */
export function deviceProtocolName(device: DeviceObject, model: DeviceModelObject | undefined): string {
  return device.spec?.protocol?.protocolName ?? model?.spec?.protocol ?? '';
}

/**
 * The device instance: its model's properties with the device's overrides. A property is part
 * of the device when the device lists it or the model gives it visitors (KubeEdge v1.22: a
 * model may carry the visitors every device of it shares). Properties the device lists but the
 * model lacks are dropped here (admission refuses them; a model changed afterwards may leave some).
 */
export function resolveDevice(device: DeviceObject, model: DeviceModelObject | undefined): ResolvedDevice {
  const spec = device.spec ?? {};
  const own = new Map<string, DevicePropertySpec>();
  for (const p of spec.properties ?? []) if (typeof p?.name === 'string') own.set(p.name, p);
  const properties: ResolvedProperty[] = [];
  for (const mp of model?.spec?.properties ?? []) {
    if (typeof mp?.name !== 'string') continue;
    const dp = own.get(mp.name);
    const visitors = visitorsOf(dp?.visitors) ?? visitorsOf(mp.visitors);
    if (dp === undefined && visitors === undefined) continue;
    const collectCycleMs = cycleMs(dp?.collectCycle) ?? DEFAULT_CYCLE_MS;
    const desired = dp?.desired !== undefined && typeof dp.desired.value === 'string' ? dp.desired : undefined;
    properties.push({
      name: mp.name,
      description: mp.description ?? '',
      type: (PROPERTY_TYPES as readonly string[]).includes(mp.type ?? '') ? mp.type! : 'STRING',
      accessMode: mp.accessMode === 'ReadOnly' ? 'ReadOnly' : 'ReadWrite',
      ...(mp.minimum !== undefined && mp.minimum !== '' ? { minimum: mp.minimum } : {}),
      ...(mp.maximum !== undefined && mp.maximum !== '' ? { maximum: mp.maximum } : {}),
      ...(mp.unit !== undefined ? { unit: mp.unit } : {}),
      ...(visitors !== undefined ? { visitors } : {}),
      collectCycleMs,
      reportCycleMs: cycleMs(dp?.reportCycle) ?? collectCycleMs,
      reportToCloud: dp?.reportToCloud !== false,
      ...(desired !== undefined ? { desired } : {}),
    });
  }
  const protocolName = deviceProtocolName(device, model);
  return {
    namespace: device.metadata.namespace ?? 'default',
    name: device.metadata.name ?? '',
    uid: device.metadata.uid ?? '',
    model: spec.deviceModelRef?.name ?? '',
    protocolName,
    protocolConfig: { ...record(model?.spec?.protocolConfigData), ...record(spec.protocol?.configData) },
    properties,
    reportState: spec.stateReport?.reportToCloud !== false,
  };
}
