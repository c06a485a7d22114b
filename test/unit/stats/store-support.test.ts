/**
 * checkBatch: rows for every event, malformed sketch updates dropped, and the
 * key order PostgreSQL locks by unless the store says it needs none.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { SketchUpdate } from '../../../src/aggregators/aggregator.js';
import { checkBatch } from '../../../src/stats/store-support.js';
import { makeEvent } from '../../conformance/dataset.js';

const key = (u: SketchUpdate) => `${u.dimension}\u0000${u.day}\u0000${u.site}\u0000${u.value}`;
const updateArb: fc.Arbitrary<SketchUpdate> = fc.record({
  day: fc.constantFrom('2026-03-10', '2026-03-11', '2026-02-30', 'not a day'),
  site: fc.constantFrom('a', 'b'),
  dimension: fc.constantFrom('site', 'page', 'browser', 'nope') as fc.Arbitrary<SketchUpdate['dimension']>,
  value: fc.constantFrom('', '/x', 'Firefox'),
  registers: fc.constant([[1, 2]] as Array<[number, number]>),
});

describe('checkBatch', () => {
  it('keeps exactly the valid sketch updates: sorted by key by default, in input order with ordered: false (property)', () => {
    fc.assert(
      fc.property(fc.array(updateArb, { maxLength: 40 }), (updates) => {
        const events = [makeEvent({ time: '2026-03-10T10:00:00.000Z' })];
        const valid = updates.filter((u) => u.day.startsWith('2026-03-1') && (u.dimension as string) !== 'nope');
        const ordered = checkBatch('t', { events, sketches: updates });
        const unordered = checkBatch('t', { events, sketches: updates }, { ordered: false });
        expect(unordered.sketches).toEqual(valid);
        expect(ordered.sketches.map(key)).toEqual(valid.map(key).sort());
        expect([...ordered.sketches].sort((a, b) => (key(a) < key(b) ? -1 : 1))).toEqual(
          [...valid].sort((a, b) => (key(a) < key(b) ? -1 : 1)),
        );
        expect(ordered.rows.map((r) => r.id)).toEqual([events[0]!.id]);
      }),
      { numRuns: 200 },
    );
  });

  it('drops a bad day after a good one (the day check is memoised per distinct day)', () => {
    const u = (day: string): SketchUpdate => ({ day, site: 's', dimension: 'site', value: '', registers: [[0, 1]] });
    const out = checkBatch(
      't',
      { events: [], sketches: [u('2026-03-10'), u('2026-13-01'), u('2026-03-10')] },
      {
        ordered: false,
      },
    );
    expect(out.sketches.map((x) => x.day)).toEqual(['2026-03-10', '2026-03-10']);
  });
});
