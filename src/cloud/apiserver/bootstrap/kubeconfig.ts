import { chmod, readFile } from 'node:fs/promises';
import { stringify } from 'yaml';
import { PlatformError } from '../../../errors/platform-error.ts';
import { SECRET_FILE_MODE, writeFileAtomic } from '../../../pki/pem.ts';

/** Client credentials in a kubeconfig: a client certificate and key, or a bearer token. */
export type KubeconfigCredentials = { readonly clientCertPem: string; readonly clientKeyPem: string } | { readonly token: string };

/** Everything one kubeconfig (one cluster, one user, one context) holds. */
export interface KubeconfigOptions {
  /** E.g. `https://127.0.0.1:6443`. */
  readonly server: string;
  /** The CA that signed the server's certificate; embedded, so the file stands alone. */
  readonly caCertPem: string;
  /** The user entry's name, e.g. `kedge-admin` or `system:node:edge-1`. */
  readonly user: string;
  readonly credentials: KubeconfigCredentials;
  /** @default 'kedge' */
  readonly cluster?: string;
  /** @default the cluster name */
  readonly context?: string;
  /** The context's default namespace; omitted when undefined. */
  readonly namespace?: string;
}

const b64 = (pem: string): string => Buffer.from(pem, 'utf8').toString('base64');

/**
 * A kubeconfig (`apiVersion: v1, kind: Config`) with certificates and keys embedded as base64
 * `*-data` fields, as kubectl, client-go and @kubernetes/client-node read it; the one context is
 * current.
 * @throws {PlatformError} `CONFIG_INVALID` when `server` is not an https URL.
 */
export function renderKubeconfig(options: KubeconfigOptions): string {
  let url: URL;
  try {
    url = new URL(options.server);
  } catch (err) {
    throw new PlatformError('CONFIG_INVALID', `kubeconfig server ${JSON.stringify(options.server)} is not a URL`, { cause: err });
  }
  if (url.protocol !== 'https:') throw new PlatformError('CONFIG_INVALID', `kubeconfig server ${options.server} must use https`);
  const cluster = options.cluster ?? 'kedge';
  const context = options.context ?? cluster;
  const c = options.credentials;
  const user = 'token' in c ? { token: c.token } : { 'client-certificate-data': b64(c.clientCertPem), 'client-key-data': b64(c.clientKeyPem) };
  const doc = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: cluster, cluster: { server: options.server, 'certificate-authority-data': b64(options.caCertPem) } }],
    users: [{ name: options.user, user }],
    contexts: [{ name: context, context: { cluster, user: options.user, ...(options.namespace !== undefined ? { namespace: options.namespace } : {}) } }],
    'current-context': context,
    preferences: {},
  };
  // Long base64 lines stay on one line: some hand-rolled kubeconfig readers do not fold scalars.
  return stringify(doc, { lineWidth: 0 });
}

/**
 * Writes a kubeconfig with mode 0600 (it holds a private key or token), atomically, and only when
 * its content changes, so that a restart does not rewrite a file other tools may be watching.
 * @returns true when the file was written.
 */
export async function writeKubeconfig(path: string, options: KubeconfigOptions): Promise<boolean> {
  const text = renderKubeconfig(options);
  const current = await readFile(path, 'utf8').catch((err: unknown) => {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  });
  if (current === text) {
    await chmod(path, SECRET_FILE_MODE);
    return false;
  }
  await writeFileAtomic(path, text, SECRET_FILE_MODE);
  return true;
}
