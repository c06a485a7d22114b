/** Express + privacy-log with the default SQLite pipeline (see koa-privacy-log.ts). */
import express from 'express';
import { privacyLog } from '../../middleware/express.js';
import { helloExpress } from '../lib/hello.js';
import { pipelineReport } from '../lib/pipeline-report.js';
import { serve, workDir } from '../lib/serve.js';

workDir();
const app = express();
const privacy = privacyLog({ trustProxy: 'loopback' });
app.use(privacy);
app.use(helloExpress);
serve(app, { ready: () => privacy.ready(), onClose: () => pipelineReport(privacy) });
