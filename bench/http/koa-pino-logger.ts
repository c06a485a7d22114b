/** koa-pino-logger writing to a file through pino.destination (its default, asynchronous SonicBoom). */
import Koa from 'koa';
import koaPinoLogger from 'koa-pino-logger';
import pino from 'pino';
import { helloKoa } from '../lib/hello.js';
import { serve, workFile } from '../lib/serve.js';

const destination = pino.destination(workFile('koa-pino-logger.log'));
const app = new Koa();
app.use(koaPinoLogger({}, destination));
app.use(helloKoa);
serve(app.callback(), { onClose: () => destination.flushSync() });
