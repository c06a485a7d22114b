/** express-winston with winston's File transport, JSON records. */
import express from 'express';
import expressWinston from 'express-winston';
import winston from 'winston';
import { helloExpress } from '../lib/hello.js';
import { serve, workFile } from '../lib/serve.js';

const transport = new winston.transports.File({ filename: workFile('express-winston.log') });
const app = express();
app.use(expressWinston.logger({ transports: [transport], format: winston.format.json() }));
app.use(helloExpress);
serve(app, {
  onClose: () =>
    new Promise<void>((resolve) => {
      transport.once('finish', () => resolve());
      transport.end();
      setTimeout(resolve, 2000).unref();
    }),
});
