/**
 * The EventBus: the edge's MQTT bus, which mappers and edge apps share with DeviceTwin. Either the
 * embedded broker ({@link EmbeddedBroker}, the default, on 127.0.0.1:1883) or an existing broker
 * such as mosquitto that the edge joins as a client ({@link ExternalBus}, `--mqtt-external`).
 * DeviceTwin sees the same interface either way; the conformance suite (`conformance.ts`) runs
 * against both.
 */

/** Called for each message on a subscribed filter, synchronously and in arrival order. Must not block. */
export type BusHandler = (topic: string, payload: Buffer) => void;

/** Options of {@link EventBus.publish}. */
export interface PublishOptions {
  /** @default 0: the payloads DeviceTwin publishes are answers and notices, superseded by the next one. */
  readonly qos?: 0 | 1;
  /** @default false */
  readonly retain?: boolean;
}

/** What DeviceTwin needs of the bus. */
export interface EventBus {
  /** `embedded` (this process is the broker) or `external` (a client of another broker). */
  readonly mode: 'embedded' | 'external';
  /** Where mappers and apps on this host connect, e.g. `mqtt://127.0.0.1:1883`. */
  readonly url: string;
  /**
   * Delivers every message whose topic matches `filter` (MQTT wildcards `+` and `#`) to `handler`,
   * also after a reconnect to an external broker. Resolves once the subscription is in place (for an
   * external broker: registered, and made on every connection).
   */
  subscribe(filter: string, handler: BusHandler): Promise<void>;
  /** Publishes a message. Never throws: a message that cannot be sent is logged and dropped. */
  publish(topic: string, payload: string | Buffer, options?: PublishOptions): void;
}

/**
 * Whether `topic` matches the subscription `filter`, per MQTT 3.1.1 §4.7: `+` matches one level,
 * a trailing `#` any number (including none); wildcards at the first level do not match topics
 * starting with `$` [MQTT-4.7.2-1].
 */
export function topicMatches(filter: string, topic: string): boolean {
  if (topic.startsWith('$') && (filter.startsWith('+') || filter.startsWith('#'))) return false;
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    const level = f[i];
    if (level === '#') return i === f.length - 1;
    if (i >= t.length) return false;
    if (level !== '+' && level !== t[i]) return false;
  }
  return f.length === t.length;
}

/** True when `filter` is a valid MQTT subscription filter [MQTT-4.7.1]. */
export function isValidFilter(filter: string): boolean {
  if (filter === '' || filter.includes('\u0000')) return false;
  const levels = filter.split('/');
  return levels.every((l, i) => (l.includes('#') ? l === '#' && i === levels.length - 1 : !l.includes('+') || l === '+'));
}
