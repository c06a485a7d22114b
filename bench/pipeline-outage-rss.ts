/**
 * RSS while an aggregator is down at full push load: a pipeline with default
 * queue (10 000 events), retry and spool settings pushes `rate` events/s for
 * `seconds` into an aggregator that fails every write; RSS is sampled every
 * 500 ms. Then the aggregator comes back and the spool replays; the replay rate
 * is reported too (measured over at most 20 s; what is left stays in the spool,
 * which this run then deletes). The spool is capped at `spoolMiB` so the run also shows
 * eviction at the cap.
 *
 *   npx tsx bench/pipeline-outage-rss.ts [seconds=60] [rate=50000] [spoolMiB=256]
 *
 * Prints figures, then one JSON line.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Aggregator, Batch } from '../src/aggregators/aggregator.js';
import type { PrivacyEvent } from '../src/event.js';
import { createPipeline } from '../src/pipeline/create-pipeline.js';
import { packMark } from '../src/stats/visitor-mark.js';

const SECONDS = Number(process.argv[2] ?? 60);
const RATE = Number(process.argv[3] ?? 50_000);
const SPOOL_MIB = Number(process.argv[4] ?? 256);
const TICK_MS = 10;
const REPLAY_SECONDS = 20;
const dir = mkdtempSync(join(tmpdir(), 'privacy-log-outage-bench-'));

let down = true;
let stored = 0;
/** A destination that is down until told otherwise, then only counts. */
const sink: Aggregator = {
  name: 'down-then-up',
  write(batch: Batch): Promise<void> {
    if (down) return Promise.reject(new Error('simulated outage'));
    stored += batch.events.length;
    return Promise.resolve();
  },
};

function eventAt(i: number): PrivacyEvent {
  return {
    id: `0192f000-0000-7000-8000-${i.toString(16).padStart(12, '0')}`,
    time: '2026-11-24T10:00:00.000Z',
    site: 'oblachko',
    kind: 'pageview',
    request: { method: 'GET', path: `/news/${i % 50}` },
    response: { status: 200, bytes: 5120, durationMs: 2.25 },
    client: { address: `203.0.${i % 256}.0`, prefixLength: 24 },
    agent: { browser: 'Chrome', browserVersion: '120', os: 'Windows', device: 'desktop', bot: false },
    consent: { analytics: 'denied', source: 'default' },
  };
}

const mib = (bytes: number) => bytes / 1024 / 1024;
const p = createPipeline({
  aggregators: [sink],
  spool: { dir, maxBytes: SPOOL_MIB * 1024 * 1024 },
  // Default queue and retry, except the backoff ceiling: 5 s instead of 30 s, so the
  // recovery is noticed soon enough for the run to stay within the runner's time bound.
  retry: { maxMs: 5000 },
  onError: () => undefined,
});
const baseline = process.memoryUsage().rss;
const samples: number[] = [];
const sampler = setInterval(() => samples.push(process.memoryUsage().rss), 500);

let n = 0;
const t0 = performance.now();
const perTick = Math.max(1, Math.round((RATE * TICK_MS) / 1000));
while (performance.now() - t0 < SECONDS * 1000) {
  const due = Math.min(perTick * 5, Math.round(((performance.now() - t0) / 1000) * RATE) - n);
  for (let i = 0; i < due; i++) {
    p.push(eventAt(n), packMark(n & 16383, 1 + (n % 5)));
    n++;
  }
  await new Promise((r) => setTimeout(r, TICK_MS));
}
const pushSeconds = (performance.now() - t0) / 1000;
await p.flush({ timeoutMs: 30_000 }).catch(() => undefined);
const atEnd = p.metrics();
clearInterval(sampler);

down = false;
// The lane notices the recovery at its next replay attempt (backoff up to retry.maxMs, 30 s by default).
const up = performance.now();
let deadline = up + 15_000;
while (stored === 0 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 5));
const r0 = performance.now();
const firstBatch = stored;
deadline = r0 + REPLAY_SECONDS * 1000; // the replay rate is measured over at most this long
while (p.metrics().spoolPending > 0 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
const replaySeconds = (performance.now() - r0) / 1000;
const after = p.metrics();
await p.close({ timeoutMs: 10_000 }).catch(() => undefined);
rmSync(dir, { recursive: true, force: true });

const maxRss = Math.max(...samples);
const result = {
  seconds: Math.round(pushSeconds),
  pushedEvents: n,
  pushRatePerSec: Math.round(n / pushSeconds),
  baselineRssMiB: Number(mib(baseline).toFixed(1)),
  maxRssMiB: Number(mib(maxRss).toFixed(1)),
  lastRssMiB: Number(mib(samples.at(-1) ?? 0).toFixed(1)),
  spoolCapMiB: SPOOL_MIB,
  spoolPendingAtEnd: atEnd.spoolPending,
  droppedByEviction: atEnd.aggregators[sink.name]?.dropped ?? 0,
  evictedRecords: atEnd.aggregators[sink.name]?.evicted ?? 0,
  replayedEvents: stored,
  recoveryNoticedAfterMs: Math.round(r0 - up),
  replayEventsPerSec: Math.round((stored - firstBatch) / replaySeconds),
  replayComplete: after.spoolPending === 0,
  storedAfterReplay: stored,
  invariantHolds: after.accepted === after.delivered + after.dropped + after.queued + after.spoolPending,
};
console.log(`pushed ${n} events at ${result.pushRatePerSec} events/s for ${result.seconds} s, aggregator down`);
console.log(`RSS: baseline ${result.baselineRssMiB} MiB, max ${result.maxRssMiB} MiB, last ${result.lastRssMiB} MiB`);
console.log(
  `spool capped at ${SPOOL_MIB} MiB: ${result.spoolPendingAtEnd} events pending, ${result.droppedByEviction} dropped by eviction`,
);
console.log(
  `replay after recovery: noticed after ${result.recoveryNoticedAfterMs} ms, then ${result.replayEventsPerSec} events/s (${result.replayedEvents} events)`,
);
console.log(JSON.stringify(result));
