/**
 * The consent routes, framework-free (DESIGN §6). The Koa and Express adapters
 * translate their request into a {@link ConsentRequest} and write the
 * {@link ConsentResponse} back.
 *
 * - `POST {prefix}/consent` — record a choice (form: 303 back; JSON: the new state)
 * - `GET  {prefix}/consent` — the current state as JSON
 * - `GET  /.well-known/gpc.json` — the site's Global Privacy Control support
 */
import { assertKnownKeys, invalidOption } from '../errors.js';
import { cookieHeader, type HeaderRecord, headerValue } from '../http/request-headers.js';
import type { Consent, ConsentState } from './consent.js';
import { parseConsentBody } from './consent-body.js';
import { safeReturnPath, sameHostRefererPath } from './return-path.js';
import { crossSiteReason } from './same-origin.js';

export interface ConsentRequest {
  method: string;
  /** The request path; a query string, if present, is ignored. */
  path: string;
  headers: HeaderRecord;
  /**
   * The raw body (UTF-8). The adapter either answers 413 itself past
   * MAX_CONSENT_BODY_BYTES (8 KiB), or passes up to 8 KiB + 1 bytes and lets
   * this answer 413.
   */
  body?: string;
  /** The request came over HTTPS (as the adapter's trust-proxy setting decides). */
  secure: boolean;
}

export interface ConsentResponse {
  status: number;
  headers: Record<string, string | string[]>;
  body: string;
}

export interface ConsentRouteHooks {
  /** Erase the stored events of a session; resolves to how many were erased. Called on withdrawal. */
  forget?: (sessionId: string) => Promise<number>;
}

export interface ConsentRoutesOptions {
  /** Path prefix of the consent route. Default '/privacy'. */
  prefix?: string;
  /**
   * 'YYYY-MM-DD' reported as `lastUpdate` in /.well-known/gpc.json: when the site's
   * GPC support last changed. Default: none (the member is omitted, as the GPC
   * specification allows).
   */
  gpcLastUpdate?: string;
}

export interface ConsentRoutes {
  /** The response for a route this owns, `undefined` for any other path. Never rejects. */
  handle(req: ConsentRequest): Promise<ConsentResponse | undefined>;
}

export const DEFAULT_CONSENT_PREFIX = '/privacy';
export const GPC_WELL_KNOWN_PATH = '/.well-known/gpc.json';

const WHERE = 'createConsentRoutes()';
const KNOWN_OPTIONS = ['prefix', 'gpcLastUpdate'] as const;
const KNOWN_HOOKS = ['forget'] as const;
const PREFIX_RE = /^(\/[A-Za-z0-9._~-]+)+$/;
const DATE_RE = /^\d{4}-\d{2}-\d{2}$/;

const JSON_TYPE = 'application/json; charset=utf-8';
const NO_STORE = 'no-store';

/** The state as the routes show it: the session id stays in its HttpOnly cookie. */
function publicState(state: ConsentState): Omit<ConsentState, 'sessionId'> {
  const { sessionId: _hidden, ...rest } = state;
  return rest;
}

function json(status: number, value: unknown, extra?: Record<string, string | string[]>): ConsentResponse {
  return {
    status,
    headers: { 'content-type': JSON_TYPE, 'cache-control': NO_STORE, 'x-content-type-options': 'nosniff', ...extra },
    body: JSON.stringify(value),
  };
}

function problem(status: number, error: string, reason: string, extra?: Record<string, string>): ConsentResponse {
  return json(status, { error, reason }, extra);
}

/** The path without its query string or fragment. */
function pathOnly(path: string): string {
  let end = path.length;
  const q = path.indexOf('?');
  if (q >= 0) end = q;
  const h = path.indexOf('#');
  if (h >= 0 && h < end) end = h;
  return end === path.length ? path : path.slice(0, end);
}

/**
 * The consent and GPC routes over a {@link Consent}.
 *
 * POSTs must come from this site (Sec-Fetch-Site / Origin; see same-origin.ts):
 * otherwise any page could flip a visitor's consent with a hidden form.
 *
 * @example
 * const consent = createConsent({ policyVersion: '2025-03' });
 * const routes = createConsentRoutes(consent, { forget: (id) => pipelineForget(id) });
 * const res = await routes.handle({ method: 'GET', path: '/privacy/consent', headers: req.headers, secure: false });
 * // res?.status === 200, JSON.parse(res.body).analytics === 'unset'
 */
export function createConsentRoutes(
  consent: Consent,
  hooks: ConsentRouteHooks = {},
  options: ConsentRoutesOptions = {},
): ConsentRoutes {
  if (typeof consent !== 'object' || consent === null || typeof consent.resolve !== 'function') {
    throw invalidOption(WHERE, 'consent', 'the result of createConsent()');
  }
  if (typeof hooks !== 'object' || hooks === null) throw invalidOption(WHERE, 'hooks', 'an object such as { forget }');
  assertKnownKeys(hooks, KNOWN_HOOKS, `${WHERE} hooks`);
  if (hooks.forget !== undefined && typeof hooks.forget !== 'function') {
    throw invalidOption(WHERE, 'hooks.forget', 'a function (sessionId) => Promise<number>');
  }
  if (typeof options !== 'object' || options === null) throw invalidOption(WHERE, 'options', 'an object');
  assertKnownKeys(options, KNOWN_OPTIONS, WHERE);
  const prefix = options.prefix ?? DEFAULT_CONSENT_PREFIX;
  if (typeof prefix !== 'string' || !PREFIX_RE.test(prefix)) {
    throw invalidOption(WHERE, 'prefix', "a path such as '/privacy' (leading slash, no trailing slash)");
  }
  const lastUpdate = options.gpcLastUpdate;
  if (lastUpdate !== undefined && (typeof lastUpdate !== 'string' || !isDate(lastUpdate))) {
    throw invalidOption(WHERE, 'gpcLastUpdate', "a date 'YYYY-MM-DD'");
  }
  const forget = hooks.forget;
  const consentPath = `${prefix}/consent`;
  const gpcBody = JSON.stringify(
    lastUpdate === undefined ? { gpc: consent.options.honorGpc } : { gpc: consent.options.honorGpc, lastUpdate },
  );

  function stateOf(req: ConsentRequest): ConsentState {
    return consent.resolve(
      cookieHeader(req.headers),
      headerValue(req.headers, 'sec-gpc'),
      headerValue(req.headers, 'dnt'),
    );
  }

  async function post(req: ConsentRequest): Promise<ConsentResponse> {
    const refused = crossSiteReason(req.headers, req.secure);
    if (refused !== undefined) {
      return problem(403, 'cross_site', `consent can only be changed from this site: ${refused}`);
    }
    const parsed = parseConsentBody(headerValue(req.headers, 'content-type'), req.body);
    if (!parsed.ok) return problem(parsed.status, 'bad_request', parsed.reason);
    const secure = req.secure === true;
    const cookies = cookieHeader(req.headers);
    const gpc = headerValue(req.headers, 'sec-gpc');
    const dnt = headerValue(req.headers, 'dnt');
    let setCookies: string[];
    let state: ConsentState;
    let erased: number | undefined;
    if (parsed.action === 'withdraw') {
      const sessionId = consent.sessionIdFrom(cookies);
      if (sessionId !== undefined && forget !== undefined) {
        try {
          const n = await forget(sessionId);
          erased = typeof n === 'number' && Number.isFinite(n) ? n : 0;
        } catch {
          // Keep the cookies so the visitor can retry: clearing them would lose the session id to erase.
          return problem(
            503,
            'erase_failed',
            'the events of this session could not be erased yet; nothing was changed, try again later',
            {
              'retry-after': '60',
            },
          );
        }
      }
      setCookies = consent.clearCookies(secure);
      state = consent.resolve(undefined, gpc, dnt);
    } else {
      const granted = parsed.action === 'granted';
      const now = Date.now();
      setCookies = consent.choiceCookies(granted, { secure, now });
      state = consent.resolve(setCookies.map(cookiePair).join('; '), gpc, dnt);
    }
    if (parsed.kind === 'form') {
      const location =
        safeReturnPath(parsed.returnTo) ??
        sameHostRefererPath(headerValue(req.headers, 'referer'), headerValue(req.headers, 'host')) ??
        '/';
      return {
        status: 303,
        headers: { location, 'set-cookie': setCookies, 'cache-control': NO_STORE },
        body: '',
      };
    }
    const body: Record<string, unknown> = { ...publicState(state) };
    if (erased !== undefined) body['erased'] = erased;
    return json(200, body, { 'set-cookie': setCookies });
  }

  async function route(req: ConsentRequest): Promise<ConsentResponse | undefined> {
    const path = pathOnly(req.path);
    const method = req.method.toUpperCase();
    if (path === consentPath) {
      if (method === 'GET' || method === 'HEAD') return json(200, publicState(stateOf(req)));
      if (method === 'POST') return post(req);
      return problem(405, 'method_not_allowed', 'use GET or POST', { allow: 'GET, HEAD, POST' });
    }
    if (path === GPC_WELL_KNOWN_PATH) {
      if (method === 'GET' || method === 'HEAD') {
        return {
          status: 200,
          headers: { 'content-type': 'application/json', 'cache-control': 'public, max-age=86400' },
          body: gpcBody,
        };
      }
      return problem(405, 'method_not_allowed', 'use GET', { allow: 'GET, HEAD' });
    }
    return undefined;
  }

  return {
    async handle(req: ConsentRequest): Promise<ConsentResponse | undefined> {
      if (typeof req !== 'object' || req === null || typeof req.path !== 'string' || typeof req.method !== 'string') {
        return undefined;
      }
      try {
        const res = await route({ ...req, headers: req.headers ?? {} });
        if (res !== undefined && req.method.toUpperCase() === 'HEAD') res.body = '';
        return res;
      } catch {
        return problem(500, 'internal', 'the consent request could not be handled');
      }
    },
  };
}

/** `name=value` of a Set-Cookie value (to resolve the state the new cookies make). */
function cookiePair(setCookie: string): string {
  const semi = setCookie.indexOf(';');
  return semi < 0 ? setCookie : setCookie.slice(0, semi);
}

function isDate(s: string): boolean {
  if (!DATE_RE.test(s)) return false;
  const d = new Date(`${s}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === s;
}
