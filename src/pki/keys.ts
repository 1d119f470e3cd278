import { createPrivateKey, createPublicKey, type KeyObject, type webcrypto } from 'node:crypto';
import { CertificateError } from './errors.ts';
import { encodePem } from './pem.ts';

/**
 * Key types kedge generates. ECDSA P-256 is the default: small, fast, and accepted by node:tls, Go
 * (kubectl, client-go) and KubeEdge's edgecore, which also generates P-256 keys.
 */
export type KeyAlgorithm = 'ECDSA-P256' | 'RSA-2048';

/** A WebCrypto key (the DOM lib is not loaded, so the type comes from node:crypto). */
export type CryptoKey = webcrypto.CryptoKey;
/** A WebCrypto key pair. */
export type CryptoKeyPair = webcrypto.CryptoKeyPair;
/** WebCrypto parameters for signing with a given key, as @peculiar/x509 expects them. */
export type SigningAlgorithm = webcrypto.EcdsaParams | webcrypto.Algorithm;

const EC_CURVES: Readonly<Record<string, { namedCurve: string; hash: string }>> = {
  prime256v1: { namedCurve: 'P-256', hash: 'SHA-256' },
  secp384r1: { namedCurve: 'P-384', hash: 'SHA-384' },
};

/** Generates an extractable key pair (it has to be written to disk). */
export async function generateKeyPair(algorithm: KeyAlgorithm = 'ECDSA-P256'): Promise<CryptoKeyPair> {
  const params =
    algorithm === 'ECDSA-P256'
      ? { name: 'ECDSA', namedCurve: 'P-256' }
      : { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' };
  return await crypto.subtle.generateKey(params, true, ['sign', 'verify']);
}

/**
 * The private key as PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`), which node:tls, OpenSSL and Go's
 * `tls.X509KeyPair` (hence kubeconfig `client-key-data`) all read.
 */
export async function exportPrivateKeyPem(key: CryptoKey): Promise<string> {
  return encodePem('PRIVATE KEY', await crypto.subtle.exportKey('pkcs8', key));
}

/** The public key as SubjectPublicKeyInfo PEM (`-----BEGIN PUBLIC KEY-----`). */
export async function exportPublicKeyPem(key: CryptoKey): Promise<string> {
  return encodePem('PUBLIC KEY', await crypto.subtle.exportKey('spki', key));
}

/**
 * Reads a private key in any unencrypted PEM form kedge may meet (PKCS#8, SEC1 `EC PRIVATE KEY`,
 * PKCS#1 `RSA PRIVATE KEY`, e.g. a CA made with openssl or kubeadm) and returns it with its public
 * half, both usable for signing with WebCrypto.
 * @throws {CertificateError} `invalid-key` when the PEM is not a supported private key.
 */
export function importPrivateKeyPem(pem: string): CryptoKeyPair {
  let privateObject: KeyObject;
  try {
    privateObject = createPrivateKey({ key: pem, format: 'pem' });
  } catch (err) {
    throw new CertificateError('invalid-key', 'cannot read private key PEM', { cause: err });
  }
  const algorithm = importParams(privateObject);
  const publicObject = createPublicKey(privateObject);
  // Extractable so the pair can be written back out (e.g. kubeconfig client-key-data).
  const privateKey = privateObject.toCryptoKey(algorithm, true, ['sign']);
  const publicKey = publicObject.toCryptoKey(algorithm, true, ['verify']);
  return { privateKey, publicKey };
}

function importParams(key: KeyObject): webcrypto.EcKeyImportParams | webcrypto.RsaHashedImportParams {
  if (key.asymmetricKeyType === 'ec') {
    const curve = EC_CURVES[key.asymmetricKeyDetails?.namedCurve ?? ''];
    if (curve === undefined) {
      throw new CertificateError('invalid-key', `unsupported EC curve ${key.asymmetricKeyDetails?.namedCurve ?? 'unknown'}`);
    }
    return { name: 'ECDSA', namedCurve: curve.namedCurve };
  }
  if (key.asymmetricKeyType === 'rsa') {
    if ((key.asymmetricKeyDetails?.modulusLength ?? 0) < 2048) throw new CertificateError('invalid-key', 'RSA keys shorter than 2048 bits are refused');
    return { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
  }
  throw new CertificateError('invalid-key', `unsupported key type ${key.asymmetricKeyType ?? 'unknown'}`);
}

/** The algorithm to sign certificates with, chosen from the signing key: SHA-256 for P-256 and RSA, SHA-384 for P-384. */
export function signingAlgorithmFor(key: CryptoKey): SigningAlgorithm {
  const alg = key.algorithm as Partial<webcrypto.EcKeyAlgorithm>;
  if (alg.name === 'ECDSA') return { name: 'ECDSA', hash: alg.namedCurve === 'P-384' ? 'SHA-384' : 'SHA-256' };
  return { name: 'RSASSA-PKCS1-v1_5' };
}
