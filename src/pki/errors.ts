import { PlatformError } from '../errors/platform-error.ts';

/**
 * Why a certificate or key was refused. Callers and tests match on this (and on the error code),
 * never on the message text.
 */
export type CertificateRejection =
  /** Not parseable PEM/DER, or not a certificate at all. */
  | 'malformed'
  /** A private key that cannot be read, or a key type kedge does not use. */
  | 'invalid-key'
  /** The private key does not belong to the certificate. */
  | 'key-mismatch'
  /** Not issued by the given CA (issuer name or key identifiers differ). */
  | 'unknown-authority'
  /** Names the CA as issuer, but the CA's key did not sign it. */
  | 'bad-signature'
  | 'expired'
  | 'not-yet-valid'
  /** Valid, but not for this purpose (e.g. a serving certificate presented as a client certificate). */
  | 'wrong-usage'
  /** Used as a CA but lacks the CA basic constraint. */
  | 'not-a-ca'
  /** The parameters asked for something kedge refuses to issue (empty CN, invalid SAN, ...). */
  | 'invalid-request';

/** A certificate or key was refused or could not be produced; code `PKI_INVALID_CERTIFICATE`. */
export class CertificateError extends PlatformError {
  readonly reason: CertificateRejection;

  constructor(reason: CertificateRejection, message: string, options?: { cause?: unknown }) {
    super('PKI_INVALID_CERTIFICATE', message, options);
    this.reason = reason;
  }
}

/** Why a certificate signing request was refused. */
export type CsrRejection =
  | 'malformed'
  | 'too-large'
  /** The CSR is not signed by the key it carries: whoever sent it does not hold that key. */
  | 'bad-signature'
  /** RSA shorter than 2048 bits, or an algorithm kedge does not accept. */
  | 'unsupported-key'
  /** The CSR asks for a different CN or organizations than the signer decided. */
  | 'subject-mismatch'
  /** The signer's own parameters are unusable (no usages, empty CN, ...). */
  | 'invalid-request';

/** A certificate signing request was refused; code `PKI_INVALID_CSR`. */
export class CsrError extends PlatformError {
  readonly reason: CsrRejection;

  constructor(reason: CsrRejection, message: string, options?: { cause?: unknown }) {
    super('PKI_INVALID_CSR', message, options);
    this.reason = reason;
  }
}
