/**
 * The PKI of a process that holds a certificate rather than issues them: an edge node (join,
 * rotation, its stored credentials) and the CLI. Key pairs, CSRs, reading and verifying
 * certificates, CA pins and PEM files, all on node:crypto (./der.ts writes the CSR).
 *
 * Why a second entry: ./index.ts also carries the CA and the CSR signer, which load
 * @peculiar/x509 with its ASN.1 schemas, tsyringe, a Reflect polyfill and WebCrypto, about 30 MB of
 * RSS that an edge node (70 MB in all, with 10 pods) cannot spare. Nothing reachable from here may
 * import ./x509.ts, ./certificate.ts or ./csr.ts; lint holds edge code to this entry.
 */
export { CertificateError, CsrError, type CertificateRejection, type CsrRejection } from './errors.ts';
export { generateKeyPair, exportPrivateKeyPem, exportPublicKeyPem, importPrivateKeyPem, type KeyAlgorithm, type KeyPair } from './keys.ts';
export { createCsr, type CreateCsrOptions } from './pkcs10.ts';
export {
  inspectCertificate,
  verifyCertificate,
  keyMatchesCertificate,
  parseNodeCertificate,
  type CertificateInfo,
  type CertificateUsage,
  type VerifyOptions,
} from './verify.ts';
export { caPublicKeyPin, caCertificateDigest, matchesCaPin } from './pin.ts';
export { canonicalIp, classifySans, isDnsName } from './names.ts';
export {
  decodePem,
  encodePem,
  firstPemBlock,
  readPemFile,
  writeCertificateFile,
  writeFileAtomic,
  writeKeyFile,
  PUBLIC_FILE_MODE,
  SECRET_FILE_MODE,
  type PemBlock,
} from './pem.ts';
