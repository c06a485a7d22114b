/**
 * Folds visitor marks into sparse HyperLogLog updates at batch time
 * (DESIGN §7): one register map per (UTC day, site, dimension, value), the
 * maximum rank per register. Marks never touch the events themselves.
 */
import { SKETCH_DIMENSIONS, type SketchDimension, type SketchUpdate } from '../aggregators/aggregator.js';
import type { PrivacyEvent } from '../event.js';
import { eachSketchKey, markIndex, markRank } from '../stats/visitor-mark.js';

/** Marks below zero mean "no mark" (the event contributes no visitor). */
export const NO_MARK = -1;

/** Position of each dimension in SKETCH_DIMENSIONS: a (day, site) keeps one value map per dimension, in an array. */
const DIMENSION_SLOT = Object.fromEntries(SKETCH_DIMENSIONS.map((d, i) => [d, i])) as Record<SketchDimension, number>;

/**
 * The packed marks (index × 64 + rank, see visitor-mark.ts; < 2^20) a key
 * received, in arrival order, repeats included: appending is cheaper than a
 * map update per key, and sorting once at the end puts each register's
 * highest rank last.
 */
type Marks = number[];
/** One (day, site): per dimension slot, value → marks (created on first use). */
type BySlot = Array<Map<string, Marks> | undefined>;

/** The current event's mark, handed to `note` for each of its keys (one object per batch, not per key). */
interface Cursor {
  bySlot: BySlot;
  mark: number;
}

function note(dimension: SketchDimension, value: string, c: Cursor): void {
  const slot = DIMENSION_SLOT[dimension];
  let byValue = c.bySlot[slot];
  if (byValue === undefined) {
    byValue = new Map();
    c.bySlot[slot] = byValue;
  }
  const marks = byValue.get(value);
  if (marks === undefined) byValue.set(value, [c.mark]);
  else marks.push(c.mark);
}

/** One sort buffer for every key of every batch (a key never holds more marks than its batch has events). */
let sortBuffer = new Int32Array(1024);

/** Sorted register pairs, the highest rank per register. */
function registerPairs(marks: Marks): Array<[number, number]> {
  const n = marks.length;
  if (n === 1) return [[markIndex(marks[0] as number), markRank(marks[0] as number)]];
  if (sortBuffer.length < n) sortBuffer = new Int32Array(Math.max(n, sortBuffer.length * 2));
  for (let i = 0; i < n; i++) sortBuffer[i] = marks[i] as number;
  // Marks are small non-negative integers: a typed sort, numeric, no comparator calls.
  const sorted = sortBuffer.subarray(0, n).sort();
  const pairs: Array<[number, number]> = [];
  for (let i = 0; i < n; i++) {
    const m = sorted[i] as number;
    const index = markIndex(m);
    // Within one index, marks sort by rank: keep the last of a run.
    if (i + 1 < n && markIndex(sorted[i + 1] as number) === index) continue;
    pairs.push([index, markRank(m)]);
  }
  return pairs;
}

/**
 * @example
 * const sketches = buildSketchUpdates(events, marks); // marks[i] belongs to events[i]
 */
export function buildSketchUpdates(events: readonly PrivacyEvent[], marks: readonly number[]): SketchUpdate[] {
  // day -> site -> dimension slot -> value -> marks; nested maps avoid building a key string per pair.
  const byDay = new Map<string, Map<string, BySlot>>();
  const cursor: Cursor = { bySlot: [], mark: 0 };
  let lastDay = '';
  let lastSite: string | undefined;
  let bySite: Map<string, BySlot> | undefined;
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
      let bySlot = bySite.get(lastSite);
      if (bySlot === undefined) {
        bySlot = new Array(SKETCH_DIMENSIONS.length).fill(undefined);
        bySite.set(lastSite, bySlot);
      }
      cursor.bySlot = bySlot;
    }
    cursor.mark = mark;
    eachSketchKey(event, note, cursor);
  }
  const out: SketchUpdate[] = [];
  for (const [day, sites] of byDay) {
    for (const [site, bySlot] of sites) {
      for (let slot = 0; slot < bySlot.length; slot++) {
        const byValue = bySlot[slot];
        if (byValue === undefined) continue;
        const dimension = SKETCH_DIMENSIONS[slot] as SketchDimension;
        for (const [value, list] of byValue) out.push({ day, site, dimension, value, registers: registerPairs(list) });
      }
    }
  }
  return out;
}
