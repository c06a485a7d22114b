/**
 * Rollups: exact per-day and per-15-minute counts that outlive raw events.
 * Built in one place so SQLite and PostgreSQL keep identical totals. A store
 * applies the increments for the events a batch actually inserted (new ids
 * only), and the negative increments for the events `forget` erased.
 */
import { COLUMN_PROPERTIES, DAY_MS, type EventRow, SLOT_MS, utcDay } from './event-columns.js';
import type { Property } from './query.js';
import { sortedByKey } from './store-support.js';

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

/** One (day, site, bot) group of an accumulator: {@link RollupAccumulator.groupFor}. */
export interface RollupGroup {
  day: string;
  site: string;
  bot: boolean;
  dims: Array<Map<string, DayRollup>>;
  slots: Map<number, SlotRollup>;
}

/** A group's row for a property value (`column` indexes COLUMN_PROPERTIES), made at zero when first asked for. */
function dayOf(g: RollupGroup, column: number, value: string): DayRollup {
  const m = g.dims[column]!;
  let d = m.get(value);
  if (d === undefined) {
    const dimension = COLUMN_PROPERTIES[column]!;
    d = { day: g.day, site: g.site, dimension, value, bot: g.bot, events: 0, pageviews: 0, downloads: 0 };
    m.set(value, d);
  }
  return d;
}

/** A group's row for a 15-minute slot, made at zero when first asked for. */
function slotOf(g: RollupGroup, slot: number): SlotRollup {
  let x = g.slots.get(slot);
  if (x === undefined) {
    x = { slot, site: g.site, bot: g.bot, events: 0, pageviews: 0, downloads: 0 };
    g.slots.set(slot, x);
  }
  return x;
}

function addCounts(into: Counts, c: Counts): void {
  into.events += c.events;
  into.pageviews += c.pageviews;
  into.downloads += c.downloads;
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
  // Per (day, site, bot) group: one map per dimension keyed by value, and the slots — no key strings per row.
  private readonly groupIndex = new Map<string, RollupGroup>();
  private readonly groups: RollupGroup[] = [];

  /** Add the increments of some event rows (`sign` -1 to subtract). */
  add(rows: Iterable<EventRow>, sign = 1): void {
    let lastDayNum = Number.NaN;
    let lastDay = '';
    let g: RollupGroup | undefined;
    for (const row of rows) {
      const dayNum = Math.floor(row.ts / DAY_MS);
      const bot = row.bot;
      // Rows of a batch mostly share day, site and bot: look the group up only when one changes.
      if (g === undefined || dayNum !== lastDayNum || row.site !== g.site || bot !== g.bot) {
        if (dayNum !== lastDayNum) {
          lastDayNum = dayNum;
          lastDay = utcDay(row.ts);
        }
        g = this.groupFor(lastDay, row.site, bot);
      }
      for (let k = 0; k < COLUMN_PROPERTIES.length; k++) {
        const value = row[COLUMN_PROPERTIES[k]!];
        if (value !== undefined) bump(dayOf(g, k, value), row, sign);
      }
      bump(slotOf(g, Math.floor(row.ts / SLOT_MS)), row, sign);
    }
  }

  /** The group of (day, site, bot), made when first asked for. */
  groupFor(day: string, site: string, bot: boolean): RollupGroup {
    const gk = `${day}\u0000${site}\u0000${bot ? 1 : 0}`;
    let g = this.groupIndex.get(gk);
    if (g === undefined) {
      g = { day, site, bot, dims: COLUMN_PROPERTIES.map(() => new Map()), slots: new Map() };
      this.groupIndex.set(gk, g);
      this.groups.push(g);
    }
    return g;
  }

  /**
   * Add counts already summed elsewhere (a store counting dictionary codes)
   * to a group: `column` indexes COLUMN_PROPERTIES.
   */
  addDay(g: RollupGroup, column: number, value: string, c: Counts): void {
    addCounts(dayOf(g, column, value), c);
  }

  /** Add summed counts of a 15-minute slot of the group's day. */
  addSlot(g: RollupGroup, slot: number, c: Counts): void {
    addCounts(slotOf(g, slot), c);
  }

  /** The summed increments; with `sortKeys` sorted by key, so concurrent writers lock rows in one order. */
  result(sortKeys = false): RollupIncrements {
    const dayList: DayRollup[] = [];
    for (let k = 0; k < COLUMN_PROPERTIES.length; k++)
      for (const g of this.groups) for (const d of g.dims[k]!.values()) dayList.push(d);
    const slotList = this.groups.flatMap((g) => [...g.slots.values()]);
    if (!sortKeys) return { days: dayList, slots: slotList };
    const dayKey = (d: DayRollup) =>
      `${d.dimension}\u0000${d.day}\u0000${d.site}\u0000${d.value}\u0000${d.bot ? 1 : 0}`;
    const slotKey = (s: SlotRollup) => `${String(s.slot).padStart(12, '0')}\u0000${s.site}\u0000${s.bot ? 1 : 0}`;
    return { days: sortedByKey(dayList, dayKey), slots: sortedByKey(slotList, slotKey) };
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
