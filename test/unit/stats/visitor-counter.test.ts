import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { SketchRow, SketchSpec, StatsBackend } from '../../../src/stats/backend.js';
import { HLL_MAX_RANK, HLL_REGISTERS, HyperLogLog } from '../../../src/stats/hll.js';
import { VisitorCounter } from '../../../src/stats/visitors.js';

/** A backend that only serves sketches, from a fixed list (the rest is never called here). */
function sketchBackend(rows: SketchRow[]): StatsBackend {
  const never = () => Promise.reject(new Error('not used'));
  return {
    rawCounts: never,
    sessions: never,
    dayCounts: never,
    slotCounts: never,
    async sketches(spec: SketchSpec) {
      return rows.filter(
        (r) =>
          r.day >= spec.fromDay && r.day <= spec.toDay && (spec.values === undefined || spec.values.includes(r.value)),
      );
    },
  };
}

const pairArb = fc.tuple(fc.integer({ min: 0, max: HLL_REGISTERS - 1 }), fc.integer({ min: 1, max: HLL_MAX_RANK }));
const blobArb = fc.oneof(
  fc.array(pairArb, { maxLength: 200 }).map((pairs) => {
    const h = new HyperLogLog();
    h.addPairs(pairs);
    return h.encode();
  }),
  // Dense blobs too: many registers set.
  fc.integer({ min: 1, max: 1 << 30 }).map((seed) => {
    const h = new HyperLogLog();
    let x = seed;
    for (let i = 0; i < 9000; i++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      h.add(x % HLL_REGISTERS, 1 + (x >>> 27));
    }
    return h.encode();
  }),
);
const rowArb = fc.record({
  day: fc.constantFrom('2026-03-01', '2026-03-02', '2026-03-03', '2026-03-04'),
  value: fc.constantFrom('/a', '/b', '/c'),
  registers: blobArb,
});

describe('VisitorCounter.estimate', () => {
  it('gives exactly the estimate of the merged sketch, whatever was estimated before with the shared scratch', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(rowArb, { maxLength: 12 }), async (rows) => {
        const vc = new VisitorCounter(sketchBackend(rows), '2026-03-02', '2026-03-04', undefined);
        const fresh = new VisitorCounter(sketchBackend(rows), '2026-03-02', '2026-03-04', undefined);
        await vc.load('page');
        await fresh.load('page');
        for (const value of ['/a', '/b', '/c', '/a', '/none']) {
          const key = { dimension: 'page' as const, value };
          expect(vc.estimate(key)).toBe(fresh.sketch(key).estimate());
        }
      }),
      { numRuns: 60 },
    );
  });

  it('counts only the days of its range', async () => {
    const h = new HyperLogLog();
    h.addPairs([
      [1, 1],
      [2, 1],
    ]);
    const outside = new HyperLogLog();
    outside.addPairs([[3, 1]]);
    const vc = new VisitorCounter(
      sketchBackend([
        { day: '2026-03-02', value: '/a', registers: h.encode() },
        { day: '2026-03-09', value: '/a', registers: outside.encode() },
      ]),
      '2026-03-01',
      '2026-03-05',
      undefined,
    );
    await vc.load('page');
    expect(Math.round(vc.estimate({ dimension: 'page', value: '/a' }))).toBe(2);
  });
});

describe('HyperLogLog.clear', () => {
  it('empties the sketch so it estimates and merges like a new one', () => {
    const h = new HyperLogLog();
    h.addPairs([
      [5, 3],
      [9, 1],
    ]);
    h.clear();
    expect(h.isEmpty()).toBe(true);
    expect(h.estimate()).toBe(0);
    h.addPairs([[7, 2]]);
    expect(Math.round(h.estimate())).toBe(1);
    expect([...h.registers.keys()].filter((i) => h.registers[i] !== 0)).toEqual([7]);
  });
});
