import { execFile } from 'node:child_process';
import { constants, openSync } from 'node:fs';
import { access } from 'node:fs/promises';
import { connect as netConnect, type Socket } from 'node:net';
import { ReadStream } from 'node:tty';
import { promisify } from 'node:util';
import { MapperError } from '../lib/errors.ts';
import { decodeRtu, encodeMbap, encodeRtu, MbapDecoder, parseResponse, rtuFrameLength, type Request } from './protocol.ts';

const execFileAsync = promisify(execFile);

/** Where a Modbus device is and how frames travel to it. */
export type ModbusTransport =
  /** Modbus TCP (MBAP framing), port 502 by default. */
  | { readonly kind: 'tcp'; readonly host: string; readonly port: number }
  /** RTU frames over a TCP connection (serial-to-Ethernet gateways in transparent mode). */
  | { readonly kind: 'rtu-over-tcp'; readonly host: string; readonly port: number }
  /** RTU on a serial line, opened as a file after `stty` set its line parameters. */
  | { readonly kind: 'rtu'; readonly path: string; readonly baudRate: number; readonly dataBits: 5 | 6 | 7 | 8; readonly parity: 'none' | 'even' | 'odd'; readonly stopBits: 1 | 2 };

/** Options of {@link ModbusClient.connect}. */
export interface ModbusClientOptions {
  /** The unit (slave) id requests are addressed to. @default 1 */
  readonly unitId?: number;
  /** How long a connect or a request may take. @default 3000 */
  readonly timeoutMs?: number;
}

/** Serial speeds `stty` accepts. */
export const BAUD_RATES = [1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400] as const;

interface Pending {
  readonly req: Request;
  readonly resolve: (data: Buffer) => void;
  readonly reject: (err: MapperError) => void;
  readonly transactionId: number;
}

/**
 * A Modbus master on one connection: one request at a time (most devices and every serial line
 * handle no more), each answered within the timeout or failed with `MAPPER_TIMEOUT`. A lost
 * connection fails the request in progress and every later one with `MAPPER_CLOSED`: the caller
 * connects again.
 */
export class ModbusClient {
  readonly #stream: Socket;
  readonly #transport: ModbusTransport;
  readonly #unitId: number;
  readonly #timeoutMs: number;
  readonly #mbap = new MbapDecoder();
  #rtu: Buffer = Buffer.alloc(0);
  #pending: Pending | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  #transactionId = 0;
  #closed: MapperError | undefined;
  /** When the line was last busy, for the RTU inter-frame silence. */
  #lastFrameAt = 0;

  private constructor(stream: Socket, transport: ModbusTransport, unitId: number, timeoutMs: number) {
    this.#stream = stream;
    this.#transport = transport;
    this.#unitId = unitId;
    this.#timeoutMs = timeoutMs;
    stream.on('data', (chunk: Buffer) => this.#onData(chunk));
    stream.on('error', (err) => this.#lose(new MapperError('MAPPER_DEVICE_UNREACHABLE', `connection to ${describe(transport)} failed: ${err.message}`, { cause: err })));
    stream.on('close', () => this.#lose(new MapperError('MAPPER_CLOSED', `connection to ${describe(transport)} closed`)));
  }

  /**
   * Connects to the device.
   * @throws {MapperError} `MAPPER_DEVICE_UNREACHABLE` (refused, no route, no such serial port),
   *   `MAPPER_TIMEOUT`, `MAPPER_CONFIG_INVALID` (line parameters the port does not take)
   */
  static async connect(transport: ModbusTransport, options: ModbusClientOptions = {}): Promise<ModbusClient> {
    const unitId = options.unitId ?? 1;
    const timeoutMs = options.timeoutMs ?? 3000;
    if (!Number.isInteger(unitId) || unitId < 0 || unitId > 255) throw new MapperError('MAPPER_CONFIG_INVALID', `slaveID must be between 0 and 255, not ${unitId}`);
    const stream = transport.kind === 'rtu' ? await openSerial(transport) : await openTcp(transport.host, transport.port, timeoutMs);
    return new ModbusClient(stream, transport, unitId, timeoutMs);
  }

  /** Why the connection ended, once it has. */
  get closed(): MapperError | undefined {
    return this.#closed;
  }

  /**
   * Sends a request and resolves with the response data (see `parseResponse`).
   * @throws {MapperError} `MAPPER_TIMEOUT`, `MAPPER_CLOSED`, `MAPPER_DEVICE_UNREACHABLE`,
   *   `MAPPER_DEVICE_ERROR` (a Modbus exception), `MAPPER_MALFORMED_RESPONSE`
   */
  request(req: Request): Promise<Buffer> {
    const run = this.#queue.then(() => this.#send(req));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /** Closes the connection; pending and later requests fail with `MAPPER_CLOSED`. */
  async close(): Promise<void> {
    this.#lose(new MapperError('MAPPER_CLOSED', `connection to ${describe(this.#transport)} closed by the mapper`));
    if (this.#stream.destroyed) return;
    const closed = new Promise<void>((resolve) => this.#stream.once('close', () => resolve()));
    this.#stream.destroy();
    await closed;
  }

  async #send(req: Request): Promise<Buffer> {
    if (this.#closed !== undefined) throw this.#closed;
    let frame: Buffer;
    const transactionId = (this.#transactionId = (this.#transactionId + 1) & 0xffff);
    if (this.#transport.kind === 'tcp') {
      frame = encodeMbap(transactionId, this.#unitId, req.pdu);
    } else {
      // A late answer to a timed-out request must not be read as this one's.
      this.#rtu = Buffer.alloc(0);
      if (this.#transport.kind === 'rtu') await this.#silence(this.#transport.baudRate);
      frame = encodeRtu(this.#unitId, req.pdu);
    }
    return new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending = undefined;
        reject(new MapperError('MAPPER_TIMEOUT', `no answer from unit ${this.#unitId} at ${describe(this.#transport)} within ${this.#timeoutMs} ms (function ${req.fc})`));
      }, this.#timeoutMs);
      this.#pending = {
        req,
        transactionId,
        resolve: (data) => {
          clearTimeout(timer);
          resolve(data);
        },
        reject: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      };
      this.#stream.write(frame);
    });
  }

  /** RTU frames are separated by at least 3.5 character times of silence (Modbus over Serial Line §2.5.1.1). */
  async #silence(baudRate: number): Promise<void> {
    const charMs = (11 * 1000) / baudRate;
    const gap = Math.max(2, Math.ceil(charMs * 3.5));
    const wait = this.#lastFrameAt + gap - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }

  #onData(chunk: Buffer): void {
    this.#lastFrameAt = performance.now();
    try {
      if (this.#transport.kind === 'tcp') {
        for (const f of this.#mbap.push(chunk)) {
          const p = this.#pending;
          // Answers to requests that timed out carry an older transaction id: dropped.
          if (p === undefined || f.transactionId !== p.transactionId) continue;
          this.#pending = undefined;
          if (f.unitId !== this.#unitId && this.#unitId !== 0) p.reject(new MapperError('MAPPER_MALFORMED_RESPONSE', `answer from unit ${f.unitId}, expected ${this.#unitId}`));
          else this.#settle(p, f.pdu);
        }
        return;
      }
      this.#rtu = this.#rtu.length === 0 ? chunk : Buffer.concat([this.#rtu, chunk]);
      const p = this.#pending;
      if (p === undefined) {
        this.#rtu = Buffer.alloc(0);
        return;
      }
      const length = rtuFrameLength(this.#rtu, p.req);
      if (length === undefined || this.#rtu.length < length) return;
      const frame = this.#rtu.subarray(0, length);
      this.#rtu = Buffer.alloc(0);
      this.#pending = undefined;
      this.#settle(p, decodeRtu(frame, this.#unitId));
    } catch (err) {
      const p = this.#pending;
      this.#pending = undefined;
      const e = err instanceof MapperError ? err : new MapperError('MAPPER_MALFORMED_RESPONSE', String(err), { cause: err });
      if (p !== undefined) p.reject(e);
      // A TCP stream that lost its framing cannot be trusted any more.
      if (this.#transport.kind === 'tcp') this.#stream.destroy();
    }
  }

  #settle(p: Pending, pdu: Buffer): void {
    try {
      p.resolve(parseResponse(p.req, pdu));
    } catch (err) {
      p.reject(err instanceof MapperError ? err : new MapperError('MAPPER_MALFORMED_RESPONSE', String(err), { cause: err }));
    }
  }

  #lose(err: MapperError): void {
    this.#closed ??= err;
    const p = this.#pending;
    this.#pending = undefined;
    p?.reject(this.#closed);
  }
}

/** `tcp://10.0.0.5:502`, `rtu:///dev/ttyUSB0`: for messages. */
export function describe(t: ModbusTransport): string {
  return t.kind === 'rtu' ? `rtu://${t.path}` : `${t.kind === 'tcp' ? 'tcp' : 'rtu-over-tcp'}://${t.host}:${t.port}`;
}

async function openTcp(host: string, port: number, timeoutMs: number): Promise<Socket> {
  return new Promise<Socket>((resolve, reject) => {
    const socket = netConnect({ host, port });
    socket.setNoDelay(true);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new MapperError('MAPPER_TIMEOUT', `connecting to ${host}:${port} took more than ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      // TCP keepalive notices a device that vanished without a FIN while the mapper waits between reads.
      socket.setKeepAlive(true, 10_000);
      resolve(socket);
    });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new MapperError('MAPPER_DEVICE_UNREACHABLE', `cannot connect to ${host}:${port}: ${err.code ?? err.message}`, { cause: err }));
    });
  });
}

/**
 * Opens a serial port for RTU: line parameters set with `stty` (the port keeps them), then the
 * device opened non-blocking and read through Node's TTY handle, which does not tie up a thread
 * per port the way blocking file reads would.
 */
async function openSerial(t: Extract<ModbusTransport, { kind: 'rtu' }>): Promise<Socket> {
  try {
    await access(t.path, constants.R_OK | constants.W_OK);
  } catch (err) {
    throw new MapperError('MAPPER_DEVICE_UNREACHABLE', `serial port ${t.path} cannot be opened: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { cause: err });
  }
  const parity = t.parity === 'none' ? ['-parenb'] : t.parity === 'even' ? ['parenb', '-parodd'] : ['parenb', 'parodd'];
  const args = ['-F', t.path, String(t.baudRate), `cs${t.dataBits}`, t.stopBits === 2 ? 'cstopb' : '-cstopb', ...parity, 'raw', '-echo', 'clocal', 'cread', '-crtscts', '-ixon', '-ixoff', 'min', '0', 'time', '0'];
  try {
    await execFileAsync('stty', args, { timeout: 5000 });
  } catch (err) {
    throw new MapperError('MAPPER_CONFIG_INVALID', `cannot set ${t.path} to ${t.baudRate} baud ${t.dataBits}${t.parity[0]!.toUpperCase()}${t.stopBits}: ${(err as { stderr?: string }).stderr?.trim() || String(err)}`, { cause: err });
  }
  let fd: number;
  try {
    fd = openSync(t.path, constants.O_RDWR | constants.O_NOCTTY | constants.O_NONBLOCK);
  } catch (err) {
    throw new MapperError('MAPPER_DEVICE_UNREACHABLE', `cannot open ${t.path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { cause: err });
  }
  // A TTY handle is a duplex stream: reads and writes on the one descriptor.
  return new ReadStream(fd);
}
