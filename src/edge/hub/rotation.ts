import { describeError } from '../../errors/platform-error.ts';
import type { Logger } from '../../log/logger.ts';
import { createCsr, exportPrivateKeyPem, generateKeyPair, inspectCertificate, keyMatchesCertificate, parseNodeCertificate, verifyCertificate } from '../../pki/light.ts';
import { envelope } from '../../protocol/codec.ts';
import { EdgeError } from '../errors.ts';
import type { Envelope } from '../../protocol/envelope.ts';
import { errorOf, type Session } from './session.ts';
import type { NodeTls } from './transport.ts';
import { rfc3339 } from '../../api/time.ts';

/** The node's credentials as EdgeHub uses them: read for every connection, replaced on rotation. */
export interface HubCredentials {
  /** The CA, certificate and key the next connection uses (PEM). */
  current(): NodeTls;
  /** Durably replaces the node certificate and its key; later connections use them. */
  replace(certPem: string, keyPem: string): Promise<void>;
}

/** Options of {@link CertificateRotation}. */
export interface CertificateRotationOptions {
  readonly nodeName: string;
  readonly credentials: HubCredentials;
  readonly log: Logger;
  /** @default Math.random */
  readonly random?: () => number;
  /** @default Date.now */
  readonly now?: () => number;
}

/** Longest timer Node.js accepts (about 24.8 days); longer waits re-arm. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** How long an answer to a `csr` may take: the cloud signs with its CA key, which is quick. */
const CSR_TIMEOUT_MS = 60_000;

/**
 * Renews the node certificate over the hub session, as KubeEdge's CertManager does: at a random
 * point between 70 % and 90 % of its lifetime (so a fleet joined together does not renew
 * together), with a fresh key, through a `csr` envelope the cloud answers with the new certificate.
 * The session stays up: TLS authenticated it once, and the next connection presents the new
 * certificate. A failure is logged (`EDGE_CERT_ROTATION_FAILED`) and retried, more often as expiry nears.
 */
export class CertificateRotation {
  readonly #o: CertificateRotationOptions;
  readonly #random: () => number;
  readonly #now: () => number;
  /** The certificate the due time was computed for, and that time. */
  #plan: { cert: string; dueAt: number } | undefined;
  #retryAt = 0;
  /**
   * Not before this (ms since the epoch): half the remaining life of the certificate renewed last.
   * Issued certificates start a few minutes in the past (clock skew), so a short-lived one can look
   * "mostly used" the moment it arrives; without this floor it would be renewed again at once, forever.
   */
  #settledUntil = 0;
  #running = false;
  #check: (() => void) | undefined;

  constructor(options: CertificateRotationOptions) {
    this.#o = options;
    this.#random = options.random ?? Math.random;
    this.#now = options.now ?? Date.now;
  }

  /** When the current certificate is due for renewal (ms since the epoch). */
  dueAt(): number {
    const cert = this.#o.credentials.current().cert;
    if (this.#plan?.cert !== cert) {
      const info = inspectCertificate(cert);
      const lifetime = info.notAfter.getTime() - info.notBefore.getTime();
      this.#plan = { cert, dueAt: info.notBefore.getTime() + lifetime * (0.7 + 0.2 * this.#random()) };
    }
    return Math.max(this.#plan.dueAt, this.#retryAt, this.#settledUntil);
  }

  /**
   * Watches the due time until `signal` aborts, renewing through the session `current()` returns
   * when it is in sync. @returns a function that stops it (idempotent).
   */
  start(signal: AbortSignal, current: () => Session | undefined): () => void {
    let timer: NodeJS.Timeout | undefined;
    const arm = (): void => {
      clearTimeout(timer);
      if (signal.aborted) return;
      let wait: number;
      try {
        wait = this.dueAt() - this.#now();
      } catch (err) {
        this.#o.log.error('cannot read the node certificate; not renewing it', { code: 'EDGE_CERT_ROTATION_FAILED', err: describeError(err) });
        return;
      }
      if (wait > 0) {
        timer = setTimeout(arm, Math.min(wait, MAX_TIMER_MS)).unref();
        return;
      }
      const session = current();
      // Not connected: a session that becomes ready calls nudge().
      if (session === undefined || !session.synced || this.#running) return;
      this.#running = true;
      this.#rotate(session)
        .catch((err: unknown) => {
          const left = (this.#plan === undefined ? 0 : inspectCertificate(this.#plan.cert).notAfter.getTime()) - this.#now();
          const retryIn = Math.min(60 * 60_000, Math.max(10_000, left / 20));
          this.#retryAt = this.#now() + retryIn;
          this.#o.log.warn('certificate renewal failed; keeping the current certificate', { code: 'EDGE_CERT_ROTATION_FAILED', err: describeError(err), retryInMs: Math.round(retryIn) });
        })
        .finally(() => {
          this.#running = false;
          arm();
        });
    };
    this.#check = arm;
    arm();
    const stop = (): void => {
      clearTimeout(timer);
      this.#check = undefined;
    };
    signal.addEventListener('abort', stop, { once: true });
    return stop;
  }

  /** A session just became ready: renew now if it is due. */
  nudge(): void {
    this.#check?.();
  }

  async #rotate(session: Session): Promise<void> {
    const { nodeName, credentials, log } = this.#o;
    const old = inspectCertificate(credentials.current().cert);
    log.info('renewing the node certificate', { notAfter: rfc3339(old.notAfter.getTime()) });
    const key = await generateKeyPair();
    const keyPem = await exportPrivateKeyPem(key.privateKey);
    const csr = await createCsr({ commonName: `system:node:${nodeName}`, organizations: ['system:nodes'], key });
    const reply = await session.request(envelope('edge', 'hub', 'csr', { csr }), CSR_TIMEOUT_MS);
    const refusal = errorOf(reply);
    if (refusal !== undefined) throw new EdgeError('EDGE_CERT_ROTATION_FAILED', `the hub refused the CSR: [${refusal.code}] ${refusal.message}`);
    const certificate = reply.route.operation === 'response' ? (reply as Envelope<'response'>).content['certificate'] : undefined;
    if (typeof certificate !== 'string') throw new EdgeError('EDGE_CERT_ROTATION_FAILED', `the hub answered the CSR with ${reply.route.operation} and no certificate`);
    // Check before storing: a certificate that does not fit the key, the CA or the node would lock
    // this edge out at its next connection.
    if (!keyMatchesCertificate(certificate, keyPem)) throw new EdgeError('EDGE_CERT_ROTATION_FAILED', 'the renewed certificate is not for the key of the CSR');
    const info = verifyCertificate(parseNodeCertificate(credentials.current().ca), certificate, { usage: 'client auth' });
    if (info.commonName !== `system:node:${nodeName}` || !info.organizations.includes('system:nodes')) {
      throw new EdgeError('EDGE_CERT_ROTATION_FAILED', `the renewed certificate is for ${info.commonName} (${info.organizations.join(',')}), not system:node:${nodeName}`);
    }
    await credentials.replace(certificate, keyPem);
    this.#retryAt = 0;
    this.#settledUntil = this.#now() + (info.notAfter.getTime() - this.#now()) / 2;
    log.info('node certificate renewed', { notAfter: rfc3339(info.notAfter.getTime()), serial: info.serialNumber });
  }
}
