/**
 * The one reader of an event's time, `YYYY-MM-DDTHH:MM:SS.mmmZ`, from its
 * character codes: validation (src/event.ts) asks whether it is one, stores
 * (src/stats/event-columns.ts) ask for its epoch milliseconds. A regular
 * expression cost twice as much for every event of a new second, and
 * `Date.parse` twice as much for every stored event.
 */

/** Digits s[from, to) as a number; -1 when any is not a digit. */
function digits(s: string, from: number, to: number): number {
  let v = 0;
  for (let i = from; i < to; i++) {
    const d = s.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
  }
  return v;
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
/** One UTC day, ms. */
export const DAY_MS = 86_400_000;

function isLeap(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

/** Days from 1970-01-01 to a proleptic Gregorian date (month 1–12), for any year ≥ 0. */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146_097 + dayOfEra - 719_468;
}

/**
 * The epoch milliseconds of `YYYY-MM-DDTHH:MM:SS.mmmZ` when `t` is exactly
 * that, with every field in range and a day that exists in its month (leap
 * years included); NaN for anything else. Where it is a number, it is what
 * `Date.parse` gives.
 *
 * @example
 * isoTimeMs('2026-03-10T10:00:00.000Z'); // 1773136800000
 * isoTimeMs('2026-02-29T10:00:00.000Z'); // NaN
 */
export function isoTimeMs(t: string): number {
  if (
    t.length !== 24 ||
    t.charCodeAt(4) !== 0x2d ||
    t.charCodeAt(7) !== 0x2d ||
    t.charCodeAt(10) !== 0x54 ||
    t.charCodeAt(13) !== 0x3a ||
    t.charCodeAt(16) !== 0x3a ||
    t.charCodeAt(19) !== 0x2e ||
    t.charCodeAt(23) !== 0x5a
  )
    return Number.NaN;
  const year = digits(t, 0, 4);
  const month = digits(t, 5, 7);
  const day = digits(t, 8, 10);
  const hour = digits(t, 11, 13);
  const minute = digits(t, 14, 16);
  const second = digits(t, 17, 19);
  const ms = digits(t, 20, 23);
  if (
    year < 0 ||
    ms < 0 ||
    month < 1 ||
    month > 12 ||
    day < 1 ||
    hour < 0 ||
    hour > 23 ||
    minute < 0 ||
    minute > 59 ||
    second < 0 ||
    second > 59
  )
    return Number.NaN;
  const monthDays = month === 2 && isLeap(year) ? 29 : (DAYS_IN_MONTH[month - 1] as number);
  if (day > monthDays) return Number.NaN;
  return daysFromCivil(year, month, day) * DAY_MS + ((hour * 60 + minute) * 60 + second) * 1000 + ms;
}
