/**
 * winstonAggregator: each event becomes one log record through any winston
 * transport — the operator's existing log shipping (files, syslog, Loki,
 * Elasticsearch…) fed by the pipeline.
 *
 * What "durable" means here. winston has no commit or fsync: the strongest
 * signal it offers is a transport's `logged` event, which a transport emits
 * once it has taken a record over. `write` resolves when every transport that
 * would log the batch's records (its level allows them, it is not silent) has
 * emitted `logged` for each of them, and rejects (to be retried) when a
 * transport reports an error or a warning, or stays silent past `timeoutMs`.
 * Per transport that means:
 * - Console: written to the process's stdout/stderr stream;
 * - File (winston) and DailyRotateFile: handed to the file stream, i.e. to the
 *   operating system shortly after — not fsynced; `close()` flushes and closes;
 * - Http: the receiver answered 200.
 * A retried batch may log a record twice (at-least-once): every record carries
 * the event id for de-duplication downstream.
 */
import { LEVEL } from 'triple-beam';
import type winston from 'winston';
import type TransportStream from 'winston-transport';
import {
  buildTransports,
  checkFormat,
  checkLevel,
  createAccessLogger,
  DEFAULT_ACCESS_LOG_TRANSPORTS,
  endLogger,
  isTransportStream,
} from '../access-log/access-logger.js';
import { type AccessLogFormat, rendererFor } from '../access-log/formats.js';
import type { LogLevel, TransportConfig } from '../access-log/transports.js';
import { assertKnownKeys, ERROR_CODES, invalidOption, PrivacyLogError } from '../errors.js';
import type { PrivacyEvent } from '../event.js';
import type { Aggregator, Batch } from './aggregator.js';

export const DEFAULT_WINSTON_NAME = 'winston';
/** The format of records written through a winston aggregator: the event as JSON. */
export const DEFAULT_WINSTON_FORMAT: AccessLogFormat = 'json';
/** How long write() waits for the transports to accept a batch. */
export const DEFAULT_WINSTON_TIMEOUT_MS = 30_000;

export interface WinstonAggregatorOptions {
  /** An existing winston logger; its transports and formats are used as they are. Not closed by close(). */
  logger?: winston.Logger;
  /** Transports (descriptions or instances) for a logger of the aggregator's own. Default: console. */
  transports?: ReadonlyArray<TransportConfig | TransportStream>;
  /** How each event is rendered into the record's `message`. Default {@link DEFAULT_WINSTON_FORMAT}. */
  format?: AccessLogFormat;
  /** Level of each record. Default 'info'. */
  level?: LogLevel;
  /** Name in pipeline metrics. Default {@link DEFAULT_WINSTON_NAME}. */
  name?: string;
  /** Default {@link DEFAULT_WINSTON_TIMEOUT_MS}. */
  timeoutMs?: number;
}

const KNOWN_KEYS = ['logger', 'transports', 'format', 'level', 'name', 'timeoutMs'] as const;
/** Lines a joined record holds at most (a default pipeline batch is 500 events: one record). */
const JOIN_LINES = 1000;

const WHERE = 'winstonAggregator()';
/** Tags each record so the transports' `logged` events can be matched to it (copied by Object.assign, never serialised). */
const RECORD = Symbol('privacy-log.record');

interface Pending {
  waiting: Set<TransportStream>;
  done: (error?: Error) => void;
}

type Tagged = Record<symbol, unknown>;

function isLogger(v: unknown): v is winston.Logger {
  return typeof v === 'object' && v !== null && typeof (v as winston.Logger).log === 'function' && 'transports' in v;
}

/**
 * @example
 * import winston from 'winston';
 * const pipeline = createPipeline({
 *   aggregators: [
 *     sqliteAggregator(),
 *     winstonAggregator({ transports: [{ type: 'file', dir: '/var/log/oblachko' }], format: 'otel' }),
 *   ],
 * });
 * // or through an existing logger:
 * winstonAggregator({ logger: winston.createLogger({ transports: [new winston.transports.Console()] }) });
 */
export function winstonAggregator(options: WinstonAggregatorOptions = {}): Aggregator & { close(): Promise<void> } {
  if (typeof options !== 'object' || options === null) throw invalidOption(WHERE, 'options', 'an object');
  assertKnownKeys(options, KNOWN_KEYS, WHERE);
  if (options.logger !== undefined && options.transports !== undefined)
    throw invalidOption(WHERE, 'logger', 'given without "transports" (pass one or the other)');
  if (options.logger !== undefined && !isLogger(options.logger))
    throw invalidOption(WHERE, 'logger', 'a winston logger');
  const format = options.format === undefined ? DEFAULT_WINSTON_FORMAT : checkFormat(WHERE, options.format);
  const level = checkLevel(WHERE, options.level);
  const name = options.name ?? DEFAULT_WINSTON_NAME;
  if (typeof name !== 'string' || name === '') throw invalidOption(WHERE, 'name', 'a non-empty string');
  const timeoutMs = options.timeoutMs ?? DEFAULT_WINSTON_TIMEOUT_MS;
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) throw invalidOption(WHERE, 'timeoutMs', 'a positive integer');

  const own = options.logger === undefined;
  // Built once, here (errors name this factory); the access logger takes ready transports as they are.
  // Building them a second time left the first file transport's stream open.
  const logger: winston.Logger = own
    ? createAccessLogger({ format, level, transports: buildTransports(WHERE, options.transports) }).winston
    : (options.logger as winston.Logger);
  const render = rendererFor(format);
  // Line transports of our own (file, console) write each record's message and an end of line: a
  // record holding several lines joined by '\n' writes the same bytes as one record a line, without
  // winston's per-record cost. Any other transport (HTTP, or a logger or instance of the caller's)
  // gets one record an event.
  const joinLines =
    own &&
    (options.transports ?? DEFAULT_ACCESS_LOG_TRANSPORTS).every(
      (t) => !isTransportStream(t) && (t.type === 'file' || t.type === 'console'),
    );
  const messagesOf = (events: readonly PrivacyEvent[]): string[] => {
    if (!joinLines) return events.map(render);
    const out: string[] = [];
    for (let from = 0; from < events.length; from += JOIN_LINES) {
      const end = Math.min(events.length, from + JOIN_LINES);
      let text = render(events[from] as PrivacyEvent);
      for (let i = from + 1; i < end; i++) text += `\n${render(events[i] as PrivacyEvent)}`;
      out.push(text);
    }
    return out;
  };
  const levels = logger.levels as Record<string, number>;
  const recordSeverity = levels[level] ?? 2;

  const pending = new Map<number, Pending>();
  const watched = new WeakSet<TransportStream>();
  let seq = 0;
  let closed = false;

  /** A transport failed: every record still waiting on it fails (winston's warnings name no record). */
  const failTransport = (t: TransportStream, error: Error) => {
    for (const [id, p] of pending) {
      if (!p.waiting.has(t)) continue;
      pending.delete(id);
      p.done(error);
    }
  };
  const watch = (t: TransportStream) => {
    if (watched.has(t)) return;
    watched.add(t);
    t.on('logged', (info: Tagged) => {
      const id = info?.[RECORD];
      if (typeof id !== 'number') return;
      const p = pending.get(id);
      if (!p) return;
      p.waiting.delete(t);
      if (p.waiting.size === 0) {
        pending.delete(id);
        p.done();
      }
    });
    const fail = (err: unknown) => failTransport(t, err instanceof Error ? err : new Error(String(err)));
    t.on('warn', fail);
    t.on('error', fail);
  };

  /** The transports that will log a record of our level. */
  const targets = (): TransportStream[] => {
    if ((levels[logger.level] ?? -1) < recordSeverity || logger.silent) return [];
    return logger.transports.filter((t) => !t.silent && (levels[t.level ?? logger.level] ?? -1) >= recordSeverity);
  };

  return {
    name,
    async write(batch: Batch, signal?: AbortSignal): Promise<void> {
      if (closed)
        throw new PrivacyLogError(ERROR_CODES.CLOSED, `${name}: the aggregator is closed; create a new one.`, {
          retryable: false,
        });
      if (signal?.aborted)
        throw new PrivacyLogError(ERROR_CODES.AGGREGATOR_FAILED, `${name}: write aborted.`, { cause: signal.reason });
      if (batch.events.length === 0) return;
      const to = targets();
      for (const t of to) watch(t);
      const ids: number[] = [];
      const accepted: Promise<void>[] = [];
      for (const message of messagesOf(batch.events)) {
        const id = ++seq;
        ids.push(id);
        if (to.length > 0) {
          accepted.push(
            new Promise<void>((resolve, reject) => {
              pending.set(id, { waiting: new Set(to), done: (err) => (err ? reject(err) : resolve()) });
            }),
          );
        }
        const info = { level, message, [LEVEL]: level, [RECORD]: id };
        logger.write(info as unknown as winston.LogEntry);
      }
      if (accepted.length === 0) return;

      let timer: NodeJS.Timeout | undefined;
      let onAbort: (() => void) | undefined;
      const stop = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () =>
            reject(
              new PrivacyLogError(
                ERROR_CODES.AGGREGATOR_FAILED,
                `${name}: the winston transports did not accept the batch within ${timeoutMs} ms (a transport that never emits "logged"?).`,
              ),
            ),
          timeoutMs,
        );
        onAbort = () =>
          reject(
            new PrivacyLogError(ERROR_CODES.AGGREGATOR_FAILED, `${name}: write aborted.`, { cause: signal?.reason }),
          );
        signal?.addEventListener('abort', onAbort, { once: true });
      });
      try {
        await Promise.race([Promise.all(accepted), stop]);
      } catch (cause) {
        if (cause instanceof PrivacyLogError) throw cause;
        throw new PrivacyLogError(
          ERROR_CODES.AGGREGATOR_FAILED,
          `${name}: a winston transport failed: ${(cause as Error).message}. The batch will be retried.`,
          { cause },
        );
      } finally {
        clearTimeout(timer);
        if (onAbort) signal?.removeEventListener('abort', onAbort);
        for (const id of ids) pending.delete(id);
      }
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      if (own) await endLogger(logger, timeoutMs);
    },
  };
}
