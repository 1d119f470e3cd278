import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProtocolError } from './codec.ts';
import { decodeStreamFrame, encodeStreamFrame, FRAME_TYPES, MAX_STREAM_CHUNK, MAX_STREAM_FRAME_BYTES, type StreamFrame } from './stream.ts';

const TARGET = { namespace: 'default', pod: 'web-1', uid: '8c1d1b4e-1f3a-4a0e-9a55-0f4f0d2b7c11' };

const FRAMES: Record<string, StreamFrame> = {
  'open logs': { type: 'open', id: 1, request: { kind: 'logs', ...TARGET, container: 'app', follow: true, previous: false, timestamps: true, tailLines: 10, sinceMs: 1_700_000_000_000, limitBytes: 500 } },
  'open exec': { type: 'open', id: 2, request: { kind: 'exec', ...TARGET, container: 'app', command: ['sh', '-c', 'exit 3'], stdin: true, stdout: true, stderr: false, tty: true } },
  'open portforward': { type: 'open', id: 3, request: { kind: 'portforward', ...TARGET, port: 8080 } },
  ready: { type: 'ready', id: 4 },
  data: { type: 'data', id: 5, channel: 1, data: Buffer.from('hello\n') },
  eof: { type: 'eof', id: 6, channel: 0 },
  resize: { type: 'resize', id: 7, width: 120, height: 40 },
  window: { type: 'window', id: 8, bytes: 65536 },
  'end with exit code': { type: 'end', id: 9, result: { exitCode: 3 } },
  'end with error': { type: 'end', id: 10, result: { error: { code: 'STREAM_CONTAINER_NOT_FOUND', message: 'container "app" is waiting to start' } } },
  'end, nothing to say': { type: 'end', id: 11, result: {} },
  cancel: { type: 'cancel', id: 12, reason: 'client went away' },
};

for (const [name, frame] of Object.entries(FRAMES)) {
  test(`stream frame round trip: ${name}`, () => {
    assert.deepEqual(decodeStreamFrame(encodeStreamFrame(frame)), frame);
  });
}

function frame(type: number, id: number, payload: Buffer | string): Buffer {
  const p = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const b = Buffer.alloc(5 + p.length);
  b[0] = type;
  b.writeUInt32BE(id, 1);
  p.copy(b, 5);
  return b;
}

const open = (request: Record<string, unknown>): Buffer => frame(FRAME_TYPES.open, 1, JSON.stringify(request));
const EXEC = { kind: 'exec', ...TARGET, container: 'app', command: ['true'], stdin: false, stdout: true, stderr: true, tty: false };

const MALFORMED: Record<string, Buffer> = {
  'shorter than a header': Buffer.from([3, 0, 0]),
  'unknown type': frame(99, 1, ''),
  'stream id 0': frame(FRAME_TYPES.ready, 0, ''),
  'ready with a payload': frame(FRAME_TYPES.ready, 1, 'x'),
  'data without bytes': frame(FRAME_TYPES.data, 1, Buffer.from([1])),
  'data on channel 3': frame(FRAME_TYPES.data, 1, Buffer.from([3, 65])),
  'data chunk too big': frame(FRAME_TYPES.data, 1, Buffer.alloc(MAX_STREAM_CHUNK + 2, 1)),
  'window of 0': frame(FRAME_TYPES.window, 1, Buffer.alloc(4)),
  'window of 3 bytes': frame(FRAME_TYPES.window, 1, Buffer.alloc(3, 1)),
  'resize of 2 bytes': frame(FRAME_TYPES.resize, 1, Buffer.alloc(2)),
  'open not JSON': frame(FRAME_TYPES.open, 1, '{'),
  'open of an unknown kind': open({ ...EXEC, kind: 'attach' }),
  'exec without a command': open({ ...EXEC, command: [] }),
  'exec with a non-string argument': open({ ...EXEC, command: ['sh', 1] }),
  'exec with no stream at all': open({ ...EXEC, stdout: false, stderr: false }),
  'exec with a container name that is not a DNS label': open({ ...EXEC, container: '../etc' }),
  'exec without a uid': open({ ...EXEC, uid: '' }),
  'logs with a negative tail': open({ kind: 'logs', ...TARGET, container: 'app', follow: false, previous: false, timestamps: false, tailLines: -1 }),
  'logs with a limit of 0 bytes': open({ kind: 'logs', ...TARGET, container: 'app', follow: false, previous: false, timestamps: false, limitBytes: 0 }),
  'logs with follow as a string': open({ kind: 'logs', ...TARGET, container: 'app', follow: 'true', previous: false, timestamps: false }),
  'port-forward to port 0': open({ kind: 'portforward', ...TARGET, port: 0 }),
  'port-forward to port 65536': open({ kind: 'portforward', ...TARGET, port: 65536 }),
  'end with an unknown code': frame(FRAME_TYPES.end, 1, JSON.stringify({ error: { code: 'EVIL', message: 'x' } })),
  'end with exit code 256': frame(FRAME_TYPES.end, 1, JSON.stringify({ exitCode: 256 })),
};

for (const [name, f] of Object.entries(MALFORMED)) {
  test(`stream frame refused: ${name}`, () => {
    assert.throws(
      () => decodeStreamFrame(f),
      (err: unknown) => err instanceof ProtocolError && err.code === 'PROTOCOL_MALFORMED',
    );
  });
}

test('stream frame refused: larger than the frame limit', () => {
  assert.throws(
    () => decodeStreamFrame(Buffer.alloc(MAX_STREAM_FRAME_BYTES + 1, 3)),
    (err: unknown) => err instanceof ProtocolError && err.code === 'PROTOCOL_FRAME_TOO_LARGE',
  );
});
