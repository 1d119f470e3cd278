import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describeError } from '../errors/platform-error.ts';
import type { Logger } from '../log/logger.ts';
import type { CompiledEdgeConfig, CompiledJoinConfig } from './config.ts';
import { openEdgeDatabase } from './db.ts';
import { EdgeError } from './errors.ts';
import { startEventBus } from './eventbus/index.ts';
import { EdgeHub, type HubTiming } from './hub/edge-hub.ts';
import { Outbox } from './hub/outbox.ts';
import { StatusTable } from './hub/status-table.ts';
import { joinCloud } from './join/join-client.ts';
import { loadJoinedState, saveJoinedState, type EdgeNodeState } from './join/state.ts';
import { MetaManager } from './meta/meta-manager.ts';
import { MetaServer } from './meta/meta-server.ts';
import { readHostFacts } from './node/host.ts';
import { DeviceTwin } from './twin/device-twin.ts';
import { NodeAgent } from './node/node-agent.ts';
import { Edged } from './edged/edged.ts';
import { EdgeStream } from './stream/edge-stream.ts';
import type { PodDeletionSink } from './edged/pod-worker.ts';
import { openRuntime, type OpenedRuntime } from './runtime/select.ts';
import { KEDGE_VERSION } from './version.ts';
import { MapperSupervisor } from './mappers/supervisor.ts';
import { mapperLaunch, processSpawner, type KedgeExecutable } from './mappers/spawn.ts';
import { MAPPER_PROTOCOLS } from '../mappers/protocols.ts';
import type { EventBus } from './eventbus/bus.ts';
import { rfc3339 } from '../api/time.ts';

/** A running edge, as the CLI and `kedge up` see it. */
export interface RunningEdge {
  readonly nodeName: string;
  readonly metaServerPort: number;
  readonly hub: EdgeHub;
  readonly meta: MetaManager;
  /**
   * Settles once the edge has stopped and closed edge.db: resolves after the signal aborted,
   * rejects when a module failed for good (e.g. `EDGE_HUB_REPLACED`), after stopping the others.
   */
  readonly done: Promise<void>;
}

/** Options of {@link joinEdge}. */
export interface JoinEdgeOptions {
  /**
   * A data dir already joined as the same node is started as it is instead of refused (what
   * `kedge up` wants on its second run).
   * @default false
   */
  readonly reuse?: boolean;
}

/**
 * `kedge edge join`: joins the cloud (see {@link joinCloud}) and stores the node's state under the
 * data dir, so that {@link startEdge} (and later `kedge edge --data-dir D`) can run it.
 * @throws {EdgeError} `EDGE_ALREADY_JOINED` for a data dir joined before (unless reused), or a join refusal
 */
export async function joinEdge(config: CompiledEdgeConfig, options: CompiledJoinConfig, log: Logger, join: JoinEdgeOptions = {}): Promise<EdgeNodeState> {
  const existing = await loadJoinedState(config.dataDir);
  if (existing !== undefined) {
    if (join.reuse === true && existing.state.nodeName === options.nodeName) return existing.state;
    throw new EdgeError('EDGE_ALREADY_JOINED', `${config.dataDir} already belongs to node ${existing.state.nodeName}; start it with "kedge edge --data-dir ${config.dataDir}", or join with an empty --data-dir`);
  }
  const result = await joinCloud({ cloud: options.cloud, joinPort: options.joinPort, token: options.token, nodeName: options.nodeName, log });
  const state: EdgeNodeState = {
    apiVersion: 'kedge.io/v1alpha1',
    kind: 'EdgeNode',
    nodeName: options.nodeName,
    cloud: options.cloud,
    joinPort: options.joinPort,
    hub: result.hub,
    labels: options.labels,
    joinedAt: rfc3339(Date.now()),
  };
  await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
  await saveJoinedState(config.dataDir, state, result.tls);
  log.info('node state saved', { dataDir: config.dataDir, node: state.nodeName });
  return state;
}

/**
 * `kedge up`: joins this machine's edge node to the cloud running in the same process on the first
 * run (asking for a token only then); later runs find the data dir joined and start it as it is.
 */
export async function joinLocalEdge(config: CompiledEdgeConfig, options: Omit<CompiledJoinConfig, 'token'>, token: () => Promise<string>, log: Logger): Promise<EdgeNodeState> {
  const existing = await loadJoinedState(config.dataDir);
  if (existing !== undefined && existing.state.nodeName === options.nodeName) return existing.state;
  return joinEdge(config, { ...options, token: await token() }, log);
}

/** Options of {@link startEdge}. */
export interface StartEdgeOptions {
  readonly hubTiming?: Partial<HubTiming>;
  /**
   * The kedge command line the edge runs mappers with (`kedge mapper <protocol>`), the one the
   * edge itself was started from; without it the edge starts no mapper.
   */
  readonly kedge?: KedgeExecutable;
}

/**
 * The edge process, its modules written out in start order: (1) the node's state and credentials
 * from the data dir, (2) edge.db, (3) MetaManager, (4) MetaServer, serving local objects before
 * any connection exists, (5) the uplink tables, (6) the EventBus (MQTT), (7) DeviceTwin, (8)
 * EdgeHub, connecting in the background, (9) the container runtime (a managed containerd first,
 * if asked for), (10) the node agent (registration and heartbeat), (11) Edged, which brings back
 * the pods in edge.db, (12) EdgeStream, the tunnel `kubectl logs`/`exec`/`port-forward` reach
 * the pods through (it follows the hub session), (13) the mapper supervisor, which runs a
 * `kedge mapper` process for each protocol this node's devices use (`--mappers`). Resolves once
 * everything is started; nothing waits for the cloud. Aborting `signal` stops them in reverse order.
 * @throws {EdgeError} `EDGE_NOT_JOINED` when the data dir was never joined; `EDGE_STATE_INVALID`,
 * `EDGE_DB_INCOMPATIBLE`, `EDGE_EVENTBUS_UNAVAILABLE`; the MetaServer listen error
 */
export async function startEdge(config: CompiledEdgeConfig, log: Logger, signal: AbortSignal, options: StartEdgeOptions = {}): Promise<RunningEdge> {
  const { hubTiming, kedge } = options;
  log.info('1. loading node state', { dataDir: config.dataDir });
  const joined = await loadJoinedState(config.dataDir);
  if (joined === undefined) throw new EdgeError('EDGE_NOT_JOINED', `${config.dataDir} holds no joined node; run "kedge edge join --cloud <host> --token <token> --data-dir ${config.dataDir}" first`);
  const { state, credentials } = joined;
  const nodeLog = log.child({ node: state.nodeName });

  // Modules stop on this, which the caller's signal and a fatal module failure both abort.
  const lifetime = new AbortController();
  const onAbort = (): void => lifetime.abort();
  signal.addEventListener('abort', onAbort, { once: true });

  nodeLog.info('2. opening edge.db', { path: join(config.dataDir, 'edge.db') });
  const db = openEdgeDatabase(join(config.dataDir, 'edge.db'));
  let started: EdgeHub | undefined;
  let opened: OpenedRuntime | undefined;
  try {
    nodeLog.info('3. starting MetaManager');
    const meta = new MetaManager({ db, log: nodeLog.child({ component: 'metamanager' }) });
    nodeLog.info('4. starting MetaServer', { port: config.metaServerPort, objects: meta.inventory().length });
    const metaServer = new MetaServer({ meta, bindAddress: config.metaServerBindAddress, port: config.metaServerPort, kedgeVersion: KEDGE_VERSION, log: nodeLog.child({ component: 'metaserver' }) });
    await metaServer.start(lifetime.signal);

    nodeLog.info('5. opening the status table and the outbox');
    const statuses = new StatusTable(db);
    const outbox = new Outbox({ db, log: nodeLog.child({ component: 'outbox' }), maxBytes: config.outboxMaxBytes, ttlMs: config.outboxTtlMs });

    nodeLog.info('6. starting the EventBus', config.mqttExternal !== undefined ? { external: config.mqttExternal } : { address: config.mqttBindAddress, port: config.mqttPort });
    const bus = await startEventBus({ ...config, nodeName: state.nodeName }, nodeLog.child({ component: 'eventbus' }), lifetime.signal);
    nodeLog.info('7. starting DeviceTwin');
    const twin = new DeviceTwin({ nodeName: state.nodeName, db, meta, bus, log: nodeLog.child({ component: 'twin' }) });
    await twin.start(lifetime.signal);

    nodeLog.info('8. starting EdgeHub', { hub: `${state.hub.host}:${state.hub.port}`, pendingStatuses: statuses.size, pendingOutbox: outbox.size, pendingReports: twin.stats.pendingReports });
    const hub = new EdgeHub({ nodeName: state.nodeName, hub: state.hub, credentials, sync: meta, statuses, outbox, reports: twin.uplink, log: nodeLog.child({ component: 'edgehub' }), ...(hubTiming !== undefined ? { timing: hubTiming } : {}) });
    await hub.start(lifetime.signal);
    started = hub;

    nodeLog.info('9. opening the container runtime', { runtime: config.runtime, managedContainerd: config.managedContainerd });
    opened = await openRuntime({ mode: config.runtime, managedContainerd: config.managedContainerd, endpoint: config.containerRuntimeEndpoint, dataDir: config.dataDir, kedgeVersion: KEDGE_VERSION, log: nodeLog.child({ component: 'runtime' }), signal: lifetime.signal });
    const { runtime, versionString } = opened;
    const host = (): ReturnType<typeof readHostFacts> => readHostFacts({ kedgeVersion: KEDGE_VERSION, containerRuntimeVersion: versionString });

    nodeLog.info('10. starting the node agent');
    const agent = new NodeAgent({
      nodeName: state.nodeName,
      labels: state.labels,
      meta,
      statuses,
      lease: hub,
      host,
      leaseDurationSeconds: config.leaseDurationSeconds,
      leaseRenewIntervalMs: config.leaseRenewIntervalMs,
      log: nodeLog.child({ component: 'node' }),
    });
    await agent.start(lifetime.signal);

    nodeLog.info('11. starting Edged', { pods: meta.list('pods').length });
    const edged = new Edged({ nodeName: state.nodeName, dataDir: config.dataDir, runtime, meta, statuses, events: outbox, deletions: podDeletionUplink(statuses), host, log: nodeLog.child({ component: 'edged' }) });
    await edged.start(lifetime.signal);

    nodeLog.info('12. starting EdgeStream (logs, exec and port-forward through the cloud)');
    const streams = new EdgeStream({ nodeName: state.nodeName, hub: state.hub, credentials, pods: meta, runtime, connectivity: hub, log: nodeLog.child({ component: 'edgestream' }) });
    await streams.start(lifetime.signal);

    const mappers = startMappers(config, { nodeName: state.nodeName, meta, bus, kedge, log: nodeLog });
    if (mappers !== undefined) await mappers.start(lifetime.signal);

    const done = hub.done
      .catch((err: unknown) => {
        nodeLog.error('EdgeHub stopped', { err: describeError(err) });
        lifetime.abort();
        throw err;
      })
      .finally(async () => {
        // Streams use the runtime and Edged reports to edge.db until they have stopped; the containers keep running.
        await streams.done;
        await edged.done;
        await mappers?.done;
        runtime.close();
        await opened?.done;
        signal.removeEventListener('abort', onAbort);
        db.close();
        nodeLog.info('edge stopped');
      });
    nodeLog.info('edge started', { metaServerPort: metaServer.port });
    return { nodeName: state.nodeName, metaServerPort: metaServer.port, hub, meta, done };
  } catch (err) {
    lifetime.abort();
    signal.removeEventListener('abort', onAbort);
    // The hub may be mid-write: edge.db closes only once it has stopped.
    await started?.done.catch(() => undefined);
    await opened?.done;
    db.close();
    throw err;
  }
}

/**
 * How Edged confirms that a pod deleted in the cloud has stopped: the final delete (grace 0, the
 * pod's uid as precondition) goes to the cloud through the status table, so it survives an outage
 * and a restart and is sent once connected.
 */
function podDeletionUplink(statuses: StatusTable): PodDeletionSink {
  return {
    confirmDeleted: (pod) => statuses.put({ op: 'delete', kind: 'pods', namespace: pod.namespace, name: pod.name, uid: pod.uid }),
  };
}

/**
 * Step 13: the mapper supervisor `--mappers` asks for, or undefined (said in the log) when the edge
 * runs no mapper.
 */
function startMappers(config: CompiledEdgeConfig, d: { nodeName: string; meta: MetaManager; bus: EventBus; kedge: KedgeExecutable | undefined; log: Logger }): MapperSupervisor | undefined {
  if (config.mappers === 'none') {
    d.log.info('13. not starting mappers (--mappers none): run them by hand or as pods');
    return undefined;
  }
  if (d.kedge === undefined) {
    d.log.warn('13. not starting mappers: the edge does not know the kedge command it runs from');
    return undefined;
  }
  const protocols = config.mappers === 'auto' ? MAPPER_PROTOCOLS : config.mappers;
  d.log.info('13. starting the mapper supervisor', { mappers: protocols });
  const launchConfig = { nodeName: d.nodeName, dataDir: config.dataDir, logLevel: config.logLevel, bus: d.bus, mqttExternal: config.mqttExternal };
  return new MapperSupervisor({
    nodeName: d.nodeName,
    meta: d.meta,
    protocols,
    builtin: MAPPER_PROTOCOLS,
    // Asked at each start: an embedded broker on port 0 has its port only once it listens.
    launch: (protocol) => mapperLaunch(launchConfig, protocol),
    spawn: processSpawner(d.kedge),
    log: d.log.child({ component: 'mappers' }),
    output: d.log,
  });
}
