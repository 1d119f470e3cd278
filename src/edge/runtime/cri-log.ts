import { watch } from 'node:fs';
import { open, readdir, stat, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { rfc3339Nano } from '../../api/time.ts';
import { EdgeError } from '../errors.ts';
import type { LogEntry, LogOptions } from './runtime.ts';

/**
 * The CRI container log format (kubernetes/kubernetes `pkg/kubelet/kuberuntime/logs`), one record
 * per line: `<RFC 3339 time, nanoseconds> <stdout|stderr> <F|P> <content>`. `F` marks the end of a
 * line (readers add the `\n`), `P` a piece of a longer one. containerd writes these files for its
 * containers; the process runtime writes the same so `kubectl logs` works alike on both.
 */

/** The longest record written before a line is split into `P` pieces (containerd's default). */
export const MAX_LOG_LINE = 16 * 1024;

/** Milliseconds since the epoch of a CRI log time. */
export function parseLogTime(t: string): number {
  return Date.parse(t.replace(/\.(\d{3})\d*Z$/, '.$1Z'));
}

/**
 * Turns a stream's output into CRI log records: complete lines become `F` records, lines longer
 * than {@link MAX_LOG_LINE} are split into `P` pieces, and what is left when the stream ends is
 * flushed as a `P` record (it had no newline).
 */
export class CriLogEncoder {
  readonly #stream: 'stdout' | 'stderr';
  #pending: Buffer = Buffer.alloc(0);
  #seq = 0;

  constructor(stream: 'stdout' | 'stderr') {
    this.#stream = stream;
  }

  /** The records for a chunk of output (possibly none, if it holds no complete line). */
  push(chunk: Buffer, now = Date.now()): string {
    let data = this.#pending.length > 0 ? Buffer.concat([this.#pending, chunk]) : chunk;
    let out = '';
    for (;;) {
      const nl = data.indexOf(0x0a);
      if (nl < 0 || nl > MAX_LOG_LINE) {
        if (data.length < MAX_LOG_LINE) break;
        out += this.#record(data.subarray(0, MAX_LOG_LINE), 'P', now);
        data = data.subarray(MAX_LOG_LINE);
        continue;
      }
      out += this.#record(data.subarray(0, nl), 'F', now);
      data = data.subarray(nl + 1);
    }
    this.#pending = Buffer.from(data);
    return out;
  }

  /** The record for output left without a newline when the stream ended. */
  end(now = Date.now()): string {
    if (this.#pending.length === 0) return '';
    const out = this.#record(this.#pending, 'P', now);
    this.#pending = Buffer.alloc(0);
    return out;
  }

  #record(content: Buffer, tag: 'F' | 'P', now: number): string {
    // Records written within the same millisecond keep their order when sorted by time.
    this.#seq = (this.#seq + 1) % 1_000_000;
    return `${rfc3339Nano(now, this.#seq)} ${this.#stream} ${tag} ${content.toString('utf8')}\n`;
  }
}

/** Parses one record; undefined for a malformed line (skipped, as the kubelet does). */
export function parseLogLine(line: Buffer): LogEntry | undefined {
  const s1 = line.indexOf(0x20);
  const s2 = s1 < 0 ? -1 : line.indexOf(0x20, s1 + 1);
  const s3 = s2 < 0 ? -1 : line.indexOf(0x20, s2 + 1);
  if (s3 < 0 && s2 < 0) return undefined;
  const time = line.subarray(0, s1).toString('ascii');
  const stream = line.subarray(s1 + 1, s2).toString('ascii');
  if (stream !== 'stdout' && stream !== 'stderr') return undefined;
  const tag = line.subarray(s2 + 1, s3 < 0 ? line.length : s3).toString('ascii');
  const body = s3 < 0 ? Buffer.alloc(0) : line.subarray(s3 + 1);
  const full = tag.split(':')[0] === 'F';
  return { time, stream, content: full ? Buffer.concat([body, Buffer.from('\n')]) : Buffer.from(body) };
}

/** Options of {@link readCriLog} beyond the user's. */
export interface ReadLogDeps {
  /** Whether the writer may still append (the container runs); following stops once it says no and the file is drained. */
  readonly stillWriting: () => Promise<boolean>;
  /** How often to look for new lines when file-change notifications are not available. @default 1_000 */
  readonly pollMs?: number;
}

const CHUNK = 64 * 1024;

/**
 * Reads a CRI log file: the last `tail` lines (counted as the kubelet does, by `F` records),
 * entries since `since`, and with `follow` new entries as they are written.
 */
export async function* readCriLog(path: string, options: LogOptions, deps: ReadLogDeps, signal?: AbortSignal): AsyncIterable<LogEntry> {
  const fh = await open(path, 'r');
  try {
    const sizeAtStart = (await fh.stat()).size;
    let position = options.tail !== undefined ? await tailOffset(fh, options.tail, sizeAtStart) : 0;
    // Without follow, the log as it was when asked: lines written while it is read would make
    // `--tail=1` print more than one (the kubelet reads on to the end it finds).
    const end = options.follow === true ? Number.POSITIVE_INFINITY : sizeAtStart;
    let rest: Buffer = Buffer.alloc(0);
    const buf = Buffer.alloc(CHUNK);
    const emit = function* (data: Buffer): Iterable<LogEntry> {
      let start = 0;
      for (;;) {
        const nl = data.indexOf(0x0a, start);
        if (nl < 0) break;
        const entry = parseLogLine(data.subarray(start, nl));
        start = nl + 1;
        if (entry === undefined) continue;
        if (options.since !== undefined && parseLogTime(entry.time) < options.since) continue;
        yield entry;
      }
      rest = Buffer.from(data.subarray(start));
    };
    for (;;) {
      if (signal?.aborted === true) return;
      const { bytesRead } = position < end ? await fh.read(buf, 0, Math.min(CHUNK, end - position), position) : { bytesRead: 0 };
      if (bytesRead > 0) {
        position += bytesRead;
        yield* emit(rest.length > 0 ? Buffer.concat([rest, buf.subarray(0, bytesRead)]) : buf.subarray(0, bytesRead));
        continue;
      }
      if (options.follow !== true) return;
      // At the end: stop once the writer is done and nothing more arrived meanwhile.
      if (!(await deps.stillWriting())) {
        const size = (await stat(path)).size;
        if (size <= position) return;
        continue;
      }
      await waitForChange(path, deps.pollMs ?? 1_000, signal);
    }
  } finally {
    await fh.close();
  }
}

/** The byte offset where the last `lines` full lines (F records) begin. */
async function tailOffset(fh: FileHandle, lines: number, size: number): Promise<number> {
  if (lines <= 0) return size;
  let start = size;
  let data: Buffer = Buffer.alloc(0);
  while (start > 0) {
    const from = Math.max(0, start - CHUNK);
    const chunk = Buffer.alloc(start - from);
    await fh.read(chunk, 0, chunk.length, from);
    data = Buffer.concat([chunk, data]);
    start = from;
    // Walk the records from the end; the first one is complete only at the start of the file.
    let count = 0;
    let end = data.length;
    let i = data.length - 1;
    if (data[i] === 0x0a) end = i--;
    for (; i >= -1; i--) {
      if (i >= 0 && data[i] !== 0x0a) continue;
      if (i < 0 && start > 0) break;
      const rec = parseLogLine(data.subarray(i + 1, end));
      if (rec !== undefined && rec.content[rec.content.length - 1] === 0x0a && ++count > lines) return start + end + 1;
      end = i;
    }
  }
  return 0;
}

function waitForChange(path: string, pollMs: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    let watcher: ReturnType<typeof watch> | undefined;
    const done = (): void => {
      clearTimeout(timer);
      watcher?.close();
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, pollMs);
    try {
      watcher = watch(path, { persistent: false }, done);
      watcher.on('error', done);
    } catch {
      // No inotify: the timer polls.
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * The log of the instance before the one at `current` (`<dir>/<n>.log`): the highest-numbered
 * file below it.
 * @throws {EdgeError} `EDGE_RUNTIME_NOT_FOUND` when there is none
 */
export async function previousLog(current: string): Promise<string> {
  const dir = dirname(current);
  const n = parseInt(basename(current), 10);
  const earlier = (await readdir(dir).catch(() => []))
    .map((f) => /^(\d+)\.log$/.exec(f))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]))
    .filter((k) => Number.isNaN(n) || k < n)
    .sort((a, b) => b - a);
  if (earlier.length === 0) throw new EdgeError('EDGE_RUNTIME_NOT_FOUND', `no log of a previous instance in ${dir}`);
  return join(dir, `${earlier[0]!}.log`);
}
