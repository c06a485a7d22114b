import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Koa from 'koa';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { statsRoutes } from '../../middleware/koa-stats.js';
import { type SqliteAggregator, sqliteAggregator } from '../../src/aggregators/sqlite/sqlite-aggregator.js';
import { makeEvent, sketchUpdatesFor } from '../conformance/dataset.js';

const TOKEN = 'koa-stats-token-42424242';
let dir: string;
let store: SqliteAggregator;
let server: ReturnType<Koa['callback']>;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'privacy-log-koa-stats-'));
  // Events dated months back: keep them from the first retention pass, one second after opening.
  store = sqliteAggregator({ file: join(dir, 'stats.db'), retentionDays: 36_500 });
  const events = Array.from({ length: 30 }, (_, i) =>
    makeEvent({
      time: `2026-03-10T0${i % 10}:1${i % 6}:00.000Z`,
      path: i % 3 ? '/menu' : '/группы',
      browser: 'Yandex',
    }),
  );
  await store.write({
    events,
    sketches: sketchUpdatesFor(
      events,
      events.map((_, i) => `v${i}`),
    ),
  });
  const app = new Koa();
  app.use(statsRoutes({ source: store, prefix: '/admin/stats', auth: { token: TOKEN } }));
  app.use((ctx) => {
    ctx.body = 'the site';
  });
  server = app.callback();
});

afterAll(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('statsRoutes on Koa (real app, real SQLite file)', () => {
  it('leaves other routes to the app', async () => {
    const r = await request(server).get('/menu');
    expect(r.status).toBe(200);
    expect(r.text).toBe('the site');
  });

  it('answers 401 with WWW-Authenticate without a token', async () => {
    const r = await request(server).get('/admin/stats/api/aggregate?period=7d');
    expect(r.status).toBe(401);
    expect(r.headers['www-authenticate']).toContain('Bearer');
  });

  it('serves JSON stats with the token', async () => {
    const r = await request(server)
      .get('/admin/stats/api/breakdown')
      .query({ period: 'day', date: '2026-03-10', property: 'page', metrics: 'visitors,pageviews' })
      .set('Authorization', `Bearer ${TOKEN}`);
    expect(r.status).toBe(200);
    expect(r.body.results).toEqual([
      { value: '/menu', visitors: 20, pageviews: 20 },
      { value: '/группы', visitors: 10, pageviews: 10 },
    ]);
  });

  it('answers 400 for an unknown metric, naming the valid ones', async () => {
    const r = await request(server)
      .get('/admin/stats/api/aggregate?metrics=hits')
      .set('Authorization', `Bearer ${TOKEN}`);
    expect(r.status).toBe(400);
    expect(r.body.error.message).toContain('pageviews');
  });

  it('serves the dashboard as UTF-8 HTML, and HEAD without a body', async () => {
    const r = await request(server)
      .get('/admin/stats/?period=7d&date=2026-03-10')
      .set('Authorization', `Bearer ${TOKEN}`);
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(r.text).toContain('/группы');
    expect(r.text).toContain('<svg');
    const h = await request(server).head('/admin/stats/').set('Authorization', `Bearer ${TOKEN}`);
    expect(h.status).toBe(200);
    expect(h.text ?? '').toBe('');
  });
});
