/**
 * The values the stats engine groups and filters by, derived from an event in
 * one place so every store (memory, SQLite, PostgreSQL) stores and compares
 * exactly the same strings. They match the sketch keys of visitor-mark.ts: an
 * event contributes to a breakdown row exactly when it contributes visitors to
 * that row's sketch.
 */

import type { PrivacyEvent } from '../event.js';
import { DAY_MS, isoTimeMs } from '../iso-time.js';
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

/**
 * Epoch ms of an event time. Events carry `YYYY-MM-DDTHH:MM:SS.mmmZ` (what
 * validateEvent accepts), read from its digits by the same reader as the
 * validation (`isoTimeMs`) — about half the cost of `Date.parse`, which every
 * stored event paid; any other shape (or a field out of range, or a day its
 * month lacks) goes through `Date.parse`.
 *
 * @example
 * eventTime('2026-03-10T10:00:00.000Z'); // 1773136800000
 */
export function eventTime(s: string): number {
  const ms = isoTimeMs(s);
  return Number.isNaN(ms) ? Date.parse(s) : ms;
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

export { DAY_MS };

/** Granularity of the time rollup: 15 minutes, which every modern UTC offset is a multiple of. */
export const SLOT_MS = 15 * 60_000;
