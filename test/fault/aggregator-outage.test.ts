/**
 * An aggregator throws for 10 s under load. Batches are retried, then spooled,
 * then replayed once it is back: afterwards every event is stored, the count is
 * exact, and nothing was stored twice.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createPipeline } from '../../src/pipeline/create-pipeline.js';
import { eventOf, idOf, invariantViolation, sinkDouble, until } from '../unit/pipeline/doubles.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('an aggregator down for 10 s under load', () => {
  it('stores every event exactly once after it recovers', { timeout: 60_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pl-outage-'));
    dirs.push(dir);
    const flaky = sinkDouble('flaky');
    const healthy = sinkDouble('healthy');
    const p = createPipeline({
      aggregators: [flaky, healthy],
      batch: { maxEvents: 200, maxWaitMs: 50 },
      retry: { initialMs: 100, maxMs: 1000, maxAttempts: 3 },
      spool: { dir },
      onError: () => undefined,
    });
    const violations: string[] = [];
    const start = Date.now();
    flaky.failUntil = start + 1000 + 10_000; // healthy for 1 s, then down for 10 s
    let n = 0;
    // ~4000 events/s for 13 s, in request-sized turns; check the accounting as we go.
    while (Date.now() - start < 13_000) {
      for (let i = 0; i < 40; i++) p.push(eventOf(n++));
      const v = invariantViolation(p.metrics());
      if (v) violations.push(v);
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(flaky.failedWrites).toBeGreaterThan(0);
    await p.flush();
    await until(() => p.metrics().spoolPending === 0, 30_000, 20);
    const m = p.metrics();
    await p.close();

    expect(violations).toEqual([]);
    expect(m).toMatchObject({ accepted: n, delivered: n, dropped: 0, queued: 0, spoolPending: 0 });
    expect(m.spooled).toBeGreaterThan(0);
    expect(m.replayed).toBe(m.spooled);
    for (const sink of [flaky, healthy]) {
      expect(sink.stored.size).toBe(n);
      expect(sink.duplicates).toBe(0);
    }
    for (let i = 0; i < n; i++) expect(flaky.stored.has(idOf(i))).toBe(true);
  });
});
