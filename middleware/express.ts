/**
 * privacy-log for Express. A thin adapter over the same framework-free core as
 * the Koa one (src/privacy-log.ts): same options, same events, same routes.
 *
 * Express is not imported: request and response are Node's own objects, typed
 * structurally, so this module loads without Express's type packages.
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

export { collectorRoutes, type ExpressRouteMiddleware, statsRoutes } from './express-routes.js';
export type { CaptureMetrics, PrivacyLogDescription, PrivacyLogOptions, PrivacyRequestState };

/** The parts of Express's request this adapter uses. */
export type ExpressRequestLike = IncomingMessage & {
  secure?: boolean;
  path?: string;
  body?: unknown;
  route?: { path?: unknown };
  baseUrl?: string;
};
/** The parts of Express's response this adapter uses. */
export type ExpressResponseLike = ServerResponse & { locals: Record<string, unknown> };
export type ExpressNext = (err?: unknown) => void;
export type ExpressMiddleware = (req: ExpressRequestLike, res: ExpressResponseLike, next: ExpressNext) => void;

export interface PrivacyLogMiddleware extends ExpressMiddleware {
  /** The consent routes: POST/GET {prefix}/consent and GET /.well-known/gpc.json. */
  routes(): ExpressMiddleware;
  readonly pipeline: Pipeline;
  readonly stats: StatsSource | undefined;
  describe(): PrivacyLogDescription;
  captureMetrics(): CaptureMetrics;
  /** Resolves once the shared visitor salt and the ISP data are loaded. */
  ready(): Promise<void>;
  close(options?: { timeoutMs?: number }): Promise<void>;
}

/** Largest consent form or JSON body accepted. */
export const CONSENT_BODY_LIMIT = 8 * 1024;

function expressRoute(req: unknown): string | undefined {
  const r = req as ExpressRequestLike;
  const path = r.route?.path;
  if (typeof path !== 'string') return undefined;
  return (r.baseUrl ?? '') + path;
}

function pathOf(req: ExpressRequestLike): string {
  if (typeof req.path === 'string') return req.path;
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

/**
 * Capture every request: anonymized at capture, tagged with consent, pushed to
 * a non-blocking pipeline. Same options and behaviour as `privacy-log/koa`.
 *
 * @example
 * import express from 'express';
 * import { privacyLog, statsRoutes } from 'privacy-log/express';
 *
 * const app = express();
 * const privacy = privacyLog({ site: 'oblachko', trustProxy: 'loopback' });
 * app.use(privacy);            // capture every request; res.locals.privacy
 * app.use(privacy.routes());   // /privacy/consent, /.well-known/gpc.json
 * app.use(statsRoutes({ source: privacy.stats, prefix: '/admin/stats', auth: { token: process.env.STATS_TOKEN } }));
 */
export function privacyLog(options?: PrivacyLogOptions): PrivacyLogMiddleware {
  // app.use(privacyLog) makes Express call privacyLog(req, res, next): the options
  // check recognises the request and throws NOT_CALLED, which Express passes to next().
  const core = createPrivacyLog(options);

  const middleware = function privacyLogMiddleware(
    req: ExpressRequestLike,
    res: ExpressResponseLike,
    next: ExpressNext,
  ) {
    const secure = req.secure ?? Boolean((req.socket as { encrypted?: boolean }).encrypted);
    res.locals.privacy = core.begin(req, res, secure, expressRoute, req);
    next();
  } as PrivacyLogMiddleware;

  const routes: ExpressMiddleware = (req, res, next) => {
    const path = pathOf(req);
    if (!core.ownsRoute(path)) return next();
    const method = req.method ?? 'GET';
    const secure = req.secure ?? Boolean((req.socket as { encrypted?: boolean }).encrypted);
    const headers = { ...req.headers };
    const respond = async () => {
      let body: string | undefined;
      if (method === 'POST') {
        try {
          const read = await routeBody(req, req.body, CONSENT_BODY_LIMIT);
          body = read.body;
          headers['content-type'] = read.contentType;
        } catch (err) {
          const tooLarge = err instanceof BodyTooLargeError;
          res.statusCode = tooLarge ? 413 : 400;
          res.setHeader('Content-Type', 'application/json; charset=utf-8');
          res.end(JSON.stringify({ error: tooLarge ? 'body too large' : 'unreadable body' }));
          return;
        }
      }
      const answer = await core.handleRoute({ method, path, headers, body, secure });
      if (!answer) return next();
      res.statusCode = answer.status;
      for (const [name, value] of Object.entries(answer.headers)) {
        if (name.toLowerCase() === 'set-cookie') res.appendHeader('Set-Cookie', value);
        else res.setHeader(name, value);
      }
      res.end(answer.body);
    };
    respond().catch(next);
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
