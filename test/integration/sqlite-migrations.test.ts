/**
 * Upgrades of a SQLite store written by older privacy-log versions: the old
 * schema is built with migrate(db, n) and filled as the old write path and
 * fold left it (test/helpers/old-sqlite-schema.ts); opening it with
 * sqliteAggregator migrates it to the current schema. Each test then checks
 * that the store answers every query exactly as a fresh store given the same
 * batches does, gives back exactly the events, forgets a session, and holds
 * no trace of the old raw event tables.
 */
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Batch } from '../../src/aggregators/aggregator.js';
import { schema4Event } from '../../src/aggregators/sqlite/migrate-to-blocks.js';
import { migrate, SQLITE_MIGRATIONS } from '../../src/aggregators/sqlite/migrations.js';
import { sqliteAggregator } from '../../src/aggregators/sqlite/sqlite-aggregator.js';
import type { PrivacyLogError } from '../../src/errors.js';
import type { PrivacyEvent } from '../../src/event.js';
import { METRICS, type StatsQuery, type StatsResult } from '../../src/stats/query.js';
import { datasetArbitrary, makeEvent, prng, sketchUpdatesFor } from '../conformance/dataset.js';
import { eventArb } from '../helpers/event-arbitrary.js';
import {
  addJournalRow,
  foldedIntoOldSchema,
  insertSchema1Rows,
  insertSchema4Rows,
  legacyJournal,
  schema4Journal,
  sumSchema4Sessions,
} from '../helpers/old-sqlite-schema.js';

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
/** Events per block the migration writes. */
const BLOCK_EVENTS = 250;
const ALL_METRICS = METRICS;
const SESSION_METRICS = ['sessions', 'bounce_rate', 'visit_duration'] as const;
/** A filter every event matches: the same query answered from the raw events instead of rollups and session_day. */
const everyEvent = { property: 'kind', op: '!=', value: 'no-such-kind' } as const;

/**
 * Queries over every path the stats take: 15-minute and daily rollups,
 * sketches (with and without filters), session_day, and the raw events
 * (filters), for one day, a week, one site and with bots.
 */
const QUERIES: StatsQuery[] = [
  { type: 'aggregate', period: 'day', date: DAY, metrics: [...ALL_METRICS] },
  { type: 'aggregate', period: '7d', date: DAY, metrics: [...ALL_METRICS], includeBots: true },
  { type: 'aggregate', period: '7d', date: DAY, metrics: [...ALL_METRICS], site: 'other.example' },
  { type: 'aggregate', period: '7d', date: DAY, metrics: [...ALL_METRICS], filters: [everyEvent] },
  {
    type: 'aggregate',
    period: '7d',
    date: DAY,
    metrics: [...ALL_METRICS],
    filters: [{ property: 'browser', op: '==', value: 'Firefox' }],
  },
  { type: 'timeseries', period: 'day', date: DAY, metrics: ['pageviews', 'downloads', 'events', 'sessions'] },
  { type: 'timeseries', period: '7d', date: DAY, metrics: [...ALL_METRICS], includeBots: true },
  { type: 'timeseries', period: '7d', date: DAY, metrics: [...SESSION_METRICS], filters: [everyEvent] },
  { type: 'breakdown', period: '7d', date: DAY, property: 'page', metrics: ['pageviews', 'visitors', 'events'], k: 1 },
  {
    type: 'breakdown',
    period: '7d',
    date: DAY,
    property: 'browser',
    metrics: ['pageviews', 'visitors', 'bounce_rate', 'visit_duration'],
    filters: [{ property: 'page', op: '!=', value: '/p1' }],
    k: 1,
  },
  { type: 'breakdown', period: '7d', date: DAY, property: 'download', metrics: ['downloads', 'visitors'], k: 1 },
  { type: 'breakdown', period: 'day', date: DAY, property: 'referrer', metrics: ['visitors', 'pageviews'], k: 2 },
  { type: 'breakdown', period: '7d', date: DAY, property: 'isp', metrics: ['events'], timeZone: 'Europe/Moscow' },
];

/** A batch of events and the sketch updates of their visitors. */
function batchOf(events: PrivacyEvent[], visitors: string[]): Batch {
  return { events, sketches: sketchUpdatesFor(events, visitors) };
}

/**
 * `n` events over the three days up to DAY: pages, browsers, referrers, ISPs,
 * downloads, bots, two sites, and a few sessions that span several events (and days).
 */
function eventsOf(n: number, seed: number): { events: PrivacyEvent[]; visitors: string[] } {
  const rnd = prng(seed);
  const base = Date.parse(`${DAY}T00:00:00.000Z`) - 2 * 86_400_000;
  const events: PrivacyEvent[] = [];
  const visitors: string[] = [];
  for (let i = 0; i < n; i++) {
    const ts = base + Math.floor(rnd() * 3 * 86_400_000);
    const bot = rnd() < 0.05;
    const download = !bot && rnd() < 0.1;
    const page = `/p${Math.floor(rnd() * 5)}`;
    events.push(
      makeEvent({
        time: new Date(ts).toISOString(),
        site: rnd() < 0.8 ? 'oblachko' : 'other.example',
        kind: download ? 'download' : rnd() < 0.1 ? 'api' : 'pageview',
        path: download ? '/files/menu.pdf' : page,
        file: download ? `doc${Math.floor(rnd() * 3)}.pdf` : undefined,
        browser: bot ? 'Googlebot' : (['Firefox', 'Chrome', 'Safari', undefined] as const)[Math.floor(rnd() * 4)],
        os: (['Linux', 'Android', undefined] as const)[Math.floor(rnd() * 3)],
        bot,
        referrer: (['vk.com', 'yandex.ru', undefined] as const)[Math.floor(rnd() * 3)],
        isp: rnd() < 0.5 ? 'MTS' : undefined,
        domain: rnd() < 0.3 ? 'mts.ru' : undefined,
        session: !bot && rnd() < 0.6 ? `s${Math.floor(rnd() * 12)}` : undefined,
      }),
    );
    visitors.push(`v${Math.floor(rnd() * 40)}`);
  }
  return { events, visitors };
}

/** Split events into consecutive batches of the given sizes (the rest last). */
function batches(data: { events: PrivacyEvent[]; visitors: string[] }, ...sizes: number[]): Batch[] {
  const out: Batch[] = [];
  let at = 0;
  for (const size of [...sizes, data.events.length]) {
    if (at >= data.events.length) break;
    const end = Math.min(data.events.length, at + size);
    out.push(batchOf(data.events.slice(at, end), data.visitors.slice(at, end)));
    at = end;
  }
  return out;
}

/** An empty database file at schema version `version`, as that version's privacy-log created it. */
function oldSchema(file: string, version: number): Database.Database {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  expect(migrate(db, version)).toBe(version);
  expect(db.pragma('user_version', { simple: true })).toBe(version);
  return db;
}

/** What an old store holds: batches folded, batches whose sessions alone were summed (schema 4), batches still pending. */
interface OldStorePlan {
  folded: Batch[];
  summed: Batch[];
  pending: Batch[];
  /** Schema 1 only: pending batches journaled as version-1 rows (`{"d":...}`) rather than seq ranges. */
  legacy?: boolean;
}

/**
 * An old store at schema `version` as its write path and fold left it: folded
 * batches counted in rollups, sketches and (schema 4) session_day; pending
 * ones only in the journal (schema 4's summed ones also in session_day and
 * session_folded; before schema 4 they are pending).
 */
function buildOldStore(file: string, version: number, plan: OldStorePlan): void {
  const db = oldSchema(file, version);
  const insert = version === 1 ? insertSchema1Rows : insertSchema4Rows;
  for (const b of plan.folded) {
    const r = insert(db, b.events);
    foldedIntoOldSchema(db, b.events, b.sketches);
    if (version >= 4) sumSchema4Sessions(db, r);
  }
  for (const b of [...plan.summed, ...plan.pending]) {
    const r = insert(db, b.events);
    const id = addJournalRow(
      db,
      // A version-1 row holds the rollup increments of the rows its batch inserted (none for a replay).
      plan.legacy === true
        ? legacyJournal(r.first <= r.last ? b.events : [], b.sketches)
        : schema4Journal('w', r.first, r.last, b.sketches),
    );
    if (version >= 4 && plan.summed.includes(b)) sumSchema4Sessions(db, r, id);
  }
  db.close();
}

/** The stored events minus those of a forgotten session, in the order written (ids once each). */
function expectedEvents(written: readonly Batch[], forgotten?: string): PrivacyEvent[] {
  const seen = new Set<string>();
  const out: PrivacyEvent[] = [];
  for (const b of written)
    for (const e of b.events) {
      if (seen.has(e.id)) continue;
      seen.add(e.id);
      if (forgotten === undefined || e.session?.id !== forgotten) out.push(e);
    }
  return out;
}

interface UpgradeCheck {
  /** What the old store was given, in order (events and sketch updates, folded or still in its journal). */
  written: Batch[];
  /** A session of the data to forget after the upgrade (none: that step is skipped). */
  forget?: string | undefined;
  /** Whether the data must give pageviews, visitors and sessions on DAY (so the comparison means something). */
  nonEmpty?: boolean;
}

let freshFiles = 0;

/**
 * Open `file` (an old schema) with sqliteAggregator, and check it against a
 * fresh store given the same batches: every query and readEvents, after the
 * upgrade, after forget, after replays and a new event, and after retention
 * cut the raw events; then the schema.
 */
async function expectUpgradedLikeFresh(file: string, { written, forget, nonEmpty = true }: UpgradeCheck) {
  // Rollups kept as long as raw events: retention (run 100 years on) cuts only raw events.
  const options = { retentionDays: KEEP_DAYS, rollupRetentionMonths: 1200 };
  const fresh = sqliteAggregator({ file: join(dir, `fresh-${freshFiles++}.db`), ...options });
  const upgraded = sqliteAggregator({ file, ...options });
  try {
    for (const b of written) await fresh.write(b);
    const expectSame = async (when: string) => {
      const want: StatsResult[] = [];
      for (const q of QUERIES) want.push(await fresh.query(q));
      for (let i = 0; i < QUERIES.length; i++)
        expect(await upgraded.query(QUERIES[i]!), `${when}: ${JSON.stringify(QUERIES[i])}`).toEqual(want[i]);
    };
    if (nonEmpty) {
      const today = (await fresh.query(QUERIES[0]!)).results[0]!;
      expect(today.pageviews).toBeGreaterThan(0);
      expect(today.visitors).toBeGreaterThan(0);
      expect(today.sessions).toBeGreaterThan(0);
    }

    await expectSame('after the upgrade');
    expect(await upgraded.readEvents()).toEqual(expectedEvents(written));

    if (forget !== undefined) {
      const inSession = expectedEvents(written).filter((e) => e.session?.id === forget).length;
      expect(inSession).toBeGreaterThan(0);
      expect(await upgraded.forget(forget)).toBe(inSession);
      expect(await fresh.forget(forget)).toBe(inSession);
      await expectSame('after forget');
      expect(await upgraded.readEvents()).toEqual(expectedEvents(written, forget));
    }

    // A replay of an event stored before the upgrade adds nothing, a new event counts once, and a replay of a
    // forgotten event does to both stores what it does to a fresh one.
    const kept = expectedEvents(written, forget);
    const replayed = [kept[0], expectedEvents(written).find((e) => e.session?.id === forget)].filter(
      (e) => e !== undefined,
    );
    const added = makeEvent({ time: `${DAY}T23:00:00.000Z`, path: '/new', session: 's-new' });
    const next = batchOf([...replayed, added], [...replayed.map((_, i) => `v-replay-${i}`), 'v-new']);
    await upgraded.write(next);
    await fresh.write(next);
    await expectSame('after a replay and a new event');
    const afterReplay = await upgraded.readEvents();
    expect(afterReplay).toEqual(await fresh.readEvents());
    expect(afterReplay.slice(0, kept.length)).toEqual(kept);
    expect(afterReplay[afterReplay.length - 1]).toEqual(added);

    // Retention cuts the raw events mid-data (rollups and sketches stay): blocks the migration wrote are cut too.
    const cutoff = Date.parse(`${DAY}T00:00:00.000Z`) - 86_400_000 / 2;
    const now = cutoff + KEEP_DAYS * 86_400_000;
    const left = afterReplay.filter((e) => Date.parse(e.time) >= cutoff);
    const cut = (await upgraded.runRetention(now)).events;
    expect(cut).toBe(afterReplay.length - left.length);
    expect((await fresh.runRetention(now)).events).toBe(cut);
    await expectSame('after retention');
    expect(await upgraded.readEvents()).toEqual(left);
  } finally {
    await Promise.all([fresh.close(), upgraded.close()]);
  }
  const db = new Database(file, { readonly: true });
  try {
    expect(db.pragma('user_version', { simple: true })).toBe(SQLITE_MIGRATIONS.length);
    const names = db.prepare('SELECT name FROM sqlite_master').pluck().all() as string[];
    expect(names).toEqual(expect.arrayContaining(['event_blocks', 'event_ids', 'session_day']));
    for (const gone of ['event_rows', 'events', 'events_ts', 'events_session', 'events_session_ts'])
      expect(names).not.toContain(gone);
    expect(db.prepare('SELECT count(*) FROM pending').pluck().get()).toBe(0);
  } finally {
    db.close();
  }
}

describe('sqliteAggregator: migration 2 (from schema 1: the event JSON in doc)', () => {
  it('moves schema-1 rows into blocks and still folds a version-1 journal row left pending, through 2..5', async () => {
    const data = eventsOf(160, 2);
    // Rich events: an internal referrer (no referrer column), an ASN, versions, a non-pageview path.
    const e = data.events[3]!;
    e.referrer = { host: 'oblachko', path: '/menu', type: 'internal' };
    e.client.asn = 12389;
    e.agent.browserVersion = '120';
    e.agent.osVersion = '14';
    e.request.query = 'a=1';
    e.request.route = '/p/:id';
    const [folded, pending] = batches(data, 90) as [Batch, Batch];
    const file = join(dir, 'v1.db');
    const v1 = oldSchema(file, 1);
    insertSchema1Rows(v1, folded.events);
    foldedIntoOldSchema(v1, folded.events, folded.sketches);
    // A crash of a version-1 writer: its rows stored, its rollups and sketch blobs only in the journal.
    insertSchema1Rows(v1, pending.events);
    addJournalRow(v1, legacyJournal(pending.events, pending.sketches));
    v1.close();

    await expectUpgradedLikeFresh(file, { written: [folded, pending], forget: 's3' });
  });
});

describe('sqliteAggregator: migration 3 (from schema 2: no events_session index)', () => {
  it('upgrades a schema-2 store with folded rows and a journal row still pending', async () => {
    const data = eventsOf(150, 3);
    const [folded, pending] = batches(data, 70) as [Batch, Batch];
    const file = join(dir, 'v2.db');
    const v2 = oldSchema(file, 2);
    expect(v2.prepare("SELECT name FROM sqlite_master WHERE name = 'events_session'").pluck().get()).toBe(
      'events_session',
    );
    insertSchema4Rows(v2, folded.events);
    foldedIntoOldSchema(v2, folded.events, folded.sketches);
    const r = insertSchema4Rows(v2, pending.events);
    addJournalRow(v2, schema4Journal('v2-writer', r.first, r.last, pending.sketches));
    v2.close();

    await expectUpgradedLikeFresh(file, { written: [folded, pending], forget: 's5' });
  });
});

describe('sqliteAggregator: migration 4 (from schema 3: session_day)', () => {
  it('upgrades a schema-3 store: stored rows and rows still in the journal each summed into session_day once', async () => {
    const data = eventsOf(140, 4);
    const [folded, pending] = batches(data, 60) as [Batch, Batch];
    const file = join(dir, 'v3.db');
    const v3 = oldSchema(file, 3);
    insertSchema4Rows(v3, folded.events);
    foldedIntoOldSchema(v3, folded.events, folded.sketches);
    const r = insertSchema4Rows(v3, pending.events);
    addJournalRow(v3, schema4Journal('v3-writer', r.first, r.last, pending.sketches));
    v3.close();

    // Migration 4 alone (on a copy) sums only the rows no journal row names: their fold adds the rest.
    const step = join(dir, 'v3-step.db');
    copyFileSync(file, step);
    const v4 = new Database(step);
    migrate(v4, 4);
    const consenting = (b: Batch) => b.events.filter((e) => e.session !== undefined && e.kind === 'pageview').length;
    expect(v4.prepare('SELECT sum(pageviews) FROM session_day').pluck().get()).toBe(consenting(folded));
    v4.close();

    await expectUpgradedLikeFresh(file, { written: [folded, pending], forget: 's7' });
  });
});

describe('sqliteAggregator: migration 5 (raw events as blocks)', () => {
  it('rebuilds each schema-4 row exactly as the view events did, key order included (property)', () => {
    let n = 0;
    fc.assert(
      fc.property(fc.array(eventArb, { minLength: 1, maxLength: 30 }), (events) => {
        const db = new Database(join(dir, `rebuild-${n++}.db`));
        try {
          migrate(db, 4);
          insertSchema4Rows(db, events);
          const docs = db.prepare('SELECT doc FROM events ORDER BY seq').pluck().all() as string[];
          const rows = db.prepare('SELECT * FROM event_rows ORDER BY seq').all() as Parameters<
            typeof schema4Event
          >[0][];
          expect(rows.map((r) => JSON.stringify(schema4Event(r)))).toEqual(docs);
          expect(rows.map(schema4Event)).toEqual(events);
        } finally {
          db.close();
        }
      }),
      { numRuns: 60 },
    );
  });

  it('upgrades what a crashed schema-4 writer left: folded rollups, journal rows pending (one with its sessions summed)', async () => {
    const data = eventsOf(300, 5);
    const [folded, summed, pending] = batches(data, 100, 80) as [Batch, Batch, Batch];
    // Sketch updates only (every event of the batch was stored before): a journal row naming no rows.
    const replay = batchOf(
      folded.events.slice(0, 40),
      folded.events.slice(0, 40).map((_, i) => `v-replay-${i}`),
    );
    const file = join(dir, 'v4.db');
    const v4 = oldSchema(file, 4);
    const a = insertSchema4Rows(v4, folded.events);
    foldedIntoOldSchema(v4, folded.events, folded.sketches);
    sumSchema4Sessions(v4, a);
    // The short session transactions of a scheduled fold summed this row's sessions; its fold did not run.
    const b = insertSchema4Rows(v4, summed.events);
    sumSchema4Sessions(v4, b, addJournalRow(v4, schema4Journal('writer-1', b.first, b.last, summed.sketches)));
    const c = insertSchema4Rows(v4, pending.events);
    addJournalRow(v4, schema4Journal('writer-1', c.first, c.last, pending.sketches));
    addJournalRow(v4, schema4Journal('writer-2', 0, 0, replay.sketches));
    expect(v4.prepare('SELECT count(*) FROM pending').pluck().get()).toBe(3);
    v4.close();

    await expectUpgradedLikeFresh(file, { written: [folded, summed, pending, replay], forget: 's1' });
  });

  it('writes a schema-4 store of 1 000+ rows as blocks of at most 250 events, every id once in event_ids', async () => {
    const data = eventsOf(1203, 6);
    const file = join(dir, 'v4-large.db');
    const v4 = oldSchema(file, 4);
    const [first, second] = batches(data, 700) as [Batch, Batch];
    sumSchema4Sessions(v4, insertSchema4Rows(v4, first.events));
    foldedIntoOldSchema(v4, first.events, first.sketches);
    const r = insertSchema4Rows(v4, second.events);
    addJournalRow(v4, schema4Journal('w', r.first, r.last, second.sketches));
    const rows = v4.prepare('SELECT count(*) FROM event_rows').pluck().get() as number;
    v4.close();
    expect(rows).toBe(1203);

    const a = sqliteAggregator({ file, retentionDays: KEEP_DAYS });
    try {
      expect(await a.readEvents()).toEqual(data.events);
      // A time range picks events out of blocks whose ts ranges overlap it (rows are in seq order, not time order).
      const from = Date.parse(`${DAY}T06:00:00.000Z`);
      const to = Date.parse(`${DAY}T09:30:00.000Z`);
      const inRange = data.events.filter((e) => Date.parse(e.time) >= from && Date.parse(e.time) < to);
      expect(inRange.length).toBeGreaterThan(0);
      expect(await a.readEvents({ from, to })).toEqual(inRange);
    } finally {
      await a.close();
    }
    const db = new Database(file, { readonly: true });
    try {
      const blocks = db.prepare('SELECT id, n, ts_min, ts_max, ids FROM event_blocks ORDER BY id').all() as Array<{
        id: number;
        n: number;
        ts_min: number;
        ts_max: number;
        ids: string;
      }>;
      expect(blocks.map((b) => b.n)).toEqual([250, 250, 250, 250, 203]);
      expect(db.prepare('SELECT sum(n) FROM event_blocks').pluck().get()).toBe(rows);
      expect(db.prepare('SELECT count(*) FROM event_ids').pluck().get()).toBe(rows);
      // In seq order: block k holds rows k*250 .. k*250+249, and its ts range is theirs.
      for (let k = 0; k < blocks.length; k++) {
        const mine = data.events.slice(k * BLOCK_EVENTS, (k + 1) * BLOCK_EVENTS);
        expect(JSON.parse(blocks[k]!.ids)).toEqual(mine.map((e) => e.id));
        const ts = mine.map((e) => Date.parse(e.time));
        expect([blocks[k]!.ts_min, blocks[k]!.ts_max]).toEqual([Math.min(...ts), Math.max(...ts)]);
      }
      const blockOf = db.prepare('SELECT block FROM event_ids WHERE id = ?').pluck();
      data.events.forEach((e, i) => {
        expect(blockOf.get(e.id)).toBe(blocks[Math.floor(i / BLOCK_EVENTS)]!.id);
      });
    } finally {
      db.close();
    }
    await expectUpgradedLikeFresh(file, { written: [first, second], forget: 's4' });
  });

  it('upgrades an empty schema-4 store to no blocks; written afterwards, it answers as a fresh store (the control)', async () => {
    const file = join(dir, 'v4-empty.db');
    oldSchema(file, 4).close();
    const data = eventsOf(120, 7);
    const a = sqliteAggregator({ file, retentionDays: KEEP_DAYS });
    try {
      expect(await a.readEvents()).toEqual([]);
    } finally {
      await a.close();
    }
    const db = new Database(file, { readonly: true });
    expect(db.prepare('SELECT count(*) FROM event_blocks').pluck().get()).toBe(0);
    db.close();
    // Written after the upgrade, never before: still the same as a fresh store.
    const v5 = sqliteAggregator({ file, retentionDays: KEEP_DAYS });
    await v5.write(batchOf(data.events, data.visitors));
    await v5.close();
    const reopened = new Database(file);
    expect(reopened.pragma('user_version', { simple: true })).toBe(SQLITE_MIGRATIONS.length);
    reopened.close();
    await expectUpgradedLikeFresh(file, { written: [batchOf(data.events, data.visitors)], forget: 's2' });
  });

  it('a migration that fails leaves the file as it was, with an error that says so (not "create a new one")', () => {
    const file = join(dir, 'v4-bad.db');
    const v4 = oldSchema(file, 4);
    const events = eventsOf(300, 8).events;
    insertSchema4Rows(v4, events);
    // One row the view cannot rebuild (its positional JSON cut short): migration 5 stops at its block.
    v4.prepare('UPDATE event_rows SET rest = substr(rest, 1, 20) WHERE seq = 280').run();
    v4.close();
    let err: PrivacyLogError | undefined;
    try {
      sqliteAggregator({ file, retentionDays: KEEP_DAYS });
    } catch (e) {
      err = e as PrivacyLogError;
    }
    expect(err?.code).toBe('PRIVACY_LOG_E_STORE_UNAVAILABLE');
    expect(err?.cause).toBeInstanceOf(Error);
    // The file holds the data: the advice for a file that is not a database would lose it.
    expect(err?.message).not.toContain('create a new one');
    expect(err?.message).toContain('schema version 4');
    const db = new Database(file, { readonly: true });
    try {
      expect(db.pragma('user_version', { simple: true })).toBe(4);
      expect(db.prepare('SELECT count(*) FROM event_rows').pluck().get()).toBe(events.length);
      expect(db.prepare("SELECT count(*) FROM sqlite_master WHERE name = 'event_blocks'").pluck().get()).toBe(0);
    } finally {
      db.close();
    }
  });

  it('upgrades any split of the data into folded, session-summed and pending batches, from any schema (property)', async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(
        datasetArbitrary(100),
        fc.constantFrom(1, 2, 3, 4),
        fc.array(fc.integer({ min: 0, max: 100 }), { minLength: 3, maxLength: 3 }),
        fc.boolean(),
        async (data, version, cuts, legacy) => {
          const [a, b, c] = [...cuts].sort((x, y) => x - y) as [number, number, number];
          const part = (from: number, to: number) =>
            from >= to ? [] : [batchOf(data.events.slice(from, to), data.visitors.slice(from, to))];
          // Sketches only: events stored before, seen again from other visitors.
          const replay = batchOf(
            data.events.slice(0, a),
            data.events.slice(0, a).map((_, i) => `r${i % 5}`),
          );
          const plan = {
            folded: part(0, a),
            summed: part(a, b),
            pending: [...part(b, c), ...part(c, data.events.length), ...(a > 0 ? [replay] : [])],
            legacy: version === 1 && legacy,
          };
          const file = join(dir, `split-${n++}.db`);
          buildOldStore(file, version, plan);
          const written = [...plan.folded, ...plan.summed, ...plan.pending];
          const forget = data.events.find((e) => e.session !== undefined)?.session?.id;
          await expectUpgradedLikeFresh(file, { written, forget, nonEmpty: false });
        },
      ),
      { numRuns: 20 },
    );
  });

  it('gives back exactly the events written as schema-1 or schema-4 rows, whatever they hold (property)', async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(eventArb, { minLength: 1, maxLength: 30 }),
        fc.constantFrom(1, 4),
        async (events, version) => {
          const file = join(dir, `prop-${n++}.db`);
          const db = oldSchema(file, version);
          const stored = expectedEvents([{ events, sketches: [] }]);
          if (version === 1) insertSchema1Rows(db, events);
          else insertSchema4Rows(db, events);
          db.close();
          const a = sqliteAggregator({ file, retentionDays: KEEP_DAYS });
          try {
            expect(await a.readEvents()).toEqual(stored);
          } finally {
            await a.close();
          }
        },
      ),
      { numRuns: 20 },
    );
  });
});
