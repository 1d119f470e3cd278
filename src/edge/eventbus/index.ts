import { join } from 'node:path';
import type { Logger } from '../../log/logger.ts';
import type { EventBus } from './bus.ts';
import { isLoopback, loadOrCreateCredentials } from './credentials.ts';
import { EmbeddedBroker } from './embedded-broker.ts';

export { topicMatches, type BusHandler, type EventBus, type PublishOptions } from './bus.ts';
export { EmbeddedBroker } from './embedded-broker.ts';
export { MQTT_USERNAME } from './credentials.ts';

/** The EventBus settings of the edge's config. */
export interface EventBusConfig {
  readonly dataDir: string;
  readonly nodeName: string;
  /** Embedded broker port. */
  readonly mqttPort: number;
  readonly mqttBindAddress: string;
  /** An external broker's URL, or undefined for the embedded broker. */
  readonly mqttExternal: string | undefined;
}

/**
 * Starts the EventBus the config asks for: a client of `--mqtt-external`, or the embedded broker
 * (with `<data-dir>/mqtt-password` for clients beyond loopback when it listens beyond loopback).
 * Resolves once the embedded broker runs (listening, or retrying to listen in the background when
 * its port is taken: the edge does not stop its pods over it), or at once for an external broker
 * (which the edge does not wait for). Runs until `signal` aborts.
 * @throws {EdgeError} `EDGE_EVENTBUS_UNAVAILABLE` when the broker cannot listen or the URL is not MQTT
 */
export async function startEventBus(config: EventBusConfig, log: Logger, signal: AbortSignal): Promise<EventBus> {
  if (config.mqttExternal !== undefined) {
    // The MQTT client library costs an edge on the embedded broker ~10 MB it would never use.
    const { ExternalBus } = await import('./external-bus.ts');
    const bus = new ExternalBus({ url: config.mqttExternal, clientId: `kedge-edge-${config.nodeName}`.slice(0, 64), log });
    await bus.start(signal);
    return bus;
  }
  const credentials = isLoopback(config.mqttBindAddress) ? undefined : await loadOrCreateCredentials(join(config.dataDir, 'mqtt-password'));
  const broker = new EmbeddedBroker({ bindAddress: config.mqttBindAddress, port: config.mqttPort, retryListen: true, ...(credentials !== undefined ? { credentials } : {}), log });
  await broker.start(signal);
  return broker;
}
