/**
 * The access-log line formats (DESIGN §11). Each renders one PrivacyEvent as
 * one line, every field escaped for its format. Renderers never throw, even on
 * an event that would fail validation: a missing field prints as `-`.
 *
 * - `combined`: Apache/NCSA combined — `host - - [time] "request" status bytes "referrer" "agent"`.
 * - `common`: Apache/NCSA common — the same without referrer and agent.
 * - `json`: the event itself, one JSON object a line.
 * - `otel`: the flat OpenTelemetry attribute map from `toOtelAttributes`, plus `time`.
 */
import { type PrivacyEvent, toOtelAttributes } from '../event.js';
import { escapeBare, escapeQuoted, toJsonLine } from './escape.js';
import { reducedUserAgent } from './reduced-user-agent.js';

export const ACCESS_LOG_FORMATS = ['combined', 'common', 'json', 'otel'] as const;
export type AccessLogFormat = (typeof ACCESS_LOG_FORMATS)[number];

/**
 * The event does not record the HTTP version; parsers of the Apache formats
 * (goaccess among them) need one in the request line, so text lines say this.
 */
export const REQUEST_LINE_PROTOCOL = 'HTTP/1.1';
/**
 * What the host field says for an address capture could not parse ('unknown'):
 * the unspecified address, which log analysers accept and no client has.
 */
export const UNKNOWN_ADDRESS_TEXT = '0.0.0.0';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const ISO_RE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}:\d{2}:\d{2})/;
/** Every Unicode space (`\s`): any of them would split the request line's fields for a reader splitting on whitespace. */
const SPACE_ALL = /\s/gu;

type LooseEvent = Partial<PrivacyEvent> & Record<string, unknown>;

/** `2026-11-24T15:34:44.123Z` → `24/Nov/2026:15:34:44 +0000` (Apache's `%t`, in UTC). */
export function apacheTime(iso: unknown): string {
  let m = typeof iso === 'string' ? ISO_RE.exec(iso) : null;
  if (!m && (typeof iso === 'string' || typeof iso === 'number')) {
    const t = new Date(iso);
    if (!Number.isNaN(t.getTime())) m = ISO_RE.exec(t.toISOString());
  }
  if (!m) return '01/Jan/1970:00:00:00 +0000';
  return `${m[3]}/${MONTHS[Number(m[2]) - 1] ?? 'Jan'}/${m[1]}:${m[4]} +0000`;
}

function host(e: LooseEvent): string {
  const a = e.client?.address;
  if (typeof a !== 'string' || a === '' || a === 'unknown') return UNKNOWN_ADDRESS_TEXT;
  return escapeBare(a);
}

function requestLine(e: LooseEvent): string {
  const method = typeof e.request?.method === 'string' ? e.request.method : '-';
  const path = typeof e.request?.path === 'string' && e.request.path !== '' ? e.request.path : '/';
  const target = typeof e.request?.query === 'string' && e.request.query !== '' ? `${path}?${e.request.query}` : path;
  // Spaces would split the request line's fields: percent-encode them as a URL would (UTF-8 bytes).
  return `${escapeBare(method)} ${escapeQuoted(target).replace(SPACE_ALL, encodeURIComponent)} ${REQUEST_LINE_PROTOCOL}`;
}

function status(e: LooseEvent): string {
  const s = e.response?.status;
  return typeof s === 'number' && Number.isInteger(s) && s >= 0 ? String(s) : '-';
}

function bytes(e: LooseEvent): string {
  const b = e.response?.bytes;
  return typeof b === 'number' && Number.isInteger(b) && b > 0 ? String(b) : '-';
}

/** The referrer as the event has it: `host` or `host/path` (no scheme, no query). */
function referrer(e: LooseEvent): string | undefined {
  const r = e.referrer;
  if (!r || typeof r.host !== 'string') return undefined;
  return typeof r.path === 'string' ? `${r.host}${r.path}` : r.host;
}

/** Apache common log format. */
export function renderCommon(event: PrivacyEvent): string {
  const e = event as LooseEvent;
  return `${host(e)} - - [${apacheTime(e.time)}] "${requestLine(e)}" ${status(e)} ${bytes(e)}`;
}

/** Apache combined log format, with the reduced User-Agent. */
export function renderCombined(event: PrivacyEvent): string {
  const e = event as LooseEvent;
  return `${renderCommon(event)} "${escapeQuoted(referrer(e))}" "${escapeQuoted(reducedUserAgent(e.agent))}"`;
}

/** The event as one JSON line. */
export function renderJson(event: PrivacyEvent): string {
  return toJsonLine(event);
}

/** The flat OpenTelemetry attributes as one JSON line, `time` first. */
export function renderOtel(event: PrivacyEvent): string {
  let attributes: Record<string, unknown>;
  try {
    attributes = toOtelAttributes(event);
  } catch {
    // An event missing whole sections cannot be flattened: log what it is rather than crash.
    attributes = { 'privacy_log.unrenderable': true };
  }
  return toJsonLine({ time: event?.time, ...attributes });
}

const RENDERERS: Record<AccessLogFormat, (e: PrivacyEvent) => string> = {
  combined: renderCombined,
  common: renderCommon,
  json: renderJson,
  otel: renderOtel,
};

/** The renderer of a format. */
export function rendererFor(format: AccessLogFormat): (event: PrivacyEvent) => string {
  return RENDERERS[format];
}
