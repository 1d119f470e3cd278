import type { KubeObject } from '../../api/object.ts';
import type { Logger } from '../../log/logger.ts';
import { describeError } from '../../errors/platform-error.ts';
import type { NodeGraphIndex } from './auth/node-graph.ts';
import type { RestStorage } from './storage/rest-storage.ts';

/** One resource the graph follows, and how its objects enter and leave the graph. */
interface Followed {
  readonly what: string;
  readonly storage: RestStorage;
  upsert(o: KubeObject): void;
  remove(o: KubeObject): void;
}

/**
 * Keeps the node authorizer's graph in step with what the API serves, from the watch caches: which
 * pods are bound to which node and what they reference, and which devices (with their models) sit
 * behind which node. It keeps no objects of its own, only the graph's links.
 */
export class NodeGraphFeeder {
  readonly #followed: Followed[];
  readonly #log: Logger;

  /** @param devices the storage of `devices.kubeedge.io` Devices, when that CRD is served */
  constructor(options: { pods: RestStorage; devices: RestStorage | undefined; graph: NodeGraphIndex; log: Logger }) {
    const { graph } = options;
    this.#followed = [
      { what: 'pods', storage: options.pods, upsert: (o) => graph.upsertPod(o as never), remove: (o) => graph.deletePod(o as never) },
      ...(options.devices === undefined ? [] : [{ what: 'devices', storage: options.devices, upsert: (o: KubeObject) => graph.upsertDevice(o), remove: (o: KubeObject) => graph.deleteDevice(o) }]),
    ];
    this.#log = options.log;
  }

  /** Loads every object, then follows changes until `signal` aborts. Resolves once loaded. */
  async start(signal: AbortSignal): Promise<void> {
    for (const f of this.#followed) {
      const snap = await f.storage.snapshot(undefined, undefined, true);
      for (const o of snap.items) f.upsert(f.storage.served(o));
      void this.#follow(f, snap.revision, signal);
    }
  }

  async #follow(f: Followed, after: number, signal: AbortSignal): Promise<void> {
    try {
      for await (const batch of f.storage.watch(undefined, after, undefined, signal)) {
        for (const ev of batch.events) {
          const o: KubeObject = f.storage.served(ev.object);
          if (ev.type === 'DELETED') f.remove(o);
          else f.upsert(o);
        }
      }
    } catch (err) {
      if (!signal.aborted) this.#log.error(`${f.what} watch for the node authorizer ended`, { err: describeError(err) });
    }
  }
}
