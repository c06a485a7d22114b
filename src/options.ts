/**
 * `privacyLog()` options (DESIGN §3a): one typed object, every field optional,
 * validated and precomputed once when the factory is called.
 */
import type { Aggregator } from './aggregators/aggregator.js';
import type { IpOptions } from './capture/anonymize-ip.js';
import type { TrustProxy } from './capture/client-ip.js';
import type { ConsentOptions } from './consent/options.js';
import type { EnrichOptions } from './enrich/enrich-options.js';
import { assertKnownKeys, ERROR_CODES, invalidOption, PrivacyLogError } from './errors.js';
import { EVENT_KINDS, type EventKind } from './event.js';
import type { Pipeline } from './pipeline/types.js';

export interface CaptureOptions {
  /** Query parameters kept on `request.query`; a trailing `*` is a prefix. Default `['utm_*', 'ref', 'source']`. */
  queryAllowList?: readonly string[];
  /** Extensions (without dot) that make a path a download. */
  downloadExtensions?: readonly string[];
  /** Extensions (without dot) of static assets, recorded as kind `asset`. Replaces the defaults (css, js, png, woff2, …). */
  assetExtensions?: readonly string[];
  /** Path prefixes of API routes, recorded as kind `api`. Replaces the default `['/api/']`. */
  apiPrefixes?: readonly string[];
  /**
   * Referrer hosts counted as `search`: a host matches itself and its subdomains,
   * `name.*` matches that name under any public suffix. Replaces the defaults
   * (`google.*`, `yandex.*`, `bing.com`, …); spread `DEFAULT_SEARCH_HOSTS` to extend.
   */
  searchHosts?: readonly string[];
  /** Referrer hosts counted as `social`, matched like `searchHosts`. Replaces the defaults (`vk.com`, `ok.ru`, `t.me`, …). */
  socialHosts?: readonly string[];
  /** Paths not recorded at all: exact strings, prefixes ending in `*`, regular expressions, or a predicate. */
  ignore?: ReadonlyArray<string | RegExp> | ((path: string) => boolean);
  /** Event kinds forwarded to the pipeline. Default: every kind but `asset`. */
  kinds?: readonly EventKind[];
  /**
   * Keep, in process memory only, the last event recorded for each visitor for a
   * few minutes, so a "what we recorded about your visit" page can show it
   * (`state.previous`). Keyed by a keyed hash, never by the address. Default false.
   */
  rememberPrevious?: boolean | { ttlMs?: number; maxEntries?: number };
}

export interface RoutesOptions {
  /** Where the consent routes live. Default '/privacy'. */
  prefix?: string;
  /**
   * Serve the pipeline's and capture's metrics in Prometheus text format at
   * `path` (default '/metrics'). Off by default. With `token`, a scraper must
   * send `Authorization: Bearer <token>`.
   */
  metrics?: boolean | { path?: string; token?: string };
}

export interface PrivacyLogOptions {
  /** The site label on every event. Default: the Host header's hostname. */
  site?: string;
  /** A pipeline of your own. Mutually exclusive with `aggregators`. */
  pipeline?: Pipeline;
  /** Aggregators for a default pipeline. Default: `[sqliteAggregator()]` at ./data/privacy-log.db. */
  aggregators?: Aggregator[];
  /** Which proxies to believe for X-Forwarded-For (proxy-addr semantics). Default false: the socket address. */
  trustProxy?: TrustProxy;
  /** Truncation: `{ ipv4Prefix, ipv6Prefix }` or `{ preset: 'strict' }`. Default /24 and /48. */
  ip?: IpOptions;
  consent?: ConsentOptions;
  capture?: CaptureOptions;
  enrich?: EnrichOptions;
  routes?: RoutesOptions;
  /** Called with every coded error the middleware reports (capture failures, pipeline errors). */
  onError?: (err: PrivacyLogError) => void;
}

export const PRIVACY_LOG_OPTION_KEYS = [
  'site',
  'pipeline',
  'aggregators',
  'trustProxy',
  'ip',
  'consent',
  'capture',
  'enrich',
  'routes',
  'onError',
] as const;
const CAPTURE_KEYS = [
  'queryAllowList',
  'downloadExtensions',
  'assetExtensions',
  'apiPrefixes',
  'searchHosts',
  'socialHosts',
  'ignore',
  'kinds',
  'rememberPrevious',
] as const;
const ROUTES_KEYS = ['prefix', 'metrics'] as const;
export const DEFAULT_METRICS_PATH = '/metrics';

/** Kinds forwarded when `capture.kinds` is not given. */
export const DEFAULT_KINDS: readonly EventKind[] = EVENT_KINDS.filter((k) => k !== 'asset');
export const DEFAULT_ROUTES_PREFIX = '/privacy';
export const DEFAULT_PREVIOUS_TTL_MS = 10 * 60_000;
export const DEFAULT_PREVIOUS_MAX_ENTRIES = 10_000;

const WHERE = 'privacyLog()';
const SITE_RE = /^[\p{L}\p{N}._:-]{1,253}$/u;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && typeof v !== 'function';
}

function stringList(v: unknown, field: string): readonly string[] | undefined {
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string' && x.length > 0 && x.length <= 64)) {
    throw invalidOption(WHERE, field, 'an array of non-empty strings');
  }
  return Object.freeze([...v]);
}

function compileIgnore(v: CaptureOptions['ignore']): ((path: string) => boolean) | undefined {
  if (v === undefined) return undefined;
  if (typeof v === 'function') {
    return (path) => {
      try {
        return v(path) === true;
      } catch {
        return false;
      }
    };
  }
  if (!Array.isArray(v)) throw invalidOption(WHERE, 'capture.ignore', 'an array of strings/RegExps or a function');
  const exact = new Set<string>();
  const prefixes: string[] = [];
  const patterns: RegExp[] = [];
  for (const item of v) {
    if (typeof item === 'string' && item.endsWith('*')) prefixes.push(item.slice(0, -1));
    else if (typeof item === 'string') exact.add(item);
    else if (item instanceof RegExp) patterns.push(item);
    else throw invalidOption(WHERE, 'capture.ignore', 'an array of strings/RegExps or a function');
  }
  if (exact.size + prefixes.length + patterns.length === 0) return undefined;
  return (path) => exact.has(path) || prefixes.some((p) => path.startsWith(p)) || patterns.some((re) => re.test(path));
}

export interface ResolvedPrivacyLogOptions {
  site: string | undefined;
  pipeline: Pipeline | undefined;
  aggregators: Aggregator[] | undefined;
  trustProxy: TrustProxy | undefined;
  ip: IpOptions;
  consent: ConsentOptions;
  queryAllowList: readonly string[] | undefined;
  downloadExtensions: readonly string[] | undefined;
  assetExtensions: readonly string[] | undefined;
  apiPrefixes: readonly string[] | undefined;
  searchHosts: readonly string[] | undefined;
  socialHosts: readonly string[] | undefined;
  kinds: ReadonlySet<EventKind>;
  ignore: ((path: string) => boolean) | undefined;
  rememberPrevious: { ttlMs: number; maxEntries: number } | undefined;
  enrich: EnrichOptions | undefined;
  routesPrefix: string;
  metrics: { path: string; token: string | undefined } | undefined;
  onError: ((err: PrivacyLogError) => void) | undefined;
}

/**
 * Validate `privacyLog()` options once. Throws a coded INVALID_OPTION error
 * (with "did you mean" for misspelled keys) or NOT_CALLED when handed a
 * framework context instead of options.
 */
export function resolvePrivacyLogOptions(input: unknown): ResolvedPrivacyLogOptions {
  if (input === undefined || input === null) input = {};
  if (!isPlainObject(input)) {
    throw new PrivacyLogError(ERROR_CODES.INVALID_OPTION, `${WHERE}: options must be an object.`, {
      retryable: false,
    });
  }
  // app.use(privacyLog) in Koa calls privacyLog(ctx, next); in Express, privacyLog(req, res, next).
  if ('req' in input && 'res' in input && 'app' in input) throw notCalled();
  if ('socket' in input && 'headers' in input && 'method' in input) throw notCalled();
  assertKnownKeys(input, PRIVACY_LOG_OPTION_KEYS, WHERE);
  const o = input as PrivacyLogOptions;

  if (o.site !== undefined && (typeof o.site !== 'string' || !SITE_RE.test(o.site))) {
    throw invalidOption(WHERE, 'site', 'a short label of letters, digits, ".", "_", ":" or "-"');
  }
  if (o.pipeline !== undefined && o.aggregators !== undefined) {
    throw invalidOption(WHERE, 'pipeline', 'given without "aggregators" (pass aggregators to createPipeline instead)');
  }
  if (o.pipeline !== undefined && (!isPlainObject(o.pipeline) || typeof o.pipeline.push !== 'function')) {
    throw invalidOption(WHERE, 'pipeline', 'a Pipeline from createPipeline()');
  }
  if (o.aggregators !== undefined) {
    if (!Array.isArray(o.aggregators) || o.aggregators.length === 0) {
      throw invalidOption(WHERE, 'aggregators', 'a non-empty array of aggregators');
    }
    for (const a of o.aggregators) {
      if (!isPlainObject(a) || typeof a.write !== 'function' || typeof a.name !== 'string') {
        throw invalidOption(WHERE, 'aggregators', 'an array of objects with a name and a write(batch) method');
      }
    }
  }
  for (const key of ['ip', 'consent', 'capture', 'enrich', 'routes'] as const) {
    if (o[key] !== undefined && !isPlainObject(o[key])) throw invalidOption(WHERE, key, 'an object');
  }
  if (o.onError !== undefined && typeof o.onError !== 'function') throw invalidOption(WHERE, 'onError', 'a function');

  const capture = o.capture ?? {};
  assertKnownKeys(capture, CAPTURE_KEYS, `${WHERE} capture`);
  let kinds: ReadonlySet<EventKind> = new Set(DEFAULT_KINDS);
  if (capture.kinds !== undefined) {
    const known: readonly string[] = EVENT_KINDS;
    if (!Array.isArray(capture.kinds) || !capture.kinds.every((k) => known.includes(k))) {
      throw invalidOption(WHERE, 'capture.kinds', `an array of ${EVENT_KINDS.join(', ')}`);
    }
    kinds = new Set(capture.kinds);
  }
  let rememberPrevious: ResolvedPrivacyLogOptions['rememberPrevious'];
  const rp = capture.rememberPrevious;
  if (rp === true) rememberPrevious = { ttlMs: DEFAULT_PREVIOUS_TTL_MS, maxEntries: DEFAULT_PREVIOUS_MAX_ENTRIES };
  else if (isPlainObject(rp)) {
    assertKnownKeys(rp, ['ttlMs', 'maxEntries'], `${WHERE} capture.rememberPrevious`);
    const ttlMs = rp.ttlMs ?? DEFAULT_PREVIOUS_TTL_MS;
    const maxEntries = rp.maxEntries ?? DEFAULT_PREVIOUS_MAX_ENTRIES;
    if (!Number.isInteger(ttlMs) || ttlMs < 1000 || ttlMs > 3_600_000) {
      throw invalidOption(WHERE, 'capture.rememberPrevious.ttlMs', 'an integer from 1000 to 3600000');
    }
    if (!Number.isInteger(maxEntries) || maxEntries < 1 || maxEntries > 1_000_000) {
      throw invalidOption(WHERE, 'capture.rememberPrevious.maxEntries', 'an integer from 1 to 1000000');
    }
    rememberPrevious = { ttlMs, maxEntries };
  } else if (rp !== undefined && rp !== false) {
    throw invalidOption(WHERE, 'capture.rememberPrevious', 'a boolean or { ttlMs, maxEntries }');
  }

  const routes = o.routes ?? {};
  assertKnownKeys(routes, ROUTES_KEYS, `${WHERE} routes`);
  const prefix = routes.prefix ?? DEFAULT_ROUTES_PREFIX;
  if (typeof prefix !== 'string' || !/^\/[A-Za-z0-9._~/-]*[A-Za-z0-9._~-]$/.test(prefix)) {
    throw invalidOption(WHERE, 'routes.prefix', "a path such as '/privacy' (no trailing slash)");
  }

  let metrics: ResolvedPrivacyLogOptions['metrics'];
  const m = routes.metrics;
  if (m === true) metrics = { path: DEFAULT_METRICS_PATH, token: undefined };
  else if (isPlainObject(m)) {
    assertKnownKeys(m, ['path', 'token'], `${WHERE} routes.metrics`);
    const path = m.path ?? DEFAULT_METRICS_PATH;
    if (typeof path !== 'string' || !/^\/[A-Za-z0-9._~/-]*$/.test(path)) {
      throw invalidOption(WHERE, 'routes.metrics.path', "a path such as '/metrics'");
    }
    if (m.token !== undefined && (typeof m.token !== 'string' || m.token.length < 16)) {
      throw invalidOption(WHERE, 'routes.metrics.token', 'a string of at least 16 characters');
    }
    metrics = { path, token: m.token };
  } else if (m !== undefined && m !== false) {
    throw invalidOption(WHERE, 'routes.metrics', 'a boolean or { path, token }');
  }

  return {
    site: o.site,
    pipeline: o.pipeline,
    aggregators: o.aggregators,
    trustProxy: o.trustProxy,
    ip: o.ip ?? {},
    consent: o.consent ?? {},
    queryAllowList: stringList(capture.queryAllowList, 'capture.queryAllowList'),
    downloadExtensions: stringList(capture.downloadExtensions, 'capture.downloadExtensions'),
    assetExtensions: stringList(capture.assetExtensions, 'capture.assetExtensions'),
    apiPrefixes: stringList(capture.apiPrefixes, 'capture.apiPrefixes'),
    searchHosts: stringList(capture.searchHosts, 'capture.searchHosts'),
    socialHosts: stringList(capture.socialHosts, 'capture.socialHosts'),
    kinds,
    ignore: compileIgnore(capture.ignore),
    rememberPrevious,
    enrich: o.enrich,
    routesPrefix: prefix,
    metrics,
    onError: o.onError,
  };
}

export function notCalled(): PrivacyLogError {
  return new PrivacyLogError(
    ERROR_CODES.NOT_CALLED,
    'privacyLog is a factory: write app.use(privacyLog()) — with the parentheses — not app.use(privacyLog).',
    { retryable: false },
  );
}
