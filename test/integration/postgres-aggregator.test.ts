import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { memoryAggregator } from '../../src/aggregators/memory-aggregator.js';
import { POSTGRES_MIGRATIONS } from '../../src/aggregators/postgres/migrations.js';
import { postgresAggregator } from '../../src/aggregators/postgres/postgres-aggregator.js';
import { isPrivacyLogError } from '../../src/errors.js';
import { mergePairsIntoBlob } from '../../src/stats/hll.js';
import type { StatsQuery } from '../../src/stats/query.js';
import { batchOf, makeEvent, sketchUpdatesFor, syntheticDataset } from '../conformance/dataset.js';
import { OWN_EVENTS, SHARED_EVENTS, writerTraffic } from '../conformance/fixtures/concurrent-writers.js';
import { probeService } from '../helpers/require-service.js';

const url = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const probe = await probeService('POSTGRES', async () => {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  await c.connect();
  await c.end();
});

const schemas: string[] = [];
function schemaName(): string {
  const s = `pltest_${randomBytes(6).toString('hex')}`;
  schemas.push(s);
  return s;
}

afterAll(async () => {
  if (!probe.available || schemas.length === 0) return;
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  for (const s of schemas) await c.query(`DROP SCHEMA IF EXISTS "${s}" CASCADE`);
  await c.end();
});

function runWriter(
  schema: string,
  writer: number,
): Promise<{ metrics: { delivered: number; dropped: number }; errors: string[] }> {
  const script = fileURLToPath(new URL('../conformance/fixtures/pg-pipeline-writer.ts', import.meta.url));
  const tsx = fileURLToPath(new URL('../../node_modules/.bin/tsx', import.meta.url));
  return new Promise((resolve, reject) => {
    const child = spawn(tsx, [script, url, schema, String(writer)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      err += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (code !== 0) reject(new Error(`writer ${writer} exited ${code}: ${err.slice(0, 2000)}`));
      else resolve(JSON.parse(out.trim().split('\n').pop()!));
    });
  });
}

describe.skipIf(!probe.available)(`postgresAggregator (${probe.reason})`, () => {
  it('two pipelines in separate processes write concurrently: exact counts, shared events once', async () => {
    const schema = schemaName();
    // Create the schema first so both children start writing at once.
    const setup = postgresAggregator({ connectionString: url, schema });
    await setup.ready;
    const [a, b] = await Promise.all([runWriter(schema, 0), runWriter(schema, 1)]);
    for (const r of [a, b]) {
      expect(r.errors).toEqual([]);
      expect(r.metrics.dropped).toBe(0);
      expect(r.metrics.delivered).toBe(SHARED_EVENTS + OWN_EVENTS);
    }
    const ref = memoryAggregator();
    for (const w of [0, 1]) {
      const t = writerTraffic(w);
      await ref.write({ events: t.events, sketches: sketchUpdatesFor(t.events, t.visitors) });
    }
    expect(ref.events).toHaveLength(SHARED_EVENTS + 2 * OWN_EVENTS);
    const queries: StatsQuery[] = [
      {
        type: 'aggregate',
        period: 'day',
        date: '2026-03-10',
        metrics: ['events', 'pageviews', 'visitors', 'sessions'],
      },
      { type: 'breakdown', period: 'day', date: '2026-03-10', property: 'page', metrics: ['visitors', 'pageviews'] },
      { type: 'breakdown', period: '7d', date: '2026-03-10', property: 'browser', metrics: ['events', 'visitors'] },
    ];
    for (const q of queries) expect(await setup.query(q)).toEqual(await ref.query(q));
    const total = await setup.query(queries[0]!);
    expect(total.results[0]!.events).toBe(SHARED_EVENTS + 2 * OWN_EVENTS);
    await setup.close();
  }, 180_000);

  it('concurrent writes of the same batches from two pools store each event once', async () => {
    const schema = schemaName();
    const x = postgresAggregator({ connectionString: url, schema });
    const y = postgresAggregator({ connectionString: url, schema });
    await Promise.all([x.ready, y.ready]);
    const events = Array.from({ length: 400 }, (_, i) =>
      makeEvent({ time: `2026-03-10T0${i % 10}:00:00.000Z`, path: `/p${i % 5}` }),
    );
    const batches = [0, 100, 200, 300].map((i) => ({
      events: events.slice(i, i + 100),
      sketches: sketchUpdatesFor(
        events.slice(i, i + 100),
        events.slice(i, i + 100).map((_, j) => `v${(i + j) % 150}`),
      ),
    }));
    await Promise.all([...batches.map((b) => x.write(b)), ...[...batches].reverse().map((b) => y.write(b))]);
    const r = await x.query({ type: 'aggregate', period: 'day', date: '2026-03-10', metrics: ['events', 'visitors'] });
    expect(r.results[0]!.events).toBe(400);
    expect(Math.abs(r.results[0]!.visitors! - 150)).toBeLessThanOrEqual(2);
    await Promise.all([x.close(), y.close()]);
  }, 60_000);

  it('upgrades a version-1 schema: sketch rows kept, empty placeholders dropped, new deltas merge with them', async () => {
    const schema = schemaName();
    const q = `"${schema}"`;
    const d = syntheticDataset(600, 1, Date.parse('2026-03-11T00:00:00.000Z'), 3);
    const first = batchOf(d, 0, 300);
    const second = batchOf(d, 300, 600);
    // A store as version 1 left it: one merged row per sketch key, and an empty placeholder row.
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    await c.query(`CREATE SCHEMA ${q}`);
    await c.query(POSTGRES_MIGRATIONS[0]!(q));
    await c.query(`CREATE TABLE ${q}.schema_version (version integer NOT NULL)`);
    await c.query(`INSERT INTO ${q}.schema_version VALUES (1)`);
    for (const u of first.sketches) {
      await c.query(`INSERT INTO ${q}.sketches VALUES ($1, $2, $3, $4, $5)`, [
        u.dimension,
        u.day,
        u.site,
        u.value,
        Buffer.from(mergePairsIntoBlob(undefined, u.registers)),
      ]);
    }
    await c.query(
      `INSERT INTO ${q}.sketches VALUES ('page', '2026-03-10', 'oblachko', '/never-merged', '\\x01'::bytea)`,
    );

    const store = postgresAggregator({ connectionString: url, schema });
    await store.ready;
    const version = await c.query(`SELECT max(version) AS v FROM ${q}.schema_version`);
    expect(version.rows[0]!.v).toBe(POSTGRES_MIGRATIONS.length);
    const empty = await c.query(`SELECT count(*)::int AS n FROM ${q}.sketches WHERE value = '/never-merged'`);
    expect(empty.rows[0]!.n).toBe(0);
    await store.write(second);
    // Two rows for a key written by both versions, until compaction (at close) folds them.
    const before = await c.query(`SELECT count(*)::int AS n FROM ${q}.sketches WHERE dimension = 'site'`);
    expect(before.rows[0]!.n).toBeGreaterThan(1);

    const ref = memoryAggregator();
    await ref.write({ events: [], sketches: first.sketches });
    await ref.write(second);
    const queries: StatsQuery[] = [
      { type: 'aggregate', period: 'day', date: '2026-03-10', metrics: ['events', 'visitors'] },
      { type: 'breakdown', period: 'day', date: '2026-03-10', property: 'page', metrics: ['visitors', 'pageviews'] },
    ];
    for (const query of queries) expect(await store.query(query)).toEqual(await ref.query(query));
    await store.close();
    const after = await c.query(
      `SELECT count(*)::int AS n FROM (SELECT 1 FROM ${q}.sketches GROUP BY dimension, day, site, value HAVING count(*) > 1) x`,
    );
    expect(after.rows[0]!.n).toBe(0);
    const reopened = postgresAggregator({ connectionString: url, schema });
    for (const query of queries) expect(await reopened.query(query)).toEqual(await ref.query(query));
    await reopened.close();
    await c.end();
  }, 60_000);

  it('compacts sketch deltas without changing a result, also while another server writes', async () => {
    const schema = schemaName();
    const x = postgresAggregator({ connectionString: url, schema });
    const y = postgresAggregator({ connectionString: url, schema });
    await Promise.all([x.ready, y.ready]);
    const d = syntheticDataset(4000, 1, Date.parse('2026-03-11T00:00:00.000Z'), 5);
    const batches = Array.from({ length: 40 }, (_, i) => batchOf(d, i * 100, i * 100 + 100));
    // 20 writes each: both compact in the background while the other still writes; y replays x's first half.
    await Promise.all([
      (async () => {
        for (const b of batches.slice(0, 20)) await x.write(b);
      })(),
      (async () => {
        for (const b of [...batches.slice(20), ...batches.slice(0, 5)]) await y.write(b);
      })(),
    ]);
    const ref = memoryAggregator();
    for (const b of batches) await ref.write(b);
    const query: StatsQuery = {
      type: 'breakdown',
      period: 'day',
      date: '2026-03-10',
      property: 'browser',
      metrics: ['events', 'visitors'],
    };
    expect(await x.query(query)).toEqual(await ref.query(query));
    await Promise.all([x.close(), y.close()]);
    const z = postgresAggregator({ connectionString: url, schema });
    expect(await z.query(query)).toEqual(await ref.query(query));
    const all: StatsQuery = {
      type: 'aggregate',
      period: 'day',
      date: '2026-03-10',
      metrics: ['events'],
      includeBots: true,
    };
    expect((await z.query(all)).results[0]!.events).toBe(4000);
    await z.close();
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    const left = await c.query(
      `SELECT count(*)::int AS n FROM (SELECT 1 FROM "${schema}".sketches GROUP BY dimension, day, site, value HAVING count(*) > 1) x`,
    );
    expect(left.rows[0]!.n).toBe(0);
    await c.end();
  }, 60_000);

  it('retention removes old raw events and keeps the rollups', async () => {
    const schema = schemaName();
    const a = postgresAggregator({ connectionString: url, schema, retentionDays: 7 });
    const events = [makeEvent({ time: '2026-03-01T10:00:00.000Z' }), makeEvent({ time: '2026-03-10T10:00:00.000Z' })];
    await a.write({ events, sketches: sketchUpdatesFor(events, ['v1', 'v2']) });
    const r = await a.runRetention(Date.parse('2026-03-11T00:00:00.000Z'));
    expect(r.events).toBe(1);
    const old = await a.query({
      type: 'aggregate',
      period: 'day',
      date: '2026-03-01',
      metrics: ['events', 'visitors'],
    });
    expect(old.results[0]).toMatchObject({ events: 1, visitors: 1 });
    await a.close();
  });

  it('shares the day salt between servers: the first writer wins', async () => {
    const schema = schemaName();
    const x = postgresAggregator({ connectionString: url, schema });
    const y = postgresAggregator({ connectionString: url, schema });
    await Promise.all([x.ready, y.ready]);
    const [sx, sy] = await Promise.all([
      x.salt('2026-03-10', 'salt-from-x-000'),
      y.salt('2026-03-10', 'salt-from-y-000'),
    ]);
    expect(sx).toBe(sy);
    expect(['salt-from-x-000', 'salt-from-y-000']).toContain(sx);
    await Promise.all([x.close(), y.close()]);
  });

  it('a refused connection is STORE_UNAVAILABLE at startup, and a write rejects retryable', async () => {
    const a = postgresAggregator({ connectionString: 'postgres://postgres@127.0.0.1:1/test', connectTimeoutMs: 1000 });
    const err = await a.ready.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isPrivacyLogError(err, 'PRIVACY_LOG_E_STORE_UNAVAILABLE')).toBe(true);
    expect((err as Error).message).toContain('accepts connections');
    const w = await a.write({ events: [makeEvent({ time: '2026-03-10T10:00:00.000Z' })], sketches: [] }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isPrivacyLogError(w, 'PRIVACY_LOG_E_STORE_UNAVAILABLE')).toBe(true);
    expect((w as { retryable: boolean }).retryable).toBe(true);
    await a.close();
  });

  it('validates options, schema names included (identifiers are never taken from input unchecked)', () => {
    expect(() => postgresAggregator({ schema: 'x"; DROP SCHEMA public; --' })).toThrow(/schema/);
    expect(() => postgresAggregator({ shcema: 'x' } as never)).toThrow(/Did you mean "schema"/);
  });
});
