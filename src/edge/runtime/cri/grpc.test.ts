import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { constants as h2, createServer, type Http2Server, type IncomingHttpHeaders, type ServerHttp2Session, type ServerHttp2Stream } from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { EdgeError } from '../../errors.ts';
import { criMessage } from './cri-messages.ts';
import { containerdServices, criServices, GrpcChannel, GrpcStatus, grpcTimeout, hasGrpcStatus, type GrpcStatusCode } from './grpc.ts';
import { decodeMessage, encodeMessage, ProtobufWireError } from './protobuf.ts';

const run = promisify(execFile);
const NODE = process.execPath;

/** One request as the fake server saw it. */
interface Seen {
  readonly headers: IncomingHttpHeaders;
  readonly messages: Buffer[];
}
type Handler = (stream: ServerHttp2Stream, seen: Seen) => void;

/** A gRPC server on a unix socket whose every answer a test scripts, to reach what containerd never does. */
class FakeServer {
  readonly socket: string;
  readonly seen: Seen[] = [];
  handler: Handler = () => undefined;
  /** Connections accepted. */
  sessions = 0;
  #server: Http2Server | undefined;
  readonly #open = new Set<ServerHttp2Session>();

  constructor(socket: string) {
    this.socket = socket;
  }

  async start(): Promise<void> {
    const server = createServer();
    server.on('session', (session) => {
      this.sessions++;
      this.#open.add(session);
      session.on('close', () => this.#open.delete(session));
    });
    server.on('stream', (stream, headers) => {
      const chunks: Buffer[] = [];
      stream.on('error', () => undefined);
      const seen: Seen = { headers, messages: [] };
      this.seen.push(seen);
      stream.on('data', (c: Buffer) => {
        chunks.push(c);
        // Messages as they arrive, for the bidirectional stream.
        let all = Buffer.concat(chunks);
        while (all.length >= 5 && all.length >= 5 + all.readUInt32BE(1)) {
          seen.messages.push(all.subarray(5, 5 + all.readUInt32BE(1)));
          all = all.subarray(5 + all.readUInt32BE(1));
        }
        chunks.length = 0;
        if (all.length > 0) chunks.push(all);
        if (headers[':path'] === '/containerd.services.content.v1.Content/Write') this.handler(stream, seen);
      });
      stream.on('end', () => {
        if (headers[':path'] !== '/containerd.services.content.v1.Content/Write') this.handler(stream, seen);
      });
    });
    await new Promise<void>((resolve) => server.listen(this.socket, resolve));
    this.#server = server;
  }

  async stop(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    if (server === undefined) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    // Connections the client keeps open would hold close() up.
    for (const s of this.#open) s.destroy();
    await closed;
  }
}

/** Answers with messages and an OK status in trailers. */
function reply(stream: ServerHttp2Stream, ...bodies: Buffer[]): void {
  stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
  stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
  for (const b of bodies) stream.write(frame(b));
  stream.end();
}

/** Answers with a status only, in the headers (trailers-only). */
function fail(stream: ServerHttp2Stream, code: GrpcStatusCode, message: string): void {
  stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': String(code), 'grpc-message': encodeURIComponent(message) }, { endStream: true });
}

function frame(body: Buffer, flag = 0, length = body.length): Buffer {
  const h = Buffer.alloc(5);
  h[0] = flag;
  h.writeUInt32BE(length, 1);
  return Buffer.concat([h, body]);
}

const VERSION_RESPONSE = encodeMessage(criMessage('runtime.v1.VersionResponse'), { version: '0.1.0', runtimeName: 'fake', runtimeVersion: '1.0', runtimeApiVersion: 'v1' });

function grpcCause(err: unknown, code: GrpcStatusCode, edgeCode: string, message?: RegExp): boolean {
  assert.ok(err instanceof EdgeError, String(err));
  assert.equal(err.code, edgeCode, err.message);
  assert.ok(hasGrpcStatus(err, code), `expected gRPC status ${code}: ${err.message}`);
  if (message !== undefined) assert.match(err.message, message);
  return true;
}

describe('GrpcChannel against a scripted server', { timeout: 60_000 }, () => {
  let dir: string;
  let server: FakeServer;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kedge-grpc-'));
    server = new FakeServer(join(dir, 'fake.sock'));
    await server.start();
  });
  after(async () => {
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('a unary call: the path, gRPC headers, deadline and metadata out; the decoded response back', async () => {
    server.handler = (stream) => reply(stream, VERSION_RESPONSE);
    const ch = new GrpcChannel(`unix://${server.socket}`, 'the fake');
    try {
      const v = await ch.unary<{ runtimeName: string; runtimeApiVersion: string }>(criServices().runtime, 'Version', { version: 'v1' }, { timeoutMs: 5_000, metadata: { 'Containerd-Namespace': 'k8s.io' } });
      assert.deepEqual(v, { version: '0.1.0', runtimeName: 'fake', runtimeVersion: '1.0', runtimeApiVersion: 'v1' });
      const seen = server.seen.at(-1)!;
      assert.equal(seen.headers[':method'], 'POST');
      assert.equal(seen.headers[':path'], '/runtime.v1.RuntimeService/Version');
      assert.equal(seen.headers['content-type'], 'application/grpc');
      assert.equal(seen.headers['te'], 'trailers');
      assert.equal(seen.headers['grpc-timeout'], '5000m');
      assert.equal(seen.headers['containerd-namespace'], 'k8s.io');
      assert.deepEqual(decodeMessage(criMessage('runtime.v1.VersionRequest'), seen.messages[0]!), { version: 'v1' });
      // Calls share one connection.
      const sessions = server.sessions;
      await Promise.all([ch.unary(criServices().runtime, 'Version', {}), ch.unary(criServices().runtime, 'Version', {})]);
      assert.equal(server.sessions, sessions);
    } finally {
      ch.close();
    }
  });

  it('statuses: NOT_FOUND (trailers-only, percent-encoded message), UNAVAILABLE, others; in trailers after headers too', async () => {
    const ch = new GrpcChannel(server.socket, 'the fake');
    try {
      server.handler = (stream) => fail(stream, GrpcStatus.NOT_FOUND, 'container "abc" not found: ünï 100%');
      await assert.rejects(ch.unary(criServices().runtime, 'ContainerStatus', { containerId: 'abc' }), (err) =>
        grpcCause(err, GrpcStatus.NOT_FOUND, 'EDGE_RUNTIME_NOT_FOUND', /^ContainerStatus on the fake: container "abc" not found: ünï 100%$/),
      );
      server.handler = (stream) => fail(stream, GrpcStatus.UNAVAILABLE, 'shutting down');
      await assert.rejects(ch.unary(criServices().runtime, 'Version', {}), (err) => grpcCause(err, GrpcStatus.UNAVAILABLE, 'EDGE_RUNTIME_UNAVAILABLE'));
      server.handler = (stream) => {
        stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
        stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': String(GrpcStatus.ALREADY_EXISTS), 'grpc-message': 'exists' }));
        stream.end();
      };
      await assert.rejects(ch.unary(containerdServices().images, 'Create', { image: { name: 'x' } }), (err) => grpcCause(err, GrpcStatus.ALREADY_EXISTS, 'EDGE_RUNTIME_ERROR', /exists/));
      server.handler = (stream) => {
        stream.respond({ ':status': 404 }, { endStream: true });
      };
      await assert.rejects(ch.unary(criServices().runtime, 'Version', {}), (err) => grpcCause(err, GrpcStatus.UNIMPLEMENTED, 'EDGE_RUNTIME_ERROR', /HTTP status code 404/));
      server.handler = (stream) => stream.close(h2.NGHTTP2_INTERNAL_ERROR);
      await assert.rejects(ch.unary(criServices().runtime, 'Version', {}), (err) => grpcCause(err, GrpcStatus.INTERNAL, 'EDGE_RUNTIME_ERROR', /RST_STREAM with code 2/));
    } finally {
      ch.close();
    }
  });

  it('bad responses: no message, two messages, compressed, over the size limit, cut short, malformed protobuf', async () => {
    const ch = new GrpcChannel(server.socket, 'the fake');
    const cases: [Handler, GrpcStatusCode, RegExp][] = [
      [(s) => reply(s), GrpcStatus.INTERNAL, /answered with 0 messages/],
      [(s) => reply(s, VERSION_RESPONSE, VERSION_RESPONSE), GrpcStatus.INTERNAL, /answered with 2 messages/],
      [
        (s) => {
          s.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
          s.on('wantTrailers', () => s.sendTrailers({ 'grpc-status': '0' }));
          s.end(frame(VERSION_RESPONSE, 1));
        },
        GrpcStatus.INTERNAL,
        /compressed/,
      ],
      [
        (s) => {
          s.respond({ ':status': 200, 'content-type': 'application/grpc' });
          // Only the header: the client refuses before a byte of the body is buffered.
          s.write(frame(Buffer.alloc(0), 0, 64 * 1024 * 1024));
        },
        GrpcStatus.RESOURCE_EXHAUSTED,
        /larger than max \(67108864 vs\. 33554432\)/,
      ],
      [
        (s) => {
          s.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
          s.on('wantTrailers', () => s.sendTrailers({ 'grpc-status': '0' }));
          s.end(frame(VERSION_RESPONSE, 0, VERSION_RESPONSE.length + 10));
        },
        GrpcStatus.INTERNAL,
        /ended inside a message/,
      ],
      [(s) => reply(s, Buffer.from([0x0a, 0x50, 0x41])), GrpcStatus.INTERNAL, /response message parsing failure: malformed runtime\.v1\.VersionResponse/],
      [(s) => s.respond({ ':status': 200, 'content-type': 'text/html' }, { endStream: true }), GrpcStatus.UNKNOWN, /content-type "text\/html"/],
    ];
    try {
      for (const [handler, code, message] of cases) {
        server.handler = handler;
        await assert.rejects(ch.unary(criServices().runtime, 'Version', {}), (err) => grpcCause(err, code, 'EDGE_RUNTIME_ERROR', message));
      }
      // The connection survives all of it.
      server.handler = (stream) => reply(stream, VERSION_RESPONSE);
      await ch.unary(criServices().runtime, 'Version', {});
      server.handler = (s) => reply(s, Buffer.from([0x0a, 0x50, 0x41]));
      await assert.rejects(ch.unary(criServices().runtime, 'Version', {}), (err) => err instanceof EdgeError && (err.cause as Error).cause instanceof ProtobufWireError);
    } finally {
      ch.close();
    }
  });

  it('a request that cannot be encoded fails as INTERNAL without being sent; an unknown method throws', async () => {
    const ch = new GrpcChannel(server.socket, 'the fake');
    const before = server.seen.length;
    try {
      await assert.rejects(ch.unary(criServices().runtime, 'ListContainers', { filter: 'nope' }), (err) => grpcCause(err, GrpcStatus.INTERNAL, 'EDGE_RUNTIME_ERROR', /serialization failure: runtime\.v1\.ListContainersRequest\.filter: expected an object/));
      await assert.rejects(ch.unary(criServices().runtime, 'Nope', {}), /no gRPC method Nope in runtime\.v1\.RuntimeService/);
      assert.equal(server.seen.length, before);
    } finally {
      ch.close();
    }
  });

  it('deadlines: the call fails as DEADLINE_EXCEEDED when it passes, and the server sees the stream reset', async () => {
    let reset: Promise<number> | undefined;
    server.handler = (stream) => {
      reset = new Promise((resolve) => stream.on('close', () => resolve(stream.rstCode)));
    };
    const ch = new GrpcChannel(server.socket, 'the fake');
    try {
      const started = performance.now();
      await assert.rejects(ch.unary(criServices().runtime, 'Version', {}, { timeoutMs: 200 }), (err) => grpcCause(err, GrpcStatus.DEADLINE_EXCEEDED, 'EDGE_RUNTIME_ERROR', /Deadline exceeded/));
      const took = performance.now() - started;
      assert.ok(took >= 190 && took < 5_000, `took ${took} ms`);
      assert.equal(server.seen.at(-1)!.headers['grpc-timeout'], '200m');
      assert.equal(await reset, h2.NGHTTP2_CANCEL);
    } finally {
      ch.close();
    }
    assert.equal(grpcTimeout(1.2), '2m');
    assert.equal(grpcTimeout(100_000_000), '100000S');
    assert.equal(grpcTimeout(Number.MAX_SAFE_INTEGER), '99999999H');
  });

  it('an aborted signal cancels the call (before it starts, too)', async () => {
    server.handler = () => undefined;
    const ch = new GrpcChannel(server.socket, 'the fake');
    try {
      const ac = new AbortController();
      const call = ch.unary(criServices().image, 'PullImage', { image: { image: 'x' } }, { signal: ac.signal });
      setTimeout(() => ac.abort(), 50);
      await assert.rejects(call, (err) => grpcCause(err, GrpcStatus.CANCELLED, 'EDGE_RUNTIME_ERROR', /Cancelled on client/));
      await assert.rejects(ch.unary(criServices().runtime, 'Version', {}, { signal: AbortSignal.abort() }), (err) => grpcCause(err, GrpcStatus.CANCELLED, 'EDGE_RUNTIME_ERROR'));
    } finally {
      ch.close();
    }
  });

  it('a stream the server refused (REFUSED_STREAM) is sent again, once', async () => {
    let refusals = 1;
    server.handler = (stream) => (refusals-- > 0 ? stream.close(h2.NGHTTP2_REFUSED_STREAM) : reply(stream, VERSION_RESPONSE));
    const ch = new GrpcChannel(server.socket, 'the fake');
    try {
      const count = server.seen.length;
      assert.equal((await ch.unary<{ runtimeName: string }>(criServices().runtime, 'Version', {})).runtimeName, 'fake');
      assert.equal(server.seen.length - count, 2);
      refusals = 2;
      await assert.rejects(ch.unary(criServices().runtime, 'Version', {}), (err) => grpcCause(err, GrpcStatus.UNAVAILABLE, 'EDGE_RUNTIME_UNAVAILABLE', /REFUSED_STREAM/));
    } finally {
      ch.close();
    }
  });

  it('a bidirectional stream: messages both ways in lockstep, then the status', async () => {
    const WriteRes = containerdServices().content.methods.get('Write')!.response;
    server.handler = (stream, seen) => {
      if (!stream.headersSent) stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      while (seen.messages.length > 0) {
        const req = decodeMessage(containerdServices().content.methods.get('Write')!.request, seen.messages.shift()!);
        stream.write(frame(encodeMessage(WriteRes, { action: req['action'], offset: Number(req['offset']) + (req['data'] as Buffer).length, digest: req['action'] === 'COMMIT' ? 'sha256:x' : '' })));
        if (req['action'] === 'COMMIT') {
          stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
          stream.end();
        }
      }
    };
    const ch = new GrpcChannel(server.socket, 'the fake');
    try {
      const s = ch.duplex<object, { offset: number; digest: string }>(containerdServices().content, 'Write', { metadata: { 'containerd-namespace': 'k8s.io' }, timeoutMs: 10_000 });
      const it = s[Symbol.asyncIterator]();
      s.write({ action: 'WRITE', ref: 'r', offset: 0, data: Buffer.alloc(3 * 1024 * 1024, 1) });
      assert.equal(((await it.next()).value as { offset: number }).offset, 3 * 1024 * 1024);
      s.write({ action: 'COMMIT', ref: 'r', offset: 3 * 1024 * 1024, data: Buffer.alloc(0) });
      assert.equal(((await it.next()).value as { digest: string }).digest, 'sha256:x');
      s.end();
      assert.equal((await it.next()).done, true);

      // A status error ends the iteration with the error; cancel() with CANCELLED.
      server.handler = (stream) => fail(stream, GrpcStatus.ALREADY_EXISTS, 'ref r: already exists');
      const refused = ch.duplex<object, unknown>(containerdServices().content, 'Write', { timeoutMs: 10_000 });
      refused.write({ action: 'WRITE', ref: 'r' });
      await assert.rejects(refused[Symbol.asyncIterator]().next(), (err) => hasGrpcStatus(err, GrpcStatus.ALREADY_EXISTS));
      server.handler = () => undefined;
      const cancelled = ch.duplex<object, unknown>(containerdServices().content, 'Write', { timeoutMs: 10_000 });
      cancelled.write({ action: 'STAT', ref: 'r' });
      cancelled.cancel();
      await assert.rejects(cancelled[Symbol.asyncIterator]().next(), (err) => hasGrpcStatus(err, GrpcStatus.CANCELLED));
    } finally {
      ch.close();
    }
  });

  it('reconnects on the next call after the server went away and came back; a closed channel refuses calls', async () => {
    server.handler = (stream) => reply(stream, VERSION_RESPONSE);
    const ch = new GrpcChannel(server.socket, 'the fake');
    try {
      await ch.unary(criServices().runtime, 'Version', {});
      await server.stop();
      await assert.rejects(ch.unary(criServices().runtime, 'Version', {}), (err) => grpcCause(err, GrpcStatus.UNAVAILABLE, 'EDGE_RUNTIME_UNAVAILABLE'));
      await rm(server.socket, { force: true });
      await server.start();
      await ch.unary(criServices().runtime, 'Version', {});
    } finally {
      ch.close();
    }
    await assert.rejects(ch.unary(criServices().runtime, 'Version', {}), (err) => grpcCause(err, GrpcStatus.UNAVAILABLE, 'EDGE_RUNTIME_UNAVAILABLE', /the channel is closed/));
  });

  it('a connection lost in the middle of a call fails it as UNAVAILABLE', async () => {
    const ch = new GrpcChannel(server.socket, 'the fake');
    server.handler = (stream) => {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' });
      stream.write(frame(VERSION_RESPONSE).subarray(0, 4));
      setTimeout(() => stream.session?.destroy(), 20);
    };
    try {
      await assert.rejects(ch.unary(criServices().runtime, 'Version', {}), (err) => grpcCause(err, GrpcStatus.UNAVAILABLE, 'EDGE_RUNTIME_UNAVAILABLE', /connection lost/));
      server.handler = (stream) => reply(stream, VERSION_RESPONSE);
      await ch.unary(criServices().runtime, 'Version', {});
    } finally {
      ch.close();
    }
  });

  it('an idle connection does not keep the process alive; a call in flight does', async () => {
    server.handler = (stream) => setTimeout(() => reply(stream, VERSION_RESPONSE), 300);
    const grpc = fileURLToPath(new URL('./grpc.ts', import.meta.url));
    const script = `
      const { GrpcChannel, criServices } = await import(${JSON.stringify(grpc)});
      const ch = new GrpcChannel(${JSON.stringify(server.socket)}, 'the fake');
      const v = await ch.unary(criServices().runtime, 'Version', {});
      console.log(v.runtimeName);
      // No close(): the process must exit on its own.
    `;
    const started = performance.now();
    const { stdout } = await run(NODE, ['--disable-warning=ExperimentalWarning', '--input-type=module', '-e', script], { timeout: 10_000 });
    assert.equal(stdout.trim(), 'fake', 'the call in flight (300 ms) kept the process alive until it answered');
    assert.ok(performance.now() - started < 5_000);
  });
});

describe('GrpcChannel without a server', () => {
  it('a socket that is not there is UNAVAILABLE at once, and so is one nobody listens on', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kedge-grpc-'));
    try {
      const ch = new GrpcChannel(`unix://${join(dir, 'missing.sock')}`, 'containerd at missing.sock');
      const started = performance.now();
      await assert.rejects(ch.unary(criServices().runtime, 'Version', {}), (err) => grpcCause(err, GrpcStatus.UNAVAILABLE, 'EDGE_RUNTIME_UNAVAILABLE', /^Version on containerd at missing\.sock: no connection: connect ENOENT .*missing\.sock$/));
      assert.ok(performance.now() - started < 5_000);
      // Again: the failed connection is not reused.
      await assert.rejects(ch.unary(criServices().runtime, 'Version', {}), (err) => grpcCause(err, GrpcStatus.UNAVAILABLE, 'EDGE_RUNTIME_UNAVAILABLE', /ENOENT/));
      ch.close();

      // A socket file left behind by a runtime that died: ECONNREFUSED.
      const stale = new FakeServer(join(dir, 'stale.sock'));
      await stale.start();
      await stale.stop();
      const { writeFile } = await import('node:fs/promises');
      await writeFile(join(dir, 'stale.sock'), '');
      const ch2 = new GrpcChannel(join(dir, 'stale.sock'), 'stale');
      await assert.rejects(ch2.unary(criServices().runtime, 'Version', {}), (err) => grpcCause(err, GrpcStatus.UNAVAILABLE, 'EDGE_RUNTIME_UNAVAILABLE', /no connection/));
      ch2.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses endpoints that are not unix sockets', () => {
    assert.throws(() => new GrpcChannel('tcp://127.0.0.1:1234', 'x'), (err) => err instanceof EdgeError && err.code === 'EDGE_RUNTIME_UNAVAILABLE');
  });
});
