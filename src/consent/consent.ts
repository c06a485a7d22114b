/**
 * Consent (DESIGN §6): the visitor's analytics consent for a request, from the
 * choice cookie, Sec-GPC and DNT, and the cookies that record a new choice.
 *
 * Precedence: an explicit choice made on this site (a valid cookie for this
 * policy version) > `Sec-GPC: 1` > `DNT: 1` > the configured default. `unset`
 * is processed as denied. A session id exists only while analytics is granted.
 */
import { ERROR_CODES, PrivacyLogError } from '../errors.js';
import { encodeConsentCookie, packedChoiceFor } from './cookie-codec.js';
import { findCookie } from './cookie-header.js';
import { type ConsentOptions, type ResolvedConsentOptions, resolveConsentOptions } from './options.js';
import { isSessionId, newSessionId } from './session-id.js';
import { cookieAttributes, EXPIRE_NOW, setCookie } from './set-cookie.js';

export interface ConsentState {
  analytics: 'granted' | 'denied' | 'unset';
  source: 'choice' | 'gpc' | 'dnt' | 'default';
  policyVersion: string;
  /** 'YYYY-MM-DD' (UTC) of the visitor's choice, when source is 'choice'. */
  decidedAt?: string;
  /** The request carried `Sec-GPC: 1`. */
  gpc: boolean;
  /** The request carried `DNT: 1`. */
  dnt: boolean;
  /** The visitor's session, only when analytics is granted and the session cookie is valid. */
  sessionId?: string;
  /** The banner should be shown: there is no valid choice for this policy version. */
  askAgain: boolean;
}

export interface ChoiceCookieOptions {
  /** The request came over HTTPS: the cookies get `Secure`. */
  secure: boolean;
  /** The time of the choice, epoch ms. Default `Date.now()`. */
  now?: number;
}

export interface Consent {
  /** The validated options, defaults filled in. */
  readonly options: ResolvedConsentOptions;
  /**
   * The consent state of a request from its Cookie, Sec-GPC and DNT headers.
   * Never throws: broken, forged, overlong or duplicated cookies count as no choice.
   * `nowMs` (optional) is the request's time, which capture already has; it saves
   * a clock read and dates the choice cookie's validity. Default `Date.now()`.
   * Every state has the same property set (`decidedAt` and `sessionId` may be
   * `undefined`), so code reading it stays monomorphic.
   */
  resolve(
    cookieHeader: string | undefined,
    secGpc: string | undefined,
    dnt: string | undefined,
    nowMs?: number,
  ): ConsentState;
  /**
   * Set-Cookie values recording a choice: the consent cookie (Max-Age = maxAgeDays,
   * not extended later) and, when granted, a fresh session cookie; when denied, an
   * expiry for the session cookie.
   */
  choiceCookies(analytics: boolean, opts: ChoiceCookieOptions): string[];
  /**
   * The session cookie with the idle lifetime. Send it again on every request of
   * a granted visitor to slide the expiry. Throws INVALID_OPTION for an id that
   * {@link Consent.newSessionId} did not make.
   */
  sessionCookie(id: string, secure: boolean): string;
  /** Set-Cookie values deleting both cookies (withdrawal). */
  clearCookies(secure: boolean): string[];
  /** A fresh random 128-bit session id (22 base64url characters). */
  newSessionId(): string;
  /** The valid session id in a Cookie header whatever the consent (to erase it on withdrawal). */
  sessionIdFrom(cookieHeader: string | undefined): string | undefined;
}

const WHERE = 'createConsent()';
const DAY_MS = 86_400_000;
/** A choice dated up to one day ahead is accepted (clock skew between servers). */
const FUTURE_SLACK_DAYS = 1;

/** True when the state allows analytics processing (`unset` and `denied` do not). */
export function allowsAnalytics(state: ConsentState): boolean {
  return state.analytics === 'granted';
}

/**
 * Consent for one site: resolves requests and builds the cookies of a choice.
 * Options are validated once, here.
 *
 * @example
 * const consent = createConsent({ policyVersion: '2025-03' });
 * const state = consent.resolve(req.headers.cookie, req.headers['sec-gpc'], req.headers.dnt);
 * if (state.analytics === 'granted' && !state.sessionId) {
 *   res.setHeader('Set-Cookie', consent.sessionCookie(consent.newSessionId(), isHttps));
 * }
 */
export function createConsent(options?: ConsentOptions): Consent {
  const o = resolveConsentOptions(options, WHERE);
  const consentNeedle = `${o.cookieName}=`;
  const sessionNeedle = `${o.sessionCookieName}=`;
  const consentAttrs = cookieAttributes(o.maxAgeDays * 86_400);
  const sessionAttrs = cookieAttributes(o.sessionIdleMinutes * 60);
  const clearHttp = [
    setCookie(o.cookieName, '', EXPIRE_NOW, false),
    setCookie(o.sessionCookieName, '', EXPIRE_NOW, false),
  ];
  const clearHttps = [
    setCookie(o.cookieName, '', EXPIRE_NOW, true),
    setCookie(o.sessionCookieName, '', EXPIRE_NOW, true),
  ];
  const expireSessionHttp = setCookie(o.sessionCookieName, '', EXPIRE_NOW, false);
  const expireSessionHttps = setCookie(o.sessionCookieName, '', EXPIRE_NOW, true);
  // One-entry cache of the last decision day's label: most choices were made on few days.
  let labelDay = -1;
  let label = '';

  function dayLabel(day: number): string {
    if (day !== labelDay) {
      label = new Date(day * DAY_MS).toISOString().slice(0, 10);
      labelDay = day;
    }
    return label;
  }

  function sessionIdFrom(cookieHeader: string | undefined): string | undefined {
    if (typeof cookieHeader !== 'string' || cookieHeader.length === 0) return undefined;
    const raw = findCookie(cookieHeader, sessionNeedle);
    return typeof raw === 'string' && isSessionId(raw) ? raw : undefined;
  }

  function resolve(
    cookieHeader: string | undefined,
    secGpc: string | undefined,
    dnt: string | undefined,
    nowMs?: number,
  ): ConsentState {
    const gpc = secGpc === '1';
    const dntOn = dnt === '1';
    if (typeof cookieHeader === 'string' && cookieHeader.length > 0) {
      const raw = findCookie(cookieHeader, consentNeedle);
      const packed = typeof raw === 'string' ? packedChoiceFor(raw, o.policyVersion) : -1;
      if (packed >= 0) {
        const day = packed >>> 1;
        const granted = (packed & 1) === 1;
        const today = Math.floor((typeof nowMs === 'number' && nowMs > 0 ? nowMs : Date.now()) / DAY_MS);
        if (day <= today + FUTURE_SLACK_DAYS && today - day <= o.maxAgeDays) {
          return {
            analytics: granted ? 'granted' : 'denied',
            source: 'choice',
            policyVersion: o.policyVersion,
            decidedAt: dayLabel(day),
            gpc,
            dnt: dntOn,
            sessionId: granted ? sessionIdFrom(cookieHeader) : undefined,
            askAgain: false,
          };
        }
      }
    }
    const refused = (o.honorGpc && gpc) || (o.honorDnt && dntOn);
    return {
      analytics: refused ? 'denied' : o.default,
      source: refused ? (o.honorGpc && gpc ? 'gpc' : 'dnt') : 'default',
      policyVersion: o.policyVersion,
      decidedAt: undefined,
      gpc,
      dnt: dntOn,
      sessionId: !refused && o.default === 'granted' ? sessionIdFrom(cookieHeader) : undefined,
      askAgain: true,
    };
  }

  function sessionCookie(id: string, secure: boolean): string {
    if (typeof id !== 'string' || !isSessionId(id)) {
      throw new PrivacyLogError(
        ERROR_CODES.INVALID_OPTION,
        'consent.sessionCookie(): the id must come from consent.newSessionId() (22 base64url characters).',
        { retryable: false },
      );
    }
    return setCookie(o.sessionCookieName, id, sessionAttrs, secure === true);
  }

  return {
    options: o,
    resolve,
    choiceCookies(analytics: boolean, opts: ChoiceCookieOptions): string[] {
      const secure = opts?.secure === true;
      const now = typeof opts?.now === 'number' && opts.now >= 0 && opts.now < 8.64e13 ? opts.now : Date.now();
      const value = encodeConsentCookie({
        policyVersion: o.policyVersion,
        analytics: analytics === true,
        day: Math.floor(now / DAY_MS),
      });
      const consentCookie = setCookie(o.cookieName, value, consentAttrs, secure);
      if (analytics === true) return [consentCookie, sessionCookie(newSessionId(), secure)];
      return [consentCookie, secure ? expireSessionHttps : expireSessionHttp];
    },
    sessionCookie,
    clearCookies(secure: boolean): string[] {
      return (secure ? clearHttps : clearHttp).slice();
    },
    newSessionId,
    sessionIdFrom,
  };
}
