import type { KubeObject } from '../../../api/object.ts';
import type { Logger } from '../../../log/logger.ts';
import type { KubeClient } from '../../client/client.ts';
import { Informer } from './informer.ts';

/**
 * One informer per resource (and namespace) for every component of the cloud, as client-go's
 * SharedInformerFactory: each object change is decoded and cached once, whatever number of
 * controllers react to it. Components add their handlers and indexes, then `start` the informer;
 * the first start lists and watches, later ones wait for the same sync.
 */
export class SharedInformers {
  readonly #client: KubeClient;
  readonly #log: Logger;
  readonly #informers = new Map<string, Informer<KubeObject>>();

  constructor(options: { client: KubeClient; log: Logger }) {
    this.#client = options.client;
    this.#log = options.log;
  }

  /** The shared informer of `group/version/plural` (optionally one namespace of it). */
  get<T extends KubeObject>(group: string, version: string, plural: string, namespace?: string): Informer<T> {
    const id = `${group}/${version}/${plural}${namespace === undefined ? '' : `@${namespace}`}`;
    let informer = this.#informers.get(id);
    if (informer === undefined) {
      informer = new Informer<KubeObject>({
        client: this.#client.resource(group, version, plural),
        ...(namespace !== undefined ? { namespace } : {}),
        log: this.#log.child({ informer: id }),
        freeze: true,
      });
      this.#informers.set(id, informer);
    }
    return informer as unknown as Informer<T>;
  }
}
