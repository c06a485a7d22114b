import { createServer } from 'node:http';
import express from 'express';
import { privacyLog } from '../../middleware/express.js';
import { memoryAggregator } from '../../src/aggregators/memory-aggregator.js';
import { finishHarness, type HarnessFactory } from './harness.js';

/** A real Express app with the same routes as the Koa harness. */
export const expressHarness: HarnessFactory = async ({ withRoutes = true, ...options }) => {
  const memory = memoryAggregator();
  const privacy = privacyLog({ aggregators: options.pipeline ? undefined : [memory], ...options });
  const app = express();
  let last: unknown;
  app.use(privacy);
  if (withRoutes) app.use(privacy.routes());
  app.use((_req, res, next) => {
    last = res.locals.privacy;
    next();
  });
  app.get('/', (_req, res) => {
    res.type('html').send('<h1>home</h1>');
  });
  app.get('/news/:id', (req, res) => {
    res.type('html').send(`<h1>news ${String(req.params.id).length}</h1>`);
  });
  app.get('/docs/:file', (_req, res) => {
    res.type('application/pdf').send(Buffer.alloc(2048, 1));
  });
  app.get('/attachment', (_req, res) => {
    res.attachment('report.bin').send(Buffer.alloc(100, 2));
  });
  app.get('/api/items', (_req, res) => {
    res.json({ items: [] });
  });
  app.get('/style.css', (_req, res) => {
    res.type('css').send('body{}');
  });
  app.get('/boom', () => {
    throw new Error('handler failure');
  });
  app.get('/big', (_req, res) => {
    res.type('application/pdf').set('Content-Disposition', 'attachment; filename="big.pdf"');
    res.send(Buffer.alloc(64 * 1024 * 1024, 3));
  });
  app.use((_err: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    res.status(500).send('error');
  });
  // Node refuses headers over 16 KiB with 431 before any middleware runs; the cases send 16 KiB ones.
  const server = createServer({ maxHeaderSize: 64 * 1024 }, app);
  return finishHarness(
    'express',
    server,
    memory,
    privacy.pipeline,
    () => last,
    () => privacy.close(),
  );
};
