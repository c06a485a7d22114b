/**
 * Pipeline micro-benchmarks:
 * - push(): ns per call, with and without validation at the door, into a counting sink;
 * - ingest: events/s from push() to stored, into memoryAggregator and into
 *   sqliteAggregator (a temp file), flush included.
 *
 *   npx tsx bench/pipeline-push.ts [pushes=2000000] [ingest=200000]
 *
 * Prints figures, then one JSON line.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Aggregator, Batch } from '../src/aggregators/aggregator.js';
import { memoryAggregator } from '../src/aggregators/memory-aggregator.js';
import { sqliteAggregator } from '../src/aggregators/sqlite/sqlite-aggregator.js';
import type { PrivacyEvent } from '../src/event.js';
import { createPipeline } from '../src/pipeline/create-pipeline.js';
import { buildSketchUpdates } from '../src/pipeline/sketches.js';
import { packMark } from '../src/stats/visitor-mark.js';
import { countingSink } from './lib/counting-sink.js';

const PUSHES = Number(process.argv[2] ?? 2_000_000);
const INGEST = Number(process.argv[3] ?? 200_000);
const PER_TURN = 1000;
const dir = mkdtempSync(join(tmpdir(), 'privacy-log-pipeline-bench-'));

const PAGES = ['/', '/news', '/menu', '/contacts', '/groups/sun', '/docs/rules.pdf'];
const BROWSERS = ['Chrome', 'Firefox', 'Safari', 'Yandex', 'Edge'];

function eventAt(i: number): PrivacyEvent {
  const hex = i.toString(16).padStart(12, '0');
  return {
    id: `0192f000-0000-7000-8000-${hex}`,
    time: new Date(Date.UTC(2026, 10, 24, 0, 0, 0) + i).toISOString(),
    site: 'oblachko',
    kind: 'pageview',
    request: { method: 'GET', path: PAGES[i % PAGES.length] as string },
    response: { status: 200, bytes: 5120, durationMs: 2.25 },
    client: { address: `203.0.${i % 256}.0`, prefixLength: 24 },
    agent: {
      browser: BROWSERS[i % BROWSERS.length],
      browserVersion: '120',
      os: 'Windows',
      device: 'desktop',
      bot: false,
    },
    referrer: i % 3 === 0 ? { host: 'yandex.ru', type: 'search' } : undefined,
    consent: { analytics: 'denied', source: 'default' },
  };
}

const turn = () => new Promise<void>((r) => setImmediate(r));

async function pushNs(validate: boolean, events: readonly PrivacyEvent[]): Promise<number> {
  const sink = countingSink();
  const p = createPipeline({ aggregators: [sink], spool: false, validate });
  let pushNsTotal = 0n;
  for (let done = 0; done < PUSHES; ) {
    const n = Math.min(PER_TURN, PUSHES - done);
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) p.push(events[(done + i) % events.length] as PrivacyEvent, packMark(i & 16383, 3));
    pushNsTotal += process.hrtime.bigint() - t0;
    done += n;
    await turn();
  }
  await p.close();
  if (sink.events !== PUSHES) throw new Error(`counting sink got ${sink.events} of ${PUSHES}`);
  return Number(pushNsTotal) / PUSHES;
}

async function ingest(aggregator: Aggregator, events: readonly PrivacyEvent[]): Promise<number> {
  // The queue holds every event: this measures the pipeline's delivery, not its overflow to the spool
  // (a store that writes in slices lets bursts of pushes run ahead of it, as requests do).
  const p = createPipeline({
    aggregators: [aggregator],
    spool: { dir: join(dir, aggregator.name) },
    queue: { maxEvents: events.length + 1000 },
  });
  const t0 = performance.now();
  for (let done = 0; done < events.length; ) {
    const n = Math.min(PER_TURN, events.length - done);
    for (let i = 0; i < n; i++) p.push(events[done + i] as PrivacyEvent, packMark((done + i) & 16383, 2));
    done += n;
    await turn();
  }
  await p.flush({ timeoutMs: 120_000 });
  const ms = performance.now() - t0;
  const m = p.metrics();
  await p.close();
  if (m.delivered !== events.length)
    throw new Error(`${aggregator.name}: delivered ${m.delivered} of ${events.length}`);
  return (events.length / ms) * 1000;
}

/** The same events written straight to a fresh aggregator in 500-event batches: the pipeline's baseline. */
async function direct(aggregator: Aggregator, events: readonly PrivacyEvent[]): Promise<number> {
  const batches: Batch[] = [];
  for (let i = 0; i < events.length; i += 500) {
    const slice = events.slice(i, i + 500);
    batches.push({
      events: slice,
      sketches: buildSketchUpdates(
        slice,
        slice.map((_, j) => packMark((i + j) & 16383, 2)),
      ),
    });
  }
  const t0 = performance.now();
  for (const b of batches) await aggregator.write(b);
  const ms = performance.now() - t0;
  await aggregator.close?.();
  return (events.length / ms) * 1000;
}

const pool = Array.from({ length: 10_000 }, (_, i) => eventAt(i));
const distinct = Array.from({ length: INGEST }, (_, i) => eventAt(i));
try {
  const validated = await pushNs(true, pool);
  const unvalidated = await pushNs(false, pool);
  const memory = await ingest(memoryAggregator({ name: 'memory' }), distinct);
  const sqlite = await ingest(sqliteAggregator({ file: join(dir, 'bench.db'), name: 'sqlite' }), distinct);
  const sqliteDirect = await direct(
    sqliteAggregator({ file: join(dir, 'direct.db'), name: 'sqlite-direct' }),
    distinct,
  );
  console.log(`push() with validation:    ${validated.toFixed(0)} ns/op (${PUSHES} pushes)`);
  console.log(`push() without validation: ${unvalidated.toFixed(0)} ns/op`);
  console.log(`ingest into memoryAggregator: ${Math.round(memory)} events/s (${INGEST} events, flush included)`);
  console.log(`ingest into sqliteAggregator: ${Math.round(sqlite)} events/s (bar: ≥ 200000 events/s)`);
  console.log(`sqliteAggregator.write() alone, same events: ${Math.round(sqliteDirect)} events/s`);
  console.log(
    JSON.stringify({
      pushNsValidated: Math.round(validated),
      pushNsUnvalidated: Math.round(unvalidated),
      ingestMemoryEventsPerSec: Math.round(memory),
      ingestSqliteEventsPerSec: Math.round(sqlite),
      sqliteDirectEventsPerSec: Math.round(sqliteDirect),
      pushes: PUSHES,
      ingestEvents: INGEST,
    }),
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
