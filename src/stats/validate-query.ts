/**
 * Validates a StatsQuery (from code or the JSON API) into a normalized plan
 * input. Every problem is a coded INVALID_QUERY whose message names the valid
 * choices; nothing here ever reaches SQL except as a bound parameter.
 */
import { didYouMean, ERROR_CODES, PrivacyLogError } from '../errors.js';
import { checkFilter, MAX_FILTERS, unknownProperty } from './filter.js';
import {
  DEFAULT_K,
  type Filter,
  INTERVALS,
  type Interval,
  METRICS,
  type Metric,
  PERIODS,
  type Period,
  PROPERTIES,
  type Property,
  QUERY_TYPES,
  type QueryType,
  type StatsQuery,
} from './query.js';
import { daysBetween, isDay, isValidTimeZone, localDay, type ResolvedRange, resolvePeriod } from './time-range.js';

export const DEFAULT_METRICS: readonly Metric[] = ['visitors', 'pageviews'];
export const DEFAULT_LIMIT = 100;
export const MAX_LIMIT = 1000;
export const MAX_K = 1000;
/** Longest custom range, in days (about ten years). */
export const MAX_CUSTOM_DAYS = 3660;

const QUERY_KEYS = [
  'type',
  'site',
  'period',
  'date',
  'from',
  'to',
  'metrics',
  'property',
  'filters',
  'interval',
  'timeZone',
  'k',
  'limit',
  'includeBots',
] as const;

export interface NormalizedQuery {
  type: QueryType;
  site: string | undefined;
  range: ResolvedRange;
  metrics: Metric[];
  property: Property | undefined;
  filters: Filter[];
  interval: Interval;
  timeZone: string;
  k: number;
  limit: number;
  includeBots: boolean;
}

function invalid(message: string, details?: Record<string, unknown>): PrivacyLogError {
  return new PrivacyLogError(ERROR_CODES.INVALID_QUERY, message, { retryable: false, details });
}

function oneOf<T extends string>(what: string, value: unknown, valid: readonly T[]): T {
  if (typeof value === 'string' && (valid as readonly string[]).includes(value)) return value as T;
  const shown = String(value).slice(0, 64);
  const hint = typeof value === 'string' ? didYouMean(value, valid) : undefined;
  throw invalid(`Unknown ${what} "${shown}".${hint ? ` Did you mean "${hint}"?` : ''} Valid: ${valid.join(', ')}.`, {
    [what]: shown,
    valid,
  });
}

function intIn(name: string, v: unknown, min: number, max: number, dflt: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
    throw invalid(`${name} must be an integer from ${min} to ${max}.`);
  return v;
}

/**
 * @param now the current instant (for the default reference day).
 * @example
 * const nq = normalizeQuery({ type: 'breakdown', period: '30d', metrics: ['visitors'], property: 'page' });
 */
export function normalizeQuery(q: StatsQuery, now: number = Date.now()): NormalizedQuery {
  if (typeof q !== 'object' || q === null) throw invalid('A stats query must be an object.');
  for (const key of Object.keys(q)) {
    if (!(QUERY_KEYS as readonly string[]).includes(key)) {
      const hint = didYouMean(key, QUERY_KEYS);
      throw invalid(
        `Unknown query field "${key.slice(0, 64)}".${hint ? ` Did you mean "${hint}"?` : ''} Valid fields: ${QUERY_KEYS.join(', ')}.`,
      );
    }
  }
  const type = oneOf('query type', q.type, QUERY_TYPES);
  const period = oneOf('period', q.period ?? '30d', PERIODS) as Period;
  const timeZone = q.timeZone ?? 'UTC';
  if (!isValidTimeZone(timeZone))
    throw invalid(
      `Unknown time zone "${String(timeZone).slice(0, 64)}". Use an IANA name such as "Europe/Moscow" or "UTC".`,
    );
  if (q.site !== undefined && (typeof q.site !== 'string' || q.site.length === 0 || q.site.length > 253))
    throw invalid('site must be a non-empty string of at most 253 characters.');

  if (q.metrics !== undefined && !Array.isArray(q.metrics))
    throw invalid(`metrics must be a list of: ${METRICS.join(', ')}.`);
  const metrics: Metric[] = [];
  for (const m of q.metrics?.length ? q.metrics : DEFAULT_METRICS) {
    const metric = oneOf('metric', m, METRICS);
    if (!metrics.includes(metric)) metrics.push(metric);
  }

  let property: Property | undefined;
  if (type === 'breakdown') {
    if (q.property === undefined) throw invalid(`A breakdown needs a property: ${PROPERTIES.join(', ')}.`);
    if (typeof q.property !== 'string' || !(PROPERTIES as readonly string[]).includes(q.property))
      throw unknownProperty(String(q.property));
    property = q.property;
    if (property === 'kind' && metrics.includes('visitors'))
      throw invalid('visitors are not counted per kind (no sketch for it); ask for pageviews, downloads or events.');
  } else if (q.property !== undefined) {
    throw invalid('property only applies to a breakdown query.');
  }

  if (q.filters !== undefined && !Array.isArray(q.filters)) throw invalid('filters must be a list.');
  const filters = (q.filters ?? []).map((f) => checkFilter(f));
  if (filters.length > MAX_FILTERS) throw invalid(`At most ${MAX_FILTERS} filters are allowed.`);

  const date = q.date ?? localDay(now, timeZone);
  if (!isDay(date)) throw invalid('date must be a day YYYY-MM-DD.');
  if (period === 'custom') {
    if (!isDay(q.from) || !isDay(q.to)) throw invalid('Period "custom" needs from and to as days YYYY-MM-DD.');
    const span = daysBetween(q.from, q.to);
    if (span < 0) throw invalid('from must not be after to.');
    if (span >= MAX_CUSTOM_DAYS) throw invalid(`A custom range may span at most ${MAX_CUSTOM_DAYS} days.`);
  } else if (q.from !== undefined || q.to !== undefined) {
    throw invalid('from and to only apply to period "custom".');
  }
  const range = resolvePeriod(period, date, timeZone, q.from, q.to);

  const interval: Interval =
    q.interval === undefined
      ? period === 'day'
        ? 'hour'
        : period === '12mo'
          ? 'month'
          : 'day'
      : oneOf('interval', q.interval, INTERVALS);
  if (type === 'timeseries' && interval === 'hour') {
    if (metrics.includes('visitors'))
      throw invalid('visitors are counted per day (daily sketches); use interval "day" or "month" for visitors.');
    if (daysBetween(range.fromDay, range.toDay) > 31) throw invalid('interval "hour" is limited to 31 days.');
  }
  if (q.includeBots !== undefined && typeof q.includeBots !== 'boolean')
    throw invalid('includeBots must be a boolean.');

  return {
    type,
    site: q.site,
    range,
    metrics,
    property,
    filters,
    interval,
    timeZone,
    k: intIn('k', q.k, 1, MAX_K, DEFAULT_K),
    limit: intIn('limit', q.limit, 1, MAX_LIMIT, DEFAULT_LIMIT),
    includeBots: q.includeBots ?? false,
  };
}
