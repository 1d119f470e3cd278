import { pino, type Logger as PinoLogger } from 'pino';

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

class PinoAdapter implements Logger {
  readonly #pino: PinoLogger;

  constructor(p: PinoLogger) {
    this.#pino = p;
  }

  trace(msg: string, fields?: LogFields): void {
    this.#pino.trace(fields ?? {}, msg);
  }
  debug(msg: string, fields?: LogFields): void {
    this.#pino.debug(fields ?? {}, msg);
  }
  info(msg: string, fields?: LogFields): void {
    this.#pino.info(fields ?? {}, msg);
  }
  warn(msg: string, fields?: LogFields): void {
    this.#pino.warn(fields ?? {}, msg);
  }
  error(msg: string, fields?: LogFields): void {
    this.#pino.error(fields ?? {}, msg);
  }
  child(fields: LogFields): Logger {
    return new PinoAdapter(this.#pino.child(fields));
  }
}

/** Log levels accepted by `--log-level`. */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * Creates the process's root logger: JSON lines on stderr (stdout stays free for command output).
 * @param level minimum level written. @default 'info'
 */
export function createLogger(level: LogLevel = 'info'): Logger {
  return new PinoAdapter(pino({ level: level, base: undefined }, pino.destination({ fd: 2, sync: false })));
}

/** A logger that drops everything; for unit tests and benchmarks. */
export function silentLogger(): Logger {
  return new PinoAdapter(pino({ level: 'silent' }));
}
