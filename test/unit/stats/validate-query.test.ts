import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isPrivacyLogError } from '../../../src/errors.js';
import { METRICS, PERIODS, PROPERTIES, type StatsQuery } from '../../../src/stats/query.js';
import { normalizeQuery } from '../../../src/stats/validate-query.js';

function messageOf(q: unknown): string {
  try {
    normalizeQuery(q as StatsQuery, Date.parse('2026-03-10T12:00:00Z'));
  } catch (e) {
    expect(isPrivacyLogError(e, 'PRIVACY_LOG_E_INVALID_QUERY')).toBe(true);
    return (e as Error).message;
  }
  throw new Error('expected INVALID_QUERY');
}

describe('normalizeQuery', () => {
  it('names the valid metrics, properties and periods for unknown ones', () => {
    const m = messageOf({ type: 'aggregate', period: '7d', metrics: ['visiters'] });
    expect(m).toContain('Did you mean "visitors"?');
    for (const x of METRICS) expect(m).toContain(x);
    const p = messageOf({ type: 'breakdown', period: '7d', metrics: ['pageviews'], property: 'browsr' });
    for (const x of PROPERTIES) expect(p).toContain(x);
    const per = messageOf({ type: 'aggregate', period: 'week', metrics: ['pageviews'] });
    for (const x of PERIODS) expect(per).toContain(x);
    expect(messageOf({ type: 'pie', period: '7d', metrics: [] })).toContain('aggregate, timeseries, breakdown');
    expect(messageOf({ type: 'aggregate', period: '7d', metrics: [], filterz: [] })).toContain(
      'Did you mean "filters"?',
    );
  });

  it('rejects malformed dates, ranges, zones, k, limit, filters and visitors per hour', () => {
    const base = { type: 'aggregate', period: '7d', metrics: ['pageviews'] };
    expect(messageOf({ ...base, date: '2026-02-30' })).toContain('YYYY-MM-DD');
    expect(messageOf({ ...base, period: 'custom', from: '2026-03-02' })).toContain('custom');
    expect(messageOf({ ...base, period: 'custom', from: '2026-03-05', to: '2026-03-01' })).toContain('after');
    expect(messageOf({ ...base, timeZone: 'Mars/Olympus' })).toContain('IANA');
    expect(messageOf({ ...base, k: 0 })).toContain('k');
    expect(messageOf({ ...base, limit: 100_000 })).toContain('limit');
    expect(messageOf({ ...base, filters: ['nope'] })).toContain('operator');
    expect(messageOf({ ...base, type: 'timeseries', period: 'day', metrics: ['visitors'] })).toContain('per day');
    expect(messageOf({ ...base, type: 'breakdown', property: 'kind', metrics: ['visitors'] })).toContain('kind');
    expect(messageOf({ ...base, property: 'page' })).toContain('breakdown');
    expect(messageOf(null)).toContain('object');
  });

  it('fills defaults: metrics, interval per period, k 5, limit 100, UTC, today', () => {
    const q = normalizeQuery({ type: 'timeseries', period: '12mo', metrics: [] }, Date.parse('2026-03-10T12:00:00Z'));
    expect(q).toMatchObject({
      metrics: ['visitors', 'pageviews'],
      interval: 'month',
      k: 5,
      limit: 100,
      timeZone: 'UTC',
    });
    expect(q.range.toDay).toBe('2026-03-31');
  });

  it('never throws anything but INVALID_QUERY for arbitrary input (property)', () => {
    fc.assert(
      fc.property(
        fc.record(
          {
            type: fc.oneof(fc.constantFrom('aggregate', 'timeseries', 'breakdown'), fc.string()),
            period: fc.oneof(fc.constantFrom(...PERIODS), fc.string()),
            metrics: fc.oneof(fc.array(fc.oneof(fc.constantFrom(...METRICS), fc.string())), fc.anything()),
            property: fc.oneof(fc.constantFrom(...PROPERTIES), fc.string()),
            filters: fc.oneof(fc.array(fc.string()), fc.anything()),
            date: fc.string(),
            timeZone: fc.oneof(fc.constant('Europe/Moscow'), fc.string()),
            k: fc.anything(),
          },
          { requiredKeys: [] },
        ),
        (q) => {
          try {
            normalizeQuery(q as unknown as StatsQuery);
          } catch (e) {
            expect(isPrivacyLogError(e, 'PRIVACY_LOG_E_INVALID_QUERY')).toBe(true);
          }
        },
      ),
      { numRuns: 1500 },
    );
  });
});
