import { createServer } from 'node:http';
import Koa from 'koa';
import supertest from 'supertest';
import { describe, expect, it } from 'vitest';
import { privacyLog } from '../../middleware/koa.js';
import { memoryAggregator } from '../../src/aggregators/memory-aggregator.js';
import { encodeConsentCookie } from '../../src/consent/cookie-codec.js';
import { koaHarness } from '../helpers/koa-harness.js';
import { adapterCases } from './adapters/cases.js';

adapterCases('koa', koaHarness);

describe('koa: misuse', () => {
  it('app.use(privacyLog) answers with a coded error telling to call it', async () => {
    const app = new Koa();
    app.silent = true;
    const errors: unknown[] = [];
    app.on('error', (err) => errors.push(err));
    app.use(privacyLog as never);
    const res = await supertest(createServer(app.callback())).get('/');
    expect(res.status).toBe(500);
    expect(errors[0]).toMatchObject({
      code: 'PRIVACY_LOG_E_NOT_CALLED',
      message: expect.stringContaining('app.use(privacyLog())'),
    });
  });

  it('rejects pipeline and aggregators together', () => {
    const memory = memoryAggregator();
    const first = privacyLog({ aggregators: [memory] });
    expect(() => privacyLog({ pipeline: first.pipeline, aggregators: [memory] })).toThrow(/pipeline/);
    return first.close();
  });
});

describe('koa: describe()', () => {
  it('reports the live configuration, including where and how long data is kept', async () => {
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { sqliteAggregator } = await import('../../src/aggregators/sqlite/sqlite-aggregator.js');
    const dir = mkdtempSync(join(tmpdir(), 'privacy-log-describe-'));
    const privacy = privacyLog({
      site: 'oblachko',
      ip: { preset: 'strict' },
      consent: { policyVersion: '2026-11', honorDnt: false },
      aggregators: [sqliteAggregator({ file: join(dir, 'events.db'), retentionDays: 14 })],
    });
    try {
      const d = privacy.describe();
      expect(d.ip).toEqual({ ipv4Prefix: 16, ipv6Prefix: 32 });
      expect(d.consent).toMatchObject({ policyVersion: '2026-11', honorGpc: true, honorDnt: false, default: 'unset' });
      expect(d.aggregators).toEqual([
        expect.objectContaining({ name: 'sqlite', kind: 'sqlite', retentionDays: 14, rollupRetentionMonths: 25 }),
      ]);
      expect(d.aggregators[0]?.location).toBe(join(dir, 'events.db'));
      expect(d.kinds).not.toContain('asset');
      expect(d.neverCaptured).toContain('full IP address');
      expect(JSON.parse(JSON.stringify(d))).toEqual(d);
    } finally {
      await privacy.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('koa: a body parser mounted before the consent routes', () => {
  it('still reads the consent form, from what the parser left', async () => {
    const { koaBody } = await import('koa-body');
    const memory = memoryAggregator();
    const privacy = privacyLog({ aggregators: [memory] });
    const app = new Koa();
    app.use(privacy);
    app.use(koaBody());
    app.use(privacy.routes());
    try {
      const res = await supertest(createServer(app.callback()))
        .post('/privacy/consent')
        .type('form')
        .send('analytics=granted&return=/news');
      expect(res.status).toBe(303);
      expect(res.headers.location).toBe('/news');
      expect(String(res.headers['set-cookie'])).toMatch(/privacy_session=/);
    } finally {
      await privacy.close();
    }
  });
});

describe('koa: the sliding session cookie', () => {
  const session = 'q3VhZ8m1Rk2xYp0TfW7cAg';
  const granted = encodeConsentCookie({
    policyVersion: '1',
    analytics: true,
    day: Math.floor(Date.now() / 86_400_000),
  });
  const cookie = `privacy_consent=${granted}; privacy_session=${session}`;

  it('is the only Set-Cookie when nothing set one before, and joins a cookie set earlier', async () => {
    const privacy = privacyLog({ aggregators: [memoryAggregator()] });
    const app = new Koa();
    app.use(async (ctx, next) => {
      if (ctx.path === '/earlier') ctx.res.setHeader('Set-Cookie', ['theme=dark; Path=/', 'lang=ru; Path=/']);
      await next();
    });
    app.use(privacy);
    app.use((ctx) => {
      if (ctx.path === '/later') ctx.append('Set-Cookie', 'seen=1; Path=/');
      ctx.body = 'ok';
    });
    try {
      const server = createServer(app.callback());
      const alone = await supertest(server).get('/').set('Cookie', cookie);
      expect(alone.headers['set-cookie']).toEqual([
        `privacy_session=${session}; Max-Age=1800; Path=/; HttpOnly; SameSite=Lax`,
      ]);
      const earlier = await supertest(server).get('/earlier').set('Cookie', cookie);
      expect(earlier.headers['set-cookie']).toEqual([
        'theme=dark; Path=/',
        'lang=ru; Path=/',
        `privacy_session=${session}; Max-Age=1800; Path=/; HttpOnly; SameSite=Lax`,
      ]);
      const later = await supertest(server).get('/later').set('Cookie', cookie);
      expect(later.headers['set-cookie']).toEqual([
        `privacy_session=${session}; Max-Age=1800; Path=/; HttpOnly; SameSite=Lax`,
        'seen=1; Path=/',
      ]);
      const none = await supertest(server).get('/');
      expect(none.headers['set-cookie']).toBeUndefined();
    } finally {
      await privacy.close();
    }
  });
});
