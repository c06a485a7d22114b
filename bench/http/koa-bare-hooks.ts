/**
 * Diagnostic control, not in the table: bare Koa with only the Node-side hooks
 * privacy-log's core sets on every request (a symbol property on the response,
 * a 'close' listener that reads three response headers, the finished flag and
 * the clocks), none of its work. Against koa-bare and koa-privacy-log-sink it
 * splits privacy-log's cost into the hooks and the capture itself
 * (bench/lib/syscalls.ts).
 */
import type { ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import Koa from 'koa';
import { helloKoa } from '../lib/hello.js';
import { serve } from '../lib/serve.js';

const HOOK = Symbol('hook');
type Hooked = ServerResponse & { [HOOK]?: { t0: number; startMs: number } | undefined };
let sink = 0;

function onClose(this: Hooked): void {
  const h = this[HOOK];
  if (!h) return;
  this[HOOK] = undefined;
  const length = this.getHeader('content-length');
  const type = this.getHeader('content-type');
  const disposition = this.getHeader('content-disposition');
  sink += (this.writableFinished ? 1 : 0) + (performance.now() - h.t0 > 0 ? 1 : 0) + (length ? 1 : 0);
  sink += (type ? 1 : 0) + (disposition ? 1 : 0) + (h.startMs > 0 ? 1 : 0);
}

const app = new Koa();
app.use((ctx, next) => {
  const res = ctx.res as Hooked;
  res[HOOK] = { t0: performance.now(), startMs: Date.now() };
  res.on('close', onClose);
  ctx.state.hook = sink;
  return next();
});
app.use(helloKoa);
serve(app.callback());
