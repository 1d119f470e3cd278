import { write, writeSync } from 'node:fs';

/** Structured fields attached to a log line; ids go here, never into the message text. */
export type LogFields = Record<string, unknown>;

/**
 * The logger every component receives through its constructor. Levels: info for lifecycle, debug for
 * per-request and per-message traffic, trace for payloads.
 */
export interface Logger {
  trace(msg: string, fields?: LogFields): void;
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** A logger whose lines all carry `fields`, e.g. `{ component: 'apiserver' }`. */
  child(fields: LogFields): Logger;
}

/** Log levels accepted by `--log-level`. */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** The numbers in the `level` field: pino's and bunyan's, so existing log tooling reads kedge's lines. */
const LEVEL_NUMBERS: Record<LogLevel, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, silent: Infinity };

/** Where finished lines go. */
export interface LogSink {
  write(line: string): void;
}

/**
 * JSON lines, one object per line: `{"level":30,"time":<ms>,<child fields>,<call fields>,"msg":"..."}`,
 * the shape pino writes. Written here rather than with pino because it is all kedge uses of it, and
 * an edge node counts every megabyte (pino with its worker-thread transport machinery is about 8 MB).
 */
class JsonLogger implements Logger {
  readonly #threshold: number;
  readonly #sink: LogSink;
  /** The child fields, serialized once: `,"k":v,...` or ''. */
  readonly #bindings: string;

  constructor(threshold: number, sink: LogSink, bindings: string) {
    this.#threshold = threshold;
    this.#sink = sink;
    this.#bindings = bindings;
  }

  trace(msg: string, fields?: LogFields): void {
    if (this.#threshold <= 10) this.#line(10, msg, fields);
  }
  debug(msg: string, fields?: LogFields): void {
    if (this.#threshold <= 20) this.#line(20, msg, fields);
  }
  info(msg: string, fields?: LogFields): void {
    if (this.#threshold <= 30) this.#line(30, msg, fields);
  }
  warn(msg: string, fields?: LogFields): void {
    if (this.#threshold <= 40) this.#line(40, msg, fields);
  }
  error(msg: string, fields?: LogFields): void {
    if (this.#threshold <= 50) this.#line(50, msg, fields);
  }
  child(fields: LogFields): Logger {
    return new JsonLogger(this.#threshold, this.#sink, this.#bindings + serializeFields(fields));
  }

  #line(level: number, msg: string, fields: LogFields | undefined): void {
    const own = fields === undefined ? '' : serializeFields(fields);
    this.#sink.write(`{"level":${level},"time":${Date.now()}${this.#bindings}${own},"msg":${JSON.stringify(msg)}}\n`);
  }
}

/** `,"k":v` for each field whose value serializes; a field that cannot is written as a string saying why. */
function serializeFields(fields: LogFields): string {
  let out = '';
  for (const key of Object.keys(fields)) {
    const value = fields[key];
    if (value === undefined) continue;
    out += `,${JSON.stringify(key)}:${serializeValue(value)}`;
  }
  return out;
}

function serializeValue(value: unknown): string {
  try {
    return JSON.stringify(value, replacer) ?? 'null';
  } catch (err) {
    // Circular structures, getters that throw: the line still goes out, saying what went wrong.
    return JSON.stringify(`[unserializable: ${err instanceof Error ? err.message : String(err)}]`);
  }
}

function replacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) {
    const code = (value as { code?: unknown }).code;
    return { type: value.name, message: value.message, ...(code !== undefined ? { code } : {}), stack: value.stack };
  }
  if (typeof value === 'bigint') return value.toString();
  return value;
}

/** Characters queued before lines are dropped: a stalled reader of stderr must not grow the process without bound. */
const MAX_QUEUED_CHARS = 8 * 1024 * 1024;

/**
 * Writes lines to a file descriptor without blocking the event loop: lines queue and go out in one
 * write per turn. If the reader stalls past {@link MAX_QUEUED_CHARS}, later lines are dropped and
 * counted (said in the next line that gets through). What is queued when the process exits is
 * written synchronously, so the last words of a crashing process are not lost.
 */
export class FdSink implements LogSink {
  readonly #fd: number;
  #queue: string[] = [];
  #queued = 0;
  #writing = false;
  #dropped = 0;

  constructor(fd: number) {
    this.#fd = fd;
    process.once('exit', () => this.flushSync());
  }

  write(line: string): void {
    if (this.#queued + line.length > MAX_QUEUED_CHARS) {
      this.#dropped++;
      return;
    }
    if (this.#dropped > 0) {
      const note = `{"level":40,"time":${Date.now()},"msg":"log lines dropped: stderr was not read","dropped":${this.#dropped}}\n`;
      this.#dropped = 0;
      this.#enqueue(note);
    }
    this.#enqueue(line);
  }

  /** Writes everything queued, blocking; for process exit. */
  flushSync(): void {
    const text = this.#take();
    if (text === '') return;
    try {
      writeSync(this.#fd, text);
    } catch {
      // stderr closed: nowhere left to say anything.
    }
  }

  #enqueue(line: string): void {
    this.#queue.push(line);
    this.#queued += line.length;
    if (!this.#writing) {
      this.#writing = true;
      setImmediate(() => this.#flush());
    }
  }

  #take(): string {
    const text = this.#queue.join('');
    this.#queue = [];
    this.#queued = 0;
    return text;
  }

  #flush(): void {
    const text = this.#take();
    if (text === '') {
      this.#writing = false;
      return;
    }
    write(this.#fd, text, null, 'utf8', (err) => {
      // EAGAIN on a non-blocking stderr or a closed reader: the lines are lost, the process goes on.
      if (err !== null) this.#dropped += text.split('\n').length - 1;
      this.#flush();
    });
  }
}

/** One sink per process for stderr, shared by every root logger. */
let stderrSink: FdSink | undefined;

/**
 * Creates the process's root logger: JSON lines on stderr (stdout stays free for command output).
 * @param level minimum level written. @default 'info'
 * @param sink where lines go. @default stderr
 */
export function createLogger(level: LogLevel = 'info', sink?: LogSink): Logger {
  return new JsonLogger(LEVEL_NUMBERS[level], sink ?? (stderrSink ??= new FdSink(2)), '');
}

/** A logger that drops everything; for unit tests and benchmarks. */
export function silentLogger(): Logger {
  return new JsonLogger(Infinity, { write: () => undefined }, '');
}
