/**
 * kedge's PKI: key pairs, a cluster CA, serving and client certificates, CSRs, verification and
 * CA pins. Everything produced here is PEM that node:tls, OpenSSL and Go (kubectl) read.
 */
export { CertificateError, CsrError, type CertificateRejection, type CsrRejection } from './errors.ts';
export { generateKeyPair, exportPrivateKeyPem, exportPublicKeyPem, importPrivateKeyPem, type CryptoKey, type CryptoKeyPair, type KeyAlgorithm } from './keys.ts';
export {
  createCa,
  loadCa,
  issueServingCertificate,
  issueClientCertificate,
  keyMatchesCertificate,
  parseNodeCertificate,
  CA_VALIDITY_DAYS,
  LEAF_VALIDITY_DAYS,
  type CertificateAuthority,
  type CertificateUsage,
  type CreateCaOptions,
  type ClientCertificateOptions,
  type IssuedCertificate,
  type ServingCertificateOptions,
} from './certificate.ts';
export { createCsr, parseCsr, signCsr, MAX_CSR_BYTES, type CreateCsrOptions, type CsrInfo, type SignCsrOptions } from './csr.ts';
export { inspectCertificate, verifyCertificate, type CertificateInfo, type VerifyOptions } from './verify.ts';
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
