import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { addBlockRollups } from '../../src/aggregators/sqlite/block-rollups.js';
import { decodeQueryBlock, encodeBlock } from '../../src/aggregators/sqlite/event-block.js';
import { eventRow } from '../../src/stats/event-columns.js';
import { RollupAccumulator, type RollupIncrements } from '../../src/stats/rollup.js';
import { makeEvent } from '../conformance/dataset.js';
import { eventArb } from '../helpers/event-arbitrary.js';

const sorted = (r: RollupIncrements) => ({
  days: [...r.days].sort((a, b) =>
    `${a.dimension}|${a.day}|${a.site}|${a.value}|${a.bot}`.localeCompare(
      `${b.dimension}|${b.day}|${b.site}|${b.value}|${b.bot}`,
    ),
  ),
  slots: [...r.slots].sort((a, b) => a.slot - b.slot || `${a.site}|${a.bot}`.localeCompare(`${b.site}|${b.bot}`)),
});

describe('addBlockRollups (rollup increments counted on a block’s dictionary codes)', () => {
  it('gives exactly the increments RollupAccumulator.add gives for the same rows, over several blocks (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(eventArb, { minLength: 1, maxLength: 30 }), { minLength: 1, maxLength: 4 }),
        (blocks) => {
          const byRows = new RollupAccumulator();
          const byCodes = new RollupAccumulator();
          for (const events of blocks) {
            const rows = events.map(eventRow);
            byRows.add(rows);
            const enc = encodeBlock(rows, events);
            addBlockRollups(byCodes, decodeQueryBlock(enc.cols, enc.dict));
          }
          expect(sorted(byCodes.result())).toEqual(sorted(byRows.result()));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('counts pageviews and downloads per value and per slot, across days, sites and bots in one block', () => {
    const events = [
      makeEvent({ time: '2026-03-10T23:59:00.000Z', path: '/a', browser: 'Firefox' }),
      makeEvent({ time: '2026-03-11T00:01:00.000Z', path: '/a', browser: 'Firefox' }),
      makeEvent({ time: '2026-03-11T00:02:00.000Z', site: 'b', bot: true, file: 'menu.pdf', path: '/menu.pdf' }),
      makeEvent({ time: '2026-03-10T23:58:00.000Z', path: '/b' }),
    ];
    const acc = new RollupAccumulator();
    const enc = encodeBlock(events.map(eventRow), events);
    addBlockRollups(acc, decodeQueryBlock(enc.cols, enc.dict));
    const { days, slots } = acc.result();
    const page = days.filter((d) => d.dimension === 'page').map((d) => [d.day, d.site, d.value, d.bot, d.pageviews]);
    expect(page.sort()).toEqual([
      ['2026-03-10', 'oblachko', '/a', false, 1],
      ['2026-03-10', 'oblachko', '/b', false, 1],
      ['2026-03-11', 'oblachko', '/a', false, 1],
    ]);
    expect(days.filter((d) => d.dimension === 'download')).toEqual([
      expect.objectContaining({
        day: '2026-03-11',
        site: 'b',
        value: 'menu.pdf',
        bot: true,
        events: 1,
        downloads: 1,
        pageviews: 0,
      }),
    ]);
    expect(slots.map((x) => [x.site, x.bot, x.events, x.pageviews, x.downloads]).sort()).toEqual([
      ['b', true, 1, 0, 1],
      ['oblachko', false, 1, 1, 0],
      ['oblachko', false, 2, 2, 0],
    ]);
  });
});
