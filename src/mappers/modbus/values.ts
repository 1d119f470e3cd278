/**
 * Modbus visitors and value conversion, as KubeEdge's Modbus mapper reads them: a property lives
 * in one register table at `offset` over `limit` registers (or bits); its raw bytes are big-endian
 * registers, rearranged by `isRegisterSwap` (word order reversed) and `isSwap` (bytes swapped
 * within each register), then read as the property's type and multiplied by `scale`. Writes do
 * the reverse. Pure.
 */
import { isJsonObject } from '../../api/object.ts';
import { parseBoolean, type PropertyType } from '../../protocol/devices.ts';
import { MapperError } from '../lib/errors.ts';

export const REGISTER_TYPES = ['CoilRegister', 'DiscreteInputRegister', 'InputRegister', 'HoldingRegister'] as const;
export type RegisterType = (typeof REGISTER_TYPES)[number];

/**
 * How raw register bytes are read: KubeEdge's defaults by property type (unsigned integers,
 * IEEE floats of the register width), or an explicit `dataType`.
 */
export const DATA_TYPES = ['uint16', 'int16', 'uint32', 'int32', 'uint64', 'int64', 'float32', 'float64'] as const;
export type DataType = (typeof DATA_TYPES)[number];

/** A property's visitor `configData`, checked. */
export interface ModbusVisitor {
  readonly register: RegisterType;
  readonly offset: number;
  readonly limit: number;
  readonly scale: number;
  readonly isSwap: boolean;
  readonly isRegisterSwap: boolean;
  readonly dataType: DataType | undefined;
}

function invalid(property: string, message: string): never {
  throw new MapperError('MAPPER_CONFIG_INVALID', `property "${property}": visitors.configData.${message}`);
}

/**
 * Parses a visitor's configData.
 * @throws {MapperError} `MAPPER_CONFIG_INVALID` naming the field
 */
export function parseVisitor(property: string, configData: unknown): ModbusVisitor {
  if (!isJsonObject(configData)) invalid(property, 'is missing (register, offset, limit...)');
  const register = configData['register'];
  if (typeof register !== 'string' || !(REGISTER_TYPES as readonly string[]).includes(register)) invalid(property, `register must be one of ${REGISTER_TYPES.join(', ')}`);
  const int = (k: string, fallback: number, min: number, max: number): number => {
    const v = configData[k] ?? fallback;
    const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) invalid(property, `${k} must be an integer between ${min} and ${max}`);
    return n;
  };
  const offset = int('offset', 0, 0, 0xffff);
  const bits = register === 'CoilRegister' || register === 'DiscreteInputRegister';
  const limit = int('limit', 1, 1, bits ? 64 : 125);
  const scaleRaw = configData['scale'] ?? 1;
  const scale = typeof scaleRaw === 'string' ? Number(scaleRaw) : scaleRaw;
  if (typeof scale !== 'number' || !Number.isFinite(scale) || scale === 0) invalid(property, 'scale must be a non-zero number');
  const dataType = configData['dataType'];
  if (dataType !== undefined && (typeof dataType !== 'string' || !(DATA_TYPES as readonly string[]).includes(dataType))) invalid(property, `dataType must be one of ${DATA_TYPES.join(', ')}`);
  const width = dataType === undefined ? undefined : widthOf(dataType as DataType);
  if (width !== undefined && !bits && width !== limit) invalid(property, `dataType ${String(dataType)} takes ${width} registers, but limit is ${limit}`);
  return { register: register as RegisterType, offset, limit, scale, isSwap: configData['isSwap'] === true, isRegisterSwap: configData['isRegisterSwap'] === true, dataType: dataType as DataType | undefined };
}

function widthOf(t: DataType): number {
  return t.endsWith('16') ? 1 : t.endsWith('32') ? 2 : 4;
}

/** The data type raw registers are read as when the visitor does not say. */
function defaultDataType(type: PropertyType, limit: number): DataType | 'string' | 'boolean' {
  if (type === 'STRING' || type === 'BYTES') return 'string';
  if (type === 'BOOLEAN') return 'boolean';
  if (type === 'FLOAT' || type === 'DOUBLE') return limit === 4 ? 'float64' : limit === 2 ? 'float32' : 'uint16';
  return limit >= 4 ? 'uint64' : limit === 2 ? 'uint32' : 'uint16';
}

/** Reverses register order and/or swaps bytes within registers (both are their own inverse). */
export function rearrange(raw: Buffer, v: Pick<ModbusVisitor, 'isSwap' | 'isRegisterSwap'>): Buffer {
  const out = Buffer.from(raw);
  if (v.isRegisterSwap) {
    const regs = out.length / 2;
    for (let i = 0; i < regs / 2; i++) {
      const a = out.readUInt16BE(i * 2);
      out.writeUInt16BE(out.readUInt16BE((regs - 1 - i) * 2), i * 2);
      out.writeUInt16BE(a, (regs - 1 - i) * 2);
    }
  }
  if (v.isSwap) out.swap16();
  return out;
}

/** Rounds away float noise (21.500000000000004 → 21.5) without losing real digits. */
function tidy(n: number): string {
  return String(Number(n.toPrecision(12)));
}

function readNumber(b: Buffer, t: DataType): number | bigint {
  switch (t) {
    case 'uint16':
      return b.readUInt16BE(0);
    case 'int16':
      return b.readInt16BE(0);
    case 'uint32':
      return b.readUInt32BE(0);
    case 'int32':
      return b.readInt32BE(0);
    case 'uint64':
      return b.readBigUInt64BE(0);
    case 'int64':
      return b.readBigInt64BE(0);
    case 'float32':
      return b.readFloatBE(0);
    case 'float64':
      return b.readDoubleBE(0);
  }
}

/** A property value from register bytes (`limit` × 2 bytes, as the device sent them). */
export function registersToValue(raw: Buffer, v: ModbusVisitor, type: PropertyType): string {
  const b = rearrange(raw, v);
  const t = v.dataType ?? defaultDataType(type, v.limit);
  if (t === 'string') return b.toString('latin1').replace(/\0+$/, '');
  if (t === 'boolean') return String(b.some((x) => x !== 0));
  // Integers wider than the register count allows are read from what there is.
  const width = widthOf(t) * 2;
  const slice = b.length >= width ? b.subarray(0, width) : Buffer.concat([Buffer.alloc(width - b.length), b]);
  const n = readNumber(slice, t);
  if (type === 'BOOLEAN') return String(n !== 0 && n !== 0n);
  if (type === 'INT') {
    if (typeof n === 'bigint' && v.scale === 1) return n.toString();
    return String(Math.trunc(Number(n) * v.scale));
  }
  return tidy(Number(n) * v.scale);
}

/** A property value from bits (first bit = the coil or input at `offset`). */
export function bitsToValue(bits: readonly boolean[], type: PropertyType): string {
  if (type === 'BOOLEAN' || bits.length === 1) return type === 'BOOLEAN' ? String(bits[0] === true) : bits[0] === true ? '1' : '0';
  let n = 0n;
  bits.forEach((b, i) => {
    if (b) n |= 1n << BigInt(i);
  });
  return n.toString();
}

/** Unpacks `count` bits, LSB of the first byte first (spec §6.1). */
export function unpackBits(data: Buffer, count: number): boolean[] {
  return Array.from({ length: count }, (_, i) => ((data[i >> 3]! >> (i & 7)) & 1) === 1);
}

function bad(property: string, value: string, why: string): never {
  throw new MapperError('MAPPER_VALUE_INVALID', `property "${property}": cannot write ${JSON.stringify(value)}: ${why}`);
}

/**
 * Register bytes for a value (the reverse of {@link registersToValue}): divided by the scale,
 * rounded for integer data types, range-checked for the width.
 * @throws {MapperError} `MAPPER_VALUE_INVALID`
 */
export function valueToRegisters(property: string, value: string, v: ModbusVisitor, type: PropertyType): Buffer {
  const t = v.dataType ?? defaultDataType(type, v.limit);
  const out = Buffer.alloc(v.limit * 2);
  if (t === 'string') {
    const bytes = Buffer.from(value, 'latin1');
    if (bytes.length > out.length) bad(property, value, `longer than the ${out.length} bytes of ${v.limit} registers`);
    bytes.copy(out);
    return rearrange(out, v);
  }
  if (t === 'boolean') {
    const on = parseBoolean(value);
    if (on === undefined) bad(property, value, 'not a boolean');
    out.writeUInt16BE(on ? 1 : 0, out.length - 2);
    return rearrange(out, v);
  }
  const num = type === 'BOOLEAN' ? (parseBoolean(value) === true ? 1 : parseBoolean(value) === false ? 0 : NaN) : Number(value);
  if (!Number.isFinite(num)) bad(property, value, 'not a number');
  const scaled = num / v.scale;
  const width = widthOf(t) * 2;
  const b = Buffer.alloc(width);
  if (t === 'float32') b.writeFloatBE(scaled);
  else if (t === 'float64') b.writeDoubleBE(scaled);
  else {
    const n = Math.round(scaled);
    const signed = t.startsWith('int');
    const bitsWide = widthOf(t) * 16;
    const min = signed ? -(2 ** (bitsWide - 1)) : 0;
    const max = signed ? 2 ** (bitsWide - 1) - 1 : 2 ** bitsWide - 1;
    if (n < min || n > max) bad(property, value, `${n} after scale ${v.scale} does not fit a ${t}`);
    if (t === 'uint16') b.writeUInt16BE(n);
    else if (t === 'int16') b.writeInt16BE(n);
    else if (t === 'uint32') b.writeUInt32BE(n);
    else if (t === 'int32') b.writeInt32BE(n);
    else if (t === 'uint64') b.writeBigUInt64BE(BigInt(n));
    else b.writeBigInt64BE(BigInt(n));
  }
  // A value narrower than the registers sits in the last ones (the low-order words).
  b.copy(out, Math.max(0, out.length - width), Math.max(0, width - out.length));
  return rearrange(out, v);
}

/**
 * Bits for a value written to coils: a boolean for one coil, an integer's bits (LSB first) for several.
 * @throws {MapperError} `MAPPER_VALUE_INVALID`
 */
export function valueToBits(property: string, value: string, limit: number): boolean[] {
  const asBool = parseBoolean(value);
  if (limit === 1) {
    if (asBool === undefined) bad(property, value, 'not a boolean (true/false or 1/0)');
    return [asBool];
  }
  if (!/^\d+$/.test(value)) bad(property, value, `not an unsigned integer for ${limit} coils`);
  const n = BigInt(value);
  if (n >= 1n << BigInt(limit)) bad(property, value, `does not fit ${limit} coils`);
  return Array.from({ length: limit }, (_, i) => ((n >> BigInt(i)) & 1n) === 1n);
}
