import { describe, expect, it } from 'vitest';
import { memoryAggregator } from '../../../src/aggregators/memory-aggregator.js';
import type { PrivacyEvent } from '../../../src/event.js';
import type { StatsQuery } from '../../../src/stats/query.js';
import { makeEvent, sketchUpdatesFor } from '../../conformance/dataset.js';

const DAY = '2026-03-10';

async function storeOf(events: PrivacyEvent[], visitors: string[]) {
  const m = memoryAggregator();
  await m.write({ events, sketches: sketchUpdatesFor(events, visitors) });
  return m;
}

function at(hhmm: string, day = DAY): string {
  return `${day}T${hhmm}:00.000Z`;
}

describe('stats engine: counts, bots, filters', () => {
  it('counts pageviews, downloads and events exactly, bots excluded unless asked for', async () => {
    const events = [
      makeEvent({ time: at('10:00'), path: '/' }),
      makeEvent({ time: at('10:01'), path: '/news' }),
      makeEvent({ time: at('10:02'), kind: 'download', path: '/f/a.pdf', file: 'a.pdf' }),
      makeEvent({ time: at('10:03'), kind: 'api', path: '/api/x' }),
      makeEvent({ time: at('10:04'), path: '/', bot: true, browser: 'Googlebot' }),
    ];
    const s = await storeOf(events, ['a', 'b', 'c', 'd', 'bot']);
    const q: StatsQuery = {
      type: 'aggregate',
      period: 'day',
      date: DAY,
      metrics: ['pageviews', 'downloads', 'events', 'visitors'],
    };
    expect((await s.query(q)).results).toEqual([{ pageviews: 2, downloads: 1, events: 4, visitors: 4 }]);
    const withBots = await s.query({ ...q, includeBots: true });
    expect(withBots.results[0]).toMatchObject({ pageviews: 3, events: 5 });
  });

  it('applies == and != filters at event level', async () => {
    const events = [
      makeEvent({ time: at('09:00'), path: '/news', browser: 'Firefox' }),
      makeEvent({ time: at('09:01'), path: '/news', browser: 'Chrome' }),
      makeEvent({ time: at('09:02'), path: '/', browser: 'Chrome' }),
      makeEvent({ time: at('09:03'), path: '/', browser: 'Safari' }),
    ];
    const s = await storeOf(events, ['a', 'b', 'c', 'd']);
    const q = (filters: StatsQuery['filters']): StatsQuery => ({
      type: 'aggregate',
      period: 'day',
      date: DAY,
      metrics: ['pageviews'],
      filters,
    });
    expect((await s.query(q([{ property: 'page', op: '==', value: '/news' }]))).results[0]!.pageviews).toBe(2);
    expect((await s.query(q([{ property: 'browser', op: '!=', value: 'Firefox' }]))).results[0]!.pageviews).toBe(3);
    expect(
      (
        await s.query(
          q([
            { property: 'page', op: '==', value: '/news' },
            { property: 'browser', op: '!=', value: 'Firefox' },
          ]),
        )
      ).results[0]!.pageviews,
    ).toBe(1);
  });
});

describe('stats engine: k-anonymity', () => {
  // /a: 6 visitors; /b: 2 visitors; /c: 1 visitor with 10 pageviews.
  const events: PrivacyEvent[] = [];
  const visitors: string[] = [];
  for (let i = 0; i < 6; i++) {
    events.push(makeEvent({ time: at(`08:0${i}`), path: '/a' }));
    visitors.push(`a${i}`);
  }
  for (let i = 0; i < 2; i++) {
    events.push(makeEvent({ time: at(`09:0${i}`), path: '/b' }));
    visitors.push(`b${i}`);
  }
  for (let i = 0; i < 10; i++) {
    events.push(makeEvent({ time: at(`10:0${i}`), path: '/c' }));
    visitors.push('c0');
  }
  const q: StatsQuery = {
    type: 'breakdown',
    period: 'day',
    date: DAY,
    property: 'page',
    metrics: ['visitors', 'pageviews'],
  };

  it('folds rows under k visitors or events into (other), and drops (other) itself when under k', async () => {
    const s = await storeOf(events, visitors);
    const r = await s.query(q);
    expect(r.results).toEqual([{ value: '/a', visitors: 6, pageviews: 6 }]);
    expect(r.suppressed).toBe(2);
  });

  it('shows (other) when the folded rows together reach k', async () => {
    const s = await storeOf(events, visitors);
    const r = await s.query({ ...q, k: 3 });
    expect(r.results).toEqual([
      { value: '/a', visitors: 6, pageviews: 6 },
      { value: '(other)', visitors: 3, pageviews: 12 },
    ]);
    expect(r.suppressed).toBe(2);
  });

  it('folds rows beyond the limit, ordered by the first metric', async () => {
    const s = await storeOf(events, visitors);
    const r = await s.query({ ...q, k: 1, limit: 1, metrics: ['pageviews', 'visitors'] });
    expect(r.results).toEqual([
      { value: '/c', pageviews: 10, visitors: 1 },
      { value: '(other)', pageviews: 8, visitors: 8 },
    ]);
  });
});

describe('stats engine: sessions, time zones, periods', () => {
  it('computes sessions, bounce rate and visit duration from consenting sessions only', async () => {
    const events = [
      makeEvent({ time: at('10:00'), path: '/', session: 's1' }),
      makeEvent({ time: at('10:05'), path: '/news', session: 's1' }),
      makeEvent({ time: at('11:00'), path: '/', session: 's2' }),
      makeEvent({ time: at('12:00'), path: '/' }),
    ];
    const s = await storeOf(events, ['a', 'a', 'b', 'c']);
    const r = await s.query({
      type: 'aggregate',
      period: 'day',
      date: DAY,
      metrics: ['sessions', 'bounce_rate', 'visit_duration', 'pageviews'],
    });
    expect(r.results).toEqual([{ sessions: 2, bounce_rate: 50, visit_duration: 150, pageviews: 4 }]);
  });

  it('puts day boundaries in the query time zone', async () => {
    // 22:30 UTC on the 9th is the 10th in Moscow (UTC+3).
    const events = [makeEvent({ time: at('22:30', '2026-03-09') }), makeEvent({ time: at('12:00', '2026-03-10') })];
    const s = await storeOf(events, ['a', 'b']);
    const base: StatsQuery = { type: 'timeseries', period: '7d', date: DAY, metrics: ['pageviews'] };
    const utc = await s.query(base);
    const msk = await s.query({ ...base, timeZone: 'Europe/Moscow' });
    const pv = (r: typeof utc, d: string) => r.results.find((x) => x.date === d)?.pageviews;
    expect([pv(utc, '2026-03-09'), pv(utc, '2026-03-10')]).toEqual([1, 1]);
    expect([pv(msk, '2026-03-09'), pv(msk, '2026-03-10')]).toEqual([0, 2]);
    expect(msk.range).toEqual({ from: '2026-03-03T21:00:00.000Z', to: '2026-03-10T20:59:59.999Z' });
    const hourly = await s.query({ ...base, period: 'day', timeZone: 'Asia/Kolkata', interval: 'hour' });
    expect(hourly.results).toHaveLength(24);
    expect(hourly.results[0]!.date).toBe('2026-03-10T00:00');
  });

  it('resolves every period to the documented range', async () => {
    const s = memoryAggregator();
    const range = async (q: Partial<StatsQuery>) =>
      (await s.query({ type: 'aggregate', period: 'day', date: DAY, metrics: ['pageviews'], ...q } as StatsQuery))
        .range;
    expect(await range({ period: 'day' })).toEqual({
      from: '2026-03-10T00:00:00.000Z',
      to: '2026-03-10T23:59:59.999Z',
    });
    expect((await range({ period: '7d' })).from).toBe('2026-03-04T00:00:00.000Z');
    expect((await range({ period: '30d' })).from).toBe('2026-02-09T00:00:00.000Z');
    expect(await range({ period: 'month' })).toEqual({
      from: '2026-03-01T00:00:00.000Z',
      to: '2026-03-31T23:59:59.999Z',
    });
    expect(await range({ period: '12mo' })).toEqual({
      from: '2025-04-01T00:00:00.000Z',
      to: '2026-03-31T23:59:59.999Z',
    });
    expect(await range({ period: 'custom', from: '2026-01-05', to: '2026-01-06', date: undefined })).toEqual({
      from: '2026-01-05T00:00:00.000Z',
      to: '2026-01-06T23:59:59.999Z',
    });
  });

  it('counts multi-day visitors as visitor-days (the salt changes daily)', async () => {
    const events = [makeEvent({ time: at('10:00', '2026-03-09') }), makeEvent({ time: at('10:00', '2026-03-10') })];
    const s = await storeOf(events, ['same', 'same']);
    const r = await s.query({ type: 'aggregate', period: '7d', date: DAY, metrics: ['visitors'] });
    expect(r.results[0]!.visitors).toBe(2);
  });
});
