/**
 * Query benchmark: breakdown / timeseries / aggregate times over a SQLite store
 * of 1 million events (30 days). The store is generated once into the temp
 * directory and reused by later runs with the same size.
 *
 *   npx tsx bench/query.ts [events=1000000]
 *
 * The store is opened with a retention longer than the data's age, so the
 * retention timer deletes nothing while queries run (the data is dated
 * March 2026). The JSON line adds process CPU time (`coldCpuMs`,
 * `medianCpuMs`), steadier than wall time on a shared machine.
 */
import { existsSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { SQLITE_MIGRATIONS } from '../src/aggregators/sqlite/migrations.js';
import { sqliteAggregator } from '../src/aggregators/sqlite/sqlite-aggregator.js';
import type { StatsQuery } from '../src/stats/query.js';
import { batchOf, syntheticDataset } from '../test/conformance/dataset.js';

const N = Number(process.argv[2] ?? 1_000_000);
const DAYS = 30;
const CHUNK = 50_000;
const END = Date.parse('2026-03-11T00:00:00.000Z');
const DATE = '2026-03-10';
// Named by schema version: a file of an older schema is not reused (opening it would time its migration).
const file = join(tmpdir(), `privacy-log-bench-query-${N}-v${SQLITE_MIGRATIONS.length}.db`);
/** Longer than the data's age: no raw event expires under the benchmark. */
const RETENTION_DAYS = 36_500;

async function generate(): Promise<void> {
  const partial = `${file}.partial`;
  for (const f of [partial, `${partial}-wal`, `${partial}-shm`]) rmSync(f, { force: true });
  const store = sqliteAggregator({ file: partial, retentionDays: RETENTION_DAYS });
  const t0 = performance.now();
  const chunks = Math.ceil(N / CHUNK);
  const span = (DAYS * 86_400_000) / chunks;
  for (let c = 0; c < chunks; c++) {
    const n = Math.min(CHUNK, N - c * CHUNK);
    const d = syntheticDataset(n, span / 86_400_000, END - DAYS * 86_400_000 + (c + 1) * span, 100 + c);
    for (let i = 0; i < n; i += 5000) await store.write(batchOf(d, i, Math.min(n, i + 5000)));
    process.stdout.write(`\rgenerating: ${Math.min(N, (c + 1) * CHUNK)} / ${N} events`);
  }
  await store.close();
  renameSync(partial, file);
  console.log(`\ngenerated ${N} events in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

if (!existsSync(file)) await generate();
else console.log(`reusing ${basename(file)} in the temporary directory`);

const store = sqliteAggregator({ file, retentionDays: RETENTION_DAYS });
const cases: Array<[string, StatsQuery]> = [
  [
    'breakdown page, 30d (UTC: rollups)',
    { type: 'breakdown', period: '30d', date: DATE, property: 'page', metrics: ['visitors', 'pageviews'] },
  ],
  [
    'breakdown page, 30d, Europe/Moscow (rollups + raw edges)',
    {
      type: 'breakdown',
      period: '30d',
      date: DATE,
      property: 'page',
      metrics: ['visitors', 'pageviews'],
      timeZone: 'Europe/Moscow',
    },
  ],
  [
    'breakdown browser, 30d',
    { type: 'breakdown', period: '30d', date: DATE, property: 'browser', metrics: ['visitors', 'pageviews'] },
  ],
  [
    'breakdown referrer, 7d, filter browser==Chrome (raw)',
    {
      type: 'breakdown',
      period: '7d',
      date: DATE,
      property: 'referrer',
      metrics: ['visitors', 'pageviews'],
      filters: [{ property: 'browser', op: '==', value: 'Chrome' }],
    },
  ],
  [
    'breakdown page, 30d, with session metrics (raw)',
    {
      type: 'breakdown',
      period: '30d',
      date: DATE,
      property: 'page',
      metrics: ['visitors', 'sessions', 'bounce_rate'],
    },
  ],
  [
    'timeseries 30d by day (slot rollup)',
    { type: 'timeseries', period: '30d', date: DATE, metrics: ['visitors', 'pageviews'] },
  ],
  [
    'timeseries 30d by day, with session metrics',
    {
      type: 'timeseries',
      period: '30d',
      date: DATE,
      metrics: ['pageviews', 'sessions', 'bounce_rate', 'visit_duration'],
    },
  ],
  [
    'timeseries 30d by day, Asia/Kolkata',
    { type: 'timeseries', period: '30d', date: DATE, metrics: ['visitors', 'pageviews'], timeZone: 'Asia/Kolkata' },
  ],
  ['timeseries day by hour', { type: 'timeseries', period: 'day', date: DATE, metrics: ['pageviews'] }],
  [
    'aggregate 30d, all metrics',
    {
      type: 'aggregate',
      period: '30d',
      date: DATE,
      metrics: ['visitors', 'pageviews', 'downloads', 'sessions', 'bounce_rate', 'visit_duration'],
    },
  ],
];

console.log(`queries over ${N} events: first run (cold caches) and median of 7 runs after it:`);
const medians: Record<string, number> = {};
const colds: Record<string, number> = {};
const coldCpu: Record<string, number> = {};
const medianCpu: Record<string, number> = {};
const cpuMs = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1000;
const round1 = (x: number) => Math.round(x * 10) / 10;
for (const [label, q] of cases) {
  const c0 = performance.now();
  const u0 = process.cpuUsage();
  await store.query(q);
  coldCpu[label] = round1(cpuMs(process.cpuUsage(u0)));
  colds[label] = round1(performance.now() - c0);
  const times: number[] = [];
  const cpus: number[] = [];
  for (let i = 0; i < 7; i++) {
    const t0 = performance.now();
    const u = process.cpuUsage();
    await store.query(q);
    cpus.push(cpuMs(process.cpuUsage(u)));
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  cpus.sort((a, b) => a - b);
  medians[label] = round1(times[3]!);
  medianCpu[label] = round1(cpus[3]!);
  console.log(
    `  ${label.padEnd(58)} cold ${colds[label]!.toFixed(1).padStart(7)} ms   warm ${times[3]!.toFixed(1).padStart(7)} ms`,
  );
}
await store.close();
const breakdownMs = medians[cases[0]![0]]!;
console.log(
  JSON.stringify({
    bench: 'query',
    events: N,
    coldMs: colds,
    medianMs: medians,
    coldCpuMs: coldCpu,
    medianCpuMs: medianCpu,
    bar: { breakdownMs: 50, met: breakdownMs < 50 },
  }),
);
