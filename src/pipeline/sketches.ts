/**
 * Folds visitor marks into sparse HyperLogLog updates at batch time
 * (DESIGN §7): one register map per (UTC day, site, dimension, value), the
 * maximum rank per register. Marks never touch the events themselves.
 */
import { SKETCH_DIMENSIONS, type SketchDimension, type SketchUpdate } from '../aggregators/aggregator.js';
import type { PrivacyEvent } from '../event.js';
import { eachSketchKey, isPackedMark, MARKS_PER_INDEX, markIndex, markRank } from '../stats/visitor-mark.js';

/** Marks below zero mean "no mark" (the event contributes no visitor). */
export const NO_MARK = -1;

/**
 * What a key received, in arrival order, repeats included: for each event,
 * its entry — its packed mark (index × 64 + rank, see visitor-mark.ts;
 * < MARK_LIMIT) times the batch's `slots` plus the event's position in it. Appending is cheaper
 * than a map update per key; sorting once at the end puts each register's
 * highest rank last, and the position finds the event's one pair object.
 */
type Entries = number[];
/** One (day, site): per dimension slot, value → entries (created on first use). */
type BySlot = Array<Map<string, Entries> | undefined>;

/** The current event's entry, handed to `note` for each of its keys (one object per batch, not per key). */
interface Cursor {
  bySlot: BySlot;
  /** mark × slots + the event's position. */
  entry: number;
}

function note(_dimension: SketchDimension, value: string, c: Cursor, slot: number): void {
  let byValue = c.bySlot[slot];
  if (byValue === undefined) {
    byValue = new Map();
    c.bySlot[slot] = byValue;
  }
  const entries = byValue.get(value);
  if (entries === undefined) byValue.set(value, [c.entry]);
  else entries.push(c.entry);
}

type Pair = readonly [number, number];

/** One sort buffer for every key of every batch (a key never holds more entries than its batch has events). */
let sortBuffer = new Float64Array(1024);

/**
 * The batch's pairs, one per marked event, made when first needed and shared
 * by every key the event went to (an event reaches ~8 keys; pairs are
 * read-only): one allocation per event instead of one per key.
 */
class BatchPairs {
  private readonly pairs: Array<Pair | undefined>;
  constructor(
    private readonly marks: readonly number[],
    readonly slots: number,
  ) {
    this.pairs = new Array(marks.length);
  }

  of(entry: number): Pair {
    const i = entry % this.slots;
    let p = this.pairs[i];
    if (p === undefined) {
      const m = this.marks[i] as number;
      p = [markIndex(m), markRank(m)];
      this.pairs[i] = p;
    }
    return p;
  }
}

/** Sorted register pairs, the highest rank per register. */
function registerPairs(entries: Entries, batch: BatchPairs): Pair[] {
  const n = entries.length;
  if (n === 1) return [batch.of(entries[0] as number)];
  if (sortBuffer.length < n) sortBuffer = new Float64Array(Math.max(n, sortBuffer.length * 2));
  for (let i = 0; i < n; i++) sortBuffer[i] = entries[i] as number;
  // Entries are non-negative integers below 2^53: a typed sort, numeric, no comparator calls.
  const sorted = sortBuffer.subarray(0, n).sort();
  // An entry's register index: floor(floor(entry / slots) / MARKS_PER_INDEX), in one division.
  const perIndex = batch.slots * MARKS_PER_INDEX;
  const pairs: Pair[] = [];
  let run = Math.floor((sorted[0] as number) / perIndex);
  for (let i = 1; i < n; i++) {
    const index = Math.floor((sorted[i] as number) / perIndex);
    // Within one index, entries sort by rank: keep the last of a run.
    if (index !== run) {
      pairs.push(batch.of(sorted[i - 1] as number));
      run = index;
    }
  }
  pairs.push(batch.of(sorted[n - 1] as number));
  return pairs;
}

/**
 * @example
 * const sketches = buildSketchUpdates(events, marks); // marks[i] belongs to events[i]
 */
export function buildSketchUpdates(events: readonly PrivacyEvent[], marks: readonly number[]): SketchUpdate[] {
  // day -> site -> dimension slot -> value -> entries; nested maps avoid building a key string per pair.
  const byDay = new Map<string, Map<string, BySlot>>();
  const cursor: Cursor = { bySlot: [], entry: 0 };
  // Positions are below a power of two at least the batch's length: entry = mark × slots + position.
  const slots = 2 ** Math.ceil(Math.log2(events.length + 1));
  let lastDay = '';
  let lastSite: string | undefined;
  let bySite: Map<string, BySlot> | undefined;
  for (let i = 0; i < events.length; i++) {
    const mark = marks[i];
    // Anything but a packed mark is no visitor, never a wrong one (entries pack the mark with the position).
    if (!isPackedMark(mark)) continue;
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
    cursor.entry = mark * slots + i;
    eachSketchKey(event, note, cursor);
  }
  const out: SketchUpdate[] = [];
  const batch = new BatchPairs(marks, slots);
  for (const [day, sites] of byDay) {
    for (const [site, bySlot] of sites) {
      for (let slot = 0; slot < bySlot.length; slot++) {
        const byValue = bySlot[slot];
        if (byValue === undefined) continue;
        const dimension = SKETCH_DIMENSIONS[slot] as SketchDimension;
        for (const [value, list] of byValue)
          out.push({ day, site, dimension, value, registers: registerPairs(list, batch) });
      }
    }
  }
  return out;
}
