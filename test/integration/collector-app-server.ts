/**
 * An app server for the collector end-to-end test, run as its own process:
 * a real Koa app with privacyLog, whose pipeline forwards to the collector
 * through httpAggregator. Prints `listening <port>` when ready; on SIGTERM it
 * stops, closes the pipeline (flush) and prints its metrics as one JSON line.
 *
 * Environment: COLLECTOR_URL, COLLECTOR_TOKEN, SPOOL_DIR, APP_SITE.
 */
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import { privacyLog } from '../../middleware/koa.js';
import { httpAggregator } from '../../src/aggregators/http-aggregator.js';
import { createPipeline } from '../../src/pipeline/index.js';

const env = process.env;
const pipeline = createPipeline({
  aggregators: [httpAggregator({ url: env.COLLECTOR_URL, token: env.COLLECTOR_TOKEN })],
  batch: { maxEvents: 25, maxWaitMs: 50 },
  spool: { dir: env.SPOOL_DIR },
});
const app = new Koa();
const privacy = privacyLog({ site: env.APP_SITE ?? 'oblachko', pipeline, enrich: { isp: false } });
app.use(privacy);
app.use((ctx) => {
  if (ctx.path === '/missing') {
    ctx.status = 404;
    return;
  }
  ctx.type = 'html';
  ctx.body = '<!doctype html><title>page</title><p>hello</p>';
});
// The visitor hasher asks the collector for the day's shared salt when privacyLog() is created and
// uses a local one until the answer arrives: take requests only once it has arrived.
await privacy.ready();
const server = app.listen(0, '127.0.0.1', () => {
  process.stdout.write(`listening ${(server.address() as AddressInfo).port}\n`);
});
process.once('SIGTERM', () => {
  server.close();
  server.closeAllConnections();
  pipeline.close({ timeoutMs: 20_000 }).then(
    () => {
      process.stdout.write(`metrics ${JSON.stringify(pipeline.metrics())}\n`);
      process.exit(0);
    },
    (e: unknown) => {
      process.stderr.write(`close failed: ${String(e)}\n`);
      process.exit(1);
    },
  );
});
