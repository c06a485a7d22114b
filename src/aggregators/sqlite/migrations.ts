/**
 * The SQLite schema, as versioned migrations applied in order inside one
 * transaction each; `PRAGMA user_version` records the version reached.
 */
import type Database from 'better-sqlite3';
import { blocksFromEventRows } from './migrate-to-blocks.js';
import { sketchBundler } from './sketch-deltas.js';

/** A migration: SQL, or a function for what SQL alone cannot do (it runs inside the migration's transaction). */
export type SqliteMigration = string | ((db: Database.Database) => void);

/** The schema version raw events took their current form at (event blocks, migration 5): what `privacy-log events` reads. */
export const EVENT_BLOCKS_SCHEMA_VERSION = 5;

/** Migration n (1-based) brings the schema from version n-1 to n. Append only; never edit a shipped one. */
export const SQLITE_MIGRATIONS: readonly SqliteMigration[] = [
  `
  CREATE TABLE events (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    ts INTEGER NOT NULL,
    site TEXT NOT NULL,
    kind TEXT NOT NULL,
    page TEXT,
    referrer TEXT,
    browser TEXT,
    os TEXT,
    device TEXT NOT NULL,
    isp TEXT,
    domain TEXT,
    download TEXT,
    bot INTEGER NOT NULL,
    session_id TEXT,
    doc TEXT NOT NULL
  );
  CREATE INDEX events_ts ON events (ts);
  CREATE INDEX events_session ON events (session_id) WHERE session_id IS NOT NULL;
  -- Covers the session metrics (consenting rows only) without touching the table.
  CREATE INDEX events_session_ts ON events (ts, session_id, kind, bot, site) WHERE session_id IS NOT NULL;
  CREATE TABLE rollup_day (
    dimension TEXT NOT NULL,
    day TEXT NOT NULL,
    site TEXT NOT NULL,
    value TEXT NOT NULL,
    bot INTEGER NOT NULL,
    events INTEGER NOT NULL,
    pageviews INTEGER NOT NULL,
    downloads INTEGER NOT NULL,
    PRIMARY KEY (dimension, day, site, value, bot)
  ) WITHOUT ROWID;
  CREATE TABLE rollup_slot (
    slot INTEGER NOT NULL,
    site TEXT NOT NULL,
    bot INTEGER NOT NULL,
    events INTEGER NOT NULL,
    pageviews INTEGER NOT NULL,
    downloads INTEGER NOT NULL,
    PRIMARY KEY (slot, site, bot)
  ) WITHOUT ROWID;
  -- Sketches are appended as small deltas (the registers a batch brought) and
  -- compacted to one row per key off the write path; readers merge all rows.
  CREATE TABLE sketches (
    dimension TEXT NOT NULL,
    day TEXT NOT NULL,
    site TEXT NOT NULL,
    value TEXT NOT NULL,
    registers BLOB NOT NULL
  );
  CREATE INDEX sketches_key ON sketches (dimension, day, site, value);
  -- The write path's journal: each batch records the rollup increments of the
  -- events it inserted and its sketch updates, as one row; folding the journal
  -- into rollups and sketches happens off the write path, and before any read.
  CREATE TABLE pending (
    id INTEGER PRIMARY KEY,
    payload TEXT NOT NULL
  );
  CREATE TABLE salts (
    day TEXT PRIMARY KEY,
    salt TEXT NOT NULL
  ) WITHOUT ROWID;
  `,
  `
  -- Ingest: the event's JSON is no longer written beside its columns. Raw
  -- events move to event_rows with only what the columns do not hold (rest);
  -- the view events gives readers the same columns and doc as before.
  -- Raw events. Written here; read through the view events below.
  CREATE TABLE event_rows (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    ts INTEGER NOT NULL,
    site TEXT NOT NULL,
    kind TEXT NOT NULL,
    page TEXT,
    referrer TEXT,
    browser TEXT,
    os TEXT,
    device TEXT NOT NULL,
    isp TEXT,
    domain TEXT,
    download TEXT,
    bot INTEGER NOT NULL,
    session_id TEXT,
    -- What the event holds beyond the columns above, positionally (event-doc.ts).
    rest TEXT NOT NULL
  );
  INSERT INTO event_rows (seq, id, ts, site, kind, page, referrer, browser, os, device, isp, domain, download, bot, session_id, rest)
    SELECT seq, id, ts, site, kind, page, referrer, browser, os, device, isp, domain, download, bot, session_id,
      json_array(1, doc ->> '$.time', doc ->> '$.request.method',
      CASE WHEN kind = 'pageview' THEN NULL ELSE doc ->> '$.request.path' END,
      doc ->> '$.request.query', doc ->> '$.request.route',
      doc -> '$.response.status', doc -> '$.response.bytes', doc -> '$.response.durationMs',
      doc ->> '$.client.address', doc -> '$.client.prefixLength', doc -> '$.client.asn',
      doc ->> '$.agent.browserVersion', doc ->> '$.agent.osVersion',
      doc ->> '$.referrer.type', CASE WHEN referrer IS NULL THEN doc ->> '$.referrer.host' END, doc ->> '$.referrer.path',
      doc -> '$.download.complete', doc ->> '$.download.contentType',
      doc ->> '$.consent.analytics', doc ->> '$.consent.source', doc ->> '$.consent.policyVersion')
    FROM events;
  DROP TABLE events;
  CREATE INDEX events_ts ON event_rows (ts);
  CREATE INDEX events_session ON event_rows (session_id) WHERE session_id IS NOT NULL;
  -- Covers the session metrics (consenting rows only) without touching the table.
  CREATE INDEX events_session_ts ON event_rows (ts, session_id, kind, bot, site) WHERE session_id IS NOT NULL;
  -- What readers query: the rows with doc, the event's JSON, computed from the
  -- row when selected (never written). Absent optional fields are left out:
  -- the merge patch onto '{}' drops the nulls. SQLite flattens this view into
  -- queries, so they use event_rows' indexes and never compute doc unasked.
  CREATE VIEW events AS SELECT seq, id, ts, site, kind, page, referrer, browser, os, device, isp, domain, download, bot,
    session_id, rest,
    json_patch('{}', json_object(
    'id', id,
    'time', rest ->> 1,
    'site', site,
    'kind', kind,
    'request', json_object('method', rest ->> 2, 'path', coalesce(rest ->> 3, page), 'query', rest ->> 4, 'route', rest ->> 5),
    'response', json_object('status', json(rest -> 6), 'bytes', json(rest -> 7), 'durationMs', json(rest -> 8)),
    'client', json_object('address', rest ->> 9, 'prefixLength', json(rest -> 10), 'isp', isp, 'asn', json(rest -> 11), 'domain', domain),
    'agent', json_object('browser', browser, 'browserVersion', rest ->> 12, 'os', os, 'osVersion', rest ->> 13, 'device', device,
      'bot', json(CASE bot WHEN 0 THEN 'false' ELSE 'true' END)),
    'referrer', CASE WHEN rest ->> 14 IS NOT NULL THEN json_object('host', coalesce(rest ->> 15, referrer), 'path', rest ->> 16, 'type', rest ->> 14) END,
    'download', CASE WHEN rest ->> 17 IS NOT NULL THEN json_object('file', download, 'complete', json(rest -> 17), 'contentType', rest ->> 18) END,
    'consent', json_object('analytics', rest ->> 19, 'source', rest ->> 20, 'policyVersion', rest ->> 21),
    'session', CASE WHEN session_id IS NOT NULL THEN json_object('id', session_id) END
  )) AS doc
  FROM event_rows;
  `,
  `
  -- Ingest: session ids arrive in random order, so this index took ~1 us of
  -- every event's write (a random page of the B-tree dirtied per row).
  -- forget(sessionId) finds a session's rows through events_session_ts, the
  -- covering index of consenting rows, instead.
  DROP INDEX events_session;
  `,
  `
  -- Session metrics: per (session, UTC day as epoch ms / 86400000, site, bot)
  -- the first and last event and the pageviews of its raw events, added when
  -- the journal is folded (like the rollups), erased by forget, cut with the
  -- raw events by retention. Keyed by session first, so a query groups the
  -- sessions of a range in key order, without a sort of the raw rows.
  CREATE TABLE session_day (
    session_id TEXT NOT NULL,
    day INTEGER NOT NULL,
    site TEXT NOT NULL,
    bot INTEGER NOT NULL,
    first_ts INTEGER NOT NULL,
    last_ts INTEGER NOT NULL,
    pageviews INTEGER NOT NULL,
    PRIMARY KEY (session_id, day, site, bot)
  ) WITHOUT ROWID;
  -- Retention deletes by day.
  CREATE INDEX session_day_day ON session_day (day);
  -- Journal rows whose sessions are in session_day already (summed in short
  -- transactions before a scheduled fold); the fold skips them, then drops them.
  CREATE TABLE session_folded (id INTEGER PRIMARY KEY);
  -- The rows already stored, except those named by journal rows still to fold
  -- (their fold adds them). Journal rows of schema version 1 name no rows.
  INSERT INTO session_day (session_id, day, site, bot, first_ts, last_ts, pageviews)
    SELECT session_id, ts / 86400000, site, bot, MIN(ts), MAX(ts), COUNT(CASE WHEN kind = 'pageview' THEN 1 END)
    FROM event_rows e
    WHERE session_id IS NOT NULL AND NOT EXISTS (
      SELECT 1 FROM pending p WHERE e.seq BETWEEN p.payload ->> '$.f' AND p.payload ->> '$.l')
    GROUP BY 1, 2, 3, 4;
  `,
  // Raw events as blocks (block-store.ts, event-block.ts): one row per write slice instead of one per event.
  blocksFromEventRows,
  // Compacted sketches as one bundle per (dimension, day, site) (sketch-bundle.ts); `sketches` keeps the deltas.
  sketchesIntoBundles,
];

/**
 * Migration 6: table `sketch_days`, one row per (dimension, UTC day, site)
 * holding every value's compacted sketch, and every row of `sketches` merged
 * into it (a bundle at a time: the rows of one, then the next).
 */
function sketchesIntoBundles(db: Database.Database): void {
  db.exec(`
    CREATE TABLE sketch_days (
      dimension TEXT NOT NULL,
      day TEXT NOT NULL,
      site TEXT NOT NULL,
      bundle BLOB NOT NULL,
      PRIMARY KEY (dimension, day, site)
    );
  `);
  const groups = db.prepare('SELECT DISTINCT dimension, day, site FROM sketches').raw().all() as Array<
    [string, string, string]
  >;
  const bundle = sketchBundler(db);
  for (const [dimension, day, site] of groups) bundle(dimension, day, site);
}

/**
 * Apply the migrations the database has not seen yet, up to `target` (tests
 * build older schemas with it). Returns the version reached.
 */
export function migrate(db: Database.Database, target = SQLITE_MIGRATIONS.length): number {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > SQLITE_MIGRATIONS.length) {
    throw new Error(
      `the database is at schema version ${current}, newer than this privacy-log knows (${SQLITE_MIGRATIONS.length}); upgrade privacy-log`,
    );
  }
  for (let v = current; v < target; v++) {
    const m = SQLITE_MIGRATIONS[v]!;
    db.transaction(() => {
      if (typeof m === 'string') db.exec(m);
      else m(db);
      db.pragma(`user_version = ${v + 1}`);
    }).immediate();
  }
  return Math.max(current, target);
}
