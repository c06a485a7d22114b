/**
 * The SQL of the stats primitives, written once for SQLite and PostgreSQL.
 * A dialect supplies placeholders and the few spellings that differ. Column
 * names come only from the fixed map below; every value is a bound parameter.
 */
import type { DaySpec, Grouping, RawSpec, SketchSpec, SlotSpec } from './backend.js';
import { SLOT_MS } from './event-columns.js';
import type { Filter, Property } from './query.js';

export interface SqlDialect {
  /** Placeholder for the n-th (1-based) parameter. */
  param(n: number): string;
  /** `col` differs from the parameter, NULL counting as different. */
  distinct(col: string, param: string): string;
  /** `col` is one of a list parameter (the list is passed as `listParam(values)`). */
  inList(col: string, param: string): string;
  /** The bound form of a list of strings. */
  listParam(values: readonly string[]): unknown;
  /** Qualified table name. */
  table(name: 'events' | 'rollup_day' | 'rollup_slot' | 'sketches'): string;
}

export interface SqlQuery {
  sql: string;
  params: unknown[];
}

/** Property → events column: the only identifiers that reach SQL from a query. */
export const PROPERTY_COLUMNS: Readonly<Record<Property, string>> = {
  page: 'page',
  referrer: 'referrer',
  browser: 'browser',
  os: 'os',
  device: 'device',
  isp: 'isp',
  domain: 'domain',
  download: 'download',
  kind: 'kind',
};

class Params {
  readonly values: unknown[] = [];
  constructor(private readonly d: SqlDialect) {}
  add(v: unknown): string {
    this.values.push(v);
    return this.d.param(this.values.length);
  }
}

const COUNTS = `COUNT(*) AS events, COUNT(CASE WHEN kind = 'pageview' THEN 1 END) AS pageviews, COUNT(CASE WHEN kind = 'download' THEN 1 END) AS downloads`;
const SUM_COUNTS = 'SUM(events) AS events, SUM(pageviews) AS pageviews, SUM(downloads) AS downloads';

function filterSql(d: SqlDialect, p: Params, f: Filter): string {
  const col = PROPERTY_COLUMNS[f.property];
  return f.op === '==' ? `${col} = ${p.add(f.value)}` : d.distinct(col, p.add(f.value));
}

function rawWhere(d: SqlDialect, p: Params, spec: RawSpec, extra: string[] = []): string {
  const w = [`ts >= ${p.add(spec.from)}`, `ts < ${p.add(spec.to)}`];
  if (spec.site !== undefined) w.push(`site = ${p.add(spec.site)}`);
  if (!spec.includeBots) w.push('bot = 0');
  for (const f of spec.filters) w.push(filterSql(d, p, f));
  if (spec.group.by === 'property') w.push(`${PROPERTY_COLUMNS[spec.group.property]} IS NOT NULL`);
  return [...w, ...extra].join(' AND ');
}

function keyExpr(g: Grouping): string {
  if (g.by === 'none') return `''`;
  if (g.by === 'slot') return `ts / ${SLOT_MS}`;
  return PROPERTY_COLUMNS[g.property];
}

export function rawCountsSql(d: SqlDialect, spec: RawSpec): SqlQuery {
  const p = new Params(d);
  const where = rawWhere(d, p, spec);
  return {
    sql: `SELECT ${keyExpr(spec.group)} AS key, ${COUNTS} FROM ${d.table('events')} WHERE ${where} GROUP BY 1`,
    params: p.values,
  };
}

export function sessionsSql(d: SqlDialect, spec: RawSpec): SqlQuery {
  const p = new Params(d);
  const where = rawWhere(d, p, spec, ['session_id IS NOT NULL']);
  const inner = spec.group.by === 'property' ? PROPERTY_COLUMNS[spec.group.property] : `''`;
  const outer = spec.group.by === 'slot' ? `mn / ${SLOT_MS}` : 'key';
  return {
    sql:
      `SELECT ${outer} AS key, COUNT(*) AS sessions, COUNT(CASE WHEN pv <= 1 THEN 1 END) AS bounces, SUM(mx - mn) AS duration_ms FROM (` +
      `SELECT ${inner} AS key, session_id, COUNT(CASE WHEN kind = 'pageview' THEN 1 END) AS pv, MIN(ts) AS mn, MAX(ts) AS mx ` +
      `FROM ${d.table('events')} WHERE ${where} GROUP BY 1, session_id) s GROUP BY 1`,
    params: p.values,
  };
}

export function dayCountsSql(d: SqlDialect, spec: DaySpec): SqlQuery {
  const p = new Params(d);
  const w = [`dimension = ${p.add(spec.property)}`, `day >= ${p.add(spec.fromDay)}`, `day <= ${p.add(spec.toDay)}`];
  if (spec.site !== undefined) w.push(`site = ${p.add(spec.site)}`);
  if (!spec.includeBots) w.push('bot = 0');
  return {
    sql: `SELECT value AS key, ${SUM_COUNTS} FROM ${d.table('rollup_day')} WHERE ${w.join(' AND ')} GROUP BY value`,
    params: p.values,
  };
}

export function slotCountsSql(d: SqlDialect, spec: SlotSpec): SqlQuery {
  const p = new Params(d);
  const w = [`slot >= ${p.add(spec.fromSlot)}`, `slot < ${p.add(spec.toSlot)}`];
  if (spec.site !== undefined) w.push(`site = ${p.add(spec.site)}`);
  if (!spec.includeBots) w.push('bot = 0');
  return {
    sql: `SELECT slot AS key, ${SUM_COUNTS} FROM ${d.table('rollup_slot')} WHERE ${w.join(' AND ')} GROUP BY slot`,
    params: p.values,
  };
}

export function sketchesSql(d: SqlDialect, spec: SketchSpec): SqlQuery {
  const p = new Params(d);
  const w = [`dimension = ${p.add(spec.dimension)}`, `day >= ${p.add(spec.fromDay)}`, `day <= ${p.add(spec.toDay)}`];
  if (spec.site !== undefined) w.push(`site = ${p.add(spec.site)}`);
  if (spec.values !== undefined) w.push(d.inList('value', p.add(d.listParam(spec.values))));
  return {
    sql: `SELECT day, value, registers FROM ${d.table('sketches')} WHERE ${w.join(' AND ')}`,
    params: p.values,
  };
}
