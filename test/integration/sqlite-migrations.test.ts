import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SQLITE_MIGRATIONS } from '../../src/aggregators/sqlite/migrations.js';
import { sqliteAggregator } from '../../src/aggregators/sqlite/sqlite-aggregator.js';
import { eventRow } from '../../src/stats/event-columns.js';
import type { StatsQuery } from '../../src/stats/query.js';
import { rollupIncrements } from '../../src/stats/rollup.js';
import { makeEvent, sketchUpdatesFor } from '../conformance/dataset.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'privacy-log-sqlite-migrations-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const DAY = '2026-03-10';
/** The events here are dated months back: the default 30 days would let retention delete them mid-test. */
const KEEP_DAYS = 36_500;
const SESSION_METRICS = ['sessions', 'bounce_rate', 'visit_duration'] as const;
/** The same query answered from the raw events: a filter every event matches takes the raw path. */
const viaRaw = (q: StatsQuery): StatsQuery => ({
  ...q,
  filters: [{ property: 'kind', op: '!=', value: 'no-such-kind' }],
});

describe('sqliteAggregator: migration 2 (event_rows + the view events)', () => {
  it('moves version-1 rows (the event JSON in doc) and folds a version-1 journal row left behind', async () => {
    const file = join(dir, 'v1.db');
    const v1 = new Database(file);
    v1.pragma('journal_mode = WAL');
    v1.exec(SQLITE_MIGRATIONS[0]!);
    v1.pragma('user_version = 1');
    const events = [
      makeEvent({ time: `${DAY}T08:00:00.000Z`, path: '/v1', browser: 'Firefox', os: 'Linux', session: 's-v1' }),
      makeEvent({ time: `${DAY}T09:00:00.000Z`, kind: 'download', file: 'menu.pdf', path: '/files/menu.pdf' }),
      makeEvent({ time: `${DAY}T10:00:00.000Z`, path: '/v1', referrer: 'vk.com', isp: 'MTS', domain: 'mts.ru' }),
      makeEvent({ time: `${DAY}T11:00:00.000Z`, path: '/v1' }),
      makeEvent({ time: `${DAY}T12:00:00.000Z`, path: '/v1', bot: true }),
    ];
    events[3]!.referrer = { host: 'oblachko', path: '/menu', type: 'internal' };
    events[3]!.client.asn = 12389;
    events[3]!.agent.browserVersion = '120';
    const ins = v1.prepare(
      `INSERT INTO events (id, ts, site, kind, page, referrer, browser, os, device, isp, domain, download, bot, session_id, doc)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    for (const e of events) {
      const r = eventRow(e);
      ins.run(
        r.id,
        r.ts,
        r.site,
        r.kind,
        r.page,
        r.referrer,
        r.browser,
        r.os,
        r.device,
        r.isp,
        r.domain,
        r.download,
        r.bot ? 1 : 0,
        r.sessionId,
        JSON.stringify(e),
      );
    }
    // A version-1 journal row: the rollup increments of those rows, and one sketch blob (sparse: 3 bytes a pair).
    const inc = rollupIncrements(events.map(eventRow));
    const blob = Buffer.from([0, 0, 1, 1, 0, 2, 2, 0, 3]).toString('base64');
    v1.prepare('INSERT INTO pending (payload) VALUES (?)').run(
      JSON.stringify({
        d: inc.days.map((x) => [
          x.dimension,
          x.day,
          x.site,
          x.value,
          x.bot ? 1 : 0,
          x.events,
          x.pageviews,
          x.downloads,
        ]),
        s: inc.slots.map((x) => [x.slot, x.site, x.bot ? 1 : 0, x.events, x.pageviews, x.downloads]),
        k: [['site', DAY, 'oblachko', '', blob]],
      }),
    );
    v1.close();

    const a = sqliteAggregator({ retentionDays: KEEP_DAYS, file });
    expect((await a.query({ type: 'aggregate', period: 'day', date: DAY, metrics: ['pageviews'] })).results).toEqual([
      { pageviews: 3 },
    ]);
    await a.write({ events: [events[0]!, makeEvent({ time: `${DAY}T13:00:00.000Z`, path: '/v1' })], sketches: [] });
    await a.close();
    const db = new Database(file, { readonly: true });
    expect(db.pragma('user_version', { simple: true })).toBe(SQLITE_MIGRATIONS.length);
    const docs = db.prepare('SELECT doc FROM events ORDER BY seq').pluck().all() as string[];
    expect(docs.map((d) => JSON.parse(d))).toEqual([
      ...events,
      expect.objectContaining({ time: `${DAY}T13:00:00.000Z` }),
    ]);
    expect(db.prepare("SELECT sum(events) AS n FROM rollup_day WHERE dimension = 'kind'").get()).toEqual({ n: 6 });
    expect(db.prepare('SELECT count(*) AS n FROM sketches').get()).toEqual({ n: 1 });
    db.close();
  });
});

describe('sqliteAggregator: migration 3 (no events_session index)', () => {
  it('upgrades a version-2 database with data: same stats before and after, forget still finds the session', async () => {
    const events = Array.from({ length: 120 }, (_, i) =>
      makeEvent({
        time: `${DAY}T${String(8 + (i % 10)).padStart(2, '0')}:0${i % 6}:00.000Z`,
        path: `/p${i % 7}`,
        browser: ['Firefox', 'Chrome'][i % 2],
        session: i % 3 === 0 ? `s${i % 9}` : undefined,
      }),
    );
    const visitors = events.map((_, i) => `v${i % 17}`);
    const queries: StatsQuery[] = [
      { type: 'aggregate', period: 'day', date: DAY, metrics: ['pageviews', 'visitors', 'sessions', 'bounce_rate'] },
      { type: 'breakdown', period: 'day', date: DAY, metrics: ['visitors', 'pageviews'], property: 'page', k: 1 },
    ];
    // The same data as version 2 stores it: written by this code to a scratch file, copied into a version-2 schema.
    const scratch = join(dir, 'scratch.db');
    const w = sqliteAggregator({ retentionDays: KEEP_DAYS, file: scratch });
    await w.write({ events: events.slice(0, 70), sketches: sketchUpdatesFor(events.slice(0, 70), visitors) });
    await w.query(queries[0]!); // folds the first batch
    await w.write({ events: events.slice(70), sketches: sketchUpdatesFor(events.slice(70), visitors.slice(70)) });
    const expected = await Promise.all(queries.map((q) => w.query(q)));
    await w.close();

    const file = join(dir, 'v2.db');
    const v2 = new Database(file);
    v2.pragma('journal_mode = WAL');
    v2.exec(SQLITE_MIGRATIONS[0]!);
    v2.exec(SQLITE_MIGRATIONS[1]!);
    v2.pragma('user_version = 2');
    expect(v2.prepare("SELECT name FROM sqlite_master WHERE name = 'events_session'").pluck().get()).toBe(
      'events_session',
    );
    v2.exec(`ATTACH '${scratch}' AS s`);
    for (const t of ['event_rows', 'rollup_day', 'rollup_slot', 'sketches', 'salts'])
      v2.exec(`INSERT INTO main.${t} SELECT * FROM s.${t}`);
    v2.exec('DETACH s');
    v2.close();

    const a = sqliteAggregator({ retentionDays: KEEP_DAYS, file });
    for (let i = 0; i < queries.length; i++) expect(await a.query(queries[i]!)).toEqual(expected[i]);
    const inSession = events.filter((e) => e.session?.id === 's3').length;
    expect(inSession).toBeGreaterThan(0);
    expect(await a.forget('s3')).toBe(inSession);
    const after = await a.query(queries[0]!);
    expect(after.results[0]!.pageviews).toBe(Number(expected[0]!.results[0]!.pageviews) - inSession);
    await a.close();
    const db = new Database(file, { readonly: true });
    expect(db.pragma('user_version', { simple: true })).toBe(SQLITE_MIGRATIONS.length);
    expect(db.prepare("SELECT name FROM sqlite_master WHERE name = 'events_session'").get()).toBeUndefined();
    expect(db.prepare("SELECT count(*) FROM event_rows WHERE session_id = 's3'").pluck().get()).toBe(0);
    db.close();
  });
});

describe('sqliteAggregator: migration 4 (session_day)', () => {
  it('upgrades a version-3 database: stored rows are summed, rows still in the journal are added by their fold only', async () => {
    const events = Array.from({ length: 90 }, (_, i) =>
      makeEvent({
        time: `${DAY}T${String(8 + (i % 10)).padStart(2, '0')}:0${i % 6}:00.000Z`,
        path: `/p${i % 4}`,
        session: i % 2 === 0 ? `s${i % 5}` : undefined,
      }),
    );
    const visitors = events.map((_, i) => `v${i % 11}`);
    const queries: StatsQuery[] = [
      { type: 'aggregate', period: 'day', date: DAY, metrics: [...SESSION_METRICS] },
      { type: 'timeseries', period: 'day', date: DAY, metrics: [...SESSION_METRICS] },
    ];
    // Version 3 as it stood: a store of this code with its session_day removed and its version set back.
    const file = join(dir, 'v3.db');
    const w = sqliteAggregator({ file, retentionDays: 36_500 });
    await w.write({ events: events.slice(0, 50), sketches: sketchUpdatesFor(events.slice(0, 50), visitors) });
    await w.query(queries[0]!); // folds the first batch; the second stays in the journal
    await w.write({ events: events.slice(50), sketches: sketchUpdatesFor(events.slice(50), visitors.slice(50)) });
    const expected = await Promise.all(queries.map((q) => w.query(viaRaw(q))));
    await w.close();

    const v3 = new Database(file);
    v3.exec('DROP TABLE session_day; DROP TABLE session_folded');
    v3.pragma('user_version = 3');
    // A journal row still to fold at upgrade time, naming rows of the second batch (as the v3 writer leaves it).
    const seqs = v3.prepare('SELECT min(seq) AS f, max(seq) AS l FROM event_rows WHERE seq > 50').get() as {
      f: number;
      l: number;
    };
    v3.prepare('INSERT INTO pending (payload) VALUES (?)').run(
      JSON.stringify({ w: 'old-writer', f: seqs.f, l: seqs.l, k: [], r: '' }),
    );
    // (Its fold also adds the rows' rollups a second time: only session metrics are compared here.)
    v3.close();

    const a = sqliteAggregator({ file, retentionDays: 36_500 });
    const check = new Database(file, { readonly: true });
    expect(check.pragma('user_version', { simple: true })).toBe(SQLITE_MIGRATIONS.length);
    // Migration 4 summed only the rows no journal row names.
    const summed = check.prepare('SELECT sum(pageviews) FROM session_day').pluck().get() as number;
    const firstBatch = events.slice(0, 50).filter((e) => e.session !== undefined && e.kind === 'pageview').length;
    expect(summed).toBe(firstBatch);
    check.close();
    for (let i = 0; i < queries.length; i++) {
      expect((await a.query(queries[i]!)).results).toEqual(expected[i]!.results);
    }
    await a.close();
  });
});
