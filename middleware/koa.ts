/**
 * privacy-log for Koa. A thin adapter: everything it does is in the
 * framework-free core (src/privacy-log.ts); this file only maps Koa's context.
 *
 * Koa is not imported: the context is typed structurally, so this module loads
 * without Koa's type packages and works with Koa 2 and 3.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { BodyTooLargeError, routeBody } from '../src/http/read-body.js';
import type { PrivacyLogOptions } from '../src/options.js';
import type { Pipeline } from '../src/pipeline/types.js';
import {
  type CaptureMetrics,
  createPrivacyLog,
  type PrivacyLogDescription,
  type PrivacyRequestState,
} from '../src/privacy-log.js';
import type { StatsSource } from '../src/stats/query.js';

export { collectorRoutes } from './koa-collector.js';
export { type StatsAuthOptions, type StatsHandlerOptions, statsRoutes } from './koa-stats.js';
export type { CaptureMetrics, PrivacyLogDescription, PrivacyLogOptions, PrivacyRequestState };

/** The parts of Koa's context this adapter uses. */
export interface KoaContextLike {
  req: IncomingMessage;
  res: ServerResponse;
  state: Record<string, unknown>;
  path: string;
  method: string;
  secure: boolean;
  status: number;
  body: unknown;
  request: { body?: unknown };
  set(field: string, value: string | string[]): void;
  append(field: string, value: string | string[]): void;
}
export type KoaNext = () => Promise<unknown>;
export type KoaMiddleware = (ctx: KoaContextLike, next: KoaNext) => Promise<unknown>;

export interface PrivacyLogMiddleware extends KoaMiddleware {
  /** The consent routes: POST/GET {prefix}/consent and GET /.well-known/gpc.json. */
  routes(): KoaMiddleware;
  readonly pipeline: Pipeline;
  /** The stats source of the first aggregator that answers queries, for statsRoutes(). */
  readonly stats: StatsSource | undefined;
  /** The live configuration, as JSON-friendly data. */
  describe(): PrivacyLogDescription;
  /** The capture step's counters; the pipeline's are at `pipeline.metrics()`. */
  captureMetrics(): CaptureMetrics;
  /** Resolves once the shared visitor salt and the ISP data are loaded (see docs/operators.md). */
  ready(): Promise<void>;
  /** Flush everything accepted, then close the pipeline. Idempotent. */
  close(options?: { timeoutMs?: number }): Promise<void>;
}

/** Largest consent form or JSON body accepted. */
export const CONSENT_BODY_LIMIT = 8 * 1024;

function koaRoute(ctx: unknown): string | undefined {
  const c = ctx as { _matchedRoute?: unknown; routerPath?: unknown };
  const r = c._matchedRoute ?? c.routerPath;
  return typeof r === 'string' ? r : undefined;
}

/**
 * Capture every request: anonymized at capture, tagged with consent, pushed to
 * a non-blocking pipeline. With no options it stores into SQLite at
 * ./data/privacy-log.db.
 *
 * @example
 * import Koa from 'koa';
 * import { privacyLog, statsRoutes } from 'privacy-log/koa';
 *
 * const app = new Koa();
 * const privacy = privacyLog({ site: 'oblachko', trustProxy: 'loopback' });
 * app.use(privacy);            // capture every request
 * app.use(privacy.routes());   // /privacy/consent, /.well-known/gpc.json
 * app.use(statsRoutes({ source: privacy.stats, prefix: '/admin/stats', auth: { token: process.env.STATS_TOKEN } }));
 */
export function privacyLog(options?: PrivacyLogOptions): PrivacyLogMiddleware {
  // app.use(privacyLog) makes Koa call privacyLog(ctx, next): the options check
  // recognises the context and throws NOT_CALLED, which Koa reports per request.
  const core = createPrivacyLog(options);

  // Not async: next() already returns the promise Koa waits for, and koa-compose turns a
  // synchronous throw into a rejection, so no extra promise is made per request.
  const middleware = function privacyLogMiddleware(ctx: KoaContextLike, next: KoaNext) {
    ctx.state.privacy = core.begin(ctx.req, ctx.res, ctx.secure, koaRoute, ctx);
    return next();
  } as PrivacyLogMiddleware;

  const routes: KoaMiddleware = async function privacyLogRoutes(ctx, next) {
    if (!core.ownsRoute(ctx.path)) return next();
    let body: string | undefined;
    const headers = { ...ctx.req.headers };
    if (ctx.method === 'POST') {
      try {
        const read = await routeBody(ctx.req, ctx.request.body, CONSENT_BODY_LIMIT);
        body = read.body;
        headers['content-type'] = read.contentType;
      } catch (err) {
        const tooLarge = err instanceof BodyTooLargeError;
        ctx.status = tooLarge ? 413 : 400;
        ctx.body = { error: tooLarge ? 'body too large' : 'unreadable body' };
        return;
      }
    }
    const answer = await core.handleRoute({ method: ctx.method, path: ctx.path, headers, body, secure: ctx.secure });
    if (!answer) return next();
    ctx.status = answer.status;
    for (const [name, value] of Object.entries(answer.headers)) {
      if (name.toLowerCase() === 'set-cookie') ctx.append('Set-Cookie', value);
      else ctx.set(name, value);
    }
    ctx.body = answer.body;
  };

  Object.defineProperties(middleware, {
    routes: { value: () => routes },
    pipeline: { get: () => core.pipeline },
    stats: { get: () => core.stats },
    describe: { value: () => core.describe() },
    captureMetrics: { value: () => core.captureMetrics() },
    ready: { value: () => core.ready() },
    close: { value: (opts?: { timeoutMs?: number }) => core.close(opts) },
  });
  return middleware;
}
