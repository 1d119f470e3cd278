import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../log/logger.ts';
import { SqliteBackend } from '../store/sqlite.ts';
import { Compactor } from '../store/compactor.ts';
import { ApiServer } from './apiserver/api-server.ts';
import { Authenticator, Authorizer, NodeGraphIndex, TokenStore } from './apiserver/auth/index.ts';
import { ensureCloudCredentials } from './apiserver/bootstrap/index.ts';
import type { CompiledCloudConfig } from './config.ts';
import { LocalClient } from './client/local-client.ts';
import { startControllers } from './controllers/index.ts';
import { SharedInformers } from './controllers/runtime/shared-informers.ts';
import { CloudHub } from './hub/hub.ts';
import { StreamTunnels } from './stream/tunnels.ts';
import { BootstrapTokens, JoinService, NodeIdentities, type CreatedToken, type CreateTokenOptions, type SecretObject } from './join/index.ts';
import { caCertificateDigest } from '../pki/index.ts';

/** The version kedge reports (package.json's). */
export const KEDGE_VERSION = '0.1.0';

/** What a running cloud exposes to the CLI and to `kedge up`. */
export interface RunningCloud {
  readonly apiPort: number;
  readonly kubeconfigPath: string;
  readonly caCertPem: string;
  /** The hub's WSS port and the join service's HTTPS port, as bound. */
  readonly hubPort: number;
  readonly joinPort: number;
  /** Creates a join token, as `kedge token create` does (for `kedge up`, which joins its own edge). */
  createJoinToken(options?: CreateTokenOptions): Promise<CreatedToken>;
}

/**
 * The cloud process, its modules written out in start order: (1) the store (SQLite in the data
 * dir) and its compactor, (2) credentials (CA, serving certificate, admin kubeconfig), (3) the API
 * server, (4) the controllers (once the API is ready), (5) the hub edges connect to, (6) the join
 * service that tells them where the hub is. Runs until `signal` aborts; resolves once everything serves.
 */
export async function startCloud(config: CompiledCloudConfig, log: Logger, signal: AbortSignal): Promise<RunningCloud> {
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  log.info('opening store', { path: join(config.dataDir, 'state.db') });
  const backend = await SqliteBackend.open(join(config.dataDir, 'state.db'), { log: log.child({ component: 'store' }) });
  signal.addEventListener('abort', () => void backend.close(), { once: true });
  new Compactor({ backend, intervalMs: config.compactIntervalMs, log: log.child({ component: 'compactor' }) }).start(signal);

  const credentials = await ensureCloudCredentials({ dataDir: config.dataDir, tlsSans: config.tlsSans, log: log.child({ component: 'pki' }) });
  const nodeGraph = new NodeGraphIndex();
  // The tunnels edges open for logs/exec/port-forward: served on the hub's port, used by the API.
  const streams = new StreamTunnels({ log: log.child({ component: 'stream' }) });
  streams.start(signal);
  const api = new ApiServer({
    bindAddress: config.bindAddress,
    port: config.apiPort,
    tls: { key: credentials.servingKeyPem, cert: credentials.servingCertPem, ca: credentials.caCertPem },
    backend,
    authenticator: new Authenticator({ clientCa: credentials.caCertPem, tokens: await TokenStore.load(credentials.tokensPath), log: log.child({ component: 'authn' }) }),
    authorizer: new Authorizer({ nodeGraph }),
    nodeGraph,
    kedgeVersion: KEDGE_VERSION,
    log: log.child({ component: 'apiserver' }),
    streams,
  });
  await api.start(signal);
  const controllerClient = new LocalClient(api.registry, 'system:kube-controller-manager', { backend });
  const informers = new SharedInformers({ client: controllerClient, log: log.child({ component: 'informers' }) });
  await startControllers(controllerClient, informers, config, log.child({ component: 'controllers' }), signal);

  const hubClient = new LocalClient(api.registry, 'system:kedge-hub', { backend });
  const secrets = hubClient.resource<SecretObject>('', 'v1', 'secrets');
  const identities = new NodeIdentities({ secrets });
  const tokens = new BootstrapTokens({ secrets, caDigest: caCertificateDigest(credentials.ca.certificate) });
  const tls = { cert: credentials.servingCertPem, key: credentials.servingKeyPem };
  const hub = new CloudHub({
    bindAddress: config.bindAddress,
    port: config.hubPort,
    tls,
    ca: credentials.ca,
    client: hubClient,
    informers,
    identities,
    certificateValidityMs: config.nodeCertificateValidityMs,
    keepaliveIntervalMs: config.hubKeepaliveMs,
    streams,
    log: log.child({ component: 'hub' }),
  });
  await hub.start(signal);
  const joinService = new JoinService({
    bindAddress: config.bindAddress,
    port: config.joinPort,
    tls,
    ca: credentials.ca,
    tokens,
    identities,
    hub: { host: config.advertiseAddress, port: () => hub.port },
    certificateValidityMs: config.nodeCertificateValidityMs,
    log: log.child({ component: 'join' }),
  });
  await joinService.start(signal);

  const host = config.bindAddress === '0.0.0.0' || config.bindAddress === '::' ? '127.0.0.1' : config.bindAddress;
  const kubeconfigPath = await credentials.writeAdminKubeconfig(`https://${host.includes(':') ? `[${host}]` : host}:${api.port}`);
  log.info('kubeconfig written', { path: kubeconfigPath });
  return { apiPort: api.port, kubeconfigPath, caCertPem: credentials.caCertPem, hubPort: hub.port, joinPort: joinService.port, createJoinToken: (options) => tokens.create(options) };
}
