/**
 * Path and query reduction at capture (DESIGN §4).
 *
 * - The path keeps its percent-encoded form, made safe: every character outside
 *   RFC 3986 `pchar` (controls, space, `"<>\^`{|}`, non-ASCII, U+2028…) is
 *   percent-encoded as UTF-8, so no control character ever reaches a log or a
 *   store. Broken escapes (`%zz`, `%E0%A4`) are left as the printable text they
 *   are: nothing is decoded, so nothing can fail to decode.
 * - Path segments that look like secrets become `:redacted` (see
 *   {@link isSecretSegment}); a file extension survives (`:redacted.pdf`).
 * - Only allow-listed query parameters survive, in their order, values decoded
 *   leniently, capped, redacted when they look like secrets, and re-encoded.
 *
 * Every output string is a fresh copy: V8 keeps the parent of a sliced string
 * alive, and the parent here is the raw URL with every query value in it.
 */

import { assertKnownKeys, invalidOption } from '../errors.js';
import { EVENT_LIMITS } from '../event.js';

export interface UrlOptions {
  /**
   * Query parameter names that survive; a trailing `*` matches a prefix. Names are
   * compared case-sensitively after percent-decoding. Default {@link DEFAULT_QUERY_ALLOW_LIST};
   * `[]` drops every query parameter.
   */
  queryAllowList?: readonly string[];
}

export const DEFAULT_QUERY_ALLOW_LIST: readonly string[] = Object.freeze(['utm_*', 'ref', 'source']);
/** What a redacted path segment or query value becomes. */
export const REDACTED = ':redacted';
export const MAX_PATH_LENGTH = EVENT_LIMITS.path;
export const MAX_QUERY_LENGTH = EVENT_LIMITS.query;
/** An allow-listed value is cut to this many characters (before re-encoding). */
export const MAX_QUERY_VALUE_LENGTH = 128;
/** Only this much of a raw URL is read; the rest is ignored. */
export const MAX_URL_INPUT_LENGTH = 8192;

const WHERE = 'privacyLog({ capture })';
const URL_OPTION_KEYS = ['queryAllowList'] as const;
const MAX_PARAM_NAME_LENGTH = 64;
const PARAM_NAME_RE = /^[A-Za-z0-9_.~-]{1,64}\*?$/;

// RFC 3986 pchar plus '/' and '%': kept as they are. Everything else is encoded.
const KEEP = new Uint8Array(128);
for (const ch of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;=:@%/") {
  KEEP[ch.charCodeAt(0)] = 1;
}
const HEX = '0123456789ABCDEF';

const DASH_RE = /-/;
/** Set when a regex ran on raw input during the current call; reduceUrl then calls forgetLastMatch. */
let matchedRaw = false;

/**
 * Makes V8 forget the subject of the last successful regular-expression match.
 * V8 keeps that string alive (the legacy `RegExp.input` / `RegExp.lastMatch`
 * state) until the next match anywhere, so after a regex — ours, ua-parser-js's
 * or isbot's — ran on a raw header or URL, a match on a constant takes its
 * place. Measured with a heap snapshot: `String#replace` clears it where
 * `RegExp#test`/`exec` on a constant do not. About 30 ns.
 * @internal used by the parsers of src/capture after they match raw input.
 */
export function forgetLastMatch(): void {
  '-'.replace(DASH_RE, '-');
}

/** A fresh flat copy of `s`, so that it does not keep a larger parent string alive. */
export function detach(s: string): string {
  // Slicing a concatenation flattens it into a new string that holds only `s`.
  return s.length < 13 ? s : ` ${s}`.slice(1);
}

/** Percent-encodes every character outside the kept set; returns `s` itself when nothing needs it. */
function encodeUnsafe(s: string): string {
  let i = 0;
  const n = s.length;
  while (i < n) {
    const c = s.charCodeAt(i);
    if (c >= 128 || KEEP[c] === 0) break;
    i++;
  }
  if (i === n) return s;
  let out = s.slice(0, i);
  for (; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 128) {
      out += KEEP[c] === 1 ? s[i] : `%${HEX[c >> 4]}${HEX[c & 15]}`;
    } else if (c >= 0xd800 && c <= 0xdbff && i + 1 < n && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      out += encodeURIComponent(s.slice(i, i + 2));
      i++;
    } else if (c >= 0xd800 && c <= 0xdfff) {
      out += '%EF%BF%BD'; // a lone surrogate: U+FFFD
    } else {
      out += encodeURIComponent(s[i] as string);
    }
  }
  return out;
}

function isHexDigit(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
}

/** An e-mail address inside the segment: something, '@' (or %40), a dotted domain. */
function looksLikeEmail(s: string): boolean {
  let at = s.indexOf('@');
  let after = at + 1;
  if (at < 0) {
    at = s.indexOf('%40');
    after = at + 3;
  }
  if (at <= 0) return false;
  const dot = s.indexOf('.', after + 1);
  return dot > after && dot < s.length - 2;
}

/** 8-4-4-4-12 hex digits. */
function looksLikeUuid(s: string): boolean {
  if (s.length !== 36) return false;
  for (let i = 0; i < 36; i++) {
    const c = s.charCodeAt(i);
    if (i === 8 || i === 13 || i === 18 || i === 23) {
      if (c !== 45) return false;
    } else if (!isHexDigit(c)) return false;
  }
  return true;
}

/**
 * Token rules: 16+ hex digits; or a base64/base64url run of 20+ characters that
 * mixes at least two of upper case, lower case and digits and changes between
 * them often — at least once every six characters, not counting a single capital
 * starting a word. Random tokens change class about every other character;
 * words, slugs and CamelCase names (`Annual_Report_2024_final`) rarely do.
 */
function looksLikeToken(s: string): boolean {
  const n = s.length;
  if (n < 16) return false;
  let hex = true;
  let b64 = true;
  let upper = 0;
  let lower = 0;
  let digit = 0;
  let changes = 0;
  let prev = 0; // class of the previous character: 0 separator, 1 upper, 2 lower, 3 digit
  let upperRun = 0;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    let cls = 0;
    if (c >= 48 && c <= 57) {
      cls = 3;
      digit = 1;
    } else if (c >= 65 && c <= 90) {
      cls = 1;
      upper = 1;
      if (c > 70) hex = false;
    } else if (c >= 97 && c <= 122) {
      cls = 2;
      lower = 1;
      if (c > 102) hex = false;
    } else {
      hex = false;
      // base64 / base64url punctuation, raw or percent-encoded
      if (c === 37 && i + 2 < n) {
        const code = s.slice(i + 1, i + 3).toUpperCase();
        if (code === '2B' || code === '2F' || code === '3D') i += 2;
        else b64 = false;
      } else if (c !== 45 && c !== 95 && c !== 43 && c !== 61) {
        b64 = false;
      }
    }
    // A single capital before lower case starts a word ("Report"); anything else that changes class counts.
    if (cls !== 0 && prev !== 0 && cls !== prev && !(prev === 1 && cls === 2 && upperRun === 1)) changes++;
    upperRun = cls === 1 ? upperRun + 1 : 0;
    prev = cls;
  }
  if (hex) return true; // ≥ 16 hex digits (or decimal digits): keys, hashes, card-length numbers
  if (!b64 || n < 20 || upper + lower + digit < 2) return false;
  return changes * 6 >= n;
}

const PHONE_RE = /^(?:\+|%2B)[0-9]{7,15}$/i;

/** Where a short file extension starts (`.pdf`), or -1. */
function extensionStart(s: string): number {
  const dot = s.lastIndexOf('.');
  if (dot <= 0 || s.length - dot > 9 || s.length - dot < 2) return -1;
  for (let i = dot + 1; i < s.length; i++) {
    const c = s.charCodeAt(i) | 0x20;
    if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 122))) return -1;
  }
  return dot;
}

const NOT_SECRET = 0;
const WHOLE_SECRET = 1;
const STEM_SECRET = 2;

/** NOT_SECRET, WHOLE_SECRET, or STEM_SECRET when only the part before a file extension is one. */
function secretKind(segment: string): number {
  const n = segment.length;
  if (n < 6) return NOT_SECRET;
  if (looksLikeEmail(segment)) return WHOLE_SECRET;
  if (n < 8) return NOT_SECRET;
  const c0 = segment.charCodeAt(0);
  if (c0 === 43 || c0 === 37) {
    matchedRaw = true;
    if (PHONE_RE.test(segment)) return WHOLE_SECRET;
  }
  if (n < 16) return NOT_SECRET;
  if (c0 === 101 && segment.startsWith('eyJ') && segment.indexOf('.') > 0) return WHOLE_SECRET; // JWT / JWS
  if (looksLikeUuid(segment) || looksLikeToken(segment)) return WHOLE_SECRET;
  const dot = extensionStart(segment);
  if (dot > 0) {
    const stem = segment.slice(0, dot);
    if (looksLikeUuid(stem) || looksLikeToken(stem)) return STEM_SECRET;
  }
  return NOT_SECRET;
}

/**
 * Whether one (already safely encoded) path segment looks like a secret or a
 * personal identifier:
 * - an e-mail address (`ivan@mail.ru`, `ivan%40mail.ru`, `mailto:…`);
 * - a JWT (`eyJ…` with a dot);
 * - a UUID (8-4-4-4-12 hex) — record ids and capability links that name one person's data;
 * - 16 or more hex digits (keys, hashes; 16+ decimal digits such as card numbers);
 * - a base64/base64url run of 20+ characters mixing upper case, lower case and
 *   digits the way random tokens do (see `looksLikeToken`);
 * - a phone number in international form (`+79161234567`).
 * Word slugs (`my-first-article-2024`) are kept. A trailing file extension is
 * ignored for the token rules (`3f2a…9c.pdf`).
 *
 * @example
 * isSecretSegment('eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig'); // true
 * isSecretSegment('my-first-article-2024');                     // false
 */
export function isSecretSegment(segment: string): boolean {
  return typeof segment === 'string' && secretKind(segment) !== NOT_SECRET;
}

/** Redacts one safe segment, keeping a file extension and dropping matrix parameters' values. */
function redactSegment(segment: string): string {
  const semi = segment.indexOf(';');
  if (semi >= 0) {
    // `;jsessionid=…` and other matrix parameters: the name of the resource stays, the rest goes.
    return `${redactSegment(segment.slice(0, semi))};${REDACTED}`;
  }
  const kind = secretKind(segment);
  if (kind === NOT_SECRET) return segment;
  return kind === STEM_SECRET ? REDACTED + segment.slice(extensionStart(segment)) : REDACTED;
}

/** Cuts a safe path at `max` without splitting a %XX escape. */
function cutAt(s: string, max: number): string {
  let cut = max;
  if (s.charCodeAt(cut - 1) === 37) cut -= 1;
  else if (s.charCodeAt(cut - 2) === 37) cut -= 2;
  return s.slice(0, cut);
}

/**
 * Makes a path (no query) safe and redacts its secret-looking segments: the
 * shared segment redactor of url.ts and referrer.ts. Never throws; the result
 * is printable ASCII, at most {@link MAX_PATH_LENGTH} characters,
 * and `redactPath(redactPath(p)) === redactPath(p)`. The result is `path` itself
 * when nothing changed, else a fresh copy that does not keep `path` alive.
 *
 * @example
 * redactPath('/reset/ivan@mail.ru/3f2a9c8e7d6b5a4f3e2d'); // '/reset/:redacted/:redacted'
 */
export function redactPath(path: string): string {
  if (typeof path !== 'string') return '';
  const input = path.length > MAX_URL_INPUT_LENGTH ? path.slice(0, MAX_URL_INPUT_LENGTH) : path;
  const safe = encodeUnsafe(input);
  let out = safe;
  let built = -1; // how much of `safe` is already in `out` once a segment changed
  let start = 0;
  let suspicious = false; // '@', '%' or '+' in the segment: e-mail or phone rules may apply
  let semi = false;
  const n = safe.length;
  for (let i = 0; i <= n; i++) {
    const c = i < n ? safe.charCodeAt(i) : 47;
    if (c !== 47) {
      if (c === 64 || c === 37 || c === 43) suspicious = true;
      else if (c === 59) semi = true;
      continue;
    }
    const len = i - start;
    if (len >= 16 || semi || (suspicious && len >= 6)) {
      const segment = safe.slice(start, i);
      const reduced = redactSegment(segment);
      if (reduced !== segment) {
        out = (built < 0 ? safe.slice(0, start) : out + safe.slice(built, start)) + reduced;
        built = i;
      }
    }
    suspicious = false;
    semi = false;
    start = i + 1;
  }
  if (built >= 0) out += safe.slice(built);
  if (out.length > MAX_PATH_LENGTH) {
    out = cutAt(out, MAX_PATH_LENGTH);
    // The cut may leave a part of a long segment that now looks like a token on its own.
    const last = out.lastIndexOf('/');
    const tail = out.slice(last + 1);
    const reduced = redactSegment(tail);
    if (reduced !== tail) out = out.slice(0, last + 1) + reduced;
  }
  if (matchedRaw) {
    matchedRaw = false;
    forgetLastMatch();
  }
  // An unchanged path is the caller's own string; anything built from pieces of it is copied.
  return out === path ? path : detach(out);
}

/** Percent-decodes leniently: a broken escape stays as the text it is. Never throws. */
function lenientDecode(s: string): string {
  if (s.indexOf('%') < 0) return s;
  try {
    return decodeURIComponent(s);
  } catch {
    matchedRaw = true;
    return s.replace(/(?:%[0-9A-Fa-f]{2})+/g, (run) => {
      try {
        return decodeURIComponent(run);
      } catch {
        return run;
      }
    });
  }
}

function encodeValue(s: string): string {
  return encodeURIComponent(s.toWellFormed());
}

interface AllowList {
  exact: ReadonlySet<string>;
  prefixes: readonly string[];
}

function isAllowed(name: string, allow: AllowList): boolean {
  if (allow.exact.has(name)) return true;
  for (const p of allow.prefixes) if (name.startsWith(p)) return true;
  return false;
}

function reduceQuery(qs: string, allow: AllowList): string | undefined {
  let out = '';
  let start = 0;
  const n = qs.length;
  for (let i = 0; i <= n; i++) {
    if (i < n && qs.charCodeAt(i) !== 38) continue;
    const pair = qs.slice(start, i);
    start = i + 1;
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const name = lenientDecode((eq < 0 ? pair : pair.slice(0, eq)).replaceAll('+', ' '));
    if (name.length > MAX_PARAM_NAME_LENGTH || !isAllowed(name, allow)) continue;
    let item = encodeValue(name);
    if (eq >= 0) {
      let value = lenientDecode(pair.slice(eq + 1).replaceAll('+', ' '));
      if (value.length > MAX_QUERY_VALUE_LENGTH) value = value.slice(0, MAX_QUERY_VALUE_LENGTH);
      const encoded = encodeValue(value);
      item += `=${isSecretSegment(encoded) || looksLikeEmail(value) ? REDACTED : encoded}`;
    }
    const next = out === '' ? item : `${out}&${item}`;
    if (next.length > MAX_QUERY_LENGTH) break;
    out = next;
  }
  return out === '' ? undefined : detach(out);
}

const ABSOLUTE_RE = /^[A-Za-z][A-Za-z0-9+.-]{0,31}:\/\/[^/?#]*/;

/**
 * Creates the URL reducer. The allow-list is validated and split into exact
 * names and prefixes once; the reducer never throws.
 *
 * @example
 * const reduce = createUrlReducer();
 * reduce('/news/42?utm_source=vk&email=ivan%40mail.ru&ref=main');
 * // { path: '/news/42', query: 'utm_source=vk&ref=main' }
 * createUrlReducer({ queryAllowList: ['page'] })('/list?page=2&q=secret'); // { path: '/list', query: 'page=2' }
 */
export function createUrlReducer(options: UrlOptions = {}): (rawUrl: string) => { path: string; query?: string } {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw invalidOption(WHERE, 'options', "an object such as { queryAllowList: ['utm_*'] }");
  }
  assertKnownKeys(options, URL_OPTION_KEYS, WHERE);
  const list = options.queryAllowList ?? DEFAULT_QUERY_ALLOW_LIST;
  if (!Array.isArray(list)) {
    throw invalidOption(
      WHERE,
      'queryAllowList',
      `an array of parameter names such as ['utm_*', 'page'] (got ${typeof list})`,
    );
  }
  const exact = new Set<string>();
  const prefixes: string[] = [];
  for (const entry of list as readonly unknown[]) {
    if (typeof entry !== 'string' || !PARAM_NAME_RE.test(entry)) {
      throw invalidOption(
        WHERE,
        'queryAllowList',
        `a list of parameter names (letters, digits, '_', '.', '~', '-'; a trailing '*' for a prefix) — got ${JSON.stringify(entry)}`,
      );
    }
    if (entry.endsWith('*')) prefixes.push(entry.slice(0, -1));
    else exact.add(entry);
  }
  const allow: AllowList = { exact, prefixes };
  const keepsQuery = exact.size > 0 || prefixes.length > 0;

  return function reduceUrl(rawUrl: string): { path: string; query?: string } {
    if (typeof rawUrl !== 'string' || rawUrl === '') return { path: '/' };
    let s = rawUrl.length > MAX_URL_INPUT_LENGTH ? rawUrl.slice(0, MAX_URL_INPUT_LENGTH) : rawUrl;
    if (s.charCodeAt(0) !== 47) {
      // absolute-form (a proxy request): drop scheme and authority — userinfo included.
      const m = ABSOLUTE_RE.exec(s);
      if (m) {
        s = s.slice(m[0].length);
        matchedRaw = true;
      }
    }
    const hash = s.indexOf('#');
    if (hash >= 0) s = s.slice(0, hash);
    const q = s.indexOf('?');
    const input = q < 0 ? s : s.slice(0, q);
    let path = redactPath(input) || '/';
    if (path === input && input !== rawUrl) path = detach(path); // a slice would keep the raw URL alive
    const query = q < 0 || !keepsQuery ? undefined : reduceQuery(s.slice(q + 1), allow);
    if (matchedRaw) {
      matchedRaw = false;
      forgetLastMatch();
    }
    return query === undefined ? { path } : { path, query };
  };
}
