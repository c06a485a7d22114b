/**
 * The consent cookie codec (DESIGN §6).
 *
 * The cookie holds `{ v: policyVersion, analytics: boolean, at: UTC day }` as
 *
 *     1.<g|d>.<day>.<policyVersion>.<check>
 *
 * - `1`: the format version;
 * - `g` granted or `d` denied;
 * - `<day>`: the UTC day of the decision as whole days since 1970-01-01, decimal,
 *   no leading zeros (day precision on purpose: the time of day is not needed);
 * - `<policyVersion>`: 1–32 characters of `A-Z a-z 0-9 . _ -`;
 * - `<check>`: FNV-1a (32-bit) of everything before the last dot, 8 lowercase hex
 *   digits. It catches corrupted and hand-edited cookies (any single changed
 *   character always changes it); it is not a signature — the cookie records the
 *   visitor's own choice, which the visitor may change at any time anyway.
 *
 * Every character is printable ASCII allowed in a cookie value without quoting.
 * The parser is strict and total: it accepts exactly the strings
 * {@link encodeConsentCookie} produces and returns `undefined` for anything else;
 * it never throws.
 */
import { MAX_POLICY_VERSION_LENGTH } from './options.js';

/** A decoded choice. */
export interface ConsentChoice {
  policyVersion: string;
  analytics: boolean;
  /** UTC day number (days since the epoch) of the decision. */
  day: number;
}

export const CONSENT_COOKIE_FORMAT = '1';
/** Longest value the codec produces: '1.g.' + 6-digit day + '.' + version + '.' + 8 hex. */
export const MAX_CONSENT_COOKIE_LENGTH = 4 + 6 + 1 + MAX_POLICY_VERSION_LENGTH + 1 + 8;
const MAX_DAY = 999_999;
const CHECK_LENGTH = 8;
const MIN_LENGTH = 4 + 1 + 1 + 1 + 1 + CHECK_LENGTH;

const CHAR_DOT = 0x2e;
const CHAR_0 = 0x30;
const CHAR_9 = 0x39;

/** FNV-1a over the char codes of s[0, end). */
function fnv1a(s: string, end: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < end; i++) {
    h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  }
  return h >>> 0;
}

function hex8(n: number): string {
  return n.toString(16).padStart(CHECK_LENGTH, '0');
}

/** 1 for the characters a policy version may use: A-Z a-z 0-9 . _ - */
const VERSION_CHAR = new Uint8Array(128);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-') VERSION_CHAR[c.charCodeAt(0)] = 1;

function isVersionChar(c: number): boolean {
  return c < 128 && VERSION_CHAR[c] === 1;
}

/** The value of the hex digit `c` (lowercase only), or -1. */
function hexDigit(c: number): number {
  if (c >= CHAR_0 && c <= CHAR_9) return c - CHAR_0;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  return -1;
}

/** True when `v` is a policy version the codec can carry. */
export function isPolicyVersion(v: string): boolean {
  if (v.length < 1 || v.length > MAX_POLICY_VERSION_LENGTH) return false;
  for (let i = 0; i < v.length; i++) if (!isVersionChar(v.charCodeAt(i))) return false;
  return true;
}

/**
 * Encode a choice. Throws RangeError for a value the format cannot carry (a
 * policy version outside the charset, a day outside 0..999999) — callers pass
 * validated options, so this is a programming error.
 */
export function encodeConsentCookie(choice: ConsentChoice): string {
  if (!isPolicyVersion(choice.policyVersion)) throw new RangeError('consent cookie: invalid policy version');
  if (!Number.isInteger(choice.day) || choice.day < 0 || choice.day > MAX_DAY) {
    throw new RangeError('consent cookie: day out of range');
  }
  const payload = `${CONSENT_COOKIE_FORMAT}.${choice.analytics ? 'g' : 'd'}.${choice.day}.${choice.policyVersion}`;
  return `${payload}.${hex8(fnv1a(payload, payload.length))}`;
}

/** Decode a cookie value; `undefined` for anything {@link encodeConsentCookie} would not produce. Never throws. */
export function decodeConsentCookie(value: string): ConsentChoice | undefined {
  const len = value.length;
  if (len < MIN_LENGTH || len > MAX_CONSENT_COOKIE_LENGTH) return undefined;
  // "1."
  if (value.charCodeAt(0) !== 0x31 || value.charCodeAt(1) !== CHAR_DOT) return undefined;
  // "g." | "d."
  const a = value.charCodeAt(2);
  if ((a !== 0x67 && a !== 0x64) || value.charCodeAt(3) !== CHAR_DOT) return undefined;
  // day: 1..6 digits, no leading zero unless it is "0"
  let i = 4;
  let day = 0;
  while (i < len) {
    const c = value.charCodeAt(i);
    if (c < CHAR_0 || c > CHAR_9) break;
    day = day * 10 + (c - CHAR_0);
    i++;
  }
  const digits = i - 4;
  if (digits < 1 || digits > 6 || (digits > 1 && value.charCodeAt(4) === CHAR_0)) return undefined;
  if (value.charCodeAt(i) !== CHAR_DOT) return undefined;
  const versionStart = i + 1;
  // The check: a dot and 8 lowercase hex digits at the end.
  const checkDot = len - CHECK_LENGTH - 1;
  if (checkDot <= versionStart || value.charCodeAt(checkDot) !== CHAR_DOT) return undefined;
  if (checkDot - versionStart > MAX_POLICY_VERSION_LENGTH) return undefined;
  for (let j = versionStart; j < checkDot; j++) if (!isVersionChar(value.charCodeAt(j))) return undefined;
  let check = 0;
  for (let j = checkDot + 1; j < len; j++) {
    const d = hexDigit(value.charCodeAt(j));
    if (d < 0) return undefined;
    check = check * 16 + d;
  }
  if (check !== fnv1a(value, checkDot)) return undefined;
  return { policyVersion: value.slice(versionStart, checkDot), analytics: a === 0x67, day };
}

/**
 * The hot-path form of {@link decodeConsentCookie} for one expected policy
 * version: `day * 2 + (granted ? 1 : 0)` when `value` is a valid cookie for
 * `policyVersion`, else -1. Allocates nothing. Equivalent to decoding and
 * comparing the version (property-tested).
 */
export function packedChoiceFor(value: string, policyVersion: string): number {
  const len = value.length;
  const checkDot = len - CHECK_LENGTH - 1;
  const versionStart = checkDot - policyVersion.length;
  // "1.x.D." at least, then the version, then ".check"
  if (len > MAX_CONSENT_COOKIE_LENGTH || versionStart < 6) return -1;
  if (value.charCodeAt(0) !== 0x31 || value.charCodeAt(1) !== CHAR_DOT || value.charCodeAt(3) !== CHAR_DOT) return -1;
  const a = value.charCodeAt(2);
  if (a !== 0x67 && a !== 0x64) return -1;
  if (value.charCodeAt(versionStart - 1) !== CHAR_DOT || value.charCodeAt(checkDot) !== CHAR_DOT) return -1;
  const digits = versionStart - 1 - 4;
  if (digits > 6 || (digits > 1 && value.charCodeAt(4) === CHAR_0)) return -1;
  let day = 0;
  for (let i = 4; i < versionStart - 1; i++) {
    const c = value.charCodeAt(i);
    if (c < CHAR_0 || c > CHAR_9) return -1;
    day = day * 10 + (c - CHAR_0);
  }
  if (!value.startsWith(policyVersion, versionStart)) return -1;
  let check = 0;
  for (let j = checkDot + 1; j < len; j++) {
    const d = hexDigit(value.charCodeAt(j));
    if (d < 0) return -1;
    check = check * 16 + d;
  }
  if (check !== fnv1a(value, checkDot)) return -1;
  return day * 2 + (a === 0x67 ? 1 : 0);
}
