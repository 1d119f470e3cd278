import { mkdir, chmod } from 'node:fs/promises';
import { hostname, networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { PlatformError } from '../../../errors/platform-error.ts';
import type { Logger } from '../../../log/logger.ts';
import { createCa, issueClientCertificate, issueServingCertificate, keyMatchesCertificate, loadCa, type CertificateAuthority, type IssuedCertificate } from '../../../pki/certificate.ts';
import { CertificateError } from '../../../pki/errors.ts';
import { canonicalIp, classifySans, isDnsName, unique } from '../../../pki/names.ts';
import { SECRET_FILE_MODE, readPemFile, writeFileAtomic } from '../../../pki/pem.ts';
import { caPublicKeyPin } from '../../../pki/pin.ts';
import { verifyCertificate, type CertificateInfo } from '../../../pki/verify.ts';
import { generateToken, readTokenFile, writeTokenFile } from '../auth/token-store.ts';
import { ADMIN_USER, MASTERS_GROUP } from '../auth/types.ts';
import { writeKubeconfig } from './kubeconfig.ts';
import { rfc3339 } from '../../../api/time.ts';

/** Where the cloud's credentials live under the data directory. */
export interface CredentialPaths {
  /** `<dataDir>/pki`, mode 0700. */
  readonly pkiDir: string;
  readonly caCert: string;
  readonly caKey: string;
  readonly servingCert: string;
  readonly servingKey: string;
  readonly adminCert: string;
  readonly adminKey: string;
  /** Static bearer tokens, see the auth module's TokenFile. */
  readonly tokens: string;
  /** The admin kubeconfig, `<dataDir>/kubeconfig`. */
  readonly kubeconfig: string;
}

/** The file layout under `dataDir`. */
export function credentialPaths(dataDir: string): CredentialPaths {
  const pkiDir = join(dataDir, 'pki');
  return {
    pkiDir,
    caCert: join(pkiDir, 'ca.crt'),
    caKey: join(pkiDir, 'ca.key'),
    servingCert: join(pkiDir, 'apiserver.crt'),
    servingKey: join(pkiDir, 'apiserver.key'),
    adminCert: join(pkiDir, 'admin.crt'),
    adminKey: join(pkiDir, 'admin.key'),
    tokens: join(pkiDir, 'tokens.json'),
    kubeconfig: join(dataDir, 'kubeconfig'),
  };
}

/** Options for {@link ensureCloudCredentials}. */
export interface CloudCredentialsOptions {
  readonly dataDir: string;
  /** Extra serving-certificate SANs (`--tls-san`): DNS names or IP addresses. */
  readonly tlsSans: readonly string[];
  readonly log: Logger;
  /** When known up front, the admin kubeconfig is written with this server URL right away. */
  readonly serverUrl?: string;
  /** The host's name and addresses; for tests. @default os.hostname() and os.networkInterfaces() */
  readonly host?: { readonly hostname: string; readonly addresses: readonly string[] };
  /** @default () => new Date() */
  readonly now?: () => Date;
}

/** The cloud's credentials, ready to serve with. */
export interface CloudCredentials {
  /** The cluster CA, to sign node certificates with. */
  readonly ca: CertificateAuthority;
  readonly caCertPem: string;
  /** `sha256:<hex>` of the CA public key, for join tokens. */
  readonly caPin: string;
  readonly servingCertPem: string;
  readonly servingKeyPem: string;
  readonly adminCertPem: string;
  readonly adminKeyPem: string;
  /** A bearer token for `kedge-admin` (group `system:masters`), also stored in `tokens.json`. */
  readonly adminToken: string;
  readonly paths: CredentialPaths;
  /** = `paths.tokens`, for the API server's token store. */
  readonly tokensPath: string;
  /**
   * Writes `<dataDir>/kubeconfig` for `kedge-admin` against `serverUrl` (only if it changed).
   * @returns the kubeconfig's path.
   */
  writeAdminKubeconfig(serverUrl: string): Promise<string>;
}

/**
 * Leaf certificates are reissued this long before they expire, so that a cloud restarted now and
 * then never serves an expired certificate.
 */
const RENEW_BEFORE_MS = 30 * 24 * 60 * 60 * 1000;

/**
 * Makes sure the cloud has its credentials under `<dataDir>/pki/` and returns them. On the first
 * start it creates the cluster CA, the API serving certificate, the admin client certificate
 * (`kedge-admin`, `system:masters`) and the admin bearer token. Later starts reuse them; the serving
 * certificate is reissued from the same CA when it no longer covers the host's names and addresses
 * plus `tlsSans`, and leaf certificates are renewed 30 days before they expire. The CA is never
 * replaced: every node certificate depends on it.
 *
 * Directories are created with mode 0700, files with 0600.
 * @throws {PlatformError} `CONFIG_INVALID` for a `tlsSans` entry that is neither a DNS name nor an IP.
 * @throws {CertificateError} when the stored CA is unusable (half missing, key mismatch, expired).
 */
export async function ensureCloudCredentials(options: CloudCredentialsOptions): Promise<CloudCredentials> {
  const { log } = options;
  const now = options.now ?? (() => new Date());
  const paths = credentialPaths(options.dataDir);
  const extra = classifySans(options.tlsSans);
  if (extra.invalid.length > 0) {
    throw new PlatformError('CONFIG_INVALID', `--tls-san values must be DNS names or IP addresses: ${extra.invalid.map((s) => JSON.stringify(s)).join(', ')}`);
  }
  await mkdir(options.dataDir, { recursive: true, mode: 0o700 });
  await mkdir(paths.pkiDir, { recursive: true, mode: 0o700 });
  // mkdir leaves an existing directory's mode alone, e.g. one made by hand; the CA key lives here.
  await chmod(paths.pkiDir, 0o700);

  const ca = await ensureCa(paths, log, now());
  const caPin = caPublicKeyPin(ca.certificate);

  const host = options.host ?? localHost();
  const wanted = servingSans(host, extra, log);
  const serving = await ensureLeaf(ca, paths.servingCert, paths.servingKey, now(), {
    what: 'API serving certificate',
    log,
    usage: 'server auth',
    acceptable: (info) => {
      const missing = [...wanted.dnsNames.filter((d) => !info.dnsNames.includes(d)), ...wanted.ipAddresses.filter((ip) => !info.ipAddresses.includes(ip))];
      return missing.length === 0 ? undefined : `it does not cover ${missing.join(', ')}`;
    },
    issue: () => issueServingCertificate(ca, { commonName: 'kedge-apiserver', dnsNames: wanted.dnsNames, ipAddresses: wanted.ipAddresses, now: now() }),
  });

  const admin = await ensureLeaf(ca, paths.adminCert, paths.adminKey, now(), {
    what: 'admin client certificate',
    log,
    usage: 'client auth',
    acceptable: (info) => (info.commonName === ADMIN_USER && info.organizations.includes(MASTERS_GROUP) ? undefined : `it is not for ${ADMIN_USER} in ${MASTERS_GROUP}`),
    issue: () => issueClientCertificate(ca, { commonName: ADMIN_USER, organizations: [MASTERS_GROUP], now: now() }),
  });

  const adminToken = await ensureAdminToken(paths.tokens, log);

  const credentials: CloudCredentials = {
    ca,
    caCertPem: ca.certPem,
    caPin,
    servingCertPem: serving.certPem,
    servingKeyPem: serving.keyPem,
    adminCertPem: admin.certPem,
    adminKeyPem: admin.keyPem,
    adminToken,
    paths,
    tokensPath: paths.tokens,
    async writeAdminKubeconfig(serverUrl: string): Promise<string> {
      const written = await writeKubeconfig(paths.kubeconfig, {
        server: serverUrl,
        caCertPem: ca.certPem,
        user: ADMIN_USER,
        credentials: { clientCertPem: admin.certPem, clientKeyPem: admin.keyPem },
      });
      if (written) log.info('admin kubeconfig written', { path: paths.kubeconfig, server: serverUrl });
      return paths.kubeconfig;
    },
  };
  if (options.serverUrl !== undefined) await credentials.writeAdminKubeconfig(options.serverUrl);
  return Object.freeze(credentials);
}

async function ensureCa(paths: CredentialPaths, log: Logger, now: Date): Promise<CertificateAuthority> {
  const [certPem, keyPem] = await Promise.all([readPemFile(paths.caCert), readPemFile(paths.caKey)]);
  if (certPem === undefined && keyPem === undefined) {
    const ca = await createCa({ now });
    // Key first: a crash in between leaves a key without certificate, which is refused below rather
    // than silently replaced by a new CA that would orphan every issued certificate.
    await writeFileAtomic(paths.caKey, ca.keyPem, SECRET_FILE_MODE);
    await writeFileAtomic(paths.caCert, ca.certPem, SECRET_FILE_MODE);
    log.info('created cluster CA', { path: paths.caCert, pin: caPublicKeyPin(ca.certificate), notAfter: rfc3339(ca.certificate.validToDate.getTime()) });
    return ca;
  }
  if (certPem === undefined) throw new CertificateError('malformed', `${paths.caKey} exists but ${paths.caCert} does not; restore it or remove both to create a new CA`);
  if (keyPem === undefined) throw new CertificateError('invalid-key', `${paths.caCert} exists but ${paths.caKey} does not; restore it or remove both to create a new CA`);
  const ca = await loadCa(certPem, keyPem);
  const notAfter = ca.certificate.validToDate;
  if (notAfter <= now) throw new CertificateError('expired', `the cluster CA ${paths.caCert} expired at ${rfc3339(notAfter.getTime())}`);
  if (notAfter.getTime() - now.getTime() < 365 * 24 * 60 * 60 * 1000) log.warn('the cluster CA expires within a year', { path: paths.caCert, notAfter: rfc3339(notAfter.getTime()) });
  log.debug('reusing cluster CA', { path: paths.caCert });
  return ca;
}

interface LeafPolicy {
  readonly what: string;
  readonly log: Logger;
  readonly usage: 'server auth' | 'client auth';
  /** Undefined when the stored certificate still fits; otherwise why it must be reissued. */
  acceptable(info: CertificateInfo): string | undefined;
  issue(): Promise<IssuedCertificate>;
}

/** Reuses a stored certificate while it is the CA's, valid for 30 more days and acceptable; otherwise issues and stores a new one. */
async function ensureLeaf(ca: CertificateAuthority, certPath: string, keyPath: string, now: Date, policy: LeafPolicy): Promise<IssuedCertificate> {
  const [certPem, keyPem] = await Promise.all([readPemFile(certPath), readPemFile(keyPath)]);
  const why = staleReason(ca, certPem, keyPem, now, policy);
  if (why === undefined && certPem !== undefined && keyPem !== undefined) {
    policy.log.debug(`reusing ${policy.what}`, { path: certPath });
    return { certPem, keyPem };
  }
  const issued = await policy.issue();
  await writeFileAtomic(keyPath, issued.keyPem, SECRET_FILE_MODE);
  await writeFileAtomic(certPath, issued.certPem, SECRET_FILE_MODE);
  const info = verifyCertificate(ca, issued.certPem, { now });
  policy.log.info(`issued ${policy.what}`, { path: certPath, reason: why, subject: info.commonName, dnsNames: info.dnsNames, ipAddresses: info.ipAddresses, notAfter: rfc3339(info.notAfter.getTime()) });
  return issued;
}

/** Why a stored certificate must be reissued, or undefined when it can be reused. */
function staleReason(ca: CertificateAuthority, certPem: string | undefined, keyPem: string | undefined, now: Date, policy: LeafPolicy): string | undefined {
  if (certPem === undefined || keyPem === undefined) return 'none stored';
  if (!keyMatchesCertificate(certPem, keyPem)) return 'the stored key does not match the certificate';
  let info: CertificateInfo;
  try {
    info = verifyCertificate(ca, certPem, { usage: policy.usage, now });
  } catch (err) {
    if (err instanceof CertificateError) return `the stored one is refused (${err.reason}): ${err.message}`;
    throw err;
  }
  if (info.notAfter.getTime() - now.getTime() < RENEW_BEFORE_MS) return `it expires at ${rfc3339(info.notAfter.getTime())}`;
  return policy.acceptable(info);
}

/** The names and addresses the API must be reachable by: loopback, the host, every interface, and `--tls-san`. */
function servingSans(host: { hostname: string; addresses: readonly string[] }, extra: { dnsNames: string[]; ipAddresses: string[] }, log: Logger): { dnsNames: string[]; ipAddresses: string[] } {
  const dnsNames = ['localhost'];
  const name = host.hostname.toLowerCase();
  if (isDnsName(name)) dnsNames.push(name);
  else log.warn('the host name is not a valid DNS name; leaving it out of the serving certificate', { hostname: host.hostname });
  const ips = ['127.0.0.1', '::1', ...host.addresses].map((a) => canonicalIp(a)).filter((a) => a !== undefined);
  return { dnsNames: unique([...dnsNames, ...extra.dnsNames]), ipAddresses: unique([...ips, ...extra.ipAddresses]) };
}

function localHost(): { hostname: string; addresses: string[] } {
  const addresses = Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((i) => i.address));
  return { hostname: hostname(), addresses };
}

/** The admin's token from `tokens.json`, created (and the file written) when there is none. */
async function ensureAdminToken(path: string, log: Logger): Promise<string> {
  const entries = await readTokenFile(path);
  const existing = entries.find((e) => e.user === ADMIN_USER && e.groups.includes(MASTERS_GROUP));
  if (existing !== undefined) return existing.token;
  const token = generateToken();
  await writeTokenFile(path, [...entries, { token, user: ADMIN_USER, groups: [MASTERS_GROUP] }]);
  log.info('created admin bearer token', { path });
  return token;
}
