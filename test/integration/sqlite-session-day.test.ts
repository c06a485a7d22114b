import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FOLD_EVERY_BATCHES, sqliteAggregator } from '../../src/aggregators/sqlite/sqlite-aggregator.js';
import { sessionDaySql } from '../../src/aggregators/sqlite/sqlite-backend.js';
import type { StatsQuery } from '../../src/stats/query.js';
import { makeEvent, sketchUpdatesFor } from '../conformance/dataset.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'privacy-log-session-day-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const DAY = '2026-03-10';
const SESSION_METRICS = ['sessions', 'bounce_rate', 'visit_duration'] as const;
/** Queries session_day answers (no filters, whole UTC days, not grouped by a property). */
const FAST: StatsQuery[] = [
  { type: 'aggregate', period: '7d', date: DAY, metrics: [...SESSION_METRICS] },
  { type: 'aggregate', period: '7d', date: DAY, metrics: [...SESSION_METRICS], includeBots: true },
  { type: 'aggregate', period: 'custom', from: '2026-03-06', to: '2026-03-08', metrics: [...SESSION_METRICS] },
  { type: 'aggregate', period: '30d', date: DAY, metrics: [...SESSION_METRICS], site: 'oblachko' },
  { type: 'timeseries', period: '7d', date: DAY, metrics: [...SESSION_METRICS] },
  { type: 'timeseries', period: 'day', date: '2026-03-08', metrics: [...SESSION_METRICS], includeBots: true },
];
/** The same query answered from the raw events: a filter every event matches takes the raw path. */
const viaRaw = (q: StatsQuery): StatsQuery => ({
  ...q,
  filters: [{ property: 'kind', op: '!=', value: 'no-such-kind' }],
});

type EventSpecArb = {
  minute: number;
  session: string | undefined;
  site: string;
  bot: boolean;
  download: boolean;
  path: string;
};
const eventArb: fc.Arbitrary<EventSpecArb> = fc.record({
  minute: fc.integer({ min: 0, max: 5 * 24 * 60 - 1 }),
  session: fc.option(fc.constantFrom('s1', 's2', 's3', 's4', 's5', 's6'), { nil: undefined }),
  site: fc.constantFrom('oblachko', 'other'),
  bot: fc.boolean(),
  download: fc.boolean(),
  path: fc.constantFrom('/', '/a', '/b'),
});

function toEvent(e: EventSpecArb, i: number) {
  const t = new Date(Date.parse('2026-03-06T00:00:00.000Z') + e.minute * 60_000 + i);
  return makeEvent({
    time: t.toISOString(),
    session: e.session,
    site: e.site,
    bot: e.bot && i % 3 === 0,
    path: e.path,
    ...(e.download ? { kind: 'download' as const, file: `${e.path}f.zip` } : {}),
  });
}

describe('sqliteAggregator: session_day (session metrics without a sort of the raw rows)', () => {
  it('answers exactly what the raw events answer, after folds, replays, forget and retention cut mid-day', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(eventArb, { minLength: 1, maxLength: 60 }),
        fc.integer({ min: 1, max: 3 }),
        fc.option(fc.constantFrom('s1', 's2', 's3'), { nil: undefined }),
        fc.option(fc.integer({ min: 0, max: 4 * 24 * 60 }), { nil: undefined }),
        async (specs, parts, forgotten, retentionMinute) => {
          const file = join(dir, `p-${Math.random().toString(36).slice(2)}.db`);
          const store = sqliteAggregator({ file, retentionDays: 2, retentionIntervalMs: 3_600_000 });
          try {
            const events = specs.map(toEvent);
            const visitors = events.map((_, i) => `v${i % 7}`);
            const size = Math.ceil(events.length / parts);
            for (let i = 0; i < events.length; i += size) {
              const slice = events.slice(i, i + size);
              await store.write({ events: slice, sketches: sketchUpdatesFor(slice, visitors.slice(i, i + size)) });
              // A query folds; a replay of the same batch adds nothing.
              if (i === 0) await store.query(FAST[0]!);
              await store.write({ events: slice, sketches: [] });
            }
            if (forgotten !== undefined) await store.forget(forgotten);
            if (retentionMinute !== undefined)
              // retentionDays 2: the cutoff falls inside the data, at any minute of a day.
              await store.runRetention(Date.parse('2026-03-08T00:00:00.000Z') + retentionMinute * 60_000);
            for (const q of FAST) expect(await store.query(q)).toEqual(await store.query(viaRaw(q)));
          } finally {
            await store.close();
          }
        },
      ),
      { numRuns: 25 },
    );
  });

  it('sums sessions in short transactions before a scheduled fold, each journal row once', async () => {
    const file = join(dir, 'scheduled.db');
    const store = sqliteAggregator({ file, retentionIntervalMs: 3_600_000 });
    try {
      // Two scheduled folds and a remainder folded by the query.
      const batches = FOLD_EVERY_BATCHES * 2 + 30;
      for (let b = 0; b < batches; b++) {
        const events = Array.from({ length: 4 }, (_, i) =>
          makeEvent({
            time: new Date(Date.parse('2026-03-06T00:00:00.000Z') + (b * 4 + i) * 97_000).toISOString(),
            session: `s${(b * 7 + i) % 23}`,
            path: `/p${i}`,
          }),
        );
        await store.write({ events, sketches: [] });
        // Replays are journaled as nothing new.
        if (b % 50 === 0) await store.write({ events, sketches: [] });
        await new Promise((r) => setImmediate(r));
      }
      await new Promise((r) => setTimeout(r, 50));
      const db = new Database(file, { readonly: true });
      try {
        for (const q of FAST) expect(await store.query(q)).toEqual(await store.query(viaRaw(q)));
        expect(db.prepare('SELECT count(*) FROM pending').pluck().get()).toBe(0);
        expect(db.prepare('SELECT count(*) FROM session_folded').pluck().get()).toBe(0);
        expect(db.prepare('SELECT sum(pageviews) FROM session_day').pluck().get()).toBe(batches * 4);
      } finally {
        db.close();
      }
    } finally {
      await store.close();
    }
  });

  it('a scheduled fold takes only the journal as it was when scheduled; batches written during its steps wait, counted exactly', async () => {
    const file = join(dir, 'frozen.db');
    // No retention pass while it runs (its first comes a second after opening, and folds everything).
    const store = sqliteAggregator({ file, retentionDays: 36_500, retentionIntervalMs: 3_600_000 });
    const db = new Database(file, { readonly: true });
    // The event block each journal row names (journal row ids are used again once the journal empties; blocks' are not).
    const pendingBlocks = () =>
      db.prepare("SELECT payload ->> '$.b' FROM pending ORDER BY id").pluck().all() as number[];
    const batchAt = (b: number) => ({
      events: Array.from({ length: 3 }, (_, i) =>
        makeEvent({
          time: new Date(Date.parse('2026-03-06T00:00:00.000Z') + (b * 3 + i) * 61_000).toISOString(),
          session: `s${(b + i) % 17}`,
          path: `/p${i}`,
        }),
      ),
      sketches: [],
    });
    try {
      // The last batch of a fold interval schedules a fold of the journal as it is then: the rows of blocks up
      // to its own.
      const n = FOLD_EVERY_BATCHES;
      for (let b = 0; b < n; b++) {
        await store.write(batchAt(b));
        await new Promise((r) => setImmediate(r));
      }
      const upTo = Math.max(...pendingBlocks());
      expect(pendingBlocks()).toHaveLength(n);
      // More batches at once, before the fold's first step: they commit while its steps run (a turn between each).
      await Promise.all(Array.from({ length: 30 }, (_, i) => store.write(batchAt(n + i))));
      const deadline = Date.now() + 5_000;
      while (pendingBlocks().some((b) => b <= upTo) && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 2));
      // Folded: every row up to the freeze. Left for the next fold: every row written after it.
      const left = pendingBlocks();
      expect(left.length).toBe(30);
      expect(left.every((b) => b > upTo)).toBe(true);
      // A read folds the rest; everything is counted once.
      for (const q of FAST) expect(await store.query(q)).toEqual(await store.query(viaRaw(q)));
      const total = await store.query({ type: 'aggregate', period: '30d', date: DAY, metrics: ['pageviews'] });
      expect(total.results).toEqual([{ pageviews: (n + 30) * 3 }]);
      expect(pendingBlocks()).toEqual([]);
      expect(db.prepare('SELECT sum(pageviews) FROM session_day').pluck().get()).toBe((n + 30) * 3);
    } finally {
      db.close();
      await store.close();
    }
  });

  it('is used only where it is exact: no filters, whole UTC days, no property grouping', () => {
    const base = { from: Date.parse('2026-03-01T00:00:00.000Z'), to: Date.parse('2026-03-08T00:00:00.000Z') };
    const spec = { ...base, filters: [], includeBots: false, group: { by: 'none' as const } };
    expect(sessionDaySql(spec)?.sql).toContain('FROM session_day');
    expect(sessionDaySql(spec)?.params).toEqual([base.from / 86_400_000, base.to / 86_400_000]);
    expect(sessionDaySql({ ...spec, site: "x' OR 1=1 --" })?.params).toContain("x' OR 1=1 --");
    expect(sessionDaySql({ ...spec, site: "x' OR 1=1 --" })?.sql).not.toContain('OR 1=1');
    expect(sessionDaySql({ ...spec, from: base.from + 3_600_000 })).toBeUndefined();
    expect(sessionDaySql({ ...spec, filters: [{ property: 'page', op: '==', value: '/' }] })).toBeUndefined();
    expect(sessionDaySql({ ...spec, group: { by: 'property', property: 'page' } })).toBeUndefined();
    expect(sessionDaySql({ ...spec, group: { by: 'slot' } })?.sql).toContain('GROUP BY 1');
    // In key order the day terms keep off the day index; otherwise they use it.
    expect(sessionDaySql(spec, true)?.sql).toContain('+day >= ?');
    expect(sessionDaySql(spec, false)?.sql).not.toContain('+day');
  });
});
