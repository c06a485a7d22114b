/**
 * The aggregator conformance suite (DESIGN §9): one set of checks every
 * aggregator must pass — batch write, idempotency, forget, salt, close — and,
 * for StatsSources, the same stats as the in-memory reference for the same
 * events. Run it against your own aggregator:
 *
 * @example
 * // test/conformance/my-store.test.ts
 * import { describeAggregatorConformance } from './aggregator-conformance.js';
 * describeAggregatorConformance('my-store', async () => {
 *   const aggregator = myAggregator({ ... });
 *   return { aggregator, cleanup: async () => { ... } };
 * });
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Aggregator, isStatsSource } from '../../src/aggregators/aggregator.js';
import { memoryAggregator } from '../../src/aggregators/memory-aggregator.js';
import { isPrivacyLogError } from '../../src/errors.js';
import type { StatsQuery, StatsResult, StatsSource } from '../../src/stats/query.js';
import { BASE_DAY, batchOf, type Dataset, datasetArbitrary, makeEvent, sketchUpdatesFor } from './dataset.js';

export interface ConformanceSubject {
  aggregator: Aggregator;
  /** Release what the subject holds (temp files, schemas). close() has been called or attempted before. */
  cleanup?: () => Promise<void>;
}

export interface ConformanceOptions {
  /** fast-check runs of the identical-stats property (each makes a fresh subject). Default 20. */
  numRuns?: number;
}

/** The queries compared between a store and the reference: every query type, period and property, several zones and filters. */
export const CONFORMANCE_QUERIES: readonly StatsQuery[] = [
  {
    type: 'aggregate',
    period: '7d',
    date: BASE_DAY,
    metrics: ['visitors', 'pageviews', 'downloads', 'events', 'sessions', 'bounce_rate', 'visit_duration'],
  },
  { type: 'aggregate', period: '30d', date: BASE_DAY, metrics: ['visitors', 'events'], timeZone: 'Asia/Kolkata' },
  { type: 'aggregate', period: 'day', date: BASE_DAY, metrics: ['pageviews', 'visitors'], includeBots: true },
  {
    type: 'aggregate',
    period: '30d',
    date: BASE_DAY,
    metrics: ['visitors', 'pageviews', 'sessions'],
    filters: [{ property: 'page', op: '==', value: '/news' }],
  },
  {
    type: 'aggregate',
    period: 'custom',
    from: '2026-03-02',
    to: '2026-03-09',
    metrics: ['visitors', 'pageviews', 'bounce_rate'],
    filters: [
      { property: 'browser', op: '!=', value: 'Firefox' },
      { property: 'kind', op: '==', value: 'pageview' },
    ],
    site: 'oblachko',
  },
  { type: 'timeseries', period: '7d', date: BASE_DAY, metrics: ['visitors', 'pageviews', 'sessions'] },
  { type: 'timeseries', period: '7d', date: BASE_DAY, metrics: ['pageviews'], timeZone: 'Europe/Moscow' },
  { type: 'timeseries', period: 'day', date: '2026-03-08', metrics: ['pageviews', 'events'], timeZone: 'Asia/Kolkata' },
  { type: 'timeseries', period: '12mo', date: BASE_DAY, metrics: ['visitors', 'downloads'] },
  {
    type: 'timeseries',
    period: 'month',
    date: BASE_DAY,
    metrics: ['pageviews', 'visit_duration'],
    filters: [{ property: 'os', op: '==', value: 'Android' }],
  },
  ...(['page', 'referrer', 'browser', 'os', 'device', 'isp', 'domain', 'download'] as const).flatMap(
    (property): StatsQuery[] => [
      {
        type: 'breakdown',
        period: '30d',
        date: BASE_DAY,
        property,
        metrics: ['visitors', 'pageviews', 'events'],
        k: 2,
      },
      {
        type: 'breakdown',
        period: '7d',
        date: BASE_DAY,
        property,
        metrics: ['pageviews', 'visitors', 'sessions', 'bounce_rate', 'visit_duration'],
        timeZone: 'Europe/Moscow',
      },
    ],
  ),
  { type: 'breakdown', period: '30d', date: BASE_DAY, property: 'kind', metrics: ['events', 'pageviews'], k: 1 },
  {
    type: 'breakdown',
    period: '30d',
    date: BASE_DAY,
    property: 'page',
    metrics: ['visitors', 'pageviews'],
    k: 1,
    limit: 2,
    filters: [{ property: 'browser', op: '==', value: 'Chrome' }],
  },
  {
    type: 'breakdown',
    period: '30d',
    date: BASE_DAY,
    property: 'browser',
    metrics: ['events'],
    k: 1,
    filters: [{ property: 'browser', op: '!=', value: 'Safari' }],
  },
];

async function answers(source: StatsSource, queries: readonly StatsQuery[]): Promise<StatsResult[]> {
  const out: StatsResult[] = [];
  for (const q of queries) out.push(await source.query(q));
  return out;
}

async function withSubject<T>(make: () => Promise<ConformanceSubject>, fn: (s: ConformanceSubject) => Promise<T>) {
  const s = await make();
  try {
    return await fn(s);
  } finally {
    await s.aggregator.close?.().catch(() => undefined);
    await s.cleanup?.();
  }
}

function totalEvents(source: StatsSource): Promise<number> {
  return source
    .query({
      type: 'aggregate',
      period: 'custom',
      from: '2026-01-01',
      to: '2026-12-31',
      metrics: ['events'],
      includeBots: true,
    })
    .then((r) => r.results[0]?.events ?? 0);
}

const SMALL: Dataset = (() => {
  const events = [
    makeEvent({ time: '2026-03-09T10:00:00.000Z', path: '/', browser: 'Firefox', os: 'Linux', session: 'sess-a' }),
    makeEvent({ time: '2026-03-09T10:05:00.000Z', path: '/news', browser: 'Firefox', os: 'Linux', session: 'sess-a' }),
    makeEvent({ time: '2026-03-09T11:00:00.000Z', path: '/', browser: 'Chrome', os: 'Windows' }),
    makeEvent({
      time: '2026-03-10T09:00:00.000Z',
      kind: 'download',
      path: '/f/menu.pdf',
      file: 'menu.pdf',
      browser: 'Chrome',
    }),
    makeEvent({ time: '2026-03-10T09:30:00.000Z', path: '/contacts', browser: 'Safari', os: 'iOS', session: 'sess-b' }),
  ];
  return { events, visitors: ['a', 'a', 'b', 'b', 'c'] };
})();

/**
 * Registers the conformance tests for one aggregator. `make` returns a fresh,
 * empty subject each time it is called.
 */
export function describeAggregatorConformance(
  name: string,
  make: () => Promise<ConformanceSubject>,
  options: ConformanceOptions = {},
): void {
  const numRuns = options.numRuns ?? 20;

  describe(`aggregator conformance: ${name}`, () => {
    it('has a name and the write() of the contract', async () => {
      await withSubject(make, async ({ aggregator }) => {
        expect(typeof aggregator.name).toBe('string');
        expect(aggregator.name.length).toBeGreaterThan(0);
        expect(typeof aggregator.write).toBe('function');
      });
    });

    it('stores a batch, and an empty batch is fine', async () => {
      await withSubject(make, async ({ aggregator }) => {
        await aggregator.write({ events: [], sketches: [] });
        await aggregator.write(batchOf(SMALL));
        if (isStatsSource(aggregator)) expect(await totalEvents(aggregator)).toBe(SMALL.events.length);
      });
    });

    it('is idempotent: the same batch twice, or overlapping batches, store each event once', async () => {
      await withSubject(make, async ({ aggregator }) => {
        const b = batchOf(SMALL);
        await aggregator.write(b);
        await aggregator.write(b);
        await aggregator.write(batchOf(SMALL, 1, 4));
        if (!isStatsSource(aggregator)) return;
        expect(await totalEvents(aggregator)).toBe(SMALL.events.length);
        const ref = memoryAggregator();
        await ref.write(b);
        expect(await answers(aggregator, CONFORMANCE_QUERIES)).toEqual(await answers(ref, CONFORMANCE_QUERIES));
      });
    });

    it('rejects a batch holding an invalid event, not retryable, storing nothing of it', async () => {
      await withSubject(make, async ({ aggregator }) => {
        const bad = { ...SMALL.events[0]!, agent: undefined } as never;
        const err = await aggregator.write({ events: [SMALL.events[1]!, bad], sketches: [] }).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(isPrivacyLogError(err)).toBe(true);
        expect((err as { retryable: boolean }).retryable).toBe(false);
        if (isStatsSource(aggregator)) expect(await totalEvents(aggregator)).toBe(0);
      });
    });

    it('forgets a session: erases its events and only those, and reports how many', async () => {
      await withSubject(make, async ({ aggregator }) => {
        if (!aggregator.forget) return;
        await aggregator.write(batchOf(SMALL));
        expect(await aggregator.forget('sess-a')).toBe(2);
        expect(await aggregator.forget('sess-a')).toBe(0);
        expect(await aggregator.forget('no-such-session')).toBe(0);
        if (!isStatsSource(aggregator)) return;
        expect(await totalEvents(aggregator)).toBe(SMALL.events.length - 2);
        const ref = memoryAggregator();
        await ref.write(batchOf(SMALL));
        await ref.forget('sess-a');
        expect(await answers(aggregator, CONFORMANCE_QUERIES)).toEqual(await answers(ref, CONFORMANCE_QUERIES));
      });
    });

    it('shares a day salt: the first writer wins, later candidates get it', async () => {
      await withSubject(make, async ({ aggregator }) => {
        if (!aggregator.salt) return;
        expect(await aggregator.salt('2026-03-10', 'first-salt-0001')).toBe('first-salt-0001');
        expect(await aggregator.salt('2026-03-10', 'second-salt-002')).toBe('first-salt-0001');
        expect(await aggregator.salt('2026-03-11', 'next-day-salt-1')).toBe('next-day-salt-1');
        // The salt of two days before is gone once a later day is asked for: a new candidate wins.
        expect(await aggregator.salt('2026-03-09', 'late-candidate')).toBe('late-candidate');
        await aggregator.salt('2026-03-12', 'day-12-salt-000');
        expect(await aggregator.salt('2026-03-10', 'replacement-salt')).toBe('replacement-salt');
      });
    });

    it('closes idempotently, and refuses writes after close', async () => {
      await withSubject(make, async ({ aggregator }) => {
        await aggregator.write(batchOf(SMALL));
        await aggregator.close?.();
        await aggregator.close?.();
        if (!aggregator.close) return;
        const err = await aggregator.write(batchOf(SMALL)).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(isPrivacyLogError(err)).toBe(true);
        expect((err as { retryable: boolean }).retryable).toBe(false);
      });
    });

    it('merges sketches by max whatever the batch order, so visitors match the reference', async () => {
      await withSubject(make, async ({ aggregator }) => {
        if (!isStatsSource(aggregator)) return;
        const events = Array.from({ length: 60 }, (_, i) =>
          makeEvent({ time: `2026-03-10T0${i % 10}:1${i % 6}:00.000Z`, path: i % 2 ? '/a' : '/b' }),
        );
        const visitors = events.map((_, i) => `v${i % 37}`);
        const ref = memoryAggregator();
        await ref.write({ events, sketches: sketchUpdatesFor(events, visitors) });
        // Reversed, in three batches, the middle one twice.
        const parts = [events.slice(40), events.slice(20, 40), events.slice(0, 20)];
        const vis = [visitors.slice(40), visitors.slice(20, 40), visitors.slice(0, 20)];
        for (const i of [0, 1, 1, 2])
          await aggregator.write({ events: parts[i]!, sketches: sketchUpdatesFor(parts[i]!, vis[i]!) });
        const q: StatsQuery = { type: 'aggregate', period: 'day', date: BASE_DAY, metrics: ['visitors', 'pageviews'] };
        const got = await aggregator.query(q);
        expect(got).toEqual(await ref.query(q));
        // 37 distinct visitors; a register collision may cost one at this size.
        expect(Math.abs(got.results[0]!.visitors! - 37)).toBeLessThanOrEqual(1);
      });
    });

    it('gives the same stats as the in-memory reference for generated events', async () => {
      const probe = await make();
      const stats = isStatsSource(probe.aggregator);
      await probe.aggregator.close?.();
      await probe.cleanup?.();
      if (!stats) return;
      let nonEmptyRows = 0;
      await fc.assert(
        fc.asyncProperty(datasetArbitrary(250), fc.integer({ min: 1, max: 3 }), async (d, parts) => {
          await withSubject(make, async ({ aggregator }) => {
            const ref = memoryAggregator();
            await ref.write(batchOf(d));
            const size = Math.ceil(d.events.length / parts);
            for (let i = 0; i < d.events.length; i += size) {
              await aggregator.write(batchOf(d, i, i + size));
            }
            await aggregator.write(batchOf(d, 0, size)); // a replayed batch
            const source = aggregator as unknown as StatsSource;
            const expected = await answers(ref, CONFORMANCE_QUERIES);
            expect(await answers(source, CONFORMANCE_QUERIES)).toEqual(expected);
            for (const r of expected) {
              if (r.type === 'breakdown') nonEmptyRows += r.results.filter((row) => (row.visitors ?? 0) > 0).length;
            }
          });
        }),
        { numRuns },
      );
      // The generated data must exercise the comparison: breakdown rows with visitors, not only suppressed ones.
      expect(nonEmptyRows).toBeGreaterThan(0);
    }, 240_000);
  });
}
