import { describeError, hasCode } from '../../errors/platform-error.ts';
import type { Logger } from '../../log/logger.ts';
import { decodeEnvelope, encodeEnvelope, envelope, ProtocolError } from '../../protocol/codec.ts';
import { SYNCED_KINDS, type Contents, type Envelope, type SyncedKind } from '../../protocol/envelope.ts';
import type { ObjectSync, SyncOp, SyncOutcome } from '../meta/meta-manager.ts';
import type { Outbox } from './outbox.ts';
import type { DirtyEntry, StatusTable } from './status-table.ts';
import type { WireCounters } from './transport.ts';
import { WebSocketUpgradeRefused, type WebSocketClient } from '../websocket/client.ts';
import { rfc3339Micro } from '../../api/time.ts';

/** Timing of one session; see {@link HubTiming} for the defaults and why. */
export interface SessionTiming {
  readonly keepaliveIntervalMs: number;
  readonly deadAfterMs: number;
  readonly ackTimeoutMs: number;
  readonly maxInFlight: number;
}

/** What a session needs from the hub that owns it. */
export interface SessionDeps {
  readonly nodeName: string;
  readonly sync: ObjectSync;
  readonly statuses: StatusTable;
  readonly outbox: Outbox;
  /** DeviceTwin's device reports, when devices run on this edge. */
  readonly reports?: BatchUplink;
  readonly log: Logger;
  readonly timing: SessionTiming;
  /** Takes the pending lease renewal, if any (its duration in seconds). */
  readonly takeLease: () => number | undefined;
  /** Called once the cloud said `synced` and every object it sent before is persisted. */
  readonly onSynced: (stats: SyncStats) => void;
}

/**
 * A latest-wins uplink that sends whole batches, one in flight at a time (DeviceTwin's device
 * reports: many devices per message, each device's latest picture). The source keeps what is
 * pending; the session only asks for the next batch and says how it went.
 */
export interface BatchUplink {
  /**
   * The next batch to send, or undefined when nothing waits. After a batch is handed out, `next`
   * is not called again until it is settled (the cloud took it, or refused it for good) or
   * released (no answer, or "not now": it stays pending).
   */
  next(): { readonly envelope: Envelope; settle(): void; release(): void } | undefined;
  /** Calls `listener` when something new waits. @returns a function that unsubscribes */
  onPending(listener: () => void): () => void;
  /**
   * A session is open: the cloud may have lost what it took before (it takes reports before it
   * writes them), so everything is to be sent again.
   */
  resync(): void;
}

/** Counters of one session. Frame bytes are WebSocket payloads; wire bytes include TLS and framing. */
export interface SessionStats {
  framesIn: number;
  framesOut: number;
  frameBytesIn: number;
  frameBytesOut: number;
  applied: number;
  unchanged: number;
  missing: number;
}

/** What the inventory exchange at the start of a session cost and did. */
export interface SyncStats {
  /** Objects in the inventory sent. */
  readonly inventoryItems: number;
  /** Upserts and deletes the cloud sent before `synced`. */
  readonly received: number;
  readonly applied: number;
  /** Milliseconds from the socket opening to everything persisted. */
  readonly ms: number;
  /** Wire bytes each way from the socket opening until `synced` (TLS handshake excluded). */
  readonly wireBytesIn: number;
  readonly wireBytesOut: number;
  /** WebSocket payload bytes each way until `synced`. */
  readonly frameBytesIn: number;
  readonly frameBytesOut: number;
}

/** How a session ended. */
export interface SessionEnd {
  /** WebSocket close code (1006: the connection dropped without a close frame). */
  readonly code: number;
  readonly reason: string;
  /** Whether the WebSocket handshake completed. */
  readonly opened: boolean;
  /** Whether the cloud said `synced`. */
  readonly synced: boolean;
  /** The error that ended or prevented the session, if any. */
  readonly error?: Error;
  /** The HTTP status when the cloud refused the upgrade. */
  readonly httpStatus?: number;
}

interface PendingRequest {
  readonly resolve: (reply: Envelope) => void;
  readonly reject: (err: Error) => void;
  readonly timer: NodeJS.Timeout;
}

/** Errors the cloud answers that say "not now", after which the message is sent again. */
const RETRYABLE = new Set(['HUB_RATE_LIMITED', 'API_CONFLICT', 'API_SERVICE_UNAVAILABLE', 'API_TIMEOUT', 'API_TOO_MANY_REQUESTS', 'API_INTERNAL']);
/** How long the uplink pauses after a "not now" answer, growing to the cap while they continue. */
const UPLINK_PAUSE_MS = 500;
const UPLINK_PAUSE_MAX_MS = 30_000;

/** The in-flight key of the one device report batch at a time. */
const REPORTS_KEY = 'twin/reports';

class RequestTimeout extends Error {}
class SessionClosed extends Error {}

/**
 * One WebSocket session with CloudHub: the inventory exchange, applying and acknowledging what the
 * cloud sends, the uplink (lease, statuses, outbox) and dead-peer detection. It lives until the
 * socket closes; EdgeHub starts the next one.
 *
 * Ordering: every received frame goes through one queue, processed in arrival order, so the
 * `synced` reply is handled only after every object the cloud sent before it is persisted and
 * acknowledged. Consecutive upserts and deletes are applied in one transaction.
 */
export class Session {
  readonly stats: SessionStats = { framesIn: 0, framesOut: 0, frameBytesIn: 0, frameBytesOut: 0, applied: 0, unchanged: 0, missing: 0 };
  readonly #ws: WebSocketClient;
  readonly #wire: WireCounters;
  readonly #d: SessionDeps;
  readonly #log: Logger;
  readonly #pending = new Map<string, PendingRequest>();
  readonly #inbox: Envelope[] = [];
  #draining = false;
  #opened = false;
  #synced = false;
  #openedAt = 0;
  #lastReceived = Date.now();
  #wakeUplink: (() => void) | undefined;
  #closed = false;
  #end: SessionEnd | undefined;
  #httpStatus: number | undefined;
  #error: Error | undefined;
  readonly #done: Promise<SessionEnd>;
  #inventoryItems = 0;
  #receivedBeforeSync = 0;
  #appliedBeforeSync = 0;

  constructor(ws: WebSocketClient, wire: WireCounters, deps: SessionDeps) {
    this.#ws = ws;
    this.#wire = wire;
    this.#d = deps;
    this.#log = deps.log;
    this.#done = new Promise<SessionEnd>((resolve) => {
      ws.on('error', (err) => {
        if (err instanceof WebSocketUpgradeRefused) this.#httpStatus = err.status;
        this.#error ??= err;
      });
      ws.on('close', (code, reason) => {
        this.#closed = true;
        this.#end = {
          code,
          reason,
          opened: this.#opened,
          synced: this.#synced,
          ...(this.#error !== undefined ? { error: this.#error } : {}),
          ...(this.#httpStatus !== undefined ? { httpStatus: this.#httpStatus } : {}),
        };
        for (const p of this.#pending.values()) {
          clearTimeout(p.timer);
          p.reject(new SessionClosed('the session closed'));
        }
        this.#pending.clear();
        this.#wakeUplink?.();
        resolve(this.#end);
      });
    });
    ws.on('open', () => this.#onOpen());
    ws.on('message', (data: Buffer, isBinary: boolean) => this.#onFrame(data, isBinary));
    ws.on('pong', () => (this.#lastReceived = Date.now()));
    ws.on('ping', () => (this.#lastReceived = Date.now()));
  }

  /** Resolves when the socket has closed, however that happened (never rejects). */
  get done(): Promise<SessionEnd> {
    return this.#done;
  }

  get synced(): boolean {
    return this.#synced && !this.#closed;
  }

  /** Wire bytes so far (TLS handshake included). */
  get wire(): WireCounters {
    return this.#wire;
  }

  /** Ends the session; `done` resolves once the socket has closed. */
  close(code = 1000, reason = ''): void {
    if (this.#closed) return;
    if (this.#opened) this.#ws.close(code, reason);
    else this.#ws.terminate();
    // A peer that never answers the close frame must not keep the session alive.
    setTimeout(() => this.#ws.terminate(), 5_000).unref();
  }

  /** Wakes the uplink: something new is pending (a lease, a status, an outbox message). */
  nudge(): void {
    this.#wakeUplink?.();
  }

  /**
   * Sends `env` and resolves with the reply that names it as parent (`ack`, `response`, `error`).
   * @throws RequestTimeout after `timeoutMs`; SessionClosed when the session ends first
   */
  request(env: Envelope, timeoutMs = this.#d.timing.ackTimeoutMs): Promise<Envelope> {
    if (this.#closed || !this.#opened) return Promise.reject(new SessionClosed('the session is not open'));
    return new Promise<Envelope>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(env.header.id);
        reject(new RequestTimeout(`no answer to ${env.route.operation} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(env.header.id, { resolve, reject, timer });
      this.#send(env);
    });
  }

  #send(env: Envelope): void {
    if (this.#closed) return;
    const text = encodeEnvelope(env);
    this.stats.framesOut++;
    this.stats.frameBytesOut += Buffer.byteLength(text);
    this.#ws.send(text);
  }

  #onOpen(): void {
    this.#opened = true;
    this.#openedAt = Date.now();
    this.#lastReceived = this.#openedAt;
    const wireIn = this.#wire.bytesRead;
    const wireOut = this.#wire.bytesWritten;
    const items = this.#d.sync.inventory();
    this.#inventoryItems = items.length;
    this.#log.debug('connected; sending inventory', { items: items.length });
    const inventory = envelope('edge', 'hub', 'inventory', { items });
    this.request(inventory).then(
      (reply) => {
        if (reply.route.operation !== 'synced') {
          this.#log.warn('the hub did not accept the inventory', { operation: reply.route.operation, content: reply.route.operation === 'error' ? reply.content : undefined });
          this.close(1008, 'inventory refused');
          return;
        }
        this.#synced = true;
        const stats: SyncStats = {
          inventoryItems: this.#inventoryItems,
          received: this.#receivedBeforeSync,
          applied: this.#appliedBeforeSync,
          ms: Date.now() - this.#openedAt,
          wireBytesIn: this.#wire.bytesRead - wireIn,
          wireBytesOut: this.#wire.bytesWritten - wireOut,
          frameBytesIn: this.stats.frameBytesIn,
          frameBytesOut: this.stats.frameBytesOut,
        };
        this.#d.onSynced(stats);
      },
      (err: unknown) => {
        if (err instanceof SessionClosed) return;
        this.#log.warn('no answer to the inventory; reconnecting', { err: describeError(err) });
        this.close(1001, 'inventory timeout');
      },
    );
    this.#keepalive();
    this.#uplink().catch((err: unknown) => {
      this.#log.error('uplink failed; reconnecting', { err: describeError(err) });
      this.close(1011, 'uplink failure');
    });
  }

  #onFrame(data: Buffer, isBinary: boolean): void {
    this.#lastReceived = Date.now();
    this.stats.framesIn++;
    this.stats.frameBytesIn += data.length;
    let env: Envelope;
    try {
      if (isBinary) throw new ProtocolError('PROTOCOL_MALFORMED', 'binary frames are not part of the protocol');
      env = decodeEnvelope(data);
    } catch (err) {
      // The cloud is trusted but may be newer or buggy: say so and go on; nothing was applied.
      this.#log.warn('dropped a malformed frame from the hub', { code: err instanceof ProtocolError ? err.code : undefined, err: describeError(err), bytes: data.length });
      return;
    }
    this.#inbox.push(env);
    if (!this.#draining) {
      this.#draining = true;
      // Frames parsed from one read arrive as consecutive events; draining after them batches
      // their writes into one transaction.
      setImmediate(() => this.#drain());
    }
  }

  #drain(): void {
    try {
      while (this.#inbox.length > 0) {
        const head = this.#inbox[0]!;
        const op = head.route.operation;
        if (op === 'upsert' || op === 'delete') {
          let n = 0;
          while (n < this.#inbox.length && (this.#inbox[n]!.route.operation === 'upsert' || this.#inbox[n]!.route.operation === 'delete')) n++;
          this.#apply(this.#inbox.splice(0, n));
          continue;
        }
        this.#inbox.shift();
        this.#dispatch(head);
      }
    } finally {
      this.#draining = false;
    }
  }

  /** Persists a run of upserts and deletes, then acknowledges each (or answers why not). */
  #apply(envs: Envelope[]): void {
    if (this.#closed) return;
    if (!this.#synced) this.#receivedBeforeSync += envs.length;
    const ops: { env: Envelope; op: SyncOp }[] = [];
    for (const env of envs) {
      const op = toSyncOp(env);
      if (typeof op === 'string') this.#refuse(env, op);
      else ops.push({ env, op });
    }
    this.#persist(ops);
  }

  #persist(ops: readonly { env: Envelope; op: SyncOp }[]): void {
    if (ops.length === 0) return;
    let outcomes: SyncOutcome[];
    try {
      outcomes = this.#d.sync.applyBatch(ops.map((o) => o.op));
    } catch (err) {
      if (hasCode(err, 'EDGE_META_INVALID_OBJECT') && ops.length > 1) {
        // One bad object must not hold back the others: apply them one by one to find it.
        for (const o of ops) this.#persist([o]);
        return;
      }
      const code = hasCode(err, 'EDGE_META_INVALID_OBJECT') ? 'EDGE_META_INVALID_OBJECT' : 'API_INTERNAL';
      if (code === 'API_INTERNAL') this.#log.error('cannot persist objects from the cloud', { err: describeError(err), count: ops.length });
      for (const o of ops) this.#refuse(o.env, describeError(err), code);
      return;
    }
    outcomes.forEach((outcome, i) => {
      const { env, op } = ops[i]!;
      if (outcome === 'applied') this.stats.applied++;
      else if (outcome === 'unchanged') this.stats.unchanged++;
      else this.stats.missing++;
      if (!this.#synced && outcome === 'applied') this.#appliedBeforeSync++;
      this.#log.debug('stored', { op: op.op, kind: op.kind, namespace: env.route.resource?.namespace, name: env.route.resource?.name, outcome, msgId: env.header.id });
      this.#send(envelope('edge', env.route.group, 'ack', null, { parentId: env.header.id }));
    });
  }

  #dispatch(env: Envelope): void {
    const parentId = env.header.parentId;
    if (parentId !== undefined) {
      const p = this.#pending.get(parentId);
      if (p !== undefined) {
        this.#pending.delete(parentId);
        clearTimeout(p.timer);
        p.resolve(env);
        return;
      }
    }
    switch (env.route.operation) {
      case 'keepalive':
        return;
      case 'error': {
        const e = errorOf(env)!;
        this.#log.warn('the hub reported an error', { code: e.code, err: e.message, parentId });
        return;
      }
      case 'ack':
      case 'response':
      case 'synced':
        // A late answer to a request that timed out (and was or will be sent again).
        return;
      default:
        this.#refuse(env, `the edge does not accept ${env.route.operation} from the cloud`, 'HUB_UNSUPPORTED_OPERATION');
    }
  }

  /** Answers a message from the cloud with an `error` envelope (it is not acknowledged). */
  #refuse(to: Envelope, message: string, code = 'PROTOCOL_MALFORMED'): void {
    this.#log.warn('refused a message from the hub', { code, err: message, msgId: to.header.id, operation: to.route.operation });
    this.#send(envelope('edge', to.route.group, 'error', { code, message }, { parentId: to.header.id, ...(to.route.resource !== undefined ? { resource: to.route.resource } : {}) }));
  }

  /**
   * Dead-peer detection: a ping when nothing arrived for one interval, the connection dropped when
   * nothing (not even a pong) arrived for `deadAfterMs`. While leases are acknowledged the hub
   * speaks every interval anyway, so an idle node sends no pings at all.
   */
  #keepalive(): void {
    const { keepaliveIntervalMs, deadAfterMs } = this.#d.timing;
    const tickMs = Math.min(keepaliveIntervalMs, deadAfterMs / 3);
    let lastTick = Date.now();
    const timer = setInterval(() => {
      const now = Date.now();
      // After this process itself stood still (a long GC pause, a suspended VM), timers run before
      // the frames waiting unread in the socket: judge the hub only on time this side was awake,
      // or a healthy session would be dropped for our own stall. Ping now; dead only if it stays silent.
      if (now - lastTick > tickMs * 2) this.#lastReceived = Math.max(this.#lastReceived, now - keepaliveIntervalMs);
      lastTick = now;
      const silent = now - this.#lastReceived;
      if (silent >= deadAfterMs) {
        this.#log.warn('the hub is silent; dropping the connection', { silentMs: silent });
        this.#error ??= new Error(`no frame from the hub for ${silent} ms`);
        this.#ws.terminate();
      } else if (silent >= keepaliveIntervalMs) {
        this.#ws.ping();
      }
    }, tickMs);
    timer.unref();
    void this.#done.then(() => clearInterval(timer));
  }

  /**
   * Sends what waits to go up, as long as the session lives: the lease first (it is what keeps the
   * node Ready), then statuses and outbox messages, at most `maxInFlight` unacknowledged at once and
   * one per object, so the cloud applies one object's statuses in order.
   */
  async #uplink(): Promise<void> {
    const inFlight = new Set<string>();
    let pauseUntil = 0;
    let pauseMs = UPLINK_PAUSE_MS;
    const unsubscribe = [this.#d.statuses.onPut(() => this.nudge()), this.#d.outbox.onEnqueue(() => this.nudge())];
    const reports = this.#d.reports;
    if (reports !== undefined) {
      unsubscribe.push(reports.onPending(() => this.nudge()));
      reports.resync();
    }
    const answered = (reply: Envelope, what: string, settle: () => void): void => {
      const e = errorOf(reply);
      if (e === undefined) {
        settle();
        pauseMs = UPLINK_PAUSE_MS;
        return;
      }
      if (RETRYABLE.has(e.code)) {
        pauseUntil = Date.now() + pauseMs;
        pauseMs = Math.min(UPLINK_PAUSE_MAX_MS, pauseMs * 2);
        this.#log.debug('the hub asked to send again later', { what, code: e.code, pauseMs });
        return;
      }
      this.#log.warn('the hub refused a report; dropping it', { what, code: e.code, err: e.message });
      settle();
    };
    const track = (key: string, env: Envelope, settle: () => void, release?: () => void): void => {
      inFlight.add(key);
      this.request(env)
        .then(
          (reply) => answered(reply, key, settle),
          (err: unknown) => {
            if (err instanceof RequestTimeout) this.#log.debug('no ack in time; will send again', { what: key });
          },
        )
        .finally(() => {
          inFlight.delete(key);
          release?.();
          this.nudge();
        });
    };
    try {
      while (!this.#closed) {
        const lease = this.#d.takeLease();
        if (lease !== undefined) this.#sendLease(lease);
        const wait = pauseUntil - Date.now();
        if (wait <= 0) {
          const room = (): number => this.#d.timing.maxInFlight - inFlight.size;
          if (room() > 0) {
            for (const entry of this.#d.statuses.pending(this.#d.timing.maxInFlight * 2)) {
              if (room() <= 0) break;
              if (inFlight.has(entry.key)) continue;
              track(entry.key, statusEnvelope(entry), () => this.#d.statuses.settle(entry));
            }
          }
          if (room() > 0) {
            for (const msg of this.#d.outbox.peek(this.#d.timing.maxInFlight * 2)) {
              if (room() <= 0) break;
              if (inFlight.has(msg.id)) continue;
              const env = { ...envelope('edge', 'resource', msg.op, msg.content, { resource: msg.resource }) };
              // The outbox id is the envelope id: a resend after a lost ack is recognisably the same message.
              track(msg.id, { ...env, header: { ...env.header, id: msg.id, timestamp: msg.createdAt } }, () => this.#d.outbox.remove(msg.id));
            }
          }
          if (reports !== undefined && room() > 0 && !inFlight.has(REPORTS_KEY)) {
            const batch = reports.next();
            if (batch !== undefined) track(REPORTS_KEY, batch.envelope, () => batch.settle(), () => batch.release());
          }
        }
        await new Promise<void>((resolve) => {
          this.#wakeUplink = resolve;
          if (wait > 0) setTimeout(resolve, wait).unref();
        });
        this.#wakeUplink = undefined;
      }
    } finally {
      for (const u of unsubscribe) u();
    }
  }

  #sendLease(leaseDurationSeconds: number): void {
    // Lease renewals are not retried: the next one is due within seconds and supersedes it. No
    // route.resource: a node renews only its own Lease, which the hub knows from the certificate,
    // and this frame is most of what an idle node sends (every byte counts against 0.25 kbit/s).
    this.request(envelope('edge', 'resource', 'lease', { renewTime: rfc3339Micro(Date.now()), leaseDurationSeconds })).then(
      (reply) => {
        const e = errorOf(reply);
        if (e !== undefined) this.#log.warn('lease renewal refused', { code: e.code, err: e.message });
      },
      () => undefined,
    );
  }
}

/** The content of an `error` envelope, or undefined for any other operation. */
export function errorOf(env: Envelope): Contents['error'] | undefined {
  return env.route.operation === 'error' ? (env as Envelope<'error'>).content : undefined;
}

function statusEnvelope(entry: DirtyEntry): Envelope {
  if (entry.op === 'upsert') return envelope('edge', 'resource', 'upsert', entry.object, { resource: { kind: 'nodes', name: entry.name } });
  if (entry.op === 'delete') return envelope('edge', 'resource', 'delete', { uid: entry.uid }, { resource: { kind: 'pods', namespace: entry.namespace, name: entry.name, uid: entry.uid } });
  return envelope('edge', 'resource', 'status', { status: entry.status }, { resource: { kind: entry.kind, name: entry.name, ...(entry.namespace !== undefined ? { namespace: entry.namespace } : {}) } });
}

/** The SyncOp an upsert or delete from the cloud asks for, or why it cannot be applied. */
function toSyncOp(env: Envelope): SyncOp | string {
  const res = env.route.resource;
  if (env.route.source !== 'cloud') return 'only the cloud sends objects';
  if (res === undefined || !(SYNCED_KINDS as readonly string[]).includes(res.kind)) return `objects of kind ${res?.kind ?? '(none)'} are not synced to edges`;
  const kind = res.kind as SyncedKind;
  if (env.route.operation === 'delete') {
    const c = env.content as { uid: string };
    return { op: 'delete', kind, namespace: res.namespace, name: res.name, uid: c.uid };
  }
  const obj = (env as Envelope<'upsert'>).content;
  if (obj.metadata.name !== res.name || (obj.metadata.namespace ?? undefined) !== res.namespace) {
    return `the object ${obj.metadata.namespace ?? ''}/${obj.metadata.name ?? ''} does not match route.resource ${res.namespace ?? ''}/${res.name}`;
  }
  return { op: 'upsert', kind, object: obj, resourceVersion: env.header.resourceVersion };
}
