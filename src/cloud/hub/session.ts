import { randomUUID } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import WebSocket from 'ws';
import type { KubeObject } from '../../api/object.ts';
import { describeError, PlatformError } from '../../errors/platform-error.ts';
import type { Logger } from '../../log/logger.ts';
import { decodeEnvelope, encodeEnvelope, envelope, ProtocolError } from '../../protocol/codec.ts';
import { HUB_CLOSE_POLICY, type Envelope, type Group, type SyncedKind } from '../../protocol/envelope.ts';
import { publicKeyFingerprint } from '../join/identities.ts';
import { SEND_ORDER, type DesiredObject, type EdgeObjectIndex } from './desired.ts';
import { HubError } from './errors.ts';
import type { SessionPeer, Upstream, UpstreamResult } from './upstream.ts';

/** What a session believes its edge holds: from the inventory, then from what it sent. */
interface Held {
  readonly kind: SyncedKind;
  readonly namespace: string | undefined;
  readonly name: string;
  readonly resourceVersion: string;
  /** For devices this session sent: everything but the status (see {@link deviceContent}). */
  readonly content?: string;
}

/** A sent upsert or delete waiting for its ack. */
interface Pending {
  readonly uid: string;
  readonly resourceVersion: string | undefined;
  readonly sentAt: number;
}

/** Counters the hub sums over sessions; also what the benchmark reads. */
export interface HubCounters {
  framesIn: number;
  bytesIn: number;
  framesOut: number;
  bytesOut: number;
  /** Edge messages refused (malformed, forbidden, rate limited). */
  refused: number;
  /** Round trips from sending an object to its ack, in milliseconds (a bounded sample of the latest). */
  readonly ackLatencyMs: number[];
}

/** Limits of one session; the defaults suit a real edge node. */
export interface SessionLimits {
  /** Writes the edge may send per second, sustained. @default 50 */
  readonly writesPerSecond: number;
  /** Writes it may send in a burst. @default 200 */
  readonly writeBurst: number;
  /** Malformed, unsupported or forbidden frames tolerated per minute before the session is closed. @default 20 */
  readonly offencesPerMinute: number;
  /** After an edge reports an error for an object, it is offered again this much later. @default 5000 */
  readonly retryAfterErrorMs: number;
}

export const DEFAULT_SESSION_LIMITS: SessionLimits = Object.freeze({ writesPerSecond: 50, writeBurst: 200, offencesPerMinute: 20, retryAfterErrorMs: 5000 });

/** Unacked messages a session remembers; beyond that the oldest are forgotten (the next inventory covers them). */
const MAX_PENDING = 10_000;
/** Edge writes queued before the socket stops being read. */
const PAUSE_AT = 256;
const RESUME_AT = 64;
const ACK_SAMPLE = 10_000;

/** Upserts encode the same object for every node that holds it: encode once per object version. */
const encodedObjects = new WeakMap<KubeObject, string>();
const deviceContents = new WeakMap<KubeObject, string>();

/**
 * A Device without what changes when its edge's reports are written (status, resourceVersion,
 * managedFields): equal for two versions that differ only in status.
 */
function deviceContent(obj: KubeObject): string {
  let c = deviceContents.get(obj);
  if (c === undefined) {
    const { resourceVersion: _rv, managedFields: _mf, ...metadata } = obj.metadata;
    c = JSON.stringify([metadata, obj['spec']]);
    deviceContents.set(obj, c);
  }
  return c;
}

function encodeForEdge(obj: KubeObject): string {
  let json = encodedObjects.get(obj);
  if (json === undefined) {
    // managedFields are the API server's bookkeeping, often larger than the object: an edge has no use for them.
    const { managedFields: _, ...metadata } = obj.metadata;
    json = JSON.stringify({ ...obj, metadata });
    encodedObjects.set(obj, json);
  }
  return json;
}

/**
 * One edge node's connection. Cloud → edge it is level-triggered: once the edge's inventory has
 * arrived, every {@link reconcile} diffs what the node should hold against what the session
 * believes it holds and sends only the difference, in dependency order. Acks are tracked in memory
 * only: anything unacked when the connection drops is covered by the next inventory. Edge → cloud
 * messages are validated by the codec, rate limited and applied one at a time, in order, each
 * answered with `ack`, `response` or `error`.
 */
export class NodeSession {
  readonly node: string;
  readonly #ws: WebSocket;
  readonly #socket: TLSSocket;
  readonly #index: EdgeObjectIndex;
  readonly #upstream: Upstream;
  readonly #counters: HubCounters;
  readonly #limits: SessionLimits;
  readonly #log: Logger;
  readonly #held = new Map<string, Held>();
  readonly #pending = new Map<string, Pending>();
  #synced = false;
  #alive = true;
  #chain: Promise<void> = Promise.resolve();
  #queued = 0;
  #tokens: number;
  #tokensAt = performance.now();
  #offences = 0;
  #offenceWindow = 0;
  #retryTimer: NodeJS.Timeout | undefined;
  #peerKey: string | undefined;
  /** When the certificate the session stands on expires (ms since the epoch); a rotation moves it. */
  #certificateExpires: number;
  readonly #peer: SessionPeer = {
    key: () => (this.#peerKey ??= publicKeyFingerprint(this.#socket.getPeerX509Certificate()!.publicKey.export({ type: 'spki', format: 'der' }))),
    rotated: (fingerprint, notAfter) => {
      this.#peerKey = fingerprint;
      this.#certificateExpires = notAfter.getTime();
    },
  };

  /** @param options.log a logger that already names the node: the session's lines do not repeat it. */
  constructor(options: { node: string; ws: WebSocket; socket: TLSSocket; index: EdgeObjectIndex; upstream: Upstream; counters: HubCounters; limits: SessionLimits; log: Logger }) {
    this.node = options.node;
    this.#ws = options.ws;
    this.#socket = options.socket;
    this.#index = options.index;
    this.#upstream = options.upstream;
    this.#counters = options.counters;
    this.#limits = options.limits;
    this.#log = options.log;
    this.#tokens = options.limits.writeBurst;
    this.#certificateExpires = Date.parse(options.socket.getPeerCertificate().valid_to);
    this.#ws.on('message', (data: Buffer, isBinary: boolean) => this.#onMessage(data, isBinary));
    this.#ws.on('pong', () => {
      this.#alive = true;
    });
    this.#ws.on('close', () => clearTimeout(this.#retryTimer));
  }

  /** True once the edge's inventory arrived: from then on changes stream. */
  get synced(): boolean {
    return this.#synced;
  }

  /** Objects sent and not acknowledged yet. */
  get unacked(): number {
    return this.#pending.size;
  }

  /**
   * Dead-peer detection, called by the hub every keepalive interval: a session that has neither
   * answered the last ping nor sent anything since is terminated; otherwise it is pinged again.
   * @returns false when the session was terminated.
   */
  keepalive(now = Date.now()): boolean {
    if (now >= this.#certificateExpires) {
      // TLS checked the certificate once, at the handshake; a session must not outlive it.
      this.#log.info('the certificate of this session expired; closing it');
      this.close(HUB_CLOSE_POLICY, 'client certificate expired');
      return false;
    }
    if (!this.#alive) {
      this.#log.info('edge stopped answering; closing its session');
      this.#ws.terminate();
      return false;
    }
    this.#alive = false;
    if (this.#ws.readyState === WebSocket.OPEN) this.#ws.ping();
    return true;
  }

  /** Closes the connection with a WebSocket close code. */
  close(code: number, reason: string): void {
    if (this.#ws.readyState === WebSocket.OPEN || this.#ws.readyState === WebSocket.CONNECTING) this.#ws.close(code, reason);
  }

  /** Drops the connection without a closing handshake. */
  terminate(): void {
    this.#ws.terminate();
  }

  /**
   * Sends the edge what it lacks and removes what it should no longer hold. A no-op until the
   * inventory arrived: before that the session does not know what the edge holds.
   */
  reconcile(): void {
    if (!this.#synced || this.#ws.readyState !== WebSocket.OPEN) return;
    const desired = this.#index.desiredFor(this.node);
    let upserts: DesiredObject[] | undefined;
    for (const [uid, d] of desired) {
      const held = this.#held.get(uid);
      const rv = d.object.metadata.resourceVersion ?? '';
      if (held?.resourceVersion === rv) continue;
      if (d.kind === 'devices' && held?.content !== undefined && held.content === deviceContent(d.object)) {
        // Only the status changed: the edge's own reports written back. Its copy's status is stale,
        // but the twins are the edge's to tell; echoing every report would cost the edge a write.
        // The next inventory after a reconnect names the older version and gets the device again.
        this.#held.set(uid, { ...held, resourceVersion: rv });
        continue;
      }
      (upserts ??= []).push(d);
    }
    if (upserts !== undefined) {
      upserts.sort((a, b) => SEND_ORDER.indexOf(a.kind) - SEND_ORDER.indexOf(b.kind));
      for (const d of upserts) this.#sendUpsert(d);
    }
    let deletes: [string, Held][] | undefined;
    for (const entry of this.#held) if (!desired.has(entry[0])) (deletes ??= []).push(entry);
    if (deletes !== undefined) {
      deletes.sort((a, b) => SEND_ORDER.indexOf(b[1].kind) - SEND_ORDER.indexOf(a[1].kind));
      for (const [uid, held] of deletes) this.#sendDelete(uid, held);
    }
  }

  #sendUpsert(d: DesiredObject): void {
    const meta = d.object.metadata;
    const uid = meta.uid!;
    const resourceVersion = meta.resourceVersion ?? '';
    const id = randomUUID();
    const resource = { kind: d.kind, ...(meta.namespace !== undefined ? { namespace: meta.namespace } : {}), name: meta.name ?? '', uid };
    // The envelope around a pre-encoded object: the same bytes encodeEnvelope would produce.
    const frame = `{"v":1,"header":${JSON.stringify({ id, timestamp: Date.now(), resourceVersion })},"route":${JSON.stringify({ source: 'cloud', group: 'resource', operation: 'upsert', resource })},"content":${encodeForEdge(d.object)}}`;
    this.#held.set(uid, { kind: d.kind, namespace: meta.namespace, name: resource.name, resourceVersion, ...(d.kind === 'devices' ? { content: deviceContent(d.object) } : {}) });
    this.#track(id, { uid, resourceVersion, sentAt: performance.now() });
    this.#sendFrame(frame);
  }

  #sendDelete(uid: string, held: Held): void {
    const env = envelope('cloud', 'resource', 'delete', { uid }, { resource: { kind: held.kind, ...(held.namespace !== undefined ? { namespace: held.namespace } : {}), name: held.name, uid } });
    this.#held.delete(uid);
    this.#track(env.header.id, { uid, resourceVersion: undefined, sentAt: performance.now() });
    this.#send(env);
  }

  #track(id: string, pending: Pending): void {
    this.#pending.set(id, pending);
    if (this.#pending.size > MAX_PENDING) this.#pending.delete(this.#pending.keys().next().value!);
  }

  #send(env: Envelope): void {
    this.#sendFrame(encodeEnvelope(env));
  }

  #sendFrame(frame: string): void {
    if (this.#ws.readyState !== WebSocket.OPEN) return;
    this.#counters.framesOut++;
    this.#counters.bytesOut += Buffer.byteLength(frame);
    this.#ws.send(frame);
  }

  #onMessage(data: Buffer, isBinary: boolean): void {
    this.#alive = true;
    this.#counters.framesIn++;
    this.#counters.bytesIn += data.length;
    let env: Envelope;
    try {
      if (isBinary) throw new ProtocolError('PROTOCOL_MALFORMED', 'envelopes travel in text frames, not binary ones');
      env = decodeEnvelope(data);
    } catch (err) {
      const code = err instanceof PlatformError ? err.code : 'PROTOCOL_MALFORMED';
      this.#refuse(bestEffortId(data), 'hub', code, describeError(err));
      return;
    }
    if (env.route.source !== 'edge') {
      this.#refuse(env.header.id, env.route.group, 'HUB_UNSUPPORTED_OPERATION', 'messages from an edge must have route.source "edge"');
      return;
    }
    switch (env.route.operation) {
      case 'ack':
        this.#acked(env.header.parentId!);
        return;
      case 'error':
        this.#failed(env as Envelope<'error'>);
        return;
      case 'keepalive':
        return;
      case 'inventory':
        this.#inventory(env as Envelope<'inventory'>);
        return;
      case 'status':
      case 'upsert':
      case 'lease':
      case 'event':
      case 'delete':
      case 'csr':
      case 'report':
        if (!this.#takeToken()) {
          this.#refuse(env.header.id, env.route.group, 'HUB_RATE_LIMITED', `more than ${this.#limits.writesPerSecond} writes per second; send it again later`, false);
          return;
        }
        this.#enqueue(env);
        return;
      default:
        this.#refuse(env.header.id, env.route.group, 'HUB_UNSUPPORTED_OPERATION', `the edge may not send ${env.route.operation}`);
    }
  }

  #acked(parentId: string): void {
    const p = this.#pending.get(parentId);
    if (p === undefined) return;
    this.#pending.delete(parentId);
    const sample = this.#counters.ackLatencyMs;
    if (sample.length >= ACK_SAMPLE) sample.shift();
    sample.push(performance.now() - p.sentAt);
  }

  /** The edge could not apply an object (e.g. its disk is full): offer it again a little later. */
  #failed(env: Envelope<'error'>): void {
    const p = this.#pending.get(env.header.parentId!);
    this.#log.warn('edge reported an error', { code: env.content.code, err: env.content.message, uid: p?.uid });
    if (p === undefined) return;
    this.#pending.delete(env.header.parentId!);
    if (p.resourceVersion !== undefined && this.#held.get(p.uid)?.resourceVersion === p.resourceVersion) this.#held.delete(p.uid);
    this.#retryTimer ??= setTimeout(() => {
      this.#retryTimer = undefined;
      this.reconcile();
    }, this.#limits.retryAfterErrorMs).unref();
  }

  #inventory(env: Envelope<'inventory'>): void {
    this.#held.clear();
    this.#pending.clear();
    for (const item of env.content.items) this.#held.set(item.uid, { kind: item.kind, namespace: item.namespace, name: item.name, resourceVersion: item.resourceVersion });
    const first = !this.#synced;
    this.#synced = true;
    const before = this.#counters.framesOut;
    this.reconcile();
    this.#send(envelope('cloud', 'hub', 'synced', { revision: this.#index.revision }, { parentId: env.header.id }));
    this.#log[first ? 'info' : 'debug']('edge inventory reconciled', { held: env.content.items.length, sent: this.#counters.framesOut - before });
  }

  #enqueue(env: Envelope): void {
    this.#queued++;
    if (this.#queued === PAUSE_AT) this.#ws.pause();
    this.#chain = this.#chain.then(async () => {
      try {
        this.#reply(env, await this.#upstream.handle(this.node, env, this.#peer));
      } catch (err) {
        const code = err instanceof PlatformError ? err.code : 'API_INTERNAL';
        if (err instanceof HubError) {
          // Forbidden writes are logged, not counted: a pod that just moved away makes an honest edge send one.
          this.#refuse(env.header.id, env.route.group, err.code, err.message, err.code !== 'HUB_FORBIDDEN');
        } else {
          if (!(err instanceof PlatformError)) this.#log.error('edge message failed', { op: env.route.operation, err: describeError(err) });
          else this.#log.debug('edge message refused by the API', { op: env.route.operation, code, err: err.message });
          this.#send(envelope('cloud', env.route.group, 'error', { code, message: err instanceof PlatformError ? err.message : 'internal error; the cloud log has the cause' }, { parentId: env.header.id }));
        }
      } finally {
        this.#queued--;
        if (this.#queued === RESUME_AT && this.#ws.isPaused) this.#ws.resume();
      }
    });
  }

  #reply(env: Envelope, result: UpstreamResult): void {
    if ('ack' in result) this.#send(envelope('cloud', env.route.group, 'ack', null, { parentId: env.header.id }));
    else this.#send(envelope('cloud', env.route.group, 'response', result.response, { parentId: env.header.id }));
  }

  /**
   * Answers a refused message with an `error` and logs it; too many offences in a minute close
   * the session: a peer that keeps sending garbage is broken or hostile.
   */
  #refuse(parentId: string, group: Group, code: string, message: string, offence = true): void {
    this.#counters.refused++;
    this.#log.warn('edge message refused', { code, err: message });
    this.#send(envelope('cloud', group, 'error', { code, message: message.slice(0, 4096) }, { parentId }));
    if (!offence) return;
    const now = performance.now();
    if (now - this.#offenceWindow > 60_000) {
      this.#offenceWindow = now;
      this.#offences = 0;
    }
    if (++this.#offences > this.#limits.offencesPerMinute) {
      this.#log.warn('closing the session of an edge sending refused frames', { offences: this.#offences });
      this.close(HUB_CLOSE_POLICY, 'too many malformed or refused messages');
    }
  }

  #takeToken(): boolean {
    const now = performance.now();
    this.#tokens = Math.min(this.#limits.writeBurst, this.#tokens + ((now - this.#tokensAt) / 1000) * this.#limits.writesPerSecond);
    this.#tokensAt = now;
    if (this.#tokens < 1) return false;
    this.#tokens--;
    return true;
  }

}

/** The header id of a frame the codec refused, when one can be read; error replies need some parentId. */
function bestEffortId(data: Buffer): string {
  if (data.length <= 64 * 1024) {
    try {
      const v = JSON.parse(data.toString('utf8')) as { header?: { id?: unknown } };
      const id = v.header?.id;
      if (typeof id === 'string' && id !== '' && id.length <= 64) return id;
    } catch {
      // not JSON: no id to answer to
    }
  }
  return 'unknown';
}
