/**
 * The pipeline into a real SQLite file: what the stats report through the
 * pipeline (sketches built from visitor marks at batch time) equals what a
 * reference built directly from the same events reports; and a spool written
 * while the destination was down replays into SQLite after a restart.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { memoryAggregator } from '../../src/aggregators/memory-aggregator.js';
import { sqliteAggregator } from '../../src/aggregators/sqlite/sqlite-aggregator.js';
import type { PrivacyEvent } from '../../src/event.js';
import { createPipeline } from '../../src/pipeline/create-pipeline.js';
import type { StatsQuery } from '../../src/stats/query.js';
import { sketchUpdatesFor, visitorMark } from '../conformance/dataset.js';
import { eventOf, invariantViolation, sinkDouble, until } from '../unit/pipeline/doubles.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'pl-sqlite-'));
  dirs.push(d);
  return d;
}

const DAY = new Date().toISOString().slice(0, 10);
const BROWSERS = ['Firefox', 'Chrome', 'Safari'];

function traffic(n: number): { events: PrivacyEvent[]; visitors: string[] } {
  const events: PrivacyEvent[] = [];
  const visitors: string[] = [];
  for (let i = 0; i < n; i++) {
    const e = eventOf(i, { time: `${DAY}T0${i % 10}:00:00.000Z` });
    events.push({ ...e, agent: { ...e.agent, browser: BROWSERS[i % 3] } });
    visitors.push(`visitor-${i % 37}`);
  }
  return { events, visitors };
}

const QUERIES: StatsQuery[] = [
  { type: 'aggregate', period: 'custom', from: DAY, to: DAY, metrics: ['pageviews', 'visitors'] },
  { type: 'breakdown', period: 'custom', from: DAY, to: DAY, metrics: ['visitors', 'pageviews'], property: 'browser' },
];

describe('pipeline → sqliteAggregator', () => {
  it('stores every event and the same visitor sketches as a direct write', async () => {
    const { events, visitors } = traffic(600);
    const store = sqliteAggregator({ file: join(tmp(), 'stats.db') });
    const p = createPipeline({ aggregators: [store], batch: { maxEvents: 100 }, spool: { dir: tmp() } });
    events.forEach((e, i) => {
      expect(p.push(e, visitorMark(`${visitors[i]}|${e.site}`, DAY))).toBe(true);
    });
    await p.flush();
    expect(p.metrics()).toMatchObject({ accepted: 600, delivered: 600, dropped: 0 });

    const reference = memoryAggregator();
    await reference.write({ events, sketches: sketchUpdatesFor(events, visitors) });
    for (const q of QUERIES) {
      const [got, want] = await Promise.all([store.query(q), reference.query(q)]);
      expect(got.results).toEqual(want.results);
    }
    const agg = await store.query(QUERIES[0] as StatsQuery);
    expect(agg.results[0]).toMatchObject({ pageviews: 600 });
    const uniques = (agg.results[0] as { visitors?: number }).visitors ?? 0;
    expect(uniques).toBeGreaterThanOrEqual(34); // 37 distinct visitors, HyperLogLog within a few %
    expect(uniques).toBeLessThanOrEqual(40);
    await p.close();
  });

  it('replays a spool written while the destination was down into SQLite after a restart', async () => {
    const spool = tmp();
    const { events, visitors } = traffic(250);
    const down = createPipeline({
      aggregators: [sinkDouble('sqlite', 'fail')], // same name: the same spool directory
      batch: { maxEvents: 50 },
      retry: { initialMs: 1, maxMs: 2, maxAttempts: 2 },
      spool: { dir: spool },
      onError: () => undefined,
    });
    for (const [i, e] of events.entries()) down.push(e, visitorMark(`${visitors[i]}|${e.site}`, DAY));
    await down.close();
    expect(down.metrics()).toMatchObject({ accepted: 250, spoolPending: 250, dropped: 0 });

    const store = sqliteAggregator({ file: join(tmp(), 'stats.db') });
    const up = createPipeline({ aggregators: [store], spool: { dir: spool } });
    expect(up.metrics().recovered).toBe(250);
    await until(() => up.metrics().spoolPending === 0, 10_000);
    const m = up.metrics();
    expect(m).toMatchObject({ accepted: 250, delivered: 250, replayed: 250 });
    expect(invariantViolation(m)).toBeUndefined();
    const reference = memoryAggregator();
    await reference.write({ events, sketches: sketchUpdatesFor(events, visitors) });
    for (const q of QUERIES) {
      expect((await store.query(q)).results).toEqual((await reference.query(q)).results);
    }
    await up.close();
  });
});
