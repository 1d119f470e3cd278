import { isJsonObject } from '../../api/object.ts';
import type { DeviceConnection, DeviceDriver, MapperDevice, MapperProperty } from '../lib/driver.ts';
import { MapperError } from '../lib/errors.ts';
import { BAUD_RATES, ModbusClient, type ModbusTransport } from './client.ts';
import { FC, readRequest, writeCoilRequest, writeCoilsRequest, writeRegisterRequest, writeRegistersRequest } from './protocol.ts';
import { bitsToValue, parseVisitor, registersToValue, unpackBits, valueToBits, valueToRegisters, type ModbusVisitor } from './values.ts';

/** A device's `protocol.configData`, checked. */
export interface ModbusDeviceConfig {
  readonly transport: ModbusTransport;
  readonly unitId: number;
  readonly timeoutMs: number;
}

function invalid(device: string, message: string): never {
  throw new MapperError('MAPPER_CONFIG_INVALID', `device ${device}: protocol.configData.${message}`);
}

/**
 * Parses a Modbus device's configData, in the field names of KubeEdge's Modbus mapper:
 * TCP `{ip, port, slaveID}`; RTU `{serialPort, baudRate, dataBits, parity, stopBits, slaveID}`;
 * RTU framing over TCP (a serial gateway) with `framing: rtu` next to `ip`/`port`. The v1alpha2
 * nesting (`tcp: {ip, port}`, `com: {serialPort, ...}`) is accepted too; `timeout` is milliseconds.
 * @throws {MapperError} `MAPPER_CONFIG_INVALID` naming the field
 */
export function parseDeviceConfig(device: string, config: Readonly<Record<string, unknown>>): ModbusDeviceConfig {
  const tcp = isJsonObject(config['tcp']) ? config['tcp'] : config;
  const com = isJsonObject(config['com']) ? config['com'] : config;
  const num = (src: Record<string, unknown>, k: string, fallback: number | undefined, min: number, max: number): number => {
    const raw = src[k] ?? fallback;
    const n = typeof raw === 'string' && /^\d+$/.test(raw) ? Number(raw) : raw;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) invalid(device, `${k} must be an integer between ${min} and ${max}`);
    return n;
  };
  const unitId = num(config, ['slaveID', 'slaveId', 'unitID', 'unitId'].find((k) => config[k] !== undefined) ?? 'slaveID', 1, 0, 255);
  const timeoutMs = num(config, 'timeout', 3000, 10, 600_000);
  const serialPort = com['serialPort'];
  if (typeof serialPort === 'string' && serialPort !== '') {
    const baudRate = num(com, 'baudRate', 9600, 50, 4_000_000);
    if (!(BAUD_RATES as readonly number[]).includes(baudRate)) invalid(device, `baudRate must be one of ${BAUD_RATES.join(', ')}`);
    const dataBits = num(com, 'dataBits', 8, 5, 8) as 5 | 6 | 7 | 8;
    const stopBits = num(com, 'stopBits', 1, 1, 2) as 1 | 2;
    const p = typeof com['parity'] === 'string' ? com['parity'].toLowerCase() : com['parity'] === undefined ? 'none' : '?';
    const parity = p === 'none' || p === 'n' ? 'none' : p === 'even' || p === 'e' ? 'even' : p === 'odd' || p === 'o' ? 'odd' : invalid(device, 'parity must be none, even or odd');
    return { transport: { kind: 'rtu', path: serialPort, baudRate, dataBits, parity, stopBits }, unitId, timeoutMs };
  }
  const host = tcp['ip'] ?? tcp['host'];
  if (typeof host !== 'string' || host === '') invalid(device, 'ip (Modbus TCP) or serialPort (Modbus RTU) is required');
  const port = num(tcp, 'port', 502, 1, 65535);
  const framing = config['framing'] ?? 'tcp';
  if (framing !== 'tcp' && framing !== 'rtu') invalid(device, 'framing must be tcp (MBAP) or rtu (RTU frames over TCP)');
  return { transport: { kind: framing === 'rtu' ? 'rtu-over-tcp' : 'tcp', host, port }, unitId, timeoutMs };
}

/** The register table's read function code. */
const READ_FC = { CoilRegister: FC.READ_COILS, DiscreteInputRegister: FC.READ_DISCRETE_INPUTS, HoldingRegister: FC.READ_HOLDING_REGISTERS, InputRegister: FC.READ_INPUT_REGISTERS } as const;

/** The Modbus driver: TCP and RTU (serial or over TCP), the four register tables. */
export class ModbusDriver implements DeviceDriver {
  readonly protocol = 'modbus';

  async connect(device: MapperDevice): Promise<DeviceConnection> {
    const config = parseDeviceConfig(device.id, device.protocol.configData);
    const visitors = new Map<string, ModbusVisitor>();
    // Every visitor is checked up front: a typo shows at once, not at the first read of that property.
    for (const p of device.properties) visitors.set(p.name, parseVisitor(p.name, p.visitors?.configData));
    const client = await ModbusClient.connect(config.transport, { unitId: config.unitId, timeoutMs: config.timeoutMs });
    return new ModbusConnection(client, visitors);
  }
}

class ModbusConnection implements DeviceConnection {
  readonly #client: ModbusClient;
  readonly #visitors: Map<string, ModbusVisitor>;

  constructor(client: ModbusClient, visitors: Map<string, ModbusVisitor>) {
    this.#client = client;
    this.#visitors = visitors;
  }

  #visitor(p: MapperProperty): ModbusVisitor {
    let v = this.#visitors.get(p.name);
    if (v === undefined) {
      v = parseVisitor(p.name, p.visitors?.configData);
      this.#visitors.set(p.name, v);
    }
    return v;
  }

  async read(p: MapperProperty): Promise<string> {
    const v = this.#visitor(p);
    const fc = READ_FC[v.register];
    const data = await this.#client.request(readRequest(fc, v.offset, v.limit));
    if (fc === FC.READ_COILS || fc === FC.READ_DISCRETE_INPUTS) return bitsToValue(unpackBits(data, v.limit), p.type);
    return registersToValue(data, v, p.type);
  }

  async write(p: MapperProperty, value: string): Promise<void> {
    const v = this.#visitor(p);
    if (p.accessMode === 'ReadOnly') throw new MapperError('MAPPER_NOT_WRITABLE', `property "${p.name}" is ReadOnly`);
    switch (v.register) {
      case 'CoilRegister': {
        const bits = valueToBits(p.name, value, v.limit);
        await this.#client.request(bits.length === 1 ? writeCoilRequest(v.offset, bits[0]!) : writeCoilsRequest(v.offset, bits));
        return;
      }
      case 'HoldingRegister': {
        const data = valueToRegisters(p.name, value, v, p.type);
        await this.#client.request(data.length === 2 ? writeRegisterRequest(v.offset, data.readUInt16BE(0)) : writeRegistersRequest(v.offset, data));
        return;
      }
      default:
        throw new MapperError('MAPPER_NOT_WRITABLE', `property "${p.name}" is in the ${v.register}, which Modbus cannot write`);
    }
  }

  async close(): Promise<void> {
    await this.#client.close();
  }
}
