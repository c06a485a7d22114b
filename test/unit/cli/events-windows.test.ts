/**
 * exportWindows, the cutting of `privacy-log events` output into windows of
 * time: whatever the blocks' spans (overlapping, nested, touching, apart),
 * the windows are non-empty, disjoint, oldest first, cover every span, and
 * cover no time that no span covers.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type BlockSpan, exportWindows } from '../../../src/cli/events.js';

const spans = fc
  .array(
    fc.record({
      lo: fc.integer({ min: 0, max: 60 }),
      len: fc.integer({ min: 1, max: 25 }),
      n: fc.integer({ min: 1, max: 9 }),
    }),
    { maxLength: 30 },
  )
  .map((xs) => xs.map(({ lo, len, n }) => ({ lo, hi: lo + len, n })).sort((a, b) => a.lo - b.lo));

const covered = (ws: readonly [number, number][], t: number) => ws.some(([a, b]) => a <= t && t < b);

describe('exportWindows', () => {
  it('covers exactly the time the spans cover, in disjoint windows, oldest first', () => {
    fc.assert(
      fc.property(spans, fc.integer({ min: 1, max: 40 }), (ss: BlockSpan[], chunk) => {
        const ws = [...exportWindows(ss, chunk)];
        for (const [a, b] of ws) expect(a).toBeLessThan(b);
        for (let i = 1; i < ws.length; i++) expect(ws[i]![0]).toBeGreaterThanOrEqual(ws[i - 1]![1]);
        for (let t = 0; t < 90; t++) expect(covered(ws, t)).toBe(ss.some((s) => s.lo <= t && t < s.hi));
        if (ss.length === 0) expect(ws).toEqual([]);
      }),
      { numRuns: 500 },
    );
  });

  it('across gaps: disjoint windows, oldest first, covering every span, starting and ending where spans do', () => {
    fc.assert(
      fc.property(spans, fc.integer({ min: 1, max: 40 }), (ss: BlockSpan[], chunk) => {
        const ws = [...exportWindows(ss, chunk, { acrossGaps: true })];
        for (const [a, b] of ws) expect(a).toBeLessThan(b);
        for (let i = 1; i < ws.length; i++) expect(ws[i]![0]).toBeGreaterThanOrEqual(ws[i - 1]![1]);
        for (const s of ss) for (let t = s.lo; t < s.hi; t++) expect(covered(ws, t)).toBe(true);
        for (const [a, b] of ws) {
          expect(ss.some((s) => s.lo === a)).toBe(true);
          expect(ss.some((s) => s.hi === b) || ss.some((s) => s.lo === b)).toBe(true);
        }
        expect(ws.length).toBeLessThanOrEqual(ss.length);
        if (ss.length === 0) expect(ws).toEqual([]);
      }),
      { numRuns: 500 },
    );
  });

  it('cuts a run of overlapping blocks where a block starts, once a window holds chunkEvents', () => {
    const run = [
      { lo: 0, hi: 50, n: 5 },
      { lo: 10, hi: 20, n: 5 },
      { lo: 30, hi: 40, n: 5 },
      { lo: 60, hi: 70, n: 5 },
    ];
    expect([...exportWindows(run, 10)]).toEqual([
      [0, 30],
      [30, 50],
      [60, 70],
    ]);
    expect([...exportWindows(run, 100)]).toEqual([
      [0, 50],
      [60, 70],
    ]);
    expect([...exportWindows(run, 100, { acrossGaps: true })]).toEqual([[0, 70]]);
    expect([...exportWindows(run, 10, { acrossGaps: true })]).toEqual([
      [0, 30],
      [30, 70],
    ]);
  });
});
