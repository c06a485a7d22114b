/** Bare Koa: the reference for every Koa configuration. */
import Koa from 'koa';
import { helloKoa } from '../lib/hello.js';
import { serve } from '../lib/serve.js';

const app = new Koa();
app.use(helloKoa);
serve(app.callback());
