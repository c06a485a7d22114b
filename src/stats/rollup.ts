/**
 * Rollups: exact per-day and per-15-minute counts that outlive raw events.
 * Built in one place so SQLite and PostgreSQL keep identical totals. A store
 * applies the increments for the events a batch actually inserted (new ids
 * only), and the negative increments for the events `forget` erased.
 */
import { COLUMN_PROPERTIES, type EventRow, SLOT_MS, utcDay } from './event-columns.js';
import type { Property } from './query.js';

export interface Counts {
  events: number;
  pageviews: number;
  downloads: number;
}

/** One row of the daily per-dimension rollup. */
export interface DayRollup extends Counts {
  day: string;
  site: string;
  dimension: Property;
  value: string;
  bot: boolean;
}

/** One row of the 15-minute total rollup (for timeseries and aggregates in any time zone). */
export interface SlotRollup extends Counts {
  /** Epoch ms / SLOT_MS. */
  slot: number;
  site: string;
  bot: boolean;
}

export interface RollupIncrements {
  days: DayRollup[];
  slots: SlotRollup[];
}

function bump(c: Counts, row: EventRow, sign: number): void {
  c.events += sign;
  if (row.kind === 'pageview') c.pageviews += sign;
  if (row.kind === 'download') c.downloads += sign;
}

/**
 * Sum the rollup increments of some event rows (`sign` -1 to subtract).
 * The result is sorted by key so concurrent writers lock rows in one order.
 *
 * @example
 * const inc = rollupIncrements(insertedRows);
 * for (const d of inc.days) upsertDay.run(d);
 */
export function rollupIncrements(rows: Iterable<EventRow>, sign = 1): RollupIncrements {
  const days = new Map<string, DayRollup>();
  const slots = new Map<string, SlotRollup>();
  for (const row of rows) {
    const day = utcDay(row.ts);
    const bot = row.bot;
    for (const dim of COLUMN_PROPERTIES) {
      const value = row[dim];
      if (value === undefined) continue;
      const key = `${dim}\u0000${day}\u0000${row.site}\u0000${value}\u0000${bot ? 1 : 0}`;
      let d = days.get(key);
      if (d === undefined) {
        d = { day, site: row.site, dimension: dim, value, bot, events: 0, pageviews: 0, downloads: 0 };
        days.set(key, d);
      }
      bump(d, row, sign);
    }
    const slot = Math.floor(row.ts / SLOT_MS);
    const sk = `${slot}\u0000${row.site}\u0000${bot ? 1 : 0}`;
    let s = slots.get(sk);
    if (s === undefined) {
      s = { slot, site: row.site, bot, events: 0, pageviews: 0, downloads: 0 };
      slots.set(sk, s);
    }
    bump(s, row, sign);
  }
  const byKey = <T>(m: Map<string, T>) =>
    [...m.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map((e) => e[1]);
  return { days: byKey(days), slots: byKey(slots) };
}
