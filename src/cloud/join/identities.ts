import { createHash } from 'node:crypto';
import { hasCode } from '../../errors/platform-error.ts';
import { JoinError } from './errors.ts';
import { TOKEN_NAMESPACE, type SecretObject, type SecretsClient } from './tokens.ts';
import { rfc3339 } from '../../api/time.ts';

/** The Secret type of node identity records. */
export const NODE_IDENTITY_TYPE = 'kedge.io/node-identity';
/** Records are named `kedge-node-<node name>` in kube-system. */
export const NODE_IDENTITY_PREFIX = 'kedge-node-';

const KEY_NODE = 'node-name';
const KEY_FINGERPRINT = 'public-key-sha256';
const KEY_NOT_AFTER = 'not-after';
const KEY_TOKEN = 'token-id';

/** Who holds a node name: the key of its newest certificate and when that certificate expires. */
export interface NodeIdentity {
  readonly nodeName: string;
  /** Hex SHA-256 of the certificate's DER SubjectPublicKeyInfo. */
  readonly fingerprint: string;
  readonly notAfter: Date;
}

/** Hex SHA-256 of a DER SubjectPublicKeyInfo: what identity records compare. */
export function publicKeyFingerprint(spkiDer: Uint8Array): string {
  return createHash('sha256').update(spkiDer).digest('hex');
}

/**
 * Which certificate holds each node name, as Secrets in kube-system so every cloud replica agrees.
 * A name is held by the key of the newest certificate issued for it until that certificate
 * expires: joining again with the same key (a re-run of `kedge edge join`) is fine, another key
 * is refused while the holder's certificate is valid, and certificate rotation moves the name to
 * the new key. An administrator frees a name by deleting its record.
 */
export class NodeIdentities {
  readonly #secrets: SecretsClient;
  readonly #now: () => Date;

  constructor(options: { secrets: SecretsClient; now?: () => Date }) {
    this.#secrets = options.secrets;
    this.#now = options.now ?? (() => new Date());
  }

  /** The record's name for a node (hashed when the node name is too long to fit a Secret name). */
  static recordName(nodeName: string): string {
    const name = `${NODE_IDENTITY_PREFIX}${nodeName}`;
    return name.length <= 253 ? name : `${NODE_IDENTITY_PREFIX}${createHash('sha256').update(nodeName).digest('hex').slice(0, 40)}`;
  }

  /** The current holder of `nodeName`, or undefined. */
  async get(nodeName: string): Promise<NodeIdentity | undefined> {
    const secret = await this.#secrets.get(TOKEN_NAMESPACE, NodeIdentities.recordName(nodeName));
    return secret === undefined ? undefined : identityOf(secret, nodeName);
  }

  /**
   * Records that the certificate with key `fingerprint`, valid until `notAfter`, holds `nodeName`.
   * @param options.replaces for a rotation, the key of the certificate being replaced: the claim
   * succeeds only while that key (or nobody) holds the name.
   * @throws JoinError `JOIN_NODE_NAME_TAKEN` when another key holds the name with a certificate
   * still valid.
   */
  async claim(nodeName: string, holder: { fingerprint: string; notAfter: Date; tokenId?: string }, options: { replaces?: string } = {}): Promise<void> {
    const name = NodeIdentities.recordName(nodeName);
    const data = encode({
      [KEY_NODE]: nodeName,
      [KEY_FINGERPRINT]: holder.fingerprint,
      [KEY_NOT_AFTER]: rfc3339(holder.notAfter.getTime()),
      ...(holder.tokenId !== undefined ? { [KEY_TOKEN]: holder.tokenId } : {}),
    });
    // Two joins for one name can race: creates and updates carry preconditions, and a loser re-reads.
    for (;;) {
      const current = await this.#secrets.get(TOKEN_NAMESPACE, name);
      if (current === undefined) {
        try {
          await this.#secrets.create(TOKEN_NAMESPACE, { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: TOKEN_NAMESPACE }, type: NODE_IDENTITY_TYPE, data });
          return;
        } catch (err) {
          if (hasCode(err, 'API_ALREADY_EXISTS')) continue;
          throw err;
        }
      }
      const held = identityOf(current, nodeName);
      if (held !== undefined && held.fingerprint !== holder.fingerprint) {
        const stillValid = held.notAfter.getTime() > this.#now().getTime();
        const isRotation = options.replaces !== undefined && options.replaces === held.fingerprint;
        if (stillValid && !isRotation) {
          throw new JoinError('JOIN_NODE_NAME_TAKEN', `node name ${nodeName} is held by another certificate (key sha256 ${held.fingerprint.slice(0, 16)}…, valid until ${rfc3339(held.notAfter.getTime())}); choose another name or delete the Secret ${TOKEN_NAMESPACE}/${name} to free it`);
        }
      }
      try {
        await this.#secrets.update({ ...current, type: NODE_IDENTITY_TYPE, data });
        return;
      } catch (err) {
        if (hasCode(err, 'API_CONFLICT') || hasCode(err, 'API_NOT_FOUND')) continue;
        throw err;
      }
    }
  }
}

/** The identity a record holds; undefined for a record of another type or node (a hash collision), which does not hold the name. */
function identityOf(secret: SecretObject, nodeName: string): NodeIdentity | undefined {
  if (secret.type !== NODE_IDENTITY_TYPE) return undefined;
  const d = Object.fromEntries(Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
  const notAfter = new Date(d[KEY_NOT_AFTER] ?? '');
  if (d[KEY_NODE] !== nodeName || d[KEY_FINGERPRINT] === undefined || Number.isNaN(notAfter.getTime())) return undefined;
  return { nodeName, fingerprint: d[KEY_FINGERPRINT], notAfter };
}

function encode(data: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v, 'utf8').toString('base64')]));
}
