/**
 * The operator's access log (DESIGN §11): PrivacyEvents rendered as Apache
 * `combined`/`common` lines, JSON lines or flat OpenTelemetry attributes, and
 * written through winston transports. It consumes events, never requests, so it
 * can only ever print what the event already holds: the truncated address, the
 * reduced agent, the referrer host.
 */
import { LEVEL, MESSAGE } from 'triple-beam';
import winston from 'winston';
import type TransportStream from 'winston-transport';
import { assertKnownKeys, invalidOption } from '../errors.js';
import type { PrivacyEvent } from '../event.js';
import { ACCESS_LOG_FORMATS, type AccessLogFormat, rendererFor } from './formats.js';
import { createTransport, LOG_LEVELS, type LogLevel, type TransportConfig } from './transports.js';

export const DEFAULT_ACCESS_LOG_FORMAT: AccessLogFormat = 'combined';
export const DEFAULT_ACCESS_LOG_LEVEL: LogLevel = 'info';
export const DEFAULT_CLOSE_TIMEOUT_MS = 5_000;

export interface AccessLoggerOptions {
  /** Line format. Default {@link DEFAULT_ACCESS_LOG_FORMAT}. */
  format?: AccessLogFormat;
  /** Transport descriptions or ready winston transports. Default: one console transport. */
  transports?: ReadonlyArray<TransportConfig | TransportStream>;
  /** The level every access record is written at. Default {@link DEFAULT_ACCESS_LOG_LEVEL}. */
  level?: LogLevel;
  /** Called when a transport fails. Default: a process warning. */
  onError?: (error: Error) => void;
}

export interface AccessLogger {
  readonly format: AccessLogFormat;
  readonly level: LogLevel;
  /** The underlying winston logger (for adding transports or listening to events). */
  readonly winston: winston.Logger;
  /** Renders an event as one line in this logger's format. */
  render(event: PrivacyEvent): string;
  /** Writes one event. Never throws; a non-object is ignored. */
  log(event: PrivacyEvent): void;
  /** Ends the logger and waits (bounded) until every transport has flushed. Idempotent. */
  close(options?: { timeoutMs?: number }): Promise<void>;
}

const KNOWN_KEYS = ['format', 'transports', 'level', 'onError'] as const;
const WHERE = 'createAccessLogger()';

/** Passes the rendered line through untouched: the line is the whole record. */
const lineFormat = winston.format((info) => {
  (info as unknown as Record<symbol, unknown>)[MESSAGE] = info.message;
  return info;
});

/** The transports of an access logger given none: one console transport. */
export const DEFAULT_ACCESS_LOG_TRANSPORTS: readonly TransportConfig[] = [{ type: 'console' }];

/** A ready winston transport (as opposed to a description of one). */
export function isTransportStream(t: unknown): t is TransportStream {
  return typeof t === 'object' && t !== null && typeof (t as TransportStream).log === 'function';
}

function defaultOnError(error: Error): void {
  process.emitWarning(`privacy-log access log transport failed: ${error.message}`, 'PrivacyLogWarning');
}

/** Validates the shared options of the access logger and the winston aggregator. */
export function checkFormat(where: string, format: unknown): AccessLogFormat {
  if (format === undefined) return DEFAULT_ACCESS_LOG_FORMAT;
  if (typeof format !== 'string' || !(ACCESS_LOG_FORMATS as readonly string[]).includes(format))
    throw invalidOption(where, 'format', `one of ${ACCESS_LOG_FORMATS.join(', ')}`);
  return format as AccessLogFormat;
}

export function checkLevel(where: string, level: unknown): LogLevel {
  if (level === undefined) return DEFAULT_ACCESS_LOG_LEVEL;
  if (typeof level !== 'string' || !(LOG_LEVELS as readonly string[]).includes(level))
    throw invalidOption(where, 'level', `one of ${LOG_LEVELS.join(', ')}`);
  return level as LogLevel;
}

/** Builds winston transports from descriptions, passing ready transports through. */
export function buildTransports(
  where: string,
  transports: ReadonlyArray<TransportConfig | TransportStream> | undefined,
): TransportStream[] {
  if (transports === undefined) return DEFAULT_ACCESS_LOG_TRANSPORTS.map(createTransport);
  if (!Array.isArray(transports) || transports.length === 0)
    throw invalidOption(where, 'transports', 'a non-empty array of transports or transport descriptions');
  return transports.map((t, i) => {
    if (isTransportStream(t)) return t;
    try {
      return createTransport(t);
    } catch (cause) {
      throw invalidOption(where, `transports[${i}]`, 'a valid console, file or http transport description', cause);
    }
  });
}

/** A transport that buffers in a stream of its own and flushes it in close() (winston-daily-rotate-file). */
interface ClosableTransport extends TransportStream {
  logStream?: unknown;
  close?: () => void;
}

function once(emitter: TransportStream, events: readonly string[]): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = () => {
      for (const e of events) emitter.off(e, done);
      resolve();
    };
    for (const e of events) emitter.once(e, done);
  });
}

async function endTransports(logger: winston.Logger): Promise<void> {
  const transports = [...logger.transports] as ClosableTransport[];
  // 1. every record has reached its transport's log() (and, for winston's File transport, the file).
  const ended = transports.map((t) => (t.writableFinished ? Promise.resolve() : once(t, ['finish', 'close', 'error'])));
  logger.end();
  await Promise.all(ended);
  // 2. transports with their own file stream flush it in close() and emit 'finish' when it is written.
  await Promise.all(
    transports.map((t) => {
      if (t.logStream === undefined || typeof t.close !== 'function') return undefined;
      const flushed = once(t, ['finish', 'error']);
      t.close();
      return flushed;
    }),
  );
}

/**
 * Ends a winston logger and resolves once its transports have finished
 * (file streams flushed and closed), or after `timeoutMs`, whichever is first.
 */
export async function endLogger(logger: winston.Logger, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, timeoutMs);
  });
  await Promise.race([endTransports(logger), timeout]);
  clearTimeout(timer);
}

/**
 * Creates an access logger.
 *
 * @example
 * const access = createAccessLogger({
 *   format: 'combined',
 *   transports: [{ type: 'file', dir: '/var/log/oblachko' }],
 * });
 * access.log(event);
 * // 203.0.113.0 - - [24/Nov/2026:15:34:44 +0000] "GET /news HTTP/1.1" 200 5120 "-" "Mozilla/5.0 (Windows) Firefox/120"
 * await access.close();
 * // From the pipeline instead: winstonAggregator({ transports: [...], format: 'combined' }).
 */
export function createAccessLogger(options: AccessLoggerOptions = {}): AccessLogger {
  if (typeof options !== 'object' || options === null) throw invalidOption(WHERE, 'options', 'an object');
  assertKnownKeys(options, KNOWN_KEYS, WHERE);
  const format = checkFormat(WHERE, options.format);
  const level = checkLevel(WHERE, options.level);
  const onError = options.onError ?? defaultOnError;
  if (typeof onError !== 'function') throw invalidOption(WHERE, 'onError', 'a function');
  const render = rendererFor(format);
  const transports = buildTransports(WHERE, options.transports);

  const logger = winston.createLogger({
    levels: winston.config.npm.levels,
    level: 'silly',
    format: lineFormat(),
    transports,
    exitOnError: false,
  });
  // A failing transport must never crash the application.
  logger.on('error', (err: Error) => onError(err));
  for (const t of transports)
    t.on('warn', (err: unknown) => onError(err instanceof Error ? err : new Error(String(err))));

  let closing: Promise<void> | undefined;
  return {
    format,
    level,
    winston: logger,
    render,
    log(event: PrivacyEvent): void {
      if (typeof event !== 'object' || event === null || closing) return;
      const message = render(event);
      logger.write({ level, message, [LEVEL]: level } as unknown as winston.LogEntry);
    },
    close(opts?: { timeoutMs?: number }): Promise<void> {
      closing ??= endLogger(logger, opts?.timeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS);
      return closing;
    },
  };
}
