import { randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/** The user name remote MQTT clients authenticate with; the password is in the data dir. */
export const MQTT_USERNAME = 'kedge';

/** Credentials the embedded broker asks of clients that do not connect over loopback. */
export interface BrokerCredentials {
  readonly username: string;
  readonly password: string;
}

/**
 * The broker's password, from `path` (created on first use with 24 random bytes, mode 0600, as
 * base64url). Only clients that are not on loopback need it: `mosquitto_sub -u kedge -P "$(cat
 * <data-dir>/mqtt-password)"`.
 */
export async function loadOrCreateCredentials(path: string): Promise<BrokerCredentials> {
  try {
    const password = (await readFile(path, 'utf8')).trim();
    if (password.length >= 16) return { username: MQTT_USERNAME, password };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const password = randomBytes(24).toString('base64url');
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  await writeFile(path, `${password}\n`, { mode: 0o600 });
  return { username: MQTT_USERNAME, password };
}

/** Constant-time comparison of what a client sent with the credentials. */
export function credentialsMatch(expected: BrokerCredentials, username: string | undefined, password: Buffer | undefined): boolean {
  if (username !== expected.username || password === undefined) return false;
  const want = Buffer.from(expected.password);
  return password.length === want.length && timingSafeEqual(password, want);
}

/** True for 127.0.0.0/8, ::1 and IPv4-mapped loopback: the peers that need no credentials. */
export function isLoopback(address: string | undefined): boolean {
  if (address === undefined) return false;
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  return v4.startsWith('127.') || address === '::1';
}
