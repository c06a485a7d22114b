import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SessionSums } from '../../src/aggregators/sqlite/block-store.js';
import { decodeQueryBlock, encodeBlock } from '../../src/aggregators/sqlite/event-block.js';
import type { PrivacyEvent } from '../../src/event.js';
import { DAY_MS, eventRow } from '../../src/stats/event-columns.js';
import { makeEvent } from '../conformance/dataset.js';

/** Events of a few sessions over three days, two sites, bots and not, some without a session. */
const events = fc
  .array(
    fc.record({
      session: fc.option(fc.integer({ min: 0, max: 4 }), { nil: undefined }),
      ms: fc.integer({ min: 0, max: 3 * DAY_MS - 1 }),
      site: fc.constantFrom('oblachko', 'solnyshko'),
      bot: fc.boolean(),
      download: fc.boolean(),
    }),
    { minLength: 1, maxLength: 60 },
  )
  .map((specs) =>
    specs.map((s) =>
      makeEvent({
        time: new Date(Date.parse('2026-03-09T00:00:00.000Z') + s.ms).toISOString(),
        site: s.site,
        bot: s.bot,
        file: s.download ? 'menu.pdf' : undefined,
        session: s.session === undefined ? undefined : `s${s.session}`,
      }),
    ),
  );

/** The reference: one row per (session, UTC day, site, bot) by a joined key, straight from the events. */
function reference(list: readonly PrivacyEvent[], from: number, to: number) {
  const out = new Map<string, { first: number; last: number; pageviews: number }>();
  for (const e of list) {
    if (e.session === undefined) continue;
    const t = Date.parse(e.time);
    if (t < from || t >= to) continue;
    const key = `${e.session.id}|${Math.floor(t / DAY_MS)}|${e.site}|${e.agent.bot ? 1 : 0}`;
    const d = out.get(key) ?? { first: t, last: t, pageviews: 0 };
    d.first = Math.min(d.first, t);
    d.last = Math.max(d.last, t);
    if (e.kind === 'pageview') d.pageviews++;
    out.set(key, d);
  }
  return out;
}

describe('SessionSums', () => {
  it('sums each (session, day, site, bot) once across blocks, as a joined-key reference does', () => {
    fc.assert(
      fc.property(events, fc.nat(), fc.integer({ min: 0, max: 3 * DAY_MS }), (list, cut, edge) => {
        // Two blocks (a session's rows meet across them) and a time window cutting the days.
        const at = 1 + (cut % list.length);
        const blocks = [list.slice(0, at), list.slice(at)].filter((b) => b.length > 0);
        const from = Date.parse('2026-03-09T00:00:00.000Z') + Math.floor(edge / 2);
        const to = from + DAY_MS + edge;
        const sums = new SessionSums();
        for (const b of blocks) {
          const enc = encodeBlock(b.map(eventRow), b);
          sums.add(decodeQueryBlock(enc.cols, enc.dict, enc.sessions), from, to);
        }
        const want = reference(list, from, to);
        const got = new Map(
          sums
            .values()
            .map((d) => [
              `${d.sessionId}|${d.day}|${d.site}|${d.bot}`,
              { first: d.first, last: d.last, pageviews: d.pageviews },
            ]),
        );
        expect(got).toEqual(want);
        expect(sums.size).toBe(want.size);
      }),
    );
  });
});
