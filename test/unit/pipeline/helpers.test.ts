import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { backoffDelay } from '../../../src/pipeline/backoff.js';
import { applyEnrichments, mergeEnrichment } from '../../../src/pipeline/enrichment.js';
import { buildSketchUpdates, NO_MARK, SKETCH_CHUNK_EVENTS } from '../../../src/pipeline/sketches.js';
import { markIndex, markRank, packMark, sketchKeysOf } from '../../../src/stats/visitor-mark.js';
import { eventOf } from './doubles.js';

const RETRY = { initialMs: 500, maxMs: 30_000, multiplier: 2, jitter: false };

describe('backoffDelay', () => {
  it('grows exponentially up to the ceiling', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8].map((a) => backoffDelay(a, RETRY))).toEqual([
      500, 1000, 2000, 4000, 8000, 16000, 30000, 30000,
    ]);
    expect(backoffDelay(10_000, RETRY)).toBe(30_000); // no overflow to Infinity/NaN
  });

  it('with jitter stays within [delay/2, delay] (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 60 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (attempt, r) => {
          const plain = backoffDelay(attempt, RETRY);
          const jittered = backoffDelay(attempt, { ...RETRY, jitter: true }, () => r);
          expect(jittered).toBeGreaterThanOrEqual(Math.floor(plain / 2));
          expect(jittered).toBeLessThanOrEqual(plain);
        },
      ),
    );
  });
});

describe('enrichment', () => {
  it('ignores malformed or oversize enrichment, never invalidating an event', () => {
    const e = eventOf(1);
    expect(mergeEnrichment(e, { isp: 'x'.repeat(10_000) })).toBe(e);
    expect(mergeEnrichment(e, { domain: 'evil\nexample.com' })).toBe(e); // control char: validation refuses the merge
    expect(mergeEnrichment(e, { asn: -5 })).toBe(e);
    expect(mergeEnrichment(e, null as never)).toBe(e);
    expect(mergeEnrichment(e, { domain: 'mts.ru' }).client.domain).toBe('mts.ru');
  });

  it('stops waiting when the cut signal fires, and leaves no listener behind', async () => {
    const cut = new AbortController();
    const attached: unknown[] = [];
    const add = cut.signal.addEventListener.bind(cut.signal);
    const remove = cut.signal.removeEventListener.bind(cut.signal);
    cut.signal.addEventListener = ((type: string, fn: never, o: never) => {
      attached.push(fn);
      add(type, fn, o);
    }) as typeof cut.signal.addEventListener;
    cut.signal.removeEventListener = ((type: string, fn: never) => {
      attached.splice(attached.indexOf(fn), 1);
      remove(type, fn);
    }) as typeof cut.signal.removeEventListener;

    // A batch whose enrichment resolves in time detaches its listener.
    await applyEnrichments([eventOf(1)], [Promise.resolve({ isp: 'MTS' })], 60_000, cut.signal);
    expect(attached).toHaveLength(0);

    const started = Date.now();
    const pending = applyEnrichments([eventOf(1)], [new Promise(() => undefined)], 60_000, cut.signal);
    setTimeout(() => cut.abort(), 10);
    const out = await pending;
    expect(Date.now() - started).toBeLessThan(5000);
    expect(out[0]?.client.isp).toBeUndefined();
  });
});

describe('buildSketchUpdates', () => {
  it('keys sketches by UTC day, site, dimension and value, max rank per register', () => {
    const a = eventOf(1, { time: '2026-11-24T23:59:59.999Z' });
    const b = eventOf(2, { time: '2026-11-25T00:00:00.000Z', site: 'other' });
    const c = eventOf(3, { client: { address: '203.0.113.0', prefixLength: 24, isp: 'MTS' } });
    const ups = buildSketchUpdates([a, b, c], [packMark(1, 4), packMark(1, 9), packMark(1, 2)]);
    const site = ups.filter((u) => u.dimension === 'site');
    expect(site.map((u) => [u.day, u.site, u.registers])).toEqual([
      ['2026-11-24', 'oblachko', [[1, 4]]],
      ['2026-11-25', 'other', [[1, 9]]],
    ]);
    expect(ups.find((u) => u.dimension === 'isp')).toMatchObject({ value: 'MTS', registers: [[1, 2]] });
    expect(ups.find((u) => u.dimension === 'page' && u.value === a.request.path)).toBeDefined();
  });

  it('ignores events without a mark', () => {
    expect(buildSketchUpdates([eventOf(1), eventOf(2)], [NO_MARK, NO_MARK])).toEqual([]);
  });

  it('counts no visitor for a value that is not a packed mark, and never lends it another event’s (property)', () => {
    const notAMark = fc.oneof(
      fc.constantFrom(2 ** 20, 2 ** 40, 2 ** 53, Number.MAX_VALUE, Number.POSITIVE_INFINITY, Number.NaN, -0.5),
      fc.double({ min: 0, max: 2 ** 20, noNaN: true }).filter((d) => !Number.isInteger(d)),
      fc.integer({ min: 2 ** 20, max: Number.MAX_SAFE_INTEGER }),
    );
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.boolean(), notAMark), { minLength: 1, maxLength: 40 }), (rows) => {
        // Valid marks on some events (register 7 of rank 3), garbage on the others: only the valid ones count.
        const events = rows.map((_, i) => eventOf(i));
        const marks = rows.map(([valid, bad]) => (valid ? packMark(7, 3) : bad));
        const site = buildSketchUpdates(events, marks).filter((u) => u.dimension === 'site');
        const pairs = site.flatMap((u) => u.registers.map((p) => [...p]));
        expect(pairs).toEqual(rows.some(([valid]) => valid) ? [[7, 3]] : []);
      }),
    );
  });

  it('keeps a full chunk of all-distinct keys apart (more than 2^17 keys: codes past 31 bits)', () => {
    // Each event its own site, so each of its nine keys is new: 9 × SKETCH_CHUNK_EVENTS keys in one chunk.
    const events = Array.from({ length: SKETCH_CHUNK_EVENTS }, (_, i) =>
      eventOf(i, {
        site: `s${i}`,
        request: { method: 'GET', path: `/p${i}` },
        referrer: { host: `r${i}.example`, type: 'external' },
        agent: { browser: `b${i}`, os: `o${i}`, device: 'desktop', bot: false },
        client: { address: '203.0.113.0', prefixLength: 24, isp: `i${i}`, domain: `d${i}.ru` },
        download: { file: `f${i}.pdf`, complete: true },
      }),
    );
    const marks = events.map((_, i) => packMark(i % 16_384, 1 + (i % 51)));
    const ups = buildSketchUpdates(events, marks);
    expect(ups.length).toBe(9 * SKETCH_CHUNK_EVENTS);
    expect(ups.length).toBeGreaterThan(2 ** 17);
    for (const u of ups) {
      const i = Number(u.site.slice(1));
      expect(u.registers).toEqual([[i % 16_384, 1 + (i % 51)]]);
    }
    const last = ups.filter((u) => u.site === `s${SKETCH_CHUNK_EVENTS - 1}`).map((u) => [u.dimension, u.value]);
    expect(last.sort()).toEqual(sketchKeysOf(events.at(-1)!).sort());
  });

  it('equals a per-register max over every key of every marked event (property)', () => {
    const event = fc
      .record({
        n: fc.nat(1000),
        day: fc.constantFrom('2026-11-23', '2026-11-24', '2026-11-25'),
        site: fc.constantFrom('a', 'b'),
        browser: fc.option(fc.constantFrom('Firefox', 'Chrome', 'Safari'), { nil: undefined }),
        isp: fc.option(fc.constantFrom('MTS', 'Rostelecom'), { nil: undefined }),
      })
      .map(({ n, day, site, browser, isp }) =>
        eventOf(n, {
          time: `${day}T10:00:00.000Z`,
          site,
          agent: { browser, os: 'Linux', device: 'desktop', bot: false },
          client: { address: '203.0.113.0', prefixLength: 24, isp },
        }),
      );
    const mark = fc.oneof(
      fc.constant(NO_MARK),
      // Few registers, so that marks often meet on one register.
      fc
        .record({ i: fc.oneof(fc.nat(7), fc.nat(16_383)), r: fc.integer({ min: 1, max: 51 }) })
        .map(({ i, r }) => packMark(i, r)),
    );
    fc.assert(
      fc.property(
        fc.array(fc.tuple(event, mark), { maxLength: 60 }),
        fc.integer({ min: 1, max: 70 }),
        (pairs, chunk) => {
          // The model: key -> register -> highest rank.
          const model = new Map<string, Map<number, number>>();
          for (const [e, m] of pairs) {
            if (m < 0) continue;
            for (const [dimension, value] of sketchKeysOf(e)) {
              const key = `${e.time.slice(0, 10)}|${e.site}|${dimension}|${value}`;
              const regs = model.get(key) ?? new Map<number, number>();
              regs.set(markIndex(m), Math.max(regs.get(markIndex(m)) ?? 0, markRank(m)));
              model.set(key, regs);
            }
          }
          const events = pairs.map(([e]) => e);
          const marks = pairs.map(([, m]) => m);
          const ups = buildSketchUpdates(events, marks);
          const got = new Map(ups.map((u) => [`${u.day}|${u.site}|${u.dimension}|${u.value}`, u.registers]));
          expect(got.size).toBe(ups.length); // one update per key
          expect([...got.keys()].sort()).toEqual([...model.keys()].sort());
          for (const [key, regs] of model) {
            const want = [...regs.entries()].sort((x, y) => x[0] - y[0]);
            expect(got.get(key)).toEqual(want);
          }
          // Built in chunks (a batch longer than SKETCH_CHUNK_EVENTS): a key may get one update per chunk,
          // each sorted, and their per-register maximum is the same.
          const chunked = new Map<string, Map<number, number>>();
          for (const u of buildSketchUpdates(events, marks, chunk)) {
            const indexes = u.registers.map(([i]) => i);
            expect(indexes).toEqual([...new Set(indexes)].sort((x, y) => x - y));
            const key = `${u.day}|${u.site}|${u.dimension}|${u.value}`;
            const regs = chunked.get(key) ?? new Map<number, number>();
            for (const [i, r] of u.registers) regs.set(i, Math.max(regs.get(i) ?? 0, r));
            chunked.set(key, regs);
          }
          expect(chunked).toEqual(model);
        },
      ),
    );
  });
});
