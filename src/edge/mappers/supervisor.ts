import { describeError } from '../../errors/platform-error.ts';
import type { Logger, LogFields } from '../../log/logger.ts';
import { deviceProtocolName, type DeviceObject } from '../../protocol/devices.ts';
import type { SyncedKind } from '../../protocol/envelope.ts';
import type { Change, StoredObject } from '../meta/meta-manager.ts';

/** What the supervisor reads of MetaManager: the Devices and DeviceModels the cloud sent this node. */
export interface MapperDeviceSource {
  get(kind: SyncedKind, namespace: string, name: string): StoredObject | undefined;
  list(kind: SyncedKind, namespace?: string): StoredObject[];
  /** Called synchronously after every committed batch of changes. @returns unsubscribe */
  subscribe(listener: (changes: readonly Change[]) => void): () => void;
}

/** How one mapper process is started: kedge's arguments (`mapper <protocol> ...`) and environment beyond the edge's. */
export interface MapperLaunch {
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
}

/** How a mapper process ended; `error` when it could not be started at all. */
export interface MapperExit {
  readonly code: number | null;
  readonly signal: string | null;
  readonly error?: unknown;
}

/** A running mapper process. */
export interface MapperChild {
  readonly pid: number | undefined;
  /** Settles once the process has exited or could not start; never rejects. */
  readonly exited: Promise<MapperExit>;
  /** Signals the process; does nothing once it has exited. */
  kill(signal: 'SIGTERM' | 'SIGKILL'): void;
}

/** Starts a mapper process; `onLine` gets every line it writes on stdout or stderr. */
export type MapperSpawner = (launch: MapperLaunch, onLine: (line: string) => void) => MapperChild;

/** Restart and stop timing. */
export interface MapperSupervisorTiming {
  /** First wait before restarting a mapper that exited. @default 1000 */
  readonly backoffInitialMs: number;
  /** The wait doubles on each exit up to this. @default 60_000 */
  readonly backoffMaxMs: number;
  /** A mapper that ran this long before exiting counts as healthy: its next wait is the first one again. @default 60_000 */
  readonly resetAfterMs: number;
  /** Between SIGTERM and SIGKILL when a mapper is stopped. @default 5000 */
  readonly stopGraceMs: number;
}

const DEFAULT_TIMING: MapperSupervisorTiming = { backoffInitialMs: 1000, backoffMaxMs: 60_000, resetAfterMs: 60_000, stopGraceMs: 5000 };

/** Options of {@link MapperSupervisor}. */
export interface MapperSupervisorOptions {
  readonly nodeName: string;
  readonly meta: MapperDeviceSource;
  /** The protocols the edge runs mappers for (`--mappers`). */
  readonly protocols: readonly string[];
  /** The protocols kedge has a mapper for: the others are left to mappers run by hand. */
  readonly builtin: readonly string[];
  /** How the mapper for a protocol is started; asked again at every start. */
  readonly launch: (protocol: string) => MapperLaunch;
  readonly spawn: MapperSpawner;
  /** The supervisor's own lines. */
  readonly log: Logger;
  /** Where the mappers' own log lines go, each tagged with `mapper: <protocol>`. */
  readonly output: Logger;
  readonly timing?: Partial<MapperSupervisorTiming>;
  /** @default Date.now */
  readonly now?: () => number;
}

/** One protocol's mapper: running, being stopped, or waiting to be restarted. */
interface Slot {
  readonly protocol: string;
  /** Some device of this node uses the protocol. */
  wanted: boolean;
  child: MapperChild | undefined;
  /** SIGTERM was sent to {@link child}: its exit is expected. */
  stopping: boolean;
  startedAt: number;
  /** The wait before the next restart. */
  backoffMs: number;
  restartTimer: NodeJS.Timeout | undefined;
  killTimer: NodeJS.Timeout | undefined;
  readonly output: Logger;
}

/** Longest line of mapper output forwarded; longer ones are cut. */
const MAX_LINE_CHARS = 16 * 1024;
/** The fields of a mapper's JSON log line that the edge's own line already has. */
const DROPPED_FIELDS = new Set(['level', 'time', 'msg', 'process', 'node', 'protocol', 'mapper']);

/**
 * Runs the mappers this node's devices need, as KubeEdge users expect of a one-command edge: one
 * `kedge mapper <protocol>` process per protocol that some Device on this node uses (from
 * MetaManager, with the protocol taken from the Device or its DeviceModel), for the protocols
 * in {@link MapperSupervisorOptions.protocols}.
 *
 * - A mapper starts when the first device of its protocol arrives and is stopped (SIGTERM, SIGKILL
 *   after a grace period) when the last one is gone. There is never more than one process per
 *   protocol: a protocol wanted again while its mapper is stopping starts once that one has exited.
 * - A mapper that exits on its own is restarted after a back-off that doubles up to a maximum and
 *   starts over once a mapper has run fine for a while.
 * - Every line a mapper writes goes into the edge's log, tagged with the mapper's protocol (its JSON
 *   log lines keep their level and fields).
 * - When `signal` aborts, every mapper is stopped; {@link done} settles once all have exited. A
 *   mapper also stops by itself when the edge dies without that (see `--stop-on-stdin-close`).
 *
 * Devices of a protocol without a built-in mapper, or not selected, are said once in the log.
 */
export class MapperSupervisor {
  readonly #o: MapperSupervisorOptions;
  readonly #timing: MapperSupervisorTiming;
  readonly #now: () => number;
  /** Device id (`<namespace>/<name>`) → its protocol. */
  readonly #protocolOf = new Map<string, string>();
  readonly #slots = new Map<string, Slot>();
  readonly #noted = new Set<string>();
  #reconcileQueued = false;
  #closed = false;
  #settle: (() => void) | undefined;
  readonly #done: Promise<void>;

  constructor(options: MapperSupervisorOptions) {
    this.#o = options;
    this.#timing = { ...DEFAULT_TIMING, ...options.timing };
    this.#now = options.now ?? Date.now;
    this.#done = new Promise((resolve) => (this.#settle = resolve));
  }

  /** Settles once the signal aborted and every mapper has exited. */
  get done(): Promise<void> {
    return this.#done;
  }

  /** The mapper processes alive now: protocol → pid. */
  get running(): ReadonlyMap<string, number | undefined> {
    const out = new Map<string, number | undefined>();
    for (const s of this.#slots.values()) if (s.child !== undefined) out.set(s.protocol, s.child.pid);
    return out;
  }

  /** Reads the node's devices, starts the mappers they need and follows their changes until `signal` aborts. */
  start(signal: AbortSignal): Promise<void> {
    for (const d of this.#o.meta.list('devices')) this.#refresh(d.namespace, d.name);
    const unsubscribe = this.#o.meta.subscribe((changes) => this.#onChanges(changes));
    const stop = (): void => {
      unsubscribe();
      this.#close();
    };
    if (signal.aborted) stop();
    else signal.addEventListener('abort', stop, { once: true });
    this.#reconcile();
    this.#o.log.info('mapper supervisor started', { protocols: this.#o.protocols, devices: this.#protocolOf.size, running: [...this.running.keys()] });
    return Promise.resolve();
  }

  // -------------------------------------------------------------------------------------------
  // Which protocols are in use

  #onChanges(changes: readonly Change[]): void {
    let relevant = false;
    for (const c of changes) {
      const o = c.object;
      if (o.kind === 'devices') {
        this.#refresh(o.namespace, o.name);
        relevant = true;
      } else if (o.kind === 'devicemodels') {
        for (const d of this.#o.meta.list('devices', o.namespace)) if ((d.object as DeviceObject).spec?.deviceModelRef?.name === o.name) this.#refresh(d.namespace, d.name);
        relevant = true;
      }
    }
    // After the batch's other listeners, and once for everything one turn changed.
    if (relevant && !this.#reconcileQueued) {
      this.#reconcileQueued = true;
      queueMicrotask(() => {
        this.#reconcileQueued = false;
        this.#reconcile();
      });
    }
  }

  #refresh(namespace: string, name: string): void {
    const id = `${namespace}/${name}`;
    const stored = this.#o.meta.get('devices', namespace, name);
    if (stored === undefined) {
      this.#protocolOf.delete(id);
      return;
    }
    const device = stored.object as DeviceObject;
    const modelName = device.spec?.deviceModelRef?.name;
    const model = modelName === undefined || modelName === '' ? undefined : (this.#o.meta.get('devicemodels', namespace, modelName)?.object);
    this.#protocolOf.set(id, deviceProtocolName(device, model));
  }

  #reconcile(): void {
    if (this.#closed) return;
    const inUse = new Map<string, string>();
    for (const [id, protocol] of this.#protocolOf) if (protocol !== '' && !inUse.has(protocol)) inUse.set(protocol, id);
    for (const [protocol, device] of inUse) {
      if (this.#o.protocols.includes(protocol)) this.#want(protocol);
      else this.#noteUnserved(protocol, device);
    }
    for (const slot of this.#slots.values()) if (!inUse.has(slot.protocol)) this.#unwant(slot);
  }

  #noteUnserved(protocol: string, device: string): void {
    if (this.#noted.has(protocol)) return;
    this.#noted.add(protocol);
    if (this.#o.builtin.includes(protocol)) {
      this.#o.log.info(`the edge does not run the ${protocol} mapper (--mappers); run "kedge mapper ${protocol} --node ${this.#o.nodeName}" by hand or as a pod`, { protocol, device });
    } else {
      this.#o.log.warn(`kedge has no mapper for protocol "${protocol}": its devices need a mapper run by hand that speaks KubeEdge's device MQTT topics`, { protocol, device });
    }
  }

  // -------------------------------------------------------------------------------------------
  // Processes

  #want(protocol: string): void {
    let slot = this.#slots.get(protocol);
    if (slot === undefined) {
      slot = { protocol, wanted: true, child: undefined, stopping: false, startedAt: 0, backoffMs: this.#timing.backoffInitialMs, restartTimer: undefined, killTimer: undefined, output: this.#o.output.child({ mapper: protocol }) };
      this.#slots.set(protocol, slot);
      this.#o.log.info('a device needs the mapper: starting it', { protocol });
      this.#launch(slot);
      return;
    }
    if (slot.wanted) return;
    // Back before its mapper stopped: it starts again once the old process has exited.
    slot.wanted = true;
  }

  #unwant(slot: Slot): void {
    if (!slot.wanted) return;
    slot.wanted = false;
    this.#o.log.info('no device uses the mapper any more: stopping it', { protocol: slot.protocol, pid: slot.child?.pid });
    if (slot.child === undefined) this.#drop(slot);
    else this.#terminate(slot);
  }

  #launch(slot: Slot): void {
    slot.restartTimer = undefined;
    slot.stopping = false;
    slot.startedAt = this.#now();
    let child: MapperChild;
    try {
      const launch = this.#o.launch(slot.protocol);
      child = this.#o.spawn(launch, (line) => forwardLine(slot.output, line));
    } catch (err) {
      child = { pid: undefined, exited: Promise.resolve({ code: null, signal: null, error: err }), kill: () => undefined };
    }
    slot.child = child;
    if (child.pid !== undefined) this.#o.log.info('mapper started', { protocol: slot.protocol, pid: child.pid });
    void child.exited.then((exit) => this.#onExit(slot, child, exit));
  }

  #terminate(slot: Slot): void {
    const child = slot.child;
    if (child === undefined || slot.stopping) return;
    slot.stopping = true;
    child.kill('SIGTERM');
    slot.killTimer = setTimeout(() => {
      this.#o.log.warn('mapper did not stop after SIGTERM: killing it', { protocol: slot.protocol, pid: child.pid, graceMs: this.#timing.stopGraceMs });
      child.kill('SIGKILL');
    }, this.#timing.stopGraceMs);
  }

  #onExit(slot: Slot, child: MapperChild, exit: MapperExit): void {
    if (slot.child !== child) return;
    clearTimeout(slot.killTimer);
    slot.killTimer = undefined;
    slot.child = undefined;
    const ranMs = this.#now() - slot.startedAt;
    const how: LogFields = { protocol: slot.protocol, pid: child.pid, code: exit.code, signal: exit.signal, ranMs, ...(exit.error !== undefined ? { err: describeError(exit.error) } : {}) };
    if (slot.stopping) {
      slot.stopping = false;
      this.#o.log.info('mapper stopped', how);
      // Wanted again while it stopped: a fresh start, not a restart after a failure.
      if (slot.wanted && !this.#closed) {
        slot.backoffMs = this.#timing.backoffInitialMs;
        this.#launch(slot);
      } else this.#drop(slot);
      return;
    }
    if (this.#closed || !slot.wanted) {
      this.#o.log.info('mapper exited', how);
      this.#drop(slot);
      return;
    }
    if (ranMs >= this.#timing.resetAfterMs) slot.backoffMs = this.#timing.backoffInitialMs;
    const delay = slot.backoffMs;
    slot.backoffMs = Math.min(delay * 2, this.#timing.backoffMaxMs);
    this.#o.log.warn(exit.error !== undefined ? 'mapper could not be started; trying again' : 'mapper exited; restarting it', { ...how, restartInMs: delay });
    slot.restartTimer = setTimeout(() => this.#launch(slot), delay);
  }

  #drop(slot: Slot): void {
    clearTimeout(slot.restartTimer);
    clearTimeout(slot.killTimer);
    this.#slots.delete(slot.protocol);
    if (this.#closed && this.#slots.size === 0) this.#settle?.();
  }

  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const alive = [...this.#slots.values()].filter((s) => s.child !== undefined);
    if (alive.length > 0) this.#o.log.info('stopping the mappers', { protocols: alive.map((s) => s.protocol) });
    for (const slot of [...this.#slots.values()]) {
      slot.wanted = false;
      if (slot.child === undefined) this.#drop(slot);
      else this.#terminate(slot);
    }
    if (this.#slots.size === 0) this.#settle?.();
  }
}

const LEVELS: Record<number, 'trace' | 'debug' | 'info' | 'warn' | 'error'> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error' };

/**
 * One line of a mapper's output into the edge's log: a JSON log line keeps its level, message and
 * fields (less what the edge's line has already); anything else (a crash's stack trace) is logged
 * as it is.
 */
export function forwardLine(log: Logger, line: string): void {
  const text = line.length > MAX_LINE_CHARS ? `${line.slice(0, MAX_LINE_CHARS)}…` : line;
  if (text.startsWith('{')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    if (typeof parsed === 'object' && parsed !== null && typeof (parsed as { msg?: unknown }).msg === 'string') {
      const j = parsed as Record<string, unknown>;
      const level = typeof j['level'] === 'number' ? (LEVELS[Math.min(50, Math.floor(j['level'] / 10) * 10)] ?? 'info') : 'info';
      const fields: LogFields = {};
      for (const [k, v] of Object.entries(j)) if (!DROPPED_FIELDS.has(k)) fields[k] = v;
      log[level](j['msg'] as string, fields);
      return;
    }
  }
  if (text.trim() !== '') log.info(text);
}
