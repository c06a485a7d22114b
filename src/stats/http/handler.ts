/**
 * The stats API and dashboard, framework-free: a function from a plain request
 * description to a plain response (or undefined when the path is not ours).
 * The Koa and Express adapters only translate.
 *
 * Routes under `prefix`:
 * - `GET {prefix}/`                       the HTML dashboard
 * - `GET {prefix}/api/aggregate?…`        JSON
 * - `GET {prefix}/api/timeseries?…`       JSON
 * - `GET {prefix}/api/breakdown?…`        JSON
 */
import { assertKnownKeys, didYouMean, ERROR_CODES, invalidOption, isPrivacyLogError } from '../../errors.js';
import type { Filter, QueryType, StatsQuery, StatsResult, StatsSource } from '../query.js';
import { DEFAULT_K } from '../query.js';
import { isValidTimeZone } from '../time-range.js';
import { authChecker, challenge, type StatsAuthOptions } from './auth.js';
import { DASHBOARD_PROPERTIES, type DashboardProperty, renderDashboard, renderDashboardError } from './dashboard.js';
import { LANGS, type Lang, pickLang } from './i18n.js';
import { queryFromParams } from './params.js';

export type { StatsAuthOptions } from './auth.js';

export interface StatsHandlerOptions {
  /** Where the stats come from: `privacy.stats`, or any aggregator with `query`. Required. */
  source?: StatsSource;
  /** URL prefix of the routes. Default '/stats'. */
  prefix?: string;
  /** Required: a bearer token and/or Basic credentials. */
  auth?: StatsAuthOptions;
  /** Serve this site only (queries may not ask for another). Default: all sites. */
  site?: string;
  /** Default time zone for day boundaries. Default 'UTC'. */
  timeZone?: string;
  /** The k-anonymity threshold; a query may raise it, never lower it. Default 5. */
  k?: number;
  /**
   * The dashboard's language. Default: from each request's Accept-Language
   * (Russian when it asks for it, else English). A `lang=ru|en` query
   * parameter still wins for that page.
   */
  locale?: Lang;
}

export const DEFAULT_STATS_PREFIX = '/stats';

export interface StatsRequest {
  method: string;
  /** The path without the query string. */
  path: string;
  query: URLSearchParams | string;
  headers: Record<string, string | string[] | undefined>;
}

export interface StatsResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export interface StatsHandler {
  readonly prefix: string;
  handle(req: StatsRequest): Promise<StatsResponse | undefined>;
}

const OPTION_KEYS = ['source', 'prefix', 'auth', 'site', 'timeZone', 'k', 'locale'] as const;
const WHERE = 'createStatsHandler()';
const API_TYPES: ReadonlySet<string> = new Set(['aggregate', 'timeseries', 'breakdown']);

const COMMON_HEADERS = {
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};
const JSON_HEADERS = { ...COMMON_HEADERS, 'content-type': 'application/json; charset=utf-8' };
const HTML_HEADERS = {
  ...COMMON_HEADERS,
  'content-type': 'text/html; charset=utf-8',
  'content-security-policy':
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-frame-options': 'DENY',
};

function json(status: number, body: unknown, extra: Record<string, string> = {}): StatsResponse {
  return { status, headers: { ...JSON_HEADERS, ...extra }, body: JSON.stringify(body) };
}

function header(h: StatsRequest['headers'], name: string): string | undefined {
  const v = h[name] ?? h[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

function checkAuthOptions(auth: unknown): StatsAuthOptions {
  if (typeof auth !== 'object' || auth === null)
    throw invalidOption(
      WHERE,
      'auth',
      'an object with token and/or basic: { username, password } (the stats need authentication)',
    );
  assertKnownKeys(auth, ['token', 'basic'], `${WHERE} auth`);
  const a = auth as StatsAuthOptions;
  if (a.token !== undefined && (typeof a.token !== 'string' || a.token.length < 8))
    throw invalidOption(WHERE, 'auth.token', 'a string of at least 8 characters (use a long random token)');
  if (a.basic !== undefined) {
    const b = a.basic as unknown as Record<string, unknown>;
    if (typeof b !== 'object' || b === null)
      throw invalidOption(WHERE, 'auth.basic', 'an object { username, password }');
    assertKnownKeys(b, ['username', 'password'], `${WHERE} auth.basic`);
    if (typeof b.username !== 'string' || b.username.length === 0 || b.username.includes(':'))
      throw invalidOption(WHERE, 'auth.basic.username', 'a non-empty string without ":"');
    if (typeof b.password !== 'string' || b.password.length < 8)
      throw invalidOption(WHERE, 'auth.basic.password', 'a string of at least 8 characters');
  }
  if (a.token === undefined && a.basic === undefined)
    throw invalidOption(
      WHERE,
      'auth',
      'given a token or basic credentials: the stats are never served without authentication',
    );
  return a;
}

/**
 * @example
 * const stats = createStatsHandler({ source: privacy.stats, prefix: '/admin/stats',
 *                                    auth: { token: process.env.STATS_TOKEN } });
 * const res = await stats.handle({ method: 'GET', path: '/admin/stats/api/aggregate', query: 'period=7d', headers });
 */
export function createStatsHandler(options: StatsHandlerOptions): StatsHandler {
  if (typeof options !== 'object' || options === null) throw invalidOption(WHERE, 'options', 'an object');
  assertKnownKeys(options, OPTION_KEYS, WHERE);
  const source = options.source;
  if (typeof source !== 'object' || source === null || typeof source.query !== 'function')
    throw invalidOption(WHERE, 'source', 'a StatsSource (privacy.stats, or an aggregator with query())');
  const locale = options.locale;
  if (locale !== undefined && !(LANGS as readonly unknown[]).includes(locale)) {
    const hint = typeof locale === 'string' ? didYouMean(locale, LANGS) : undefined;
    throw invalidOption(
      WHERE,
      'locale',
      `one of ${LANGS.map((l) => `'${l}'`).join(', ')}${hint ? ` (did you mean '${hint}'?)` : ''}`,
    );
  }
  const prefixOpt = options.prefix ?? DEFAULT_STATS_PREFIX;
  if (typeof prefixOpt !== 'string' || !/^\/[A-Za-z0-9._~\-/]*$/.test(prefixOpt))
    throw invalidOption(WHERE, 'prefix', 'a path starting with "/"');
  const prefix = prefixOpt.replace(/\/+$/, '');
  const auth = checkAuthOptions(options.auth);
  const authorized = authChecker(auth);
  const wwwAuthenticate = challenge(auth);
  if (options.site !== undefined && (typeof options.site !== 'string' || options.site.length === 0))
    throw invalidOption(WHERE, 'site', 'a non-empty string');
  if (options.timeZone !== undefined && !isValidTimeZone(options.timeZone))
    throw invalidOption(WHERE, 'timeZone', 'an IANA time zone such as "Europe/Moscow"');
  const k = options.k ?? DEFAULT_K;
  if (!Number.isInteger(k) || k < 1 || k > 1000) throw invalidOption(WHERE, 'k', 'an integer from 1 to 1000');
  const defaults = { site: options.site, timeZone: options.timeZone, k };

  const failure = (err: unknown): StatsResponse => {
    if (isPrivacyLogError(err, ERROR_CODES.INVALID_QUERY))
      return json(400, { error: { code: err.code, message: err.message } });
    return json(503, {
      error: {
        code: isPrivacyLogError(err) ? err.code : ERROR_CODES.STORE_UNAVAILABLE,
        message: 'The stats store could not answer; try again later (the server log has the cause).',
      },
    });
  };

  async function api(type: QueryType, params: URLSearchParams): Promise<StatsResponse> {
    try {
      const q = queryFromParams(type, params, defaults);
      return json(200, await source!.query(q));
    } catch (err) {
      return failure(err);
    }
  }

  async function dashboard(path: string, params: URLSearchParams, acceptLanguage: string | undefined) {
    const lang = pickLang(params.get('lang'), locale ?? acceptLanguage);
    let base: StatsQuery;
    try {
      base = queryFromParams('aggregate', params, defaults);
      if (base.metrics.length > 0 || base.property !== undefined)
        return {
          status: 400,
          headers: HTML_HEADERS,
          body: renderDashboardError(lang, 'metrics and property belong to the JSON API.'),
        };
    } catch (err) {
      const msg = isPrivacyLogError(err) ? err.message : 'invalid request';
      return { status: 400, headers: HTML_HEADERS, body: renderDashboardError(lang, msg) };
    }
    try {
      const metricsAll = ['visitors', 'pageviews', 'downloads', 'sessions', 'bounce_rate', 'visit_duration'] as const;
      const hourly = (base.interval ?? (base.period === 'day' ? 'hour' : undefined)) === 'hour';
      const [aggregate, timeseries, ...tables] = await Promise.all([
        source!.query({ ...base, type: 'aggregate', metrics: [...metricsAll] }),
        source!.query({ ...base, type: 'timeseries', metrics: hourly ? ['pageviews'] : ['visitors', 'pageviews'] }),
        ...DASHBOARD_PROPERTIES.map((property) =>
          source!.query({
            ...base,
            type: 'breakdown',
            property,
            limit: 10,
            metrics: ['visitors', property === 'download' ? 'downloads' : 'pageviews'],
          }),
        ),
      ]);
      const breakdowns = Object.fromEntries(DASHBOARD_PROPERTIES.map((p, i) => [p, tables[i]!])) as Record<
        DashboardProperty,
        StatsResult
      >;
      const body = renderDashboard({
        lang,
        path,
        params,
        filters: (base.filters ?? []) as Filter[],
        aggregate: aggregate!,
        timeseries: timeseries!,
        breakdowns,
      });
      return { status: 200, headers: HTML_HEADERS, body };
    } catch (err) {
      const r = failure(err);
      const msg = isPrivacyLogError(err, ERROR_CODES.INVALID_QUERY)
        ? err.message
        : 'The stats store could not answer; try again later.';
      return { status: r.status, headers: HTML_HEADERS, body: renderDashboardError(lang, msg) };
    }
  }

  return {
    prefix,
    async handle(req: StatsRequest): Promise<StatsResponse | undefined> {
      const path = req.path;
      if (path !== prefix && !path.startsWith(`${prefix}/`)) return undefined;
      if (!authorized(header(req.headers, 'authorization'))) {
        return json(
          401,
          { error: { code: 'UNAUTHORIZED', message: 'Authentication required.' } },
          {
            'www-authenticate': wwwAuthenticate,
          },
        );
      }
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        return json(405, { error: { code: 'METHOD_NOT_ALLOWED', message: 'Use GET.' } }, { allow: 'GET, HEAD' });
      }
      const params = typeof req.query === 'string' ? new URLSearchParams(req.query) : req.query;
      const rest = path.slice(prefix.length);
      if (rest === '' || rest === '/')
        return dashboard(rest === '' ? `${prefix}/` : path, params, header(req.headers, 'accept-language'));
      const m = /^\/api\/([a-z]+)\/?$/.exec(rest);
      if (m && API_TYPES.has(m[1]!)) return api(m[1] as QueryType, params);
      return json(404, {
        error: {
          code: 'NOT_FOUND',
          message: `No such stats route. Routes: ${prefix}/, ${prefix}/api/aggregate, ${prefix}/api/timeseries, ${prefix}/api/breakdown.`,
        },
      });
    },
  };
}
