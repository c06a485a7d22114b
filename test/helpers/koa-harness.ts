import { createServer } from 'node:http';
import Router from '@koa/router';
import Koa from 'koa';
import { privacyLog } from '../../middleware/koa.js';
import { memoryAggregator } from '../../src/aggregators/memory-aggregator.js';
import { finishHarness, type HarnessFactory } from './harness.js';

/** A real Koa app with the routes every adapter case uses. */
export const koaHarness: HarnessFactory = async ({ withRoutes = true, ...options }) => {
  const memory = memoryAggregator();
  const privacy = privacyLog({ aggregators: options.pipeline ? undefined : [memory], ...options });
  const app = new Koa();
  app.silent = true;
  let last: unknown;
  app.use(privacy);
  if (withRoutes) app.use(privacy.routes());
  app.use(async (ctx, next) => {
    last = ctx.state.privacy;
    await next();
  });
  const router = new Router();
  router.get('/', (ctx) => {
    ctx.type = 'html';
    ctx.body = '<h1>home</h1>';
  });
  router.get('/news/:id', (ctx) => {
    ctx.type = 'html';
    ctx.body = `<h1>news ${String(ctx.params.id).length}</h1>`;
  });
  router.get('/docs/:file', (ctx) => {
    ctx.type = 'application/pdf';
    ctx.body = Buffer.alloc(2048, 1);
  });
  router.get('/attachment', (ctx) => {
    ctx.attachment('report.bin');
    ctx.body = Buffer.alloc(100, 2);
  });
  router.get('/api/items', (ctx) => {
    ctx.body = { items: [] };
  });
  router.get('/style.css', (ctx) => {
    ctx.type = 'css';
    ctx.body = 'body{}';
  });
  router.get('/boom', () => {
    throw new Error('handler failure');
  });
  router.get('/big', (ctx) => {
    ctx.type = 'application/pdf';
    ctx.set('Content-Disposition', 'attachment; filename="big.pdf"');
    ctx.body = Buffer.alloc(64 * 1024 * 1024, 3);
  });
  app.use(router.routes());
  app.use(router.allowedMethods());
  // Node refuses headers over 16 KiB with 431 before any middleware runs; the cases send 16 KiB ones.
  const server = createServer({ maxHeaderSize: 64 * 1024 }, app.callback());
  return finishHarness(
    'koa',
    server,
    memory,
    privacy.pipeline,
    () => last,
    () => privacy.close(),
  );
};
