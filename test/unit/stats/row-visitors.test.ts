import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HLL_REGISTERS, HyperLogLog, unionEstimate, unionOf } from '../../../src/stats/hll.js';
import { estimateVisitors, RowVisitors } from '../../../src/stats/visitors.js';
import { prng } from '../../conformance/dataset.js';

/**
 * A sketch of any fill: from a handful of registers (linear counting) to
 * nearly all of them (the full estimator), ranks skewed low as hashing gives.
 */
const sketch = fc
  .record({ seed: fc.integer(), fill: fc.double({ min: 0, max: 1, noNaN: true }) })
  .map(({ seed, fill }) => {
    const rnd = prng(seed);
    const h = new HyperLogLog();
    const n = Math.floor(fill * fill * HLL_REGISTERS * 1.5);
    for (let i = 0; i < n; i++) h.add(Math.floor(rnd() * HLL_REGISTERS), 1 + Math.floor(-Math.log2(1 - rnd() * 0.999)));
    return h;
  });

describe('visitor estimates of many rows under the same filters', () => {
  it('unionEstimate(a, b) is unionOf([a, b]).estimate(), bit for bit', () => {
    fc.assert(
      fc.property(sketch, sketch, (a, b) => {
        expect(unionEstimate(a, b)).toBe(unionOf([a, b]).estimate());
        expect(unionEstimate(b, a)).toBe(unionOf([a, b]).estimate());
      }),
      { numRuns: 60 },
    );
  });

  it('RowVisitors gives what estimateVisitors gives for every row, with 0-2 positive and 0-2 negative filters', () => {
    fc.assert(
      fc.property(
        fc.array(sketch, { maxLength: 2 }),
        fc.array(sketch, { maxLength: 2 }),
        fc.array(sketch, { minLength: 1, maxLength: 3 }),
        fc.nat({ max: 200_000 }),
        (pos, neg, rows, cap) => {
          const visitors = new RowVisitors(pos, neg);
          for (const row of rows) expect(visitors.estimate(row, cap)).toBe(estimateVisitors([row, ...pos], neg, cap));
        },
      ),
      { numRuns: 40 },
    );
  });
});
