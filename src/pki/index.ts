/**
 * kedge's PKI: key pairs, a cluster CA, serving and client certificates, CSRs, verification and
 * CA pins. Everything produced here is PEM that node:tls, OpenSSL and Go (kubectl) read.
 *
 * This is the whole PKI, for the cloud: ./light.ts (what a certificate holder needs, on
 * node:crypto alone) and the issuing side on @peculiar/x509 (the CA, issuing certificates,
 * parsing and signing CSRs). Edge code imports ./light.ts instead: see there why.
 */
export * from './light.ts';
export {
  createCa,
  loadCa,
  issueServingCertificate,
  issueClientCertificate,
  CA_VALIDITY_DAYS,
  LEAF_VALIDITY_DAYS,
  type CertificateAuthority,
  type CreateCaOptions,
  type ClientCertificateOptions,
  type CryptoKey,
  type CryptoKeyPair,
  type IssuedCertificate,
  type ServingCertificateOptions,
} from './certificate.ts';
export { parseCsr, signCsr, MAX_CSR_BYTES, type CsrInfo, type SignCsrOptions } from './csr.ts';
