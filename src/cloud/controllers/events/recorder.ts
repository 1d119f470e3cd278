import { randomBytes } from 'node:crypto';
import type { KubeObject } from '../../../api/object.ts';
import type { Logger } from '../../../log/logger.ts';
import { describeError, hasCode } from '../../../errors/platform-error.ts';
import type { KubeClient, ResourceClient } from '../../client/client.ts';
import { rfc3339 } from '../../../api/time.ts';

export type EventType = 'Normal' | 'Warning';

interface EventObject extends KubeObject {
  involvedObject: { kind?: string; namespace?: string; name?: string; uid?: string; apiVersion?: string; resourceVersion?: string };
  reason: string;
  message: string;
  type: EventType;
  count: number;
  firstTimestamp: string;
  lastTimestamp: string;
  source: { component: string };
  reportingComponent: string;
  reportingInstance: string;
}

/**
 * Records core/v1 Events about objects, as client-go's recorder does: the same reason and message
 * about the same object within the aggregation window bumps `count` and `lastTimestamp` instead of
 * creating another Event, so a controller in a retry loop cannot flood the store. Recording never
 * fails the caller: errors are logged.
 */
export class EventRecorder {
  readonly #events: ResourceClient<EventObject>;
  readonly #component: string;
  readonly #log: Logger;
  readonly #now: () => Date;
  /** `uid|reason|message` → the Event that recorded it. */
  readonly #recent = new Map<string, { namespace: string; name: string; count: number; first: string }>();

  constructor(options: { client: KubeClient; component: string; log: Logger; now?: () => Date }) {
    this.#events = options.client.resource<EventObject>('', 'v1', 'events');
    this.#component = options.component;
    this.#log = options.log;
    this.#now = options.now ?? (() => new Date());
  }

  /** Records `reason`/`message` about `obj`; resolves when stored (or logged as failed). */
  async record(obj: KubeObject, type: EventType, reason: string, message: string): Promise<void> {
    const m = obj.metadata;
    const namespace = m.namespace !== undefined && m.namespace !== '' ? m.namespace : 'default';
    const now = rfc3339(this.#now().getTime());
    const dedupe = `${m.uid ?? `${namespace}/${m.name ?? ''}`}|${reason}|${message}`;
    const seen = this.#recent.get(dedupe);
    try {
      if (seen !== undefined) {
        seen.count++;
        await this.#events.patch(seen.namespace, seen.name, 'merge', { count: seen.count, lastTimestamp: now });
        return;
      }
      const name = `${m.name ?? 'object'}.${randomBytes(8).toString('hex')}`;
      const event: EventObject = {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { name, namespace },
        involvedObject: {
          kind: obj.kind,
          namespace: m.namespace,
          name: m.name,
          uid: m.uid,
          apiVersion: obj.apiVersion,
          resourceVersion: m.resourceVersion,
        },
        reason,
        message,
        type,
        count: 1,
        firstTimestamp: now,
        lastTimestamp: now,
        source: { component: this.#component },
        reportingComponent: this.#component,
        reportingInstance: this.#component,
      };
      await this.#events.create(namespace, event);
      this.#recent.set(dedupe, { namespace, name, count: 1, first: now });
      if (this.#recent.size > 4096) this.#recent.delete(this.#recent.keys().next().value!);
    } catch (err) {
      if (seen !== undefined && hasCode(err, 'API_NOT_FOUND')) this.#recent.delete(dedupe);
      this.#log.debug('cannot record event', { reason, object: m.name, err: describeError(err) });
    }
  }
}
