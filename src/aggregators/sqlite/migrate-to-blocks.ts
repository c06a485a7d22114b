/**
 * Migration 5: raw events move from one row each (event_rows, read through
 * the view events) to blocks (event_blocks + event_ids, see block-store.ts).
 *
 * The schema-4 journal names its events by `seq` range, and those rows go
 * away here, so first what it names is added: the rollups and session_day of
 * its rows, in the SQL the schema-4 fold used. Its journal rows keep their
 * sketch updates, re-pointed at no block (`"b":0`), for the next fold. Then
 * each row's event is rebuilt from its columns and `rest` (exactly as the
 * view `events` rebuilds it, in JS: ≈ 3× faster than reading the view) and
 * written as blocks of BLOCK_EVENTS, in `seq` order.
 */
import type Database from 'better-sqlite3';
import type { ConsentSource, ConsentValue, DeviceClass, EventKind, PrivacyEvent, ReferrerType } from '../../event.js';
import { COLUMN_PROPERTIES, DAY_MS, eventRow, SLOT_MS } from '../../stats/event-columns.js';
import { encodeBlock } from './event-block.js';

/** Events per block written by the migration (the write path's slice size). */
const BLOCK_EVENTS = 250;

const BLOCK_TABLES_SQL = `
  -- One row per write slice. The columns queries read come first (a reader
  -- that stops at sessions never walks the overflow pages of ids and rest).
  CREATE TABLE event_blocks (
    id INTEGER PRIMARY KEY,
    ts_min INTEGER NOT NULL,
    ts_max INTEGER NOT NULL,
    n INTEGER NOT NULL,
    cols BLOB NOT NULL,
    dict TEXT NOT NULL,
    sessions TEXT NOT NULL,
    ids TEXT NOT NULL,
    rest BLOB NOT NULL
  );
  -- Blocks overlapping a range: ts_max >= from, then ts_min < to on the index entries.
  CREATE INDEX event_blocks_ts ON event_blocks (ts_max, ts_min);
  -- Every stored event id and its block: INSERT OR IGNORE here is what keeps
  -- writes idempotent. No index on block: whoever deletes events deletes
  -- their ids by id (a block lists its ids).
  CREATE TABLE event_ids (
    id TEXT PRIMARY KEY,
    block INTEGER NOT NULL
  ) WITHOUT ROWID;
`;

/**
 * The schema-4 fold's rollup increments, computed by SQLite from the event
 * rows of one journal row's `seq` range @f..@l, in one pass over the rows
 * crossed with the property list.
 */
function foldRollupsV4Sql(): { days: string; slots: string } {
  const where = 'seq BETWEEN @f AND @l';
  const counts = `COUNT(*), COUNT(CASE WHEN kind = 'pageview' THEN 1 END), COUNT(CASE WHEN kind = 'download' THEN 1 END)`;
  const dims = COLUMN_PROPERTIES.map((d) => `('${d}')`).join(', ');
  const value = `CASE d.column1 ${COLUMN_PROPERTIES.map((d) => `WHEN '${d}' THEN ${d}`).join(' ')} END`;
  const update = `events = events + excluded.events, pageviews = pageviews + excluded.pageviews, downloads = downloads + excluded.downloads`;
  return {
    days: `INSERT INTO rollup_day (dimension, day, site, value, bot, events, pageviews, downloads)
      SELECT dimension, day, site, value, bot, ${counts} FROM (
        SELECT d.column1 AS dimension, date(ts / 1000, 'unixepoch') AS day, site, ${value} AS value, bot, kind
        FROM event_rows CROSS JOIN (VALUES ${dims}) AS d WHERE ${where}
      ) WHERE value IS NOT NULL
      GROUP BY 1, 2, 3, 4, 5
      ON CONFLICT (dimension, day, site, value, bot) DO UPDATE SET ${update}`,
    slots: `INSERT INTO rollup_slot (slot, site, bot, events, pageviews, downloads)
      SELECT ts / ${SLOT_MS} AS slot, site, bot, ${counts} FROM event_rows WHERE ${where}
      GROUP BY 1, 2, 3
      ON CONFLICT (slot, site, bot) DO UPDATE SET ${update}`,
  };
}

/** The schema-4 fold's session sums: the rows named by journal rows not summed yet. */
const FOLD_SESSIONS_V4 = `
  INSERT INTO session_day (session_id, day, site, bot, first_ts, last_ts, pageviews)
  SELECT session_id, ts / ${DAY_MS}, site, bot, MIN(ts), MAX(ts), COUNT(CASE WHEN kind = 'pageview' THEN 1 END)
  FROM pending p JOIN event_rows e ON e.seq BETWEEN p.payload ->> '$.f' AND p.payload ->> '$.l'
  WHERE p.payload NOT LIKE '{"d":%' AND p.id NOT IN (SELECT id FROM session_folded) AND e.session_id IS NOT NULL
  GROUP BY 1, 2, 3, 4
  ON CONFLICT (session_id, day, site, bot) DO UPDATE SET first_ts = min(first_ts, excluded.first_ts),
    last_ts = max(last_ts, excluded.last_ts), pageviews = pageviews + excluded.pageviews`;

/** A row of schema 2–4's event_rows. */
interface Schema4Row {
  seq: number;
  id: string;
  site: string;
  kind: string;
  page: string | null;
  referrer: string | null;
  browser: string | null;
  os: string | null;
  device: string;
  isp: string | null;
  domain: string | null;
  download: string | null;
  bot: number;
  session_id: string | null;
  rest: string;
}

/** Set `o[key] = v` unless v is null or undefined (the view's merge patch onto '{}' drops nulls). */
function put(o: Record<string, unknown>, key: string, v: unknown): void {
  if (v !== null && v !== undefined) o[key] = v;
}

/**
 * The event of a schema 2–4 row, as the view `events` of migration 2 builds
 * its `doc`: the columns, plus `rest` — [version, time, method, path when not
 * the page column, query, route, status, bytes, durationMs, address,
 * prefixLength, asn, browserVersion, osVersion, referrer type, referrer host
 * when not the referrer column, referrer path, download complete,
 * contentType, analytics, source, policyVersion].
 */
export function schema4Event(r: Schema4Row): PrivacyEvent {
  const x = JSON.parse(r.rest) as unknown[];
  const request: Record<string, unknown> = {};
  put(request, 'method', x[2]);
  put(request, 'path', x[3] ?? r.page);
  put(request, 'query', x[4]);
  put(request, 'route', x[5]);
  const response: Record<string, unknown> = {};
  put(response, 'status', x[6]);
  put(response, 'bytes', x[7]);
  put(response, 'durationMs', x[8]);
  const client: Record<string, unknown> = {};
  put(client, 'address', x[9]);
  put(client, 'prefixLength', x[10]);
  put(client, 'isp', r.isp);
  put(client, 'asn', x[11]);
  put(client, 'domain', r.domain);
  const agent: Record<string, unknown> = {};
  put(agent, 'browser', r.browser);
  put(agent, 'browserVersion', x[12]);
  put(agent, 'os', r.os);
  put(agent, 'osVersion', x[13]);
  put(agent, 'device', r.device as DeviceClass);
  agent.bot = r.bot !== 0;
  const e: Record<string, unknown> = {};
  put(e, 'id', r.id);
  put(e, 'time', x[1]);
  put(e, 'site', r.site);
  put(e, 'kind', r.kind as EventKind);
  e.request = request;
  e.response = response;
  e.client = client;
  e.agent = agent;
  if (x[14] !== null && x[14] !== undefined) {
    const referrer: Record<string, unknown> = {};
    put(referrer, 'host', x[15] ?? r.referrer);
    put(referrer, 'path', x[16]);
    put(referrer, 'type', x[14] as ReferrerType);
    e.referrer = referrer;
  }
  if (x[17] !== null && x[17] !== undefined) {
    const download: Record<string, unknown> = {};
    put(download, 'file', r.download);
    put(download, 'complete', x[17]);
    put(download, 'contentType', x[18]);
    e.download = download;
  }
  const consent: Record<string, unknown> = {};
  put(consent, 'analytics', x[19] as ConsentValue);
  put(consent, 'source', x[20] as ConsentSource);
  put(consent, 'policyVersion', x[21]);
  e.consent = consent;
  if (r.session_id !== null) e.session = { id: r.session_id };
  return e as unknown as PrivacyEvent;
}

/**
 * Migration 5, inside its transaction.
 *
 * @example
 * SQLITE_MIGRATIONS[4] === blocksFromEventRows; // applied by migrate(db)
 */
export function blocksFromEventRows(db: Database.Database): void {
  // 1. What the journal names, added while its rows exist.
  const fold = foldRollupsV4Sql();
  const foldDays = db.prepare(fold.days);
  const foldSlots = db.prepare(fold.slots);
  const pending = db.prepare(`SELECT payload FROM pending WHERE payload NOT LIKE '{"d":%' ORDER BY id`).pluck();
  for (const payload of pending.all() as string[]) {
    const j = JSON.parse(payload) as { f?: number; l?: number };
    if (typeof j.f === 'number' && typeof j.l === 'number' && j.l > 0) {
      foldDays.run({ f: j.f, l: j.l });
      foldSlots.run({ f: j.f, l: j.l });
    }
  }
  db.exec(FOLD_SESSIONS_V4);
  db.exec('DELETE FROM session_folded');
  db.exec(
    `UPDATE pending SET payload = json_set(json_remove(payload, '$.f', '$.l'), '$.b', 0) WHERE payload NOT LIKE '{"d":%'`,
  );

  // 2. The rows, as blocks.
  db.exec(BLOCK_TABLES_SQL);
  const read = db.prepare(
    `SELECT seq, id, site, kind, page, referrer, browser, os, device, isp, domain, download, bot, session_id, rest
     FROM event_rows WHERE seq > ? ORDER BY seq LIMIT ?`,
  );
  const insertBlock = db.prepare(
    'INSERT INTO event_blocks (ts_min, ts_max, n, cols, dict, sessions, ids, rest) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
  );
  const insertIds = db.prepare('INSERT OR IGNORE INTO event_ids (id, block) SELECT value, ? FROM json_each(?)');
  let after = 0;
  for (;;) {
    const page = read.all(after, BLOCK_EVENTS) as Schema4Row[];
    if (page.length === 0) break;
    after = page[page.length - 1]!.seq;
    const events = page.map(schema4Event);
    const e = encodeBlock(events.map(eventRow), events);
    const block = insertBlock.run(e.tsMin, e.tsMax, e.n, e.cols, e.dict, e.sessions, e.ids, e.rest).lastInsertRowid;
    insertIds.run(block, e.ids);
  }

  // 3. The old table, its indexes and its view.
  db.exec('DROP VIEW events; DROP TABLE event_rows;');
}
