import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { PlatformError } from '../../../errors/platform-error.ts';
import { writeFileAtomic, SECRET_FILE_MODE } from '../../../pki/pem.ts';
import { AUTHENTICATED_GROUP, type UserInfo } from './types.ts';

/** One bearer token and the identity it stands for. */
export interface TokenEntry {
  readonly token: string;
  readonly user: string;
  readonly uid?: string;
  readonly groups: readonly string[];
}

/**
 * `<dataDir>/pki/tokens.json`: `{ "apiVersion": "kedge.io/v1", "kind": "TokenList", "tokens": [...] }`.
 * The static-token file of kube-apiserver (`--token-auth-file`) as JSON.
 */
export interface TokenFile {
  readonly apiVersion: 'kedge.io/v1';
  readonly kind: 'TokenList';
  readonly tokens: readonly TokenEntry[];
}

/** Anything that maps a bearer token to a user; the Authenticator depends only on this. */
export interface TokenAuthenticator {
  /** The user `token` belongs to, or undefined. Must not leak through timing which tokens exist. */
  lookup(token: string): UserInfo | undefined;
}

/** 256 random bits, base64url: unguessable and safe in headers, URLs and kubeconfig files. */
export function generateToken(): string {
  return randomBytes(32).toString('base64url');
}

interface HashedEntry {
  readonly digest: Buffer;
  readonly user: UserInfo;
}

/**
 * An in-memory set of static bearer tokens. Lookups compare SHA-256 digests with
 * `timingSafeEqual` against every entry, so neither the length nor the position of a token
 * nor a partial match shows in the response time.
 */
export class TokenStore implements TokenAuthenticator {
  readonly #entries: readonly HashedEntry[];

  constructor(entries: readonly TokenEntry[]) {
    this.#entries = entries.map((e) => ({
      digest: digest(e.token),
      user: Object.freeze({
        name: e.user,
        groups: Object.freeze(uniqueWith(e.groups, AUTHENTICATED_GROUP)),
        ...(e.uid !== undefined ? { uid: e.uid } : {}),
      }),
    }));
  }

  /** Loads `tokens.json`; a missing file is an empty store. @throws {PlatformError} CONFIG_INVALID */
  static async load(path: string): Promise<TokenStore> {
    return new TokenStore(await readTokenFile(path));
  }

  lookup(token: string): UserInfo | undefined {
    if (token === '') return undefined;
    const presented = digest(token);
    let found: UserInfo | undefined;
    // No early exit: every lookup costs the same whether and wherever the token matches.
    for (const e of this.#entries) {
      if (timingSafeEqual(e.digest, presented) && found === undefined) found = e.user;
    }
    return found;
  }
}

/**
 * Reads and validates a token file; missing file → `[]`.
 * @throws {PlatformError} `CONFIG_INVALID` when the file is not a valid token list.
 */
export async function readTokenFile(path: string): Promise<TokenEntry[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new PlatformError('CONFIG_INVALID', `${path}: not valid JSON`, { cause: err });
  }
  const tokens = (doc as { tokens?: unknown } | null)?.tokens;
  if (!Array.isArray(tokens)) throw new PlatformError('CONFIG_INVALID', `${path}: expected {"tokens": [...]}`);
  return tokens.map((t: unknown, i) => parseEntry(t, `${path}: tokens[${i}]`));
}

function parseEntry(t: unknown, where: string): TokenEntry {
  const e = (typeof t === 'object' && t !== null ? t : {}) as Record<string, unknown>;
  const { token, user, uid, groups } = e;
  if (typeof token !== 'string' || token.length < 16) throw new PlatformError('CONFIG_INVALID', `${where}.token must be a string of at least 16 characters`);
  if (typeof user !== 'string' || user === '') throw new PlatformError('CONFIG_INVALID', `${where}.user must be a non-empty string`);
  if (uid !== undefined && typeof uid !== 'string') throw new PlatformError('CONFIG_INVALID', `${where}.uid must be a string`);
  if (groups !== undefined && (!Array.isArray(groups) || !groups.every((g) => typeof g === 'string'))) {
    throw new PlatformError('CONFIG_INVALID', `${where}.groups must be a list of strings`);
  }
  return { token, user, groups: groups ?? [], ...(uid !== undefined ? { uid } : {}) };
}

/** Writes a token file with mode 0600, atomically. */
export async function writeTokenFile(path: string, tokens: readonly TokenEntry[]): Promise<void> {
  const doc: TokenFile = { apiVersion: 'kedge.io/v1', kind: 'TokenList', tokens };
  await writeFileAtomic(path, JSON.stringify(doc, null, 2) + '\n', SECRET_FILE_MODE);
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

function uniqueWith(groups: readonly string[], extra: string): string[] {
  return [...new Set([...groups, extra])];
}
