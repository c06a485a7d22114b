/**
 * The values the stats engine groups and filters by, derived from an event in
 * one place so every store (memory, SQLite, PostgreSQL) stores and compares
 * exactly the same strings. They match the sketch keys of visitor-mark.ts: an
 * event contributes to a breakdown row exactly when it contributes visitors to
 * that row's sketch.
 */
import type { PrivacyEvent } from '../event.js';
import type { Property } from './query.js';

/** Property → value for one event; `undefined` when the event has no such value. */
export type EventValues = Record<Property, string | undefined>;

/** The properties stored as their own columns (all of them). */
export const COLUMN_PROPERTIES = [
  'page',
  'referrer',
  'browser',
  'os',
  'device',
  'isp',
  'domain',
  'download',
  'kind',
] as const satisfies readonly Property[];

/** One event flattened for a store: what queries group and filter by. */
export interface EventRow extends EventValues {
  id: string;
  /** Epoch milliseconds. */
  ts: number;
  site: string;
  bot: boolean;
  sessionId: string | undefined;
}

/** Digits s[from, to) as a number; NaN when any is not a digit. */
function digits(s: string, from: number, to: number): number {
  let v = 0;
  for (let i = from; i < to; i++) {
    const d = s.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return Number.NaN;
    v = v * 10 + d;
  }
  return v;
}

/**
 * Epoch ms of an event time. Events carry `YYYY-MM-DDTHH:MM:SS.mmmZ` (what
 * validateEvent accepts), read here from its digits — about half the cost of
 * `Date.parse`, which every stored event paid; any other shape (or a field
 * out of range) goes through `Date.parse`.
 *
 * @example
 * eventTime('2026-03-10T10:00:00.000Z'); // 1773136800000
 */
export function eventTime(s: string): number {
  if (s.length !== 24 || s.charCodeAt(10) !== 84 || s.charCodeAt(23) !== 90) return Date.parse(s);
  const month = digits(s, 5, 7);
  const day = digits(s, 8, 10);
  const hour = digits(s, 11, 13);
  const minute = digits(s, 14, 16);
  const second = digits(s, 17, 19);
  if (
    s.charCodeAt(4) !== 45 ||
    s.charCodeAt(7) !== 45 ||
    s.charCodeAt(13) !== 58 ||
    s.charCodeAt(16) !== 58 ||
    s.charCodeAt(19) !== 46 ||
    !(month >= 1 && month <= 12 && day >= 1 && day <= 31 && hour <= 23 && minute <= 59 && second <= 59)
  )
    return Date.parse(s);
  const year = digits(s, 0, 4);
  // Date.UTC reads years 0–99 as 1900–1999.
  if (!(year >= 100)) return Date.parse(s);
  const ms = Date.UTC(year, month - 1, day, hour, minute, second, digits(s, 20, 23));
  // A day past the month's end (2026-02-31): whatever Date.parse makes of it, not Date.UTC's roll-over.
  return day <= 28 || new Date(ms).getUTCDate() === day ? ms : Date.parse(s);
}

/**
 * One event flattened for a store: the values queries group and filter by,
 * and what identifies and places it. One object literal, so every row has
 * the same shape from the start (no properties added afterwards).
 *
 * @example
 * eventRow(event).page; // '/news' for a pageview of /news, undefined otherwise
 */
export function eventRow(e: PrivacyEvent): EventRow {
  return {
    page: e.kind === 'pageview' ? e.request.path : undefined,
    referrer: e.referrer && e.referrer.type !== 'internal' ? e.referrer.host : undefined,
    browser: e.agent.browser,
    os: e.agent.os,
    device: e.agent.device,
    isp: e.client.isp,
    domain: e.client.domain,
    download: e.download?.file,
    kind: e.kind,
    id: e.id,
    ts: eventTime(e.time),
    site: e.site,
    bot: e.agent.bot,
    sessionId: e.session?.id,
  };
}

/** 'YYYY-MM-DD' of an epoch-ms instant in UTC. */
export function utcDay(ts: number): string {
  return new Date(ts).toISOString().slice(0, 10);
}

/** One UTC day, ms. */
export const DAY_MS = 86_400_000;

/** Granularity of the time rollup: 15 minutes, which every modern UTC offset is a multiple of. */
export const SLOT_MS = 15 * 60_000;
