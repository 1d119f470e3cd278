import type { KubeObject } from '../../../api/object.ts';
import type { Logger } from '../../../log/logger.ts';
import type { KubeClient } from '../../client/client.ts';
import { Informer } from './informer.ts';

/** A shared informer held for a while: `release` says the holder no longer needs it. */
export interface InformerLease<T extends KubeObject> {
  readonly informer: Informer<T>;
  /** Gives the informer up (once; later calls do nothing). Remove your handlers first. */
  release(): void;
}

interface Entry {
  readonly informer: Informer<KubeObject>;
  /** Some component took it with `get`: it is kept for the life of the process. */
  pinned: boolean;
  /** Leases taken with `acquire` and not released yet. */
  leases: number;
}

/**
 * One informer per resource (and namespace) for every component of the cloud, as client-go's
 * SharedInformerFactory: each object change is decoded and cached once, whatever number of
 * controllers react to it. Components add their handlers and indexes, then `start` the informer;
 * the first start lists and watches, later ones wait for the same sync.
 *
 * Most components follow fixed resources for the life of the process and take their informers with
 * `get`. The garbage collector follows whatever is served, and a CRD can go: it takes informers with
 * `acquire` and releases them when their resource is no longer served. The last release of an
 * informer nobody took with `get` stops it and forgets it, so its objects are not kept (nor a
 * relist retried) for a resource that is gone; a resource served again later gets a new informer
 * that lists afresh. An informer some component took with `get` is never stopped: that component
 * holds it and reads from it, and the informer's own relist follows the resource when it comes back.
 */
export class SharedInformers {
  readonly #client: KubeClient;
  readonly #log: Logger;
  readonly #informers = new Map<string, Entry>();

  constructor(options: { client: KubeClient; log: Logger }) {
    this.#client = options.client;
    this.#log = options.log;
  }

  /** How many informers exist (each one resource, or one namespace of it). */
  get size(): number {
    return this.#informers.size;
  }

  /** True when an informer of `group/version/plural` (optionally one namespace of it) exists; creates none. */
  has(group: string, version: string, plural: string, namespace?: string): boolean {
    return this.#informers.has(informerId(group, version, plural, namespace));
  }

  /** The shared informer of `group/version/plural` (optionally one namespace of it), kept for the life of the process. */
  get<T extends KubeObject>(group: string, version: string, plural: string, namespace?: string): Informer<T> {
    const entry = this.#entry(group, version, plural, namespace);
    entry.pinned = true;
    return entry.informer as unknown as Informer<T>;
  }

  /**
   * The shared informer of `group/version/plural` (optionally one namespace of it), until the
   * returned lease is released; see the class comment for what the last release does.
   */
  acquire<T extends KubeObject>(group: string, version: string, plural: string, namespace?: string): InformerLease<T> {
    const id = informerId(group, version, plural, namespace);
    const entry = this.#entry(group, version, plural, namespace);
    entry.leases++;
    let released = false;
    return {
      informer: entry.informer as unknown as Informer<T>,
      release: () => {
        if (released) return;
        released = true;
        entry.leases--;
        if (entry.leases > 0 || entry.pinned) return;
        entry.informer.stop();
        this.#informers.delete(id);
      },
    };
  }

  #entry(group: string, version: string, plural: string, namespace: string | undefined): Entry {
    const id = informerId(group, version, plural, namespace);
    let entry = this.#informers.get(id);
    if (entry === undefined) {
      const informer = new Informer<KubeObject>({
        client: this.#client.resource(group, version, plural),
        ...(namespace !== undefined ? { namespace } : {}),
        log: this.#log.child({ informer: id }),
        freeze: true,
      });
      entry = { informer, pinned: false, leases: 0 };
      this.#informers.set(id, entry);
    }
    return entry;
  }
}

function informerId(group: string, version: string, plural: string, namespace: string | undefined): string {
  return `${group}/${version}/${plural}${namespace === undefined ? '' : `@${namespace}`}`;
}
