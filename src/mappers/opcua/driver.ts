import { readFile } from 'node:fs/promises';
import type * as NodeOpcua from 'node-opcua';
import type { ClientSession, DataValue, OPCUACertificateManager, OPCUAClient, UserIdentityInfo, Variant } from 'node-opcua';
import { isJsonObject } from '../../api/object.ts';
import type { Logger } from '../../log/logger.ts';
import { parseBoolean } from '../../protocol/devices.ts';
import type { DeviceConnection, DeviceDriver, MapperDevice, MapperProperty } from '../lib/driver.ts';
import { MapperError } from '../lib/errors.ts';
import { rfc3339Milli } from '../../api/time.ts';

/** node-opcua takes two seconds to load: only `kedge mapper opcua` pays for it. */
type Opcua = typeof NodeOpcua;
const loadOpcua = (): Promise<Opcua> => import('node-opcua');

export const SECURITY_POLICIES = ['None', 'Basic256Sha256'] as const;
export const SECURITY_MODES = ['None', 'Sign', 'SignAndEncrypt'] as const;

/** A device's `protocol.configData`, checked. */
export interface OpcuaDeviceConfig {
  /** `opc.tcp://host:port/path`. */
  readonly url: string;
  readonly securityPolicy: (typeof SECURITY_POLICIES)[number];
  readonly securityMode: (typeof SECURITY_MODES)[number];
  /** Anonymous when undefined. */
  readonly userName: string | undefined;
  readonly password: string | undefined;
  /** PEM files of the client's own certificate and key; a generated one in the PKI dir otherwise. */
  readonly certificate: string | undefined;
  readonly privateKey: string | undefined;
  readonly timeoutMs: number;
}

function invalid(device: string, message: string): never {
  throw new MapperError('MAPPER_CONFIG_INVALID', `device ${device}: protocol.configData.${message}`);
}

/**
 * Parses an OPC UA device's configData, in the field names of KubeEdge's OPC UA mapper: `url`,
 * `securityPolicy` (None or Basic256Sha256), `securityMode` (None, Sign, SignAndEncrypt; default
 * SignAndEncrypt with a policy), `userName` and `password` (or `passwordFile`, so the password
 * need not sit in the Device), `certificate`/`privateKey` (PEM files), `timeout` (ms).
 * @throws {MapperError} `MAPPER_CONFIG_INVALID` naming the field
 */
export async function parseOpcuaConfig(device: string, c: Readonly<Record<string, unknown>>): Promise<OpcuaDeviceConfig> {
  const url = c['url'];
  if (typeof url !== 'string' || !/^opc\.tcp:\/\/[^/]+/.test(url)) invalid(device, 'url must be an opc.tcp://host:port URL');
  const policyRaw = typeof c['securityPolicy'] === 'string' ? c['securityPolicy'] : 'None';
  const policy = SECURITY_POLICIES.find((p) => p.toLowerCase() === policyRaw.toLowerCase());
  if (policy === undefined) invalid(device, `securityPolicy must be one of ${SECURITY_POLICIES.join(', ')}`);
  const modeRaw = typeof c['securityMode'] === 'string' ? c['securityMode'] : policy === 'None' ? 'None' : 'SignAndEncrypt';
  const mode = SECURITY_MODES.find((m) => m.toLowerCase() === modeRaw.toLowerCase());
  if (mode === undefined) invalid(device, `securityMode must be one of ${SECURITY_MODES.join(', ')}`);
  if ((policy === 'None') !== (mode === 'None')) invalid(device, `securityMode ${mode} does not go with securityPolicy ${policy}`);
  const userName = typeof c['userName'] === 'string' && c['userName'] !== '' ? c['userName'] : undefined;
  let password = typeof c['password'] === 'string' ? c['password'] : undefined;
  if (typeof c['passwordFile'] === 'string') {
    try {
      password = (await readFile(c['passwordFile'], 'utf8')).trim();
    } catch (err) {
      throw new MapperError('MAPPER_CONFIG_INVALID', `device ${device}: protocol.configData.passwordFile ${c['passwordFile']} cannot be read`, { cause: err });
    }
  }
  if (userName !== undefined && password === undefined) invalid(device, 'password (or passwordFile) is required with userName');
  const timeout = c['timeout'] ?? 3000;
  if (typeof timeout !== 'number' || !Number.isInteger(timeout) || timeout < 10 || timeout > 600_000) invalid(device, 'timeout must be milliseconds between 10 and 600000');
  const file = (k: string): string | undefined => (typeof c[k] === 'string' && c[k] !== '' ? c[k] : undefined);
  return { url, securityPolicy: policy, securityMode: mode, userName, password, certificate: file('certificate'), privateKey: file('privateKey'), timeoutMs: timeout };
}

/** The `nodeID` of a property's visitor (KubeEdge's field name; `nodeId` is accepted too). */
export function nodeIdOf(p: MapperProperty): string {
  const c = p.visitors?.configData;
  const id = isJsonObject(c) ? (c['nodeID'] ?? c['nodeId']) : undefined;
  if (typeof id !== 'string' || id === '') throw new MapperError('MAPPER_CONFIG_INVALID', `property "${p.name}": visitors.configData.nodeID is required (e.g. ns=2;s=Temperature)`);
  return id;
}

/** Options of {@link OpcuaDriver}. */
export interface OpcuaDriverOptions {
  /**
   * Where the mapper keeps its client certificate (created on first use) and the server
   * certificates it has trusted. Servers are trusted on first use: their certificate is kept and a
   * changed one is refused; remove it from `<pkiDir>/trusted` to accept a new one.
   */
  readonly pkiDir: string;
  readonly log: Logger;
}

/**
 * The OPC UA driver (node-opcua client): security None or Basic256Sha256 (Sign, SignAndEncrypt),
 * anonymous or user name and password; reads a variable's Value and writes it with the variable's
 * own data type.
 */
export class OpcuaDriver implements DeviceDriver {
  readonly protocol = 'opcua';
  readonly #o: OpcuaDriverOptions;
  #certificates: OPCUACertificateManager | undefined;

  constructor(options: OpcuaDriverOptions) {
    this.#o = options;
  }

  async connect(device: MapperDevice): Promise<DeviceConnection> {
    const config = await parseOpcuaConfig(device.id, device.protocol.configData);
    for (const p of device.properties) nodeIdOf(p);
    const opcua = await loadOpcua();
    this.#certificates ??= new opcua.OPCUACertificateManager({ rootFolder: this.#o.pkiDir, automaticallyAcceptUnknownCertificate: true });
    const client = opcua.OPCUAClient.create({
      applicationName: 'kedge-mapper',
      endpointMustExist: false,
      securityPolicy: opcua.SecurityPolicy[config.securityPolicy],
      securityMode: opcua.MessageSecurityMode[config.securityMode],
      clientCertificateManager: this.#certificates,
      ...(config.certificate !== undefined ? { certificateFile: config.certificate } : {}),
      ...(config.privateKey !== undefined ? { privateKeyFile: config.privateKey } : {}),
      // The device runner owns reconnecting (with its back-off and its offline state).
      connectionStrategy: { maxRetry: 0, initialDelay: 100, maxDelay: 200 },
      keepSessionAlive: true,
      requestedSessionTimeout: 60_000,
    });
    const conn = new OpcuaConnection(opcua, client, config, this.#o.log);
    try {
      await withTimeout(client.connect(config.url), config.timeoutMs, `connecting to ${config.url}`);
    } catch (err) {
      await client.disconnect().catch(() => undefined);
      throw err instanceof MapperError ? err : new MapperError('MAPPER_DEVICE_UNREACHABLE', `cannot connect to ${config.url}: ${errText(err)}`, { cause: err });
    }
    try {
      const identity: UserIdentityInfo = config.userName !== undefined ? { type: opcua.UserTokenType.UserName, userName: config.userName, password: config.password ?? '' } : { type: opcua.UserTokenType.Anonymous };
      await conn.open(await withTimeout(client.createSession(identity), config.timeoutMs, 'creating a session'));
    } catch (err) {
      await client.disconnect().catch(() => undefined);
      if (err instanceof MapperError) throw err;
      // Refused credentials or security settings will not get better by retrying fast: a config error.
      const text = errText(err);
      const code = /BadUserAccessDenied|BadIdentityToken|BadSecurity|BadCertificate/i.test(text) ? 'MAPPER_CONFIG_INVALID' : 'MAPPER_DEVICE_UNREACHABLE';
      throw new MapperError(code, `${config.url} refused the session: ${text}`, { cause: err });
    }
    return conn;
  }
}

class OpcuaConnection implements DeviceConnection {
  readonly #opcua: Opcua;
  readonly #client: OPCUAClient;
  readonly #config: OpcuaDeviceConfig;
  readonly #log: Logger;
  #session: ClientSession | undefined;
  #lost: string | undefined;
  /** The data type of each node written, from its current value. */
  readonly #types = new Map<string, number>();

  constructor(opcua: Opcua, client: OPCUAClient, config: OpcuaDeviceConfig, log: Logger) {
    this.#opcua = opcua;
    this.#client = client;
    this.#config = config;
    this.#log = log;
    client.on('connection_lost', () => (this.#lost ??= 'the connection was lost'));
    client.on('close', () => (this.#lost ??= 'the connection closed'));
  }

  async open(session: ClientSession): Promise<void> {
    this.#session = session;
    session.on('session_closed', () => (this.#lost ??= 'the session was closed'));
    session.on('keepalive_failure', () => (this.#lost ??= 'the session keep-alive failed'));
    return Promise.resolve();
  }

  #live(): ClientSession {
    if (this.#lost !== undefined || this.#session === undefined) throw new MapperError('MAPPER_CLOSED', `${this.#config.url}: ${this.#lost ?? 'no session'}`);
    return this.#session;
  }

  /** Runs a service call; transport failures mean the connection is gone. */
  async #call<T>(what: string, fn: (s: ClientSession) => Promise<T>): Promise<T> {
    const session = this.#live();
    try {
      return await withTimeout(fn(session), this.#config.timeoutMs, what);
    } catch (err) {
      if (err instanceof MapperError) throw err;
      if (this.#lost !== undefined) throw new MapperError('MAPPER_CLOSED', `${this.#config.url}: ${this.#lost}`, { cause: err });
      throw new MapperError('MAPPER_DEVICE_UNREACHABLE', `${what} failed: ${errText(err)}`, { cause: err });
    }
  }

  async read(p: MapperProperty): Promise<string> {
    const nodeId = nodeIdOf(p);
    const dv = await this.#call(`reading ${nodeId}`, (s) => s.read({ nodeId, attributeId: this.#opcua.AttributeIds.Value }));
    this.#check(dv, `reading ${nodeId}`);
    this.#types.set(nodeId, dv.value.dataType);
    return variantToString(this.#opcua, dv.value);
  }

  async write(p: MapperProperty, value: string): Promise<void> {
    if (p.accessMode === 'ReadOnly') throw new MapperError('MAPPER_NOT_WRITABLE', `property "${p.name}" is ReadOnly`);
    const nodeId = nodeIdOf(p);
    let dataType = this.#types.get(nodeId);
    if (dataType === undefined) {
      const dv = await this.#call(`reading ${nodeId}`, (s) => s.read({ nodeId, attributeId: this.#opcua.AttributeIds.Value }));
      this.#check(dv, `reading ${nodeId}`);
      dataType = dv.value.dataType;
      this.#types.set(nodeId, dataType);
    }
    const v = stringToValue(this.#opcua, p.name, value, dataType);
    const status = await this.#call(`writing ${nodeId}`, (s) => s.write({ nodeId, attributeId: this.#opcua.AttributeIds.Value, value: { value: { dataType, value: v } } }));
    if (status.isGood()) return;
    const name = status.name;
    const code = /BadNotWritable|BadUserAccessDenied|BadWriteNotSupported/.test(name) ? 'MAPPER_NOT_WRITABLE' : /BadTypeMismatch|BadOutOfRange/.test(name) ? 'MAPPER_VALUE_INVALID' : 'MAPPER_DEVICE_ERROR';
    throw new MapperError(code, `writing ${JSON.stringify(value)} to ${nodeId}: ${name}`);
  }

  #check(dv: DataValue, what: string): void {
    if (!dv.statusCode.isGood()) throw new MapperError('MAPPER_DEVICE_ERROR', `${what}: ${dv.statusCode.name}`);
  }

  async close(): Promise<void> {
    this.#lost ??= 'closed by the mapper';
    await this.#session?.close().catch(() => undefined);
    await this.#client.disconnect().catch((err: unknown) => this.#log.debug('OPC UA disconnect failed', { url: this.#config.url, err: errText(err) }));
  }
}

/** A twin value from an OPC UA variant. */
export function variantToString(opcua: Opcua, v: Variant): string {
  const { DataType, VariantArrayType } = opcua;
  const value: unknown = v.value;
  if (value === null || value === undefined) throw new MapperError('MAPPER_MALFORMED_RESPONSE', 'the variable has no value');
  if (v.arrayType !== VariantArrayType.Scalar) return JSON.stringify(Array.from(value as ArrayLike<unknown>, (x) => (typeof x === 'bigint' ? x.toString() : x)));
  switch (v.dataType) {
    case DataType.Boolean:
      return String(value === true);
    case DataType.Float:
      return String(Number((value as number).toPrecision(7)));
    case DataType.Int64:
    case DataType.UInt64: {
      // node-opcua carries 64-bit integers as [high, low].
      if (Array.isArray(value)) {
        const n = (BigInt(value[0] as number) << 32n) | BigInt((value[1] as number) >>> 0);
        return (v.dataType === DataType.Int64 ? BigInt.asIntN(64, n) : n).toString();
      }
      return scalarText(value);
    }
    case DataType.DateTime:
      return rfc3339Milli((value as Date).getTime());
    case DataType.ByteString:
      return (value as Buffer).toString('base64');
    case DataType.LocalizedText:
      return (value as { text?: string }).text ?? '';
    default:
      return scalarText(value);
  }
}

function scalarText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  return JSON.stringify(value) ?? '';
}

const INT_RANGES: Readonly<Record<string, [number, number]>> = {
  SByte: [-128, 127],
  Byte: [0, 255],
  Int16: [-32768, 32767],
  UInt16: [0, 65535],
  Int32: [-2147483648, 2147483647],
  UInt32: [0, 4294967295],
  Int64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
  UInt64: [0, Number.MAX_SAFE_INTEGER],
};

/** A value for a variable of `dataType` from a twin value. */
export function stringToValue(opcua: Opcua, property: string, value: string, dataType: number): unknown {
  const bad = (why: string): never => {
    throw new MapperError('MAPPER_VALUE_INVALID', `property "${property}": cannot write ${JSON.stringify(value)}: ${why}`);
  };
  const type = opcua.DataType[dataType];
  if (type === 'Boolean') return parseBoolean(value) ?? bad('not a boolean');
  if (type === 'String') return value;
  if (type === 'Float' || type === 'Double') {
    const n = Number(value);
    return Number.isFinite(n) && value.trim() !== '' ? n : bad('not a number');
  }
  const range = type === undefined ? undefined : INT_RANGES[type];
  if (range !== undefined) {
    const n = Number(value);
    if (!Number.isInteger(n) || n < range[0] || n > range[1]) bad(`not an integer between ${range[0]} and ${range[1]} (${type})`);
    return n;
  }
  return bad(`variables of type ${type ?? dataType} cannot be written by kedge`);
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message.split('\n')[0]! : String(err);
}

async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new MapperError('MAPPER_TIMEOUT', `${what} took more than ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}
