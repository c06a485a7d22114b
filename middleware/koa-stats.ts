/**
 * The stats API and dashboard for Koa: a thin adapter over the framework-free
 * handler in src/stats/http. Koa is typed structurally, not imported.
 */
import { createStatsHandler, type StatsHandlerOptions } from '../src/stats/http/handler.js';

export type { StatsAuthOptions, StatsHandlerOptions } from '../src/stats/http/handler.js';

/** The parts of Koa's context the stats routes use. */
export interface KoaStatsContext {
  method: string;
  path: string;
  querystring: string;
  headers: Record<string, string | string[] | undefined>;
  status: number;
  body: unknown;
  set(field: string, value: string): void;
}

/**
 * Koa middleware serving the stats dashboard and JSON API under `prefix`;
 * other requests pass through.
 *
 * @example
 * app.use(statsRoutes({ source: privacy.stats, prefix: '/admin/stats',
 *                       auth: { token: process.env.STATS_TOKEN } }));
 */
export function statsRoutes(options: StatsHandlerOptions) {
  const handler = createStatsHandler(options);
  return async function privacyLogStats(ctx: KoaStatsContext, next: () => Promise<unknown>): Promise<void> {
    const res = await handler.handle({
      method: ctx.method,
      path: ctx.path,
      query: ctx.querystring,
      headers: ctx.headers,
    });
    if (res === undefined) {
      await next();
      return;
    }
    for (const [k, v] of Object.entries(res.headers)) ctx.set(k, v);
    ctx.status = res.status;
    // Koa itself sends no body for HEAD.
    ctx.body = res.body;
  };
}
