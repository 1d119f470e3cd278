import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { WebSocketServer, type WebSocket } from 'ws';
import { describeError } from '../../errors/platform-error.ts';
import type { Logger } from '../../log/logger.ts';
import { ProtocolError } from '../../protocol/codec.ts';
import { MAX_STREAM_FRAME_BYTES, STREAM_CLOSE_PROTOCOL, STREAM_CLOSE_REPLACED, STREAM_SUBPROTOCOL, StreamError, type StreamRequest } from '../../protocol/stream.ts';
import { StreamMux, type MuxStream } from '../../protocol/stream-mux.ts';

/** Opens streams to pods on edge nodes; what the API's log, exec and port-forward handlers need. */
export interface StreamOpener {
  /**
   * Opens a stream to `node` and resolves once the node accepted it. Aborting `signal` (the
   * client went away) cancels the stream at any point of its life, and the node stops serving it.
   * @throws {StreamError} `STREAM_NODE_UNAVAILABLE` (no tunnel from that node), `STREAM_LIMIT`,
   *   `STREAM_TIMEOUT` (no answer in time), `STREAM_CLOSED`, or the node's refusal
   *   (`STREAM_POD_NOT_FOUND`, `STREAM_CONTAINER_NOT_FOUND`, `STREAM_UNSUPPORTED`, `STREAM_FAILED`)
   */
  open(node: string, request: StreamRequest, signal: AbortSignal): Promise<MuxStream>;
}

/** Options of {@link StreamTunnels}. */
export interface StreamTunnelsOptions {
  readonly log: Logger;
  /** How long a node may take to accept a stream. @default 30_000 */
  readonly openTimeoutMs?: number;
  /** A tunnel that sends nothing (not even the edge's pings) for this long is dropped. @default 90_000 */
  readonly idleTimeoutMs?: number;
}

interface Tunnel {
  readonly node: string;
  readonly ws: WebSocket;
  readonly mux: StreamMux;
  lastSeen: number;
}

/**
 * The cloud end of the stream tunnels: one WebSocket per edge node, which the node dials to the
 * hub's port at `STREAM_PATH` with its node certificate (the hub authenticates it and hands the
 * upgrade over with {@link accept}). Streams to a node are opened on its tunnel; a node can only
 * ever answer streams opened to itself, because the cloud picks the tunnel from the pod's
 * `spec.nodeName`. A second tunnel of the same node replaces the first.
 */
export class StreamTunnels implements StreamOpener {
  readonly #log: Logger;
  readonly #tunnels = new Map<string, Tunnel>();
  readonly #openTimeoutMs: number;
  readonly #idleTimeoutMs: number;
  readonly #wss = new WebSocketServer({
    noServer: true,
    maxPayload: MAX_STREAM_FRAME_BYTES,
    // Log and terminal bytes compress well, but a zlib context per tunnel costs more memory than
    // an edge link's bandwidth is worth here; the tunnel is idle almost always.
    perMessageDeflate: false,
    clientTracking: false,
    handleProtocols: (protocols) => (protocols.has(STREAM_SUBPROTOCOL) ? STREAM_SUBPROTOCOL : false),
  });
  #stopped = false;

  constructor(options: StreamTunnelsOptions) {
    this.#log = options.log;
    this.#openTimeoutMs = options.openTimeoutMs ?? 30_000;
    this.#idleTimeoutMs = options.idleTimeoutMs ?? 90_000;
  }

  /** Drops silent tunnels until `signal` aborts, then closes every tunnel (their streams end with `STREAM_CLOSED`). */
  start(signal: AbortSignal): void {
    const sweep = setInterval(() => {
      const now = Date.now();
      for (const t of this.#tunnels.values()) {
        if (now - t.lastSeen > this.#idleTimeoutMs) {
          this.#log.info('stream tunnel silent, dropping it', { node: t.node, silentMs: now - t.lastSeen });
          t.ws.terminate();
        }
      }
    }, Math.max(1000, this.#idleTimeoutMs / 3));
    sweep.unref();
    signal.addEventListener(
      'abort',
      () => {
        this.#stopped = true;
        clearInterval(sweep);
        for (const t of this.#tunnels.values()) {
          t.mux.close('the cloud is shutting down');
          t.ws.close(1001, 'cloud shutting down');
        }
        // Edges get a second to answer the close; shutdown must not wait for silent ones.
        const tunnels = [...this.#tunnels.values()];
        setTimeout(() => tunnels.forEach((t) => t.ws.terminate()), 1000).unref();
        this.#tunnels.clear();
      },
      { once: true },
    );
  }

  /** Nodes with a tunnel now. */
  nodes(): string[] {
    return [...this.#tunnels.keys()];
  }

  /**
   * Takes an upgrade the hub authenticated as `node` (from its client certificate).
   * The request must offer the tunnel subprotocol (`STREAM_SUBPROTOCOL`).
   */
  accept(node: string, req: IncomingMessage, socket: Duplex, head: Buffer): void {
    if (this.#stopped) {
      socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    this.#wss.handleUpgrade(req, socket, head, (ws) => this.#connected(node, ws, socket as TLSSocket));
  }

  #connected(node: string, ws: WebSocket, socket: TLSSocket): void {
    const log = this.#log.child({ node });
    if (ws.protocol !== STREAM_SUBPROTOCOL) {
      log.warn('stream tunnel refused: no common subprotocol', { offered: ws.protocol });
      ws.close(STREAM_CLOSE_PROTOCOL, `speak ${STREAM_SUBPROTOCOL}`);
      return;
    }
    const mux = new StreamMux({
      role: 'opener',
      send: (frame) => {
        if (ws.readyState === ws.OPEN) ws.send(frame);
      },
      onViolation: (err, stream) => log.warn('stream cancelled: the edge broke the protocol', { stream: stream.id, err: err.message }),
    });
    const tunnel: Tunnel = { node, ws, mux, lastSeen: Date.now() };
    const previous = this.#tunnels.get(node);
    if (previous !== undefined) {
      log.info('a new stream tunnel replaces the previous one of this node');
      previous.mux.close('replaced by a newer tunnel of the same node');
      previous.ws.close(STREAM_CLOSE_REPLACED, 'replaced by a newer tunnel');
    }
    this.#tunnels.set(node, tunnel);
    const seen = (): void => {
      tunnel.lastSeen = Date.now();
    };
    ws.on('ping', seen);
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      seen();
      try {
        if (!isBinary) throw new ProtocolError('PROTOCOL_MALFORMED', 'text frame on the stream tunnel');
        mux.receive(data);
      } catch (err) {
        log.warn('stream tunnel closed: the edge broke the protocol', { err: describeError(err) });
        mux.close('protocol error');
        ws.close(STREAM_CLOSE_PROTOCOL, 'protocol error');
      }
    });
    ws.on('close', (code: number) => {
      mux.close(`the node's tunnel closed (${code})`);
      if (this.#tunnels.get(node) === tunnel) this.#tunnels.delete(node);
      log.debug('stream tunnel closed', { code });
    });
    ws.on('error', (err) => log.debug('stream tunnel error', { err: describeError(err) }));
    // A tunnel outliving its certificate would outlive the node's right to it.
    const validTo = Date.parse(socket.getPeerCertificate().valid_to);
    if (Number.isFinite(validTo)) {
      const expiry = setTimeout(() => ws.close(1008, 'certificate expired'), Math.min(Math.max(0, validTo - Date.now()), 2 ** 31 - 1));
      expiry.unref();
      ws.once('close', () => clearTimeout(expiry));
    }
    log.debug('stream tunnel connected', { remote: socket.remoteAddress });
  }

  async open(node: string, request: StreamRequest, signal: AbortSignal): Promise<MuxStream> {
    signal.throwIfAborted();
    const tunnel = this.#tunnels.get(node);
    if (tunnel === undefined) throw new StreamError('STREAM_NODE_UNAVAILABLE', `node "${node}" has no stream tunnel to this cloud (it is offline, or has not reconnected yet)`);
    const stream = tunnel.mux.open(request);
    // The client leaving cancels the stream for as long as it lives; the listener goes with the stream.
    signal.addEventListener('abort', () => stream.cancel('the client went away'), { once: true, signal: stream.signal });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        stream.cancel('no answer in time');
        reject(new StreamError('STREAM_TIMEOUT', `node "${node}" did not answer within ${this.#openTimeoutMs / 1000}s`));
      }, this.#openTimeoutMs);
    });
    try {
      await Promise.race([stream.ready(), timeout]);
    } finally {
      clearTimeout(timer);
    }
    this.#log.debug('stream opened', { node, stream: stream.id, kind: request.kind, pod: `${request.namespace}/${request.pod}` });
    return stream;
  }
}
