/** Bare Express: the reference for every Express configuration. */
import express from 'express';
import { helloExpress } from '../lib/hello.js';
import { serve } from '../lib/serve.js';

const app = express();
app.use(helloExpress);
serve(app);
