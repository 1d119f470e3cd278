import assert from 'node:assert/strict';
import { once } from 'node:events';
import https from 'node:https';
import { createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import { after, before, test } from 'node:test';
import { createSecureContext, type TLSSocket } from 'node:tls';
// The peer is the real `ws` server the cloud runs.
import { WebSocketServer, type WebSocket as ServerSocket } from 'ws';
// The full PKI: these tests are the CA.
import { createCa, issueClientCertificate, issueServingCertificate } from '../../pki/index.ts';
import { WebSocketClient, WebSocketError, WebSocketUpgradeRefused, type WebSocketClientOptions } from './client.ts';
import { CLOSE_PROTOCOL_ERROR, CLOSE_TOO_BIG, WebSocketProtocolError } from './frame.ts';

const PROTOCOL = 'v1.stream.kedge.io';
let server: https.Server;
let wss: WebSocketServer;
let port: number;
let tls: { ca: string; cert: string; key: string };
/** The server side of each connection, in order. */
const accepted: { ws: ServerSocket; cn: string; headers: Record<string, string | string[] | undefined> }[] = [];
let nextAccepted: ((c: (typeof accepted)[number]) => void) | undefined;

before(async () => {
  const ca = await createCa({ commonName: 'ws-test-ca' });
  const serving = await issueServingCertificate(ca, { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
  const client = await issueClientCertificate(ca, { commonName: 'system:node:n1', organizations: ['system:nodes'] });
  tls = { ca: ca.certPem, cert: client.certPem, key: client.keyPem };
  server = https.createServer({ cert: serving.certPem, key: serving.keyPem, ca: ca.certPem, requestCert: true, rejectUnauthorized: true });
  wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: 8 << 20, handleProtocols: (offered) => (offered.has(PROTOCOL) ? PROTOCOL : false) });
  server.on('upgrade', (req, socket, head) => {
    if (req.url === '/refuse') {
      socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: 30\r\n\r\nnode n1 may not use this path\n');
      return;
    }
    if (req.url === '/refuse-unsized') {
      socket.end('HTTP/1.1 409 Conflict\r\nConnection: close\r\n\r\nanother session holds node n1');
      return;
    }
    if (req.url === '/silent') return;
    wss.handleUpgrade(req, socket, head, (ws) => {
      const c = { ws, cn: String((socket as TLSSocket).getPeerCertificate().subject?.CN), headers: req.headers };
      accepted.push(c);
      if (req.url === '/hello') ws.send('hello');
      // Echo, so that round trips check both directions.
      ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
      nextAccepted?.(c);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  port = (server.address() as AddressInfo).port;
});

after(async () => {
  for (const c of accepted) c.ws.terminate();
  wss.close();
  server.closeAllConnections();
  server.close();
  await once(server, 'close');
});

function connect(o: Partial<WebSocketClientOptions> = {}): WebSocketClient {
  return new WebSocketClient({
    host: '127.0.0.1',
    port,
    path: '/',
    maxPayload: 8 << 20,
    handshakeTimeoutMs: 5_000,
    tls: { secureContext: createSecureContext({ ...tls, minVersion: 'TLSv1.2' }), rejectUnauthorized: true },
    ...o,
  });
}

/** Records the client's events in order, and resolves with the close. */
function record(ws: WebSocketClient): { log: string[]; errors: Error[]; closed: Promise<{ code: number; reason: string }> } {
  const log: string[] = [];
  const errors: Error[] = [];
  ws.on('open', () => log.push('open'));
  ws.on('message', (data, binary) => log.push(`message:${binary ? 'binary' : 'text'}:${data.length}`));
  ws.on('ping', () => log.push('ping'));
  ws.on('pong', (d) => log.push(`pong:${d.toString()}`));
  ws.on('error', (err) => {
    log.push('error');
    errors.push(err);
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.on('close', (code, reason) => {
      log.push(`close:${code}`);
      resolve({ code, reason });
    }),
  );
  return { log, errors, closed };
}

async function opened(ws: WebSocketClient): Promise<(typeof accepted)[number]> {
  const server = new Promise<(typeof accepted)[number]>((resolve) => (nextAccepted = resolve));
  await once(ws, 'open');
  return server;
}

test('handshake: mTLS with the node certificate, a chosen subprotocol, extra headers; open comes before a message sent at once', async () => {
  const ws = connect({ path: '/hello', protocols: ['v0.stream.kedge.io', PROTOCOL], headers: { 'X-Kedge-Node': 'n1' } });
  const r = record(ws);
  const peer = await opened(ws);
  assert.equal(peer.cn, 'system:node:n1');
  assert.equal(peer.headers['x-kedge-node'], 'n1');
  assert.equal(ws.protocol, PROTOCOL);
  assert.equal(ws.readyState, WebSocketClient.OPEN);
  while (r.log.length < 2) await once(ws, 'message');
  assert.deepEqual(r.log, ['open', 'message:text:5']);
  ws.close(1000);
  assert.equal((await r.closed).code, 1000);
});

test('handshake: a server that picks no offered subprotocol, or a client without a certificate, fails before open with 1006', async () => {
  const ws = connect({ protocols: ['v9.unknown'] });
  const r = record(ws);
  assert.equal((await r.closed).code, 1006);
  assert.deepEqual(r.log, ['error', 'close:1006']);
  assert.ok(r.errors[0] instanceof WebSocketError && r.errors[0].code === 'WS_HANDSHAKE_INVALID', String(r.errors[0]));

  const anonymous = connect({ tls: { ca: tls.ca, rejectUnauthorized: true } });
  const a = record(anonymous);
  assert.equal((await a.closed).code, 1006);
  assert.deepEqual(a.log, ['error', 'close:1006']);
});

test('handshake: a refusal is an error carrying the HTTP status and body, then close 1006', async () => {
  const ws = connect({ path: '/refuse' });
  const r = record(ws);
  assert.equal((await r.closed).code, 1006);
  assert.deepEqual(r.log, ['error', 'close:1006']);
  const err = r.errors[0];
  assert.ok(err instanceof WebSocketUpgradeRefused);
  assert.equal(err.status, 403);
  assert.equal(err.body, 'node n1 may not use this path\n');
  assert.match(err.message, /HTTP 403 Forbidden: node n1 may not use this path/);

  // No Content-Length: the body is what comes until the server closes.
  const unsized = connect({ path: '/refuse-unsized' });
  const u = record(unsized);
  await u.closed;
  const e = u.errors[0];
  assert.ok(e instanceof WebSocketUpgradeRefused);
  assert.equal(e.status, 409);
  assert.equal(e.body, 'another session holds node n1');
});

test('handshake: a server that never answers the upgrade times out', async () => {
  const ws = connect({ path: '/silent', handshakeTimeoutMs: 300 });
  const r = record(ws);
  assert.equal((await r.closed).code, 1006);
  assert.ok(r.errors[0] instanceof WebSocketError && r.errors[0].code === 'WS_HANDSHAKE_TIMEOUT');
});

test('closing before the connection opened aborts it: an error, then 1006', async () => {
  const ws = connect();
  const r = record(ws);
  ws.close(1001, 'edge shutting down');
  assert.equal((await r.closed).code, 1006);
  assert.ok(r.errors[0] instanceof WebSocketError && r.errors[0].code === 'WS_CLOSED_BEFORE_OPEN');
  const early = connect();
  const e = record(early);
  assert.throws(() => early.send('x'), /not open/);
  early.terminate();
  await e.closed;
});

test('text and binary messages, small and large, round trip through the ws server', async () => {
  const ws = connect();
  const r = record(ws);
  await opened(ws);
  const sizes = [0, 1, 125, 126, 65535, 65536, 1 << 20, 4 << 20];
  for (const size of sizes) {
    const text = 'ä€x'.repeat(Math.ceil(size / 6)).slice(0, Math.ceil(size / 3));
    const binary = Buffer.alloc(size);
    for (let i = 0; i < size; i += 997) binary[i] = i & 0xff;
    ws.send(text);
    ws.send(binary);
    const [t, tBinary] = (await once(ws, 'message')) as [Buffer, boolean];
    assert.equal(tBinary, false);
    assert.equal(t.toString('utf8'), text, `text of ${size}`);
    const [b, bBinary] = (await once(ws, 'message')) as [Buffer, boolean];
    assert.equal(bBinary, true);
    assert.ok(b.equals(binary), `binary of ${size}`);
  }
  // Uint8Array views go out as binary too.
  ws.send(new Uint8Array([1, 2, 3]).subarray(1));
  const [u] = (await once(ws, 'message')) as [Buffer];
  assert.deepEqual([...u], [2, 3]);
  ws.close(1000);
  await r.closed;
});

test('ping/pong both ways', async () => {
  const ws = connect();
  const r = record(ws);
  const peer = await opened(ws);
  ws.ping(Buffer.from('are you there'));
  const [pong] = (await once(ws, 'pong')) as [Buffer];
  assert.equal(pong.toString(), 'are you there');
  const serverPong = once(peer.ws, 'pong');
  peer.ws.ping('edge?');
  const [ping] = (await once(ws, 'ping')) as [Buffer];
  assert.equal(ping.toString(), 'edge?');
  const [answer] = (await serverPong) as [Buffer];
  assert.equal(answer.toString(), 'edge?', 'the client answers a ping with its payload');
  ws.close(1000);
  await r.closed;
});

test('close codes both ways: the client closing with 1001, the server closing with 4001 and a reason', async () => {
  const ws = connect();
  const r = record(ws);
  const peer = await opened(ws);
  const serverClosed = once(peer.ws, 'close');
  ws.close(1001, 'edge shutting down');
  assert.equal(ws.readyState, WebSocketClient.CLOSING);
  const [code, reason] = (await serverClosed) as [number, Buffer];
  assert.equal(code, 1001);
  assert.equal(reason.toString(), 'edge shutting down');
  assert.equal((await r.closed).code, 1001);
  assert.equal(ws.readyState, WebSocketClient.CLOSED);
  assert.deepEqual(r.errors, []);

  const ws2 = connect();
  const r2 = record(ws2);
  const peer2 = await opened(ws2);
  const echoed = once(peer2.ws, 'close');
  peer2.ws.close(4001, 'replaced');
  assert.deepEqual(await r2.closed, { code: 4001, reason: 'replaced' });
  assert.equal(((await echoed) as [number])[0], 4001, 'the client echoes the code');
  assert.deepEqual(r2.log, ['open', 'close:4001']);
  assert.throws(() => ws2.close(1006), RangeError);
});

test('a connection dropped without a close frame closes with 1006, either side dropping it', async () => {
  const ws = connect();
  const r = record(ws);
  const peer = await opened(ws);
  peer.ws.terminate();
  assert.equal((await r.closed).code, 1006);

  const ws2 = connect();
  const r2 = record(ws2);
  const peer2 = await opened(ws2);
  const serverClosed = once(peer2.ws, 'close');
  ws2.terminate();
  assert.equal((await r2.closed).code, 1006);
  assert.equal(((await serverClosed) as [number])[0], 1006);
  assert.deepEqual(r2.errors, []);
});

test('a message over maxPayload closes with 1009; a frame the RFC forbids closes with 1002', async () => {
  const ws = connect({ maxPayload: 1000 });
  const r = record(ws);
  const peer = await opened(ws);
  const serverClosed = once(peer.ws, 'close');
  peer.ws.send(Buffer.alloc(1001));
  assert.equal((await r.closed).code, CLOSE_TOO_BIG);
  assert.ok(r.errors[0] instanceof WebSocketProtocolError && r.errors[0].closeCode === CLOSE_TOO_BIG);
  assert.equal(((await serverClosed) as [number])[0], CLOSE_TOO_BIG, 'the server is told why');
  assert.deepEqual(r.log, ['open', 'error', `close:${CLOSE_TOO_BIG}`]);

  const ws2 = connect();
  const r2 = record(ws2);
  const peer2 = await opened(ws2);
  const serverClosed2 = once(peer2.ws, 'close');
  // A reserved opcode, written under ws's framing.
  (peer2.ws as unknown as { _socket: Socket })._socket.write(Buffer.from([0x83, 0x00]));
  assert.equal((await r2.closed).code, CLOSE_PROTOCOL_ERROR);
  assert.equal(((await serverClosed2) as [number])[0], CLOSE_PROTOCOL_ERROR);
});

test('ws:// over plain TCP, and a 101 with a wrong Sec-WebSocket-Accept is refused', async () => {
  // A server that answers every upgrade with a 101 whose accept key is made up.
  const bad: NetServer = createNetServer((s) => {
    s.once('data', () => s.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: bm90IHRoZSBrZXk=\r\n\r\n'));
    s.on('error', () => undefined);
  });
  bad.listen(0, '127.0.0.1');
  await once(bad, 'listening');
  const ws = new WebSocketClient({ host: '127.0.0.1', port: (bad.address() as AddressInfo).port, path: '/', maxPayload: 1000, handshakeTimeoutMs: 5_000 });
  const r = record(ws);
  assert.equal((await r.closed).code, 1006);
  assert.ok(r.errors[0] instanceof WebSocketError && r.errors[0].code === 'WS_HANDSHAKE_INVALID');
  bad.close();

  const plain = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false });
  await once(plain, 'listening');
  plain.on('connection', (s) => s.on('message', (d, b) => s.send(d, { binary: b })));
  const ws2 = new WebSocketClient({ host: '127.0.0.1', port: (plain.address() as AddressInfo).port, path: '/', maxPayload: 1000, handshakeTimeoutMs: 5_000 });
  const r2 = record(ws2);
  await once(ws2, 'open');
  ws2.send('over tcp');
  const [m] = (await once(ws2, 'message')) as [Buffer];
  assert.equal(m.toString(), 'over tcp');
  ws2.close(1000);
  assert.equal((await r2.closed).code, 1000);
  plain.close();
});
