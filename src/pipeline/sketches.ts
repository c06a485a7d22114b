/**
 * Folds visitor marks into sparse HyperLogLog updates at batch time
 * (DESIGN §7): one register map per (UTC day, site, dimension, value), the
 * maximum rank per register. Marks never touch the events themselves.
 */
import type { SketchDimension, SketchUpdate } from '../aggregators/aggregator.js';
import type { PrivacyEvent } from '../event.js';
import { markIndex, markRank, sketchKeysOf } from '../stats/visitor-mark.js';

/** Marks below zero mean "no mark" (the event contributes no visitor). */
export const NO_MARK = -1;

type Registers = Map<number, number>;

/**
 * @example
 * const sketches = buildSketchUpdates(events, marks); // marks[i] belongs to events[i]
 */
export function buildSketchUpdates(events: readonly PrivacyEvent[], marks: readonly number[]): SketchUpdate[] {
  // day -> site -> dimension -> value -> registers; nested maps avoid building a key string per pair.
  const byDay = new Map<string, Map<string, Map<SketchDimension, Map<string, Registers>>>>();
  let lastDay = '';
  for (let i = 0; i < events.length; i++) {
    const mark = marks[i];
    if (mark === undefined || mark < 0) continue;
    const rank = markRank(mark);
    if (rank === 0) continue;
    const index = markIndex(mark);
    const event = events[i] as PrivacyEvent;
    if (lastDay.length !== 10 || !event.time.startsWith(lastDay)) lastDay = event.time.slice(0, 10);
    let bySite = byDay.get(lastDay);
    if (bySite === undefined) {
      bySite = new Map();
      byDay.set(lastDay, bySite);
    }
    let byDim = bySite.get(event.site);
    if (byDim === undefined) {
      byDim = new Map();
      bySite.set(event.site, byDim);
    }
    for (const [dimension, value] of sketchKeysOf(event)) {
      let byValue = byDim.get(dimension);
      if (byValue === undefined) {
        byValue = new Map();
        byDim.set(dimension, byValue);
      }
      let registers = byValue.get(value);
      if (registers === undefined) {
        registers = new Map();
        byValue.set(value, registers);
      }
      const prev = registers.get(index);
      if (prev === undefined || rank > prev) registers.set(index, rank);
    }
  }
  const out: SketchUpdate[] = [];
  for (const [day, bySite] of byDay) {
    for (const [site, byDim] of bySite) {
      for (const [dimension, byValue] of byDim) {
        for (const [value, registers] of byValue) {
          const pairs = [...registers.entries()].sort((a, b) => a[0] - b[0]);
          out.push({ day, site, dimension, value, registers: pairs });
        }
      }
    }
  }
  return out;
}
