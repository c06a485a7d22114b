/**
 * End to end, as deployed: two app processes (Koa + privacyLog + pipeline +
 * httpAggregator) → one `privacy-log collect` process → PostgreSQL. Every
 * request is counted exactly once, per page, after both app servers and the
 * collector shut down gracefully.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { postgresAggregator } from '../../src/aggregators/postgres/postgres-aggregator.js';
import { probeService } from '../helpers/require-service.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const TOKEN = `e2e-${randomBytes(16).toString('hex')}`;
const SCHEMA = `pl_e2e_${randomBytes(4).toString('hex')}`;

const postgres = await probeService('POSTGRES', async () => {
  const client = new pg.Client({ connectionString: DATABASE_URL, connectionTimeoutMillis: 3000 });
  await client.connect();
  await client.end();
});

const children: ChildProcess[] = [];
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'privacy-log-e2e-'));
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.pid) process.kill(c.pid, 'SIGKILL');
});
afterAll(async () => {
  fs.rmSync(dir, { recursive: true, force: true });
  if (!postgres.available) return;
  const client = new pg.Client({ connectionString: DATABASE_URL });
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS "${SCHEMA}" CASCADE`);
  await client.end();
});

interface Proc {
  child: ChildProcess;
  out: () => string;
  err: () => string;
  /** Resolves with the first match of `re` in stdout+stderr. */
  waitFor(re: RegExp, ms?: number): Promise<RegExpExecArray>;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
}

function start(args: string[], env: Record<string, string>): Proc {
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  let err = '';
  child.stdout?.on('data', (c: Buffer) => {
    out += c.toString();
  });
  child.stderr?.on('data', (c: Buffer) => {
    err += c.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    out: () => out,
    err: () => err,
    async waitFor(re, ms = 40_000) {
      const deadline = Date.now() + ms;
      for (;;) {
        const m = re.exec(out + err);
        if (m) return m;
        if (child.exitCode !== null) throw new Error(`${args.join(' ')} exited ${child.exitCode}:\n${out}\n${err}`);
        if (Date.now() > deadline)
          throw new Error(`timed out waiting for ${re} from ${args.join(' ')}:\n${out}\n${err}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async stop() {
      if (child.exitCode === null && child.pid) process.kill(child.pid, 'SIGTERM');
      return exited;
    },
  };
}

async function hit(base: string, pagePath: string, ua: string): Promise<number> {
  const res = await fetch(`${base}${pagePath}`, { headers: { 'user-agent': ua, accept: 'text/html' } });
  await res.arrayBuffer();
  return res.status;
}

describe.skipIf(!postgres.available)(`two app servers → collector → PostgreSQL (${postgres.reason})`, () => {
  it('counts every request exactly once', async () => {
    const collector = start(['src/cli/main.ts', 'collect'], {
      PRIVACY_LOG_COLLECTOR_TOKEN: TOKEN,
      PRIVACY_LOG_COLLECTOR_PORT: '0',
      PRIVACY_LOG_COLLECTOR_AGGREGATORS: 'postgres',
      PRIVACY_LOG_POSTGRES_URL: DATABASE_URL,
      PRIVACY_LOG_POSTGRES_SCHEMA: SCHEMA,
    });
    const url = (await collector.waitFor(/listening on (\S+)/))[1] as string;

    const apps = ['a', 'b'].map((name) =>
      start(['test/integration/collector-app-server.ts'], {
        COLLECTOR_URL: url,
        COLLECTOR_TOKEN: TOKEN,
        SPOOL_DIR: path.join(dir, `spool-${name}`),
        APP_SITE: 'oblachko',
      }),
    );
    const bases = await Promise.all(
      apps.map(async (p) => `http://127.0.0.1:${(await p.waitFor(/listening (\d+)/))[1]}`),
    );

    const firefox = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:120.0) Gecko/20100101 Firefox/120.0';
    const chrome =
      'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36';
    const expected = new Map<string, number>();
    const sent: Array<Promise<number>> = [];
    const plan: Array<[number, string, string, number]> = [
      // [server, path, agent, times]
      [0, '/', firefox, 17],
      [0, '/news', chrome, 11],
      [1, '/news', firefox, 9],
      [1, '/menu', chrome, 14],
      [1, '/', chrome, 6],
      [0, '/missing', firefox, 3],
    ];
    for (const [server, page, ua, times] of plan) {
      expected.set(page, (expected.get(page) ?? 0) + times);
      for (let i = 0; i < times; i++) sent.push(hit(bases[server] as string, page, ua));
    }
    const statuses = await Promise.all(sent);
    expect(statuses.filter((s) => s === 404)).toHaveLength(3);
    const total = [...expected.values()].reduce((a, b) => a + b, 0);

    for (const app of apps) {
      expect(await app.stop()).toBe(0);
      const metrics = JSON.parse((/metrics (.+)/.exec(app.out()) as RegExpExecArray)[1] as string);
      expect(metrics).toMatchObject({ dropped: 0, queued: 0, spoolPending: 0, invalid: 0 });
      expect(metrics.delivered).toBe(metrics.accepted);
    }
    expect(await collector.stop()).toBe(0);
    expect(collector.err()).toMatch(new RegExp(`${total} events stored, 0 rejected, 0 unauthorized`));

    const store = postgresAggregator({ connectionString: DATABASE_URL, schema: SCHEMA });
    try {
      const day = new Date().toISOString().slice(0, 10);
      const range = { period: 'custom' as const, from: day, to: day, site: 'oblachko' };
      const aggregate = await store.query({ type: 'aggregate', ...range, metrics: ['events', 'visitors'] });
      // Two visitors (one address, two browsers), seen by both servers: the salt is shared through the collector.
      expect(aggregate.results).toEqual([{ events: total, visitors: 2 }]);
      const pages = await store.query({ type: 'breakdown', ...range, property: 'page', metrics: ['events'], k: 1 });
      const byPage = Object.fromEntries(pages.results.map((r) => [r.value, r.events]));
      // the page breakdown lists pageviews; the three 404s are 'error' events
      const pageviews = Object.fromEntries([...expected].filter(([page]) => page !== '/missing'));
      expect(byPage).toEqual(pageviews);
      const kinds = await store.query({ type: 'breakdown', ...range, property: 'kind', metrics: ['events'], k: 1 });
      expect(Object.fromEntries(kinds.results.map((r) => [r.value, r.events]))).toEqual({
        pageview: total - 3,
        error: 3,
      });
    } finally {
      await store.close();
    }
  });
});
