/**
 * The stats dashboard/API and the collector for Express: thin adapters over
 * the same framework-free handlers the Koa adapters use (src/stats/http,
 * src/collector). Express is typed structurally, not imported.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type Collector, type CollectorOptions, createCollector } from '../src/collector/collector.js';
import { receive, send } from '../src/collector/receive.js';
import { ERROR_CODES, PrivacyLogError } from '../src/errors.js';
import { bodyConsumed } from '../src/http/read-body.js';
import { createStatsHandler, type StatsHandlerOptions } from '../src/stats/http/handler.js';

type Req = IncomingMessage & { path?: string };
type Next = (err?: unknown) => void;
export type ExpressRouteMiddleware = (req: Req, res: ServerResponse, next: Next) => void;

function splitUrl(req: Req): { path: string; query: string } {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  return q === -1
    ? { path: req.path ?? url, query: '' }
    : { path: req.path ?? url.slice(0, q), query: url.slice(q + 1) };
}

/**
 * Express middleware serving the stats dashboard and JSON API under `prefix`.
 *
 * @example
 * app.use(statsRoutes({ source: privacy.stats, prefix: '/admin/stats', auth: { token: process.env.STATS_TOKEN } }));
 */
export function statsRoutes(options: StatsHandlerOptions): ExpressRouteMiddleware {
  const handler = createStatsHandler(options);
  return (req, res, next) => {
    const { path, query } = splitUrl(req);
    handler
      .handle({ method: req.method ?? 'GET', path, query, headers: req.headers })
      .then((answer) => (answer ? send(res, answer) : next()), next);
  };
}

/**
 * Express middleware receiving batches from httpAggregator at the collector's
 * path. Mount it before any body parser: it reads and measures the raw body.
 *
 * @example
 * app.use(collectorRoutes({ aggregators: [postgresAggregator()], auth: { token: process.env.COLLECTOR_TOKEN } }));
 */
export function collectorRoutes(
  options: CollectorOptions | Collector,
): ExpressRouteMiddleware & { collector: Collector } {
  if (typeof options === 'object' && options !== null && 'socket' in options && 'headers' in options) {
    throw new PrivacyLogError(
      ERROR_CODES.NOT_CALLED,
      'collectorRoutes is a factory: write app.use(collectorRoutes({ aggregators, auth })), not app.use(collectorRoutes).',
      { retryable: false },
    );
  }
  const collector =
    typeof (options as Collector).handle === 'function'
      ? (options as Collector)
      : createCollector(options as CollectorOptions);
  const middleware: ExpressRouteMiddleware = (req, res, next) => {
    const { path } = splitUrl(req);
    if (path !== collector.path) return next();
    if (bodyConsumed(req) && req.headers['content-length'] !== '0') {
      send(res, {
        status: 500,
        headers: { 'content-type': 'application/json; charset=utf-8' },
        body: JSON.stringify({ error: 'a body parser read the request first: mount collectorRoutes before it' }),
      });
      return;
    }
    receive(collector, req, path).then((answer) => send(res, answer), next);
  };
  return Object.assign(middleware, { collector });
}
