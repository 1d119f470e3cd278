import { describeError } from '../../errors/platform-error.ts';
import { Backoff } from '../../edge/hub/backoff.ts';
import type { Logger } from '../../log/logger.ts';
import { checkValue, metadataType } from '../../protocol/devices.ts';
import { topics, type DataUpdate, type MsgTwin, type TwinUpdate } from '../../edge/twin/messages.ts';
import type { DeviceConnection, DeviceDriver, MapperDevice, MapperProperty } from './driver.ts';
import { asMapperError, MapperError, type MapperErrorCode } from './errors.ts';

/** Where a runner's messages go (the mapper's MQTT connection). */
export type Publish = (topic: string, payload: string) => void;

/** Options of {@link DeviceRunner}. */
export interface DeviceRunnerOptions {
  readonly device: MapperDevice;
  readonly driver: DeviceDriver;
  readonly publish: Publish;
  /** Prefix of the event ids this runner puts on its twin updates. */
  readonly eventPrefix: string;
  readonly log: Logger;
  /** Reconnect back-off. @default 1000 */
  readonly reconnectInitialMs?: number;
  /** @default 30_000 */
  readonly reconnectMaxMs?: number;
  /** @default Date.now */
  readonly now?: () => number;
}

/** Counters of one device. */
export interface RunnerStats {
  reads: number;
  readErrors: number;
  writes: number;
  twinUpdates: number;
  connects: number;
}

/** Errors that will not go away by trying the same write again. */
const PERMANENT_WRITE_ERRORS: ReadonlySet<MapperErrorCode> = new Set(['MAPPER_NOT_WRITABLE', 'MAPPER_VALUE_INVALID', 'MAPPER_CONFIG_INVALID']);

/**
 * Runs one device: connects through the driver (again and again with back-off while it cannot),
 * reads each property every `collectCycle`, publishes every value on `$ke/events/device/.../data/update`
 * and the twin on `.../twin/update` when it changed or `reportCycle` has passed, writes desired
 * values the edge sends (once per desired value), and keeps the device's state on
 * `.../state/update`: `online` while every property reads, `unhealthy` while some do not, `offline`
 * while it cannot connect.
 */
export class DeviceRunner {
  readonly device: MapperDevice;
  readonly stats: RunnerStats = { reads: 0, readErrors: 0, writes: 0, twinUpdates: 0, connects: 0 };
  readonly #o: DeviceRunnerOptions;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #props: Map<string, MapperProperty>;
  /** Desired values from the edge: value and the time the cloud set it (which tells two settings of one value apart). */
  readonly #desired = new Map<string, { value: string; ts: number }>();
  /** `value@ts` of the desired values written (or given up on). */
  readonly #applied = new Map<string, string>();
  /** The desired value last written per property: reported as the twin's `expected` (the cloud's observedDesired). */
  readonly #observed = new Map<string, string>();
  readonly #lastReported = new Map<string, { value: string; at: number }>();
  /** Properties whose last read failed, with the code (logged once per change). */
  readonly #failing = new Map<string, MapperErrorCode>();
  #state = '';
  #wake: (() => void) | undefined;
  #abort = new AbortController();
  #done: Promise<void> = Promise.resolve();
  #event = 0;

  constructor(options: DeviceRunnerOptions) {
    this.#o = options;
    this.device = options.device;
    this.#log = options.log;
    this.#now = options.now ?? Date.now;
    this.#props = new Map(options.device.properties.map((p) => [p.name, p]));
    this.setDesired(options.device.twin, true);
  }

  /** The state last published. */
  get state(): string {
    return this.#state;
  }

  /** Starts the loop; it runs until {@link stop} or `signal` aborts. */
  start(signal: AbortSignal): void {
    const onAbort = (): void => this.#abort.abort();
    signal.addEventListener('abort', onAbort, { once: true });
    this.#done = this.#run(this.#abort.signal).finally(() => signal.removeEventListener('abort', onAbort));
  }

  /** Stops the loop and closes the connection; resolves once both are done. */
  async stop(): Promise<void> {
    this.#abort.abort();
    this.#wake?.();
    await this.#done;
  }

  /**
   * Takes desired values from twins (membership: all of them; delta: the changed ones). A twin
   * whose actual value already equals its desired one needs no write.
   */
  setDesired(twins: Readonly<Record<string, MsgTwin>>, all: boolean): void {
    if (all) this.#desired.clear();
    for (const [name, t] of Object.entries(twins)) {
      const value = t.expected?.value;
      if (value === undefined) {
        if (all) this.#desired.delete(name);
        continue;
      }
      const d = { value, ts: t.expected?.metadata?.timestamp ?? 0 };
      this.#desired.set(name, d);
      if (all && t.actual?.value === value) this.#applied.set(name, `${d.value}@${d.ts}`);
    }
    this.#wake?.();
  }

  /** Publishes the current state again (the edge may have restarted). */
  republishState(): void {
    if (this.#state !== '') this.#publishState(this.#state);
  }

  async #run(signal: AbortSignal): Promise<void> {
    const backoff = new Backoff({ initialMs: this.#o.reconnectInitialMs ?? 1000, maxMs: this.#o.reconnectMaxMs ?? 30_000 });
    let lastFailure = '';
    while (!signal.aborted) {
      let conn: DeviceConnection;
      try {
        conn = await this.#o.driver.connect(this.device, signal);
      } catch (err) {
        const e = asMapperError(err, 'MAPPER_DEVICE_UNREACHABLE', `connecting to ${this.device.id}`);
        this.#setState('offline');
        const fields = { device: this.device.id, code: e.code, err: e.message, attempt: backoff.attempt + 1 };
        if (e.code !== lastFailure) this.#log[e.code === 'MAPPER_CONFIG_INVALID' ? 'error' : 'warn']('cannot connect to the device', fields);
        else this.#log.debug('cannot connect to the device', fields);
        lastFailure = e.code;
        await this.#sleep(backoff.next(), signal);
        continue;
      }
      this.stats.connects++;
      lastFailure = '';
      this.#log.info('connected to the device', { device: this.device.id, protocol: this.device.protocol.protocolName });
      try {
        await this.#serve(conn, signal, backoff);
      } catch (err) {
        if (!signal.aborted) this.#log.warn('lost the device', { device: this.device.id, code: err instanceof MapperError ? err.code : undefined, err: describeError(err) });
      } finally {
        await conn.close().catch(() => undefined);
      }
      if (signal.aborted) break;
      this.#setState('offline');
      await this.#sleep(backoff.next(), signal);
    }
  }

  /** Reads and writes on one connection until it fails (throws) or `signal` aborts. */
  async #serve(conn: DeviceConnection, signal: AbortSignal, backoff: Backoff): Promise<void> {
    const due = new Map<string, number>();
    const start = this.#now();
    for (const p of this.#props.values()) due.set(p.name, start);
    if (this.#props.size === 0) this.#setState('online');
    while (!signal.aborted) {
      await this.#applyDesired(conn);
      const now = this.#now();
      const values = new Map<string, string>();
      for (const p of this.#props.values()) {
        const at = due.get(p.name)!;
        if (at > now) continue;
        // Fixed rate: the next read is a cycle after the last due time, or a cycle from now if late.
        due.set(p.name, at + p.collectCycleMs > now ? at + p.collectCycleMs : now + p.collectCycleMs);
        const v = await this.#read(conn, p);
        if (v !== undefined) values.set(p.name, v);
      }
      if (values.size > 0) {
        backoff.reset();
        this.#publishValues(values, false);
      }
      if (this.#props.size > 0) this.#setState(this.#failing.size === 0 ? 'online' : 'unhealthy');
      const next = Math.min(...due.values());
      await this.#sleep(Math.max(0, next - this.#now()), signal);
    }
  }

  /** One read; undefined when the property could not be read (the connection being fine). */
  async #read(conn: DeviceConnection, p: MapperProperty): Promise<string | undefined> {
    try {
      const v = await conn.read(p);
      this.stats.reads++;
      if (this.#failing.delete(p.name)) this.#log.info('property readable again', { device: this.device.id, property: p.name });
      return v;
    } catch (err) {
      const e = asMapperError(err, 'MAPPER_DEVICE_ERROR', `reading ${p.name}`);
      if (e.connectionLost) throw e;
      this.stats.readErrors++;
      if (this.#failing.get(p.name) !== e.code) this.#log.warn('cannot read property', { device: this.device.id, property: p.name, code: e.code, err: e.message });
      this.#failing.set(p.name, e.code);
      return undefined;
    }
  }

  /** Writes desired values not written yet, reading each back so the edge sees the result at once. */
  async #applyDesired(conn: DeviceConnection): Promise<void> {
    for (const [name, d] of this.#desired) {
      const key = `${d.value}@${d.ts}`;
      if (this.#applied.get(name) === key) continue;
      const p = this.#props.get(name);
      if (p === undefined) continue;
      try {
        await conn.write(p, d.value);
        this.stats.writes++;
        this.#applied.set(name, key);
        this.#observed.set(name, d.value);
        this.#log.info('desired value written to the device', { device: this.device.id, property: name, value: d.value });
        const back = await this.#read(conn, p);
        this.#publishValues(new Map(back !== undefined ? [[name, back]] : []), true, name);
      } catch (err) {
        const e = asMapperError(err, 'MAPPER_DEVICE_ERROR', `writing ${name}`);
        if (e.connectionLost) throw e;
        if (PERMANENT_WRITE_ERRORS.has(e.code)) {
          // Trying the same value again cannot work; a new desired value is tried afresh.
          this.#applied.set(name, key);
          this.#log.error('cannot write the desired value; giving up on it', { device: this.device.id, property: name, value: d.value, code: e.code, err: e.message });
        } else {
          this.#log.warn('cannot write the desired value; retrying', { device: this.device.id, property: name, value: d.value, code: e.code, err: e.message });
          return;
        }
      }
    }
  }

  /**
   * Publishes collected values: all on data/update, and on twin/update those that changed, are due
   * by reportCycle, or (`force`) were just written. Values the model would refuse are logged and
   * left out, so they do not take the others down with them.
   */
  #publishValues(values: ReadonlyMap<string, string>, force: boolean, written?: string): void {
    const now = this.#now();
    const ns = this.device.namespace;
    const name = this.device.name;
    if (values.size > 0) {
      const data: Record<string, DataUpdate['data'][string]> = {};
      for (const [p, value] of values) data[p] = { value, metadata: { timestamp: now, type: metadataType(this.#props.get(p)!.type) } };
      this.#o.publish(topics.dataUpdate(ns, name), JSON.stringify({ event_id: '', timestamp: now, data } satisfies DataUpdate));
    }
    const twin: Record<string, MsgTwin> = {};
    for (const [p, value] of values) {
      const prop = this.#props.get(p)!;
      const last = this.#lastReported.get(p);
      if (!force && last !== undefined && last.value === value && now - last.at < prop.reportCycleMs) continue;
      const why = checkValue(value, prop);
      if (why !== undefined) {
        if (last?.value !== `!${value}`) this.#log.warn('device value outside its model; not reported', { device: this.device.id, property: p, value, code: 'MAPPER_VALUE_INVALID', err: why });
        this.#lastReported.set(p, { value: `!${value}`, at: now });
        continue;
      }
      this.#lastReported.set(p, { value, at: now });
      const observed = this.#observed.get(p);
      twin[p] = { actual: { value, metadata: { timestamp: now } }, metadata: { type: metadataType(prop.type) }, ...(observed !== undefined ? { expected: { value: observed, metadata: { timestamp: now } } } : {}) };
    }
    // A written value that could not be read back still tells the edge what was applied.
    if (written !== undefined && twin[written] === undefined && this.#observed.has(written)) twin[written] = { expected: { value: this.#observed.get(written)!, metadata: { timestamp: now } } };
    if (Object.keys(twin).length === 0) return;
    this.stats.twinUpdates++;
    this.#o.publish(topics.twinUpdate(ns, name), JSON.stringify({ event_id: `${this.#o.eventPrefix}-${++this.#event}`, timestamp: now, twin } satisfies TwinUpdate));
  }

  #setState(state: string): void {
    if (state === this.#state) return;
    this.#state = state;
    this.#log.info('device state', { device: this.device.id, state });
    this.#publishState(state);
  }

  #publishState(state: string): void {
    this.#o.publish(topics.stateUpdate(this.device.namespace, this.device.name), JSON.stringify({ event_id: `${this.#o.eventPrefix}-s${++this.#event}`, timestamp: this.#now(), state }));
  }

  /** Waits `ms`, or less if woken (a desired value arrived) or aborted. */
  async #sleep(ms: number, signal: AbortSignal): Promise<void> {
    if (signal.aborted) return;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        this.#wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener('abort', done, { once: true });
      this.#wake = done;
    });
  }
}
