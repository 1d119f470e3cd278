/**
 * The cluster CA and the certificates it issues, made with @peculiar/x509: the cloud's half of the
 * PKI. Edge nodes never load this module (see ./light.ts).
 */
import { randomBytes, type KeyObject, type X509Certificate as NodeX509Certificate, type webcrypto } from 'node:crypto';
import * as x509 from './x509.ts';
import { CertificateError } from './errors.ts';
import { exportPrivateKeyPem, generateKeyPair, importPrivateKeyPem, type KeyAlgorithm, type KeyPair } from './keys.ts';
import { canonicalIp, isDnsName, unique } from './names.ts';
import { parseNodeCertificate, type CertificateUsage } from './verify.ts';
import { rfc3339 } from '../api/time.ts';

// Also exported here, where the cloud's modules have always imported them from.
export { keyMatchesCertificate, parseNodeCertificate, type CertificateUsage } from './verify.ts';

/** A WebCrypto key, as @peculiar/x509 signs with it (the DOM lib is not loaded, so the type comes from node:crypto). */
export type CryptoKey = webcrypto.CryptoKey;
/** A WebCrypto key pair. */
export type CryptoKeyPair = webcrypto.CryptoKeyPair;

/** A signing CA: its certificate and key, as PEM and ready to use. Treat as immutable. */
export interface CertificateAuthority {
  readonly certPem: string;
  readonly keyPem: string;
  /** The CA certificate parsed by node:crypto, for synchronous chain checks on every request. */
  readonly certificate: NodeX509Certificate;
  /** The CA's keys as WebCrypto keys, the form @peculiar/x509 signs with. */
  readonly keys: CryptoKeyPair;
}

/** A certificate together with its private key, both PEM. */
export interface IssuedCertificate {
  readonly certPem: string;
  readonly keyPem: string;
}

const DAY_MS = 24 * 60 * 60 * 1000;
/**
 * Certificates start this long before "now": an edge node whose clock runs a little behind the
 * cloud's must still accept a certificate issued a second ago.
 */
const BACKDATE_MS = 5 * 60 * 1000;

/** Default lifetimes, as in kubeadm: a 10-year CA and 1-year leaf certificates. */
export const CA_VALIDITY_DAYS = 3650;
export const LEAF_VALIDITY_DAYS = 365;

/** Options for {@link createCa}. */
export interface CreateCaOptions {
  /** @default 'kedge-ca' */
  commonName?: string;
  /** @default 3650 */
  validityDays?: number;
  /** @default 'ECDSA-P256' */
  keyAlgorithm?: KeyAlgorithm;
  /** Issue time; for tests. @default new Date() */
  now?: Date;
}

/** Creates a self-signed CA that may sign leaf certificates (no intermediates: path length 0). */
export async function createCa(options: CreateCaOptions = {}): Promise<CertificateAuthority> {
  const commonName = options.commonName ?? 'kedge-ca';
  const validityDays = options.validityDays ?? CA_VALIDITY_DAYS;
  const now = options.now ?? new Date();
  requireName(commonName);
  requireDays(validityDays);
  const pair = await generateKeyPair(options.keyAlgorithm);
  const keys = toCryptoKeyPair(pair);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: [{ CN: [commonName] }],
    keys,
    signingAlgorithm: signingAlgorithmFor(keys.privateKey),
    notBefore: new Date(now.getTime() - BACKDATE_MS),
    notAfter: new Date(now.getTime() + validityDays * DAY_MS),
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  const certPem = cert.toString('pem') + '\n';
  return freezeCa(certPem, await exportPrivateKeyPem(pair.privateKey), keys);
}

/**
 * Loads a CA from PEM (made by kedge, kubeadm or openssl).
 * @throws {CertificateError} `malformed` when the certificate does not parse, `not-a-ca` when it
 * lacks the CA basic constraint, `invalid-key` / `key-mismatch` when the key is unreadable or not
 * the certificate's. Nothing in it waits any more (keys are compared as KeyObjects, not exported
 * through WebCrypto); it stays async so that its callers did not change.
 */
// eslint-disable-next-line @typescript-eslint/require-await
export async function loadCa(certPem: string, keyPem: string): Promise<CertificateAuthority> {
  const certificate = parseNodeCertificate(certPem);
  if (!certificate.ca) throw new CertificateError('not-a-ca', `certificate ${certificate.subject} is not a CA`);
  const pair = importPrivateKeyPem(keyPem);
  const keySpki = pair.publicKey.export({ type: 'spki', format: 'der' });
  if (!keySpki.equals(certificate.publicKey.export({ type: 'spki', format: 'der' }))) throw new CertificateError('key-mismatch', 'the CA key does not belong to the CA certificate');
  return freezeCa(certPem, keyPem, toCryptoKeyPair(pair));
}

function freezeCa(certPem: string, keyPem: string, keys: CryptoKeyPair): CertificateAuthority {
  return Object.freeze({ certPem, keyPem, certificate: parseNodeCertificate(certPem), keys });
}

/** Options for {@link issueServingCertificate}. */
export interface ServingCertificateOptions {
  /** DNS subject alternative names; clients (Go in particular) match the host only against SANs. */
  dnsNames?: readonly string[];
  /** IP subject alternative names, v4 or v6. */
  ipAddresses?: readonly string[];
  /** @default the first DNS name, else the first IP address */
  commonName?: string;
  /** @default 365 */
  validityDays?: number;
  /** @default 'ECDSA-P256' */
  keyAlgorithm?: KeyAlgorithm;
  /** @default new Date() */
  now?: Date;
}

/**
 * Issues a TLS server certificate with a fresh key.
 * @throws {CertificateError} `invalid-request` when there is no SAN or a SAN is not a DNS name / IP.
 */
export async function issueServingCertificate(ca: CertificateAuthority, options: ServingCertificateOptions): Promise<IssuedCertificate> {
  const dnsNames = options.dnsNames ?? [];
  const ipAddresses = options.ipAddresses ?? [];
  const commonName = options.commonName ?? dnsNames[0] ?? ipAddresses[0];
  if (commonName === undefined) throw new CertificateError('invalid-request', 'a serving certificate needs at least one DNS name or IP address');
  const keys = await generateKeyPair(options.keyAlgorithm);
  const certPem = await signLeaf(ca, toCryptoKeyPair(keys).publicKey, {
    commonName,
    organizations: [],
    dnsNames,
    ipAddresses,
    usages: ['server auth'],
    validityDays: options.validityDays ?? LEAF_VALIDITY_DAYS,
    now: options.now,
  });
  return { certPem, keyPem: await exportPrivateKeyPem(keys.privateKey) };
}

/** Options for {@link issueClientCertificate}. */
export interface ClientCertificateOptions {
  /** The user name the API server will see. */
  commonName: string;
  /** The groups the API server will see (besides `system:authenticated`). */
  organizations?: readonly string[];
  /** @default 365 */
  validityDays?: number;
  /** @default 'ECDSA-P256' */
  keyAlgorithm?: KeyAlgorithm;
  /** @default new Date() */
  now?: Date;
}

/** Issues a TLS client certificate (CN = user, O = groups) with a fresh key. */
export async function issueClientCertificate(ca: CertificateAuthority, options: ClientCertificateOptions): Promise<IssuedCertificate> {
  const keys = await generateKeyPair(options.keyAlgorithm);
  const certPem = await signLeaf(ca, toCryptoKeyPair(keys).publicKey, {
    commonName: options.commonName,
    organizations: options.organizations ?? [],
    dnsNames: [],
    ipAddresses: [],
    usages: ['client auth'],
    validityDays: options.validityDays ?? LEAF_VALIDITY_DAYS,
    now: options.now,
  });
  return { certPem, keyPem: await exportPrivateKeyPem(keys.privateKey) };
}

/** Everything the signer decides about a leaf certificate. */
export interface LeafProfile {
  commonName: string;
  organizations: readonly string[];
  dnsNames: readonly string[];
  ipAddresses: readonly string[];
  usages: readonly CertificateUsage[];
  validityDays: number;
  now?: Date | undefined;
}

/**
 * Signs a leaf certificate for `publicKey` with exactly the given profile. Shared by the issue
 * functions and CSR signing so that every certificate kedge hands out has the same shape.
 * @throws {CertificateError} `invalid-request` for an unusable profile, `expired` when the CA is.
 */
export async function signLeaf(ca: CertificateAuthority, publicKey: CryptoKey, profile: LeafProfile): Promise<string> {
  requireName(profile.commonName);
  requireDays(profile.validityDays);
  for (const o of profile.organizations) requireName(o);
  if (profile.usages.length === 0) throw new CertificateError('invalid-request', 'a certificate needs at least one usage');
  const dnsNames = unique(profile.dnsNames.map((d) => d.toLowerCase()));
  const badDns = dnsNames.find((d) => !isDnsName(d));
  if (badDns !== undefined) throw new CertificateError('invalid-request', `not a DNS name: ${JSON.stringify(badDns)}`);
  const ipAddresses = unique(
    profile.ipAddresses.map((ip) => {
      const canonical = canonicalIp(ip);
      if (canonical === undefined) throw new CertificateError('invalid-request', `not an IP address: ${JSON.stringify(ip)}`);
      return canonical;
    }),
  );

  const now = profile.now ?? new Date();
  const caNotAfter = ca.certificate.validToDate;
  if (caNotAfter.getTime() <= now.getTime()) throw new CertificateError('expired', `the CA expired at ${rfc3339(caNotAfter.getTime())}`);
  // A leaf outliving its CA would be refused by every client after the CA expires anyway; cap it
  // so that its notAfter tells the truth.
  const notAfter = new Date(Math.min(now.getTime() + profile.validityDays * DAY_MS, caNotAfter.getTime()));

  const caCert = new x509.X509Certificate(ca.certificate.raw);
  const caSki = caCert.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId;
  const isRsa = publicKey.algorithm.name.startsWith('RSA');
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    // RSA key exchange (TLS 1.2 without ECDHE) encrypts with the certificate key; ECDSA keys only sign.
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | (isRsa ? x509.KeyUsageFlags.keyEncipherment : 0), true),
    new x509.ExtendedKeyUsageExtension(profile.usages.map((u) => (u === 'server auth' ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth))),
    caSki !== undefined ? new x509.AuthorityKeyIdentifierExtension(caSki) : await x509.AuthorityKeyIdentifierExtension.create(ca.keys.publicKey),
  ];
  if (dnsNames.length + ipAddresses.length > 0) {
    extensions.push(
      new x509.SubjectAlternativeNameExtension([
        ...dnsNames.map((value) => ({ type: 'dns' as const, value })),
        ...ipAddresses.map((value) => ({ type: 'ip' as const, value })),
      ]),
    );
  }
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    // Go's pkix order: O before CN; one attribute per RDN.
    subject: [...unique(profile.organizations).map((o) => ({ O: [o] })), { CN: [profile.commonName] }],
    // The CA's own encoded name, byte for byte: verifiers match issuer to subject on the raw bytes,
    // and a CA made by openssl may use PrintableString where a re-encoding would use UTF8String.
    issuer: caCert.subjectName,
    publicKey,
    signingKey: ca.keys.privateKey,
    signingAlgorithm: signingAlgorithmFor(ca.keys.privateKey),
    notBefore: new Date(now.getTime() - BACKDATE_MS),
    notAfter,
    extensions,
  });
  return cert.toString('pem') + '\n';
}

/**
 * 128 random bits as a positive DER INTEGER (hex): the top bit is clear so the value is not
 * negative, and the first byte is non-zero so the encoding is minimal. Go refuses both.
 */
function randomSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] = ((bytes[0] ?? 0) & 0x7f) | 0x01;
  return bytes.toString('hex');
}

/**
 * Subject names are user and group names (`system:node:<node name>` can exceed RFC 5280's 64
 * characters, which Go does not enforce either), so only emptiness and control characters are refused.
 */
function requireName(name: string): void {
  // eslint-disable-next-line no-control-regex
  if (name.trim() === '' || name.length > 512 || /[\u0000-\u001f\u007f]/.test(name)) {
    throw new CertificateError('invalid-request', `not a usable subject name: ${JSON.stringify(name)}`);
  }
}

function requireDays(days: number): void {
  if (!Number.isFinite(days) || days <= 0) throw new CertificateError('invalid-request', `validity must be a positive number of days, got ${days}`);
}

/** WebCrypto parameters for each key kedge accepts (./keys.ts refuses the others). */
function webCryptoParams(key: KeyObject): webcrypto.EcKeyImportParams | webcrypto.RsaHashedImportParams {
  if (key.asymmetricKeyType === 'ec') return { name: 'ECDSA', namedCurve: key.asymmetricKeyDetails?.namedCurve === 'secp384r1' ? 'P-384' : 'P-256' };
  return { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
}

/** The same keys as WebCrypto keys, which is what @peculiar/x509 signs and embeds. */
function toCryptoKeyPair(pair: KeyPair): CryptoKeyPair {
  const params = webCryptoParams(pair.privateKey);
  return { privateKey: pair.privateKey.toCryptoKey(params, false, ['sign']), publicKey: pair.publicKey.toCryptoKey(params, true, ['verify']) };
}

/** The algorithm to sign certificates with, chosen from the signing key: SHA-256 for P-256 and RSA, SHA-384 for P-384. */
function signingAlgorithmFor(key: CryptoKey): webcrypto.EcdsaParams | webcrypto.Algorithm {
  const alg = key.algorithm as Partial<webcrypto.EcKeyAlgorithm>;
  if (alg.name === 'ECDSA') return { name: 'ECDSA', hash: alg.namedCurve === 'P-384' ? 'SHA-384' : 'SHA-256' };
  return { name: 'RSASSA-PKCS1-v1_5' };
}
