import { createHash, randomInt, timingSafeEqual } from 'node:crypto';
import type { Secret } from 'kubernetes-types/core/v1.d.ts';
import type { KubeObject } from '../../api/object.ts';
import { hasCode } from '../../errors/platform-error.ts';
import { decodeJoinToken, encodeJoinToken } from '../../protocol/codec.ts';
import type { ResourceClient } from '../client/client.ts';
import { JoinError } from './errors.ts';
import { compareStrings } from '../../api/compare.ts';
import { rfc3339 } from '../../api/time.ts';

/** A Secret as the API serves it. */
export type SecretObject = KubeObject & Secret;

/** What the token store needs of a Secrets client: the in-process one in the cloud, the HTTPS one in the CLI. */
export type SecretsClient = Pick<ResourceClient<SecretObject>, 'get' | 'list' | 'create' | 'update' | 'delete'>;

/** Where bootstrap tokens live, as in Kubernetes. */
export const TOKEN_NAMESPACE = 'kube-system';
/** Kubernetes' Secret type for bootstrap tokens. */
export const BOOTSTRAP_TOKEN_TYPE = 'bootstrap.kubernetes.io/token';
/** Token Secrets are named `bootstrap-token-<id>`, as kubeadm names them. */
export const TOKEN_SECRET_PREFIX = 'bootstrap-token-';
/** The usage that lets a token join edge nodes (kubeadm's usages are `usage-bootstrap-<usage>` keys set to "true"). */
export const JOIN_USAGE = 'edge-join';

/**
 * The keys of a token Secret. Unlike kubeadm's, the secret half is stored only as a SHA-256: the
 * token is 80 random bits, so a plain hash cannot be reversed, and reading the Secret does not
 * give the power to join.
 */
const KEY_ID = 'token-id';
const KEY_SECRET_HASH = 'token-secret-sha256';
const KEY_EXPIRATION = 'expiration';
const KEY_DESCRIPTION = 'description';
const KEY_REVOKED = 'revoked-at';
const USAGE_PREFIX = 'usage-bootstrap-';

/**
 * Revoked and expired tokens are kept this long before {@link BootstrapTokens.cleanUp} deletes
 * them, so that a late join is told "expired" or "revoked" rather than "unknown token".
 */
export const TOKEN_RETENTION_MS = 7 * 24 * 60 * 60 * 1000;

/** One token as `kedge token list` shows it. */
export interface TokenInfo {
  readonly id: string;
  /** Undefined for a token that never expires. */
  readonly expires: Date | undefined;
  readonly revoked: Date | undefined;
  readonly usages: readonly string[];
  readonly description: string;
}

/** A token just created: the only time its secret is known. */
export interface CreatedToken extends TokenInfo {
  /** `<CA digest>.<id>.<secret>`: what `kedge edge join --token` takes. */
  readonly token: string;
}

/** Options for {@link BootstrapTokens.create}. */
export interface CreateTokenOptions {
  /** How long the token can be used; 0 = forever. @default 24 h */
  readonly ttlMs?: number;
  readonly description?: string;
}

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';
const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Join tokens stored as Secrets in kube-system, so every cloud replica sees the same ones. A token
 * is bound to the cluster CA by its first part (the SHA-256 of the CA certificate), which lets a
 * joining edge trust the CA it downloads, and proves its holder by a secret checked against the
 * stored hash.
 */
export class BootstrapTokens {
  readonly #secrets: SecretsClient;
  readonly #caDigest: string;
  readonly #now: () => Date;

  /**
   * @param options.caDigest `caCertificateDigest(ca)`: hex SHA-256 of the CA certificate DER.
   */
  constructor(options: { secrets: SecretsClient; caDigest: string; now?: () => Date }) {
    this.#secrets = options.secrets;
    this.#caDigest = options.caDigest;
    this.#now = options.now ?? (() => new Date());
  }

  /**
   * Creates a token (a Secret `kube-system/bootstrap-token-<id>`).
   * @throws ApiError from the API (e.g. 403 without admin rights)
   */
  async create(options: CreateTokenOptions = {}): Promise<CreatedToken> {
    const ttlMs = options.ttlMs ?? DAY_MS;
    if (!Number.isFinite(ttlMs) || ttlMs < 0) throw new RangeError(`token TTL must be 0 (forever) or positive, got ${ttlMs}`);
    // Stored with seconds precision, as Kubernetes writes times; report what is stored.
    const expires = ttlMs === 0 ? undefined : new Date(Math.floor((this.#now().getTime() + ttlMs) / 1000) * 1000);
    const description = options.description ?? '';
    // 36^6 ids: a collision is rare, and then simply another id is drawn.
    for (let attempt = 0; ; attempt++) {
      const id = randomText(6);
      const secret = randomText(16);
      const data: Record<string, string> = {
        [KEY_ID]: id,
        [KEY_SECRET_HASH]: secretHash(secret),
        [`${USAGE_PREFIX}${JOIN_USAGE}`]: 'true',
        ...(expires !== undefined ? { [KEY_EXPIRATION]: rfc3339(expires.getTime()) } : {}),
        ...(description !== '' ? { [KEY_DESCRIPTION]: description } : {}),
      };
      try {
        await this.#secrets.create(TOKEN_NAMESPACE, {
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: { name: `${TOKEN_SECRET_PREFIX}${id}`, namespace: TOKEN_NAMESPACE },
          type: BOOTSTRAP_TOKEN_TYPE,
          data: encodeData(data),
        });
      } catch (err) {
        if (hasCode(err, 'API_ALREADY_EXISTS') && attempt < 5) continue;
        throw err;
      }
      return { id, expires, revoked: undefined, usages: [JOIN_USAGE], description, token: encodeJoinToken({ caDigest: this.#caDigest, id, secret }) };
    }
  }

  /** Every token, sorted by id. */
  async list(): Promise<TokenInfo[]> {
    const { items } = await this.#secrets.list(TOKEN_NAMESPACE, { fieldSelector: `type=${BOOTSTRAP_TOKEN_TYPE}` });
    return items
      .filter((s) => s.type === BOOTSTRAP_TOKEN_TYPE && s.metadata.name?.startsWith(TOKEN_SECRET_PREFIX) === true)
      .map(tokenInfo)
      .sort((a, b) => compareStrings(a.id, b.id));
  }

  /**
   * Revokes a token: it stays stored (so a join with it is told "revoked") until {@link cleanUp}.
   * @returns false when there is no such token.
   */
  async revoke(id: string): Promise<boolean> {
    for (;;) {
      const secret = await this.#secrets.get(TOKEN_NAMESPACE, `${TOKEN_SECRET_PREFIX}${id}`);
      if (secret === undefined || secret.type !== BOOTSTRAP_TOKEN_TYPE) return false;
      if (secret.data?.[KEY_REVOKED] !== undefined) return true;
      try {
        await this.#secrets.update({ ...secret, data: { ...secret.data, ...encodeData({ [KEY_REVOKED]: rfc3339(this.#now().getTime()) }) } });
        return true;
      } catch (err) {
        if (!hasCode(err, 'API_CONFLICT')) throw err;
      }
    }
  }

  /**
   * Checks a join token.
   * @returns the token id.
   * @throws JoinError `JOIN_TOKEN_MALFORMED`, `JOIN_TOKEN_WRONG_CA`, `JOIN_TOKEN_INVALID` (unknown
   * id, wrong secret, or not for joining), `JOIN_TOKEN_REVOKED`, `JOIN_TOKEN_EXPIRED`. Whether it
   * is revoked or expired is told only to whoever knows the secret.
   */
  async verify(text: string): Promise<string> {
    const token = decodeJoinToken(text);
    if (token === undefined) throw new JoinError('JOIN_TOKEN_MALFORMED', 'the join token is not of the form <64 hex digits>.<6 characters a-z0-9>.<16 characters a-z0-9>');
    if (token.caDigest !== this.#caDigest) throw new JoinError('JOIN_TOKEN_WRONG_CA', `the join token was made for another cluster: its CA digest ${token.caDigest} is not this cloud's ${this.#caDigest}`);
    const secret = await this.#secrets.get(TOKEN_NAMESPACE, `${TOKEN_SECRET_PREFIX}${token.id}`);
    const data = secret?.type === BOOTSTRAP_TOKEN_TYPE ? decodeData(secret.data) : undefined;
    const stored = Buffer.from(data?.[KEY_SECRET_HASH] ?? '', 'hex');
    const given = Buffer.from(secretHash(token.secret), 'hex');
    if (data === undefined || stored.length !== given.length || !timingSafeEqual(stored, given)) {
      throw new JoinError('JOIN_TOKEN_INVALID', `join token ${token.id} is not known to this cloud (never created, deleted, or a wrong secret)`);
    }
    if (data[`${USAGE_PREFIX}${JOIN_USAGE}`] !== 'true') throw new JoinError('JOIN_TOKEN_INVALID', `token ${token.id} is not for joining edge nodes (no ${USAGE_PREFIX}${JOIN_USAGE})`);
    if (data[KEY_REVOKED] !== undefined) throw new JoinError('JOIN_TOKEN_REVOKED', `join token ${token.id} was revoked at ${data[KEY_REVOKED]}`);
    const expires = parseTime(data[KEY_EXPIRATION]);
    if (expires !== undefined && expires.getTime() <= this.#now().getTime()) throw new JoinError('JOIN_TOKEN_EXPIRED', `join token ${token.id} expired at ${rfc3339(expires.getTime())}`);
    return token.id;
  }

  /**
   * Deletes tokens revoked or expired more than `retentionMs` ago.
   * @returns the ids deleted.
   */
  async cleanUp(retentionMs = TOKEN_RETENTION_MS): Promise<string[]> {
    const cutoff = this.#now().getTime() - retentionMs;
    const deleted: string[] = [];
    for (const t of await this.list()) {
      const ended = Math.min(t.revoked?.getTime() ?? Infinity, t.expires?.getTime() ?? Infinity);
      if (ended > cutoff) continue;
      try {
        await this.#secrets.delete(TOKEN_NAMESPACE, `${TOKEN_SECRET_PREFIX}${t.id}`);
        deleted.push(t.id);
      } catch (err) {
        if (!hasCode(err, 'API_NOT_FOUND')) throw err;
      }
    }
    return deleted;
  }
}

function tokenInfo(secret: SecretObject): TokenInfo {
  const data = decodeData(secret.data);
  return {
    id: data[KEY_ID] ?? (secret.metadata.name ?? '').slice(TOKEN_SECRET_PREFIX.length),
    expires: parseTime(data[KEY_EXPIRATION]),
    revoked: parseTime(data[KEY_REVOKED]),
    usages: Object.keys(data)
      .filter((k) => k.startsWith(USAGE_PREFIX) && data[k] === 'true')
      .map((k) => k.slice(USAGE_PREFIX.length))
      .sort(),
    description: data[KEY_DESCRIPTION] ?? '',
  };
}

function secretHash(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

function randomText(length: number): string {
  let s = '';
  for (let i = 0; i < length; i++) s += ALPHABET[randomInt(ALPHABET.length)];
  return s;
}

function encodeData(data: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v, 'utf8').toString('base64')]));
}

function decodeData(data: Record<string, string> | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
}

function parseTime(text: string | undefined): Date | undefined {
  if (text === undefined) return undefined;
  const d = new Date(text);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

