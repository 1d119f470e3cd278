import type { KubeObject } from '../../api/object.ts';
import type { Logger } from '../../log/logger.ts';
import { describeError } from '../../errors/platform-error.ts';
import type { NodeGraphIndex } from './auth/node-graph.ts';
import type { RestStorage } from './storage/rest-storage.ts';

/**
 * Keeps the node authorizer's graph (which pods are bound to which node, and what they reference)
 * in step with the pods the API serves, from the pods' watch cache.
 */
export class NodeGraphFeeder {
  readonly #pods: RestStorage;
  readonly #graph: NodeGraphIndex;
  readonly #log: Logger;

  constructor(options: { pods: RestStorage; graph: NodeGraphIndex; log: Logger }) {
    this.#pods = options.pods;
    this.#graph = options.graph;
    this.#log = options.log;
  }

  /** Loads every pod, then follows changes until `signal` aborts. Resolves once loaded. */
  async start(signal: AbortSignal): Promise<void> {
    const snap = await this.#pods.snapshot(undefined, undefined, true);
    for (const o of snap.items) this.#graph.upsertPod(this.#pods.served(o) as never);
    void this.#follow(snap.revision, signal);
  }

  async #follow(after: number, signal: AbortSignal): Promise<void> {
    try {
      for await (const batch of this.#pods.watch(undefined, after, undefined, signal)) {
        for (const ev of batch.events) {
          const pod: KubeObject = this.#pods.served(ev.object);
          if (ev.type === 'DELETED') this.#graph.deletePod(pod as never);
          else this.#graph.upsertPod(pod as never);
        }
      }
    } catch (err) {
      if (!signal.aborted) this.#log.error('pod watch for the node authorizer ended', { err: describeError(err) });
    }
  }
}
