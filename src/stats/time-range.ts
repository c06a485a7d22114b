/**
 * Periods and time buckets in an IANA time zone. Everything here works on
 * epoch milliseconds and 'YYYY-MM-DD' strings; offsets come from Intl, cached
 * per zone.
 */
import type { Interval, Period } from './query.js';

const DAY_RE = /^\d{4}-\d{2}-\d{2}$/;
const DAY_MS = 86_400_000;

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (f === undefined) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    if (formatters.size > 64) formatters.clear();
    formatters.set(tz, f);
  }
  return f;
}

/** True when Intl knows the zone. */
export function isValidTimeZone(tz: string): boolean {
  if (typeof tz !== 'string' || tz.length === 0 || tz.length > 64) return false;
  // Every computation below answers UTC without Intl: no formatter (≈ 10 ms to build the first one) for the default.
  if (tz === 'UTC') return true;
  try {
    formatter(tz);
    return true;
  } catch {
    return false;
  }
}

interface LocalParts {
  y: number;
  mo: number;
  d: number;
  h: number;
  mi: number;
  s: number;
}

function localParts(ts: number, tz: string): LocalParts {
  const p: Record<string, number> = {};
  for (const part of formatter(tz).formatToParts(ts)) {
    if (part.type !== 'literal') p[part.type] = Number(part.value);
  }
  return { y: p.year!, mo: p.month!, d: p.day!, h: p.hour! % 24, mi: p.minute!, s: p.second! };
}

/** The zone's offset from UTC at an instant, in ms. */
export function offsetAt(ts: number, tz: string): number {
  if (tz === 'UTC') return 0;
  const p = localParts(ts, tz);
  const asUtc = Date.UTC(p.y, p.mo - 1, p.d, p.h, p.mi, p.s);
  return asUtc - Math.floor(ts / 1000) * 1000;
}

/** The instant of local midnight starting a local day 'YYYY-MM-DD'. */
export function startOfDay(day: string, tz: string): number {
  const guess = Date.parse(`${day}T00:00:00.000Z`);
  if (tz === 'UTC') return guess;
  const off1 = offsetAt(guess, tz);
  let t = guess - off1;
  const off2 = offsetAt(t, tz);
  if (off2 !== off1) t = guess - off2;
  return t;
}

/** The local calendar day of an instant. */
export function localDay(ts: number, tz: string): string {
  if (tz === 'UTC') return new Date(ts).toISOString().slice(0, 10);
  const p = localParts(ts, tz);
  return `${String(p.y).padStart(4, '0')}-${String(p.mo).padStart(2, '0')}-${String(p.d).padStart(2, '0')}`;
}

/** Local 'YYYY-MM-DDTHH:mm' of an instant. */
export function localMinute(ts: number, tz: string): string {
  const p = tz === 'UTC' ? undefined : localParts(ts, tz);
  if (p === undefined) return new Date(ts).toISOString().slice(0, 16);
  return `${localDay(ts, tz)}T${String(p.h).padStart(2, '0')}:${String(p.mi).padStart(2, '0')}`;
}

export function isDay(s: unknown): s is string {
  if (typeof s !== 'string' || !DAY_RE.test(s)) return false;
  const t = Date.parse(`${s}T00:00:00.000Z`);
  return !Number.isNaN(t) && new Date(t).toISOString().slice(0, 10) === s;
}

/** Add days to a 'YYYY-MM-DD'. */
export function addDays(day: string, n: number): string {
  return new Date(Date.parse(`${day}T00:00:00.000Z`) + n * DAY_MS).toISOString().slice(0, 10);
}

/** First day of the month `n` months from the month of `day`. */
export function addMonths(day: string, n: number): string {
  const y = Number(day.slice(0, 4));
  const m = Number(day.slice(5, 7)) - 1 + n;
  return new Date(Date.UTC(y, m, 1)).toISOString().slice(0, 10);
}

/** Whole days from `a` to `b` ('YYYY-MM-DD'). */
export function daysBetween(a: string, b: string): number {
  return Math.round((Date.parse(`${b}T00:00:00.000Z`) - Date.parse(`${a}T00:00:00.000Z`)) / DAY_MS);
}

/** A resolved period: local days [fromDay, toDay] and the instants [from, to). */
export interface ResolvedRange {
  fromDay: string;
  toDay: string;
  from: number;
  to: number;
}

/**
 * Resolve a period around the reference day (inclusive of it):
 * day = that day; 7d / 30d = the last 7 / 30 days ending on it; month = its
 * calendar month; 12mo = the 12 calendar months ending with its month;
 * custom = [from, to].
 */
export function resolvePeriod(period: Period, date: string, tz: string, from?: string, to?: string): ResolvedRange {
  let fromDay: string;
  let toDay: string;
  switch (period) {
    case 'day':
      fromDay = toDay = date;
      break;
    case '7d':
      fromDay = addDays(date, -6);
      toDay = date;
      break;
    case '30d':
      fromDay = addDays(date, -29);
      toDay = date;
      break;
    case 'month':
      fromDay = addMonths(date, 0);
      toDay = addDays(addMonths(date, 1), -1);
      break;
    case '12mo':
      fromDay = addMonths(date, -11);
      toDay = addDays(addMonths(date, 1), -1);
      break;
    case 'custom':
      fromDay = from as string;
      toDay = to as string;
      break;
  }
  return { fromDay, toDay, from: startOfDay(fromDay, tz), to: startOfDay(addDays(toDay, 1), tz) };
}

/** A timeseries bucket: its label and instants [start, end). */
export interface Bucket {
  date: string;
  start: number;
  end: number;
}

/** The buckets of a range for an interval, in order. */
export function buckets(range: ResolvedRange, interval: Interval, tz: string): Bucket[] {
  const out: Bucket[] = [];
  if (interval === 'hour') {
    for (let t = range.from; t < range.to && out.length < 24 * 400; t += 3_600_000) {
      out.push({ date: localMinute(t, tz), start: t, end: Math.min(t + 3_600_000, range.to) });
    }
    return out;
  }
  let day = interval === 'month' ? addMonths(range.fromDay, 0) : range.fromDay;
  while (daysBetween(day, range.toDay) >= 0) {
    const next = interval === 'month' ? addMonths(day, 1) : addDays(day, 1);
    const start = Math.max(startOfDay(day, tz), range.from);
    const end = Math.min(startOfDay(next, tz), range.to);
    out.push({ date: interval === 'month' ? day.slice(0, 7) : day, start, end });
    day = next;
  }
  return out;
}

/** Index of the bucket holding an instant, or -1 (binary search). */
export function bucketIndex(list: readonly Bucket[], ts: number): number {
  let lo = 0;
  let hi = list.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const b = list[mid]!;
    if (ts < b.start) hi = mid - 1;
    else if (ts >= b.end) lo = mid + 1;
    else return mid;
  }
  return -1;
}

/** UTC days overlapping [from, to). */
export function utcDaysOverlapping(from: number, to: number): { first: string; last: string } {
  return {
    first: new Date(from).toISOString().slice(0, 10),
    last: new Date(to - 1).toISOString().slice(0, 10),
  };
}
