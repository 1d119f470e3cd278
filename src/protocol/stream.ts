import { isJsonObject } from '../api/object.ts';
import type { ErrorCode } from '../errors/codes.ts';
import { PlatformError } from '../errors/platform-error.ts';
import { ProtocolError } from './codec.ts';

/**
 * The stream tunnel: how `kubectl logs`, `exec` and `port-forward` reach pods on an edge node that
 * only ever dials out. Each edge keeps a second WebSocket to the hub's port, at {@link STREAM_PATH},
 * authenticated like the hub session by its node certificate alone; the cloud opens streams on it
 * and the node answers only for pods it runs. Binary frames carry many streams at once, each with
 * its own flow-control window, so a slow `kubectl logs -f` stalls only itself (KubeEdge's
 * CloudStream multiplexes the same way, minus the windows: kubeedge/kubeedge#3232).
 *
 * Every frame is `type (u8) | stream id (u32, big-endian) | payload`:
 *
 * | type | direction | payload |
 * |---|---|---|
 * | `open` 1 | cloud → edge | a {@link StreamRequest} as JSON |
 * | `ready` 2 | edge → cloud | none: the container was found and the stream runs |
 * | `data` 3 | both | `channel (u8) | bytes`; channels are Kubernetes' (0 stdin, 1 stdout, 2 stderr) |
 * | `eof` 4 | both | `channel (u8)`: no more data on that channel (stdin closed) |
 * | `resize` 5 | cloud → edge | `width (u16) | height (u16)` of the terminal |
 * | `window` 6 | both | `bytes (u32)`: the receiver consumed that much, the sender may send as much more |
 * | `end` 7 | edge → cloud | a {@link StreamResult} as JSON; the stream is over |
 * | `cancel` 8 | both | a reason (UTF-8); the stream is over (the client went away, or a violation) |
 *
 * A stream opens with `open` and is answered by `ready` or by an `end` carrying an error. Each
 * side may have at most {@link STREAM_WINDOW_BYTES} of `data` unacknowledged per stream; the
 * receiver returns credit with `window` as its consumer takes the bytes, never before.
 */
export const STREAM_PATH = '/v1/stream';
/** The WebSocket subprotocol of the tunnel (an RFC 6455 token); a later, incompatible frame format gets a new one. */
export const STREAM_SUBPROTOCOL = 'v1.stream.kedge.io';

/** Bytes of `data` in flight per stream and direction before the sender waits for `window`. */
export const STREAM_WINDOW_BYTES = 256 * 1024;
/** The largest `data` payload: big writes are split, so frames of different streams interleave. */
export const MAX_STREAM_CHUNK = 32 * 1024;
/** The largest JSON payload (`open`, `end`). */
export const MAX_STREAM_JSON = 64 * 1024;
/** The largest frame either side accepts. */
export const MAX_STREAM_FRAME_BYTES = 5 + 1 + MAX_STREAM_JSON;
/** Streams one node's tunnel carries at once; more are refused with `STREAM_LIMIT`. */
export const MAX_STREAMS_PER_TUNNEL = 64;

/** WebSocket close codes of the tunnel (private range). */
export const STREAM_CLOSE_REPLACED = 4101;
export const STREAM_CLOSE_PROTOCOL = 4102;

/** Kubernetes' remotecommand channel numbers, also used on the tunnel. */
export const CHANNEL_STDIN = 0;
export const CHANNEL_STDOUT = 1;
export const CHANNEL_STDERR = 2;
export type Channel = typeof CHANNEL_STDIN | typeof CHANNEL_STDOUT | typeof CHANNEL_STDERR;

export const FRAME_TYPES = { open: 1, ready: 2, data: 3, eof: 4, resize: 5, window: 6, end: 7, cancel: 8 } as const;
export type FrameType = keyof typeof FRAME_TYPES;
const TYPE_NAMES = new Map<number, FrameType>(Object.entries(FRAME_TYPES).map(([k, v]) => [v, k as FrameType]));

/** The pod a request is about, as the cloud sees it. The node refuses a pod whose uid it does not hold. */
export interface PodTarget {
  readonly namespace: string;
  readonly pod: string;
  readonly uid: string;
}

/** `kubectl logs`: the container's log, as the kubelet serves `/containerLogs`. */
export interface LogsRequest extends PodTarget {
  readonly kind: 'logs';
  readonly container: string;
  readonly follow: boolean;
  readonly previous: boolean;
  /** Prefix each line with its RFC 3339 time (nanoseconds). */
  readonly timestamps: boolean;
  /** Only the last N lines. */
  readonly tailLines?: number;
  /** Only lines at or after this time (ms since the epoch). */
  readonly sinceMs?: number;
  /** Stop after this many bytes. */
  readonly limitBytes?: number;
}

/** `kubectl exec`: a command in a running container. */
export interface ExecRequest extends PodTarget {
  readonly kind: 'exec';
  readonly container: string;
  readonly command: readonly string[];
  readonly stdin: boolean;
  readonly stdout: boolean;
  readonly stderr: boolean;
  readonly tty: boolean;
}

/** `kubectl port-forward`: one TCP connection to a port of the pod. */
export interface PortForwardRequest extends PodTarget {
  readonly kind: 'portforward';
  readonly port: number;
}

export type StreamRequest = LogsRequest | ExecRequest | PortForwardRequest;

/** Codes a stream may end with; each is documented in docs/errors.md. */
export const STREAM_ERROR_CODES = [
  'STREAM_POD_NOT_FOUND',
  'STREAM_CONTAINER_NOT_FOUND',
  'STREAM_UNSUPPORTED',
  'STREAM_PORT_UNREACHABLE',
  'STREAM_LIMIT',
  'STREAM_FAILED',
  'STREAM_NODE_UNAVAILABLE',
  'STREAM_TIMEOUT',
  'STREAM_CLOSED',
] as const satisfies readonly ErrorCode[];
export type StreamErrorCode = (typeof STREAM_ERROR_CODES)[number];

/** How a stream ended: an exit code (exec), an error, or neither (logs and port-forward done). */
export interface StreamResult {
  readonly exitCode?: number;
  readonly error?: { readonly code: StreamErrorCode; readonly message: string };
}

/** A stream that failed, on either side: what the API turns into a Status, or an exec error channel message. */
export class StreamError extends PlatformError {
  declare readonly code: StreamErrorCode;

  constructor(code: StreamErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** One decoded frame. */
export type StreamFrame =
  | { readonly type: 'open'; readonly id: number; readonly request: StreamRequest }
  | { readonly type: 'ready'; readonly id: number }
  | { readonly type: 'data'; readonly id: number; readonly channel: Channel; readonly data: Buffer }
  | { readonly type: 'eof'; readonly id: number; readonly channel: Channel }
  | { readonly type: 'resize'; readonly id: number; readonly width: number; readonly height: number }
  | { readonly type: 'window'; readonly id: number; readonly bytes: number }
  | { readonly type: 'end'; readonly id: number; readonly result: StreamResult }
  | { readonly type: 'cancel'; readonly id: number; readonly reason: string };

const MAX_REASON = 1024;
const MAX_COMMAND_ARGS = 1024;
const MAX_NAME = 253;

function fail(message: string): never {
  throw new ProtocolError('PROTOCOL_MALFORMED', message);
}

function header(type: FrameType, id: number, payloadBytes: number): Buffer {
  const b = Buffer.allocUnsafe(5 + payloadBytes);
  b[0] = FRAME_TYPES[type];
  b.writeUInt32BE(id, 1);
  return b;
}

/** Encodes a frame for the wire. */
export function encodeStreamFrame(f: StreamFrame): Buffer {
  switch (f.type) {
    case 'open':
    case 'end': {
      const json = Buffer.from(JSON.stringify(f.type === 'open' ? f.request : f.result));
      const b = header(f.type, f.id, json.length);
      json.copy(b, 5);
      return b;
    }
    case 'ready':
      return header('ready', f.id, 0);
    case 'data': {
      const b = header('data', f.id, 1 + f.data.length);
      b[5] = f.channel;
      f.data.copy(b, 6);
      return b;
    }
    case 'eof': {
      const b = header('eof', f.id, 1);
      b[5] = f.channel;
      return b;
    }
    case 'resize': {
      const b = header('resize', f.id, 4);
      b.writeUInt16BE(f.width, 5);
      b.writeUInt16BE(f.height, 7);
      return b;
    }
    case 'window': {
      const b = header('window', f.id, 4);
      b.writeUInt32BE(f.bytes, 5);
      return b;
    }
    case 'cancel': {
      const reason = Buffer.from(f.reason.slice(0, MAX_REASON));
      const b = header('cancel', f.id, reason.length);
      reason.copy(b, 5);
      return b;
    }
  }
}

/**
 * Decodes and validates one frame. The `data` payload is a view into `frame`, not a copy.
 * @throws ProtocolError `PROTOCOL_FRAME_TOO_LARGE` or `PROTOCOL_MALFORMED`, naming what is wrong
 */
export function decodeStreamFrame(frame: Buffer): StreamFrame {
  if (frame.length > MAX_STREAM_FRAME_BYTES) throw new ProtocolError('PROTOCOL_FRAME_TOO_LARGE', `stream frame of ${frame.length} bytes exceeds the limit of ${MAX_STREAM_FRAME_BYTES}`);
  if (frame.length < 5) fail(`stream frame of ${frame.length} bytes is shorter than its header`);
  const type = TYPE_NAMES.get(frame[0]!);
  if (type === undefined) fail(`unknown stream frame type ${frame[0]!}`);
  const id = frame.readUInt32BE(1);
  if (id === 0) fail('stream id 0 is reserved');
  const payload = frame.subarray(5);
  const size = (n: number): void => {
    if (payload.length !== n) fail(`${type} frame needs a payload of ${n} bytes, got ${payload.length}`);
  };
  switch (type) {
    case 'open':
      return { type, id, request: decodeStreamRequest(json(payload, type)) };
    case 'ready':
      size(0);
      return { type, id };
    case 'data':
      if (payload.length < 2) fail('data frame carries no data');
      if (payload.length - 1 > MAX_STREAM_CHUNK) fail(`data frame of ${payload.length - 1} bytes exceeds ${MAX_STREAM_CHUNK}`);
      return { type, id, channel: channel(payload[0]!), data: payload.subarray(1) };
    case 'eof':
      size(1);
      return { type, id, channel: channel(payload[0]!) };
    case 'resize':
      size(4);
      return { type, id, width: payload.readUInt16BE(0), height: payload.readUInt16BE(2) };
    case 'window': {
      size(4);
      const bytes = payload.readUInt32BE(0);
      if (bytes === 0 || bytes > 2 ** 31) fail(`window increment ${bytes} is out of range`);
      return { type, id, bytes };
    }
    case 'end':
      return { type, id, result: decodeStreamResult(json(payload, type)) };
    case 'cancel':
      if (payload.length > MAX_REASON * 4) fail('cancel reason is too long');
      return { type, id, reason: payload.toString('utf8') };
  }
}

function channel(n: number): Channel {
  if (n !== CHANNEL_STDIN && n !== CHANNEL_STDOUT && n !== CHANNEL_STDERR) fail(`unknown channel ${n}`);
  return n;
}

function json(payload: Buffer, type: FrameType): unknown {
  if (payload.length > MAX_STREAM_JSON) fail(`${type} payload exceeds ${MAX_STREAM_JSON} bytes`);
  try {
    return JSON.parse(payload.toString('utf8'));
  } catch (err) {
    throw new ProtocolError('PROTOCOL_MALFORMED', `${type} payload is not JSON`, { cause: err });
  }
}

function name(v: unknown, what: string, max = MAX_NAME): string {
  if (typeof v !== 'string' || v.length === 0 || v.length > max || !/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(v)) fail(`${what} must be a DNS name of at most ${max} characters`);
  return v;
}

function bool(v: unknown, what: string): boolean {
  if (typeof v !== 'boolean') fail(`${what} must be a boolean`);
  return v;
}

function optInt(v: unknown, what: string, min: number, max: number): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) fail(`${what} must be an integer between ${min} and ${max}`);
  return v;
}

/**
 * Validates a {@link StreamRequest} (already parsed JSON).
 * @throws ProtocolError `PROTOCOL_MALFORMED` naming the field
 */
export function decodeStreamRequest(v: unknown): StreamRequest {
  if (!isJsonObject(v)) fail('stream request must be an object');
  const target: PodTarget = {
    namespace: name(v['namespace'], 'namespace', 63),
    pod: name(v['pod'], 'pod'),
    uid: typeof v['uid'] === 'string' && v['uid'].length > 0 && v['uid'].length <= 64 ? v['uid'] : fail('uid must be a non-empty string of at most 64 characters'),
  };
  switch (v['kind']) {
    case 'logs': {
      const tailLines = optInt(v['tailLines'], 'tailLines', 0, Number.MAX_SAFE_INTEGER);
      const sinceMs = optInt(v['sinceMs'], 'sinceMs', 0, Number.MAX_SAFE_INTEGER);
      const limitBytes = optInt(v['limitBytes'], 'limitBytes', 1, Number.MAX_SAFE_INTEGER);
      return {
        kind: 'logs',
        ...target,
        container: name(v['container'], 'container', 63),
        follow: bool(v['follow'], 'follow'),
        previous: bool(v['previous'], 'previous'),
        timestamps: bool(v['timestamps'], 'timestamps'),
        ...(tailLines !== undefined ? { tailLines } : {}),
        ...(sinceMs !== undefined ? { sinceMs } : {}),
        ...(limitBytes !== undefined ? { limitBytes } : {}),
      };
    }
    case 'exec': {
      const command = v['command'];
      if (!Array.isArray(command) || command.length === 0 || command.length > MAX_COMMAND_ARGS || !command.every((a) => typeof a === 'string')) {
        fail(`command must be a list of 1 to ${MAX_COMMAND_ARGS} strings`);
      }
      const r: ExecRequest = {
        kind: 'exec',
        ...target,
        container: name(v['container'], 'container', 63),
        command,
        stdin: bool(v['stdin'], 'stdin'),
        stdout: bool(v['stdout'], 'stdout'),
        stderr: bool(v['stderr'], 'stderr'),
        tty: bool(v['tty'], 'tty'),
      };
      if (!r.stdin && !r.stdout && !r.stderr) fail('exec needs at least one of stdin, stdout and stderr');
      return r;
    }
    case 'portforward':
      return { kind: 'portforward', ...target, port: optInt(v['port'], 'port', 1, 65535) ?? fail('port is required') };
    default:
      return fail(`stream request kind ${JSON.stringify(v['kind'])} is not one of logs, exec, portforward`);
  }
}

/**
 * Validates a {@link StreamResult} (already parsed JSON).
 * @throws ProtocolError `PROTOCOL_MALFORMED` naming the field
 */
export function decodeStreamResult(v: unknown): StreamResult {
  if (!isJsonObject(v)) fail('stream result must be an object');
  const exitCode = optInt(v['exitCode'], 'exitCode', 0, 255);
  const e = v['error'];
  if (e === undefined) return exitCode !== undefined ? { exitCode } : {};
  if (!isJsonObject(e) || typeof e['code'] !== 'string' || !(STREAM_ERROR_CODES as readonly string[]).includes(e['code'])) fail(`error.code must be one of ${STREAM_ERROR_CODES.join(', ')}`);
  if (typeof e['message'] !== 'string' || e['message'].length > 4096) fail('error.message must be a string of at most 4096 characters');
  return { ...(exitCode !== undefined ? { exitCode } : {}), error: { code: e['code'] as StreamErrorCode, message: e['message'] } };
}
