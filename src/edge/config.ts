import { homedir, hostname } from 'node:os';
import { resolve } from 'node:path';
import { isIP } from 'node:net';
import type { FlagSpec, FlagValue } from '../cli/flags.ts';
import { UsageError } from '../cli/flags.ts';
import { LOG_LEVELS, type LogLevel } from '../log/logger.ts';
import { DEFAULT_CRI_ENDPOINT, RUNTIME_MODES, type RuntimeMode } from './runtime/select.ts';
import { DEFAULT_JOIN_PORT } from '../protocol/envelope.ts';
import { dns1123SubdomainErrors, labelValueErrors, qualifiedNameErrors } from '../api/selectors/label-validation.ts';
import { isMapperProtocol, MAPPER_PROTOCOLS, type MapperProtocol } from '../mappers/protocols.ts';

/** The edge's configuration after defaults, file, environment and flags: validated and frozen. */
export interface CompiledEdgeConfig {
  readonly dataDir: string;
  readonly logLevel: LogLevel;
  /** @default 10550 */
  readonly metaServerPort: number;
  /** Loopback only: MetaServer has no authentication. @default '127.0.0.1' */
  readonly metaServerBindAddress: string;
  /** @default 40 */
  readonly leaseDurationSeconds: number;
  /** @default 15_000 */
  readonly leaseRenewIntervalMs: number;
  /** @default 16 MiB */
  readonly outboxMaxBytes: number;
  /** @default 24 h */
  readonly outboxTtlMs: number;
  /** Port of the embedded MQTT broker (the EventBus). @default 1883 */
  readonly mqttPort: number;
  /** Where the embedded broker listens; beyond loopback, clients need credentials. @default '127.0.0.1' */
  readonly mqttBindAddress: string;
  /** An existing broker (`mqtt://host:port`) used instead of the embedded one. @default undefined */
  readonly mqttExternal: string | undefined;
  /** `auto`: CRI when the endpoint answers, else processes. @default 'auto' */
  readonly runtime: RuntimeMode;
  /** @default 'unix:///run/containerd/containerd.sock' (with --managed-containerd: `<data-dir>/containerd/containerd.sock`) */
  readonly containerRuntimeEndpoint: string;
  /** Run containerd from the data dir. @default false */
  readonly managedContainerd: boolean;
  /**
   * Which mappers the edge runs as child processes for its devices: `auto` every built-in one a
   * device needs, `none` none (they are run by hand or as pods), or only those listed. @default 'auto'
   */
  readonly mappers: 'auto' | 'none' | readonly MapperProtocol[];
}

/** What `kedge edge join` needs beyond {@link CompiledEdgeConfig}. */
export interface CompiledJoinConfig {
  readonly cloud: string;
  readonly token: string;
  readonly joinPort: number;
  readonly nodeName: string;
  readonly labels: Readonly<Record<string, string>>;
}

const port = (v: unknown): string | undefined => (typeof v === 'number' && v >= 0 && v <= 65535 ? undefined : 'must be a port number between 0 and 65535');

/** Flags of `kedge edge` that also apply when it runs after `join`. */
export const EDGE_FLAGS: readonly FlagSpec[] = [
  { name: 'data-dir', type: 'string', description: 'directory for edge.db, the node certificate and edge.json', default: '~/.kedge' },
  { name: 'metaserver-port', type: 'int', description: 'port of MetaServer, the local read-only Kubernetes API on 127.0.0.1 (0 picks a free one)', default: 10550, check: port },
  {
    name: 'log-level',
    type: 'string',
    description: `log verbosity: ${LOG_LEVELS.join(', ')}`,
    default: 'info',
    check: (v) => ((LOG_LEVELS as readonly string[]).includes(String(v)) ? undefined : `must be one of ${LOG_LEVELS.join(', ')}`),
  },
  { name: 'lease-interval', type: 'duration', description: 'how often the node renews its Lease (its heartbeat)', default: '15s' },
  { name: 'outbox-max-bytes', type: 'int', description: 'size cap of the outbox of events waiting for the cloud; beyond it the oldest are dropped', default: 16 * 1024 * 1024 },
  { name: 'outbox-ttl', type: 'duration', description: 'how long an event may wait for the cloud before it is dropped', default: '24h' },
  { name: 'mqtt-port', type: 'int', description: 'port of the embedded MQTT broker, the EventBus mappers and apps use (0 picks a free one)', default: 1883, check: port },
  {
    name: 'mqtt-bind-address',
    type: 'string',
    description: 'address of the embedded MQTT broker; clients that are not on loopback log in as "kedge" with the password in <data-dir>/mqtt-password',
    default: '127.0.0.1',
    check: (v) => (isIP(String(v)) !== 0 ? undefined : 'must be an IP address'),
  },
  { name: 'mqtt-external', type: 'string', description: 'use this MQTT broker (mqtt://host:port, e.g. a local mosquitto) as the EventBus instead of the embedded one' },
  {
    name: 'runtime',
    type: 'string',
    description: 'how pods run: cri (containerd or another CRI runtime), process (host processes, for machines without one) or auto (cri when the endpoint answers)',
    default: 'auto',
    check: (v) => ((RUNTIME_MODES as readonly string[]).includes(String(v)) ? undefined : `must be one of ${RUNTIME_MODES.join(', ')}`),
  },
  { name: 'container-runtime-endpoint', type: 'string', description: 'the CRI socket of the container runtime', default: DEFAULT_CRI_ENDPOINT },
  { name: 'managed-containerd', type: 'bool', description: 'run a containerd of its own with config, socket and state under <data-dir>/containerd (implies --runtime cri)', default: false },
  {
    name: 'mappers',
    type: 'list',
    description: `device mappers the edge starts itself: auto (a "kedge mapper <protocol>" process for each protocol among ${MAPPER_PROTOCOLS.join(', ')} that this node's devices use, stopped when none does), none (run them by hand or as pods), or a list of those protocols; devices of other protocols need a mapper run by hand`,
    default: ['auto'],
  },
];

/** Flags only `kedge edge join` takes. */
export const JOIN_FLAGS: readonly FlagSpec[] = [
  { name: 'cloud', type: 'string', description: 'host name or IP address of the cloud (join)' },
  { name: 'token', type: 'string', description: 'join token from "kedge token create" (join)' },
  { name: 'join-port', type: 'int', description: 'port of the cloud\'s join service (join)', default: DEFAULT_JOIN_PORT, check: port },
  { name: 'node-name', type: 'string', description: 'name of this node (join; default: the host name)' },
  { name: 'labels', type: 'list', description: 'labels of this node, k=v,... (join)', default: [] },
];

/** Expands `~` and makes the data dir absolute. */
export function resolveEdgeDataDir(dir: string): string {
  return resolve(dir === '~' ? homedir() : dir.startsWith('~/') ? `${homedir()}${dir.slice(1)}` : dir);
}

/**
 * Compiles the flags of `kedge edge`.
 * @throws {UsageError} naming the flag when a value is out of range
 */
export function compileEdgeConfig(v: Record<string, FlagValue>): CompiledEdgeConfig {
  const lease = Number(v['lease-interval'] ?? 15_000);
  if (lease < 1000 || lease > 60_000) throw new UsageError('flag --lease-interval: must be between 1s and 60s (the cloud marks a node silent for 40s unreachable)');
  const maxBytes = Number(v['outbox-max-bytes'] ?? 16 * 1024 * 1024);
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 64 * 1024) throw new UsageError('flag --outbox-max-bytes: must be at least 65536');
  return Object.freeze({
    dataDir: resolveEdgeDataDir(String(v['data-dir'] ?? '~/.kedge')),
    logLevel: String(v['log-level'] ?? 'info') as LogLevel,
    metaServerPort: Number(v['metaserver-port'] ?? 10550),
    metaServerBindAddress: '127.0.0.1',
    leaseDurationSeconds: 40,
    leaseRenewIntervalMs: lease,
    outboxMaxBytes: maxBytes,
    outboxTtlMs: Number(v['outbox-ttl'] ?? 86_400_000),
    mqttPort: Number(v['mqtt-port'] ?? 1883),
    mqttBindAddress: String(v['mqtt-bind-address'] ?? '127.0.0.1'),
    mqttExternal: mqttExternalUrl(v['mqtt-external']),
    ...runtimeConfig(v),
    mappers: mappersConfig(v['mappers']),
  });
}

/** `--mappers`: auto, none, or built-in protocols. */
function mappersConfig(v: FlagValue | undefined): CompiledEdgeConfig['mappers'] {
  const items = v === undefined ? ['auto'] : Array.isArray(v) ? v : String(v).split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (items.length === 1 && (items[0] === 'auto' || items[0] === 'none')) return items[0];
  if (items.length === 0) throw new UsageError('flag --mappers: expected auto, none or a list of protocols');
  const unknown = items.find((p) => !isMapperProtocol(p));
  if (unknown !== undefined) {
    const why = unknown === 'auto' || unknown === 'none' ? `${unknown} stands alone` : `kedge has no mapper for ${JSON.stringify(unknown)} (it has ${MAPPER_PROTOCOLS.join(', ')}; run a mapper of your own for other protocols)`;
    throw new UsageError(`flag --mappers: ${why}`);
  }
  return Object.freeze([...new Set(items as MapperProtocol[])]);
}

/** `--runtime`, `--container-runtime-endpoint`, `--managed-containerd`: a managed containerd is the CRI runtime at its own socket. */
function runtimeConfig(v: Record<string, FlagValue>): Pick<CompiledEdgeConfig, 'runtime' | 'containerRuntimeEndpoint' | 'managedContainerd'> {
  const managed = v['managed-containerd'] === true;
  const mode = String(v['runtime'] ?? 'auto') as RuntimeMode;
  if (managed && mode === 'process') throw new UsageError('flag --managed-containerd: runs containerd for --runtime cri (or auto), not for --runtime process');
  const endpoint = String(v['container-runtime-endpoint'] ?? DEFAULT_CRI_ENDPOINT);
  if (managed && endpoint !== DEFAULT_CRI_ENDPOINT) throw new UsageError('flag --container-runtime-endpoint: a managed containerd listens in <data-dir>/containerd; leave the endpoint out');
  if (!endpoint.startsWith('unix:///') && !endpoint.startsWith('/')) throw new UsageError(`flag --container-runtime-endpoint: expected unix:///path/to.sock, got ${JSON.stringify(endpoint)}`);
  return { runtime: managed ? 'cri' : mode, containerRuntimeEndpoint: endpoint, managedContainerd: managed };
}

/** `--mqtt-external`: an mqtt:// or mqtts:// URL, or undefined. */
function mqttExternalUrl(v: FlagValue | undefined): string | undefined {
  if (v === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(String(v));
  } catch {
    throw new UsageError(`flag --mqtt-external: ${JSON.stringify(v)} is not a URL; expected mqtt://host:port`);
  }
  if (!['mqtt:', 'mqtts:', 'tcp:', 'ssl:'].includes(url.protocol) || url.hostname === '') throw new UsageError(`flag --mqtt-external: expected mqtt://host:port or mqtts://host:port, got ${JSON.stringify(v)}`);
  return url.toString().replace(/\/$/, '');
}

/**
 * Compiles the join flags: `--cloud` and `--token` required, the node name a DNS subdomain
 * (default: the host name, lower-cased), labels valid Kubernetes labels.
 * @throws {UsageError} naming the flag
 */
export function compileJoinConfig(v: Record<string, FlagValue>): CompiledJoinConfig {
  const cloud = v['cloud'];
  const token = v['token'];
  if (typeof cloud !== 'string') throw new UsageError('join needs --cloud <host>');
  if (typeof token !== 'string') throw new UsageError('join needs --token <token> (from "kedge token create" on the cloud)');
  if (cloud.includes('/') || (cloud.includes(':') && isIP(cloud.replace(/^\[|\]$/g, '')) === 0)) throw new UsageError(`flag --cloud: expected a host name or IP address, got ${JSON.stringify(cloud)} (the port is --join-port)`);
  return Object.freeze({ cloud: cloud.replace(/^\[|\]$/g, ''), token, joinPort: Number(v['join-port'] ?? DEFAULT_JOIN_PORT), nodeName: nodeNameOf(v), labels: Object.freeze(parseLabels((v['labels'] as string[] | undefined) ?? [])) });
}

/**
 * The node name: `--node-name`, or the host name lower-cased, which must be a DNS subdomain.
 * @throws {UsageError} naming the flag (or the host name) when it is not
 */
export function nodeNameOf(v: Record<string, FlagValue>): string {
  const nodeName = typeof v['node-name'] === 'string' ? v['node-name'] : hostname().toLowerCase();
  const nameErrors = dns1123SubdomainErrors(nodeName);
  if (nameErrors.length > 0) throw new UsageError(`${typeof v['node-name'] === 'string' ? 'flag --node-name' : `the host name ${JSON.stringify(nodeName)} (set --node-name)`}: ${nameErrors.join('; ')}`);
  return nodeName;
}

/** `k=v` pairs → labels, each key and value checked as the API server would. */
export function parseLabels(pairs: readonly string[]): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`flag --labels: expected key=value, got ${JSON.stringify(pair)}`);
    const key = pair.slice(0, eq).trim();
    const value = pair.slice(eq + 1).trim();
    const problems = [...qualifiedNameErrors(key), ...labelValueErrors(value)];
    if (problems.length > 0) throw new UsageError(`flag --labels: ${pair}: ${problems.join('; ')}`);
    labels[key] = value;
  }
  return labels;
}

/**
 * Whether this edge may connect to a server whose certificate chains to a public CA: only an
 * external MQTT broker over TLS (`mqtts://`, `ssl://`). Everything else an edge dials is the cloud,
 * under the cluster CA.
 */
export function usesPublicCas(config: Pick<CompiledEdgeConfig, 'mqttExternal'>): boolean {
  return config.mqttExternal !== undefined && /^(mqtts|ssl):/i.test(config.mqttExternal);
}
