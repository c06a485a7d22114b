/**
 * Diagnostic control, not in the table: bare Koa that burns BENCH_SPIN_US
 * microseconds of CPU per request in a loop that allocates nothing and makes no
 * system call. It slows the server like a middleware would, without doing
 * anything else, so Node's and the kernel's per-request cost at a lower request
 * rate can be told apart from a middleware's own (bench/lib/syscalls.ts).
 */
import Koa from 'koa';
import { helloKoa } from '../lib/hello.js';
import { serve } from '../lib/serve.js';

const spinMs = Number(process.env.BENCH_SPIN_US ?? '0') / 1000;
const app = new Koa();
app.use((_ctx, next) => {
  const end = performance.now() + spinMs;
  while (performance.now() < end) {
    // burn CPU
  }
  return next();
});
app.use(helloKoa);
serve(app.callback());
