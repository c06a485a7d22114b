/** pino-http writing to a file through pino.destination (its default, asynchronous SonicBoom). */
import express from 'express';
import pino from 'pino';
import { pinoHttp } from 'pino-http';
import { helloExpress } from '../lib/hello.js';
import { serve, workFile } from '../lib/serve.js';

const destination = pino.destination(workFile('pino-http.log'));
const app = express();
app.use(pinoHttp({}, destination));
app.use(helloExpress);
serve(app, { onClose: () => destination.flushSync() });
