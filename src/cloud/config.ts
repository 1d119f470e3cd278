import { homedir } from 'node:os';
import { isIP } from 'node:net';
import { resolve } from 'node:path';
import type { FlagSpec, FlagValue } from '../cli/flags.ts';
import { LOG_LEVELS, type LogLevel } from '../log/logger.ts';

/** The cloud's configuration after defaults, file, environment and flags: validated and frozen. */
export interface CompiledCloudConfig {
  readonly dataDir: string;
  readonly apiPort: number;
  readonly bindAddress: string;
  readonly tlsSans: readonly string[];
  readonly logLevel: LogLevel;
  /** How often the store drops history older than one interval. */
  readonly compactIntervalMs: number;
  /**
   * How long a node's Lease may go unrenewed before the node is marked Ready=Unknown and tainted unreachable.
   * @default 40_000
   */
  readonly nodeMonitorGracePeriodMs: number;
  /** WSS port of the hub edge nodes connect to. @default 10000 */
  readonly hubPort: number;
  /** HTTPS port of the join service. @default 10002 */
  readonly joinPort: number;
  /** The host edges are told to reach the hub at; undefined: the host they reached the join service at. */
  readonly advertiseAddress: string | undefined;
  /** Lifetime of node certificates issued at join and rotation. @default 365 days */
  readonly nodeCertificateValidityMs: number;
  /** How often the hub pings each edge; one silent for a whole interval is disconnected. @default 30_000 */
  readonly hubKeepaliveMs: number;
}

const port = (v: unknown): string | undefined => (typeof v === 'number' && v >= 0 && v <= 65535 ? undefined : 'must be a port number between 0 and 65535');

/** The flags of `kedge cloud` (and the cloud half of `kedge up`). */
export const CLOUD_FLAGS: readonly FlagSpec[] = [
  { name: 'data-dir', type: 'string', description: 'directory for the database, certificates, kubeconfig and logs', default: '~/.kedge' },
  { name: 'api-port', type: 'int', description: 'HTTPS port of the Kubernetes API (0 picks a free one)', default: 6443, check: port },
  {
    name: 'bind-address',
    type: 'string',
    description: 'IP address the API listens on',
    default: '0.0.0.0',
    check: (v) => (typeof v === 'string' && isIP(v) !== 0 ? undefined : 'must be an IPv4 or IPv6 address'),
  },
  { name: 'tls-san', type: 'list', description: 'extra DNS names or IPs for the API serving certificate (repeatable)', default: [] },
  {
    name: 'log-level',
    type: 'string',
    description: `log verbosity: ${LOG_LEVELS.join(', ')}`,
    default: 'info',
    check: (v) => ((LOG_LEVELS as readonly string[]).includes(String(v)) ? undefined : `must be one of ${LOG_LEVELS.join(', ')}`),
  },
  { name: 'compact-interval', type: 'duration', description: 'how often old revisions of the store are compacted', default: '5m' },
  {
    name: 'node-monitor-grace-period',
    type: 'duration',
    description: 'how long a node may stop renewing its Lease before it is marked unreachable (its pods stay unless it opts in to eviction)',
    default: '40s',
  },
  { name: 'hub-port', type: 'int', description: 'WSS port (mutual TLS) edge nodes connect to (0 picks a free one)', default: 10000, check: port },
  { name: 'join-port', type: 'int', description: 'HTTPS port of the join service edge nodes get their certificates from (0 picks a free one)', default: 10002, check: port },
  { name: 'advertise-address', type: 'string', description: 'host name or IP edge nodes reach the hub at, told to them when they join (default: the one they reached the join service at)' },
  { name: 'node-certificate-validity', type: 'duration', description: 'lifetime of the node certificates issued at join and rotation', default: '8760h' },
  { name: 'hub-keepalive', type: 'duration', description: 'how often the hub pings each edge node; a node silent for a whole interval is disconnected', default: '30s' },
];

/** Expands `~` and makes the data dir absolute. */
export function resolveDataDir(dir: string): string {
  return resolve(dir === '~' ? homedir() : dir.startsWith('~/') ? `${homedir()}${dir.slice(1)}` : dir);
}

export function compileCloudConfig(v: Record<string, FlagValue>): CompiledCloudConfig {
  const interval = v['compact-interval'];
  const grace = v['node-monitor-grace-period'];
  return Object.freeze({
    dataDir: resolveDataDir(String(v['data-dir'])),
    apiPort: Number(v['api-port']),
    bindAddress: String(v['bind-address']),
    tlsSans: Object.freeze([...(v['tls-san'] as string[])]),
    logLevel: String(v['log-level']) as LogLevel,
    compactIntervalMs: typeof interval === 'number' ? interval : 300_000,
    nodeMonitorGracePeriodMs: typeof grace === 'number' ? grace : 40_000,
    hubPort: Number(v['hub-port']),
    joinPort: Number(v['join-port']),
    advertiseAddress: typeof v['advertise-address'] === 'string' ? v['advertise-address'] : undefined,
    nodeCertificateValidityMs: typeof v['node-certificate-validity'] === 'number' ? v['node-certificate-validity'] : 365 * 86_400_000,
    hubKeepaliveMs: typeof v['hub-keepalive'] === 'number' ? v['hub-keepalive'] : 30_000,
  });
}
