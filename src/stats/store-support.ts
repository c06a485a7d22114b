/**
 * What the SQL stores (SQLite, PostgreSQL) share besides the query SQL:
 * batch checking, retention cut-offs and the retention timer.
 */
import { type Batch, SKETCH_DIMENSIONS, type SketchUpdate } from '../aggregators/aggregator.js';
import { ERROR_CODES, invalidOption, PrivacyLogError } from '../errors.js';
import { type PrivacyEvent, validateEvent } from '../event.js';
import { type EventRow, eventRow, SLOT_MS } from './event-columns.js';
import { addDays, addMonths, isDay } from './time-range.js';

/** A turn of the event loop: what a store's long work yields between its short transactions. */
export const yieldTurn = (): Promise<void> => new Promise<void>((r) => setImmediate(r));

export const DEFAULT_RETENTION_DAYS = 30;
export const DEFAULT_ROLLUP_RETENTION_MONTHS = 25;
export const DEFAULT_RETENTION_INTERVAL_MS = 3_600_000;
/** Rows deleted per retention statement, so a large purge never holds the write lock for long. */
export const RETENTION_CHUNK = 10_000;

const DIMENSIONS: ReadonlySet<string> = new Set(SKETCH_DIMENSIONS);

/** What {@link checkBatch} may skip. */
export interface CheckBatchOptions {
  /**
   * Sort the sketch updates by key (default true): concurrent writers that
   * lock one row per key (PostgreSQL) then lock them in the same order. A
   * store that appends them (SQLite, memory) passes false.
   */
  ordered?: boolean;
}

/**
 * `list` sorted by a string key, each key built once (not once per comparison).
 *
 * @example
 * sortedByKey(updates, (u) => `${u.dimension}\u0000${u.day}`);
 */
export function sortedByKey<T>(list: readonly T[], key: (t: T) => string): T[] {
  return list
    .map((t) => [key(t), t] as const)
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .map((e) => e[1]);
}

/**
 * Checks a batch before any of it is stored and flattens its events to rows.
 * Events are validated at the pipeline's door (DESIGN §4), so a store does
 * not re-validate every field; an event without the shape rows need (id,
 * time, site, kind, agent, client) rejects the write, not retryable, with
 * nothing stored. Malformed sketch updates (bad day, unknown dimension) are
 * dropped; out-of-range register pairs are ignored by the merge.
 *
 * @example
 * const { rows, events, sketches } = checkBatch('sqlite', batch, { ordered: false });
 */
export function checkBatch(
  where: string,
  batch: Batch,
  options: CheckBatchOptions = {},
): { events: readonly PrivacyEvent[]; rows: EventRow[]; sketches: SketchUpdate[] } {
  if (typeof batch !== 'object' || batch === null || !Array.isArray(batch.events)) {
    throw new PrivacyLogError(ERROR_CODES.INVALID_EVENT, `${where}: write() needs a batch { events, sketches }.`, {
      retryable: false,
    });
  }
  const rows: EventRow[] = new Array(batch.events.length);
  for (let i = 0; i < batch.events.length; i++) {
    const e = batch.events[i]!;
    let row: EventRow | undefined;
    try {
      row = eventRow(e);
    } catch {
      row = undefined;
    }
    if (
      row === undefined ||
      typeof row.id !== 'string' ||
      !Number.isFinite(row.ts) ||
      typeof row.site !== 'string' ||
      typeof row.kind !== 'string' ||
      typeof row.device !== 'string'
    ) {
      const reason = validateEvent(e) ?? 'not an event';
      throw new PrivacyLogError(
        ERROR_CODES.INVALID_EVENT,
        `${where}: the batch holds an invalid event (${reason}); nothing was stored. Send events through the pipeline, which validates them.`,
        { retryable: false },
      );
    }
    rows[i] = row;
  }
  const input = Array.isArray(batch.sketches) ? batch.sketches : [];
  const sketches: SketchUpdate[] = [];
  // A batch's updates share one or two days: check each distinct day once.
  let okDay = '';
  for (const u of input) {
    if (typeof u !== 'object' || u === null || typeof u.day !== 'string') continue;
    if (u.day !== okDay) {
      if (!isDay(u.day)) continue;
      okDay = u.day;
    }
    if (
      typeof u.site === 'string' &&
      DIMENSIONS.has(u.dimension) &&
      typeof u.value === 'string' &&
      Array.isArray(u.registers)
    )
      sketches.push(u);
  }
  if (options.ordered === false || sketches.length < 2) return { events: batch.events, rows, sketches };
  // A fixed order, so concurrent writers lock sketch rows alike; each key is built once, not per comparison.
  const ordered = sortedByKey(sketches, (u) => `${u.dimension}\u0000${u.day}\u0000${u.site}\u0000${u.value}`);
  return { events: batch.events, rows, sketches: ordered };
}

export interface RetentionOptions {
  retentionDays?: number;
  rollupRetentionMonths?: number;
  retentionIntervalMs?: number;
}

export interface Retention {
  retentionDays: number;
  rollupRetentionMonths: number;
  retentionIntervalMs: number;
}

export function checkRetention(where: string, o: RetentionOptions): Retention {
  const int = (field: keyof RetentionOptions, v: number | undefined, dflt: number, min: number, max: number) => {
    if (v === undefined) return dflt;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
      throw invalidOption(where, field, `an integer from ${min} to ${max}`);
    return v;
  };
  return {
    retentionDays: int('retentionDays', o.retentionDays, DEFAULT_RETENTION_DAYS, 1, 36_500),
    rollupRetentionMonths: int(
      'rollupRetentionMonths',
      o.rollupRetentionMonths,
      DEFAULT_ROLLUP_RETENTION_MONTHS,
      1,
      1200,
    ),
    retentionIntervalMs: int(
      'retentionIntervalMs',
      o.retentionIntervalMs,
      DEFAULT_RETENTION_INTERVAL_MS,
      1000,
      2 ** 31 - 1,
    ),
  };
}

export interface Cutoffs {
  /** Raw events with ts below this (epoch ms) expire. */
  eventsBefore: number;
  /** Rollups and sketches of days before this expire. */
  rollupDayBefore: string;
  /** Slot rollups below this slot expire. */
  slotBefore: number;
  /** Salts of days before this are deleted (a salt lives for its day plus one). */
  saltDayBefore: string;
}

export function retentionCutoffs(now: number, r: Retention): Cutoffs {
  const today = new Date(now).toISOString().slice(0, 10);
  const rollupDayBefore = addMonths(today, -r.rollupRetentionMonths);
  return {
    eventsBefore: now - r.retentionDays * 86_400_000,
    rollupDayBefore,
    slotBefore: Date.parse(`${rollupDayBefore}T00:00:00.000Z`) / SLOT_MS,
    saltDayBefore: addDays(today, -1),
  };
}

/** The oldest salt day to keep when `day`'s salt is asked for. */
export function saltKeepFrom(day: string): string {
  return addDays(day, -1);
}
