/**
 * The stats primitives on PostgreSQL: the shared SQL of stats/sql-queries.ts
 * with `$n` placeholders.
 */
import type { CountRow, SessionRow, SketchRow, StatsBackend } from '../../stats/backend.js';
import {
  dayCountsSql,
  rawCountsSql,
  type SqlDialect,
  sessionsSql,
  sketchesSql,
  slotCountsSql,
} from '../../stats/sql-queries.js';
import type { PgQueryable } from './driver.js';

export function postgresDialect(quotedSchema: string): SqlDialect {
  return {
    param: (n) => `$${n}`,
    distinct: (col, param) => `${col} IS DISTINCT FROM ${param}`,
    inList: (col, param) => `${col} = ANY(${param}::text[])`,
    listParam: (values) => [...values],
    table: (name) => `${quotedSchema}.${name}`,
  };
}

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
 * const source = createStatsEngine(postgresBackend(pool, '"privacy_log"'));
 */
export function postgresBackend(db: () => Promise<PgQueryable>, quotedSchema: string): StatsBackend {
  const d = postgresDialect(quotedSchema);
  const rows = async (q: { sql: string; params: unknown[] }) => (await (await db()).query(q.sql, q.params)).rows;
  return {
    async rawCounts(spec) {
      return (await rows(rawCountsSql(d, spec))).map(countRow);
    },
    async sessions(spec): Promise<SessionRow[]> {
      return (await rows(sessionsSql(d, spec))).map((r) => ({
        key: String(r.key),
        sessions: Number(r.sessions),
        bounces: Number(r.bounces),
        durationMs: Number(r.duration_ms),
      }));
    },
    async dayCounts(spec) {
      return (await rows(dayCountsSql(d, spec))).map(countRow);
    },
    async slotCounts(spec) {
      return (await rows(slotCountsSql(d, spec))).map(countRow);
    },
    async sketches(spec): Promise<SketchRow[]> {
      return (await rows(sketchesSql(d, spec))).map((r) => ({
        day: r.day as string,
        value: r.value as string,
        registers: r.registers as Uint8Array,
      }));
    },
  };
}
