/**
 * The stats primitives on SQLite: the shared SQL of stats/sql-queries.ts run
 * through cached prepared statements.
 */
import type Database from 'better-sqlite3';
import type { CountRow, SessionRow, SketchRow, StatsBackend } from '../../stats/backend.js';
import {
  dayCountsSql,
  rawCountsSql,
  type SqlDialect,
  type SqlQuery,
  sessionsSql,
  sketchesSql,
  slotCountsSql,
} from '../../stats/sql-queries.js';

export const SQLITE_DIALECT: SqlDialect = {
  param: () => '?',
  distinct: (col, param) => `${col} IS NOT ${param}`,
  inList: (col, param) => `${col} IN (SELECT value FROM json_each(${param}))`,
  listParam: (values) => JSON.stringify(values),
  table: (name) => name,
};

const MAX_CACHED_STATEMENTS = 256;

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
 * @example
 * const source = createStatsEngine(sqliteBackend(db));
 */
export function sqliteBackend(db: Database.Database): StatsBackend {
  const cache = new Map<string, Database.Statement>();
  const all = (q: SqlQuery): Row[] => {
    let st = cache.get(q.sql);
    if (st === undefined) {
      if (cache.size >= MAX_CACHED_STATEMENTS) cache.clear();
      st = db.prepare(q.sql);
      cache.set(q.sql, st);
    }
    return st.all(...q.params) as Row[];
  };
  return {
    async rawCounts(spec) {
      return all(rawCountsSql(SQLITE_DIALECT, spec)).map(countRow);
    },
    async sessions(spec): Promise<SessionRow[]> {
      return all(sessionsSql(SQLITE_DIALECT, spec)).map((r) => ({
        key: String(r.key),
        sessions: Number(r.sessions),
        bounces: Number(r.bounces),
        durationMs: Number(r.duration_ms),
      }));
    },
    async dayCounts(spec) {
      return all(dayCountsSql(SQLITE_DIALECT, spec)).map(countRow);
    },
    async slotCounts(spec) {
      return all(slotCountsSql(SQLITE_DIALECT, spec)).map(countRow);
    },
    async sketches(spec): Promise<SketchRow[]> {
      return all(sketchesSql(SQLITE_DIALECT, spec)).map((r) => ({
        day: r.day as string,
        value: r.value as string,
        registers: r.registers as Uint8Array,
      }));
    },
  };
}
