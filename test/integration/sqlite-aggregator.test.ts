import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SQLITE_MIGRATIONS } from '../../src/aggregators/sqlite/migrations.js';
import { decodeBundle } from '../../src/aggregators/sqlite/sketch-bundle.js';
import {
  DEFAULT_SQLITE_FILE,
  FOLD_EVERY_BATCHES,
  sqliteAggregator,
} from '../../src/aggregators/sqlite/sqlite-aggregator.js';
import { isPrivacyLogError, type PrivacyLogError } from '../../src/errors.js';
import { mergePairsIntoBlob } from '../../src/stats/hll.js';
import { makeEvent, sketchUpdatesFor } from '../conformance/dataset.js';

/** The events here are dated months back: keep them from the first retention pass, one second after opening. */
const KEEP_DAYS = 36_500;

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'privacy-log-sqlite-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function startupError(fn: () => unknown): PrivacyLogError {
  try {
    fn();
  } catch (e) {
    if (isPrivacyLogError(e)) return e;
    throw e;
  }
  throw new Error('expected the factory to throw');
}

describe('sqliteAggregator: opening the store', () => {
  it('defaults to ./data/privacy-log.db, creates the directory, uses WAL and migrates', async () => {
    expect(DEFAULT_SQLITE_FILE).toBe('./data/privacy-log.db');
    const file = join(dir, 'nested', 'deeper', 'stats.db');
    const a = sqliteAggregator({ retentionDays: KEEP_DAYS, file });
    expect(a.file).toBe(file);
    await a.close();
    const db = new Database(file, { readonly: true });
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('user_version', { simple: true })).toBe(SQLITE_MIGRATIONS.length);
    db.close();
    // Re-opening a migrated file is a no-op.
    await sqliteAggregator({ file }).close();
  });

  it('refuses a corrupt file with STORE_UNAVAILABLE, the cause, and what to do', () => {
    const file = join(dir, 'corrupt.db');
    writeFileSync(file, Buffer.alloc(8192, 0x5a));
    const e = startupError(() => sqliteAggregator({ file }));
    expect(e.code).toBe('PRIVACY_LOG_E_STORE_UNAVAILABLE');
    expect(e.message).toContain('not a valid SQLite database');
    expect(e.message).toContain('move it aside');
    expect(e.cause).toBeInstanceOf(Error);
  });

  it('refuses a file locked by another process (after busyTimeoutMs)', async () => {
    const file = join(dir, 'locked.db');
    await sqliteAggregator({ file }).close();
    const other = new Database(file);
    other.exec('BEGIN EXCLUSIVE');
    try {
      const e = startupError(() => sqliteAggregator({ file, busyTimeoutMs: 50 }));
      expect(e.code).toBe('PRIVACY_LOG_E_STORE_UNAVAILABLE');
      expect(e.message).toContain('lock');
    } finally {
      other.exec('ROLLBACK');
      other.close();
    }
  });

  it('refuses a directory that cannot be created or written', () => {
    const blocker = join(dir, 'not-a-dir');
    writeFileSync(blocker, 'x');
    const e = startupError(() => sqliteAggregator({ file: join(blocker, 'stats.db') }));
    expect(e.code).toBe('PRIVACY_LOG_E_STORE_UNAVAILABLE');
    expect(e.message).toContain('cannot open');
  });

  it('refuses a database from a newer privacy-log', () => {
    const file = join(dir, 'future.db');
    const db = new Database(file);
    db.pragma(`user_version = ${SQLITE_MIGRATIONS.length + 1}`);
    db.close();
    const e = startupError(() => sqliteAggregator({ file }));
    expect(e.code).toBe('PRIVACY_LOG_E_STORE_UNAVAILABLE');
    expect(e.message).toContain('upgrade privacy-log');
  });

  it('validates options once, with "did you mean"', () => {
    expect(() => sqliteAggregator({ fiel: 'x.db' } as never)).toThrow(/Did you mean "file"/);
    expect(() => sqliteAggregator({ file: join(dir, 'x.db'), retentionDays: 0 })).toThrow(/retentionDays/);
    expect(() => sqliteAggregator({ file: join(dir, 'x.db'), synchronous: 'off' as never })).toThrow(/synchronous/);
  });
});

describe('sqliteAggregator: running', () => {
  it('rejects a write while another connection holds the lock (retryable), then succeeds', async () => {
    const file = join(dir, 'busy.db');
    const a = sqliteAggregator({ retentionDays: KEEP_DAYS, file, busyTimeoutMs: 50 });
    const other = new Database(file);
    other.exec('BEGIN IMMEDIATE');
    const batch = { events: [makeEvent({ time: '2026-03-10T10:00:00.000Z' })], sketches: [] };
    const err = await a.write(batch).then(
      () => undefined,
      (e: unknown) => e as PrivacyLogError,
    );
    expect(err?.code).toBe('PRIVACY_LOG_E_AGGREGATOR_FAILED');
    expect(err?.retryable).toBe(true);
    other.exec('ROLLBACK');
    other.close();
    await a.write(batch);
    const r = await a.query({ type: 'aggregate', period: 'day', date: '2026-03-10', metrics: ['events'] });
    expect(r.results[0]!.events).toBe(1);
    await a.close();
  });

  it('a query racing close() gets its result or a coded CLOSED error, never a closed connection’s', async () => {
    const file = join(dir, 'race.db');
    const a = sqliteAggregator({ retentionDays: KEEP_DAYS, file });
    // One batch more than a fold interval: the interval's last batch schedules a fold, which the query waits
    // for (it folds in steps first); the one after is left for the query's own fold, never skipped silently.
    const n = FOLD_EVERY_BATCHES + 1;
    for (let b = 0; b < n; b++)
      await a.write({
        events: [makeEvent({ time: `2026-03-10T10:00:${String(b % 60).padStart(2, '0')}.000Z`, session: `s${b}` })],
        sketches: [],
      });
    const q = a.query({ type: 'aggregate', period: 'day', date: '2026-03-10', metrics: ['pageviews'] });
    const closing = a.close();
    const outcome = await q.then(
      (r) => r.results[0]?.pageviews,
      (e: unknown) => (isPrivacyLogError(e) ? e.code : `uncoded: ${String(e)}`),
    );
    await closing;
    expect([n, 'PRIVACY_LOG_E_CLOSED']).toContain(outcome);
    // Nothing was lost: the store closed after folding everything.
    const b = sqliteAggregator({ retentionDays: KEEP_DAYS, file });
    const r = await b.query({ type: 'aggregate', period: 'day', date: '2026-03-10', metrics: ['pageviews'] });
    expect(r.results[0]!.pageviews).toBe(n);
    await b.close();
  });

  it('binds every query value: a hostile filter value is data, not SQL', async () => {
    const file = join(dir, 'inject.db');
    const a = sqliteAggregator({ retentionDays: KEEP_DAYS, file });
    await a.write({
      events: [makeEvent({ time: '2026-03-10T10:00:00.000Z', path: "/x'; DROP TABLE events; --" })],
      sketches: [],
    });
    const q = {
      type: 'aggregate' as const,
      period: 'day' as const,
      date: '2026-03-10',
      metrics: ['pageviews' as const],
      filters: [{ property: 'page' as const, op: '==' as const, value: "/x'; DROP TABLE events; --" }],
    };
    expect((await a.query(q)).results[0]!.pageviews).toBe(1);
    expect(
      (await a.query({ ...q, filters: [{ property: 'page', op: '!=', value: "' OR 1=1 --" }] })).results[0]!.pageviews,
    ).toBe(1);
    expect((await a.readEvents()).map((e) => e.request.path)).toEqual(["/x'; DROP TABLE events; --"]);
    await a.close();
    const db = new Database(file, { readonly: true });
    expect(db.prepare('SELECT sum(n) AS n FROM event_blocks').get()).toEqual({ n: 1 });
    expect(db.prepare('SELECT count(*) AS n FROM event_ids').get()).toEqual({ n: 1 });
    db.close();
  });

  it('reads raw blocks one at a time: a damaged block fails its query, and the next queries still run', async () => {
    const file = join(dir, 'damaged-block.db');
    const a = sqliteAggregator({ retentionDays: KEEP_DAYS, file });
    const day = (date: string, n: number) =>
      Array.from({ length: n }, (_, i) =>
        makeEvent({ time: `${date}T10:00:0${i}.000Z`, path: '/news', browser: 'Firefox' }),
      );
    const batch = (events: ReturnType<typeof day>) => ({
      events,
      sketches: sketchUpdatesFor(
        events,
        events.map((e) => e.id),
      ),
    });
    await a.write(batch(day('2026-03-09', 3)));
    await a.write(batch(day('2026-03-10', 2)));
    // A breakdown filtered on another property, and session metrics by page, both read the raw blocks
    // (the two statements that iterate them).
    const filtered = (period: 'day' | '7d', date = '2026-03-10') => ({
      type: 'breakdown' as const,
      period,
      date,
      property: 'page' as const,
      metrics: ['pageviews' as const],
      filters: [{ property: 'browser' as const, op: '==' as const, value: 'Firefox' }],
      limit: 10,
      k: 1, // a handful of visitors: show their rows
    });
    const sessions = (period: 'day' | '7d', date = '2026-03-10') => ({
      type: 'breakdown' as const,
      period,
      date,
      property: 'page' as const,
      metrics: ['pageviews' as const, 'bounce_rate' as const],
      limit: 10,
      k: 1, // a handful of visitors: show their rows
    });
    expect((await a.query(filtered('7d'))).results[0]!.pageviews).toBe(5);
    // Damage the later day's block through another connection.
    const other = new Database(file);
    other.prepare("UPDATE event_blocks SET cols = x'00' WHERE ts_min >= ?").run(Date.parse('2026-03-10'));
    other.close();
    for (const q of [filtered('7d'), sessions('7d')]) await expect(a.query(q)).rejects.toThrow();
    // Failing mid-way left no statement busy: queries over the undamaged day answer, again and again.
    for (let i = 0; i < 2; i++) {
      expect((await a.query(filtered('day', '2026-03-09'))).results[0]!.pageviews).toBe(3);
      expect((await a.query(sessions('day', '2026-03-09'))).results.map((r) => r.pageviews)).toEqual([3]);
    }
    await a.close();
  });

  it("answers a dashboard's queries asked for together (one pass over the raw events) as it answers them one by one", async () => {
    const file = join(dir, 'shared-scan.db');
    const a = sqliteAggregator({ retentionDays: KEEP_DAYS, file });
    const browsers = ['Firefox', 'Chrome', 'Safari'];
    const events = Array.from({ length: 90 }, (_, i) =>
      makeEvent({
        time: `2026-03-${['08', '09', '10'][i % 3]}T1${i % 10}:0${i % 6}:00.000Z`,
        path: `/p${i % 4}`,
        browser: browsers[i % 3],
        os: i % 2 === 0 ? 'Linux' : 'Android',
        referrer: i % 5 === 0 ? 'yandex.ru' : undefined,
        session: i % 4 === 0 ? `s${i % 7}` : undefined,
        file: i % 9 === 0 ? 'menu.pdf' : undefined,
      }),
    );
    await a.write({
      events,
      sketches: sketchUpdatesFor(
        events,
        events.map((_, i) => `v${i % 11}`),
      ),
    });
    const base = {
      period: '7d' as const,
      date: '2026-03-10',
      k: 1,
      filters: [{ property: 'os' as const, op: '==' as const, value: 'Linux' }],
    };
    const all = ['visitors', 'pageviews', 'downloads', 'sessions', 'bounce_rate', 'visit_duration'] as const;
    const queries = [
      { ...base, type: 'aggregate' as const, metrics: [...all] },
      { ...base, type: 'timeseries' as const, metrics: [...all] },
      ...(['page', 'referrer', 'browser', 'download'] as const).map((property) => ({
        ...base,
        type: 'breakdown' as const,
        property,
        metrics: [...all],
      })),
    ];
    const together = await Promise.all(queries.map((q) => a.query(q)));
    const oneByOne = [];
    for (const q of queries) oneByOne.push(await a.query(q));
    expect(together).toEqual(oneByOne);
    // And they count what they should: the Linux events are the even ones.
    expect(together[0]!.results[0]!.pageviews).toBe(
      events.filter((e, i) => i % 2 === 0 && e.kind === 'pageview').length,
    );
    await a.close();
  });

  it('compacts delta rows a stopped writer left in the file (a crash before its compaction) at its next close', async () => {
    const file = join(dir, 'leftover-deltas.db');
    const a = sqliteAggregator({ retentionDays: KEEP_DAYS, file });
    // 16 events, the visitors of the first 8 in the sketches; the other 8's come below.
    const events = Array.from({ length: 16 }, (_, i) =>
      makeEvent({ time: `2026-03-10T1${Math.floor(i / 8)}:00:0${i % 8}.000Z` }),
    );
    const first = events.slice(0, 8);
    const more = events.slice(8);
    await a.write({
      events,
      sketches: sketchUpdatesFor(
        first,
        first.map((e) => e.id),
      ),
    });
    await a.close();
    // What a writer killed between a fold and its compaction leaves: a delta row beside the bundle.
    const extra = sketchUpdatesFor(
      more,
      more.map((e) => e.id),
    ).find((u) => u.dimension === 'site')!;
    const other = new Database(file);
    other
      .prepare('INSERT INTO sketches (dimension, day, site, value, registers) VALUES (?, ?, ?, ?, ?)')
      .run('site', extra.day, extra.site, '', mergePairsIntoBlob(undefined, extra.registers));
    other.close();
    const q = {
      type: 'aggregate' as const,
      period: 'day' as const,
      date: '2026-03-10',
      metrics: ['visitors' as const],
    };
    const b = sqliteAggregator({ retentionDays: KEEP_DAYS, file });
    // Read before any compaction (the delta row and the bundle merged), then compacted at close.
    expect((await b.query(q)).results[0]!.visitors).toBe(16);
    await b.close();
    const check = new Database(file, { readonly: true });
    expect(check.prepare('SELECT count(*) FROM sketches').pluck().get()).toBe(0);
    check.close();
    const c = sqliteAggregator({ retentionDays: KEEP_DAYS, file });
    expect((await c.query(q)).results[0]!.visitors).toBe(16);
    await c.close();
  });

  it('a damaged sketch bundle fails the queries that need it with a clear error; other days still answer', async () => {
    const file = join(dir, 'damaged-bundle.db');
    const a = sqliteAggregator({ retentionDays: KEEP_DAYS, file });
    for (const date of ['2026-03-09', '2026-03-10']) {
      const events = Array.from({ length: 6 }, (_, i) => makeEvent({ time: `${date}T10:00:0${i}.000Z` }));
      await a.write({
        events,
        sketches: sketchUpdatesFor(
          events,
          events.map((e) => e.id),
        ),
      });
    }
    await a.close(); // compacts the deltas into bundles
    const other = new Database(file);
    expect(other.prepare("UPDATE sketch_days SET bundle = x'01ffffff' WHERE day = '2026-03-10'").run().changes).toBe(3);
    other.close();
    const b = sqliteAggregator({ retentionDays: KEEP_DAYS, file });
    const visitors = (date: string) => ({
      type: 'aggregate' as const,
      period: 'day' as const,
      date,
      metrics: ['visitors' as const, 'pageviews' as const],
    });
    await expect(b.query(visitors('2026-03-10'))).rejects.toThrow(/sketch bundle: damaged/);
    for (let i = 0; i < 2; i++)
      expect((await b.query(visitors('2026-03-09'))).results[0]).toEqual({ visitors: 6, pageviews: 6 });
    await b.close();
  });

  it('expires raw events after retentionDays but keeps rollup totals, then expires rollups and salts', async () => {
    const file = join(dir, 'retention.db');
    const a = sqliteAggregator({ file, retentionDays: 30, rollupRetentionMonths: 2 });
    const old = [
      makeEvent({ time: '2026-01-05T10:00:00.000Z', path: '/old', session: 's-old' }),
      makeEvent({ time: '2026-01-05T11:00:00.000Z', path: '/old' }),
    ];
    const recent = [makeEvent({ time: '2026-03-09T10:00:00.000Z', path: '/new' })];
    const all = [...old, ...recent];
    await a.write({ events: all, sketches: sketchUpdatesFor(all, ['a', 'b', 'c']) });
    await a.salt('2026-03-01', 'old-salt-value');
    const now = Date.parse('2026-03-10T12:00:00.000Z');
    const first = await a.runRetention(now);
    expect(first.events).toBe(2);
    expect(first.salts).toBe(1);
    const jan = {
      type: 'breakdown' as const,
      period: 'month' as const,
      date: '2026-01-05',
      property: 'page' as const,
      k: 1,
    };
    // Rollups still answer for January: pageviews per page and visitors from sketches.
    expect((await a.query({ ...jan, metrics: ['pageviews', 'visitors'] })).results).toEqual([
      { value: '/old', pageviews: 2, visitors: 2 },
    ]);
    expect(
      (await a.query({ type: 'aggregate', period: 'month', date: '2026-01-05', metrics: ['pageviews'] })).results[0]!
        .pageviews,
    ).toBe(2);
    // Session metrics need raw events: gone for January.
    expect(
      (await a.query({ type: 'aggregate', period: 'month', date: '2026-01-05', metrics: ['sessions'] })).results[0]!
        .sessions,
    ).toBe(0);
    // Two months later the January rollups expire too.
    const later = await a.runRetention(Date.parse('2026-03-20T00:00:00.000Z') + 40 * 86_400_000);
    expect(later.rollups).toBeGreaterThan(0);
    expect(later.sketches).toBeGreaterThan(0);
    expect((await a.query({ ...jan, metrics: ['pageviews'] })).results).toEqual([]);
    await a.close();
    // close() compacted March's deltas into its day bundles: retention deletes those and counts their sketches.
    const inBundles = new Database(file, { readonly: true });
    expect(inBundles.prepare('SELECT count(*) FROM sketches').pluck().get()).toBe(0);
    // One bundle per dimension of the day: site, page and device.
    expect(inBundles.prepare('SELECT count(*) FROM sketch_days').pluck().get()).toBe(3);
    inBundles.close();
    const b = sqliteAggregator({ file, retentionDays: 30, rollupRetentionMonths: 2 });
    const last = await b.runRetention(Date.parse('2026-03-09T00:00:00.000Z') + 120 * 86_400_000);
    expect(last.sketches).toBe(3); // the March event's site, page and device sketches
    await b.close();
    const gone = new Database(file, { readonly: true });
    expect(gone.prepare('SELECT count(*) FROM sketch_days').pluck().get()).toBe(0);
    gone.close();
  });

  it('compacts appended sketch deltas into one bundle per (dimension, day, site) without changing results', async () => {
    const file = join(dir, 'compact.db');
    const a = sqliteAggregator({ retentionDays: KEEP_DAYS, file });
    const q = {
      type: 'aggregate' as const,
      period: 'day' as const,
      date: '2026-03-10',
      metrics: ['visitors' as const],
    };
    for (let b = 0; b < 25; b++) {
      const events = Array.from({ length: 20 }, (_, i) => makeEvent({ time: `2026-03-10T1${i % 10}:00:00.000Z` }));
      await a.write({
        events,
        sketches: sketchUpdatesFor(
          events,
          events.map((_, i) => `v${b}-${i}`),
        ),
      });
    }
    const before = (await a.query(q)).results[0]!.visitors!;
    expect(Math.abs(before - 500) / 500).toBeLessThan(0.03);
    await a.close();
    const db = new Database(file, { readonly: true });
    // close() compacted every delta row into its bundle: none left, each value once in its bundle.
    expect(db.prepare('SELECT count(*) FROM sketches').pluck().get()).toBe(0);
    const bundles = db.prepare('SELECT dimension, bundle FROM sketch_days').all() as Array<{
      dimension: string;
      bundle: Uint8Array;
    }>;
    expect(bundles.map((b) => b.dimension).sort()).toEqual(['device', 'page', 'site']);
    for (const b of bundles) {
      const values = decodeBundle(b.bundle).map((e) => e.value);
      expect(new Set(values).size).toBe(values.length);
    }
    db.close();
    const again = sqliteAggregator({ retentionDays: KEEP_DAYS, file });
    expect((await again.query(q)).results[0]!.visitors).toBe(before);
    await again.close();
    expect(readdirSync(dir)).toContain('compact.db');
  });

  it('forget removes the session from events and rollups in one transaction', async () => {
    const file = join(dir, 'forget.db');
    const a = sqliteAggregator({ retentionDays: KEEP_DAYS, file });
    const events = [
      makeEvent({ time: '2026-03-10T10:00:00.000Z', path: '/a', session: 'gone' }),
      makeEvent({ time: '2026-03-10T10:01:00.000Z', path: '/a' }),
    ];
    await a.write({ events, sketches: [] });
    expect(await a.forget('gone')).toBe(1);
    expect((await a.readEvents()).map((e) => e.session?.id)).toEqual([undefined]);
    await a.close();
    const db = new Database(file, { readonly: true });
    expect(db.prepare("SELECT count(*) AS n FROM event_blocks WHERE sessions LIKE '%gone%'").get()).toEqual({ n: 0 });
    // Its id went with it: only the other event's is left.
    expect(db.prepare('SELECT id FROM event_ids').pluck().all()).toEqual([events[1]!.id]);
    expect(db.prepare("SELECT events FROM rollup_day WHERE dimension = 'page' AND value = '/a'").get()).toEqual({
      events: 1,
    });
    db.close();
  });

  it('forget finds a session over days of blocks, keeps the other sessions, and leaves later writes alone', async () => {
    const file = join(dir, 'forget-scan.db');
    const a = sqliteAggregator({ retentionDays: KEEP_DAYS, file });
    const at = (d: number, h: number) =>
      `2026-03-${String(d).padStart(2, '0')}T${String(h).padStart(2, '0')}:00:00.000Z`;
    const events = [];
    for (let d = 1; d <= 9; d++)
      for (let h = 0; h < 24; h++)
        events.push(
          makeEvent({ time: at(d, h), path: '/s', session: h % 3 === 0 ? 'gone' : `keep-${h % 2}` }),
          makeEvent({ time: at(d, h), path: '/n' }),
        );
    // Written out of order, so blocks span days.
    const shuffled = events.map((e, i) => [(i * 7919) % events.length, e] as const).sort((x, y) => x[0] - y[0]);
    const list = shuffled.map((x) => x[1]);
    for (let i = 0; i < list.length; i += 100) await a.write({ events: list.slice(i, i + 100), sketches: [] });
    const gone = events.filter((e) => e.session?.id === 'gone').length;
    expect(await a.forget('gone')).toBe(gone);
    // Written after forget: stored (forget erases what is stored when it runs).
    const late = [
      makeEvent({ time: at(10, 2), path: '/s', session: 'gone' }),
      makeEvent({ time: at(10, 1), path: '/s', session: 'keep-0' }),
    ];
    await a.write({ events: late, sketches: [] });
    const total = await a.query({
      type: 'aggregate',
      period: 'custom',
      from: '2026-03-01',
      to: '2026-03-10',
      metrics: ['pageviews'],
    });
    expect(total.results).toEqual([{ pageviews: 2 * 9 * 24 - gone + 2 }]);
    const kept = await a.readEvents();
    expect(kept).toHaveLength(2 * 9 * 24 - gone + 2);
    expect(kept.filter((e) => e.session?.id === 'gone')).toEqual([late[0]]);
    expect(kept.filter((e) => e.session?.id === 'keep-1')).toHaveLength(
      events.filter((e) => e.session?.id === 'keep-1').length,
    );
    await a.close();
    const db = new Database(file, { readonly: true });
    expect(db.prepare('SELECT sum(events) AS n FROM rollup_slot').get()).toEqual({ n: 2 * 9 * 24 - gone + 2 });
    expect(db.prepare("SELECT count(*) FROM session_day WHERE session_id = 'gone'").pluck().get()).toBe(1);
    db.close();
  });

  it('never serves stale visitors from its sketch cache: own writes and other connections invalidate it', async () => {
    const file = join(dir, 'cache.db');
    const a = sqliteAggregator({ retentionDays: KEEP_DAYS, file });
    const b = sqliteAggregator({ retentionDays: KEEP_DAYS, file });
    const q = { type: 'aggregate' as const, period: '7d' as const, date: '2026-03-10', metrics: ['visitors' as const] };
    const batch = (from: number, n: number) => {
      const events = Array.from({ length: n }, (_, i) => makeEvent({ time: `2026-03-09T1${i % 10}:00:00.000Z` }));
      return {
        events,
        sketches: sketchUpdatesFor(
          events,
          events.map((_, i) => `visitor-${from + i}`),
        ),
      };
    };
    await a.write(batch(0, 10));
    expect((await a.query(q)).results[0]!.visitors).toBe(10);
    await a.write(batch(10, 10));
    expect((await a.query(q)).results[0]!.visitors).toBe(20);
    await b.write(batch(20, 10));
    expect((await a.query(q)).results[0]!.visitors).toBe(30);
    await Promise.all([a.close(), b.close()]);
  });

  it('keeps a journal of batches not yet folded, and a later open folds it before any read', async () => {
    const file = join(dir, 'journal.db');
    const a = sqliteAggregator({ retentionDays: KEEP_DAYS, file });
    const events = Array.from({ length: 12 }, (_, i) =>
      makeEvent({ time: `2026-03-10T0${i % 10}:00:00.000Z`, path: '/j' }),
    );
    await a.write({
      events,
      sketches: sketchUpdatesFor(
        events,
        events.map((_, i) => `j${i}`),
      ),
    });
    // Not folded yet (folding waits for more batches, or a read): the journal holds the batch.
    const raw = new Database(file, { readonly: true });
    expect((raw.prepare('SELECT count(*) AS n FROM pending').get() as { n: number }).n).toBe(1);
    expect((raw.prepare('SELECT count(*) AS n FROM rollup_day').get() as { n: number }).n).toBe(0);
    raw.close();
    // Another process (a restart after a crash) reads: it folds first, so nothing is missing.
    const b = sqliteAggregator({ retentionDays: KEEP_DAYS, file });
    const r = await b.query({
      type: 'breakdown',
      period: 'day',
      date: '2026-03-10',
      property: 'page',
      metrics: ['pageviews', 'visitors'],
    });
    expect(r.results).toEqual([{ value: '/j', pageviews: 12, visitors: 12 }]);
    await b.close();
    // The first one's view agrees (its cache is dropped: another connection committed).
    expect(
      (await a.query({ type: 'aggregate', period: 'day', date: '2026-03-10', metrics: ['pageviews'] })).results,
    ).toEqual([{ pageviews: 12 }]);
    await a.close();
  });
});
