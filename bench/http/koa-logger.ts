/** koa-logger, its lines sent by its `transporter` option to a file stream. */
import { createWriteStream } from 'node:fs';
import Koa from 'koa';
import koaLogger from 'koa-logger';
import { helloKoa } from '../lib/hello.js';
import { serve, workFile } from '../lib/serve.js';

const file = createWriteStream(workFile('koa-logger.log'));
const app = new Koa();
app.use(koaLogger({ transporter: (line) => file.write(`${line}\n`) }));
app.use(helloKoa);
serve(app.callback(), { onClose: () => new Promise<void>((resolve) => file.end(resolve)) });
