/**
 * `privacy-log stats`: the stats query API from the command line, against the
 * SQLite or PostgreSQL store (named by flags, or the first one in the operator
 * configuration's collector stores). Prints a table, or JSON with --json.
 */
import { parseArgs } from 'node:util';
import type { StatsAggregator } from '../aggregators/aggregator.js';

import { ERROR_CODES, PrivacyLogError } from '../errors.js';
import type { Filter, StatsQuery, StatsResult } from '../stats/query.js';
import { configuredStore } from './configured-store.js';

export const STATS_USAGE = `Usage: privacy-log stats [store] [query] [--json]

Store (default: the first sqlite or postgres store in collector.aggregators):
  --sqlite FILE | --postgres URL [--schema NAME] | --config FILE

Query (default: aggregate of visitors and pageviews over the last 7 days):
  --breakdown PROPERTY      page, referrer, browser, os, device, isp, domain, download, kind
  --timeseries [--interval hour|day|month]
  --period day|7d|30d|month|12mo|custom   --date YYYY-MM-DD   --from YYYY-MM-DD --to YYYY-MM-DD
  --metrics a,b             pageviews, visitors, downloads, events, sessions, bounce_rate, visit_duration
  --filter PROP==VALUE      or PROP!=VALUE; repeatable
  --site NAME  --k N  --limit N  --time-zone ZONE
`;

function usageError(message: string): PrivacyLogError {
  return new PrivacyLogError(ERROR_CODES.INVALID_QUERY, `${message}\n\n${STATS_USAGE}`, { retryable: false });
}

function int(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw usageError(`--${name} must be a whole number`);
  return Number(v);
}

function filterOf(text: string): Filter {
  const m = /^([a-z_]+)(==|!=)(.*)$/.exec(text);
  if (!m) throw usageError(`--filter "${text}" must look like page==/news or browser!=Firefox`);
  return { property: m[1] as Filter['property'], op: m[2] as Filter['op'], value: m[3] as string };
}

/** Parses the stats flags into a query and a store description. */
export function parseStatsArgs(args: string[]): {
  query: StatsQuery;
  store: { sqlite?: string; postgres?: string; schema?: string; config?: string };
  json: boolean;
} {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        sqlite: { type: 'string' },
        postgres: { type: 'string' },
        schema: { type: 'string' },
        config: { type: 'string', short: 'c' },
        breakdown: { type: 'string' },
        timeseries: { type: 'boolean' },
        interval: { type: 'string' },
        period: { type: 'string' },
        date: { type: 'string' },
        from: { type: 'string' },
        to: { type: 'string' },
        metrics: { type: 'string' },
        filter: { type: 'string', multiple: true },
        site: { type: 'string' },
        k: { type: 'string' },
        limit: { type: 'string' },
        'time-zone': { type: 'string' },
        json: { type: 'boolean' },
      },
    });
  } catch (e) {
    throw usageError((e as Error).message);
  }
  const v = parsed.values as Record<string, string | boolean | string[] | undefined>;
  const s = (k: string) => v[k] as string | undefined;
  if (v.breakdown !== undefined && v.timeseries) throw usageError('--breakdown and --timeseries exclude each other');
  const period = (s('period') ?? (s('from') || s('to') ? 'custom' : '7d')) as StatsQuery['period'];
  const query: StatsQuery = {
    type: v.breakdown !== undefined ? 'breakdown' : v.timeseries ? 'timeseries' : 'aggregate',
    period,
    metrics: (s('metrics') ?? 'visitors,pageviews').split(',').map((m) => m.trim()) as StatsQuery['metrics'],
  };
  if (v.breakdown !== undefined) query.property = s('breakdown') as StatsQuery['property'];
  if (s('interval')) query.interval = s('interval') as StatsQuery['interval'];
  if (s('date')) query.date = s('date');
  if (s('from')) query.from = s('from');
  if (s('to')) query.to = s('to');
  if (s('site')) query.site = s('site');
  if (s('time-zone')) query.timeZone = s('time-zone');
  const k = int('k', s('k'));
  if (k !== undefined) query.k = k;
  const limit = int('limit', s('limit'));
  if (limit !== undefined) query.limit = limit;
  const filters = (v.filter as string[] | undefined) ?? [];
  if (filters.length) query.filters = filters.map(filterOf);
  const store: { sqlite?: string; postgres?: string; schema?: string; config?: string } = {};
  if (s('sqlite')) store.sqlite = s('sqlite');
  if (s('postgres')) store.postgres = s('postgres');
  if (s('schema')) store.schema = s('schema');
  if (s('config')) store.config = s('config');
  if (store.sqlite && store.postgres) throw usageError('--sqlite and --postgres exclude each other');
  return { query, store, json: v.json === true };
}

async function openStore(
  store: { sqlite?: string; postgres?: string; schema?: string; config?: string },
  env: NodeJS.ProcessEnv,
): Promise<StatsAggregator> {
  let sqlite = store.sqlite;
  let postgres = store.postgres;
  let schema = store.schema;
  if (!sqlite && !postgres) {
    const first = configuredStore(store.config, env, ['sqlite', 'postgres'] as const);
    if (first?.type === 'sqlite') sqlite = first.file;
    else if (first?.type === 'postgres') {
      postgres = first.connectionString;
      schema ??= first.schema;
    } else
      throw new PrivacyLogError(
        ERROR_CODES.INVALID_CONFIG,
        'privacy-log stats: name a store with --sqlite FILE or --postgres URL, or configure a sqlite or postgres store in collector.aggregators.',
        { retryable: false },
      );
  }
  if (sqlite) {
    const { sqliteAggregator } = await import('../aggregators/sqlite/sqlite-aggregator.js');
    return sqliteAggregator({ file: sqlite });
  }
  const { postgresAggregator } = await import('../aggregators/postgres/postgres-aggregator.js');
  return postgresAggregator({ connectionString: postgres as string, ...(schema ? { schema } : {}) });
}

/** Renders a result as an aligned text table. */
export function formatStatsTable(result: StatsResult, metrics: readonly string[]): string {
  const first = result.type === 'timeseries' ? 'date' : result.type === 'breakdown' ? 'value' : '';
  const headers = first ? [first, ...metrics] : [...metrics];
  const rows = result.results.map((r) =>
    headers.map((h) => {
      const cell = (r as Record<string, unknown>)[h];
      return cell === undefined || cell === null ? '-' : String(cell);
    }),
  );
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === 0 && first ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number)))
      .join('  ');
  const out = [`${result.range.from} … ${result.range.to}`, line(headers), ...rows.map(line)];
  if (result.suppressed) out.push(`(${result.suppressed} small groups folded into (other) for k-anonymity)`);
  return `${out.join('\n')}\n`;
}

/** Runs the stats command; resolves to the text to print. */
export async function runStats(args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  const { query, store, json } = parseStatsArgs(args);
  const source = await openStore(store, env);
  try {
    const result = await source.query(query);
    return json ? `${JSON.stringify(result, null, 2)}\n` : formatStatsTable(result, query.metrics);
  } finally {
    await source.close?.();
  }
}
