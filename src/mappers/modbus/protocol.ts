/**
 * Modbus application protocol (Modbus Application Protocol Specification V1.1b3) and its two
 * framings: MBAP for Modbus TCP (Messaging on TCP/IP Implementation Guide V1.0b) and RTU for serial
 * lines (Modbus over Serial Line V1.02), with its CRC. Pure: bytes in, bytes out; every response is
 * checked against the request it answers.
 */
import { MapperError } from '../lib/errors.ts';

/** The function codes kedge uses. */
export const FC = {
  READ_COILS: 0x01,
  READ_DISCRETE_INPUTS: 0x02,
  READ_HOLDING_REGISTERS: 0x03,
  READ_INPUT_REGISTERS: 0x04,
  WRITE_SINGLE_COIL: 0x05,
  WRITE_SINGLE_REGISTER: 0x06,
  WRITE_MULTIPLE_COILS: 0x0f,
  WRITE_MULTIPLE_REGISTERS: 0x10,
} as const;

/** Exception codes (spec §7), for messages. */
const EXCEPTIONS: Readonly<Record<number, string>> = {
  1: 'illegal function',
  2: 'illegal data address',
  3: 'illegal data value',
  4: 'server device failure',
  5: 'acknowledge',
  6: 'server device busy',
  8: 'memory parity error',
  10: 'gateway path unavailable',
  11: 'gateway target device failed to respond',
};

/** Quantity limits per request (spec §6.1–6.4, §6.11–6.12). */
export const MAX_READ_BITS = 2000;
export const MAX_READ_REGISTERS = 125;
export const MAX_WRITE_BITS = 1968;
export const MAX_WRITE_REGISTERS = 123;

/** A request PDU (function code + data) and what a valid answer to it looks like. */
export interface Request {
  readonly pdu: Buffer;
  readonly fc: number;
  /** Bytes of the response PDU when it is not an exception. */
  readonly responseLength: number;
}

function u16(...values: number[]): Buffer {
  const b = Buffer.alloc(values.length * 2);
  values.forEach((v, i) => b.writeUInt16BE(v, i * 2));
  return b;
}

function checkRange(what: string, v: number, min: number, max: number): void {
  if (!Number.isInteger(v) || v < min || v > max) throw new MapperError('MAPPER_CONFIG_INVALID', `${what} must be an integer between ${min} and ${max}, not ${v}`);
}

/** FC 1–4: read `quantity` bits or registers from `address`. */
export function readRequest(fc: 1 | 2 | 3 | 4, address: number, quantity: number): Request {
  const bits = fc === FC.READ_COILS || fc === FC.READ_DISCRETE_INPUTS;
  checkRange('offset', address, 0, 0xffff);
  checkRange('limit', quantity, 1, bits ? MAX_READ_BITS : MAX_READ_REGISTERS);
  if (address + quantity > 0x10000) throw new MapperError('MAPPER_CONFIG_INVALID', `offset ${address} + limit ${quantity} goes past address 65535`);
  const byteCount = bits ? Math.ceil(quantity / 8) : quantity * 2;
  return { pdu: Buffer.concat([Buffer.from([fc]), u16(address, quantity)]), fc, responseLength: 2 + byteCount };
}

/** FC 5: one coil on or off. */
export function writeCoilRequest(address: number, on: boolean): Request {
  checkRange('offset', address, 0, 0xffff);
  return { pdu: Buffer.concat([Buffer.from([FC.WRITE_SINGLE_COIL]), u16(address, on ? 0xff00 : 0x0000)]), fc: FC.WRITE_SINGLE_COIL, responseLength: 5 };
}

/** FC 6: one register. */
export function writeRegisterRequest(address: number, value: number): Request {
  checkRange('offset', address, 0, 0xffff);
  checkRange('register value', value, 0, 0xffff);
  return { pdu: Buffer.concat([Buffer.from([FC.WRITE_SINGLE_REGISTER]), u16(address, value)]), fc: FC.WRITE_SINGLE_REGISTER, responseLength: 5 };
}

/** FC 15: several coils, first bit = first coil. */
export function writeCoilsRequest(address: number, bits: readonly boolean[]): Request {
  checkRange('offset', address, 0, 0xffff);
  checkRange('limit', bits.length, 1, MAX_WRITE_BITS);
  const bytes = Buffer.alloc(Math.ceil(bits.length / 8));
  bits.forEach((b, i) => {
    if (b) bytes[i >> 3]! |= 1 << (i & 7);
  });
  return { pdu: Buffer.concat([Buffer.from([FC.WRITE_MULTIPLE_COILS]), u16(address, bits.length), Buffer.from([bytes.length]), bytes]), fc: FC.WRITE_MULTIPLE_COILS, responseLength: 5 };
}

/** FC 16: several registers (`data` is 2 bytes per register, big-endian). */
export function writeRegistersRequest(address: number, data: Buffer): Request {
  checkRange('offset', address, 0, 0xffff);
  const quantity = data.length / 2;
  checkRange('limit', quantity, 1, MAX_WRITE_REGISTERS);
  return { pdu: Buffer.concat([Buffer.from([FC.WRITE_MULTIPLE_REGISTERS]), u16(address, quantity), Buffer.from([data.length]), data]), fc: FC.WRITE_MULTIPLE_REGISTERS, responseLength: 5 };
}

/**
 * Checks a response PDU against its request and returns its data: for reads, the bytes after the
 * byte count (bits packed LSB first, or registers big-endian); for writes, the echo.
 * @throws {MapperError} `MAPPER_DEVICE_ERROR` for an exception response, `MAPPER_MALFORMED_RESPONSE`
 *   for anything that does not answer the request
 */
export function parseResponse(req: Request, pdu: Buffer): Buffer {
  if (pdu.length < 2) throw new MapperError('MAPPER_MALFORMED_RESPONSE', `response of ${pdu.length} bytes is too short`);
  const fc = pdu[0]!;
  if (fc === (req.fc | 0x80)) {
    const code = pdu[1]!;
    throw new MapperError('MAPPER_DEVICE_ERROR', `the device answered function ${req.fc} with exception ${code} (${EXCEPTIONS[code] ?? 'unknown'})`);
  }
  if (fc !== req.fc) throw new MapperError('MAPPER_MALFORMED_RESPONSE', `response to function ${req.fc} has function ${fc}`);
  if (pdu.length !== req.responseLength) throw new MapperError('MAPPER_MALFORMED_RESPONSE', `response to function ${req.fc} has ${pdu.length} bytes, expected ${req.responseLength}`);
  if (fc <= FC.READ_INPUT_REGISTERS) {
    if (pdu[1] !== pdu.length - 2) throw new MapperError('MAPPER_MALFORMED_RESPONSE', `byte count ${pdu[1]!} does not match the ${pdu.length - 2} bytes that follow`);
    return pdu.subarray(2);
  }
  // Write responses echo the address (and value or quantity) of the request.
  if (!pdu.subarray(1, 5).equals(req.pdu.subarray(1, 5))) throw new MapperError('MAPPER_MALFORMED_RESPONSE', `response to function ${req.fc} does not echo the request`);
  return pdu.subarray(1);
}

// ---------------------------------------------------------------------------------------------
// MBAP (Modbus TCP): transaction id, protocol id 0, length, unit id, then the PDU.

/** Bytes of the MBAP header. */
export const MBAP_HEADER = 7;

/** Wraps a PDU in an MBAP header. */
export function encodeMbap(transactionId: number, unitId: number, pdu: Buffer): Buffer {
  const h = Buffer.alloc(MBAP_HEADER);
  h.writeUInt16BE(transactionId & 0xffff, 0);
  h.writeUInt16BE(0, 2);
  h.writeUInt16BE(pdu.length + 1, 4);
  h.writeUInt8(unitId, 6);
  return Buffer.concat([h, pdu]);
}

/** One MBAP frame cut from a stream. */
export interface MbapFrame {
  readonly transactionId: number;
  readonly unitId: number;
  readonly pdu: Buffer;
}

/**
 * Cuts MBAP frames from a TCP byte stream. The length field bounds each frame, so partial and
 * coalesced reads are both handled.
 * @throws {MapperError} `MAPPER_MALFORMED_RESPONSE` for a protocol id other than 0 or an impossible length (the stream cannot be resynchronised)
 */
export class MbapDecoder {
  #buf: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): MbapFrame[] {
    this.#buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk]);
    const out: MbapFrame[] = [];
    while (this.#buf.length >= MBAP_HEADER) {
      const protocol = this.#buf.readUInt16BE(2);
      const length = this.#buf.readUInt16BE(4);
      if (protocol !== 0 || length < 2 || length > 254) throw new MapperError('MAPPER_MALFORMED_RESPONSE', `not a Modbus TCP frame (protocol ${protocol}, length ${length})`);
      if (this.#buf.length < 6 + length) break;
      out.push({ transactionId: this.#buf.readUInt16BE(0), unitId: this.#buf[6]!, pdu: Buffer.from(this.#buf.subarray(MBAP_HEADER, 6 + length)) });
      this.#buf = this.#buf.subarray(6 + length);
    }
    return out;
  }
}

// ---------------------------------------------------------------------------------------------
// RTU (serial): unit id, PDU, CRC-16/MODBUS (little-endian).

const CRC_TABLE = (() => {
  const t = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xa001 : c >>> 1;
    t[i] = c;
  }
  return t;
})();

/** CRC-16/MODBUS (poly 0xA001 reflected, init 0xFFFF). */
export function crc16(data: Buffer): number {
  let crc = 0xffff;
  for (const b of data) crc = (crc >>> 8) ^ CRC_TABLE[(crc ^ b) & 0xff]!;
  return crc;
}

/** An RTU frame: unit id, PDU, CRC low byte first. */
export function encodeRtu(unitId: number, pdu: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from([unitId]), pdu]);
  const crc = Buffer.alloc(2);
  crc.writeUInt16LE(crc16(body), 0);
  return Buffer.concat([body, crc]);
}

/**
 * The length of the RTU response frame that starts `buf`, once enough of it has arrived to tell
 * (RTU has no length field: a master knows it from the function code), or undefined.
 */
export function rtuFrameLength(buf: Buffer, req: Request): number | undefined {
  if (buf.length < 2) return undefined;
  const fc = buf[1]!;
  if (fc & 0x80) return 5;
  if (fc >= FC.READ_COILS && fc <= FC.READ_INPUT_REGISTERS) return buf.length < 3 ? undefined : 3 + buf[2]! + 2;
  if (fc === FC.WRITE_SINGLE_COIL || fc === FC.WRITE_SINGLE_REGISTER || fc === FC.WRITE_MULTIPLE_COILS || fc === FC.WRITE_MULTIPLE_REGISTERS) return 8;
  // A function we did not ask for: assume the size of the expected answer, then the checks fail it.
  return 1 + req.responseLength + 2;
}

/**
 * Checks an RTU frame (CRC, unit id) and returns its PDU.
 * @throws {MapperError} `MAPPER_MALFORMED_RESPONSE`
 */
export function decodeRtu(frame: Buffer, unitId: number): Buffer {
  const body = frame.subarray(0, frame.length - 2);
  if (frame.readUInt16LE(frame.length - 2) !== crc16(body)) throw new MapperError('MAPPER_MALFORMED_RESPONSE', 'RTU frame has a bad CRC (noise on the line, or a wrong baud rate or parity)');
  if (frame[0] !== unitId) throw new MapperError('MAPPER_MALFORMED_RESPONSE', `RTU frame from unit ${frame[0]!}, expected ${unitId}`);
  return Buffer.from(body.subarray(1));
}
