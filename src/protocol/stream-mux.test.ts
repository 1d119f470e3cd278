import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as tick } from 'node:timers/promises';
import { hasCode } from '../errors/platform-error.ts';
import { ProtocolError } from './codec.ts';
import { encodeStreamFrame, MAX_STREAM_CHUNK, type StreamRequest } from './stream.ts';
import { StreamMux, type MuxStream, type StreamEvent } from './stream-mux.ts';

const EXEC: StreamRequest = { kind: 'exec', namespace: 'default', pod: 'p', uid: 'u-1', container: 'c', command: ['cat'], stdin: true, stdout: true, stderr: false, tty: false };

/** A cloud and an edge mux joined back to back, delivering frames on the next turn as a socket would. */
function pair(options: { windowBytes?: number; maxStreams?: number; onOpen?: (s: MuxStream) => void } = {}) {
  const wire = { toEdge: 0, toCloud: 0, frames: [] as Buffer[] };
  const accepted: MuxStream[] = [];
  const edge: StreamMux = new StreamMux({
    role: 'acceptor',
    send: (f) => {
      wire.toCloud += f.length;
      setImmediate(() => cloud.receive(f));
    },
    onOpen: (s) => {
      accepted.push(s);
      options.onOpen?.(s);
    },
    ...(options.windowBytes !== undefined ? { windowBytes: options.windowBytes } : {}),
    ...(options.maxStreams !== undefined ? { maxStreams: options.maxStreams } : {}),
  });
  const cloud: StreamMux = new StreamMux({
    role: 'opener',
    send: (f) => {
      wire.toEdge += f.length;
      wire.frames.push(f);
      setImmediate(() => edge.receive(f));
    },
    ...(options.windowBytes !== undefined ? { windowBytes: options.windowBytes } : {}),
  });
  return { cloud, edge, accepted, wire };
}

async function collect(s: MuxStream): Promise<StreamEvent[]> {
  const out: StreamEvent[] = [];
  for await (const e of s.events()) out.push(e);
  return out;
}

test('a stream opens, carries data both ways in order, and ends with the edge\'s result', async () => {
  const { cloud } = pair({
    onOpen: (s) => {
      s.accept();
      void (async () => {
        for await (const e of s.events()) {
          if (e.type === 'data') await s.write(1, Buffer.from(e.data.toString().toUpperCase()));
          if (e.type === 'eof') return s.end({ exitCode: 3 });
        }
      })();
    },
  });
  const s = cloud.open(EXEC);
  await s.ready();
  await s.write(0, Buffer.from('hello '));
  await s.write(0, Buffer.from('world'));
  s.eof(0);
  const events = await collect(s);
  assert.equal(events.filter((e) => e.type === 'data').map((e) => (e.type === 'data' ? e.data.toString() : '')).join(''), 'HELLO WORLD');
  assert.deepEqual(events.at(-1), { type: 'end', result: { exitCode: 3 } });
  assert.equal(s.signal.aborted, true);
  assert.equal(cloud.size, 0);
});

test('a refusal rejects ready() with the edge\'s code', async () => {
  const { cloud } = pair({ onOpen: (s) => s.end({ error: { code: 'STREAM_CONTAINER_NOT_FOUND', message: 'waiting to start' } }) });
  const s = cloud.open(EXEC);
  await assert.rejects(s.ready(), (e: unknown) => hasCode(e, 'STREAM_CONTAINER_NOT_FOUND'));
  assert.deepEqual((await collect(s)).at(-1), { type: 'end', result: { error: { code: 'STREAM_CONTAINER_NOT_FOUND', message: 'waiting to start' } } });
});

test('a writer stops at the window and goes on only as the consumer takes the bytes', async () => {
  const window = 4 * MAX_STREAM_CHUNK;
  let edgeStream: MuxStream | undefined;
  const { cloud } = pair({ windowBytes: window, onOpen: (s) => ((edgeStream = s), s.accept()) });
  const s = cloud.open(EXEC);
  await s.ready();
  let written = 0;
  const writing = (async () => {
    for (let i = 0; i < 16; i++) {
      await edgeStream!.write(1, Buffer.alloc(MAX_STREAM_CHUNK, i));
      written += MAX_STREAM_CHUNK;
    }
    edgeStream!.end({});
  })();
  for (let i = 0; i < 20; i++) await tick();
  assert.equal(written, window, 'the producer wrote exactly one window and waits');

  // Reading slowly: the producer never gets further ahead than one window.
  let read = 0;
  for await (const e of s.events()) {
    if (e.type !== 'data') break;
    read += e.data.length;
    for (let i = 0; i < 5; i++) await tick();
    assert.ok(written - read <= window, `in flight ${written - read} > window ${window}`);
  }
  await writing;
  assert.equal(read, 16 * MAX_STREAM_CHUNK);
});

test('cancel aborts the edge side and rejects its pending writes; closing the tunnel ends every stream', async () => {
  const edgeStreams: MuxStream[] = [];
  const { cloud, edge } = pair({ windowBytes: MAX_STREAM_CHUNK, onOpen: (s) => (edgeStreams.push(s), s.accept()) });
  const a = cloud.open(EXEC);
  const b = cloud.open(EXEC);
  await a.ready();
  await b.ready();
  const blocked = edgeStreams[0]!.write(1, Buffer.alloc(3 * MAX_STREAM_CHUNK));
  a.cancel('kubectl went away');
  await assert.rejects(blocked, (e: unknown) => hasCode(e, 'STREAM_CLOSED'));
  assert.equal(edgeStreams[0]!.signal.aborted, true);
  assert.equal(edge.size, 1);

  cloud.close('connection lost');
  assert.deepEqual((await collect(b)).at(-1), { type: 'end', result: { error: { code: 'STREAM_CLOSED', message: 'the stream tunnel closed: connection lost' } } });
  assert.throws(() => cloud.open(EXEC), (e: unknown) => hasCode(e, 'STREAM_CLOSED'));
});

test('the edge refuses streams beyond its limit, and the cloud cannot open more than the limit either', async () => {
  const { cloud } = pair({ maxStreams: 1, onOpen: (s) => s.accept() });
  const first = cloud.open(EXEC);
  await first.ready();
  const second = cloud.open(EXEC);
  await assert.rejects(second.ready(), (e: unknown) => hasCode(e, 'STREAM_LIMIT'));

  const limited = new StreamMux({ role: 'opener', send: () => undefined, maxStreams: 1 });
  limited.open(EXEC);
  assert.throws(() => limited.open(EXEC), (e: unknown) => hasCode(e, 'STREAM_LIMIT'));
});

test('data beyond the window cancels the stream; frames from the wrong side are a connection error', () => {
  const sent: Buffer[] = [];
  const violations: ProtocolError[] = [];
  const cloud = new StreamMux({ role: 'opener', send: (f) => sent.push(f), windowBytes: 8, onViolation: (e) => violations.push(e) });
  const s = cloud.open(EXEC);
  cloud.receive(encodeStreamFrame({ type: 'ready', id: s.id }));
  cloud.receive(encodeStreamFrame({ type: 'data', id: s.id, channel: 1, data: Buffer.alloc(9) }));
  assert.equal(violations.length, 1);
  assert.equal(s.signal.aborted, true);
  assert.equal(sent.at(-1)![0], 8, 'a cancel frame went to the edge');

  assert.throws(() => cloud.receive(encodeStreamFrame({ type: 'open', id: 7, request: EXEC })), (e: unknown) => e instanceof ProtocolError);
  const edge = new StreamMux({ role: 'acceptor', send: () => undefined, onOpen: (x) => x.accept() });
  assert.throws(() => edge.receive(encodeStreamFrame({ type: 'end', id: 1, result: {} })), (e: unknown) => e instanceof ProtocolError);
  // A late frame of a stream that is gone is dropped, not an error.
  edge.receive(encodeStreamFrame({ type: 'data', id: 42, channel: 0, data: Buffer.from('x') }));
});
