/**
 * PKCS#10 certificate signing requests (RFC 2986), written with node:crypto and ./der.ts: an edge
 * node asks for its certificate (at join and at every rotation) without loading an X.509 library.
 * The cloud parses and checks them with @peculiar/x509 (./csr.ts).
 */
import { createPublicKey, sign, type KeyObject } from 'node:crypto';
import { bitString, contextConstructed, integer, nullValue, objectIdentifier, sequence, setOf, utf8String } from './der.ts';
import { CertificateError } from './errors.ts';
import { requireAcceptedKey, type KeyPair } from './keys.ts';
import { encodePem } from './pem.ts';

/** Options for {@link createCsr}. */
export interface CreateCsrOptions {
  /** E.g. `system:node:<name>`. */
  commonName: string;
  /** E.g. `['system:nodes']`. */
  organizations?: readonly string[];
  /** The key pair the certificate is for; the CSR is signed with its private key. */
  key: KeyPair;
}

const OID_COMMON_NAME = '2.5.4.3';
const OID_ORGANIZATION = '2.5.4.10';

/** The signature algorithms, as AlgorithmIdentifier DER, with the hash each one signs with. */
const ECDSA_SHA256 = { hash: 'sha256', algorithm: sequence(objectIdentifier('1.2.840.10045.4.3.2')) };
const ECDSA_SHA384 = { hash: 'sha384', algorithm: sequence(objectIdentifier('1.2.840.10045.4.3.3')) };
// sha256WithRSAEncryption; RSA algorithm identifiers carry an explicit NULL (RFC 4055).
const RSA_SHA256 = { hash: 'sha256', algorithm: sequence(objectIdentifier('1.2.840.113549.1.1.11'), nullValue()) };

/**
 * Creates a PKCS#10 certificate signing request (PEM `CERTIFICATE REQUEST`) with the subject
 * `O=<each organization>, CN=<commonName>` and no attributes: the signer decides SANs and usages.
 * @throws {CertificateError} `invalid-key` for a key kedge does not use, `key-mismatch` when the
 * pair's halves do not belong together.
 */
export async function createCsr(options: CreateCsrOptions): Promise<string> {
  const { privateKey, publicKey } = options.key;
  if (privateKey.type !== 'private') throw new CertificateError('invalid-key', `the CSR must be signed with a private key, not a ${privateKey.type} key`);
  requireAcceptedKey(privateKey);
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  // A CSR carrying one key and signed with another would only be refused later, by the signer.
  if (!spki.equals(createPublicKey(privateKey).export({ type: 'spki', format: 'der' }))) {
    throw new CertificateError('key-mismatch', 'the public key of the pair does not belong to its private key');
  }
  // The hash follows the curve, as for the certificates the cloud signs (./certificate.ts).
  const signature = privateKey.asymmetricKeyType === 'rsa' ? RSA_SHA256 : privateKey.asymmetricKeyDetails?.namedCurve === 'secp384r1' ? ECDSA_SHA384 : ECDSA_SHA256;

  const info = sequence(
    integer(0), // version v1
    subjectName(options.commonName, options.organizations ?? []),
    spki, // SubjectPublicKeyInfo, as node:crypto exports it
    contextConstructed(0), // attributes [0] IMPLICIT SET OF Attribute: none
  );
  const signed = await signDer(signature.hash, info, privateKey);
  return encodePem('CERTIFICATE REQUEST', sequence(info, signature.algorithm, bitString(signed)));
}

/**
 * Go's pkix order, as the certificates the cloud issues: every O, then CN, one attribute per RDN.
 * UTF8String throughout: names like `system:node:x` are not PrintableString, and RFC 5280 prefers it.
 */
function subjectName(commonName: string, organizations: readonly string[]): Buffer {
  const rdn = (oid: string, value: string): Buffer => setOf(sequence(objectIdentifier(oid), utf8String(value)));
  return sequence(...organizations.map((o) => rdn(OID_ORGANIZATION, o)), rdn(OID_COMMON_NAME, commonName));
}

/** Signs on libuv's thread pool. ECDSA signatures come out DER-encoded (`Ecdsa-Sig-Value`), as PKCS#10 wants them. */
function signDer(hash: string, data: Buffer, key: KeyObject): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    sign(hash, data, { key, dsaEncoding: 'der' }, (err, signature) => {
      if (err === null) resolve(signature);
      else reject(err);
    });
  });
}
