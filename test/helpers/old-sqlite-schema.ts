/**
 * Fixtures for the SQLite upgrade tests: what older privacy-log versions wrote
 * into the schema versions before blocks (1–4), frozen here because the
 * current code writes only schema 5. The test builds the old schema with
 * `migrate(db, n)`, then fills it with these — rows, journal rows and folded
 * rollups exactly as the old write path and fold left them.
 */
import type Database from 'better-sqlite3';
import type { SketchUpdate } from '../../src/aggregators/aggregator.js';
import type { PrivacyEvent } from '../../src/event.js';
import { type EventRow, eventRow } from '../../src/stats/event-columns.js';
import { mergePairsIntoBlob } from '../../src/stats/hll.js';
import { rollupIncrements } from '../../src/stats/rollup.js';

/** Version of the positional `rest` layout (its first element), schema 2–4. */
const EVENT_DOC_VERSION = 1;
const DAY_MS = 86_400_000;

/**
 * The `rest` column of schema 2–4 (event_rows): what the event holds beyond
 * the row's other columns, positionally — as event-doc.ts wrote it before
 * blocks (removed from src in c39e6d3). The view `events` rebuilds the event from it.
 *
 * @example
 * eventRest(e, eventRow(e)); // '[1,"2026-03-10T08:00:00.000Z","GET",null,...]'
 */
export function eventRest(e: PrivacyEvent, r: EventRow): string {
  const q = e.request;
  const c = e.client;
  const a = e.agent;
  const f = e.referrer;
  const d = e.download;
  const n = e.consent;
  return JSON.stringify([
    EVENT_DOC_VERSION,
    e.time,
    q.method,
    r.page === undefined ? q.path : null,
    q.query ?? null,
    q.route ?? null,
    e.response.status,
    e.response.bytes ?? null,
    e.response.durationMs,
    c.address,
    c.prefixLength,
    c.asn ?? null,
    a.browserVersion ?? null,
    a.osVersion ?? null,
    f === undefined ? null : f.type,
    f === undefined || r.referrer !== undefined ? null : f.host,
    f?.path ?? null,
    d === undefined ? null : d.complete,
    d?.contentType ?? null,
    n.analytics,
    n.source,
    n.policyVersion ?? null,
  ]);
}

/** The column values every schema stores beside the event (schema 1: + doc; 2–4: + rest). */
function columns(r: EventRow): unknown[] {
  return [
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
  ];
}

const COLUMNS = 'id, ts, site, kind, page, referrer, browser, os, device, isp, domain, download, bot, session_id';

/** The seq range of the rows an insert added (first > last when none). */
export interface SeqRange {
  first: number;
  last: number;
}

function insertRows(db: Database.Database, table: string, last: string, events: readonly PrivacyEvent[]): SeqRange {
  const ins = db.prepare(`INSERT OR IGNORE INTO ${table} (${COLUMNS}, ${last}) VALUES (${'?, '.repeat(14)}?)`);
  let first = 0;
  let lastSeq = 0;
  db.transaction(() => {
    for (const e of events) {
      const r = eventRow(e);
      const info = ins.run(...columns(r), last === 'doc' ? JSON.stringify(e) : eventRest(e, r));
      if (info.changes === 0) continue;
      if (first === 0) first = Number(info.lastInsertRowid);
      lastSeq = Number(info.lastInsertRowid);
    }
  })();
  return { first: first === 0 ? 1 : first, last: lastSeq };
}

/**
 * Insert events as schema 1 stored them: table `events`, the event's JSON in `doc`.
 *
 * @example
 * migrate(db, 1);
 * insertSchema1Rows(db, events);
 */
export function insertSchema1Rows(db: Database.Database, events: readonly PrivacyEvent[]): SeqRange {
  return insertRows(db, 'events', 'doc', events);
}

/**
 * Insert events as schema 2–4 stored them: table `event_rows`, the positional `rest`.
 * Returns the seqs they took (consecutive: one connection inserts).
 *
 * @example
 * migrate(db, 4);
 * const { first, last } = insertSchema4Rows(db, events);
 */
export function insertSchema4Rows(db: Database.Database, events: readonly PrivacyEvent[]): SeqRange {
  return insertRows(db, 'event_rows', 'rest', events);
}

/**
 * A journal row of schema 1 (after seq ranges) to 4: the seq range of the rows
 * its batch inserted (0, 0 when none) and its sketch updates as packed pairs.
 * The frozen encoder of the old write path.
 *
 * @example
 * db.prepare('INSERT INTO pending (payload) VALUES (?)').run(schema4Journal('w1', 1, 50, sketches));
 */
export function schema4Journal(token: string, first: number, last: number, sketches: readonly SketchUpdate[]): string {
  const bytes: number[] = [];
  const k = sketches.map((u) => {
    for (const [i, r] of u.registers) bytes.push(i >> 8, i & 0xff, r);
    return [u.dimension, u.day, u.site, u.value, u.registers.length];
  });
  return JSON.stringify({ w: token, f: first, l: last, k, r: Buffer.from(bytes).toString('base64') });
}

/**
 * A journal row of schema version 1 before seq ranges (`{"d":...}`, see
 * decodeLegacyJournal): the rollup increments of its events and one sketch blob per update.
 *
 * @example
 * db.prepare('INSERT INTO pending (payload) VALUES (?)').run(legacyJournal(events, sketches));
 */
export function legacyJournal(events: readonly PrivacyEvent[], sketches: readonly SketchUpdate[]): string {
  const inc = rollupIncrements(events.map(eventRow));
  return JSON.stringify({
    d: inc.days.map((x) => [x.dimension, x.day, x.site, x.value, x.bot ? 1 : 0, x.events, x.pageviews, x.downloads]),
    s: inc.slots.map((x) => [x.slot, x.site, x.bot ? 1 : 0, x.events, x.pageviews, x.downloads]),
    k: sketches.map((u) => [
      u.dimension,
      u.day,
      u.site,
      u.value,
      Buffer.from(mergePairsIntoBlob(undefined, u.registers)).toString('base64'),
    ]),
  });
}

/**
 * What a fold of schema 1–4 added for a batch: its events' rollup increments
 * and its sketch updates (one appended blob each). Not session_day (schema 4:
 * see sumSchema4Sessions).
 *
 * @example
 * foldedIntoOldSchema(db, batch.events, batch.sketches);
 */
export function foldedIntoOldSchema(
  db: Database.Database,
  events: readonly PrivacyEvent[],
  sketches: readonly SketchUpdate[],
): void {
  const day = db.prepare(
    `INSERT INTO rollup_day (dimension, day, site, value, bot, events, pageviews, downloads) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (dimension, day, site, value, bot) DO UPDATE SET events = events + excluded.events,
       pageviews = pageviews + excluded.pageviews, downloads = downloads + excluded.downloads`,
  );
  const slot = db.prepare(
    `INSERT INTO rollup_slot (slot, site, bot, events, pageviews, downloads) VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT (slot, site, bot) DO UPDATE SET events = events + excluded.events,
       pageviews = pageviews + excluded.pageviews, downloads = downloads + excluded.downloads`,
  );
  const sketch = db.prepare('INSERT INTO sketches (dimension, day, site, value, registers) VALUES (?, ?, ?, ?, ?)');
  const inc = rollupIncrements(events.map(eventRow));
  db.transaction(() => {
    for (const x of inc.days)
      day.run(x.dimension, x.day, x.site, x.value, x.bot ? 1 : 0, x.events, x.pageviews, x.downloads);
    for (const x of inc.slots) slot.run(x.slot, x.site, x.bot ? 1 : 0, x.events, x.pageviews, x.downloads);
    for (const u of sketches)
      sketch.run(u.dimension, u.day, u.site, u.value, mergePairsIntoBlob(undefined, u.registers));
  })();
}

/**
 * Schema 4: the sessions of rows [first, last] summed into session_day, as
 * the fold (or, with `journalRow`, the short session transactions before a
 * scheduled fold, which also mark the journal row in session_folded) did.
 *
 * @example
 * sumSchema4Sessions(db, range, journalId); // that row's sessions are summed, its fold still pending
 */
export function sumSchema4Sessions(db: Database.Database, range: SeqRange, journalRow?: number): void {
  db.transaction(() => {
    db.prepare(
      `INSERT INTO session_day (session_id, day, site, bot, first_ts, last_ts, pageviews)
       SELECT session_id, ts / ${DAY_MS}, site, bot, MIN(ts), MAX(ts), COUNT(CASE WHEN kind = 'pageview' THEN 1 END)
       FROM event_rows WHERE seq BETWEEN ? AND ? AND session_id IS NOT NULL GROUP BY 1, 2, 3, 4
       ON CONFLICT (session_id, day, site, bot) DO UPDATE SET first_ts = min(first_ts, excluded.first_ts),
         last_ts = max(last_ts, excluded.last_ts), pageviews = pageviews + excluded.pageviews`,
    ).run(range.first, range.last);
    if (journalRow !== undefined) db.prepare('INSERT INTO session_folded (id) VALUES (?)').run(journalRow);
  })();
}

/**
 * Append a journal row; returns its id.
 *
 * @example
 * const id = addJournalRow(db, schema4Journal('w1', first, last, sketches));
 */
export function addJournalRow(db: Database.Database, payload: string): number {
  return Number(db.prepare('INSERT INTO pending (payload) VALUES (?)').run(payload).lastInsertRowid);
}
