import { X509Certificate as NodeX509Certificate } from 'node:crypto';
import * as x509 from './x509.ts';
import { parseNodeCertificate, type CertificateAuthority, type CertificateUsage } from './certificate.ts';
import { CertificateError } from './errors.ts';
import { canonicalIp } from './names.ts';

/** What kedge reads out of a certificate. */
export interface CertificateInfo {
  /** The last CN of the subject, as Go's `pkix.Name.CommonName` reads it. */
  readonly commonName: string;
  /** Every O of the subject, in order. */
  readonly organizations: readonly string[];
  readonly dnsNames: readonly string[];
  /** Canonical text (`::1`, `10.0.0.1`). */
  readonly ipAddresses: readonly string[];
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** Upper-case hex, as node:crypto and openssl print it. */
  readonly serialNumber: string;
  readonly isCa: boolean;
  /** Extended key usages; undefined when the certificate has none, which means "any" to TLS verifiers. */
  readonly usages: readonly CertificateUsage[] | undefined;
}

const USAGE_BY_OID: Readonly<Record<string, CertificateUsage>> = {
  [x509.ExtendedKeyUsage.serverAuth]: 'server auth',
  [x509.ExtendedKeyUsage.clientAuth]: 'client auth',
};

/**
 * Reads the fields kedge cares about from a certificate, without checking who issued it.
 * @throws {CertificateError} `malformed`
 */
export function inspectCertificate(cert: string | NodeX509Certificate): CertificateInfo {
  const node = typeof cert === 'string' ? parseNodeCertificate(cert) : cert;
  let parsed: x509.X509Certificate;
  try {
    parsed = new x509.X509Certificate(node.raw);
  } catch (err) {
    throw new CertificateError('malformed', 'cannot parse certificate', { cause: err });
  }
  const san = parsed.getExtension(x509.SubjectAlternativeNameExtension);
  const items = san?.names.items ?? [];
  const eku = parsed.getExtension(x509.ExtendedKeyUsageExtension);
  return {
    commonName: parsed.subjectName.getField('CN').at(-1) ?? '',
    organizations: [...parsed.subjectName.getField('O')],
    dnsNames: items.filter((i) => i.type === 'dns').map((i) => i.value),
    ipAddresses: items.filter((i) => i.type === 'ip').map((i) => canonicalIp(i.value) ?? i.value),
    notBefore: node.validFromDate,
    notAfter: node.validToDate,
    serialNumber: node.serialNumber,
    isCa: node.ca,
    usages: eku === null ? undefined : Array.from(eku.usages).flatMap((oid) => (typeof oid === 'string' && USAGE_BY_OID[oid] !== undefined ? [USAGE_BY_OID[oid]] : [])),
  };
}

/** Options for {@link verifyCertificate}. */
export interface VerifyOptions {
  /** The purpose the certificate is presented for; refused when its extended key usages exclude it. */
  usage?: CertificateUsage;
  /** @default new Date() */
  now?: Date;
}

/**
 * Checks that `cert` was issued and signed by `ca` directly (kedge issues no intermediates), that
 * both are within their validity period at `now`, and that it may be used for `usage`. Synchronous,
 * so the API server can run it on every request.
 * @returns what the certificate says, once it is trusted.
 * @throws {CertificateError} `malformed`, `unknown-authority`, `bad-signature`, `expired`,
 * `not-yet-valid`, `wrong-usage`, or `not-a-ca` when `ca` is not a CA.
 */
export function verifyCertificate(ca: CertificateAuthority | NodeX509Certificate, cert: string | NodeX509Certificate, options: VerifyOptions = {}): CertificateInfo {
  const caCert = ca instanceof NodeX509Certificate ? ca : ca.certificate;
  const leaf = typeof cert === 'string' ? parseNodeCertificate(cert) : cert;
  const now = options.now ?? new Date();
  if (!caCert.ca) throw new CertificateError('not-a-ca', `${caCert.subject} is not a CA`);
  // checkIssued compares the issuer name and key identifiers; verify checks the signature itself.
  if (!leaf.checkIssued(caCert)) throw new CertificateError('unknown-authority', `certificate ${subjectOf(leaf)} was not issued by ${caCert.subject}`);
  if (!leaf.verify(caCert.publicKey)) throw new CertificateError('bad-signature', `certificate ${subjectOf(leaf)} has an invalid signature`);
  checkValidity(caCert, now, 'the CA certificate');
  checkValidity(leaf, now, `certificate ${subjectOf(leaf)}`);
  const info = inspectCertificate(leaf);
  if (options.usage !== undefined && info.usages !== undefined && !info.usages.includes(options.usage)) {
    throw new CertificateError('wrong-usage', `certificate ${subjectOf(leaf)} is not valid for ${options.usage}`);
  }
  return info;
}

function checkValidity(cert: NodeX509Certificate, now: Date, what: string): void {
  if (now < cert.validFromDate) throw new CertificateError('not-yet-valid', `${what} is not valid before ${cert.validFromDate.toISOString()}`);
  if (now > cert.validToDate) throw new CertificateError('expired', `${what} expired at ${cert.validToDate.toISOString()}`);
}

function subjectOf(cert: NodeX509Certificate): string {
  return JSON.stringify(cert.subject.replaceAll('\n', ', '));
}
