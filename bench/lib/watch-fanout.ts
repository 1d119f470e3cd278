// Watch fan-out latency: many watch streams on one namespace, one writer creating pods at a steady
// rate with its send time in an annotation; latency is each watcher's receive time minus that.
// Runs in a worker thread (see runWatchFanoutInWorker) so that garbage the main thread made
// earlier (parsed 100k-item lists) never stalls the receivers or the writer with a major GC.
import type { IncomingMessage } from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import { percentile } from './bench.ts';
import { ApiClient, expectStatus } from './client.ts';
import { nowMs, podJson, podsPath } from './pods.ts';
import type { AdminCredential } from './server.ts';

/** A writer's create still unanswered after this long is abandoned (and its deliveries reported missing), so the run stays bounded. */
const WRITE_TIMEOUT_MS = 30_000;

/** The annotation carrying `<seq>@<send time, epoch ms>` on every pod the writer creates. */
export const SENT_ANNOTATION = 'bench.kedge.io/sent';

export interface WatchOptions {
  /** The server and admin credential, as plain data (a worker cannot receive a URL). */
  readonly server: string;
  readonly ca: Uint8Array;
  readonly cert: Uint8Array;
  readonly key: Uint8Array;
  /** An existing, empty namespace to watch and write in. */
  readonly namespace: string;
  readonly watchers: number;
  /** Creates per second. */
  readonly rate: number;
  readonly seconds: number;
  /** Concurrent connections for the writer's creates. */
  readonly writerSockets: number;
  /** `spec.schedulerName` of the pods written (default: the default scheduler's). */
  readonly schedulerName?: string;
}

export interface WatchRun {
  readonly watchers: number;
  readonly openSeconds: number;
  readonly events: number;
  readonly rate: number;
  readonly expected: number;
  readonly delivered: number;
  readonly duplicates: number;
  readonly errors: number;
  readonly firstError: string;
  readonly createErrors: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  /** Per event: from send until the last watcher had it (events every watcher received). */
  readonly fanoutP50: number;
  readonly fanoutP99: number;
  /** The writer's create requests, send to response. */
  readonly createP50: number;
  readonly createP99: number;
  /** Event-loop delay of the receiving thread: high values mean the bench, not the server, was late. */
  readonly clientLoopDelayP99: number;
}

/** Messages from the worker. */
export type WatchMessage = { type: 'open'; watchers: number; seconds: number } | { type: 'done'; run: WatchRun } | { type: 'error'; message: string };

/**
 * Opens the watchers, then creates `rate × seconds` pods open-loop (a slow answer does not delay
 * the next send), waits up to 15 s for the tail of the fan-out and closes everything.
 * `onOpen` runs once every stream has its 200 response headers.
 */
export async function watchFanout(o: WatchOptions, onOpen: (watchers: number, seconds: number) => void, signal?: AbortSignal): Promise<WatchRun> {
  const cred: AdminCredential = { server: new URL(o.server), ca: Buffer.from(o.ca), cert: Buffer.from(o.cert), key: Buffer.from(o.key) };
  const writer = new ApiClient(cred, { maxSockets: o.writerSockets });
  const watchClient = new ApiClient(cred, { maxSockets: Infinity, keepAlive: false });
  const path = podsPath(o.namespace);
  const streams: IncomingMessage[] = [];
  try {
    const start = await writer.request('GET', `${path}?limit=1`);
    expectStatus(start, [200], 'list before watch');
    const rv = (JSON.parse(start.body.toString()) as { metadata: { resourceVersion: string } }).metadata.resourceVersion;

    const events = Math.max(1, Math.round(o.rate * o.seconds));
    const W = o.watchers;
    const MARK = `"${SENT_ANNOTATION}":"`;
    const latencies = new Float64Array(events * W);
    const seen = new Uint8Array(events * W);
    const sentAt = new Float64Array(events);
    const lastArrival = new Float64Array(events);
    const receivers = new Uint32Array(events);
    let delivered = 0;
    let duplicates = 0;
    let errors = 0;
    let firstError = '';

    // Lines are scanned, not parsed: JSON.parse of 1,000 copies of every event would make the
    // bench, not the server, the bottleneck.
    const attach = (res: IncomingMessage, w: number): void => {
      res.setEncoding('utf8');
      let pending = '';
      res.on('data', (chunk: string) => {
        const now = nowMs();
        const buf = pending === '' ? chunk : pending + chunk;
        let from = 0;
        for (let nl = buf.indexOf('\n'); nl !== -1; from = nl + 1, nl = buf.indexOf('\n', from)) {
          const typeAt = buf.indexOf('"type":"', from) + 8;
          if (buf.startsWith('ERROR', typeAt)) {
            errors++;
            if (firstError === '') firstError = buf.slice(from, Math.min(nl, from + 300));
            continue;
          }
          if (!buf.startsWith('ADDED', typeAt)) continue;
          const m = buf.indexOf(MARK, from);
          if (m === -1 || m > nl) continue;
          const v = m + MARK.length;
          const at = buf.indexOf('@', v);
          const seq = Number(buf.slice(v, at));
          const sent = Number(buf.slice(at + 1, buf.indexOf('"', at)));
          const slot = w * events + seq;
          if (seen[slot] === 1) {
            duplicates++;
            continue;
          }
          seen[slot] = 1;
          latencies[delivered++] = now - sent;
          sentAt[seq] = sent;
          receivers[seq] = receivers[seq]! + 1;
          if (now > lastArrival[seq]!) lastArrival[seq] = now;
        }
        pending = buf.slice(from);
      });
      res.on('error', () => {
        // Destroyed at the end of the run, or the server went away: counted as missing deliveries.
      });
    };

    // 50 handshakes at a time, each stream confirmed by its 200 response headers.
    const openStarted = performance.now();
    const timeoutSeconds = Math.ceil(o.seconds + 300);
    let nextW = 0;
    await Promise.all(
      Array.from({ length: Math.min(50, W) }, async () => {
        while (nextW < W && signal?.aborted !== true) {
          const w = nextW++;
          const res = await watchClient.stream(`${path}?watch=1&resourceVersion=${rv}&timeoutSeconds=${timeoutSeconds}`);
          streams.push(res);
          if (res.statusCode !== 200) {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            await new Promise((resolve) => res.once('end', resolve));
            expectStatus({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }, [200], `watch #${w}`);
          }
          attach(res, w);
        }
      }),
    );
    const openSeconds = (performance.now() - openStarted) / 1000;
    onOpen(streams.length, openSeconds);

    const loop = monitorEventLoopDelay({ resolution: 5 });
    loop.enable();
    const createTimes: number[] = [];
    const inflight: Promise<void>[] = [];
    let createErrors = 0;
    const t0 = performance.now() + 50;
    try {
      for (let i = 0; i < events && signal?.aborted !== true; i++) {
        const wait = t0 + (i * 1000) / o.rate - performance.now();
        if (wait > 0) await delay(wait);
        const sent = nowMs();
        const body = podJson(o.namespace, `w-${i}`, i, { [SENT_ANNOTATION]: `${i}@${sent.toFixed(3)}` }, o.schedulerName !== undefined ? { schedulerName: o.schedulerName } : {});
        inflight.push(
          writer.request('POST', path, body, { timeoutMs: WRITE_TIMEOUT_MS }).then(
            (res) => {
              if (res.status === 201) createTimes.push(res.ms);
              else createErrors++;
            },
            () => void createErrors++,
          ),
        );
      }
      await Promise.all(inflight);
      // The tail of the fan-out gets up to 15 s; whatever is still missing then is reported.
      const drainUntil = performance.now() + 15_000;
      while (delivered < events * W && performance.now() < drainUntil && signal?.aborted !== true) await delay(20);
    } finally {
      loop.disable();
    }
    const got = latencies.subarray(0, delivered);
    const fanout: number[] = [];
    for (let seq = 0; seq < events; seq++) if (receivers[seq] === W) fanout.push(lastArrival[seq]! - sentAt[seq]!);
    return {
      watchers: streams.length,
      openSeconds,
      events,
      rate: o.rate,
      expected: events * W,
      delivered,
      duplicates,
      errors,
      firstError,
      createErrors,
      p50: percentile(got, 50),
      p99: percentile(got, 99),
      max: got.length === 0 ? Number.NaN : got.reduce((a, b) => Math.max(a, b), 0),
      fanoutP50: percentile(fanout, 50),
      fanoutP99: percentile(fanout, 99),
      createP50: percentile(createTimes, 50),
      createP99: percentile(createTimes, 99),
      clientLoopDelayP99: loop.percentile(99) / 1e6,
    };
  } finally {
    for (const res of streams) res.destroy();
    writer.close();
    watchClient.close();
  }
}

/**
 * Runs watchFanout in a worker thread; `onOpen` runs in this thread when the streams are open.
 * Aborting `signal` terminates the worker, which closes its sockets.
 */
export async function runWatchFanoutInWorker(options: WatchOptions, onOpen: (watchers: number, seconds: number) => void, signal: AbortSignal): Promise<WatchRun> {
  const worker = new Worker(new URL('./watch-worker.ts', import.meta.url), { workerData: options });
  const stop = (): void => void worker.terminate();
  signal.addEventListener('abort', stop, { once: true });
  try {
    return await new Promise<WatchRun>((resolve, reject) => {
      worker.on('message', (m: WatchMessage) => {
        if (m.type === 'open') onOpen(m.watchers, m.seconds);
        else if (m.type === 'done') resolve(m.run);
        else reject(new Error(`watch worker: ${m.message}`));
      });
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`watch worker exited (code ${code}) before reporting`)));
    });
  } finally {
    signal.removeEventListener('abort', stop);
    await worker.terminate();
  }
}
