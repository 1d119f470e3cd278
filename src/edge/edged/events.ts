import { randomBytes } from 'node:crypto';
import type { KubeObject } from '../../api/object.ts';
import type { ResourceRef } from '../../protocol/envelope.ts';
import type { PodObject } from './pod-spec.ts';
import { rfc3339 } from '../../api/time.ts';

/** Where events go: the durable outbox, which EdgeHub delivers to the cloud at least once. */
export interface EventSink {
  enqueue(op: 'event', resource: ResourceRef, content: KubeObject): string;
}

/** Options of {@link EventRecorder}. */
export interface EventRecorderOptions {
  readonly sink: EventSink;
  readonly nodeName: string;
  /** The same event for the same object is recorded once per window. @default 60_000 */
  readonly dedupeMs?: number;
  /** @default () => new Date() */
  readonly now?: () => Date;
}

/**
 * Records Kubernetes Events about pods as the kubelet does (source `kubelet` on this node, the
 * container in `involvedObject.fieldPath`), through the outbox so they survive a cloud outage.
 * A repeat of the same event (object, reason, message) within the window is dropped: a pod
 * syncing in a loop must not flood an edge's outbox.
 */
export class EventRecorder {
  readonly #o: EventRecorderOptions;
  readonly #recent = new Map<string, number>();
  readonly #now: () => Date;

  constructor(options: EventRecorderOptions) {
    this.#o = options;
    this.#now = options.now ?? (() => new Date());
  }

  /** Records an event about `pod` (and one of its containers, by `fieldPath`). */
  pod(pod: PodObject, type: 'Normal' | 'Warning', reason: string, message: string, fieldPath?: string): void {
    const now = this.#now();
    const key = `${pod.metadata.uid}\u0000${fieldPath ?? ''}\u0000${reason}\u0000${message}`;
    const last = this.#recent.get(key);
    const window = this.#o.dedupeMs ?? 60_000;
    if (last !== undefined && now.getTime() - last < window) return;
    this.#recent.set(key, now.getTime());
    if (this.#recent.size > 4096) for (const [k, t] of this.#recent) if (now.getTime() - t >= window) this.#recent.delete(k);
    const { namespace, name, uid } = pod.metadata;
    const event: KubeObject = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: `${name}.${randomBytes(8).toString('hex')}`, namespace },
      involvedObject: { apiVersion: 'v1', kind: 'Pod', namespace, name, uid, ...(fieldPath !== undefined ? { fieldPath } : {}) },
      reason,
      message,
      type,
      source: { component: 'kubelet', host: this.#o.nodeName },
      firstTimestamp: rfc3339(now.getTime()),
      lastTimestamp: rfc3339(now.getTime()),
      count: 1,
      reportingComponent: 'kubelet',
      reportingInstance: this.#o.nodeName,
    };
    this.#o.sink.enqueue('event', { kind: 'events', namespace, name: event.metadata.name! }, event);
  }

  /** Forgets a pod's recent events (after it is gone). */
  forget(uid: string): void {
    for (const k of this.#recent.keys()) if (k.startsWith(`${uid}\u0000`)) this.#recent.delete(k);
  }
}
