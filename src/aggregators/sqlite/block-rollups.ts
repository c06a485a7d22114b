/**
 * Rollup increments of a block, counted on its dictionary codes: per event a
 * few typed-array increments per column instead of a string-keyed map lookup
 * per property (the block's dictionary already made each value a small
 * integer). The sums then go to the accumulator once per distinct value.
 * Exactly what `RollupAccumulator.add(rows)` gives for the block's rows.
 */
import { COLUMN_PROPERTIES, DAY_MS, SLOT_MS, utcDay } from '../../stats/event-columns.js';
import type { Counts, RollupAccumulator } from '../../stats/rollup.js';
import type { QueryBlock } from './event-block.js';

const COLUMNS = COLUMN_PROPERTIES.length;

/** Counts of one (day, site, bot) group of a block: per column × code, events/pageviews/downloads. */
interface GroupCounts {
  dayNum: number;
  site: number;
  bot: number;
  events: Int32Array;
  pageviews: Int32Array;
  downloads: Int32Array;
  /** Slot → counts. */
  slots: Map<number, Counts>;
}

/** Count arrays reused from block to block (zeroed after use): one set per group of a block. */
const pool: Array<Pick<GroupCounts, 'events' | 'pageviews' | 'downloads'>> = [];

function counters(k: number, size: number): Pick<GroupCounts, 'events' | 'pageviews' | 'downloads'> {
  let c = pool[k];
  if (c === undefined || c.events.length < size) {
    const grown = Math.max(size, 2 * (c?.events.length ?? 0));
    c = { events: new Int32Array(grown), pageviews: new Int32Array(grown), downloads: new Int32Array(grown) };
    pool[k] = c;
  }
  return c;
}

/**
 * Add a block's rollup increments to `acc`.
 *
 * @example
 * const acc = new RollupAccumulator();
 * addBlockRollups(acc, decodeQueryBlock(block.cols, block.dict));
 */
export function addBlockRollups(acc: RollupAccumulator, q: QueryBlock): void {
  const n = q.n;
  const width = q.dictSize + 1;
  const columns = COLUMN_PROPERTIES.map((p) => q.code(p));
  const siteCodes = q.code('site');
  const kinds = q.code('kind');
  const pageview = q.codeOf('pageview');
  const download = q.codeOf('download');
  const ts = q.ts;
  const bots = q.bot;
  const groups: GroupCounts[] = [];
  try {
    let g: GroupCounts | undefined;
    for (let i = 0; i < n; i++) {
      const t = ts[i]!;
      const dayNum = Math.floor(t / DAY_MS);
      const site = siteCodes[i]!;
      const bot = bots[i]!;
      if (g === undefined || g.dayNum !== dayNum || g.site !== site || g.bot !== bot) {
        g = undefined;
        for (const x of groups)
          if (x.dayNum === dayNum && x.site === site && x.bot === bot) {
            g = x;
            break;
          }
        if (g === undefined) {
          g = { dayNum, site, bot, ...counters(groups.length, COLUMNS * width), slots: new Map() };
          groups.push(g);
        }
      }
      const kind = kinds[i];
      const isPageview = kind === pageview;
      const isDownload = kind === download;
      for (let c = 0; c < COLUMNS; c++) {
        const code = columns[c]![i]!;
        if (code === 0) continue;
        const at = c * width + code;
        g.events[at]!++;
        if (isPageview) g.pageviews[at]!++;
        else if (isDownload) g.downloads[at]!++;
      }
      const slot = Math.floor(t / SLOT_MS);
      let s = g.slots.get(slot);
      if (s === undefined) {
        s = { events: 0, pageviews: 0, downloads: 0 };
        g.slots.set(slot, s);
      }
      s.events++;
      if (isPageview) s.pageviews++;
      else if (isDownload) s.downloads++;
    }
    const counts: Counts = { events: 0, pageviews: 0, downloads: 0 };
    for (const x of groups) {
      const group = acc.groupFor(utcDay(x.dayNum * DAY_MS), q.entry(x.site), x.bot === 1);
      for (let c = 0; c < COLUMNS; c++)
        for (let code = 1; code < width; code++) {
          const at = c * width + code;
          const events = x.events[at]!;
          if (events === 0) continue;
          counts.events = events;
          counts.pageviews = x.pageviews[at]!;
          counts.downloads = x.downloads[at]!;
          acc.addDay(group, c, q.entry(code), counts);
        }
      for (const [slot, c] of x.slots) acc.addSlot(group, slot, c);
    }
  } finally {
    // The pooled counters go back zeroed, whatever happened.
    for (const x of groups) {
      x.events.fill(0, 0, COLUMNS * width);
      x.pageviews.fill(0, 0, COLUMNS * width);
      x.downloads.fill(0, 0, COLUMNS * width);
    }
  }
}
