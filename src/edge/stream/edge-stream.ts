import { setTimeout as delay } from 'node:timers/promises';
import type { SecureContext } from 'node:tls';
import { describeError } from '../../errors/platform-error.ts';
import type { Logger } from '../../log/logger.ts';
import { MAX_STREAM_FRAME_BYTES, STREAM_CLOSE_PROTOCOL, STREAM_PATH, STREAM_SUBPROTOCOL } from '../../protocol/stream.ts';
import { StreamMux, type MuxStream } from '../../protocol/stream-mux.ts';
import { Backoff } from '../hub/backoff.ts';
import type { HubState } from '../hub/edge-hub.ts';
import type { HubCredentials } from '../hub/rotation.ts';
import { secureContextFor, type HubAddress } from '../hub/transport.ts';
import { serveExec } from './exec.ts';
import { serveLogs } from './logs.ts';
import { servePortForward } from './port-forward.ts';
import { containerOf, podOf, sandboxOf, streamErrorOf, type PodSource, type StreamRuntime } from './targets.ts';
import { WebSocketClient } from '../websocket/client.ts';

/** Timing of the tunnel client. */
export interface EdgeStreamTiming {
  /** TCP + TLS + WebSocket upgrade. @default 30_000 */
  readonly handshakeTimeoutMs: number;
  /** Upper bound of the first retry. @default 500 */
  readonly reconnectInitialMs: number;
  /** @default 30_000 */
  readonly reconnectMaxMs: number;
  /** How often the edge pings; a tunnel with no pong for two intervals is dropped. The cloud drops one silent for 90 s. @default 30_000 */
  readonly keepaliveIntervalMs: number;
}

export const DEFAULT_EDGE_STREAM_TIMING: EdgeStreamTiming = Object.freeze({ handshakeTimeoutMs: 30_000, reconnectInitialMs: 500, reconnectMaxMs: 30_000, keepaliveIntervalMs: 30_000 });

/** Whether the hub session is up; the tunnel is dialled only while it is. */
export interface HubConnectivity {
  readonly state: HubState;
  onState(listener: (state: HubState) => void): () => void;
}

/** Options of {@link EdgeStream}. */
export interface EdgeStreamOptions {
  readonly nodeName: string;
  /** The hub's address: the tunnel is served on the same port, at `STREAM_PATH`. */
  readonly hub: HubAddress;
  /** The node certificate (read for every connection, so a rotated one is used at once). */
  readonly credentials: Pick<HubCredentials, 'current'>;
  /** The pods this node holds; requests for any other pod are refused. */
  readonly pods: PodSource;
  readonly runtime: StreamRuntime;
  /** When given, the tunnel follows the hub session: dialled once it is up, not hammered while it is down. */
  readonly connectivity?: HubConnectivity;
  readonly log: Logger;
  readonly timing?: Partial<EdgeStreamTiming>;
}

/**
 * EdgeStream: the edge end of the stream tunnel that carries `kubectl logs`, `exec` and
 * `port-forward` to this node's pods. The edge only ever dials out: it keeps a WebSocket to the
 * hub's port at `STREAM_PATH`, authenticated by the node certificate, and serves the streams the
 * cloud opens on it. A request is served only for a pod this node holds under the uid the cloud
 * names; the cloud picks the tunnel from the pod's node, so no node can reach another's pods.
 */
export class EdgeStream {
  readonly #o: EdgeStreamOptions;
  readonly #log: Logger;
  readonly #timing: EdgeStreamTiming;
  readonly #backoff: Backoff;
  readonly #active = new Set<Promise<void>>();
  #context: { context: SecureContext; cert: string } | undefined;
  #done: Promise<void> = Promise.resolve();
  #connected = false;

  constructor(options: EdgeStreamOptions) {
    this.#o = options;
    this.#log = options.log;
    this.#timing = { ...DEFAULT_EDGE_STREAM_TIMING, ...options.timing };
    this.#backoff = new Backoff({ initialMs: this.#timing.reconnectInitialMs, maxMs: this.#timing.reconnectMaxMs });
  }

  /** True while the tunnel is open. */
  get connected(): boolean {
    return this.#connected;
  }

  /** Streams being served now. */
  get activeStreams(): number {
    return this.#active.size;
  }

  /** Starts keeping the tunnel up and returns at once; {@link done} settles once it has stopped after `signal` aborted. */
  start(signal: AbortSignal): Promise<void> {
    this.#done = this.#run(signal);
    return Promise.resolve();
  }

  /** Resolves once the tunnel is closed and every stream it carried has ended. Never rejects. */
  get done(): Promise<void> {
    return this.#done;
  }

  async #run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      if (!(await this.#hubUp(signal))) break;
      const end = await this.#connectOnce(signal);
      if (signal.aborted) break;
      if (end.opened) this.#backoff.reset();
      const wait = this.#backoff.next();
      const fields = { code: end.code, err: end.error !== undefined ? describeError(end.error) : undefined, retryInMs: wait };
      if (end.opened) this.#log.info('stream tunnel closed', fields);
      else this.#log.debug('cannot open the stream tunnel', fields);
      await delay(wait, undefined, { signal }).catch(() => undefined);
    }
    await Promise.all(this.#active);
  }

  /** Resolves true once the hub session is up (at once without a connectivity source), false if `signal` aborts first. */
  async #hubUp(signal: AbortSignal): Promise<boolean> {
    const c = this.#o.connectivity;
    const up = (s: HubState): boolean => s === 'syncing' || s === 'ready';
    if (c === undefined || up(c.state)) return !signal.aborted;
    return new Promise<boolean>((resolve) => {
      const finish = (v: boolean): void => {
        off();
        signal.removeEventListener('abort', abort);
        resolve(v);
      };
      const off = c.onState((s) => {
        if (up(s)) finish(true);
      });
      const abort = (): void => finish(false);
      signal.addEventListener('abort', abort, { once: true });
    });
  }

  /** One connection and, if it opens, its whole life. Never rejects. */
  async #connectOnce(signal: AbortSignal): Promise<{ opened: boolean; code: number; error?: Error }> {
    let ws: WebSocketClient;
    try {
      ws = this.#dial();
    } catch (err) {
      return { opened: false, code: 1006, error: err instanceof Error ? err : new Error(String(err)) };
    }
    const mux = new StreamMux({
      role: 'acceptor',
      send: (frame) => {
        if (ws.readyState === WebSocketClient.OPEN) ws.send(frame);
      },
      onOpen: (stream) => this.#serve(stream),
    });
    let opened = false;
    let error: Error | undefined;
    let alive = true;
    let keepalive: NodeJS.Timeout | undefined;
    const stop = (): void => ws.close(1001, 'edge shutting down');
    signal.addEventListener('abort', stop, { once: true });
    ws.on('open', () => {
      opened = true;
      this.#connected = true;
      this.#log.info('stream tunnel open', { hub: `${this.#o.hub.host}:${this.#o.hub.port}` });
      keepalive = setInterval(() => {
        if (!alive) {
          this.#log.warn('stream tunnel silent, reconnecting');
          ws.terminate();
          return;
        }
        alive = false;
        ws.ping();
      }, this.#timing.keepaliveIntervalMs);
      keepalive.unref();
    });
    ws.on('pong', () => (alive = true));
    ws.on('message', (data, isBinary) => {
      alive = true;
      try {
        if (!isBinary) throw new Error('text frame on the stream tunnel');
        mux.receive(data);
      } catch (err) {
        this.#log.warn('stream tunnel closed: the cloud broke the protocol', { err: describeError(err) });
        ws.close(STREAM_CLOSE_PROTOCOL, 'protocol error');
      }
    });
    ws.on('error', (err) => (error = err));
    const code = await new Promise<number>((resolve) => ws.once('close', (c) => resolve(c)));
    clearInterval(keepalive);
    signal.removeEventListener('abort', stop);
    this.#connected = false;
    mux.close(`the tunnel closed (${code})`);
    return { opened, code, ...(error !== undefined ? { error } : {}) };
  }

  #dial(): WebSocketClient {
    const tls = this.#o.credentials.current();
    if (this.#context?.cert !== tls.cert) this.#context = { context: secureContextFor(tls), cert: tls.cert };
    return new WebSocketClient({
      host: this.#o.hub.host.replace(/^\[|\]$/g, ''),
      port: this.#o.hub.port,
      path: STREAM_PATH,
      protocols: [STREAM_SUBPROTOCOL],
      maxPayload: MAX_STREAM_FRAME_BYTES,
      handshakeTimeoutMs: this.#timing.handshakeTimeoutMs,
      tls: { secureContext: this.#context.context, rejectUnauthorized: true },
    });
  }

  #serve(stream: MuxStream): void {
    const served = this.#handle(stream).finally(() => this.#active.delete(served));
    this.#active.add(served);
  }

  /** Serves one stream to its end. Never rejects: a failure ends the stream with its error. */
  async #handle(stream: MuxStream): Promise<void> {
    const r = stream.request;
    const log = this.#log.child({ stream: stream.id, kind: r.kind, pod: `${r.namespace}/${r.pod}` });
    log.debug('stream opened');
    try {
      const pod = podOf(this.#o.pods, this.#o.nodeName, r);
      switch (r.kind) {
        case 'logs':
          await serveLogs(stream, r, this.#o.runtime, (await containerOf(this.#o.runtime, pod, r.container, { running: false })).id);
          break;
        case 'exec':
          await serveExec(stream, r, this.#o.runtime, (await containerOf(this.#o.runtime, pod, r.container, { running: true })).id);
          break;
        case 'portforward': {
          const sandbox = await sandboxOf(this.#o.runtime, pod);
          await servePortForward(stream, r, () => this.#o.runtime.portForward(sandbox, r.port));
          break;
        }
      }
      log.debug('stream served', { result: stream.result });
    } catch (err) {
      const error = streamErrorOf(err);
      if (stream.result === undefined) log.info('stream refused', { code: error.code, err: error.message });
      stream.end({ error });
    }
  }
}
