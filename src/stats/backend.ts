/**
 * The small set of primitives a store implements for the stats engine. All
 * query planning (periods, time zones, rollup-or-raw choice, visitors from
 * sketches, k-anonymity) lives in engine.ts; a store only counts, groups and
 * returns sketches — so memory, SQLite and PostgreSQL give identical results.
 */

import type { SketchDimension } from '../aggregators/aggregator.js';
import type { Filter, Property } from './query.js';
import type { Counts } from './rollup.js';

/** How raw rows are grouped: not at all, by 15-minute slot, or by a property's value (absent values excluded). */
export type Grouping = { by: 'none' } | { by: 'slot' } | { by: 'property'; property: Property };

/** A counted group. `key` is '' (none), the slot number as a string, or the property value. */
export interface CountRow extends Counts {
  key: string;
}

/**
 * Consenting sessions of a group: how many, how many bounced (at most one
 * pageview in the group), and the summed duration (last − first event, ms).
 * Slot grouping uses the slot of the session's first event in range.
 */
export interface SessionRow {
  key: string;
  sessions: number;
  bounces: number;
  durationMs: number;
}

export interface RawSpec {
  /** Epoch ms, [from, to). */
  from: number;
  to: number;
  site?: string | undefined;
  filters: readonly Filter[];
  includeBots: boolean;
  group: Grouping;
}

export interface DaySpec {
  /** Whole UTC days, inclusive. */
  fromDay: string;
  toDay: string;
  site?: string | undefined;
  includeBots: boolean;
  property: Property;
}

export interface SlotSpec {
  /** Slot numbers (epoch ms / SLOT_MS), [fromSlot, toSlot). */
  fromSlot: number;
  toSlot: number;
  site?: string | undefined;
  includeBots: boolean;
}

export interface SketchSpec {
  /** UTC days, inclusive. */
  fromDay: string;
  toDay: string;
  site?: string | undefined;
  dimension: SketchDimension;
  /** Only these values; all when omitted. */
  values?: readonly string[] | undefined;
}

/** One stored sketch (encoded, see hll.ts) of one UTC day and value, all sites matching merged or not. */
export interface SketchRow {
  day: string;
  value: string;
  registers: Uint8Array;
}

export interface StatsBackend {
  /** Raw events in range matching the filters, counted per group. */
  rawCounts(spec: RawSpec): Promise<CountRow[]>;
  /** Consenting sessions among the raw events in range matching the filters, per group. */
  sessions(spec: RawSpec): Promise<SessionRow[]>;
  /** The daily rollup, summed over whole UTC days, per value of a property. */
  dayCounts(spec: DaySpec): Promise<CountRow[]>;
  /** The 15-minute rollup, per slot. */
  slotCounts(spec: SlotSpec): Promise<CountRow[]>;
  /** Stored sketches. */
  sketches(spec: SketchSpec): Promise<SketchRow[]>;
}
