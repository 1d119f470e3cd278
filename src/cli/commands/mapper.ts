import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { dns1123SubdomainErrors } from '../../api/selectors/label-validation.ts';
import { createLogger, LOG_LEVELS, type LogLevel } from '../../log/logger.ts';
import type { DeviceDriver } from '../../mappers/lib/driver.ts';
import { MAPPER_PROTOCOLS, type MapperProtocol } from '../../mappers/protocols.ts';
import { redactUrl } from '../../mappers/lib/url.ts';
import type { Command } from '../command.ts';
import { UsageError, type FlagValue } from '../flags.ts';
import { waitForAbort } from '../lifecycle.ts';


/** `kedge mapper`'s configuration after flags: validated and frozen. */
export interface CompiledMapperConfig {
  readonly protocol: MapperProtocol;
  readonly nodeName: string;
  /** @default 'mqtt://127.0.0.1:1883' */
  readonly mqttUrl: string;
  readonly mqttUsername: string | undefined;
  /** A file holding the MQTT password (the edge's `<data-dir>/mqtt-password`). */
  readonly mqttPasswordFile: string | undefined;
  /** OPC UA client certificate and trusted server certificates. @default '~/.kedge/mapper-pki/opcua' */
  readonly pkiDir: string;
  /** @default 30_000 */
  readonly reconnectMaxMs: number;
  readonly logLevel: LogLevel;
  /** Stop when stdin reaches its end: how a mapper the edge started notices the edge is gone. @default false */
  readonly stopOnStdinClose: boolean;
}

/**
 * Compiles the flags of `kedge mapper <protocol>`.
 * @throws {UsageError} naming the flag or argument
 */
export function compileMapperConfig(positionals: readonly string[], v: Record<string, FlagValue>): CompiledMapperConfig {
  const [protocol, ...extra] = positionals;
  if (protocol === undefined) throw new UsageError(`which protocol? kedge mapper <${MAPPER_PROTOCOLS.join('|')}> --node <name>`);
  if (!(MAPPER_PROTOCOLS as readonly string[]).includes(protocol)) throw new UsageError(`unknown protocol ${JSON.stringify(protocol)}; kedge has mappers for ${MAPPER_PROTOCOLS.join(', ')}`);
  if (extra.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(extra[0])}`);
  const node = v['node'];
  if (typeof node !== 'string') throw new UsageError('--node <name> is required: the edge node whose devices this mapper serves');
  const problems = dns1123SubdomainErrors(node);
  if (problems.length > 0) throw new UsageError(`flag --node: ${problems.join('; ')}`);
  const url = String(v['mqtt'] ?? 'mqtt://127.0.0.1:1883');
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(`flag --mqtt: ${JSON.stringify(url)} is not a URL; expected mqtt://host:port`);
  }
  if (!['mqtt:', 'mqtts:', 'tcp:', 'ssl:'].includes(parsed.protocol)) throw new UsageError(`flag --mqtt: expected mqtt://host:port or mqtts://host:port, got ${JSON.stringify(url)}`);
  const home = (p: string): string => resolve(p === '~' ? homedir() : p.startsWith('~/') ? join(homedir(), p.slice(2)) : p);
  return Object.freeze({
    protocol: protocol as MapperProtocol,
    nodeName: node,
    mqttUrl: url,
    mqttUsername: typeof v['mqtt-username'] === 'string' ? v['mqtt-username'] : undefined,
    mqttPasswordFile: typeof v['mqtt-password-file'] === 'string' ? home(v['mqtt-password-file']) : undefined,
    pkiDir: home(String(v['pki-dir'] ?? `~/.kedge/mapper-pki/${protocol}`)),
    reconnectMaxMs: Number(v['reconnect-max'] ?? 30_000),
    logLevel: String(v['log-level'] ?? 'info') as LogLevel,
    stopOnStdinClose: v['stop-on-stdin-close'] === true,
  });
}

export const mapperCommand: Command = {
  name: 'mapper',
  usage: `kedge mapper <${MAPPER_PROTOCOLS.join('|')}> --node <name> [flags]`,
  description: [
    'Connects to the edge\'s EventBus (MQTT, --mqtt), asks for the node\'s devices and serves those whose',
    'protocol.protocolName is <protocol>: reads each property every collectCycle, reports values to the',
    'device twin (KubeEdge\'s $hw/events/device/<ns>/<name>/twin/update), publishes every value on',
    '$ke/events/device/<ns>/<name>/data/update, writes desired values set in the cloud, and reports the',
    'device online, unhealthy or offline, reconnecting with back-off while a device is away.',
    '',
    '  modbus   Modbus TCP (configData: ip, port, slaveID), RTU on a serial line (serialPort, baudRate,',
    '           dataBits, parity, stopBits) or RTU over TCP (framing: rtu); visitors: register, offset,',
    '           limit, scale, isSwap, isRegisterSwap',
    '  opcua    OPC UA (configData: url, securityPolicy None|Basic256Sha256, securityMode, userName,',
    '           password or passwordFile); visitors: nodeID',
    '  virtual  generated values (visitors: generator random|sine|counter|constant, min, max, periodMs)',
  ].join('\n'),
  flags: [
    { name: 'node', type: 'string', description: 'the edge node whose devices to serve' },
    { name: 'mqtt', type: 'string', description: 'the EventBus', default: 'mqtt://127.0.0.1:1883' },
    { name: 'mqtt-username', type: 'string', description: 'MQTT user name (the embedded broker asks it only of clients not on loopback: "kedge")' },
    { name: 'mqtt-password-file', type: 'string', description: 'file with the MQTT password (the edge\'s <data-dir>/mqtt-password)' },
    { name: 'pki-dir', type: 'string', description: 'OPC UA: the client certificate and the server certificates trusted on first use (default ~/.kedge/mapper-pki/<protocol>)' },
    { name: 'reconnect-max', type: 'duration', description: 'longest wait between attempts to reach a device that is away', default: '30s' },
    {
      name: 'log-level',
      type: 'string',
      description: `log verbosity: ${LOG_LEVELS.join(', ')}`,
      default: 'info',
      check: (x) => ((LOG_LEVELS as readonly string[]).includes(String(x)) ? undefined : `must be one of ${LOG_LEVELS.join(', ')}`),
    },
    {
      name: 'stop-on-stdin-close',
      type: 'bool',
      description: 'stop when stdin closes: set by "kedge edge" for the mappers it starts, which hold a pipe from the edge on stdin, so they stop when the edge is gone, even after a kill -9',
      default: false,
    },
  ],
  envPrefix: 'KEDGE_MAPPER',
  async run(ctx) {
    const config = compileMapperConfig(ctx.positionals, ctx.values);
    const log = createLogger(config.logLevel).child({ process: 'mapper', protocol: config.protocol, node: config.nodeName });
    // Loaded here, not at the top: every other kedge command starts without the MQTT client and drivers.
    const { Mapper } = await import('../../mappers/lib/mapper.ts');
    const drivers: Record<MapperProtocol, () => Promise<DeviceDriver>> = {
      modbus: async () => new (await import('../../mappers/modbus/driver.ts')).ModbusDriver(),
      opcua: async () => new (await import('../../mappers/opcua/driver.ts')).OpcuaDriver({ pkiDir: config.pkiDir, log: log.child({ component: 'opcua' }) }),
      virtual: async () => new (await import('../../mappers/virtual/driver.ts')).VirtualDriver(),
    };
    let password: string | undefined;
    if (config.mqttPasswordFile !== undefined) {
      try {
        password = (await readFile(config.mqttPasswordFile, 'utf8')).trim();
      } catch (err) {
        throw new UsageError(`flag --mqtt-password-file: cannot read ${config.mqttPasswordFile}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    const mapper = new Mapper({
      driver: await drivers[config.protocol](),
      nodeName: config.nodeName,
      mqttUrl: config.mqttUrl,
      ...(config.mqttUsername !== undefined ? { mqttUsername: config.mqttUsername } : {}),
      ...(password !== undefined ? { mqttPassword: password, mqttUsername: config.mqttUsername ?? 'kedge' } : {}),
      reconnectMaxMs: config.reconnectMaxMs,
      log,
    });
    // The edge's end of the pipe closes however the edge ends; its MQTT connection would not say
    // so when the broker is external, and our parent pid changes only after the edge is reaped.
    const parentGone = config.stopOnStdinClose ? inputClosed(process.stdin) : undefined;
    const signal = parentGone === undefined ? ctx.signal : AbortSignal.any([ctx.signal, parentGone.signal]);
    parentGone?.signal.addEventListener('abort', () => log.info('stdin closed: the edge that started this mapper is gone; stopping'), { once: true });
    await mapper.start(signal);
    ctx.stderr.write(`kedge mapper ${config.protocol} is serving node ${config.nodeName}'s devices through ${redactUrl(config.mqttUrl)}\n`);
    await waitForAbort(signal);
    await mapper.stop();
    parentGone?.release();
    return 0;
  },
};

/**
 * Aborts its signal when `input` ends or fails (the writer is gone); what is read is discarded.
 * `release` lets go of the stream so the process can exit.
 */
export function inputClosed(input: NodeJS.ReadableStream & { destroy?: () => void }): { readonly signal: AbortSignal; release(): void } {
  const closed = new AbortController();
  const onEnd = (): void => closed.abort();
  input.on('end', onEnd);
  input.on('close', onEnd);
  input.on('error', onEnd);
  input.on('data', () => undefined);
  input.resume();
  return {
    signal: closed.signal,
    release: () => {
      input.off('end', onEnd);
      input.off('close', onEnd);
      input.destroy?.();
    },
  };
}

