import { setTimeout as delay } from 'node:timers/promises';
import type { SecureContext } from 'node:tls';
import { describeError } from '../../errors/platform-error.ts';
import { parseNodeCertificate } from '../../pki/light.ts';
import type { Logger } from '../../log/logger.ts';
import { HUB_CLOSE_POLICY, HUB_CLOSE_REPLACED } from '../../protocol/envelope.ts';
import { EdgeError } from '../errors.ts';
import type { ObjectSync } from '../meta/meta-manager.ts';
import { Backoff } from './backoff.ts';
import type { Outbox } from './outbox.ts';
import { CertificateRotation, type HubCredentials } from './rotation.ts';
import { Session, type BatchUplink, type SessionEnd, type SyncStats } from './session.ts';
import type { StatusTable } from './status-table.ts';
import { connectTcp, openHubSocket, secureContextFor, type HubAddress } from './transport.ts';
import { rfc3339 } from '../../api/time.ts';

/** Timing of the hub client. Defaults are chosen for thousands of nodes per cloud. */
export interface HubTiming {
  /**
   * TCP connect. A SYN not answered in this time is retried with a fresh connection after the
   * back-off, rather than left to the kernel's SYN retransmissions (7, 15, 31 s apart), which would
   * keep a node waiting long after a cloud whose accept queue overflowed in a storm has caught up.
   * @default 5_000
   */
  readonly connectTimeoutMs: number;
  /** TLS + WebSocket upgrade once TCP is connected, generous so a cloud busy with a reconnect storm is not hit twice. @default 30_000 */
  readonly handshakeTimeoutMs: number;
  /** Upper bound of the first retry after a session ends. @default 250 */
  readonly reconnectInitialMs: number;
  /**
   * Cap of the retry delay while nothing listens on the hub port (refused, unreachable): cheap for
   * the cloud to refuse, so kept short for a node to be back in sync seconds after its cloud is.
   * @default 3_000
   */
  readonly reconnectUnreachableMaxMs: number;
  /**
   * Cap of the retry delay when the cloud answered but refused or failed (TLS, HTTP, policy close,
   * timeouts). Long enough to relieve an overloaded cloud, short enough that a node caught in a
   * reconnect storm is not left waiting long after the cloud has caught up.
   * @default 15_000
   */
  readonly reconnectMaxMs: number;
  /** Silence after which the edge pings. @default 15_000 */
  readonly keepaliveIntervalMs: number;
  /** Silence after which the connection is dropped as dead. @default 45_000 */
  readonly deadAfterMs: number;
  /** How long an uplink message waits for its ack before it is sent again. @default 30_000 */
  readonly ackTimeoutMs: number;
  /** Unacknowledged uplink messages at once. @default 64 */
  readonly maxInFlight: number;
}

export const DEFAULT_HUB_TIMING: HubTiming = Object.freeze({
  connectTimeoutMs: 5_000,
  handshakeTimeoutMs: 30_000,
  reconnectInitialMs: 250,
  reconnectUnreachableMaxMs: 3_000,
  reconnectMaxMs: 15_000,
  keepaliveIntervalMs: 15_000,
  deadAfterMs: 45_000,
  ackTimeoutMs: 30_000,
  maxInFlight: 64,
});

/** Options of {@link EdgeHub}. */
export interface EdgeHubOptions {
  readonly nodeName: string;
  readonly hub: HubAddress;
  readonly credentials: HubCredentials;
  /** Where objects from the cloud go (MetaManager). */
  readonly sync: ObjectSync;
  readonly statuses: StatusTable;
  readonly outbox: Outbox;
  /** DeviceTwin's device reports (group `twin`), when devices run on this edge. */
  readonly reports?: BatchUplink;
  readonly log: Logger;
  readonly timing?: Partial<HubTiming>;
  /** For tests: the random source of the back-off jitter. */
  readonly random?: () => number;
}

/** Where the connection stands; only EdgeHub knows, and nothing else in the edge needs to. */
export type HubState = 'connecting' | 'syncing' | 'ready' | 'offline' | 'stopped';

/** Totals since start. Wire bytes include TLS and WebSocket framing. */
export interface HubStats {
  readonly connects: number;
  readonly wireBytesIn: number;
  readonly wireBytesOut: number;
  readonly frameBytesIn: number;
  readonly frameBytesOut: number;
  /** The last completed inventory exchange. */
  readonly lastSync: SyncStats | undefined;
}

/** Failures to even reach the hub's port: retrying them costs the cloud next to nothing. */
const UNREACHABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE', 'ECONNABORTED', 'ETIMEDOUT']);

/**
 * EdgeHub: this node's one WSS session with CloudHub, kept up for the life of the process.
 *
 * - Connects with mutual TLS (the node certificate; only the cluster CA is trusted) and, on every
 *   connect, sends its inventory, applies the difference the cloud sends (persisted, then
 *   acknowledged) and is `ready` once the cloud says `synced`.
 * - Reconnects with jittered exponential back-off that starts fast (a cloud back from a restart
 *   has its nodes back in sync within seconds) and grows, capped low while the cloud is simply
 *   unreachable and higher when it answered with a refusal.
 * - Sends up what other components left in the status table and the outbox, and lease renewals,
 *   whenever connected; those components never learn whether the cloud is reachable.
 * - Renews the node certificate over the session well before it expires, without reconnecting.
 */
export class EdgeHub {
  readonly #o: EdgeHubOptions;
  readonly #log: Logger;
  readonly #timing: HubTiming;
  readonly #backoff: Backoff;
  readonly #rotation: CertificateRotation;
  readonly #stateListeners = new Set<(state: HubState) => void>();
  #state: HubState = 'offline';
  #session: Session | undefined;
  #context: { context: SecureContext; cert: string; notAfter: number } | undefined;
  #expiredWarnings = 0;
  #lease: number | undefined;
  #connects = 0;
  #closedTotals = { wireBytesIn: 0, wireBytesOut: 0, frameBytesIn: 0, frameBytesOut: 0 };
  #lastSync: SyncStats | undefined;
  #done: Promise<void> = Promise.resolve();

  constructor(options: EdgeHubOptions) {
    this.#o = options;
    this.#log = options.log;
    this.#timing = { ...DEFAULT_HUB_TIMING, ...options.timing };
    this.#backoff = new Backoff({ initialMs: this.#timing.reconnectInitialMs, maxMs: this.#timing.reconnectMaxMs, ...(options.random !== undefined ? { random: options.random } : {}) });
    this.#rotation = new CertificateRotation({ nodeName: options.nodeName, credentials: options.credentials, log: options.log.child({ task: 'certificate-rotation' }), ...(options.random !== undefined ? { random: options.random } : {}) });
  }

  get state(): HubState {
    return this.#state;
  }

  /** Calls `listener` on every state change. @returns a function that unsubscribes. */
  onState(listener: (state: HubState) => void): () => void {
    this.#stateListeners.add(listener);
    return () => this.#stateListeners.delete(listener);
  }

  get stats(): HubStats {
    const s = this.#session;
    return {
      connects: this.#connects,
      wireBytesIn: this.#closedTotals.wireBytesIn + (s?.wire.bytesRead ?? 0),
      wireBytesOut: this.#closedTotals.wireBytesOut + (s?.wire.bytesWritten ?? 0),
      frameBytesIn: this.#closedTotals.frameBytesIn + (s?.stats.frameBytesIn ?? 0),
      frameBytesOut: this.#closedTotals.frameBytesOut + (s?.stats.frameBytesOut ?? 0),
      lastSync: this.#lastSync,
    };
  }

  /**
   * Asks for a lease renewal: sent at once when connected, otherwise as soon as a session opens
   * (with the time of sending as renewTime). Renewals asked for while offline collapse into one.
   */
  renewLease(leaseDurationSeconds: number): void {
    this.#lease = leaseDurationSeconds;
    this.#session?.nudge();
  }

  /**
   * Starts connecting and returns at once: the edge runs from local storage whether or not the
   * cloud is reachable. Runs until `signal` aborts; {@link done} settles after the last session closed.
   */
  start(signal: AbortSignal): Promise<void> {
    this.#done = this.#run(signal);
    return Promise.resolve();
  }

  /**
   * Settles once the hub has stopped: resolves after `signal` aborted, rejects with
   * {@link EdgeError} `EDGE_HUB_REPLACED` when the cloud handed this node's session to another
   * connection with the same certificate (reconnecting would only take it back, forever).
   */
  get done(): Promise<void> {
    return this.#done;
  }

  /** Resolves when the hub is `ready` (in sync with the cloud); rejects if `signal` aborts first. */
  async whenReady(signal?: AbortSignal): Promise<void> {
    if (this.#state === 'ready') return;
    await new Promise<void>((resolve, reject) => {
      const off = this.onState((s) => {
        if (s !== 'ready') return;
        off();
        signal?.removeEventListener('abort', abort);
        resolve();
      });
      const abort = (): void => {
        off();
        reject(signal?.reason instanceof Error ? signal.reason : new Error('aborted'));
      };
      signal?.addEventListener('abort', abort, { once: true });
    });
  }

  #setState(state: HubState): void {
    if (state === this.#state) return;
    this.#state = state;
    for (const l of this.#stateListeners) l(state);
  }

  async #run(signal: AbortSignal): Promise<void> {
    const stopRotation = this.#rotation.start(signal, () => this.#session);
    try {
      while (!signal.aborted) {
        const end = await this.#connectOnce(signal);
        if (signal.aborted) break;
        if (end.code === HUB_CLOSE_REPLACED) {
          throw new EdgeError('EDGE_HUB_REPLACED', `the hub gave node ${this.#o.nodeName}'s session to another connection with the same certificate (${end.reason || 'replaced'}); stopping instead of taking it back`);
        }
        if (end.synced) this.#backoff.reset();
        const unreachable = !end.opened && end.httpStatus === undefined && UNREACHABLE.has((end.error as NodeJS.ErrnoException)?.code ?? '');
        const wait = this.#backoff.next(unreachable || (end.synced && end.code !== HUB_CLOSE_POLICY) ? this.#timing.reconnectUnreachableMaxMs : undefined);
        const fields = { code: end.code, reason: end.reason || undefined, err: end.error !== undefined ? describeError(end.error) : undefined, httpStatus: end.httpStatus, retryInMs: wait, attempt: this.#backoff.attempt };
        if (end.opened) this.#log.warn('disconnected from the hub', fields);
        else if (this.#backoff.attempt <= 1 || this.#backoff.attempt % 20 === 0) this.#log.info('cannot reach the hub', fields);
        else this.#log.debug('cannot reach the hub', fields);
        await delay(wait, undefined, { signal }).catch(() => undefined);
      }
    } finally {
      stopRotation();
      this.#setState('stopped');
    }
  }

  /** One connection attempt and, if it opens, the whole session. Never throws. */
  async #connectOnce(signal: AbortSignal): Promise<SessionEnd> {
    this.#setState('connecting');
    let context: SecureContext;
    try {
      context = this.#secureContext();
    } catch (err) {
      return { code: 1006, reason: '', opened: false, synced: false, error: err instanceof Error ? err : new Error(String(err)) };
    }
    let raw;
    try {
      raw = await connectTcp(this.#o.hub, this.#timing.connectTimeoutMs, signal);
    } catch (err) {
      return { code: 1006, reason: '', opened: false, synced: false, error: err instanceof Error ? err : new Error(String(err)) };
    }
    const { ws, wire } = openHubSocket(raw, this.#o.hub, context, this.#timing.handshakeTimeoutMs);
    const session = new Session(ws, wire, {
      nodeName: this.#o.nodeName,
      sync: this.#o.sync,
      statuses: this.#o.statuses,
      outbox: this.#o.outbox,
      ...(this.#o.reports !== undefined ? { reports: this.#o.reports } : {}),
      log: this.#log,
      timing: this.#timing,
      takeLease: () => {
        const l = this.#lease;
        this.#lease = undefined;
        return l;
      },
      onSynced: (stats) => {
        this.#lastSync = stats;
        this.#log.info('in sync with the cloud', { ...stats });
        this.#setState('ready');
        this.#rotation.nudge();
      },
    });
    this.#session = session;
    ws.once('open', () => {
      this.#connects++;
      this.#log.info('connected to the hub', { hub: `${this.#o.hub.host}:${this.#o.hub.port}` });
      this.#setState('syncing');
    });
    const stop = (): void => session.close(1001, 'edge shutting down');
    signal.addEventListener('abort', stop, { once: true });
    const end = await session.done;
    signal.removeEventListener('abort', stop);
    this.#session = undefined;
    this.#closedTotals.wireBytesIn += wire.bytesRead;
    this.#closedTotals.wireBytesOut += wire.bytesWritten;
    this.#closedTotals.frameBytesIn += session.stats.frameBytesIn;
    this.#closedTotals.frameBytesOut += session.stats.frameBytesOut;
    this.#setState('offline');
    return end;
  }

  #secureContext(): SecureContext {
    const tls = this.#o.credentials.current();
    if (this.#context?.cert !== tls.cert) {
      this.#context = { context: secureContextFor(tls), cert: tls.cert, notAfter: parseNodeCertificate(tls.cert).validToDate.getTime() };
      this.#expiredWarnings = 0;
    }
    // An edge offline for longer than its certificate lives cannot rotate it: say so plainly (now
    // and then) instead of only failing handshakes; it keeps trying in case the clock is wrong.
    if (this.#context.notAfter < Date.now() && this.#expiredWarnings++ % 20 === 0) {
      this.#log.error('the node certificate has expired; the hub will refuse it. Join again: kedge edge join --cloud <host> --token <token> with a new --data-dir', {
        code: 'EDGE_STATE_INVALID',
        notAfter: rfc3339(this.#context.notAfter),
      });
    }
    return this.#context.context;
  }
}
