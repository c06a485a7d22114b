/**
 * URL query parameters → StatsQuery, for the JSON API and the dashboard.
 * Unknown parameters and malformed values are coded INVALID_QUERY errors (the
 * handler answers 400 with the message, which names the valid choices).
 */
import { didYouMean, ERROR_CODES, PrivacyLogError } from '../../errors.js';
import { parseFilters } from '../filter.js';
import type { Interval, Metric, Period, Property, QueryType, StatsQuery } from '../query.js';

export const QUERY_PARAMS = [
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
  'site',
  'includeBots',
  'lang',
] as const;

function invalid(message: string): PrivacyLogError {
  return new PrivacyLogError(ERROR_CODES.INVALID_QUERY, message, { retryable: false });
}

function intParam(name: string, v: string): number {
  if (!/^\d{1,7}$/.test(v)) throw invalid(`${name} must be a whole number.`);
  return Number(v);
}

export interface ParamDefaults {
  site?: string | undefined;
  timeZone?: string | undefined;
  k: number;
}

/**
 * @example
 * const q = queryFromParams('breakdown', new URLSearchParams('period=7d&property=page&metrics=visitors'), { k: 5 });
 */
export function queryFromParams(type: QueryType, params: URLSearchParams, d: ParamDefaults): StatsQuery {
  for (const key of new Set(params.keys())) {
    if (!(QUERY_PARAMS as readonly string[]).includes(key)) {
      const hint = didYouMean(key, QUERY_PARAMS);
      throw invalid(
        `Unknown parameter "${key.slice(0, 64)}".${hint ? ` Did you mean "${hint}"?` : ''} Valid parameters: ${QUERY_PARAMS.join(', ')}.`,
      );
    }
  }
  for (const key of QUERY_PARAMS) {
    if (key !== 'filters' && params.getAll(key).length > 1)
      throw invalid(`Parameter "${key}" is given more than once.`);
  }
  const get = (k: (typeof QUERY_PARAMS)[number]) => {
    const v = params.get(k);
    return v === null || v === '' ? undefined : v;
  };
  const q: StatsQuery = {
    type,
    period: (get('period') ?? '30d') as Period,
    metrics: (get('metrics')
      ?.split(',')
      .map((m) => m.trim()) ?? []) as Metric[],
  };
  const date = get('date');
  if (date !== undefined) q.date = date;
  const from = get('from');
  if (from !== undefined) q.from = from;
  const to = get('to');
  if (to !== undefined) q.to = to;
  const property = get('property');
  if (property !== undefined) q.property = property as Property;
  const filters = params.getAll('filters').filter((f) => f !== '');
  if (filters.length > 0) q.filters = parseFilters(filters.length === 1 ? filters[0]! : filters);
  const interval = get('interval');
  if (interval !== undefined) q.interval = interval as Interval;
  const tz = get('timeZone') ?? d.timeZone;
  if (tz !== undefined) q.timeZone = tz;
  const k = get('k');
  q.k = k === undefined ? d.k : intParam('k', k);
  if (q.k < d.k) throw invalid(`k may not be lowered below ${d.k}, the k-anonymity threshold this server enforces.`);
  const limit = get('limit');
  if (limit !== undefined) q.limit = intParam('limit', limit);
  const site = get('site');
  if (d.site !== undefined) {
    if (site !== undefined && site !== d.site) throw invalid(`This stats endpoint serves site "${d.site}" only.`);
    q.site = d.site;
  } else if (site !== undefined) q.site = site;
  const bots = get('includeBots');
  if (bots !== undefined) {
    if (bots !== 'true' && bots !== 'false') throw invalid('includeBots must be true or false.');
    q.includeBots = bots === 'true';
  }
  return q;
}
