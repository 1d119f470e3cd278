import { ProtocolError } from './codec.ts';
import {
  decodeStreamFrame,
  encodeStreamFrame,
  MAX_STREAM_CHUNK,
  MAX_STREAMS_PER_TUNNEL,
  STREAM_WINDOW_BYTES,
  StreamError,
  type Channel,
  type StreamFrame,
  type StreamRequest,
  type StreamResult,
} from './stream.ts';

/** What a stream delivers to its consumer, in the order the peer sent it; `end` comes last. */
export type StreamEvent =
  | { readonly type: 'data'; readonly channel: Channel; readonly data: Buffer }
  | { readonly type: 'eof'; readonly channel: Channel }
  | { readonly type: 'resize'; readonly width: number; readonly height: number }
  | { readonly type: 'end'; readonly result: StreamResult };

/** Options of {@link StreamMux}. */
export interface StreamMuxOptions {
  /** Writes one frame to the tunnel. Never blocks: the windows bound what can pile up behind it. */
  readonly send: (frame: Buffer) => void;
  /** The cloud opens streams; the edge accepts them. Frames that only the other role sends are a protocol error. */
  readonly role: 'opener' | 'acceptor';
  /** (acceptor) Called for each stream the peer opens; the stream is answered with {@link MuxStream.accept} or {@link MuxStream.end}. */
  readonly onOpen?: (stream: MuxStream) => void;
  /** (opener) Where a stream's protocol violation is reported; the stream has been cancelled. */
  readonly onViolation?: (err: ProtocolError, stream: MuxStream) => void;
  /** @default STREAM_WINDOW_BYTES */
  readonly windowBytes?: number;
  /** @default MAX_STREAMS_PER_TUNNEL */
  readonly maxStreams?: number;
}

/**
 * The streams of one tunnel connection, over any transport that carries whole binary frames (the
 * WebSocket on both sides; an in-memory pair in tests). Pure bookkeeping: it neither reads nor
 * owns the transport, and the transport's owner feeds it frames with {@link receive} and calls
 * {@link close} when the connection ends.
 *
 * Flow control is per stream and per direction, as in HTTP/2: a sender has a window of
 * {@link STREAM_WINDOW_BYTES}; `data` spends it and the receiver hands it back with `window`
 * frames only once its consumer has taken the bytes (asked for the next event). A consumer that
 * stops reading (a `kubectl logs -f` whose terminal is suspended) therefore stops its producer
 * at the other end without holding up the tunnel's other streams.
 */
export class StreamMux {
  readonly #o: StreamMuxOptions;
  readonly #streams = new Map<number, MuxStream>();
  readonly #window: number;
  readonly #maxStreams: number;
  #nextId = 1;
  #closed: string | undefined;

  constructor(options: StreamMuxOptions) {
    this.#o = options;
    this.#window = options.windowBytes ?? STREAM_WINDOW_BYTES;
    this.#maxStreams = options.maxStreams ?? MAX_STREAMS_PER_TUNNEL;
  }

  /** Streams open now. */
  get size(): number {
    return this.#streams.size;
  }

  /** True once {@link close} was called. */
  get closed(): boolean {
    return this.#closed !== undefined;
  }

  /**
   * (opener) Opens a stream: sends `open` and returns at once; {@link MuxStream.ready} settles with the answer.
   * @throws {StreamError} `STREAM_LIMIT` when the tunnel already carries its maximum of streams,
   *   `STREAM_CLOSED` when the tunnel is closed
   */
  open(request: StreamRequest): MuxStream {
    if (this.#o.role !== 'opener') throw new Error('only the opener opens streams');
    if (this.#closed !== undefined) throw new StreamError('STREAM_CLOSED', `the tunnel is closed: ${this.#closed}`);
    if (this.#streams.size >= this.#maxStreams) throw new StreamError('STREAM_LIMIT', `the node already carries ${this.#streams.size} streams, the most it takes at once`);
    const id = this.#nextId;
    // Ids are never reused within a connection: a late frame of a finished stream cannot reach a new one.
    this.#nextId = this.#nextId >= 0xffff_ffff ? 1 : this.#nextId + 1;
    const stream = new MuxStream(this, id, request, this.#window);
    this.#streams.set(id, stream);
    this.send({ type: 'open', id, request });
    return stream;
  }

  /**
   * Handles one frame from the peer. Frames of streams already finished are dropped (they cross
   * a `cancel` on the wire); a stream that breaks its window is cancelled.
   * @throws ProtocolError for a frame that is malformed or comes from the wrong side: the
   *   connection can no longer be trusted and its owner should close it
   */
  receive(frame: Buffer): void {
    if (this.#closed !== undefined) return;
    const f = decodeStreamFrame(frame);
    const acceptor = this.#o.role === 'acceptor';
    const wrongSide = (): never => {
      throw new ProtocolError('PROTOCOL_MALFORMED', `${f.type} frames are not sent by the ${acceptor ? 'cloud' : 'edge'}`);
    };
    if (f.type === 'open') {
      if (!acceptor) wrongSide();
      if (this.#streams.has(f.id)) throw new ProtocolError('PROTOCOL_MALFORMED', `stream ${f.id} is already open`);
      if (this.#streams.size >= this.#maxStreams) {
        this.send({ type: 'end', id: f.id, result: { error: { code: 'STREAM_LIMIT', message: `the node already carries ${this.#streams.size} streams, the most it takes at once` } } });
        return;
      }
      const stream = new MuxStream(this, f.id, f.request, this.#window);
      this.#streams.set(f.id, stream);
      this.#o.onOpen?.(stream);
      return;
    }
    if ((f.type === 'ready' || f.type === 'end') && acceptor) wrongSide();
    if (f.type === 'resize' && !acceptor) wrongSide();
    this.#streams.get(f.id)?.deliver(f);
  }

  /** Ends every stream (their consumers see `end` with `STREAM_CLOSED`); later frames are ignored. */
  close(reason: string): void {
    if (this.#closed !== undefined) return;
    this.#closed = reason;
    for (const s of [...this.#streams.values()]) s.finish({ error: { code: 'STREAM_CLOSED', message: `the stream tunnel closed: ${reason}` } }, false);
    this.#streams.clear();
  }

  /** @internal */
  send(f: StreamFrame): void {
    if (this.#closed === undefined) this.#o.send(encodeStreamFrame(f));
  }

  /** @internal */
  forget(stream: MuxStream): void {
    if (this.#streams.get(stream.id) === stream) this.#streams.delete(stream.id);
  }

  /** @internal */
  violation(stream: MuxStream, message: string): void {
    const err = new ProtocolError('PROTOCOL_MALFORMED', message);
    stream.cancel(message);
    this.#o.onViolation?.(err, stream);
  }
}

/**
 * One stream of a {@link StreamMux}. Inbound traffic is read with {@link events} (one consumer);
 * outbound with {@link write}, which waits for window. {@link signal} aborts when the stream is
 * over for any reason, so whatever serves it (a log reader, an exec, a socket) stops with it.
 */
export class MuxStream {
  readonly id: number;
  readonly request: StreamRequest;
  readonly #mux: StreamMux;
  readonly #window: number;
  readonly #abort = new AbortController();
  readonly #queue: StreamEvent[] = [];
  #wake: (() => void) | undefined;
  /** Bytes this side may still send. */
  #sendWindow: number;
  #creditWaiters: (() => void)[] = [];
  /** Bytes the peer may still send before it must wait for our `window`. */
  #recvBudget: number;
  /** Bytes the consumer has taken and not yet been granted back. */
  #consumed = 0;
  /** Bytes of the event last handed to the consumer, counted as taken when it asks for the next. */
  #handedOut = 0;
  #finished: StreamResult | undefined;
  #iterating = false;
  #ready: { promise: Promise<void>; resolve: () => void; reject: (e: Error) => void; settled: boolean };

  /** @internal */
  constructor(mux: StreamMux, id: number, request: StreamRequest, window: number) {
    this.#mux = mux;
    this.id = id;
    this.request = request;
    this.#window = window;
    this.#sendWindow = window;
    this.#recvBudget = window;
    const r = Promise.withResolvers<void>();
    // An opener that gives up before the answer must not leave an unhandled rejection behind.
    r.promise.catch(() => undefined);
    this.#ready = { ...r, settled: false };
  }

  /** Aborts when the stream is over: ended, cancelled by either side, or its tunnel closed. */
  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  /** How the stream ended, once it has. */
  get result(): StreamResult | undefined {
    return this.#finished;
  }

  /**
   * (opener) Resolves when the edge accepted the stream.
   * @throws {StreamError} the edge's refusal (`STREAM_POD_NOT_FOUND`, `STREAM_CONTAINER_NOT_FOUND`, …),
   *   or `STREAM_CLOSED` when the tunnel closed first
   */
  ready(): Promise<void> {
    return this.#ready.promise;
  }

  /** (acceptor) Tells the opener the stream runs. */
  accept(): void {
    if (this.#finished !== undefined || this.#ready.settled) return;
    this.#ready.settled = true;
    this.#mux.send({ type: 'ready', id: this.id });
  }

  /**
   * Sends bytes on a channel, split into chunks, waiting for window as needed.
   * @throws {StreamError} `STREAM_CLOSED` when the stream ends before everything was sent
   */
  async write(channel: Channel, data: Buffer): Promise<void> {
    let off = 0;
    while (off < data.length) {
      if (this.#finished !== undefined) throw new StreamError('STREAM_CLOSED', 'the stream is over');
      if (this.#sendWindow <= 0) {
        await new Promise<void>((resolve) => this.#creditWaiters.push(resolve));
        continue;
      }
      const n = Math.min(data.length - off, MAX_STREAM_CHUNK, this.#sendWindow);
      this.#sendWindow -= n;
      this.#mux.send({ type: 'data', id: this.id, channel, data: data.subarray(off, off + n) });
      off += n;
    }
  }

  /** Says that no more bytes follow on `channel` (stdin closed, the pod closed its side of a connection). */
  eof(channel: Channel): void {
    if (this.#finished === undefined) this.#mux.send({ type: 'eof', id: this.id, channel });
  }

  /** (opener) The terminal's new size. */
  resize(width: number, height: number): void {
    if (this.#finished === undefined) this.#mux.send({ type: 'resize', id: this.id, width: clampU16(width), height: clampU16(height) });
  }

  /** (acceptor) Ends the stream with its result: an exit code, an error, or nothing. */
  end(result: StreamResult): void {
    if (this.#finished !== undefined) return;
    this.#mux.send({ type: 'end', id: this.id, result });
    this.finish(result, false);
  }

  /** Abandons the stream (its client went away); the peer stops serving it. */
  cancel(reason: string): void {
    if (this.#finished !== undefined) return;
    this.#mux.send({ type: 'cancel', id: this.id, reason });
    this.finish({ error: { code: 'STREAM_CLOSED', message: reason } }, false);
  }

  /**
   * The peer's traffic, in order, ending with one `end` event. Each `data` event counts as
   * consumed when the next event is asked for, and only then is its window given back: await
   * your write of it before you ask.
   */
  async *events(): AsyncGenerator<StreamEvent, void, undefined> {
    if (this.#iterating) throw new Error('a stream has one consumer');
    this.#iterating = true;
    try {
      for (;;) {
        this.#taken();
        const next = this.#queue.shift();
        if (next !== undefined) {
          this.#handedOut = next.type === 'data' ? next.data.length : 0;
          yield next;
          if (next.type === 'end') return;
          continue;
        }
        if (this.#finished !== undefined) {
          yield { type: 'end', result: this.#finished };
          return;
        }
        await new Promise<void>((resolve) => (this.#wake = resolve));
        this.#wake = undefined;
      }
    } finally {
      this.#taken();
    }
  }

  #taken(): void {
    if (this.#handedOut === 0) return;
    this.#consumed += this.#handedOut;
    this.#handedOut = 0;
    // Granting in quarters keeps `window` frames few while the sender never stalls on a full window.
    if (this.#finished === undefined && this.#consumed >= this.#window / 4) {
      this.#recvBudget += this.#consumed;
      this.#mux.send({ type: 'window', id: this.id, bytes: this.#consumed });
      this.#consumed = 0;
    }
  }

  /** @internal A frame of this stream from the peer. */
  deliver(f: StreamFrame): void {
    if (this.#finished !== undefined) return;
    switch (f.type) {
      case 'ready':
        this.#ready.settled = true;
        this.#ready.resolve();
        return;
      case 'data':
        this.#recvBudget -= f.data.length;
        if (this.#recvBudget < 0) return this.#mux.violation(this, `stream ${this.id} sent ${-this.#recvBudget} bytes beyond its window`);
        // The frame's buffer belongs to the transport; the consumer may keep the bytes for longer.
        this.#push({ type: 'data', channel: f.channel, data: Buffer.from(f.data) });
        return;
      case 'eof':
        this.#push({ type: 'eof', channel: f.channel });
        return;
      case 'resize':
        this.#push({ type: 'resize', width: f.width, height: f.height });
        return;
      case 'window':
        this.#sendWindow += f.bytes;
        if (this.#sendWindow > 2 ** 31) return this.#mux.violation(this, `stream ${this.id} was granted a window beyond 2^31 bytes`);
        for (const w of this.#creditWaiters.splice(0)) w();
        return;
      case 'end':
        this.finish(f.result, true);
        return;
      case 'cancel':
        this.finish({ error: { code: 'STREAM_CLOSED', message: `cancelled by the peer: ${f.reason}` } }, true);
        return;
      case 'open':
        return;
    }
  }

  /** @internal Marks the stream over; queued events stay readable, `end` follows them. */
  finish(result: StreamResult, fromPeer: boolean): void {
    if (this.#finished !== undefined) return;
    this.#finished = result;
    this.#mux.forget(this);
    if (!this.#ready.settled) {
      this.#ready.settled = true;
      const e = result.error;
      if (e === undefined) this.#ready.resolve();
      else this.#ready.reject(new StreamError(e.code, e.message));
    }
    for (const w of this.#creditWaiters.splice(0)) w();
    this.#wake?.();
    this.#abort.abort(new StreamError(result.error?.code ?? 'STREAM_CLOSED', result.error?.message ?? (fromPeer ? 'the peer ended the stream' : 'the stream ended')));
  }

  #push(e: StreamEvent): void {
    this.#queue.push(e);
    this.#wake?.();
  }
}

function clampU16(n: number): number {
  return Math.max(0, Math.min(0xffff, Math.trunc(n)));
}
