/**
 * `createPipeline()` options: one typed object, every field optional, named
 * defaults, validated and precomputed once when the factory is called.
 */
import { type Aggregator, isStatsSource } from '../aggregators/aggregator.js';
import { assertKnownKeys, ERROR_CODES, invalidOption, PrivacyLogError } from '../errors.js';
import type { StatsSource } from '../stats/query.js';

export const DEFAULT_BATCH_MAX_EVENTS = 500;
export const DEFAULT_BATCH_MAX_WAIT_MS = 1000;
export const DEFAULT_QUEUE_MAX_EVENTS = 10_000;
export const DEFAULT_OVERFLOW = 'spool';
export const DEFAULT_SPOOL_DIR = './data/spool';
export const DEFAULT_FSYNC_INTERVAL_MS = 500;
/** 1 GiB per aggregator: about 2.5 million typical events. */
export const DEFAULT_SPOOL_MAX_BYTES = 1024 * 1024 * 1024;
/** Segment files roll at this size (or a quarter of maxBytes, whichever is smaller). */
export const DEFAULT_SPOOL_SEGMENT_BYTES = 16 * 1024 * 1024;
export const DEFAULT_RETRY_INITIAL_MS = 500;
export const DEFAULT_RETRY_MAX_MS = 30_000;
export const DEFAULT_RETRY_MULTIPLIER = 2;
export const DEFAULT_RETRY_JITTER = true;
/** Attempts from memory before a batch goes to the spool: 0.5 + 1 + 2 + 4 s of backoff. */
export const DEFAULT_RETRY_MAX_ATTEMPTS = 5;
/** One `write()` that has not settled after this long counts as a failed attempt (a hanging sink). */
export const DEFAULT_ATTEMPT_TIMEOUT_MS = 10_000;
export const DEFAULT_ENRICH_TIMEOUT_MS = 300;
export const DEFAULT_FLUSH_TIMEOUT_MS = 10_000;
export const DEFAULT_CLOSE_TIMEOUT_MS = 10_000;

export type OverflowPolicy = 'spool' | 'drop-newest';

export interface SpoolOptions {
  /** Parent directory; each aggregator gets a sub-directory named after it. Default './data/spool'. */
  dir?: string;
  /** fsync the active segment at most this often; 0 fsyncs after every record. Default 500. */
  fsyncIntervalMs?: number;
  /** Size cap per aggregator; the oldest segment is evicted (and its events counted as dropped) beyond it. Default 1 GiB. */
  maxBytes?: number;
  /** Segment file size before rolling to a new file. Default min(16 MiB, maxBytes / 4). */
  segmentBytes?: number;
}

export interface RetryOptions {
  /** First backoff delay. Default 500 ms. */
  initialMs?: number;
  /** Backoff ceiling. Default 30 000 ms. */
  maxMs?: number;
  /** Growth per attempt. Default 2. */
  multiplier?: number;
  /** Randomise each delay within [delay/2, delay]. Default true. */
  jitter?: boolean;
  /** Attempts from memory before the batch is spooled (or dropped without a spool). Default 5. */
  maxAttempts?: number;
  /** A write that has not settled after this long is aborted and counts as a failed attempt. Default 10 000 ms. */
  attemptTimeoutMs?: number;
}

export interface PipelineOptions {
  /** Where batches go; each gets every batch independently. */
  aggregators?: Aggregator[];
  /** A batch is cut at `maxEvents` events or `maxWaitMs` after its first event. Defaults 500 and 1000 ms. */
  batch?: { maxEvents?: number; maxWaitMs?: number };
  /**
   * Events held in memory: at most `maxEvents` waiting at the door and at most `maxEvents` per aggregator.
   * Beyond, an aggregator's backlog goes to its spool ('spool', the default) or the newest batch is
   * dropped for it ('drop-newest'). Default 10 000.
   */
  queue?: { maxEvents?: number; overflow?: OverflowPolicy };
  /** The disk spool, or `false` for none (then failures beyond the retries are dropped, and counted). */
  spool?: false | SpoolOptions;
  retry?: RetryOptions;
  /** How long a batch waits for pending reverse-DNS enrichment, in total. Default 300 ms. */
  enrichTimeoutMs?: number;
  /** Defaults for `flush()` and `close()` without a `timeoutMs`. Defaults 10 000 ms each. */
  timeouts?: { flushMs?: number; closeMs?: number };
  /** Every failure is reported here (rate-limited per kind). Default: a line on stderr. */
  onError?: (err: PrivacyLogError) => void;
  /** Validate events at the door with `validateEvent`. Default true. */
  validate?: boolean;
}

export interface ResolvedSpoolOptions {
  dir: string;
  fsyncIntervalMs: number;
  maxBytes: number;
  segmentBytes: number;
}

export interface ResolvedRetryOptions {
  initialMs: number;
  maxMs: number;
  multiplier: number;
  jitter: boolean;
  maxAttempts: number;
  attemptTimeoutMs: number;
}

export interface ResolvedPipelineOptions {
  aggregators: Aggregator[];
  /** The directory name inside the spool dir, per aggregator (same order). */
  spoolNames: string[];
  batchMaxEvents: number;
  batchMaxWaitMs: number;
  queueMaxEvents: number;
  overflow: OverflowPolicy;
  spool: ResolvedSpoolOptions | undefined;
  retry: ResolvedRetryOptions;
  enrichTimeoutMs: number;
  flushMs: number;
  closeMs: number;
  onError: ((err: PrivacyLogError) => void) | undefined;
  validate: boolean;
}

const WHERE = 'createPipeline()';
const TOP_KEYS = [
  'aggregators',
  'batch',
  'queue',
  'spool',
  'retry',
  'enrichTimeoutMs',
  'timeouts',
  'onError',
  'validate',
] as const;
const BATCH_KEYS = ['maxEvents', 'maxWaitMs'] as const;
const QUEUE_KEYS = ['maxEvents', 'overflow'] as const;
const SPOOL_KEYS = ['dir', 'fsyncIntervalMs', 'maxBytes', 'segmentBytes'] as const;
const RETRY_KEYS = ['initialMs', 'maxMs', 'multiplier', 'jitter', 'maxAttempts', 'attemptTimeoutMs'] as const;
const TIMEOUT_KEYS = ['flushMs', 'closeMs'] as const;
const MAX_MS = 2_147_483_647; // setTimeout's ceiling

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function section(value: unknown, name: string, keys: readonly string[]): Record<string, unknown> {
  if (value === undefined) return {};
  if (!isPlainObject(value)) throw invalidOption(WHERE, name, `an object with ${keys.join(', ')}`);
  assertKnownKeys(value, keys, `${WHERE} ${name}`);
  return value;
}

function int(value: unknown, field: string, min: number, max: number, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalidOption(WHERE, field, `an integer from ${min} to ${max}`);
  }
  return value;
}

function bool(value: unknown, field: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw invalidOption(WHERE, field, 'true or false');
  return value;
}

/** A directory-safe form of an aggregator name. */
export function spoolNameOf(name: string): string {
  const safe = name.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, '_');
  return safe.length === 0 ? '_' : safe.slice(0, 100);
}

function aggregatorsOf(value: unknown): Aggregator[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw invalidOption(WHERE, 'aggregators', 'an array of aggregators');
  const seen = new Set<string>();
  return value.map((a: unknown, i) => {
    const ok =
      isPlainObjectOrInstance(a) &&
      typeof (a as Aggregator).name === 'string' &&
      (a as Aggregator).name.length > 0 &&
      typeof (a as Aggregator).write === 'function';
    if (!ok) {
      throw invalidOption(
        WHERE,
        `aggregators[${i}]`,
        'an aggregator: an object with a non-empty `name` and a `write(batch)` method (did you pass the factory instead of calling it?)',
      );
    }
    const key = spoolNameOf((a as Aggregator).name);
    if (seen.has(key)) {
      throw invalidOption(
        WHERE,
        `aggregators[${i}].name`,
        `unique: "${(a as Aggregator).name}" is used twice (names key the metrics and the spool directories)`,
      );
    }
    seen.add(key);
    return a as Aggregator;
  });
}

function isPlainObjectOrInstance(a: unknown): boolean {
  return typeof a === 'object' && a !== null && !Array.isArray(a);
}

/** Validates and resolves options once; throws INVALID_OPTION with a "did you mean" hint. */
export function resolvePipelineOptions(options: PipelineOptions | undefined): ResolvedPipelineOptions {
  if (options !== undefined && !isPlainObject(options)) {
    throw new PrivacyLogError(ERROR_CODES.INVALID_OPTION, `${WHERE}: options must be an object.`, {
      retryable: false,
    });
  }
  const o = (options ?? {}) as Record<string, unknown>;
  assertKnownKeys(o, TOP_KEYS, WHERE);

  const aggregators = aggregatorsOf(o.aggregators);
  const batch = section(o.batch, 'batch', BATCH_KEYS);
  const queue = section(o.queue, 'queue', QUEUE_KEYS);
  const retry = section(o.retry, 'retry', RETRY_KEYS);
  const timeouts = section(o.timeouts, 'timeouts', TIMEOUT_KEYS);

  const queueMaxEvents = int(queue.maxEvents, 'queue.maxEvents', 1, 10_000_000, DEFAULT_QUEUE_MAX_EVENTS);
  const batchMaxEvents = int(
    batch.maxEvents,
    'batch.maxEvents',
    1,
    queueMaxEvents,
    Math.min(DEFAULT_BATCH_MAX_EVENTS, queueMaxEvents),
  );
  const overflow = queue.overflow ?? DEFAULT_OVERFLOW;
  if (overflow !== 'spool' && overflow !== 'drop-newest') {
    throw invalidOption(WHERE, 'queue.overflow', "'spool' or 'drop-newest'");
  }

  let spool: ResolvedSpoolOptions | undefined;
  if (o.spool !== false) {
    const s = section(o.spool, 'spool', SPOOL_KEYS);
    if (s.dir !== undefined && (typeof s.dir !== 'string' || s.dir.length === 0)) {
      throw invalidOption(WHERE, 'spool.dir', 'a non-empty directory path');
    }
    const maxBytes = int(s.maxBytes, 'spool.maxBytes', 64 * 1024, Number.MAX_SAFE_INTEGER, DEFAULT_SPOOL_MAX_BYTES);
    spool = {
      dir: (s.dir as string | undefined) ?? DEFAULT_SPOOL_DIR,
      fsyncIntervalMs: int(s.fsyncIntervalMs, 'spool.fsyncIntervalMs', 0, MAX_MS, DEFAULT_FSYNC_INTERVAL_MS),
      maxBytes,
      segmentBytes: int(
        s.segmentBytes,
        'spool.segmentBytes',
        16 * 1024,
        maxBytes,
        Math.max(16 * 1024, Math.min(DEFAULT_SPOOL_SEGMENT_BYTES, Math.floor(maxBytes / 4))),
      ),
    };
  }

  const initialMs = int(retry.initialMs, 'retry.initialMs', 0, MAX_MS, DEFAULT_RETRY_INITIAL_MS);
  const maxMs = int(retry.maxMs, 'retry.maxMs', 0, MAX_MS, Math.max(DEFAULT_RETRY_MAX_MS, initialMs));
  if (maxMs < initialMs) throw invalidOption(WHERE, 'retry.maxMs', `at least retry.initialMs (${initialMs})`);
  const multiplier = retry.multiplier ?? DEFAULT_RETRY_MULTIPLIER;
  if (typeof multiplier !== 'number' || !Number.isFinite(multiplier) || multiplier < 1 || multiplier > 100) {
    throw invalidOption(WHERE, 'retry.multiplier', 'a number from 1 to 100');
  }

  if (o.onError !== undefined && typeof o.onError !== 'function') {
    throw invalidOption(WHERE, 'onError', 'a function (err) => void');
  }

  return {
    aggregators,
    spoolNames: aggregators.map((a) => spoolNameOf(a.name)),
    batchMaxEvents,
    batchMaxWaitMs: int(batch.maxWaitMs, 'batch.maxWaitMs', 0, MAX_MS, DEFAULT_BATCH_MAX_WAIT_MS),
    queueMaxEvents,
    overflow,
    spool,
    retry: {
      initialMs,
      maxMs,
      multiplier,
      jitter: bool(retry.jitter, 'retry.jitter', DEFAULT_RETRY_JITTER),
      maxAttempts: int(retry.maxAttempts, 'retry.maxAttempts', 1, 1_000_000, DEFAULT_RETRY_MAX_ATTEMPTS),
      attemptTimeoutMs: int(retry.attemptTimeoutMs, 'retry.attemptTimeoutMs', 1, MAX_MS, DEFAULT_ATTEMPT_TIMEOUT_MS),
    },
    enrichTimeoutMs: int(o.enrichTimeoutMs, 'enrichTimeoutMs', 0, MAX_MS, DEFAULT_ENRICH_TIMEOUT_MS),
    flushMs: int(timeouts.flushMs, 'timeouts.flushMs', 1, MAX_MS, DEFAULT_FLUSH_TIMEOUT_MS),
    closeMs: int(timeouts.closeMs, 'timeouts.closeMs', 1, MAX_MS, DEFAULT_CLOSE_TIMEOUT_MS),
    onError: o.onError as ((err: PrivacyLogError) => void) | undefined,
    validate: bool(o.validate, 'validate', true),
  };
}

/** The first aggregator that answers stats queries. */
export function firstStatsSource(aggregators: readonly Aggregator[]) {
  return aggregators.find((a): a is Aggregator & StatsSource => isStatsSource(a));
}
