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
 * Rollup increments summed across any number of `add` calls, key by key — a
 * store can keep one between flushes instead of building a list per batch.
 *
 * @example
 * const acc = new RollupAccumulator();
 * acc.add(batchRows);
 * acc.add(moreRows);
 * for (const d of acc.result().days) upsertDay.run(d);
 */
export class RollupAccumulator {
  // One map per dimension keyed by value + a small (day, site, bot) group number: cheap keys on the write path.
  private readonly groups = new Map<string, number>();
  private readonly groupDays: string[] = [];
  private readonly days = COLUMN_PROPERTIES.map(() => new Map<string, DayRollup>());
  private readonly slots = new Map<string, SlotRollup>();

  /** Add the increments of some event rows (`sign` -1 to subtract). */
  add(rows: Iterable<EventRow>, sign = 1): void {
    const { groups, groupDays, days, slots } = this;
    let lastDayNum = Number.NaN;
    let lastDay = '';
    for (const row of rows) {
      const dayNum = Math.floor(row.ts / 86_400_000);
      if (dayNum !== lastDayNum) {
        lastDayNum = dayNum;
        lastDay = utcDay(row.ts);
      }
      const bot = row.bot;
      const gk = `${lastDay}\u0000${row.site}\u0000${bot ? 1 : 0}`;
      let g = groups.get(gk);
      if (g === undefined) {
        g = groupDays.length;
        groups.set(gk, g);
        groupDays.push(lastDay);
      }
      for (let k = 0; k < COLUMN_PROPERTIES.length; k++) {
        const dim = COLUMN_PROPERTIES[k]!;
        const value = row[dim];
        if (value === undefined) continue;
        const m = days[k]!;
        const key = `${g}\u0000${value}`;
        let d = m.get(key);
        if (d === undefined) {
          d = { day: lastDay, site: row.site, dimension: dim, value, bot, events: 0, pageviews: 0, downloads: 0 };
          m.set(key, d);
        }
        bump(d, row, sign);
      }
      const slot = Math.floor(row.ts / SLOT_MS);
      const sk = `${slot}\u0000${g}`;
      let s = slots.get(sk);
      if (s === undefined) {
        s = { slot, site: row.site, bot, events: 0, pageviews: 0, downloads: 0 };
        slots.set(sk, s);
      }
      bump(s, row, sign);
    }
  }

  /** The summed increments; with `sortKeys` sorted by key, so concurrent writers lock rows in one order. */
  result(sortKeys = false): RollupIncrements {
    const dayList = this.days.flatMap((m) => [...m.values()]);
    const slotList = [...this.slots.values()];
    if (!sortKeys) return { days: dayList, slots: slotList };
    const dayKey = (d: DayRollup) =>
      `${d.dimension}\u0000${d.day}\u0000${d.site}\u0000${d.value}\u0000${d.bot ? 1 : 0}`;
    const slotKey = (s: SlotRollup) => `${String(s.slot).padStart(12, '0')}\u0000${s.site}\u0000${s.bot ? 1 : 0}`;
    const sorted = <T>(list: T[], key: (t: T) => string) =>
      list
        .map((t) => [key(t), t] as const)
        .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
        .map((e) => e[1]);
    return { days: sorted(dayList, dayKey), slots: sorted(slotList, slotKey) };
  }
}

/**
 * Sum the rollup increments of some event rows (`sign` -1 to subtract).
 * With `sortKeys` the result is sorted by key, so concurrent writers lock rows in one order.
 *
 * @example
 * const inc = rollupIncrements(insertedRows);
 * for (const d of inc.days) upsertDay.run(d);
 */
export function rollupIncrements(rows: Iterable<EventRow>, sign = 1, sortKeys = false): RollupIncrements {
  const acc = new RollupAccumulator();
  acc.add(rows, sign);
  return acc.result(sortKeys);
}
