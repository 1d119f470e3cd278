import { hasCode } from '../../errors/platform-error.ts';
import { CHANNEL_STDOUT, MAX_STREAM_CHUNK, StreamError, type LogsRequest } from '../../protocol/stream.ts';
import type { MuxStream } from '../../protocol/stream-mux.ts';
import type { LogEntry } from '../runtime/runtime.ts';
import type { StreamRuntime } from './targets.ts';

const PENDING = Symbol('pending');

/**
 * Serves `kubectl logs` from the container's log: the kubelet's `/containerLogs` semantics (tail,
 * since, timestamps, limitBytes, follow until the container exits). Lines are batched into
 * frames while more are at hand, and sent as soon as the reader would wait, so `-f` shows each
 * line at once while a long tail travels in few frames. Reading pauses whenever the stream's
 * window is spent: a client that stops reading stops the file reader here.
 *
 * Ends the stream itself; rejects only with the error to end it with.
 */
export async function serveLogs(stream: MuxStream, r: LogsRequest, runtime: StreamRuntime, containerId: string): Promise<void> {
  const entries = runtime.logs(containerId, { follow: r.follow && !r.previous, previous: r.previous, ...(r.tailLines !== undefined ? { tail: r.tailLines } : {}), ...(r.sinceMs !== undefined ? { since: r.sinceMs } : {}) }, stream.signal);
  const it = entries[Symbol.asyncIterator]();
  const pull = (): Promise<IteratorResult<LogEntry>> => {
    const p = it.next();
    // A read still pending when the stream fails settles (with the abort) after nobody waits for it.
    p.catch(() => undefined);
    return p;
  };
  try {
    let next = pull();
    // A previous instance is a closed file: whether it exists is known at once, and a missing one
    // is refused before the stream is accepted (the client gets a 400, as from the kubelet). A live
    // log may have nothing to say for a long time, so it is accepted first.
    const first = r.previous ? await next.catch((err: unknown) => {
      // The runtime's reason names files; the client gets the kubelet's words.
      throw hasCode(err, 'EDGE_RUNTIME_NOT_FOUND') ? new StreamError('STREAM_CONTAINER_NOT_FOUND', `previous terminated container "${r.container}" in pod "${r.pod}" not found`, { cause: err }) : err;
    }) : undefined;
    stream.accept();
    let limit = r.limitBytes ?? Infinity;
    let batch: Buffer[] = [];
    let batched = 0;
    const flush = async (): Promise<void> => {
      if (batched === 0) return;
      const data = batch.length === 1 ? batch[0]! : Buffer.concat(batch, batched);
      batch = [];
      batched = 0;
      await stream.write(CHANNEL_STDOUT, data);
    };
    for (let result = first; ; ) {
      if (result === undefined) {
        // Wait for the reader only once what is batched has gone out.
        const ready = batched === 0 ? await next : await Promise.race([next, new Promise<typeof PENDING>((resolve) => setImmediate(resolve, PENDING))]);
        if (ready === PENDING) {
          await flush();
          continue;
        }
        result = ready;
      }
      if (result.done === true) break;
      let line = r.timestamps ? Buffer.concat([Buffer.from(`${result.value.time} `), result.value.content]) : result.value.content;
      if (line.length >= limit) line = line.subarray(0, limit);
      limit -= line.length;
      batch.push(line);
      batched += line.length;
      if (limit <= 0) break;
      if (batched >= MAX_STREAM_CHUNK) await flush();
      result = undefined;
      next = pull();
    }
    await flush();
    stream.end({});
  } finally {
    // Stops a follow that is still waiting for lines (the limit was reached, or the stream failed).
    await it.return?.();
  }
}
