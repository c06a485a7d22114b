/**
 * Folds visitor marks into sparse HyperLogLog updates at batch time
 * (DESIGN §7): one register map per (UTC day, site, dimension, value), the
 * maximum rank per register. Marks never touch the events themselves.
 */
import type { SketchUpdate } from '../aggregators/aggregator.js';
import type { PrivacyEvent } from '../event.js';
import { markIndex, markRank, sketchKeysOf } from '../stats/visitor-mark.js';

/** Marks below zero mean "no mark" (the event contributes no visitor). */
export const NO_MARK = -1;

const SEP = '\u0000';

/**
 * @example
 * const sketches = buildSketchUpdates(events, marks); // marks[i] belongs to events[i]
 */
export function buildSketchUpdates(events: readonly PrivacyEvent[], marks: readonly number[]): SketchUpdate[] {
  const maps = new Map<string, { update: SketchUpdate; registers: Map<number, number> }>();
  for (let i = 0; i < events.length; i++) {
    const mark = marks[i];
    if (mark === undefined || mark < 0) continue;
    const event = events[i] as PrivacyEvent;
    const index = markIndex(mark);
    const rank = markRank(mark);
    if (rank === 0) continue;
    const day = event.time.slice(0, 10);
    for (const [dimension, value] of sketchKeysOf(event)) {
      const key = day + SEP + event.site + SEP + dimension + SEP + value;
      let entry = maps.get(key);
      if (entry === undefined) {
        entry = { update: { day, site: event.site, dimension, value, registers: [] }, registers: new Map() };
        maps.set(key, entry);
      }
      const prev = entry.registers.get(index);
      if (prev === undefined || rank > prev) entry.registers.set(index, rank);
    }
  }
  const out: SketchUpdate[] = [];
  for (const { update, registers } of maps.values()) {
    const pairs = [...registers.entries()].sort((a, b) => a[0] - b[0]);
    out.push({ ...update, registers: pairs });
  }
  return out;
}
