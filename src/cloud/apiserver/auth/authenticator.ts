import type { X509Certificate } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { Logger } from '../../../log/logger.ts';
import { CertificateError } from '../../../pki/errors.ts';
import { parseNodeCertificate } from '../../../pki/certificate.ts';
import { verifyCertificate } from '../../../pki/verify.ts';
import type { TokenAuthenticator } from './token-store.ts';
import { AUTHENTICATED_GROUP, type UserInfo } from './types.ts';

/** Dependencies of {@link Authenticator}. */
export interface AuthenticatorOptions {
  /** The cluster CA (PEM or parsed): client certificates must be issued by it directly. */
  readonly clientCa: string | X509Certificate;
  /** Bearer tokens. */
  readonly tokens: TokenAuthenticator;
  readonly log: Logger;
  /** Clock, for certificate validity; for tests. @default () => new Date() */
  readonly now?: () => Date;
}

/** What a TLS connection's client certificate proved, remembered for the connection's later requests. */
interface CertificateVerdict {
  /** Which certificate this is about: TLS 1.2 renegotiation can change it on the same socket. */
  readonly fingerprint: string;
  readonly user: UserInfo | undefined;
  /** The certificate stops being accepted after this instant (its notAfter, or the CA's). */
  readonly validUntil: number;
}

// `Sec-WebSocket-Protocol: base64url.bearer.authorization.k8s.io.<token>`: how browsers, which
// cannot set Authorization on a WebSocket, send a bearer token to kube-apiserver.
const WEBSOCKET_BEARER_PREFIX = 'base64url.bearer.authorization.k8s.io.';

/**
 * Turns a request into a user, as kube-apiserver's union of the x509 and static token
 * authenticators does: a client certificate issued by the cluster CA (user = CN, groups = O), else
 * an `Authorization: Bearer` token from the token store, else nobody (the server answers 401).
 *
 * The HTTPS server runs with `requestCert: true, rejectUnauthorized: false`, so that token and
 * anonymous clients can still connect; the certificate is therefore verified here, against the CA,
 * for client-auth usage and validity at the time of each request. An invalid certificate does not
 * fail the request by itself: like kube-apiserver, the token is tried next.
 */
export class Authenticator {
  readonly #ca: X509Certificate;
  readonly #tokens: TokenAuthenticator;
  readonly #log: Logger;
  readonly #now: () => Date;
  // A keep-alive connection carries many requests with the same certificate; verify its signature
  // once per connection and re-check only its expiry.
  readonly #verdicts = new WeakMap<object, CertificateVerdict>();

  constructor(options: AuthenticatorOptions) {
    this.#ca = typeof options.clientCa === 'string' ? parseNodeCertificate(options.clientCa) : options.clientCa;
    this.#tokens = options.tokens;
    this.#log = options.log;
    this.#now = options.now ?? (() => new Date());
  }

  /** The authenticated user, or undefined for an anonymous request (the caller answers 401). */
  authenticate(req: IncomingMessage): UserInfo | undefined {
    return this.#fromCertificate(req) ?? this.#fromToken(req);
  }

  #fromCertificate(req: IncomingMessage): UserInfo | undefined {
    const socket = req.socket as Partial<TLSSocket>;
    if (typeof socket.getPeerX509Certificate !== 'function') return undefined;
    const cert = socket.getPeerX509Certificate();
    if (cert === undefined) return undefined;
    const now = this.#now();
    const cached = this.#verdicts.get(socket);
    if (cached !== undefined && cached.fingerprint === cert.fingerprint256 && now.getTime() <= cached.validUntil) return cached.user;
    let verdict: CertificateVerdict;
    try {
      const info = verifyCertificate(this.#ca, cert, { usage: 'client auth', now });
      // kube-apiserver ignores certificates without a CN instead of authenticating "".
      const user = info.commonName === '' ? undefined : { name: info.commonName, groups: [...new Set([...info.organizations, AUTHENTICATED_GROUP])] };
      verdict = { fingerprint: cert.fingerprint256, user, validUntil: Math.min(info.notAfter.getTime(), this.#ca.validToDate.getTime()) };
    } catch (err) {
      if (!(err instanceof CertificateError)) throw err;
      this.#log.debug('client certificate refused', { reason: err.reason, error: err.message, remote: req.socket.remoteAddress });
      // A refusal is not cached: a not-yet-valid certificate may become valid on the same connection.
      return undefined;
    }
    this.#verdicts.set(socket, verdict);
    return verdict.user;
  }

  #fromToken(req: IncomingMessage): UserInfo | undefined {
    const token = bearerToken(req);
    if (token === undefined) return undefined;
    const user = this.#tokens.lookup(token);
    if (user === undefined) this.#log.debug('bearer token refused', { remote: req.socket.remoteAddress });
    return user;
  }
}

/** The bearer token of a request, from `Authorization` or the WebSocket subprotocol; undefined when none. */
export function bearerToken(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  if (header !== undefined) {
    const m = /^\s*bearer\s+(\S+)\s*$/i.exec(header);
    return m?.[1];
  }
  const protocols = req.headers['sec-websocket-protocol'];
  if (protocols === undefined) return undefined;
  for (const p of protocols.split(',')) {
    const proto = p.trim();
    if (!proto.startsWith(WEBSOCKET_BEARER_PREFIX)) continue;
    const encoded = proto.slice(WEBSOCKET_BEARER_PREFIX.length);
    if (!/^[A-Za-z0-9_-]+$/.test(encoded)) return undefined;
    const token = Buffer.from(encoded, 'base64url').toString('utf8');
    return token === '' ? undefined : token;
  }
  return undefined;
}
