/**
 * Koa + privacy-log with the default pipeline: SQLite at ./data/privacy-log.db
 * (inside the run's temp dir), default batching, queue and spool. Only
 * trustProxy is set, so the X-Forwarded-For of the request mix is honoured.
 */
import Koa from 'koa';
import { privacyLog } from '../../middleware/koa.js';
import { helloKoa } from '../lib/hello.js';
import { pipelineReport } from '../lib/pipeline-report.js';
import { serve, workDir } from '../lib/serve.js';

workDir();
const app = new Koa();
const privacy = privacyLog({ trustProxy: 'loopback' });
app.use(privacy);
app.use(helloKoa);
serve(app.callback(), { ready: () => privacy.ready(), onClose: () => pipelineReport(privacy) });
