 
import assert from 'node:assert/strict';
import { once } from 'node:events';
import https from 'node:https';
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { silentLogger } from '../../../log/logger.ts';
import { createCa, issueClientCertificate, issueServingCertificate, type CertificateAuthority, type IssuedCertificate } from '../../../pki/certificate.ts';
import { createCsr, signCsr } from '../../../pki/csr.ts';
import { exportPrivateKeyPem, generateKeyPair } from '../../../pki/keys.ts';
import { Authenticator, bearerToken } from './authenticator.ts';
import { Authorizer } from './authorizer.ts';
import { NodeGraphIndex } from './node-graph.ts';
import { TokenStore, generateToken } from './token-store.ts';
import type { RequestAttributes, UserInfo } from './types.ts';

const DAY = 86_400_000;

interface Fixture {
  ca: CertificateAuthority;
  port: number;
  server: https.Server;
  adminToken: string;
  admin: IssuedCertificate;
}

interface Reply {
  status: number;
  body: string;
}

/** A tiny stand-in for the API server: authenticate, authorize `/api/v1/...` GETs, echo the user. */
async function startServer(ca: CertificateAuthority, tokens: TokenStore, graph: NodeGraphIndex, now?: () => Date): Promise<{ server: https.Server; port: number }> {
  const serving = await issueServingCertificate(ca, { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
  const authenticator = new Authenticator({ clientCa: ca.certPem, tokens, log: silentLogger(), ...(now !== undefined ? { now } : {}) });
  const authorizer = new Authorizer({ nodeGraph: graph });
  const server = https.createServer({ key: serving.keyPem, cert: serving.certPem, requestCert: true, rejectUnauthorized: false }, (req, res) => {
    const user = authenticator.authenticate(req);
    if (user === undefined) {
      res.writeHead(401).end('Unauthorized');
      return;
    }
    const decision = authorizer.authorize(user, attributesOf(req));
    if (!decision.allowed) {
      res.writeHead(403).end(decision.reason);
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(user));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, port: (server.address() as AddressInfo).port };
}

/** `/api/v1/nodes/<n>`, `/api/v1/namespaces/<ns>/pods/<n>`, anything else is a non-resource path. */
function attributesOf(req: IncomingMessage): RequestAttributes {
  const parts = (req.url ?? '/').split('/').filter(Boolean);
  if (parts[2] === 'nodes') return { verb: 'get', group: '', resource: 'nodes', name: parts[3] ?? '' };
  if (parts[2] === 'namespaces' && parts[4] === 'pods') return { verb: 'get', group: '', resource: 'pods', namespace: parts[3] ?? '', name: parts[5] ?? '' };
  return { verb: 'get', group: '', resource: '', path: req.url ?? '/' };
}

function get(port: number, path: string, opts: { cert?: IssuedCertificate; token?: string; ca: string; agent?: https.Agent; headers?: Record<string, string> }): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: '127.0.0.1',
        port,
        path,
        ca: opts.ca,
        ...(opts.cert !== undefined ? { cert: opts.cert.certPem, key: opts.cert.keyPem } : {}),
        headers: { ...(opts.token !== undefined ? { authorization: `Bearer ${opts.token}` } : {}), ...opts.headers },
        agent: opts.agent ?? false,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

function userOf(reply: Reply): UserInfo {
  assert.equal(reply.status, 200, reply.body);
  return JSON.parse(reply.body) as UserInfo;
}

describe('Authenticator over real TLS', () => {
  const f = {} as Fixture;
  const graph = new NodeGraphIndex();

  before(async () => {
    f.ca = await createCa();
    f.adminToken = generateToken();
    f.admin = await issueClientCertificate(f.ca, { commonName: 'kedge-admin', organizations: ['system:masters'] });
    const tokens = new TokenStore([{ token: f.adminToken, user: 'kedge-admin', groups: ['system:masters'] }]);
    ({ server: f.server, port: f.port } = await startServer(f.ca, tokens, graph));
  });
  after(() => {
    f.server.close();
  });

  it('authenticates the admin client certificate as CN with O groups', async () => {
    const user = userOf(await get(f.port, '/api/v1/namespaces/x/pods/y', { ca: f.ca.certPem, cert: f.admin }));
    assert.deepEqual(user, { name: 'kedge-admin', groups: ['system:masters', 'system:authenticated'] });
  });

  it('authenticates the admin bearer token and refuses a wrong one', async () => {
    assert.equal(userOf(await get(f.port, '/version', { ca: f.ca.certPem, token: f.adminToken })).name, 'kedge-admin');
    assert.equal((await get(f.port, '/version', { ca: f.ca.certPem, token: generateToken() })).status, 401);
  });

  it('answers 401 to a client without credentials', async () => {
    assert.equal((await get(f.port, '/version', { ca: f.ca.certPem })).status, 401);
  });

  it('refuses a certificate from another CA, even one claiming system:masters', async () => {
    const other = await createCa({ commonName: 'kedge-ca' });
    const forged = await issueClientCertificate(other, { commonName: 'kedge-admin', organizations: ['system:masters'] });
    assert.equal((await get(f.port, '/version', { ca: f.ca.certPem, cert: forged })).status, 401);
  });

  it('refuses an expired certificate and a serving certificate used as client certificate', async () => {
    const expired = await issueClientCertificate(f.ca, { commonName: 'kedge-admin', organizations: ['system:masters'], validityDays: 1, now: new Date(Date.now() - 10 * DAY) });
    assert.equal((await get(f.port, '/version', { ca: f.ca.certPem, cert: expired })).status, 401);
    const serving = await issueServingCertificate(f.ca, { dnsNames: ['kedge-admin'], commonName: 'kedge-admin' });
    assert.equal((await get(f.port, '/version', { ca: f.ca.certPem, cert: serving })).status, 401);
  });

  it('falls back to the bearer token when the certificate is refused', async () => {
    const other = await createCa();
    const foreign = await issueClientCertificate(other, { commonName: 'mallory' });
    assert.equal(userOf(await get(f.port, '/version', { ca: f.ca.certPem, cert: foreign, token: f.adminToken })).name, 'kedge-admin');
  });

  it('keeps authenticating requests on a kept-alive connection', async () => {
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      for (let i = 0; i < 3; i++) assert.equal(userOf(await get(f.port, '/version', { ca: f.ca.certPem, cert: f.admin, agent })).name, 'kedge-admin');
    } finally {
      agent.destroy();
    }
  });

  it('stops accepting a certificate that expires while its connection stays open', async () => {
    let clock = new Date();
    const { server, port } = await startServer(f.ca, new TokenStore([]), graph, () => clock);
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const shortLived = await issueClientCertificate(f.ca, { commonName: 'short', validityDays: 1 });
      assert.equal(userOf(await get(port, '/version', { ca: f.ca.certPem, cert: shortLived, agent })).name, 'short');
      clock = new Date(Date.now() + 2 * DAY);
      assert.equal((await get(port, '/version', { ca: f.ca.certPem, cert: shortLived, agent })).status, 401);
    } finally {
      agent.destroy();
      server.close();
    }
  });

  it('authorizes a node certificate (from a CSR) only for its own objects', async () => {
    graph.upsertPod({ metadata: { namespace: 'apps', name: 'mine', uid: '1' }, spec: { nodeName: 'edge-1', containers: [{ name: 'c' }] } });
    graph.upsertPod({ metadata: { namespace: 'apps', name: 'theirs', uid: '2' }, spec: { nodeName: 'edge-2', containers: [{ name: 'c' }] } });
    const key = await generateKeyPair();
    const csr = await createCsr({ commonName: 'system:node:edge-1', organizations: ['system:nodes'], key });
    const certPem = await signCsr(f.ca, csr, { commonName: 'system:node:edge-1', organizations: ['system:nodes'], usages: ['client auth'] });
    const node = { certPem, keyPem: await exportPrivateKeyPem(key.privateKey) };
    const call = (path: string): Promise<Reply> => get(f.port, path, { ca: f.ca.certPem, cert: node });

    assert.deepEqual(userOf(await call('/api/v1/nodes/edge-1')), { name: 'system:node:edge-1', groups: ['system:nodes', 'system:authenticated'] });
    assert.equal((await call('/api/v1/nodes/edge-2')).status, 403);
    assert.equal((await call('/api/v1/namespaces/apps/pods/mine')).status, 200);
    const theirs = await call('/api/v1/namespaces/apps/pods/theirs');
    assert.equal(theirs.status, 403);
    assert.match(theirs.body, /no relationship found between node 'edge-1'/);
    assert.equal((await call('/apis')).status, 200);
  });
});

describe('bearerToken', () => {
  const req = (headers: Record<string, string>): IncomingMessage => ({ headers }) as unknown as IncomingMessage;

  it('reads Authorization: Bearer in any case and ignores other schemes', () => {
    assert.equal(bearerToken(req({ authorization: 'Bearer abc' })), 'abc');
    assert.equal(bearerToken(req({ authorization: 'bearer  abc ' })), 'abc');
    assert.equal(bearerToken(req({ authorization: 'Basic YTpi' })), undefined);
    assert.equal(bearerToken(req({ authorization: 'Bearer' })), undefined);
  });

  it('reads the token browsers send as a WebSocket subprotocol', () => {
    const encoded = Buffer.from('tok-en').toString('base64url');
    assert.equal(bearerToken(req({ 'sec-websocket-protocol': `v4.channel.k8s.io, base64url.bearer.authorization.k8s.io.${encoded}` })), 'tok-en');
    assert.equal(bearerToken(req({ 'sec-websocket-protocol': 'v4.channel.k8s.io' })), undefined);
  });
});
