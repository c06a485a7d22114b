import { createServer } from 'node:http';
import Koa from 'koa';
import supertest from 'supertest';
import { describe, expect, it } from 'vitest';
import { privacyLog } from '../../middleware/koa.js';
import { memoryAggregator } from '../../src/aggregators/memory-aggregator.js';
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
