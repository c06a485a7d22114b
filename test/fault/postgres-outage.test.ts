/**
 * PostgreSQL refuses connections, then comes back. A TCP proxy on loopback
 * stands in front of the real server (127.0.0.1:5432); stopping it refuses new
 * connections and cuts the pooled ones, exactly what a server restart does to
 * a client. Under load, every event ends up stored once in the real database.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { postgresAggregator } from '../../src/aggregators/postgres/postgres-aggregator.js';
import { createPipeline } from '../../src/pipeline/create-pipeline.js';
import { probeService } from '../helpers/require-service.js';
import { eventOf, invariantViolation, until } from '../unit/pipeline/doubles.js';

const url = new URL(process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test');
const probe = await probeService('POSTGRES', async () => {
  const c = new pg.Client({ connectionString: url.toString(), connectionTimeoutMillis: 3000 });
  await c.connect();
  await c.end();
});

/** A loopback TCP proxy to the real server that can be stopped (refusing) and started again on the same port. */
class OnOffProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  port = 0;

  async start(): Promise<void> {
    const server = createServer((client) => {
      const upstream = createConnection({ host: url.hostname, port: Number(url.port || 5432) });
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => undefined);
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    const addr = server.address();
    this.port = typeof addr === 'object' && addr !== null ? addr.port : 0;
    this.server = server;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

const schema = `plfault_${randomBytes(6).toString('hex')}`;
const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  if (!probe.available) return;
  const c = new pg.Client({ connectionString: url.toString() });
  await c.connect();
  await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await c.end();
});

describe.skipIf(!probe.available)(`PostgreSQL refuses connections, then comes back (${probe.reason})`, () => {
  it('stores every event exactly once', { timeout: 60_000 }, async () => {
    const proxy = new OnOffProxy();
    await proxy.start();
    const through = new URL(url.toString());
    through.hostname = '127.0.0.1';
    through.port = String(proxy.port);
    const store = postgresAggregator({ connectionString: through.toString(), schema, connectTimeoutMs: 1000 });
    await store.ready;
    const dir = mkdtempSync(join(tmpdir(), 'pl-pg-'));
    dirs.push(dir);
    const p = createPipeline({
      aggregators: [store],
      batch: { maxEvents: 50, maxWaitMs: 20 },
      retry: { initialMs: 50, maxMs: 400, maxAttempts: 3, attemptTimeoutMs: 3000 },
      spool: { dir },
      onError: () => undefined,
    });
    const violations: string[] = [];
    // ~2000 events/s for 7 s; the server is unreachable from t = 1 s to t = 4 s.
    const t0 = Date.now();
    let n = 0;
    let phase: 'before' | 'down' | 'after' = 'before';
    while (Date.now() - t0 < 7000) {
      const t = Date.now() - t0;
      if (phase === 'before' && t >= 1000) {
        await proxy.stop();
        phase = 'down';
      } else if (phase === 'down' && t >= 4000) {
        await proxy.start();
        phase = 'after';
      }
      for (let i = 0; i < 20; i++) p.push(eventOf(n++));
      const v = invariantViolation(p.metrics());
      if (v) violations.push(v);
      await new Promise((r) => setTimeout(r, 10));
    }
    const TOTAL = n;
    expect(p.health().ok === false || (p.metrics().aggregators[store.name]?.failures ?? 0) > 0).toBe(true);
    await p.flush({ timeoutMs: 20_000 });
    await until(() => p.metrics().spoolPending === 0, 30_000, 20).catch((e) => {
      console.log(JSON.stringify(p.metrics()), JSON.stringify(p.health()));
      throw e;
    });
    const m = p.metrics();
    await p.close();
    await proxy.stop();

    expect(violations).toEqual([]);
    expect(m).toMatchObject({ accepted: TOTAL, delivered: TOTAL, dropped: 0, queued: 0, spoolPending: 0 });
    expect(m.aggregators[store.name]?.failures).toBeGreaterThan(0);
    const c = new pg.Client({ connectionString: url.toString() });
    await c.connect();
    try {
      const r = await c.query(`SELECT count(*)::int AS n, count(DISTINCT id)::int AS d FROM "${schema}".events`);
      expect(r.rows[0]).toEqual({ n: TOTAL, d: TOTAL });
    } finally {
      await c.end();
    }
  });
});
