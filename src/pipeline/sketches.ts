/**
 * Folds visitor marks into sparse HyperLogLog updates at batch time
 * (DESIGN §7): one register map per (UTC day, site, dimension, value), the
 * maximum rank per register. Marks never touch the events themselves.
 */
import type { SketchDimension, SketchUpdate } from '../aggregators/aggregator.js';
import type { PrivacyEvent } from '../event.js';
import { eachSketchKey, markIndex, markRank } from '../stats/visitor-mark.js';

/** Marks below zero mean "no mark" (the event contributes no visitor). */
export const NO_MARK = -1;

/**
 * The packed marks (index × 64 + rank, see visitor-mark.ts) a key received, in
 * arrival order, repeats included: appending is cheaper than a map update per
 * key, and sorting once at the end puts each register's highest rank last.
 */
type Marks = number[];
/** dimension → value → marks, for one (day, site). */
type ByDimension = Map<SketchDimension, Map<string, Marks>>;

/** The current event's mark, handed to `note` for each of its keys (one object per batch, not per key). */
interface Cursor {
  byDim: ByDimension;
  mark: number;
}

function note(dimension: SketchDimension, value: string, c: Cursor): void {
  let byValue = c.byDim.get(dimension);
  if (byValue === undefined) {
    byValue = new Map();
    c.byDim.set(dimension, byValue);
  }
  const marks = byValue.get(value);
  if (marks === undefined) byValue.set(value, [c.mark]);
  else marks.push(c.mark);
}

/** Sorted register pairs, the highest rank per register. */
function registerPairs(marks: Marks): Array<[number, number]> {
  if (marks.length === 1) return [[markIndex(marks[0] as number), markRank(marks[0] as number)]];
  const sorted = Float64Array.from(marks).sort();
  const pairs: Array<[number, number]> = [];
  for (let i = 0; i < sorted.length; i++) {
    const m = sorted[i] as number;
    const index = markIndex(m);
    // Within one index, marks sort by rank: keep the last of a run.
    if (i + 1 < sorted.length && markIndex(sorted[i + 1] as number) === index) continue;
    pairs.push([index, markRank(m)]);
  }
  return pairs;
}

/**
 * @example
 * const sketches = buildSketchUpdates(events, marks); // marks[i] belongs to events[i]
 */
export function buildSketchUpdates(events: readonly PrivacyEvent[], marks: readonly number[]): SketchUpdate[] {
  // day -> site -> dimension -> value -> marks; nested maps avoid building a key string per pair.
  const byDay = new Map<string, Map<string, ByDimension>>();
  const cursor: Cursor = { byDim: new Map(), mark: 0 };
  let lastDay = '';
  let lastSite: string | undefined;
  let bySite: Map<string, ByDimension> | undefined;
  for (let i = 0; i < events.length; i++) {
    const mark = marks[i];
    if (mark === undefined || mark < 0 || markRank(mark) === 0) continue;
    const event = events[i] as PrivacyEvent;
    if (bySite === undefined || lastDay.length !== 10 || !event.time.startsWith(lastDay)) {
      lastDay = event.time.slice(0, 10);
      bySite = byDay.get(lastDay);
      if (bySite === undefined) {
        bySite = new Map();
        byDay.set(lastDay, bySite);
      }
      lastSite = undefined;
    }
    if (event.site !== lastSite) {
      lastSite = event.site;
      let byDim = bySite.get(lastSite);
      if (byDim === undefined) {
        byDim = new Map();
        bySite.set(lastSite, byDim);
      }
      cursor.byDim = byDim;
    }
    cursor.mark = mark;
    eachSketchKey(event, note, cursor);
  }
  const out: SketchUpdate[] = [];
  for (const [day, sites] of byDay) {
    for (const [site, byDim] of sites) {
      for (const [dimension, byValue] of byDim) {
        for (const [value, list] of byValue) out.push({ day, site, dimension, value, registers: registerPairs(list) });
      }
    }
  }
  return out;
}
