/**
 * The cloud's side of certificate signing requests: parsing, proof of possession and signing, with
 * @peculiar/x509. Edge nodes write theirs with ./pkcs10.ts and never load this module.
 */
import * as x509 from './x509.ts';
import { CertificateError, CsrError } from './errors.ts';
import type { webcrypto } from 'node:crypto';
import { LEAF_VALIDITY_DAYS, signLeaf, type CertificateAuthority, type CertificateUsage, type CryptoKey } from './certificate.ts';
import { decodePem } from './pem.ts';

// Also exported here, where the cloud's modules have always imported it from.
export { createCsr, type CreateCsrOptions } from './pkcs10.ts';

/**
 * CSRs arrive from the network (the join service); a real one is well under 2 KiB, so anything
 * this large is refused before it reaches the ASN.1 parser.
 */
export const MAX_CSR_BYTES = 16 * 1024;

/** What a CSR asks for, once its signature has been checked. */
export interface CsrInfo {
  readonly commonName: string;
  readonly organizations: readonly string[];
  /** E.g. `ECDSA P-256` or `RSA 2048`. */
  readonly keyDescription: string;
  /** The public key to certify. */
  readonly publicKey: CryptoKey;
}

/**
 * Parses a CSR and proves that whoever made it holds the private key.
 * @throws {CsrError} `too-large`, `malformed`, `bad-signature`, `unsupported-key`.
 */
export async function parseCsr(csrPem: string): Promise<CsrInfo> {
  if (Buffer.byteLength(csrPem) > MAX_CSR_BYTES) throw new CsrError('too-large', `CSR is larger than ${MAX_CSR_BYTES} bytes`);
  // KubeEdge's edgecore and old OpenSSL write `NEW CERTIFICATE REQUEST`.
  const block = decodePem(csrPem).find((b) => b.label === 'CERTIFICATE REQUEST' || b.label === 'NEW CERTIFICATE REQUEST');
  if (block === undefined) throw new CsrError('malformed', 'no CERTIFICATE REQUEST PEM block found');
  let csr: x509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(block.der);
  } catch (err) {
    throw new CsrError('malformed', 'cannot parse certificate signing request', { cause: err });
  }
  const { keyDescription, importParams } = acceptedKey(csr.publicKey);
  let signed: boolean;
  try {
    signed = await csr.verify();
  } catch (err) {
    throw new CsrError('bad-signature', 'cannot verify the CSR signature', { cause: err });
  }
  if (!signed) throw new CsrError('bad-signature', 'the CSR is not signed by the key it carries');
  let publicKey: CryptoKey;
  try {
    publicKey = await crypto.subtle.importKey('spki', csr.publicKey.rawData, importParams, true, ['verify']);
  } catch (err) {
    throw new CsrError('unsupported-key', `cannot import the CSR's ${keyDescription} key`, { cause: err });
  }
  return {
    commonName: csr.subjectName.getField('CN').at(-1) ?? '',
    organizations: [...csr.subjectName.getField('O')],
    keyDescription,
    publicKey,
  };
}

/** What the signer (not the requester) decides about the certificate. */
export interface SignCsrOptions {
  /** The CN the CSR must carry, e.g. `system:node:<name authenticated by the join token>`. */
  commonName: string;
  /** The exact set of O the CSR must carry (order does not matter). */
  organizations: readonly string[];
  /** @default 365 */
  validityDays?: number;
  usages: readonly CertificateUsage[];
  /** SANs for a serving certificate, decided by the signer; any SANs in the CSR are ignored. */
  dnsNames?: readonly string[];
  ipAddresses?: readonly string[];
  /** @default new Date() */
  now?: Date;
}

/**
 * Signs a CSR after checking it asks for exactly the identity the signer decided on. The issued
 * certificate is built from `options` alone: other subject attributes (KubeEdge's edgecore adds
 * C, ST, L), SANs and extensions the CSR requests are not copied, so a requester cannot smuggle in
 * an identity or a usage.
 * @returns the certificate, PEM.
 * @throws {CsrError} as {@link parseCsr}; `subject-mismatch` when CN or the O set differ;
 * `invalid-request` when the options are unusable or the CA has expired.
 */
export async function signCsr(ca: CertificateAuthority, csrPem: string, options: SignCsrOptions): Promise<string> {
  const csr = await parseCsr(csrPem);
  if (csr.commonName !== options.commonName) {
    throw new CsrError('subject-mismatch', `CSR asks for CN ${JSON.stringify(csr.commonName)}, expected ${JSON.stringify(options.commonName)}`);
  }
  const asked = [...new Set(csr.organizations)].sort();
  const wanted = [...new Set(options.organizations)].sort();
  if (asked.length !== wanted.length || asked.some((o, i) => o !== wanted[i])) {
    throw new CsrError('subject-mismatch', `CSR asks for O ${JSON.stringify(asked)}, expected ${JSON.stringify(wanted)}`);
  }
  try {
    return await signLeaf(ca, csr.publicKey, {
      commonName: options.commonName,
      organizations: wanted,
      dnsNames: options.dnsNames ?? [],
      ipAddresses: options.ipAddresses ?? [],
      usages: options.usages,
      validityDays: options.validityDays ?? LEAF_VALIDITY_DAYS,
      now: options.now,
    });
  } catch (err) {
    if (err instanceof CertificateError) throw new CsrError('invalid-request', `cannot sign CSR: ${err.message}`, { cause: err });
    throw err;
  }
}

/**
 * Accepts the keys every TLS stack kedge talks to supports: ECDSA P-256/P-384 and RSA of at least
 * 2048 bits.
 */
function acceptedKey(key: x509.PublicKey): { keyDescription: string; importParams: webcrypto.EcKeyImportParams | webcrypto.RsaHashedImportParams } {
  const alg = key.algorithm as Partial<webcrypto.EcKeyAlgorithm & webcrypto.RsaHashedKeyAlgorithm>;
  if (alg.name === 'ECDSA' && (alg.namedCurve === 'P-256' || alg.namedCurve === 'P-384')) {
    return { keyDescription: `ECDSA ${alg.namedCurve}`, importParams: { name: 'ECDSA', namedCurve: alg.namedCurve } };
  }
  if (alg.name?.startsWith('RSA') === true && (alg.modulusLength ?? 0) >= 2048) {
    // The hash only matters for signatures made with this key, and kedge never verifies any.
    return { keyDescription: `RSA ${alg.modulusLength}`, importParams: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } };
  }
  const what = alg.name === 'ECDSA' ? `ECDSA ${alg.namedCurve ?? '?'}` : alg.name?.startsWith('RSA') === true ? `RSA ${alg.modulusLength ?? '?'}` : (alg.name ?? 'unknown');
  throw new CsrError('unsupported-key', `CSR key ${what} is not accepted; use ECDSA P-256/P-384 or RSA >= 2048`);
}
