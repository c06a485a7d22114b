/**
 * Consent options (DESIGN §6): one options type, named defaults, validated and
 * precomputed once by {@link resolveConsentOptions}.
 */
import { assertKnownKeys, invalidOption } from '../errors.js';

export type ConsentDefault = 'unset' | 'denied' | 'granted';

export interface ConsentOptions {
  /** Version of the privacy policy the visitor agrees to; a choice made under another version counts as unset. Default '1'. */
  policyVersion?: string;
  /** Treat `Sec-GPC: 1` as a refusal when the visitor made no choice. Default true. */
  honorGpc?: boolean;
  /** Treat `DNT: 1` as a refusal when the visitor made no choice (and sent no GPC). Default true. */
  honorDnt?: boolean;
  /** Analytics consent without any choice or signal. 'unset' is processed as denied. Default 'unset'. */
  default?: ConsentDefault;
  /** Name of the cookie holding the choice. Default 'privacy_consent'. */
  cookieName?: string;
  /** Name of the session cookie (set only while analytics is granted). Default 'privacy_session'. */
  sessionCookieName?: string;
  /** Lifetime of the choice cookie in days; never extended by later visits. Default 395 (≈ 13 months). */
  maxAgeDays?: number;
  /** Idle minutes after which the session cookie expires (sliding). Default 30. */
  sessionIdleMinutes?: number;
}

export const DEFAULT_POLICY_VERSION = '1';
export const DEFAULT_HONOR_GPC = true;
export const DEFAULT_HONOR_DNT = true;
export const DEFAULT_CONSENT: ConsentDefault = 'unset';
export const DEFAULT_CONSENT_COOKIE_NAME = 'privacy_consent';
export const DEFAULT_SESSION_COOKIE_NAME = 'privacy_session';
/** 13 months: 395 days, under the 400-day cap browsers put on cookie lifetimes. */
export const DEFAULT_CONSENT_MAX_AGE_DAYS = 395;
export const DEFAULT_SESSION_IDLE_MINUTES = 30;

/** Browsers cap cookie lifetimes at 400 days. */
export const MAX_CONSENT_MAX_AGE_DAYS = 400;
export const MAX_SESSION_IDLE_MINUTES = 24 * 60;
export const MAX_POLICY_VERSION_LENGTH = 32;

const KNOWN_OPTIONS = [
  'policyVersion',
  'honorGpc',
  'honorDnt',
  'default',
  'cookieName',
  'sessionCookieName',
  'maxAgeDays',
  'sessionIdleMinutes',
] as const;

const CONSENT_DEFAULTS: readonly ConsentDefault[] = ['unset', 'denied', 'granted'];
const POLICY_VERSION_RE = /^[A-Za-z0-9._-]{1,32}$/;
/** RFC 6265 cookie-name token, kept to the unsurprising characters. */
const COOKIE_NAME_RE = /^[A-Za-z0-9_.-]{1,64}$/;

/** The options with every default filled in; frozen. */
export interface ResolvedConsentOptions {
  readonly policyVersion: string;
  readonly honorGpc: boolean;
  readonly honorDnt: boolean;
  readonly default: ConsentDefault;
  readonly cookieName: string;
  readonly sessionCookieName: string;
  readonly maxAgeDays: number;
  readonly sessionIdleMinutes: number;
}

/** Validate `options` once; throws INVALID_OPTION (with "did you mean") on anything wrong. */
export function resolveConsentOptions(options: ConsentOptions | undefined, where: string): ResolvedConsentOptions {
  if (options === undefined) options = {};
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw invalidOption(where, 'options', 'an object (or omitted)');
  }
  assertKnownKeys(options, KNOWN_OPTIONS, where);
  const policyVersion = options.policyVersion ?? DEFAULT_POLICY_VERSION;
  if (typeof policyVersion !== 'string' || !POLICY_VERSION_RE.test(policyVersion)) {
    throw invalidOption(
      where,
      'policyVersion',
      `1 to ${MAX_POLICY_VERSION_LENGTH} characters of A-Z a-z 0-9 . _ - (e.g. '2025-03' or '2.1')`,
    );
  }
  const honorGpc = options.honorGpc ?? DEFAULT_HONOR_GPC;
  if (typeof honorGpc !== 'boolean') throw invalidOption(where, 'honorGpc', 'true or false');
  const honorDnt = options.honorDnt ?? DEFAULT_HONOR_DNT;
  if (typeof honorDnt !== 'boolean') throw invalidOption(where, 'honorDnt', 'true or false');
  const fallback = options.default ?? DEFAULT_CONSENT;
  if (!CONSENT_DEFAULTS.includes(fallback)) throw invalidOption(where, 'default', "'unset', 'denied' or 'granted'");
  const cookieName = options.cookieName ?? DEFAULT_CONSENT_COOKIE_NAME;
  if (typeof cookieName !== 'string' || !COOKIE_NAME_RE.test(cookieName)) {
    throw invalidOption(where, 'cookieName', 'a cookie name of 1 to 64 characters of A-Z a-z 0-9 _ . -');
  }
  const sessionCookieName = options.sessionCookieName ?? DEFAULT_SESSION_COOKIE_NAME;
  if (typeof sessionCookieName !== 'string' || !COOKIE_NAME_RE.test(sessionCookieName)) {
    throw invalidOption(where, 'sessionCookieName', 'a cookie name of 1 to 64 characters of A-Z a-z 0-9 _ . -');
  }
  if (sessionCookieName === cookieName) {
    throw invalidOption(where, 'sessionCookieName', `different from cookieName ("${cookieName}")`);
  }
  const maxAgeDays = options.maxAgeDays ?? DEFAULT_CONSENT_MAX_AGE_DAYS;
  if (!Number.isInteger(maxAgeDays) || maxAgeDays < 1 || maxAgeDays > MAX_CONSENT_MAX_AGE_DAYS) {
    throw invalidOption(where, 'maxAgeDays', `a whole number of days from 1 to ${MAX_CONSENT_MAX_AGE_DAYS}`);
  }
  const sessionIdleMinutes = options.sessionIdleMinutes ?? DEFAULT_SESSION_IDLE_MINUTES;
  if (
    !Number.isInteger(sessionIdleMinutes) ||
    sessionIdleMinutes < 1 ||
    sessionIdleMinutes > MAX_SESSION_IDLE_MINUTES
  ) {
    throw invalidOption(where, 'sessionIdleMinutes', `a whole number of minutes from 1 to ${MAX_SESSION_IDLE_MINUTES}`);
  }
  return Object.freeze({
    policyVersion,
    honorGpc,
    honorDnt,
    default: fallback,
    cookieName,
    sessionCookieName,
    maxAgeDays,
    sessionIdleMinutes,
  });
}
