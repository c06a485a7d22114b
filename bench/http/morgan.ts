/** morgan 'combined' lines to a file stream. */
import { createWriteStream } from 'node:fs';
import express from 'express';
import morgan from 'morgan';
import { helloExpress } from '../lib/hello.js';
import { serve, workFile } from '../lib/serve.js';

const file = createWriteStream(workFile('morgan.log'));
const app = express();
app.use(morgan('combined', { stream: file }));
app.use(helloExpress);
serve(app, { onClose: () => new Promise<void>((resolve) => file.end(resolve)) });
