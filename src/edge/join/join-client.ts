import { request } from 'node:https';
import { isIP } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { isJsonObject } from '../../api/object.ts';
import { ERROR_CODES } from '../../errors/codes.ts';
import { describeError } from '../../errors/platform-error.ts';
import type { Logger } from '../../log/logger.ts';
import { caCertificateDigest, createCsr, exportPrivateKeyPem, generateKeyPair, inspectCertificate, keyMatchesCertificate, parseNodeCertificate, verifyCertificate } from '../../pki/light.ts';
import { decodeJoinResponse, decodeJoinToken, ProtocolError } from '../../protocol/codec.ts';
import { JOIN_CA_PATH, JOIN_PATH, type JoinRequest } from '../../protocol/envelope.ts';
import { EdgeError, type EdgeErrorCode } from '../errors.ts';
import type { HubAddress, NodeTls } from '../hub/transport.ts';
import { rfc3339 } from '../../api/time.ts';

/** Options of {@link joinCloud}. */
export interface JoinOptions {
  /** Host name or IP of the cloud (`--cloud`). */
  readonly cloud: string;
  /** @default 10002 */
  readonly joinPort: number;
  /** The join token printed by `kedge token create`. */
  readonly token: string;
  readonly nodeName: string;
  readonly log: Logger;
  /** Per request. @default 30_000 */
  readonly timeoutMs?: number;
  /** Attempts when the join service answers 503 (too many joins at once). @default 5 */
  readonly busyAttempts?: number;
}

/** What a successful join gives the edge. */
export interface JoinResult {
  readonly tls: NodeTls;
  readonly hub: HubAddress;
}

interface HttpAnswer {
  readonly status: number;
  readonly body: string;
  readonly retryAfterSeconds: number | undefined;
}

const MAX_ANSWER_BYTES = 256 * 1024;

/**
 * Joins this machine to a cloud as node `nodeName`, as KubeEdge's edge bootstrap does:
 * 1. `GET /ca.crt` from the join service without trusting anything yet, then trust that CA only
 *    if its SHA-256 is the digest in the token (so the token alone authenticates the cloud);
 * 2. create an ECDSA P-256 key and a CSR for `CN=system:node:<name>, O=system:nodes`;
 * 3. `POST /join` (now verifying the server with the pinned CA) with the token and the CSR, and
 *    check the certificate that comes back before keeping it.
 * Nothing is written here; the caller stores the result.
 *
 * @throws {EdgeError} `JOIN_TOKEN_MALFORMED` (checked before any network traffic), `JOIN_UNREACHABLE`,
 * `JOIN_CA_MISMATCH`, or the join service's refusal with its own code (`JOIN_TOKEN_EXPIRED`,
 * `JOIN_TOKEN_REVOKED`, `JOIN_TOKEN_INVALID`, `JOIN_TOKEN_WRONG_CA`, `JOIN_NODE_NAME_TAKEN`, `JOIN_BAD_REQUEST`)
 */
export async function joinCloud(options: JoinOptions): Promise<JoinResult> {
  const { cloud, joinPort, nodeName, log } = options;
  const token = decodeJoinToken(options.token);
  if (token === undefined) {
    throw new EdgeError('JOIN_TOKEN_MALFORMED', 'the join token is malformed: expected <64 hex digits>.<6 characters>.<16 characters> as printed by "kedge token create"');
  }
  const timeoutMs = options.timeoutMs ?? 30_000;
  const where = `https://${isIP(cloud) === 6 ? `[${cloud}]` : cloud}:${joinPort}`;

  log.info('1. fetching the cluster CA', { from: `${where}${JOIN_CA_PATH}` });
  const caAnswer = await call(cloud, joinPort, 'GET', JOIN_CA_PATH, undefined, undefined, timeoutMs);
  if (caAnswer.status !== 200) throw new EdgeError('JOIN_UNREACHABLE', `${where}${JOIN_CA_PATH} answered HTTP ${caAnswer.status}; is this a kedge join service?`);
  let caPem: string;
  try {
    caPem = caAnswer.body;
    parseNodeCertificate(caPem);
  } catch (err) {
    throw new EdgeError('JOIN_UNREACHABLE', `${where}${JOIN_CA_PATH} did not return a certificate; is this a kedge join service?`, { cause: err });
  }
  const digest = caCertificateDigest(caPem);
  if (digest !== token.caDigest) {
    throw new EdgeError(
      'JOIN_CA_MISMATCH',
      `the CA served by ${where} (sha256 ${digest}) does not match the token (sha256 ${token.caDigest}): this is not the cloud the token was made for, or someone is in between; nothing was sent`,
    );
  }

  log.info('2. creating the node key and CSR', { node: nodeName });
  const key = await generateKeyPair();
  const keyPem = await exportPrivateKeyPem(key.privateKey);
  const csr = await createCsr({ commonName: `system:node:${nodeName}`, organizations: ['system:nodes'], key });

  log.info('3. asking the cloud for a node certificate', { node: nodeName });
  const body: JoinRequest = { token: options.token.trim(), nodeName, csr };
  let answer: HttpAnswer | undefined;
  const attempts = Math.max(1, options.busyAttempts ?? 5);
  for (let attempt = 1; ; attempt++) {
    answer = await call(cloud, joinPort, 'POST', JOIN_PATH, JSON.stringify(body), caPem, timeoutMs);
    if (answer.status !== 503 || attempt >= attempts) break;
    const wait = Math.min(10, answer.retryAfterSeconds ?? attempt) * 1000;
    log.info('the join service is busy; trying again', { attempt, retryInMs: wait });
    await delay(wait);
  }
  if (answer.status !== 200) throw refusal(answer, where);
  let parsed: unknown;
  try {
    parsed = JSON.parse(answer.body);
  } catch (err) {
    throw new EdgeError('JOIN_UNREACHABLE', `${where}${JOIN_PATH} answered with something that is not JSON`, { cause: err });
  }
  let response;
  try {
    response = decodeJoinResponse(parsed);
  } catch (err) {
    throw new EdgeError('JOIN_UNREACHABLE', `${where}${JOIN_PATH} answered with an unexpected body: ${err instanceof ProtocolError ? err.message : describeError(err)}`, { cause: err });
  }
  checkCertificate(response.certificate, keyPem, caPem, nodeName);
  log.info('joined', { node: nodeName, hub: `${response.hub.host}:${response.hub.port}`, notAfter: rfc3339(inspectCertificate(response.certificate).notAfter.getTime()) });
  return { tls: { ca: caPem, cert: response.certificate, key: keyPem }, hub: response.hub };
}

/** The join service's refusal as an EdgeError carrying its code, with the service's own words. */
function refusal(answer: HttpAnswer, where: string): EdgeError {
  let code: string | undefined;
  let message = answer.body.slice(0, 500);
  try {
    const b: unknown = JSON.parse(answer.body);
    if (isJsonObject(b) && typeof b['code'] === 'string' && typeof b['message'] === 'string') {
      code = b['code'];
      message = b['message'];
    }
  } catch {
    // Not a join service answer: reported with its HTTP status below.
  }
  if (code !== undefined && code.startsWith('JOIN_') && (ERROR_CODES as readonly string[]).includes(code)) {
    return new EdgeError(code as EdgeErrorCode, `the cloud refused the join [${code}]: ${message}`);
  }
  return new EdgeError('JOIN_UNREACHABLE', `${where}${JOIN_PATH} answered HTTP ${answer.status}${code !== undefined ? ` [${code}]` : ''}: ${message}`);
}

/** The certificate must be this node's, for this key, from the pinned CA; otherwise it would fail only at the hub. */
function checkCertificate(certPem: string, keyPem: string, caPem: string, nodeName: string): void {
  if (!keyMatchesCertificate(certPem, keyPem)) throw new EdgeError('JOIN_UNREACHABLE', 'the join service returned a certificate for another key');
  let info;
  try {
    info = verifyCertificate(parseNodeCertificate(caPem), certPem, { usage: 'client auth' });
  } catch (err) {
    throw new EdgeError('JOIN_UNREACHABLE', `the join service returned a certificate the pinned CA did not issue: ${describeError(err)}`, { cause: err });
  }
  if (info.commonName !== `system:node:${nodeName}` || !info.organizations.includes('system:nodes')) {
    throw new EdgeError('JOIN_UNREACHABLE', `the join service returned a certificate for ${info.commonName}, not system:node:${nodeName}`);
  }
}

/**
 * One HTTPS request. Without `caPem` the server is not verified (only the CA download, whose
 * content the token's digest then authenticates); with it, only that CA is trusted.
 * @throws {EdgeError} `JOIN_UNREACHABLE` when no answer arrives
 */
function call(host: string, port: number, method: 'GET' | 'POST', path: string, body: string | undefined, caPem: string | undefined, timeoutMs: number): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host,
        port,
        method,
        path,
        timeout: timeoutMs,
        ...(caPem === undefined ? { rejectUnauthorized: false } : { ca: caPem, rejectUnauthorized: true, servername: isIP(host) !== 0 ? '' : host }),
        headers: body !== undefined ? { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) } : {},
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_ANSWER_BYTES) req.destroy(new Error(`answer larger than ${MAX_ANSWER_BYTES} bytes`));
          else chunks.push(c);
        });
        res.on('end', () => {
          const retry = Number(res.headers['retry-after']);
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), retryAfterSeconds: Number.isFinite(retry) ? retry : undefined });
        });
        res.on('error', (err) => reject(unreachable(host, port, err)));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (err) => reject(unreachable(host, port, err)));
    req.end(body);
  });
}

function unreachable(host: string, port: number, err: Error): EdgeError {
  const tlsProblem = /certificate|self.signed|altname|TLS|SSL/i.test(err.message);
  return new EdgeError(
    'JOIN_UNREACHABLE',
    tlsProblem
      ? `the join service at ${host}:${port} did not prove it holds the pinned CA (${err.message}); check --cloud names a host its certificate covers`
      : `cannot reach the join service at ${host}:${port}: ${err.message}`,
    { cause: err },
  );
}
