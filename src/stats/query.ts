/**
 * The stats query model (DESIGN §10), in the shape Plausible's Stats API made
 * familiar. Every StatsSource (memory, SQLite, PostgreSQL) answers the same
 * queries with the same results for the same events.
 */

export const METRICS = [
  'pageviews',
  'visitors',
  'downloads',
  'events',
  'sessions',
  'bounce_rate',
  'visit_duration',
] as const;
export type Metric = (typeof METRICS)[number];

export const PROPERTIES = ['page', 'referrer', 'browser', 'os', 'device', 'isp', 'domain', 'download', 'kind'] as const;
export type Property = (typeof PROPERTIES)[number];

export const PERIODS = ['day', '7d', '30d', 'month', '12mo', 'custom'] as const;
export type Period = (typeof PERIODS)[number];

export const INTERVALS = ['hour', 'day', 'month'] as const;
export type Interval = (typeof INTERVALS)[number];

export const QUERY_TYPES = ['aggregate', 'timeseries', 'breakdown'] as const;
export type QueryType = (typeof QUERY_TYPES)[number];

/** `page==/news`, `browser!=Firefox`. */
export interface Filter {
  property: Property;
  op: '==' | '!=';
  value: string;
}

export interface StatsQuery {
  type: QueryType;
  /** The site label; all sites when omitted. */
  site?: string;
  period: Period;
  /** Reference day 'YYYY-MM-DD' for relative periods (default: today in `timeZone`). */
  date?: string;
  /** Inclusive day range for period 'custom'. */
  from?: string;
  to?: string;
  metrics: Metric[];
  /** Required for breakdown. */
  property?: Property;
  filters?: Filter[];
  /** Timeseries bucket; default 'hour' for period 'day', 'month' for '12mo', else 'day'. */
  interval?: Interval;
  /** IANA time zone for day boundaries (default 'UTC'). */
  timeZone?: string;
  /** k-anonymity threshold: breakdown rows with fewer visitors or events fold into '(other)'. Default 5. */
  k?: number;
  /** Max breakdown rows before '(other)'. Default 100. */
  limit?: number;
  /** Count bot traffic too. Default false: bots are excluded from every metric. */
  includeBots?: boolean;
}

/** One row: metric values, plus `date` (timeseries) or `value` (breakdown). */
export type StatsRow = { date?: string; value?: string } & Partial<Record<Metric, number>>;

export interface StatsResult {
  type: QueryType;
  /** The resolved, inclusive time range (ISO 8601 instants). */
  range: { from: string; to: string };
  results: StatsRow[];
  /** Breakdown rows folded into '(other)' by k-anonymity. */
  suppressed?: number;
}

export interface StatsSource {
  query(q: StatsQuery): Promise<StatsResult>;
}

/** The value a breakdown row takes when small groups are folded together. */
export const OTHER = '(other)';
/** Default k-anonymity threshold. */
export const DEFAULT_K = 5;
