/**
 * The stats primitives on SQLite: rollups, sketches and session_day through
 * the shared SQL of stats/sql-queries.ts (cached prepared statements); raw
 * events by decoding the blocks of the range (event-block.ts).
 */
import type Database from 'better-sqlite3';
import type { CountRow, RawSpec, SessionRow, SketchRow, SketchSpec, StatsBackend } from '../../stats/backend.js';
import { DAY_MS, SLOT_MS } from '../../stats/event-columns.js';
import { dayCountsSql, type SqlDialect, type SqlQuery, sketchesSql, slotCountsSql } from '../../stats/sql-queries.js';
import type { BlockStore } from './block-store.js';
import { blockCounts, blockSessions } from './event-block.js';
import { sharedScans } from './shared-scan.js';
import { decodeBundle } from './sketch-bundle.js';

export const SQLITE_DIALECT: SqlDialect = {
  param: () => '?',
  distinct: (col, param) => `${col} IS NOT ${param}`,
  inList: (col, param) => `${col} IN (SELECT value FROM json_each(${param}))`,
  listParam: (values) => JSON.stringify(values),
  // Raw events are in blocks, never read through this SQL (rawCounts and sessions decode them).
  table: (name) => name,
};

const MAX_CACHED_STATEMENTS = 256;
/** Bytes of sketch blobs kept between queries (past days rarely change; writes invalidate their days). */
const MAX_SKETCH_CACHE_BYTES = 64 * 1024 * 1024;

type Row = Record<string, unknown>;

function countRow(r: Row): CountRow {
  return {
    key: String(r.key),
    events: Number(r.events),
    pageviews: Number(r.pageviews),
    downloads: Number(r.downloads),
  };
}

/**
 * Session metrics from session_day (migration 4) when it answers exactly what
 * the raw query would: no filters, not grouped by a property, whole UTC days.
 * Its rows are in session order, so with `inKeyOrder` sessions are grouped
 * as the table is scanned, without a sort (for ranges covering much of the
 * table); else the day index finds the range's rows and they are sorted. A
 * session's days merge (first of firsts, last of lasts, pageviews summed).
 * Otherwise undefined: the raw events answer.
 */
export function sessionDaySql(spec: RawSpec, inKeyOrder = true): SqlQuery | undefined {
  if (!sessionDayAnswers(spec)) return undefined;
  const params: unknown[] = [spec.from / DAY_MS, spec.to / DAY_MS];
  // '+day' keeps the planner off the day index (which would need a sort by session).
  const w = inKeyOrder ? ['+day >= ?', '+day < ?'] : ['day >= ?', 'day < ?'];
  if (spec.site !== undefined) {
    w.push('site = ?');
    params.push(spec.site);
  }
  if (!spec.includeBots) w.push('bot = 0');
  const inner = `SELECT MIN(first_ts) AS mn, MAX(last_ts) AS mx, SUM(pageviews) AS pv FROM session_day WHERE ${w.join(' AND ')} GROUP BY session_id`;
  const counts = 'COUNT(*) AS sessions, COUNT(CASE WHEN pv <= 1 THEN 1 END) AS bounces, SUM(mx - mn) AS duration_ms';
  const sql =
    spec.group.by === 'slot'
      ? `SELECT mn / ${SLOT_MS} AS key, ${counts} FROM (${inner}) s GROUP BY 1`
      : `SELECT '' AS key, ${counts} FROM (${inner}) s`;
  return { sql, params };
}

/** session_day answers the spec: no filters, not grouped by a property, a non-empty range of whole UTC days. */
function sessionDayAnswers(spec: RawSpec): boolean {
  if (spec.filters.length > 0 || spec.group.by === 'property') return false;
  return spec.from % DAY_MS === 0 && spec.to % DAY_MS === 0 && spec.from < spec.to;
}

export interface SqliteBackend extends StatsBackend {
  /** A write touched this (dimension, day): drop its cached sketches. */
  invalidate(dimension: string, day: string): void;
  /** Drop every cached sketch (retention, or another connection wrote). */
  clear(): void;
}

/**
 * The stats primitives on one SQLite connection. Sketch rows of whole
 * dimensions are cached per UTC day between queries — a dashboard asks for the
 * same 30 days again and again — and dropped for a day as soon as a write of
 * this process touches it, or entirely when another connection commits
 * (`PRAGMA data_version` moves).
 *
 * @example
 * const source = createStatsEngine(sqliteBackend(db, blockStore(db)));
 */
export function sqliteBackend(db: Database.Database, blocks: BlockStore): SqliteBackend {
  const cache = new Map<string, Database.Statement>();
  // Raw scans asked for together (a dashboard's queries) share one pass over the blocks.
  const scan = sharedScans(blocks);
  const all = (q: SqlQuery): Row[] => {
    let st = cache.get(q.sql);
    if (st === undefined) {
      if (cache.size >= MAX_CACHED_STATEMENTS) cache.clear();
      st = db.prepare(q.sql);
      cache.set(q.sql, st);
    }
    return st.all(...q.params) as Row[];
  };
  const toSketchRow = (r: Row): SketchRow => ({
    day: r.day as string,
    value: r.value as string,
    registers: r.registers as Uint8Array,
  });
  const bundlesIn = db.prepare('SELECT day, bundle FROM sketch_days WHERE dimension = ? AND day >= ? AND day <= ?');
  const siteBundlesIn = db.prepare(
    'SELECT day, bundle FROM sketch_days WHERE dimension = ? AND day >= ? AND day <= ? AND site = ?',
  );
  /**
   * Every stored sketch row the spec selects: each bundle's entries (one
   * per value, compacted) and the delta rows appended since (the engine
   * merges all rows of a (day, value)).
   */
  const sketchRows = (spec: SketchSpec): SketchRow[] => {
    // Delta rows first, bundles second: a compaction by another connection committing in between
    // moved rows already read into a bundle read after (merging twice changes nothing), never
    // rows not yet read out of a bundle already read.
    const out = all(sketchesSql(SQLITE_DIALECT, spec)).map(toSketchRow);
    const bundles = (
      spec.site === undefined
        ? bundlesIn.all(spec.dimension, spec.fromDay, spec.toDay)
        : siteBundlesIn.all(spec.dimension, spec.fromDay, spec.toDay, spec.site)
    ) as Array<{ day: string; bundle: Uint8Array }>;
    const only = spec.values === undefined ? undefined : new Set(spec.values);
    for (const { day, bundle } of bundles)
      for (const e of decodeBundle(bundle))
        if (only === undefined || only.has(e.value)) out.push({ day, value: e.value, registers: e.registers });
    return out;
  };

  // (dimension, day) → site ('' = all sites) → that day's rows.
  const sketchCache = new Map<string, Map<string, SketchRow[]>>();
  let cachedBytes = 0;
  const dataVersion = db.prepare('PRAGMA data_version').pluck();
  // The days session_day holds (each O(log n) through its day index).
  const firstSessionDay = db.prepare('SELECT min(day) FROM session_day').pluck();
  const lastSessionDay = db.prepare('SELECT max(day) FROM session_day').pluck();
  /** Scan session_day in key order when the range covers at least a quarter of the days it holds. */
  const scanSessionDays = (spec: RawSpec): boolean => {
    const lo = firstSessionDay.get() as number | null;
    const hi = lastSessionDay.get() as number | null;
    if (lo === null || hi === null) return true;
    const covered = Math.min(hi + 1, spec.to / DAY_MS) - Math.max(lo, spec.from / DAY_MS);
    return covered * 4 >= hi - lo + 1;
  };
  let seenVersion = dataVersion.get() as number;
  const clear = () => {
    sketchCache.clear();
    cachedBytes = 0;
  };

  function cachedSketches(spec: SketchSpec): SketchRow[] {
    const version = dataVersion.get() as number;
    if (version !== seenVersion) {
      clear();
      seenVersion = version;
    }
    const siteKey = spec.site === undefined ? '' : `=${spec.site}`;
    const days: string[] = [];
    const first = Date.parse(`${spec.fromDay}T00:00:00.000Z`);
    const last = Date.parse(`${spec.toDay}T00:00:00.000Z`);
    for (let t = first; t <= last && days.length <= 4000; t += DAY_MS)
      days.push(new Date(t).toISOString().slice(0, 10));
    const missing = days.filter((d) => !sketchCache.get(`${spec.dimension}\u0000${d}`)?.has(siteKey));
    if (missing.length > 0) {
      const rows = sketchRows({ ...spec, fromDay: missing[0]!, toDay: missing[missing.length - 1]! });
      const byDay = new Map<string, SketchRow[]>(missing.map((d) => [d, []]));
      for (const r of rows) byDay.get(r.day)?.push(r);
      for (const [d, list] of byDay) {
        const key = `${spec.dimension}\u0000${d}`;
        let bySite = sketchCache.get(key);
        if (bySite === undefined) {
          bySite = new Map();
          sketchCache.set(key, bySite);
        }
        bySite.set(siteKey, list);
        for (const r of list) cachedBytes += r.registers.length + 64;
      }
      if (cachedBytes > MAX_SKETCH_CACHE_BYTES) {
        const out = days.flatMap((d) => sketchCache.get(`${spec.dimension}\u0000${d}`)?.get(siteKey) ?? []);
        clear();
        return out;
      }
    }
    return days.flatMap((d) => sketchCache.get(`${spec.dimension}\u0000${d}`)?.get(siteKey) ?? []);
  }

  return {
    invalidate(dimension: string, day: string) {
      const bySite = sketchCache.get(`${dimension}\u0000${day}`);
      if (bySite === undefined) return;
      for (const list of bySite.values()) for (const r of list) cachedBytes -= r.registers.length + 64;
      sketchCache.delete(`${dimension}\u0000${day}`);
    },
    clear,
    rawCounts(spec) {
      return scan(spec, blockCounts(spec), false);
    },
    async sessions(spec): Promise<SessionRow[]> {
      // The range must be whole days before scanSessionDays looks at it.
      const fromDays = sessionDayAnswers(spec) ? sessionDaySql(spec, scanSessionDays(spec)) : undefined;
      if (fromDays === undefined) return scan(spec, blockSessions(spec), true);
      const rows = all(fromDays);
      const out: SessionRow[] = [];
      for (const r of rows) {
        // The ungrouped session_day query answers one row even with no session; the raw one answers none.
        if (Number(r.sessions) === 0) continue;
        out.push({
          key: String(r.key),
          sessions: Number(r.sessions),
          bounces: Number(r.bounces),
          durationMs: Number(r.duration_ms),
        });
      }
      return out;
    },
    async dayCounts(spec) {
      return all(dayCountsSql(SQLITE_DIALECT, spec)).map(countRow);
    },
    async slotCounts(spec) {
      return all(slotCountsSql(SQLITE_DIALECT, spec)).map(countRow);
    },
    async sketches(spec): Promise<SketchRow[]> {
      if (spec.values !== undefined) return sketchRows(spec);
      return cachedSketches(spec);
    },
  };
}
