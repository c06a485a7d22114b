/**
 * The collector for Koa: `app.use(collectorRoutes({ aggregators, auth }))`
 * answers POSTs from httpAggregator at its path and passes every other request
 * on. A thin adapter over the framework-free core (src/collector/).
 *
 * Mount it before any body parser: the collector reads and measures the raw
 * body itself (size limit, gzip).
 *
 * Koa is not imported: the context is typed structurally.
 */
import type { IncomingMessage } from 'node:http';
import { type Collector, type CollectorOptions, createCollector } from '../src/collector/collector.js';
import { receive } from '../src/collector/receive.js';
import { ERROR_CODES, invalidOption, PrivacyLogError } from '../src/errors.js';
import { bodyConsumed } from '../src/http/read-body.js';

export type { Collector, CollectorOptions };

/** The parts of Koa's context this adapter uses. */
export interface CollectorKoaContext {
  req: IncomingMessage;
  path: string;
  status: number;
  body: unknown;
  set(field: string, value: string): void;
}
export type CollectorKoaMiddleware = ((ctx: CollectorKoaContext, next: () => Promise<unknown>) => Promise<unknown>) & {
  /** The collector behind the middleware: metrics(), close(). */
  readonly collector: Collector;
};

function isCollector(v: unknown): v is Collector {
  return typeof v === 'object' && v !== null && typeof (v as Collector).handle === 'function';
}

/**
 * @example
 * import Koa from 'koa';
 * import { collectorRoutes } from 'privacy-log/koa';
 * const app = new Koa();
 * const store = postgresAggregator({ connectionString: process.env.DATABASE_URL });
 * app.use(collectorRoutes({ aggregators: [store], auth: { token: process.env.COLLECTOR_TOKEN } }));
 * app.listen(8787);
 */
export function collectorRoutes(options: CollectorOptions | Collector): CollectorKoaMiddleware {
  // app.use(collectorRoutes) makes Koa call this with (ctx, next).
  if (typeof options === 'object' && options !== null && 'req' in options && 'res' in options)
    throw new PrivacyLogError(
      ERROR_CODES.NOT_CALLED,
      'collectorRoutes is a factory: write app.use(collectorRoutes({ aggregators, auth })), not app.use(collectorRoutes).',
      { retryable: false },
    );
  if (typeof options !== 'object' || options === null)
    throw invalidOption('collectorRoutes()', 'options', 'collector options or a collector from createCollector()');
  const collector = isCollector(options) ? options : createCollector(options);
  const middleware = async (ctx: CollectorKoaContext, next: () => Promise<unknown>): Promise<unknown> => {
    if (!collector.handles(ctx.path)) return next();
    if (bodyConsumed(ctx.req) && ctx.req.headers['content-length'] !== '0') {
      ctx.status = 500;
      ctx.set('content-type', 'application/json; charset=utf-8');
      ctx.body = JSON.stringify({ error: 'a body parser read the request first: mount collectorRoutes before it' });
      return undefined;
    }
    const response = await receive(collector, ctx.req, ctx.path);
    ctx.status = response.status;
    for (const [k, v] of Object.entries(response.headers)) ctx.set(k, v);
    ctx.body = response.body;
    return undefined;
  };
  return Object.assign(middleware, { collector });
}
