import type { KubeObject } from '../../../api/object.ts';
import { hasCode } from '../../../errors/platform-error.ts';
import type { Logger } from '../../../log/logger.ts';
import type { DeviceObject } from '../../../protocol/devices.ts';
import type { DeviceReport } from '../../../protocol/envelope.ts';
import type { ResourceClient } from '../../client/client.ts';
import { Controller, type Reconciler } from '../runtime/controller.ts';
import { objectKey, splitKey } from '../runtime/informer.ts';
import { TokenBucket } from './rate-limiter.ts';
import { applyReport, mergePending, pendingOf, sameStatus, type PendingReport } from './status.ts';

/** The cache of Devices the writer reads from: an Informer (the hub's, shared). */
export interface DeviceCache {
  getByKey(key: string): KubeObject | undefined;
  addHandler(handler: { delete?(obj: KubeObject): void }): void;
}

/** Options of {@link DeviceReportWriter}. */
export interface DeviceReportWriterOptions {
  readonly devices: ResourceClient<DeviceObject>;
  readonly cache: DeviceCache;
  readonly log: Logger;
  /** Device status writes per second, sustained, across all devices. @default 200 */
  readonly writesPerSecond?: number;
  /** Writes at once. @default 400 */
  readonly writeBurst?: number;
  /** @default 2 */
  readonly workers?: number;
}

/**
 * The upstream half of the device controller: writes what edges report about their devices
 * (reported and observed-desired twins, state, lastOnlineTime) into `Device.status`, through the
 * status subresource (the spec is never touched) with resourceVersion preconditions.
 *
 * Reports are taken at once and written behind: per device only the merge of what arrived since
 * its last write is kept (the newest value of each property wins), so a device reporting 100
 * times a second costs one write per turn, and writes across all devices are rate limited, so a
 * reconnect storm of edges cannot flood the store. A write that would change nothing is skipped.
 *
 * Taking a report before it is written is safe because edges report every device again on each
 * connect (the edge's twin uplink resyncs): a cloud that dies with reports unwritten gets them
 * again from every edge as it reconnects.
 */
export class DeviceReportWriter implements Reconciler {
  readonly name = 'device-reports';
  readonly #o: DeviceReportWriterOptions;
  readonly #pending = new Map<string, PendingReport>();
  /** What this writer last wrote per device, newer than the cache until the watch catches up. */
  readonly #written = new Map<string, DeviceObject>();
  readonly #limiter: TokenBucket;
  readonly #controller: Controller;
  #writes = 0;

  constructor(options: DeviceReportWriterOptions) {
    this.#o = options;
    const perSecond = options.writesPerSecond ?? 200;
    this.#limiter = new TokenBucket({ perSecond, burst: options.writeBurst ?? perSecond * 2 });
    this.#controller = new Controller({ reconciler: this, workers: options.workers ?? 2, log: options.log });
    options.cache.addHandler({
      delete: (obj) => {
        const key = objectKey(obj);
        this.#written.delete(key);
        this.#pending.delete(key);
      },
    });
  }

  /** Status writes made so far. */
  get writes(): number {
    return this.#writes;
  }

  /** Devices with reports waiting to be written. */
  get backlog(): number {
    return this.#pending.size;
  }

  /** Runs the writers until `signal` aborts. */
  start(signal: AbortSignal): void {
    this.#controller.start(signal);
  }

  /**
   * Takes reports (already authorized: each device is on the reporting node) to be written behind.
   * Never throws and never waits.
   */
  accept(reports: readonly DeviceReport[]): void {
    for (const r of reports) {
      const key = `${r.namespace}/${r.name}`;
      this.#pending.set(key, mergePending(this.#pending.get(key), pendingOf(r)));
      this.#controller.enqueue(key);
    }
  }

  async reconcile(key: string, signal: AbortSignal): Promise<void> {
    const report = this.#pending.get(key);
    if (report === undefined) return;
    this.#pending.delete(key);
    // A device created a moment ago may not be in the cache yet: read it rather than lose the report.
    const device = this.#current(key) ?? (await this.#o.devices.get(splitKey(key).namespace, splitKey(key).name));
    // Gone, or re-created since the edge took its copy: that report describes another device.
    if (device === undefined || device.metadata.uid !== report.uid) return;
    const status = applyReport(device, report);
    if (sameStatus(device.status, status)) return;
    try {
      await this.#limiter.take(signal);
      const written = await this.#o.devices.updateStatus({ ...device, status });
      this.#writes++;
      this.#written.set(key, written);
    } catch (err) {
      // Keep the report for the retry, under anything newer that arrived meanwhile.
      const newer = this.#pending.get(key);
      this.#pending.set(key, newer === undefined ? report : mergePending(report, newer));
      if (hasCode(err, 'API_CONFLICT')) {
        // Someone else wrote the device (the controller, a user): read it fresh rather than
        // spinning on a cache that has not seen that write yet.
        const { namespace, name } = splitKey(key);
        const fresh = await this.#o.devices.get(namespace, name);
        if (fresh === undefined) this.#written.delete(key);
        else this.#written.set(key, fresh);
      }
      throw err;
    }
  }

  /** The newest copy of the device: the cache's, or the one this writer wrote if the cache has not caught up. */
  #current(key: string): DeviceObject | undefined {
    const cached: DeviceObject | undefined = this.#o.cache.getByKey(key);
    const written = this.#written.get(key);
    if (written === undefined) return cached;
    if (cached === undefined || cached.metadata.uid !== written.metadata.uid) {
      this.#written.delete(key);
      return cached;
    }
    if (revision(cached) >= revision(written)) {
      this.#written.delete(key);
      return cached;
    }
    return written;
  }
}

function revision(obj: KubeObject): number {
  const rv = Number(obj.metadata.resourceVersion);
  return Number.isSafeInteger(rv) ? rv : 0;
}
