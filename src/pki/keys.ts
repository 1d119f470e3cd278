import { createPrivateKey, createPublicKey, generateKeyPair as generateNodeKeyPair, type KeyObject } from 'node:crypto';
import { CertificateError } from './errors.ts';
import { encodePem } from './pem.ts';

/**
 * Key types kedge generates. ECDSA P-256 is the default: small, fast, and accepted by node:tls, Go
 * (kubectl, client-go) and KubeEdge's edgecore, which also generates P-256 keys.
 */
export type KeyAlgorithm = 'ECDSA-P256' | 'RSA-2048';

/**
 * A key pair as node:crypto holds it. Keys are KeyObjects rather than WebCrypto CryptoKeys so that
 * a process that only holds a certificate (an edge node) never loads WebCrypto; the cloud's signer
 * converts them where @peculiar/x509 wants CryptoKeys (./certificate.ts).
 */
export interface KeyPair {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
}

/** The curves kedge accepts (what node:tls, Go and KubeEdge all speak), by OpenSSL name. */
const EC_CURVES = new Set(['prime256v1', 'secp384r1']);

/** Generates a key pair off the main thread (RSA generation takes a noticeable fraction of a second). */
export function generateKeyPair(algorithm: KeyAlgorithm = 'ECDSA-P256'): Promise<KeyPair> {
  return new Promise((resolve, reject) => {
    const done = (err: Error | null, publicKey: KeyObject, privateKey: KeyObject): void => {
      if (err === null) resolve({ privateKey, publicKey });
      else reject(err);
    };
    if (algorithm === 'ECDSA-P256') generateNodeKeyPair('ec', { namedCurve: 'P-256' }, done);
    else generateNodeKeyPair('rsa', { modulusLength: 2048, publicExponent: 0x10001 }, done);
  });
}

/**
 * The private key as PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`), which node:tls, OpenSSL and Go's
 * `tls.X509KeyPair` (hence kubeconfig `client-key-data`) all read. Exporting a KeyObject is
 * synchronous; this stays async, as it was with WebCrypto keys, so that its callers and its failure
 * mode (a rejection) did not change.
 */
// eslint-disable-next-line @typescript-eslint/require-await
export async function exportPrivateKeyPem(key: KeyObject): Promise<string> {
  return encodePem('PRIVATE KEY', key.export({ type: 'pkcs8', format: 'der' }));
}

/** The public key as SubjectPublicKeyInfo PEM (`-----BEGIN PUBLIC KEY-----`). */
// eslint-disable-next-line @typescript-eslint/require-await
export async function exportPublicKeyPem(key: KeyObject): Promise<string> {
  return encodePem('PUBLIC KEY', key.export({ type: 'spki', format: 'der' }));
}

/**
 * Reads a private key in any unencrypted PEM form kedge may meet (PKCS#8, SEC1 `EC PRIVATE KEY`,
 * PKCS#1 `RSA PRIVATE KEY`, e.g. a CA made with openssl or kubeadm) and returns it with its public half.
 * @throws {CertificateError} `invalid-key` when the PEM is not a private key of a type kedge accepts.
 */
export function importPrivateKeyPem(pem: string): KeyPair {
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: pem, format: 'pem' });
  } catch (err) {
    throw new CertificateError('invalid-key', 'cannot read private key PEM', { cause: err });
  }
  requireAcceptedKey(privateKey);
  return { privateKey, publicKey: createPublicKey(privateKey) };
}

/**
 * Refuses keys kedge neither issues nor signs with: ECDSA other than P-256/P-384, RSA shorter than
 * 2048 bits, and every other type (Ed25519, DSA, ...), which not all of node:tls, Go and KubeEdge accept.
 * @throws {CertificateError} `invalid-key`
 */
export function requireAcceptedKey(key: KeyObject): void {
  if (key.asymmetricKeyType === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve ?? 'unknown';
    if (!EC_CURVES.has(curve)) throw new CertificateError('invalid-key', `unsupported EC curve ${curve}`);
    return;
  }
  if (key.asymmetricKeyType === 'rsa') {
    if ((key.asymmetricKeyDetails?.modulusLength ?? 0) < 2048) throw new CertificateError('invalid-key', 'RSA keys shorter than 2048 bits are refused');
    return;
  }
  throw new CertificateError('invalid-key', `unsupported key type ${key.asymmetricKeyType ?? 'unknown'}`);
}
