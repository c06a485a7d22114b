import { describe, expect, it } from 'vitest';
import type { QueryBlock } from '../../src/aggregators/sqlite/event-block.js';
import type { BlockAccumulator } from '../../src/aggregators/sqlite/event-block-query.js';
import { sharedScans } from '../../src/aggregators/sqlite/shared-scan.js';

/**
 * Test double of the block store's `blockSpans`: blocks are numbers standing in
 * for decoded blocks (the scheduler never looks inside them), a negative one
 * is damaged. It counts the passes, which a real store cannot report.
 */
function blocksDouble(list: readonly number[]) {
  const passes: Array<{ from: number; to: number; withSessions: boolean }> = [];
  return {
    passes,
    *blockSpans(from: number, to: number, withSessions: boolean) {
      passes.push({ from, to, withSessions });
      for (const b of list) {
        if (Math.abs(b) < from || Math.abs(b) >= to) continue;
        yield {
          tsMin: Math.abs(b),
          tsMax: Math.abs(b),
          decode: (): QueryBlock => {
            if (b < 0) throw new Error(`block ${b} is damaged`);
            return b as unknown as QueryBlock;
          },
        };
      }
    },
  };
}

/** An accumulator that lists the blocks it was given. */
const collect = (): BlockAccumulator<number> => {
  const seen: number[] = [];
  return { add: (b) => void seen.push(b as unknown as number), result: () => seen };
};

describe('shared raw scans', () => {
  it('scans asked for together over one range share one pass; another range gets its own', async () => {
    const blocks = blocksDouble([1, 2, 3, 4]);
    const scan = sharedScans(blocks);
    const results = await Promise.all([
      scan({ from: 1, to: 4 }, collect(), false),
      scan({ from: 1, to: 4 }, collect(), true),
      scan({ from: 3, to: 5 }, collect(), false),
    ]);
    expect(results).toEqual([
      [1, 2, 3],
      [1, 2, 3],
      [3, 4],
    ]);
    // One pass per range; a pass decodes with sessions when any of its scans needs them.
    expect(blocks.passes).toEqual([
      { from: 1, to: 4, withSessions: true },
      { from: 3, to: 5, withSessions: false },
    ]);
    // Asked for later (another turn of the microtask queue): a pass of its own.
    await scan({ from: 1, to: 4 }, collect(), false);
    expect(blocks.passes).toHaveLength(3);
  });

  it('a damaged block fails the scans that read it, and only those', async () => {
    const blocks = blocksDouble([1, -2, 3]);
    const scan = sharedScans(blocks);
    const [early, all, late] = await Promise.allSettled([
      scan({ from: 1, to: 2 }, collect(), false),
      scan({ from: 1, to: 4 }, collect(), false),
      scan({ from: 3, to: 4 }, collect(), false),
    ]);
    expect(early).toEqual({ status: 'fulfilled', value: [1] });
    expect(all).toMatchObject({ status: 'rejected', reason: { message: 'block -2 is damaged' } });
    expect(late).toEqual({ status: 'fulfilled', value: [3] });
  });

  it('an accumulator that throws fails its own scan; the others of the pass still answer', async () => {
    const blocks = blocksDouble([1, 2]);
    const scan = sharedScans(blocks);
    const broken: BlockAccumulator<number> = {
      add: () => {
        throw new Error('accumulator failed');
      },
      result: () => [],
    };
    const [bad, good] = await Promise.allSettled([
      scan({ from: 1, to: 3 }, broken, false),
      scan({ from: 1, to: 3 }, collect(), false),
    ]);
    expect(bad).toMatchObject({ status: 'rejected', reason: { message: 'accumulator failed' } });
    expect(good).toEqual({ status: 'fulfilled', value: [1, 2] });
    expect(blocks.passes).toHaveLength(1);
  });
});
