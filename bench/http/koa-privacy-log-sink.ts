/**
 * Diagnostic, not a product configuration: Koa + privacy-log exactly as in
 * koa-privacy-log.ts, but the pipeline delivers to an in-memory counting sink
 * instead of SQLite. The difference between the two is what the store costs
 * the server's core; the difference to bare Koa is capture, consent and the
 * pipeline.
 */
import Koa from 'koa';
import { privacyLog } from '../../middleware/koa.js';
import { countingSink } from '../lib/counting-sink.js';
import { helloKoa } from '../lib/hello.js';
import { pipelineReport } from '../lib/pipeline-report.js';
import { serve, workDir } from '../lib/serve.js';

workDir();
const app = new Koa();
const privacy = privacyLog({ trustProxy: 'loopback', aggregators: [countingSink()] });
app.use(privacy);
app.use(helloKoa);
serve(app.callback(), { ready: () => privacy.ready(), onClose: () => pipelineReport(privacy) });
