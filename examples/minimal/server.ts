/**
 * The smallest privacy-log setup: a Koa app whose every request is captured,
 * anonymized and printed. Run: `npx tsx examples/minimal/server.ts`, then open
 * http://127.0.0.1:3001/ and watch the terminal.
 */
import Koa from 'koa';
import { transports } from 'winston';
import { privacyLog } from '../../middleware/koa.js';
import { createPipeline, winstonAggregator } from '../../src/index.js';

const pipeline = createPipeline({
  aggregators: [winstonAggregator({ transports: [new transports.Console()] })],
  batch: { maxWaitMs: 200 },
  spool: false,
});
const app = new Koa();
const privacy = privacyLog({ site: 'demo', pipeline });
app.use(privacy);
app.use(privacy.routes());
app.use((ctx) => {
  ctx.type = 'html';
  ctx.body = '<h1>Hello</h1><p>Every request to this page is printed, anonymized, by the server.</p>';
});
const port = Number(process.env.PORT ?? 3001);
const server = app.listen(port, '127.0.0.1', () => console.log(`demo on http://127.0.0.1:${port}/`));
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => server.close(() => void privacy.close().then(() => process.exit(0))));
}
