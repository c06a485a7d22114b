/**
 * The one place request headers are read (capture, consent, the consent routes
 * and the core's response-header reads all use it).
 *
 * On the request path the headers privacy-log needs are gathered in ONE pass over
 * Node's `req.rawHeaders` into a fixed-shape record ({@link CapturedHeaders}):
 * Node builds `req.headers` lazily, so an app that never reads it never pays for
 * the dictionary, and every later read is a monomorphic field load. Duplicates
 * are merged exactly as Node merges them into `req.headers`: `Host`,
 * `User-Agent` and `Referer` keep the first line (all lines joined with ', '
 * under `joinDuplicateHeaders`), `Cookie` lines are joined with '; ', the
 * others with ', '.
 *
 * Privacy: the record lives only for one request, inside the core and capture;
 * its raw values (address list, User-Agent, cookies) never reach an event.
 */

/** A header record in Node's IncomingHttpHeaders shape (lowercase names). */
export type HeaderRecord = Record<string, string | string[] | number | undefined>;

/** The request headers privacy-log reads, one field each, `undefined` when absent. */
export class CapturedHeaders {
  host: string | undefined = undefined;
  userAgent: string | undefined = undefined;
  referer: string | undefined = undefined;
  cookie: string | undefined = undefined;
  secGpc: string | undefined = undefined;
  dnt: string | undefined = undefined;
  forwardedFor: string | undefined = undefined;
  secChUa: string | undefined = undefined;
  secChUaMobile: string | undefined = undefined;
  secChUaPlatform: string | undefined = undefined;
  secChUaPlatformVersion: string | undefined = undefined;
}

// Field numbers of the record, for the raw-header pass.
const F_HOST = 0;
const F_USER_AGENT = 1;
const F_REFERER = 2;
const F_COOKIE = 3;
const F_SEC_GPC = 4;
const F_DNT = 5;
const F_FORWARDED_FOR = 6;
const F_SEC_CH_UA = 7;
const F_SEC_CH_UA_MOBILE = 8;
const F_SEC_CH_UA_PLATFORM = 9;
const F_SEC_CH_UA_PLATFORM_VERSION = 10;

/** True when `name` equals the lowercase `target` ignoring ASCII case (lengths already equal). */
function sameName(name: string, target: string): boolean {
  if (name === target) return true;
  for (let i = 0; i < target.length; i++) {
    const t = target.charCodeAt(i);
    const c = name.charCodeAt(i);
    if (c !== t && !(t >= 0x61 && t <= 0x7a && c === t - 0x20)) return false;
  }
  return true;
}

/** The field a header name stands for, or -1 for a header privacy-log does not read. */
function fieldOf(name: string): number {
  switch (name.length) {
    case 3:
      return sameName(name, 'dnt') ? F_DNT : -1;
    case 4:
      return sameName(name, 'host') ? F_HOST : -1;
    case 6:
      return sameName(name, 'cookie') ? F_COOKIE : -1;
    case 7:
      return sameName(name, 'referer') ? F_REFERER : sameName(name, 'sec-gpc') ? F_SEC_GPC : -1;
    case 9:
      return sameName(name, 'sec-ch-ua') ? F_SEC_CH_UA : -1;
    case 10:
      return sameName(name, 'user-agent') ? F_USER_AGENT : -1;
    case 15:
      return sameName(name, 'x-forwarded-for') ? F_FORWARDED_FOR : -1;
    case 16:
      return sameName(name, 'sec-ch-ua-mobile') ? F_SEC_CH_UA_MOBILE : -1;
    case 18:
      return sameName(name, 'sec-ch-ua-platform') ? F_SEC_CH_UA_PLATFORM : -1;
    case 26:
      return sameName(name, 'sec-ch-ua-platform-version') ? F_SEC_CH_UA_PLATFORM_VERSION : -1;
    default:
      return -1;
  }
}

/** A header Node keeps once (Host, User-Agent, Referer): the first line, or all joined under joinDuplicateHeaders. */
function kept(prev: string | undefined, value: string, joinDuplicates: boolean): string {
  return prev === undefined ? value : joinDuplicates ? `${prev}, ${value}` : prev;
}

function joined(prev: string | undefined, value: string, separator: string): string {
  return prev === undefined ? value : prev + separator + value;
}

/**
 * The headers privacy-log reads, in one pass over `rawHeaders` (Node's
 * `[name, value, name, value, …]`, names in any case). Duplicates merge as in
 * Node's `req.headers`; pass `joinDuplicates` when the server was created with
 * `joinDuplicateHeaders`.
 *
 * @example
 * const h = readRawHeaders(req.rawHeaders, req.joinDuplicateHeaders === true);
 * consent.resolve(h.cookie, h.secGpc, h.dnt);
 */
export function readRawHeaders(rawHeaders: readonly unknown[], joinDuplicates = false): CapturedHeaders {
  const h = new CapturedHeaders();
  const n = rawHeaders.length - 1;
  for (let i = 0; i < n; i += 2) {
    const name = rawHeaders[i];
    const value = rawHeaders[i + 1];
    if (typeof name !== 'string' || typeof value !== 'string') continue;
    switch (fieldOf(name)) {
      case F_HOST:
        h.host = kept(h.host, value, joinDuplicates);
        break;
      case F_USER_AGENT:
        h.userAgent = kept(h.userAgent, value, joinDuplicates);
        break;
      case F_REFERER:
        h.referer = kept(h.referer, value, joinDuplicates);
        break;
      case F_COOKIE:
        h.cookie = joined(h.cookie, value, '; ');
        break;
      case F_SEC_GPC:
        h.secGpc = joined(h.secGpc, value, ', ');
        break;
      case F_DNT:
        h.dnt = joined(h.dnt, value, ', ');
        break;
      case F_FORWARDED_FOR:
        h.forwardedFor = joined(h.forwardedFor, value, ', ');
        break;
      case F_SEC_CH_UA:
        h.secChUa = joined(h.secChUa, value, ', ');
        break;
      case F_SEC_CH_UA_MOBILE:
        h.secChUaMobile = joined(h.secChUaMobile, value, ', ');
        break;
      case F_SEC_CH_UA_PLATFORM:
        h.secChUaPlatform = joined(h.secChUaPlatform, value, ', ');
        break;
      case F_SEC_CH_UA_PLATFORM_VERSION:
        h.secChUaPlatformVersion = joined(h.secChUaPlatformVersion, value, ', ');
        break;
      default:
        break;
    }
  }
  return h;
}

/**
 * One header of a record as a single string: a string as is, a number as its
 * decimal text (response headers), a list joined with `joiner` (an empty list is
 * absent). Names are looked up lowercase.
 *
 * @example
 * headerValue(req.headers, 'sec-fetch-site'); // 'same-origin'
 */
export function headerValue(headers: HeaderRecord, name: string, joiner = ', '): string | undefined {
  return singleValue(headers[name], joiner);
}

/** A header value as one string (see {@link headerValue}); for `res.getHeader()` results too. */
export function singleValue(v: unknown, joiner = ', '): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return String(v);
  if (Array.isArray(v)) return v.length === 0 ? undefined : v.join(joiner);
  return undefined;
}

/** The Cookie header (several Cookie headers are joined as one). */
export function cookieHeader(headers: HeaderRecord): string | undefined {
  return headerValue(headers, 'cookie', '; ');
}

/**
 * The same record from an already built header object (`req.headers`, or the
 * facts a test or another adapter hands to capture).
 *
 * @example
 * const h = readHeaderRecord({ 'user-agent': 'curl/8.5.0', 'x-forwarded-for': '203.0.113.7' });
 */
export function readHeaderRecord(headers: HeaderRecord | undefined): CapturedHeaders {
  const h = new CapturedHeaders();
  if (typeof headers !== 'object' || headers === null) return h;
  h.host = headerValue(headers, 'host');
  h.userAgent = headerValue(headers, 'user-agent');
  h.referer = headerValue(headers, 'referer');
  h.cookie = cookieHeader(headers);
  h.secGpc = headerValue(headers, 'sec-gpc');
  h.dnt = headerValue(headers, 'dnt');
  h.forwardedFor = headerValue(headers, 'x-forwarded-for');
  h.secChUa = headerValue(headers, 'sec-ch-ua');
  h.secChUaMobile = headerValue(headers, 'sec-ch-ua-mobile');
  h.secChUaPlatform = headerValue(headers, 'sec-ch-ua-platform');
  h.secChUaPlatformVersion = headerValue(headers, 'sec-ch-ua-platform-version');
  return h;
}

/**
 * The record for a Node request: one pass over `req.rawHeaders` when Node has
 * them, else the `req.headers` object.
 */
export function readRequestHeaders(req: {
  rawHeaders?: readonly unknown[];
  headers?: HeaderRecord;
  joinDuplicateHeaders?: boolean | null;
}): CapturedHeaders {
  const raw = req.rawHeaders;
  return Array.isArray(raw) ? readRawHeaders(raw, req.joinDuplicateHeaders === true) : readHeaderRecord(req.headers);
}
