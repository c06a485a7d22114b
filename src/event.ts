/**
 * The event contract (DESIGN §4): one request, already anonymized.
 *
 * Everything downstream of capture — the pipeline, every aggregator, the spool,
 * the stats engine — sees only this shape. Nothing in it identifies a person:
 * no full IP, no raw User-Agent, no cookie, no query value outside the allow-list.
 */
import { isoTimeMs } from './iso-time.js';

export const EVENT_KINDS = ['pageview', 'download', 'asset', 'api', 'error', 'other'] as const;
export type EventKind = (typeof EVENT_KINDS)[number];

export const DEVICE_CLASSES = ['desktop', 'mobile', 'tablet', 'bot', 'other'] as const;
export type DeviceClass = (typeof DEVICE_CLASSES)[number];

export const REFERRER_TYPES = ['internal', 'external', 'search', 'social'] as const;
export type ReferrerType = (typeof REFERRER_TYPES)[number];

export const CONSENT_VALUES = ['granted', 'denied', 'unset'] as const;
export type ConsentValue = (typeof CONSENT_VALUES)[number];

export const CONSENT_SOURCES = ['choice', 'gpc', 'dnt', 'default'] as const;
export type ConsentSource = (typeof CONSENT_SOURCES)[number];

/** One request, already anonymized. Nothing in it identifies a person. */
export interface PrivacyEvent {
  /** UUIDv7: time-ordered; aggregators de-duplicate on it. */
  id: string;
  /** ISO 8601 UTC with millisecond precision: the request's start. */
  time: string;
  /** The configured site label, else the Host header's hostname. */
  site: string;
  kind: EventKind;
  request: { method: string; path: string; query?: string; route?: string };
  response: { status: number; bytes?: number; durationMs: number };
  client: {
    /** Truncated address: '203.0.113.0', '2001:db8:abcd::', or 'unknown'. */
    address: string;
    prefixLength: number;
    isp?: string;
    asn?: number;
    /** Registrable domain of the PTR name, e.g. 'rostelecom.ru'. */
    domain?: string;
  };
  agent: {
    browser?: string;
    /** Major version only. */
    browserVersion?: string;
    os?: string;
    osVersion?: string;
    device: DeviceClass;
    bot: boolean;
  };
  referrer?: { host: string; path?: string; type: ReferrerType };
  download?: { file: string; contentType?: string; complete: boolean };
  consent: { analytics: ConsentValue; source: ConsentSource; policyVersion?: string };
  /** Present only when analytics consent is granted. */
  session?: { id: string };
}

/** Upper bounds on string fields: a validated event can never carry a large blob. */
export const EVENT_LIMITS = {
  site: 253,
  method: 32,
  path: 2048,
  query: 1024,
  route: 512,
  address: 64,
  isp: 256,
  domain: 253,
  agentField: 64,
  referrerHost: 253,
  referrerPath: 2048,
  file: 512,
  contentType: 128,
  policyVersion: 64,
  sessionId: 64,
} as const;

const UUID_LENGTH = 36;

/** 1 for the char codes of a lowercase hex digit, 0 for every other code below 128. */
const HEX_DIGIT = new Uint8Array(128);
for (let c = 0x30; c <= 0x39; c++) HEX_DIGIT[c] = 1;
for (let c = 0x61; c <= 0x66; c++) HEX_DIGIT[c] = 1;

/** Whether s[from, to) holds only lowercase hex digits. */
function isHexRun(s: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c > 0x7f || HEX_DIGIT[c] !== 1) return false;
  }
  return true;
}

/**
 * A lowercase 8-4-4-4-12 hex UUID: the four hyphens first, then five runs of
 * table-checked digits (about twice as fast as one loop testing the position
 * of every character, and several times cheaper than a regex).
 */
function isUuid(s: string): boolean {
  return (
    s.length === UUID_LENGTH &&
    s.charCodeAt(8) === 0x2d &&
    s.charCodeAt(13) === 0x2d &&
    s.charCodeAt(18) === 0x2d &&
    s.charCodeAt(23) === 0x2d &&
    isHexRun(s, 0, 8) &&
    isHexRun(s, 9, 13) &&
    isHexRun(s, 14, 18) &&
    isHexRun(s, 19, 23) &&
    isHexRun(s, 24, UUID_LENGTH)
  );
}

/**
 * Frozen sub-objects already found valid, one set per role (a part valid as an
 * agent says nothing about it as a consent part). The capture step shares one
 * frozen agent, referrer, consent and request part among all events with the
 * same values, so each is checked once, not once per event. Only plain frozen
 * objects whose properties are all data properties qualify: their values can
 * never change.
 */
const validAgents = new WeakSet<object>();
const validReferrers = new WeakSet<object>();
const validConsents = new WeakSet<object>();
const validRequests = new WeakSet<object>();

function rememberIfFrozen(o: object, valid: WeakSet<object>): void {
  if (!Object.isFrozen(o)) return;
  const proto = Object.getPrototypeOf(o);
  if (proto !== Object.prototype && proto !== null) return;
  const descriptors = Object.getOwnPropertyDescriptors(o);
  for (const key of Object.keys(descriptors)) if (!('value' in (descriptors[key] as PropertyDescriptor))) return;
  valid.add(o);
}
/**
 * True when `s` holds no C0 control, DEL, C1 control (incl. U+0085) or
 * U+2028/U+2029: none of them may sit inside a stored string. A plain loop:
 * several times cheaper than a regular expression on the short strings of an event.
 */
function safeText(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f) || c === 0x2028 || c === 0x2029) return false;
  }
  return true;
}

/** Whether `v` is one of a short list of names: a few identity-first comparisons, cheaper than hashing for a Set. */
function isOneOf(names: readonly string[], v: unknown): boolean {
  for (let i = 0; i < names.length; i++) if (names[i] === v) return true;
  return false;
}

/** 'YYYY-MM-DDTHH:MM:SS.' of the last time found valid: events come in bursts of the same second. */
let lastValidSecond = '';
/** The last time string found valid: capture hands the same string to every event of one millisecond. */
let lastValidTime: string | undefined;
/** The last site found valid: nearly every event of a server has the same one. */
let lastValidSite: string | undefined;

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/** A valid event time (isoTimeMs), the check skipped down to the milliseconds when the second is the one last found valid. */
function validTime(t: string): boolean {
  if (t === lastValidTime) return true;
  if (
    t.length === 24 &&
    lastValidSecond !== '' &&
    t.startsWith(lastValidSecond) &&
    isDigit(t.charCodeAt(20)) &&
    isDigit(t.charCodeAt(21)) &&
    isDigit(t.charCodeAt(22)) &&
    t.charCodeAt(23) === 0x5a
  ) {
    lastValidTime = t;
    return true;
  }
  if (Number.isNaN(isoTimeMs(t))) return false;
  lastValidSecond = t.slice(0, 20);
  lastValidTime = t;
  return true;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(v: unknown, max: number, required: boolean): boolean {
  if (v === undefined) return !required;
  return typeof v === 'string' && v.length <= max && (!required || v.length > 0) && safeText(v);
}

function num(v: unknown, min: number, max: number, required: boolean, integer = true): boolean {
  if (v === undefined) return !required;
  return typeof v === 'number' && Number.isFinite(v) && v >= min && v <= max && (!integer || Number.isInteger(v));
}

/**
 * Checks an event against the contract. Returns `undefined` when it is valid,
 * otherwise a short reason naming the first offending field. It never throws,
 * whatever it is given, and is cheap enough for the pipeline's door.
 *
 * @example
 * const reason = validateEvent(JSON.parse(body));
 * if (reason) throw new Error(`invalid event: ${reason}`);
 */
export function validateEvent(e: unknown): string | undefined {
  if (!isObject(e)) return 'event: not an object';
  if (typeof e.id !== 'string' || !isUuid(e.id)) return 'id: not a UUID';
  // Every field in range and a day its month has (no Feb 30).
  if (typeof e.time !== 'string' || !validTime(e.time)) return 'time: not an ISO 8601 UTC timestamp with milliseconds';
  if (typeof e.site !== 'string' || e.site !== lastValidSite) {
    if (!str(e.site, EVENT_LIMITS.site, true)) return 'site: missing, too long or unsafe';
    lastValidSite = e.site as string;
  }
  if (!isOneOf(EVENT_KINDS, e.kind)) return `kind: not one of ${EVENT_KINDS.join(', ')}`;

  const rq = e.request;
  if (!isObject(rq)) return 'request: not an object';
  if (!validRequests.has(rq)) {
    if (!str(rq.method, EVENT_LIMITS.method, true)) return 'request.method: missing, too long or unsafe';
    if (!str(rq.path, EVENT_LIMITS.path, true)) return 'request.path: missing, too long or unsafe';
    if (!str(rq.query, EVENT_LIMITS.query, false)) return 'request.query: too long or unsafe';
    if (!str(rq.route, EVENT_LIMITS.route, false)) return 'request.route: too long or unsafe';
    rememberIfFrozen(rq, validRequests);
  }

  const rs = e.response;
  if (!isObject(rs)) return 'response: not an object';
  if (!num(rs.status, 0, 999, true)) return 'response.status: not an integer 0-999';
  if (!num(rs.bytes, 0, Number.MAX_SAFE_INTEGER, false)) return 'response.bytes: not a non-negative integer';
  if (!num(rs.durationMs, 0, 86_400_000, true, false)) return 'response.durationMs: not a duration';

  const c = e.client;
  if (!isObject(c)) return 'client: not an object';
  if (!str(c.address, EVENT_LIMITS.address, true)) return 'client.address: missing or too long';
  if (!num(c.prefixLength, 0, 128, true)) return 'client.prefixLength: not an integer 0-128';
  if (c.address !== 'unknown' && (c.prefixLength as number) > 64)
    return 'client.prefixLength: longer than any truncation keeps';
  if (!str(c.isp, EVENT_LIMITS.isp, false)) return 'client.isp: too long or unsafe';
  if (!num(c.asn, 0, 4_294_967_295, false)) return 'client.asn: not an AS number';
  if (!str(c.domain, EVENT_LIMITS.domain, false)) return 'client.domain: too long or unsafe';

  const a = e.agent;
  if (!isObject(a)) return 'agent: not an object';
  if (!validAgents.has(a)) {
    // Four named reads, not one keyed read over a list of names (a polymorphic lookup per field).
    const max = EVENT_LIMITS.agentField;
    if (!str(a.browser, max, false)) return 'agent.browser: too long or unsafe';
    if (!str(a.browserVersion, max, false)) return 'agent.browserVersion: too long or unsafe';
    if (!str(a.os, max, false)) return 'agent.os: too long or unsafe';
    if (!str(a.osVersion, max, false)) return 'agent.osVersion: too long or unsafe';
    if (!isOneOf(DEVICE_CLASSES, a.device)) return `agent.device: not one of ${DEVICE_CLASSES.join(', ')}`;
    if (typeof a.bot !== 'boolean') return 'agent.bot: not a boolean';
    rememberIfFrozen(a, validAgents);
  }

  if (e.referrer !== undefined) {
    const r = e.referrer;
    if (!isObject(r)) return 'referrer: not an object';
    if (!validReferrers.has(r)) {
      if (!str(r.host, EVENT_LIMITS.referrerHost, true)) return 'referrer.host: missing, too long or unsafe';
      if (!str(r.path, EVENT_LIMITS.referrerPath, false)) return 'referrer.path: too long or unsafe';
      if (!isOneOf(REFERRER_TYPES, r.type)) return `referrer.type: not one of ${REFERRER_TYPES.join(', ')}`;
      rememberIfFrozen(r, validReferrers);
    }
  }
  if (e.download !== undefined) {
    const d = e.download;
    if (!isObject(d)) return 'download: not an object';
    if (!str(d.file, EVENT_LIMITS.file, true)) return 'download.file: missing, too long or unsafe';
    if (!str(d.contentType, EVENT_LIMITS.contentType, false)) return 'download.contentType: too long or unsafe';
    if (typeof d.complete !== 'boolean') return 'download.complete: not a boolean';
  }

  const k = e.consent;
  if (!isObject(k)) return 'consent: not an object';
  if (!validConsents.has(k)) {
    if (!isOneOf(CONSENT_VALUES, k.analytics)) return `consent.analytics: not one of ${CONSENT_VALUES.join(', ')}`;
    if (!isOneOf(CONSENT_SOURCES, k.source)) return `consent.source: not one of ${CONSENT_SOURCES.join(', ')}`;
    if (!str(k.policyVersion, EVENT_LIMITS.policyVersion, false)) return 'consent.policyVersion: too long or unsafe';
    rememberIfFrozen(k, validConsents);
  }

  if (e.session !== undefined) {
    const s = e.session;
    if (!isObject(s) || !str(s.id, EVENT_LIMITS.sessionId, true)) return 'session.id: missing or too long';
    if (k.analytics !== 'granted') return 'session: present without granted analytics consent';
  }
  return undefined;
}

/** Type guard over {@link validateEvent}. */
export function isPrivacyEvent(e: unknown): e is PrivacyEvent {
  return validateEvent(e) === undefined;
}

/** A flat attribute map: OpenTelemetry semantic-convention names where one exists. */
export type OtelAttributes = Record<string, string | number | boolean>;

/**
 * Flattens an event to OpenTelemetry semantic-convention attribute names
 * (`http.request.method`, `url.path`, `client.address`, `user_agent.name`, …).
 * Fields without a convention use the `privacy_log.` namespace. The mapping is
 * documented in docs/privacy-model.md.
 *
 * @example
 * logger.emit({ body: 'request', attributes: toOtelAttributes(event) });
 */
export function toOtelAttributes(e: PrivacyEvent): OtelAttributes {
  const out: OtelAttributes = {
    'event.id': e.id,
    'event.name': `privacy_log.${e.kind}`,
    'privacy_log.site': e.site,
    'privacy_log.kind': e.kind,
    'http.request.method': e.request.method,
    'url.path': e.request.path,
    'http.response.status_code': e.response.status,
    'http.server.request.duration': e.response.durationMs / 1000,
    'client.address': e.client.address,
    'privacy_log.client.prefix_length': e.client.prefixLength,
    'user_agent.device.class': e.agent.device,
    'user_agent.synthetic': e.agent.bot,
    'privacy_log.consent.analytics': e.consent.analytics,
    'privacy_log.consent.source': e.consent.source,
  };
  const set = (key: string, v: string | number | boolean | undefined) => {
    if (v !== undefined) out[key] = v;
  };
  set('url.query', e.request.query);
  set('http.route', e.request.route);
  set('http.response.body.size', e.response.bytes);
  set('network.peer.isp', e.client.isp);
  set('client.as.number', e.client.asn);
  set('client.domain', e.client.domain);
  set('user_agent.name', e.agent.browser);
  set('user_agent.version', e.agent.browserVersion);
  set('user_agent.os.name', e.agent.os);
  set('user_agent.os.version', e.agent.osVersion);
  if (e.referrer) {
    set('http.request.header.referer', e.referrer.path ? `${e.referrer.host}${e.referrer.path}` : e.referrer.host);
    set('privacy_log.referrer.type', e.referrer.type);
  }
  if (e.download) {
    set('privacy_log.download.file', e.download.file);
    set('privacy_log.download.content_type', e.download.contentType);
    set('privacy_log.download.complete', e.download.complete);
  }
  set('privacy_log.consent.policy_version', e.consent.policyVersion);
  set('session.id', e.session?.id);
  return out;
}
