/**
 * How SQLite's events table keeps the whole event without writing it twice:
 * the `rest` column holds what the event has beyond the row's other columns,
 * as a positional JSON array (no keys, nothing duplicated), and the `doc`
 * column — the event's JSON, as before — is a VIRTUAL generated column that
 * SQLite rebuilds from them when it is read. The write path binds a third of
 * the bytes and skips serializing the full event.
 */
import type { PrivacyEvent } from '../../event.js';
import type { EventRow } from '../../stats/event-columns.js';

/** Version of the positional layout: the array's first element. */
export const EVENT_DOC_VERSION = 1;

/** The event's `rest` column: the fields of `e` not held by the other columns of its row `r` (from eventRow). */
export function eventRest(e: PrivacyEvent, r: EventRow): string {
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
