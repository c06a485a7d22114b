/**
 * Ingest benchmark: events/s written straight into sqliteAggregator in
 * 500-event batches (events + the sketch updates a pipeline would send), beside
 * raw better-sqlite3 inserts of the same rows into a bare table in the same
 * run; PostgreSQL too when a server answers (DATABASE_URL or the local default).
 *
 *   npx tsx bench/ingest.ts [events=200000] [rounds=3] [--no-pg]
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Aggregator, Batch } from '../src/aggregators/aggregator.js';
import { postgresAggregator } from '../src/aggregators/postgres/postgres-aggregator.js';
import { sqliteAggregator } from '../src/aggregators/sqlite/sqlite-aggregator.js';
import { eventRow } from '../src/stats/event-columns.js';
import { batchOf, syntheticDataset } from '../test/conformance/dataset.js';

const args = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const N = Number(args[0] ?? 200_000);
const BATCH = 500;
const ROUNDS = Number(args[1] ?? 3);
const WITH_PG = !process.argv.includes('--no-pg');
const dir = mkdtempSync(join(tmpdir(), 'privacy-log-ingest-'));

function batches(): Batch[] {
  const d = syntheticDataset(N, 2, Date.now(), 7);
  const out: Batch[] = [];
  for (let i = 0; i < N; i += BATCH) out.push(batchOf(d, i, Math.min(N, i + BATCH)));
  return out;
}

/** Writes every batch, then closes (which finishes any deferred folding), and times all of it. */
async function timeAggregator(a: Aggregator, list: readonly Batch[]): Promise<number> {
  const t0 = performance.now();
  for (const b of list) await a.write(b);
  await a.close?.();
  return (N / (performance.now() - t0)) * 1000;
}

/** The same rows into a bare table (the UNIQUE id the aggregator dedupes on, no other index), as a reference. */
function timeRawSqlite(list: readonly Batch[], file: string): number {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec(`CREATE TABLE events (seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, ts INTEGER NOT NULL, site TEXT, kind TEXT,
    page TEXT, referrer TEXT, browser TEXT, os TEXT, device TEXT, isp TEXT, domain TEXT, download TEXT, bot INTEGER,
    session_id TEXT, doc TEXT)`);
  const ins = db.prepare('INSERT OR IGNORE INTO events VALUES (NULL, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
  const tx = db.transaction((b: Batch) => {
    for (const e of b.events) {
      const r = eventRow(e);
      ins.run(
        r.id,
        r.ts,
        r.site,
        r.kind,
        r.page,
        r.referrer,
        r.browser,
        r.os,
        r.device,
        r.isp,
        r.domain,
        r.download,
        r.bot ? 1 : 0,
        r.sessionId,
        JSON.stringify(e),
      );
    }
  });
  const t0 = performance.now();
  for (const b of list) tx(b);
  const rate = (N / (performance.now() - t0)) * 1000;
  db.close();
  return rate;
}

/** The ceiling of this machine: a minimal row (rowid + one integer) per event, same batches and transactions. */
function timeMinimalSqlite(list: readonly Batch[], file: string): number {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec('CREATE TABLE events (seq INTEGER PRIMARY KEY, ts INTEGER NOT NULL)');
  const ins = db.prepare('INSERT INTO events (ts) VALUES (?)');
  const tx = db.transaction((b: Batch) => {
    for (const e of b.events) ins.run(Date.parse(e.time));
  });
  const t0 = performance.now();
  for (const b of list) tx(b);
  const rate = (N / (performance.now() - t0)) * 1000;
  db.close();
  return rate;
}

const fmt = (r: number) => `${Math.round(r).toLocaleString('en-US')} events/s`;

const list = batches();
console.log(`ingest: ${N} events in ${list.length} batches of ${BATCH}, ${ROUNDS} rounds (best of each)`);
// Rounds alternate the three, each on a fresh file, to spread warm-up, disk-cache and load effects evenly.
let raw = 0;
let minimal = 0;
let agg = 0;
for (let round = 0; round < ROUNDS; round++) {
  const sub = join(dir, `r${round}`);
  mkdirSync(sub);
  raw = Math.max(raw, timeRawSqlite(list, join(sub, 'raw.db')));
  minimal = Math.max(minimal, timeMinimalSqlite(list, join(sub, 'minimal.db')));
  agg = Math.max(agg, await timeAggregator(sqliteAggregator({ file: join(sub, 'agg.db') }), list));
  rmSync(sub, { recursive: true, force: true });
}
const pct = (r: number) => `${((r / raw) * 100).toFixed(0)} % of raw`;
console.log(`raw better-sqlite3, minimal row (rowid + ts; the ceiling):   ${fmt(minimal)}  (${pct(minimal)})`);
console.log(`raw better-sqlite3 insert (same rows, no rollups/sketches): ${fmt(raw)}`);
console.log(`sqliteAggregator.write (events + rollups + sketches):       ${fmt(agg)}  (${pct(agg)})`);

let pgRate: number | undefined;
if (WITH_PG)
  try {
    const schema = `bench_ingest_${process.pid}`;
    const url = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
    const pg = postgresAggregator({ connectionString: url, schema });
    await pg.ready;
    pgRate = await timeAggregator(pg, list);
    const cleanup = postgresAggregator({ connectionString: url, schema });
    await cleanup.dropSchema();
    await cleanup.close();
    console.log(`postgresAggregator.write:                                   ${fmt(pgRate)}`);
  } catch (err) {
    console.log(`postgresAggregator: skipped (${err instanceof Error ? err.message : String(err)})`);
  }
rmSync(dir, { recursive: true, force: true });
const BAR = 200_000;
console.log(
  JSON.stringify({
    bench: 'ingest',
    events: N,
    batch: BATCH,
    rawSqliteEventsPerSec: Math.round(raw),
    minimalRowSqliteEventsPerSec: Math.round(minimal),
    sqliteAggregatorEventsPerSec: Math.round(agg),
    sqliteAggregatorVsRaw: Number((agg / raw).toFixed(2)),
    postgresAggregatorEventsPerSec: pgRate === undefined ? null : Math.round(pgRate),
    bar: { sqliteEventsPerSec: BAR, met: agg >= BAR },
  }),
);
