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

export function eventValues(e: PrivacyEvent): EventValues {
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
  };
}

/** One event flattened for a store: what queries group and filter by. */
export interface EventRow extends EventValues {
  id: string;
  /** Epoch milliseconds. */
  ts: number;
  site: string;
  bot: boolean;
  sessionId: string | undefined;
}

export function eventRow(e: PrivacyEvent): EventRow {
  const row = eventValues(e) as EventRow;
  row.id = e.id;
  row.ts = Date.parse(e.time);
  row.site = e.site;
  row.bot = e.agent.bot;
  row.sessionId = e.session?.id;
  return row;
}

/** 'YYYY-MM-DD' of an epoch-ms instant in UTC. */
export function utcDay(ts: number): string {
  return new Date(ts).toISOString().slice(0, 10);
}

/** Granularity of the time rollup: 15 minutes, which every modern UTC offset is a multiple of. */
export const SLOT_MS = 15 * 60_000;
