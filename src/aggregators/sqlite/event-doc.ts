/**
 * The `doc` column of SQLite's events table: what an event holds beyond the
 * row's columns, as a positional JSON array (no keys, nothing stored twice),
 * so the whole event can be rebuilt from the row — at a fraction of the bytes
 * and the time of the event's full JSON on the write path.
 */
import type { PrivacyEvent } from '../../event.js';
import type { EventRow } from '../../stats/event-columns.js';

/** Version of the positional layout: the array's first element. */
export const EVENT_DOC_VERSION = 1;

/** The stored columns an event is rebuilt from, as SQLite returns them (NULL → null). */
export interface StoredEventColumns {
  id: string;
  site: string;
  kind: string;
  page: string | null;
  referrer: string | null;
  browser: string | null;
  os: string | null;
  device: string;
  isp: string | null;
  domain: string | null;
  download: string | null;
  bot: number;
  session_id: string | null;
}

/** The event's doc: the fields of `e` not held by the columns of its row `r` (from eventRow). */
export function eventDoc(e: PrivacyEvent, r: EventRow): string {
  const q = e.request;
  const c = e.client;
  const a = e.agent;
  const f = e.referrer;
  const d = e.download;
  const n = e.consent;
  return JSON.stringify([
    EVENT_DOC_VERSION,
    e.time,
    q.method,
    r.page === undefined ? q.path : null,
    q.query ?? null,
    q.route ?? null,
    e.response.status,
    e.response.bytes ?? null,
    e.response.durationMs,
    c.address,
    c.prefixLength,
    c.asn ?? null,
    a.browserVersion ?? null,
    a.osVersion ?? null,
    f === undefined ? null : f.type,
    f === undefined || r.referrer !== undefined ? null : f.host,
    f?.path ?? null,
    d === undefined ? null : d.complete,
    d?.contentType ?? null,
    n.analytics,
    n.source,
    n.policyVersion ?? null,
  ]);
}

type Doc = [
  number,
  string,
  string,
  string | null,
  string | null,
  string | null,
  number,
  number | null,
  number,
  string,
  number,
  number | null,
  string | null,
  string | null,
  string | null,
  string | null,
  string | null,
  boolean | null,
  string | null,
  string,
  string,
  string | null,
];

/**
 * Rebuild the event from a stored row and its doc.
 *
 * @example
 * const row = db.prepare('SELECT * FROM events WHERE id = ?').get(id);
 * const event = eventFromStored(row, row.doc);
 */
export function eventFromStored(row: StoredEventColumns, doc: string): PrivacyEvent {
  const x = JSON.parse(doc) as Doc;
  const [, time, method, path, query, route, status, bytes, durationMs, address, prefixLength, asn] = x;
  const e: PrivacyEvent = {
    id: row.id,
    time,
    site: row.site,
    kind: row.kind as PrivacyEvent['kind'],
    request: { method, path: path ?? row.page ?? '' },
    response: { status, durationMs },
    client: { address, prefixLength },
    agent: { device: row.device as PrivacyEvent['agent']['device'], bot: row.bot === 1 },
    consent: {
      analytics: x[19] as PrivacyEvent['consent']['analytics'],
      source: x[20] as PrivacyEvent['consent']['source'],
    },
  };
  if (query !== null) e.request.query = query;
  if (route !== null) e.request.route = route;
  if (bytes !== null) e.response.bytes = bytes;
  if (row.isp !== null) e.client.isp = row.isp;
  if (asn !== null) e.client.asn = asn;
  if (row.domain !== null) e.client.domain = row.domain;
  if (row.browser !== null) e.agent.browser = row.browser;
  if (x[12] !== null) e.agent.browserVersion = x[12];
  if (row.os !== null) e.agent.os = row.os;
  if (x[13] !== null) e.agent.osVersion = x[13];
  if (x[14] !== null) {
    e.referrer = { host: x[15] ?? row.referrer ?? '', type: x[14] as NonNullable<PrivacyEvent['referrer']>['type'] };
    if (x[16] !== null) e.referrer.path = x[16];
  }
  if (x[17] !== null) {
    e.download = { file: row.download ?? '', complete: x[17] };
    if (x[18] !== null) e.download.contentType = x[18];
  }
  if (x[21] !== null) e.consent.policyVersion = x[21];
  if (row.session_id !== null) e.session = { id: row.session_id };
  return e;
}
