import { createHash, type X509Certificate as NodeX509Certificate } from 'node:crypto';
import { parseNodeCertificate } from './verify.ts';

/**
 * The kubeadm-style pin of a CA: `sha256:<hex>` over the DER SubjectPublicKeyInfo of its public
 * key (`kubeadm join --discovery-token-ca-cert-hash`). A joining node fetches the CA over an
 * unauthenticated channel and trusts it only if the pin from its join token matches. Pinning the
 * key rather than the certificate means a CA re-issued with the same key keeps its pin.
 * @throws {CertificateError} `malformed`
 */
export function caPublicKeyPin(caCert: string | NodeX509Certificate): string {
  const cert = typeof caCert === 'string' ? parseNodeCertificate(caCert) : caCert;
  const spki = cert.publicKey.export({ type: 'spki', format: 'der' });
  return `sha256:${createHash('sha256').update(spki).digest('hex')}`;
}

/**
 * The SHA-256 (hex) of the whole CA certificate DER: the first part of a KubeEdge join token
 * (`<hash>.<jwt>`, KubeEdge `pkg/security/token`), kept for edge nodes that speak that format.
 */
export function caCertificateDigest(caCert: string | NodeX509Certificate): string {
  const cert = typeof caCert === 'string' ? parseNodeCertificate(caCert) : caCert;
  return createHash('sha256').update(cert.raw).digest('hex');
}

/**
 * True when `caCert`'s public key matches `pin` (`sha256:<hex>`, case-insensitive hex). A pin in
 * any other format never matches.
 */
export function matchesCaPin(caCert: string | NodeX509Certificate, pin: string): boolean {
  const m = /^sha256:([0-9a-f]{64})$/i.exec(pin.trim());
  return m?.[1] !== undefined && caPublicKeyPin(caCert) === `sha256:${m[1].toLowerCase()}`;
}
