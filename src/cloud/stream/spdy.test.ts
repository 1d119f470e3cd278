import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, connect, type Socket } from 'node:net';
import { constants as zlibConstants, createDeflate, createInflate, type Deflate, type Inflate } from 'node:zlib';
import { silentLogger } from '../../log/logger.ts';
import { SPDY3_DICTIONARY, SpdyConnection, type SpdyStream } from './spdy.ts';

/** zlib run to a sync flush, as Go's compress/zlib does for every SPDY header block. */
async function flushed(z: Deflate | Inflate, input: Buffer): Promise<Buffer> {
  const out: Buffer[] = [];
  const onData = (b: Buffer): number => out.push(b);
  z.on('data', onData);
  z.write(input);
  await new Promise<void>((resolve) => z.flush(zlibConstants.Z_SYNC_FLUSH, () => resolve()));
  await new Promise((resolve) => setImmediate(resolve));
  z.off('data', onData);
  return Buffer.concat(out);
}

function headerBlock(headers: Record<string, string>): Buffer {
  const parts: Buffer[] = [u32(Object.keys(headers).length)];
  for (const [k, v] of Object.entries(headers)) parts.push(u32(k.length), Buffer.from(k), u32(v.length), Buffer.from(v));
  return Buffer.concat(parts);
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

function control(type: number, flags: number, payload: Buffer): Buffer {
  const b = Buffer.alloc(8 + payload.length);
  b.writeUInt16BE(0x8003, 0);
  b.writeUInt16BE(type, 2);
  b.writeUInt32BE((flags << 24) | payload.length, 4);
  payload.copy(b, 8);
  return b;
}

function data(id: number, flags: number, bytes: Buffer): Buffer {
  const b = Buffer.alloc(8 + bytes.length);
  b.writeUInt32BE(id, 0);
  b.writeUInt32BE((flags << 24) | bytes.length, 4);
  bytes.copy(b, 8);
  return b;
}

interface Frame {
  control: boolean;
  type: number;
  flags: number;
  id: number;
  payload: Buffer;
}

/** A SPDY client as spdystream behaves: compressed SYN_STREAMs, and a reader of the server's frames. */
class Client {
  readonly frames: Frame[] = [];
  readonly #deflate = createDeflate({ dictionary: SPDY3_DICTIONARY });
  readonly #inflate = createInflate({ dictionary: SPDY3_DICTIONARY });
  readonly #waiters: (() => void)[] = [];
  readonly socket: Socket;
  #buf = Buffer.alloc(0);

  constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.#buf = Buffer.concat([this.#buf, chunk]);
      while (this.#buf.length >= 8 && this.#buf.length >= 8 + (this.#buf.readUInt32BE(4) & 0xffffff)) {
        const len = this.#buf.readUInt32BE(4) & 0xffffff;
        const f = this.#buf.subarray(0, 8 + len);
        this.#buf = this.#buf.subarray(8 + len);
        const isControl = (f[0]! & 0x80) !== 0;
        this.frames.push({ control: isControl, type: isControl ? f.readUInt16BE(2) : 0, flags: f[4]!, id: isControl ? (len >= 4 ? f.readUInt32BE(8) & 0x7fffffff : 0) : f.readUInt32BE(0), payload: Buffer.from(f.subarray(8)) });
      }
      for (const w of this.#waiters.splice(0)) w();
    });
  }

  async open(id: number, headers: Record<string, string>, fin = false): Promise<void> {
    const block = await flushed(this.#deflate, headerBlock(headers));
    const p = Buffer.concat([u32(id), u32(0), Buffer.from([0, 0]), block]);
    this.socket.write(control(1, fin ? 1 : 0, p));
  }

  async next(match: (f: Frame) => boolean): Promise<Frame> {
    for (;;) {
      const i = this.frames.findIndex(match);
      if (i >= 0) return this.frames.splice(i, 1)[0]!;
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
  }

  /** Decodes a SYN_REPLY's header block with a real inflater: proves the encoding and the dictionary. */
  async replyHeaders(f: Frame): Promise<Buffer> {
    return flushed(this.#inflate, f.payload.subarray(4));
  }
}

async function pair(onStream: (s: SpdyStream) => void): Promise<{ client: Client; run: Promise<void>; stop: AbortController; [Symbol.asyncDispose](): Promise<void> }> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const accepted = once(server, 'connection') as Promise<[Socket]>;
  const socket = connect((server.address() as { port: number }).port, '127.0.0.1');
  const [serverSide] = await accepted;
  server.close();
  const stop = new AbortController();
  const conn = new SpdyConnection(serverSide, { onStream, log: silentLogger() });
  const run = conn.run(stop.signal);
  return {
    client: new Client(socket),
    run,
    stop,
    async [Symbol.asyncDispose]() {
      stop.abort();
      socket.destroy();
      await run;
    },
  };
}

test('every stream the client opens is replied to with a header block a real inflater reads, each ending in a sync flush', async () => {
  const streams: SpdyStream[] = [];
  await using p = await pair((s) => streams.push(s));
  for (const [id, type] of [[1, 'error'], [3, 'stdout'], [5, 'stderr']] as const) {
    await p.client.open(id, { streamtype: type, port: '8080' });
    const reply = await p.client.next((f) => f.control && f.type === 2 && f.id === id);
    assert.deepEqual(await p.client.replyHeaders(reply), u32(0), 'an empty header block');
    assert.deepEqual(reply.payload.subarray(-5), Buffer.from([0, 0, 0, 0xff, 0xff]), 'Go reads no further than this marker');
  }
  assert.deepEqual(
    streams.map((s) => [s.id, s.header('streamtype'), s.header('port')]),
    [
      [1, 'error', '8080'],
      [3, 'stdout', '8080'],
      [5, 'stderr', '8080'],
    ],
  );
});

test('data flows both ways; FIN ends the inbound data, end() sends FIN', async () => {
  const got = Promise.withResolvers<string>();
  await using p = await pair((s) => {
    void (async () => {
      let text = '';
      for await (const chunk of s.data()) text += chunk.toString();
      got.resolve(text);
      await s.write(Buffer.from(text.toUpperCase()));
      s.end();
    })();
  });
  await p.client.open(1, { streamtype: 'stdin' });
  await p.client.next((f) => f.control && f.type === 2);
  p.client.socket.write(data(1, 0, Buffer.from('hello ')));
  p.client.socket.write(data(1, 1, Buffer.from('spdy')));
  assert.equal(await got.promise, 'hello spdy');
  const out = await p.client.next((f) => !f.control && f.id === 1 && f.payload.length > 0);
  assert.equal(out.payload.toString(), 'HELLO SPDY');
  const fin = await p.client.next((f) => !f.control && f.id === 1);
  assert.equal(fin.flags & 1, 1);
});

test('client pings are echoed; even stream ids and reused ids are reset; a RST ends the stream', async () => {
  const streams: SpdyStream[] = [];
  await using p = await pair((s) => streams.push(s));
  p.client.socket.write(control(6, 0, u32(7)));
  const pong = await p.client.next((f) => f.control && f.type === 6);
  assert.equal(pong.payload.readUInt32BE(0), 7);

  await p.client.open(2, { streamtype: 'error' });
  assert.equal((await p.client.next((f) => f.control && f.type === 3)).id, 2);
  await p.client.open(5, { streamtype: 'error' });
  await p.client.next((f) => f.control && f.type === 2 && f.id === 5);
  await p.client.open(3, { streamtype: 'error' });
  assert.equal((await p.client.next((f) => f.control && f.type === 3)).id, 3, 'ids must grow');

  const reading = (async () => {
    const chunks: Buffer[] = [];
    for await (const c of streams[0]!.data()) chunks.push(c);
    return chunks.length;
  })();
  p.client.socket.write(control(3, 0, Buffer.concat([u32(5), u32(5)])));
  assert.equal(await reading, 0);
  assert.equal(streams[0]!.isGone, true);
});

test('a frame of another SPDY version, or a header block that does not inflate, ends the connection', async () => {
  await using p = await pair(() => undefined);
  const bad = Buffer.concat([u32(1), u32(0), Buffer.from([0, 0]), Buffer.from('not zlib at all')]);
  p.client.socket.write(control(1, 0, bad));
  await p.run;
  await using q = await pair(() => undefined);
  const v2 = control(6, 0, u32(1));
  v2.writeUInt16BE(0x8002, 0);
  q.client.socket.write(v2);
  await q.run;
});
