/**
 * The framework-free core behind both adapters: options → capture → pipeline,
 * the per-request lifecycle on Node's own request/response objects, the consent
 * routes, and a description of the live configuration.
 *
 * Koa and Express both hand us Node's IncomingMessage and ServerResponse, so the
 * adapters only read their framework's route and secure flag and call `begin()`.
 */

import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Aggregator, AggregatorDescription } from './aggregators/aggregator.js';
import { isStatsSource } from './aggregators/aggregator.js';
import { sqliteAggregator } from './aggregators/sqlite/sqlite-aggregator.js';
import {
  DEFAULT_IPV4_PREFIX,
  DEFAULT_IPV6_PREFIX,
  type IpOptions,
  normalizeClientAddress,
  STRICT_IPV4_PREFIX,
  STRICT_IPV6_PREFIX,
} from './capture/anonymize-ip.js';
import { type Captured, createCapture, type RequestFacts } from './capture/capture.js';
import { compileTrustProxy, resolveClientAddress } from './capture/client-ip.js';
import { DEFAULT_DOWNLOAD_EXTENSIONS } from './capture/download.js';
import { RecentEvents } from './capture/recent-events.js';
import { createVisitorHasher } from './capture/visitor-hash.js';
import { type Consent, type ConsentState, createConsent } from './consent/consent.js';
import {
  type ConsentRequest,
  type ConsentResponse,
  createConsentRoutes,
  GPC_WELL_KNOWN_PATH,
} from './consent/routes.js';
import { createEnricher, type Enricher } from './enrich/enricher.js';
import { ERROR_CODES, PrivacyLogError } from './errors.js';
import type { PrivacyEvent } from './event.js';
import { bearerChecker } from './http/bearer-auth.js';
import { headerValue, readRequestHeaders, singleValue } from './http/request-headers.js';
import { resolvePrivacyLogOptions } from './options.js';
import { createPipeline } from './pipeline/create-pipeline.js';
import { PROMETHEUS_CONTENT_TYPE, prometheusMetrics } from './pipeline/prometheus.js';
import type { Pipeline } from './pipeline/types.js';
import type { StatsSource } from './stats/query.js';

/** What the adapters expose per request: `ctx.state.privacy` (Koa), `res.locals.privacy` (Express). */
export interface PrivacyRequestState {
  /** The visitor's consent, known before the handler runs. */
  consent: ConsentState;
  /** The event recorded for this request, set once the response has ended. */
  event?: PrivacyEvent;
  /** With `capture.rememberPrevious`: the event recorded for this visitor's previous request. */
  previous?: PrivacyEvent;
}

/** Counters of the capture step, beside the pipeline's own metrics. */
export interface CaptureMetrics {
  /** Requests seen by the middleware. */
  requests: number;
  /** Requests that became an event pushed to the pipeline. */
  captured: number;
  /** Requests not recorded: ignored paths, or kinds not forwarded (assets by default). */
  skipped: number;
  /** Requests whose capture failed; each one is reported through onError. */
  failed: number;
}

/** The live configuration, for a policy's technical appendix or an operator's check. */
export interface PrivacyLogDescription {
  site: string;
  fields: string[];
  neverCaptured: string[];
  ip: { ipv4Prefix: number; ipv6Prefix: number };
  trustProxy: string;
  consent: {
    policyVersion: string;
    honorGpc: boolean;
    honorDnt: boolean;
    default: string;
    cookieMaxAgeDays: number;
    sessionIdleMinutes: number;
  };
  queryAllowList: string[];
  downloadExtensions: string[];
  kinds: string[];
  enrichment: { isp: boolean; domain: boolean };
  aggregators: Array<{ name: string } & Partial<AggregatorDescription>>;
}

export interface PrivacyLogCore {
  readonly pipeline: Pipeline;
  readonly stats: StatsSource | undefined;
  readonly consent: Consent;
  /** Start tracking one request. `secure` is the framework's view of HTTPS. */
  begin(
    req: IncomingMessage,
    res: ServerResponse,
    secure: boolean,
    route?: RouteReader,
    routeContext?: unknown,
  ): PrivacyRequestState;
  /** True when `path` is one of the consent routes or the metrics route (adapters read a body only then). */
  ownsRoute(path: string): boolean;
  handleRoute(req: ConsentRequest): Promise<ConsentResponse | undefined>;
  describe(): PrivacyLogDescription;
  captureMetrics(): CaptureMetrics;
  /**
   * Resolves once today's visitor salt is loaded from the store (shared by every
   * server) and the ISP data is loaded. Requests before that are still recorded:
   * with a local salt, and without ISP. Rejects with ENRICH_DATA when explicitly
   * configured ISP data cannot be loaded.
   */
  ready(): Promise<void>;
  /** Flush and close the pipeline, then stop enrichment. Idempotent. */
  close(options?: { timeoutMs?: number }): Promise<void>;
}

/**
 * Reads the matched route pattern once the response has ended, from the
 * framework's own context object (Koa's ctx, Express's req). A shared function,
 * so no closure is made per request.
 */
export type RouteReader = (routeContext: unknown) => string | undefined;

const FIELDS = [
  'time (request start, UTC, ms)',
  'site',
  'kind (pageview, download, asset, api, error, other)',
  'request method, path (secret-looking segments redacted), allow-listed query parameters, route pattern',
  'response status, bytes, duration',
  'client address, truncated',
  'internet provider (ISP name and AS number, looked up on the truncated network)',
  'domain name (registrable domain of the reverse-DNS name)',
  'browser and major version, OS and version, device class, bot flag',
  'referrer (host only for other sites; path without query for this site)',
  'downloaded file name and whether it was fully sent',
  'consent state and its source',
  'session id (only with analytics consent)',
];
const NEVER = [
  'full IP address',
  'raw User-Agent',
  'cookies, Authorization and other headers',
  'request and response bodies, form fields',
  'query values outside the allow-list',
  'any identifier that links visits across days',
];

function readRoute(flight: InFlight): string | undefined {
  if (!flight.route) return undefined;
  const r = flight.route(flight.routeContext);
  return typeof r === 'string' && r.length > 0 && r.length <= 512 ? r : undefined;
}

/** One request between begin() and its end: the request facts capture reads, and the core's own state (one object). */
interface InFlight extends RequestFacts {
  /** The request's socket: Node detaches it from the response before 'close'. */
  socket: { errored?: unknown } | undefined;
  state: PrivacyRequestState;
  t0: number;
  route: RouteReader | undefined;
  routeContext: unknown;
  recentKey: string | undefined;
}

const IN_FLIGHT = Symbol('privacy-log.in-flight');
type TrackedResponse = ServerResponse & { [IN_FLIGHT]?: InFlight };

/** The prefix lengths the anonymizer keeps (it has validated the options already). */
function ipPrefixes(ip: IpOptions): { ipv4Prefix: number; ipv6Prefix: number } {
  const strict = ip.preset === 'strict';
  return {
    ipv4Prefix: ip.ipv4Prefix ?? (strict ? STRICT_IPV4_PREFIX : DEFAULT_IPV4_PREFIX),
    ipv6Prefix: ip.ipv6Prefix ?? (strict ? STRICT_IPV6_PREFIX : DEFAULT_IPV6_PREFIX),
  };
}

function describeTrust(t: unknown): string {
  if (t === undefined || t === false) return 'none (the socket address is the client)';
  if (typeof t === 'number') return `${t} hop(s)`;
  if (typeof t === 'function') return 'custom function';
  return Array.isArray(t) ? t.join(', ') : String(t);
}

/**
 * Build the core from `privacyLog()` options. Adapters wrap it; use it directly
 * only to write an adapter for another framework on Node's http objects.
 *
 * @example
 * const core = createPrivacyLog({ site: 'oblachko' });
 * server.on('request', (req, res) => { core.begin(req, res, false); handler(req, res); });
 */
export function createPrivacyLog(options?: unknown): PrivacyLogCore {
  const o = resolvePrivacyLogOptions(options);
  const report = (err: PrivacyLogError) => {
    try {
      o.onError?.(err);
    } catch {
      // A throwing error handler must not break the request path.
    }
  };
  const trust = compileTrustProxy(o.trustProxy);
  const consent = createConsent(o.consent);
  const aggregators: Aggregator[] | undefined = o.pipeline ? undefined : (o.aggregators ?? [sqliteAggregator()]);
  const pipeline: Pipeline = o.pipeline ?? createPipeline({ aggregators, onError: report });
  const hasher = createVisitorHasher({
    saltSource: (day, candidate) => pipeline.salt(day, candidate),
    onError: report,
  });
  const enricher: Enricher = createEnricher(o.enrich);
  const capture = createCapture({
    site: o.site,
    trust,
    ip: o.ip,
    queryAllowList: o.queryAllowList,
    downloadExtensions: o.downloadExtensions,
    assetExtensions: o.assetExtensions,
    apiPrefixes: o.apiPrefixes,
    searchHosts: o.searchHosts,
    socialHosts: o.socialHosts,
    kinds: o.kinds,
    ignore: o.ignore,
    hasher,
    enricher,
  });
  const recent = o.rememberPrevious ? new RecentEvents(o.rememberPrevious) : undefined;
  const routes = createConsentRoutes(
    consent,
    { forget: (sessionId) => pipeline.forget(sessionId) },
    { prefix: o.routesPrefix },
  );
  const consentPath = `${o.routesPrefix}/consent`;
  const metrics: CaptureMetrics = { requests: 0, captured: 0, skipped: 0, failed: 0 };
  let closing: Promise<void> | undefined;

  const metricsAuthorized = o.metrics?.token ? bearerChecker(o.metrics.token) : undefined;
  function metricsResponse(req: ConsentRequest): ConsentResponse {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return {
        status: 405,
        headers: { allow: 'GET, HEAD', 'content-type': 'text/plain' },
        body: 'method not allowed\n',
      };
    }
    if (metricsAuthorized && !metricsAuthorized(headerValue(req.headers, 'authorization'))) {
      return {
        status: 401,
        headers: { 'www-authenticate': 'Bearer', 'content-type': 'text/plain' },
        body: 'unauthorized\n',
      };
    }
    const c = metrics;
    const capture = [
      '# HELP privacy_log_capture_requests_total Requests seen by the middleware.',
      '# TYPE privacy_log_capture_requests_total counter',
      `privacy_log_capture_requests_total ${c.requests}`,
      '# HELP privacy_log_capture_events_total Requests that became an event.',
      '# TYPE privacy_log_capture_events_total counter',
      `privacy_log_capture_events_total ${c.captured}`,
      '# HELP privacy_log_capture_skipped_total Requests not recorded (ignored paths, kinds not forwarded).',
      '# TYPE privacy_log_capture_skipped_total counter',
      `privacy_log_capture_skipped_total ${c.skipped}`,
      '# HELP privacy_log_capture_failed_total Requests whose capture failed (each reported through onError).',
      '# TYPE privacy_log_capture_failed_total counter',
      `privacy_log_capture_failed_total ${c.failed}`,
    ].join('\n');
    return {
      status: 200,
      headers: { 'content-type': PROMETHEUS_CONTENT_TYPE, 'cache-control': 'no-store' },
      body: `${prometheusMetrics(pipeline).trimEnd()}\n${capture}\n`,
    };
  }

  function finish(this: TrackedResponse): void {
    const flight = this[IN_FLIGHT];
    if (!flight) return;
    this[IN_FLIGHT] = undefined;
    let captured: Captured | undefined;
    try {
      const length = singleValue(this.getHeader('content-length'));
      const parsedLength = length === undefined ? undefined : Number.parseInt(length, 10);
      captured = capture.record(
        flight,
        {
          status: this.statusCode,
          contentLength: Number.isSafeInteger(parsedLength) && (parsedLength as number) >= 0 ? parsedLength : undefined,
          contentType: singleValue(this.getHeader('content-type')),
          contentDisposition: singleValue(this.getHeader('content-disposition')),
          // Node marks a response finished once its data is queued to the socket, even when
          // the client has gone away; a socket that errored means the transfer did not complete.
          finished: this.writableFinished && !flight.socket?.errored,
          durationMs: performance.now() - flight.t0,
          route: readRoute(flight),
        },
        flight.state.consent,
      );
    } catch (cause) {
      metrics.failed++;
      report(
        new PrivacyLogError(ERROR_CODES.INVALID_EVENT, 'privacy-log: capture failed for one request; it was served.', {
          cause,
          retryable: false,
        }),
      );
      return;
    }
    if (!captured) {
      metrics.skipped++;
      return;
    }
    metrics.captured++;
    flight.state.event = captured.event;
    pipeline.push(captured.event, captured.visitor, captured.enrichment);
    if (recent && flight.recentKey) recent.set(flight.recentKey, captured.event);
  }

  return {
    pipeline,
    get stats(): StatsSource | undefined {
      if (pipeline.stats) return pipeline.stats;
      const found = (aggregators ?? []).find(isStatsSource);
      return found as StatsSource | undefined;
    },
    consent,

    begin(req, res, secure, route, routeContext) {
      metrics.requests++;
      // One pass over the raw header lines: Node's req.headers object is never built for us.
      const headers = readRequestHeaders(req);
      const startMs = Date.now();
      let state: ConsentState = consent.resolve(headers.cookie, headers.secGpc, headers.dnt, startMs);
      if (state.analytics === 'granted') {
        const sessionId = state.sessionId ?? consent.newSessionId();
        if (!state.sessionId) state = { ...state, sessionId };
        // Sliding idle expiry: refreshed on every request of a consenting visitor. Node's
        // appendHeader() validates the header twice when there is none yet (its own check, then
        // setHeader's), so the usual case, no cookie set before this middleware, sets it directly.
        const cookie = consent.sessionCookie(sessionId, secure);
        if (res.hasHeader('set-cookie')) res.appendHeader('Set-Cookie', cookie);
        else res.setHeader('Set-Cookie', cookie);
      }
      const requestState: PrivacyRequestState = { consent: state };
      const socketAddress = req.socket?.remoteAddress;
      let recentKey: string | undefined;
      let clientAddress: string | undefined;
      if (recent) {
        // Resolved once here; capture reuses it when the response ends.
        clientAddress = resolveClientAddress(socketAddress, headers.forwardedFor, trust);
        const full = normalizeClientAddress(clientAddress);
        if (full) {
          recentKey = recent.key(full.address, headers.userAgent ?? '');
          const previous = recent.get(recentKey);
          if (previous) requestState.previous = previous;
        }
      }
      const tracked = res as TrackedResponse;
      tracked[IN_FLIGHT] = {
        method: req.method ?? 'GET',
        url: req.url ?? '/',
        headers,
        socketAddress,
        clientAddress,
        startMs,
        socket: req.socket as { errored?: unknown } | undefined,
        state: requestState,
        t0: performance.now(),
        route,
        routeContext,
        recentKey,
      };
      // 'close' comes once per response and finish() ignores a repeat: on() spares the
      // wrapper closure once() would allocate for every request.
      res.on('close', finish);
      return requestState;
    },

    ownsRoute(path) {
      return path === consentPath || path === GPC_WELL_KNOWN_PATH || path === o.metrics?.path;
    },

    handleRoute(req) {
      if (o.metrics && req.path === o.metrics.path) return Promise.resolve(metricsResponse(req));
      return routes.handle(req);
    },

    describe() {
      const c = consent.options;
      const prefixes = ipPrefixes(o.ip);
      return {
        site: o.site ?? '(the Host header of each request)',
        fields: [...FIELDS],
        neverCaptured: [...NEVER],
        ip: prefixes,
        trustProxy: describeTrust(o.trustProxy),
        consent: {
          policyVersion: c.policyVersion,
          honorGpc: c.honorGpc,
          honorDnt: c.honorDnt,
          default: c.default,
          cookieMaxAgeDays: c.maxAgeDays,
          sessionIdleMinutes: c.sessionIdleMinutes,
        },
        queryAllowList: [...(o.queryAllowList ?? ['utm_*', 'ref', 'source'])],
        downloadExtensions: [...(o.downloadExtensions ?? DEFAULT_DOWNLOAD_EXTENSIONS)],
        kinds: [...o.kinds],
        enrichment: { isp: o.enrich?.isp !== false, domain: Boolean(o.enrich?.domain) },
        aggregators: pipeline.aggregators.map((a) => ({ ...a.describe?.(), name: a.name })),
      };
    },

    captureMetrics() {
      return { ...metrics };
    },

    async ready() {
      await Promise.all([hasher.ready(), enricher.ready()]);
    },

    close(opts) {
      closing ??= (async () => {
        try {
          await pipeline.close(opts);
        } finally {
          hasher.close();
          await enricher.close();
        }
      })();
      return closing;
    },
  };
}
