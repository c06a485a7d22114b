import { createServer } from 'node:http';
import express from 'express';
import supertest from 'supertest';
import { describe, expect, it } from 'vitest';
import { privacyLog } from '../../middleware/express.js';
import { expressHarness } from '../helpers/express-harness.js';
import { adapterCases } from './adapters/cases.js';

adapterCases('express', expressHarness);

describe('express: misuse', () => {
  it('app.use(privacyLog) passes a coded error telling to call it', async () => {
    const app = express();
    const errors: unknown[] = [];
    app.use(privacyLog as never);
    app.use((err: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
      errors.push(err);
      res.status(500).send('misconfigured');
    });
    const res = await supertest(createServer(app)).get('/');
    expect(res.status).toBe(500);
    expect(errors[0]).toMatchObject({
      code: 'PRIVACY_LOG_E_NOT_CALLED',
      message: expect.stringContaining('app.use(privacyLog())'),
    });
  });
});

describe('express: stats and collector routes', () => {
  it('serves the stats API behind auth, from the same handler as Koa', async () => {
    const { memoryAggregator } = await import('../../src/aggregators/memory-aggregator.js');
    const { statsRoutes } = await import('../../middleware/express.js');
    const memory = memoryAggregator();
    const privacy = privacyLog({ site: 'oblachko', aggregators: [memory] });
    const app = express();
    app.use(privacy);
    app.use(statsRoutes({ source: memory, prefix: '/admin/stats', auth: { token: 'a-long-enough-test-token' } }));
    app.get('/', (_req, res) => res.type('html').send('ok'));
    const server = createServer(app);
    try {
      for (let i = 0; i < 6; i++) await supertest(server).get('/');
      await privacy.pipeline.flush();
      const denied = await supertest(server).get('/admin/stats/api/aggregate?period=day&metrics=pageviews');
      expect(denied.status).toBe(401);
      const ok = await supertest(server)
        .get('/admin/stats/api/aggregate?period=day&metrics=pageviews')
        .set('Authorization', 'Bearer a-long-enough-test-token');
      expect(ok.status).toBe(200);
      expect(ok.body.results[0].pageviews).toBe(6);
      const bad = await supertest(server)
        .get('/admin/stats/api/aggregate?period=day&metrics=pageveiws')
        .set('Authorization', 'Bearer a-long-enough-test-token');
      expect(bad.status).toBe(400);
    } finally {
      await privacy.close();
    }
  });
});

describe('express: a body parser mounted before the consent routes', () => {
  it('still reads the consent form and JSON, from what the parser left', async () => {
    const { memoryAggregator } = await import('../../src/aggregators/memory-aggregator.js');
    const privacy = privacyLog({ aggregators: [memoryAggregator()] });
    const app = express();
    app.use(privacy);
    app.use(express.urlencoded({ extended: false }));
    app.use(express.json());
    app.use(privacy.routes());
    const server = createServer(app);
    try {
      const form = await supertest(server).post('/privacy/consent').type('form').send('analytics=denied&return=/docs');
      expect(form.status).toBe(303);
      expect(form.headers.location).toBe('/docs');
      const json = await supertest(server).post('/privacy/consent').send({ analytics: 'granted' });
      expect(json.status).toBe(200);
      expect(json.body.analytics).toBe('granted');
    } finally {
      await privacy.close();
    }
  });
});
