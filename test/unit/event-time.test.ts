import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isoTimeMs } from '../../src/iso-time.js';
import { eventTime } from '../../src/stats/event-columns.js';

const same = (a: number, b: number) => (Number.isNaN(a) ? Number.isNaN(b) : a === b);

describe('eventTime (the ms of an event time, without Date.parse for the usual shape)', () => {
  it('reads every instant of years 0–9999 exactly as Date.parse does (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: Date.parse('0000-01-01T00:00:00.000Z'), max: Date.parse('9999-12-31T23:59:59.999Z') }),
        (ms) => {
          const iso = new Date(ms).toISOString();
          expect(eventTime(iso)).toBe(ms);
          expect(eventTime(iso)).toBe(Date.parse(iso));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('agrees with Date.parse on strings of the same shape with any digits or separators (property)', () => {
    const digit = fc.constantFrom(...'0123456789');
    const sep = (c: string) => fc.constantFrom(c, c, c, 'x', '-', ':', '.', 'T', 'Z', ' ', '/');
    const shaped = fc
      .tuple(
        fc.array(digit, { minLength: 4, maxLength: 4 }),
        sep('-'),
        fc.array(digit, { minLength: 2, maxLength: 2 }),
        sep('-'),
        fc.array(digit, { minLength: 2, maxLength: 2 }),
        sep('T'),
        fc.array(digit, { minLength: 2, maxLength: 2 }),
        sep(':'),
        fc.array(digit, { minLength: 2, maxLength: 2 }),
        sep(':'),
        fc.array(digit, { minLength: 2, maxLength: 2 }),
        sep('.'),
        fc.array(digit, { minLength: 3, maxLength: 3 }),
        sep('Z'),
      )
      .map((parts) => parts.map((p) => (Array.isArray(p) ? p.join('') : p)).join(''));
    fc.assert(
      fc.property(shaped, (s) => {
        expect(same(eventTime(s), Date.parse(s))).toBe(true);
      }),
      { numRuns: 5000 },
    );
  });

  it("hands days past a month's end, years 0–99 and other shapes to Date.parse", () => {
    for (const s of [
      '2026-02-29T00:00:00.000Z',
      '2024-02-29T12:00:00.000Z',
      '2026-04-31T00:00:00.000Z',
      '2026-13-01T00:00:00.000Z',
      '2026-00-10T00:00:00.000Z',
      '2026-01-01T24:00:00.000Z',
      '0099-01-01T00:00:00.000Z',
      '2026-03-10T10:00:00Z',
      '2026-03-10T10:00:00.000+03:00',
      '',
    ])
      expect(same(eventTime(s), Date.parse(s)), s).toBe(true);
    expect(eventTime('2024-02-29T12:00:00.000Z')).toBe(Date.UTC(2024, 1, 29, 12));
  });
});

describe('isoTimeMs (the one reader of an event time, for validation and stores)', () => {
  it('is Date.parse wherever it is a number, and a number for every instant of years 0–9999 (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: Date.parse('0000-01-01T00:00:00.000Z'), max: Date.parse('9999-12-31T23:59:59.999Z') }),
        fc.string({ maxLength: 3 }),
        (ms, noise) => {
          const iso = new Date(ms).toISOString();
          expect(isoTimeMs(iso)).toBe(ms);
          const other = `${iso.slice(0, 23)}${noise}`;
          const got = isoTimeMs(other);
          if (!Number.isNaN(got)) expect(got).toBe(Date.parse(other));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('is NaN for days a month lacks, fields out of range and other shapes', () => {
    for (const s of [
      '2026-02-29T00:00:00.000Z',
      '1900-02-29T00:00:00.000Z',
      '2026-04-31T00:00:00.000Z',
      '2026-13-01T00:00:00.000Z',
      '2026-00-10T00:00:00.000Z',
      '2026-01-00T00:00:00.000Z',
      '2026-01-01T24:00:00.000Z',
      '2026-01-01T00:60:00.000Z',
      '2026-01-01T00:00:60.000Z',
      '2026-01-01T00:00:00.00xZ',
      '2026-03-10T10:00:00Z',
      '2026-03-10T10:00:00.000+03:00',
      '+02026-03-10T10:00:00.000Z',
      '',
    ])
      expect(isoTimeMs(s), s).toBeNaN();
    expect(isoTimeMs('2000-02-29T12:00:00.000Z')).toBe(Date.UTC(2000, 1, 29, 12));
    expect(isoTimeMs('0099-12-31T23:59:59.999Z')).toBe(Date.parse('0099-12-31T23:59:59.999Z'));
  });
});
