import type { Logger } from '../../log/logger.ts';
import type { KubeClient } from '../client/client.ts';
import type { CompiledCloudConfig } from '../config.ts';
import { EventRecorder } from './events/recorder.ts';
import type { SharedInformers } from './runtime/shared-informers.ts';
import { replicaSetModule } from './replicaset/index.ts';
import { deploymentModule } from './deployment/index.ts';
import { daemonSetModule } from './daemonset/index.ts';
import { schedulerModule } from './scheduler/index.ts';
import { nodeLifecycleModule } from './nodelifecycle/index.ts';
import { garbageCollectorModule, namespaceModule, podGcModule } from './gc/index.ts';
import { deviceModule } from './devices/index.ts';

/** What every controller module gets. */
export interface ControllerContext {
  readonly client: KubeClient;
  readonly log: Logger;
  /** The settings controllers read (`--node-monitor-grace-period`, ...). */
  readonly config: ControllersConfig;
  /** Informers shared by every controller (and the hub): objects are frozen, copy before changing. */
  readonly informers: SharedInformers;
  /** Records Events for `kubectl describe`; one per controller component name. */
  recorder(component: string): EventRecorder;
}

/** The slice of the cloud's configuration the controllers read. */
export type ControllersConfig = Pick<CompiledCloudConfig, 'nodeMonitorGracePeriodMs'>;

/** One controller (or a group sharing informers): starts its informers, waits for their sync, runs. */
export interface ControllerModule {
  readonly name: string;
  start(ctx: ControllerContext, signal: AbortSignal): Promise<void>;
}

/**
 * The controllers of the cloud, in start order. Each is level-triggered (informer → work queue →
 * reconcile) and starts only after the API server is ready. kedge on SQLite is a single replica,
 * so, as kine does, no leader election runs.
 */
export const CONTROLLER_MODULES: readonly ControllerModule[] = [replicaSetModule, deploymentModule, daemonSetModule, schedulerModule, nodeLifecycleModule, garbageCollectorModule, namespaceModule, podGcModule, deviceModule];

/** Starts every controller module; resolves once all have synced their caches. */
export async function startControllers(client: KubeClient, informers: SharedInformers, config: ControllersConfig, log: Logger, signal: AbortSignal): Promise<void> {
  const ctx: ControllerContext = {
    client,
    log,
    config,
    informers,
    recorder: (component) => new EventRecorder({ client, component, log: log.child({ component: `${component}-events` }) }),
  };
  for (const m of CONTROLLER_MODULES) {
    log.info('starting controller', { controller: m.name });
    await m.start({ ...ctx, log: log.child({ controller: m.name }) }, signal);
  }
}
