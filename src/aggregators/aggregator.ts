/**
 * The aggregator contract (DESIGN §9). Small, async, lifecycle-shaped:
 * `write` a batch, optionally `forget` a session, optionally `close`.
 */
import type { PrivacyEvent } from '../event.js';
import type { StatsSource } from '../stats/query.js';

/**
 * The sketch dimensions. `site` is the whole site's unique-visitor sketch; the
 * others are one sketch per value of that breakdown property, so breakdown rows
 * can report visitors (and be k-anonymised on visitors) without any per-event id.
 */
export const SKETCH_DIMENSIONS = [
  'site',
  'page',
  'referrer',
  'browser',
  'os',
  'device',
  'isp',
  'domain',
  'download',
] as const;
export type SketchDimension = (typeof SKETCH_DIMENSIONS)[number];

/** HyperLogLog precision used everywhere: 2^14 registers, ~0.8 % standard error. */
export const SKETCH_PRECISION = 14;

/**
 * A sparse update to one HyperLogLog sketch: the registers that rose since the
 * last batch. Aggregators merge by taking the maximum per register.
 */
export interface SketchUpdate {
  /** UTC day, 'YYYY-MM-DD'. */
  day: string;
  site: string;
  dimension: SketchDimension;
  /** The breakdown value ('' for dimension 'site'), e.g. '/news' for 'page'. */
  value: string;
  /**
   * [register index, rank] pairs; index < 2^SKETCH_PRECISION, rank 1..51.
   * Read-only: the pipeline shares one pair object among the updates an
   * event reaches, so an aggregator must not change a pair in place.
   */
  registers: ReadonlyArray<readonly [number, number]>;
}

export interface Batch {
  events: readonly PrivacyEvent[];
  sketches: readonly SketchUpdate[];
}

export interface Aggregator {
  readonly name: string;
  /**
   * Store or forward a batch. Resolve once it is durable at the destination;
   * reject to have it retried. Must be idempotent per event id (a replayed batch
   * stores nothing twice) and sketch merges are idempotent by nature (max).
   * Reject with a PrivacyLogError whose `retryable` is false for failures a
   * retry cannot fix.
   */
  write(batch: Batch, signal?: AbortSignal): Promise<void>;
  /** Erase every stored event of a session (consent withdrawal). Resolves to the number erased. */
  forget?(sessionId: string): Promise<number>;
  /**
   * Return the shared salt for a UTC day, storing `candidate` if the store has
   * none yet (first writer wins), so that several servers hash visitors alike.
   * Stores delete salts older than their day plus one.
   */
  salt?(day: string, candidate: string): Promise<string>;
  close?(): Promise<void>;
  /** What it stores and where, for a policy's technical appendix (`privacy.describe()`). Never a secret. */
  describe?(): AggregatorDescription;
}

/** A public description of an aggregator: no credentials, no connection strings. */
export interface AggregatorDescription {
  /** 'sqlite', 'postgresql', 'memory', … */
  kind: string;
  /** Where the data lives: a file path, a schema, 'process memory'. */
  location?: string;
  /** Days raw events are kept. */
  retentionDays?: number;
  /** Months the aggregated rollups are kept. */
  rollupRetentionMonths?: number;
}

/** An aggregator that also answers stats queries. */
export interface StatsAggregator extends Aggregator, StatsSource {}

export function isStatsSource(a: unknown): a is StatsSource {
  return typeof a === 'object' && a !== null && typeof (a as StatsSource).query === 'function';
}
