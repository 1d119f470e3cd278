/**
 * Reading and checking certificates with node:crypto alone (OpenSSL underneath): the part of the
 * PKI every process needs, edge nodes included, so nothing here may load @peculiar/x509.
 */
import { X509Certificate as NodeX509Certificate, createPrivateKey, createPublicKey } from 'node:crypto';
import { CertificateError } from './errors.ts';
import { canonicalIp } from './names.ts';
import { firstPemBlock } from './pem.ts';
import { rfc3339 } from '../api/time.ts';

/**
 * What a certificate may be used for, named as in the Kubernetes CertificateSigningRequest API
 * (`spec.usages`). The key usage bits (digital signature, key encipherment) follow from the key type.
 */
export type CertificateUsage = 'client auth' | 'server auth';

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

/** id-kp-serverAuth and id-kp-clientAuth (RFC 5280 4.2.1.12). */
const USAGE_BY_OID: Readonly<Record<string, CertificateUsage>> = {
  '1.3.6.1.5.5.7.3.1': 'server auth',
  '1.3.6.1.5.5.7.3.2': 'client auth',
};

/**
 * Parses a PEM certificate with node:crypto.
 * @throws {CertificateError} `malformed`
 */
export function parseNodeCertificate(pem: string): NodeX509Certificate {
  const der = firstPemBlock(pem, 'CERTIFICATE');
  if (der === undefined) throw new CertificateError('malformed', 'no CERTIFICATE PEM block found');
  try {
    return new NodeX509Certificate(der);
  } catch (err) {
    throw new CertificateError('malformed', 'cannot parse certificate', { cause: err });
  }
}

/**
 * True when `keyPem` is the private key of the certificate: a crash between writing a certificate
 * and its key must not leave a pair that fails only at the first TLS handshake. Unreadable input,
 * a public key and the certificate itself are simply not a match.
 */
export function keyMatchesCertificate(certPem: string, keyPem: string): boolean {
  try {
    // createPublicKey alone would also take a public key or the certificate itself as "the key".
    const fromKey = createPublicKey(createPrivateKey({ key: keyPem, format: 'pem' })).export({ type: 'spki', format: 'der' });
    return fromKey.equals(parseNodeCertificate(certPem).publicKey.export({ type: 'spki', format: 'der' }));
  } catch {
    return false;
  }
}

/**
 * Reads the fields kedge cares about from a certificate, without checking who issued it.
 * @throws {CertificateError} `malformed`
 */
export function inspectCertificate(cert: string | NodeX509Certificate): CertificateInfo {
  const node = typeof cert === 'string' ? parseNodeCertificate(cert) : cert;
  // The legacy object carries the subject as decoded values (repeated attributes as arrays), where
  // `subject` is text with escapes to undo; it is what node:tls hands out as getPeerCertificate().
  const subject = node.toLegacyObject().subject as unknown as Readonly<Record<string, string | string[] | undefined>>;
  const names = subjectAltNames(node.subjectAltName);
  // Typed as always present, but undefined when the certificate has no extended key usage extension.
  const eku = node.keyUsage as readonly string[] | undefined;
  return {
    commonName: valuesOf(subject['CN']).at(-1) ?? '',
    organizations: valuesOf(subject['O']),
    dnsNames: names.filter((n) => n.type === 'DNS').map((n) => n.value),
    ipAddresses: names.filter((n) => n.type === 'IP Address').map((n) => canonicalIp(n.value) ?? n.value),
    notBefore: node.validFromDate,
    notAfter: node.validToDate,
    serialNumber: node.serialNumber,
    isCa: node.ca,
    usages: eku?.flatMap((oid) => (USAGE_BY_OID[oid] !== undefined ? [USAGE_BY_OID[oid]] : [])),
  };
}

function valuesOf(field: string | readonly string[] | undefined): string[] {
  return field === undefined ? [] : typeof field === 'string' ? [field] : [...field];
}

/**
 * Splits node:crypto's subjectAltName text (`DNS:a, IP Address:10.0.0.1`) into its entries. Node
 * writes a value that contains a separator or quote as a JSON string (`DNS:"a\u002c DNS:b"`), so
 * a name cannot pose as two.
 * @throws {CertificateError} `malformed` for text in another shape.
 */
function subjectAltNames(text: string | undefined): { type: string; value: string }[] {
  if (text === undefined || text === '') return [];
  const entries: { type: string; value: string }[] = [];
  const entry = /([^:,"]+):("(?:[^"\\]|\\.)*"|[^,"]*)(?:, |$)/y;
  while (entry.lastIndex < text.length) {
    const m = entry.exec(text);
    if (m === null) throw new CertificateError('malformed', `cannot read the subject alternative names ${JSON.stringify(text)}`);
    const [, type = '', raw = ''] = m;
    let value = raw;
    if (raw.startsWith('"')) {
      try {
        value = JSON.parse(raw) as string;
      } catch (err) {
        throw new CertificateError('malformed', `cannot read the subject alternative name ${raw}`, { cause: err });
      }
    }
    entries.push({ type, value });
  }
  return entries;
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
 * so the API server can run it on every request. `ca` is the CA certificate, or anything that
 * carries it as `certificate` (a CertificateAuthority).
 * @returns what the certificate says, once it is trusted.
 * @throws {CertificateError} `malformed`, `unknown-authority`, `bad-signature`, `expired`,
 * `not-yet-valid`, `wrong-usage`, or `not-a-ca` when `ca` is not a CA.
 */
export function verifyCertificate(ca: { readonly certificate: NodeX509Certificate } | NodeX509Certificate, cert: string | NodeX509Certificate, options: VerifyOptions = {}): CertificateInfo {
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
  if (now < cert.validFromDate) throw new CertificateError('not-yet-valid', `${what} is not valid before ${rfc3339(cert.validFromDate.getTime())}`);
  if (now > cert.validToDate) throw new CertificateError('expired', `${what} expired at ${rfc3339(cert.validToDate.getTime())}`);
}

function subjectOf(cert: NodeX509Certificate): string {
  return JSON.stringify(cert.subject.replaceAll('\n', ', '));
}
