/**
 * Koa + privacy-log, default SQLite store, plus an operator's access log: the
 * same events written as Apache combined lines to a file through winston
 * (winstonAggregator with the file transport), off the request path.
 */
import Koa from 'koa';
import { privacyLog } from '../../middleware/koa.js';
import { sqliteAggregator, winstonAggregator } from '../../src/index.js';
import { helloKoa } from '../lib/hello.js';
import { pipelineReport } from '../lib/pipeline-report.js';
import { serve, workDir } from '../lib/serve.js';

const dir = workDir();
const app = new Koa();
const privacy = privacyLog({
  trustProxy: 'loopback',
  aggregators: [
    sqliteAggregator(),
    winstonAggregator({ format: 'combined', transports: [{ type: 'file', dir, filename: 'access-%DATE%.log' }] }),
  ],
});
app.use(privacy);
app.use(helloKoa);
serve(app.callback(), { ready: () => privacy.ready(), onClose: () => pipelineReport(privacy) });
