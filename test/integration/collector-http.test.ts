/**
 * httpAggregator → a real Koa app serving collectorRoutes over loopback HTTP,
 * plus the failure classes the sender must tell apart (4xx, 5xx, timeout,
 * network, abort).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import Koa from 'koa';
import { koaBody } from 'koa-body';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { collectorRoutes } from '../../middleware/koa-collector.js';
import type { Aggregator, SketchUpdate } from '../../src/aggregators/aggregator.js';
import { httpAggregator } from '../../src/aggregators/http-aggregator.js';
import { memoryAggregator } from '../../src/aggregators/memory-aggregator.js';
import { createCollector } from '../../src/collector/collector.js';
import { collectorListener } from '../../src/collector/receive.js';
import { ERROR_CODES, PrivacyLogError } from '../../src/errors.js';
import { makeEvent } from '../unit/access-log/fixtures.js';

const TOKEN = 'koa-collector-token-0123456789';
const servers: http.Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

async function listen(server: http.Server): Promise<string> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  servers.push(server);
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function koaCollector(aggregators: Aggregator[], maxBodyBytes?: number): Koa {
  const app = new Koa();
  app.use(collectorRoutes({ aggregators, auth: { token: TOKEN }, ...(maxBodyBytes ? { maxBodyBytes } : {}) }));
  app.use((ctx) => {
    ctx.body = 'the site';
  });
  return app;
}

const sketch: SketchUpdate = {
  day: '2026-11-24',
  site: 'oblachko',
  dimension: 'page',
  value: '/news',
  registers: [[7, 2]],
};
const siteSketch: SketchUpdate = {
  day: '2026-11-24',
  site: 'oblachko',
  dimension: 'site',
  value: '',
  registers: [
    [7, 2],
    [9, 1],
  ],
};

describe('httpAggregator → Koa collectorRoutes', () => {
  it('delivers batches, events and sketches, gzip-compressed with the bearer token', async () => {
    const memory = memoryAggregator();
    const base = await listen(http.createServer(koaCollector([memory]).callback()));
    const sender = httpAggregator({ url: `${base}/privacy-log/collect`, token: TOKEN });
    const first = [makeEvent(), makeEvent()];
    const second = [makeEvent({ kind: 'download', download: { file: 'menu.pdf', complete: true } })];
    await sender.write({ events: first, sketches: [sketch, siteSketch] });
    await sender.write({ events: second, sketches: [] });
    await sender.write({ events: first, sketches: [sketch] }); // a retry: stored once
    expect(memory.events).toEqual([...first, ...second]);
    const stats = await memory.query({
      type: 'aggregate',
      period: 'custom',
      from: '2026-11-24',
      to: '2026-11-24',
      metrics: ['pageviews', 'visitors'],
    });
    // two pageviews; visitors come from the forwarded site sketch (two registers set)
    expect(stats.results).toEqual([{ pageviews: 2, visitors: 2 }]);
    await sender.close();
  });

  it('sends exactly what the protocol says: POST, gzip JSON, bearer token, extra headers', async () => {
    const seen: Array<{ method?: string; headers: http.IncomingHttpHeaders; body: unknown }> = [];
    const base = await listen(
      http.createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          seen.push({
            method: req.method,
            headers: req.headers,
            body: JSON.parse(gunzipSync(Buffer.concat(chunks)).toString()),
          });
          res.end('{}');
        });
      }),
    );
    const events = [makeEvent()];
    const sender = httpAggregator({
      url: `${base}/in`,
      token: TOKEN,
      headers: { 'x-site': 'oblachko', Authorization: 'Bearer hijack' },
    });
    await sender.write({ events, sketches: [sketch] });
    expect(seen).toHaveLength(1);
    expect(seen[0]?.method).toBe('POST');
    expect(seen[0]?.headers).toMatchObject({
      authorization: `Bearer ${TOKEN}`,
      'content-encoding': 'gzip',
      'content-type': 'application/json',
      'x-site': 'oblachko',
    });
    expect(seen[0]?.body).toEqual({ events, sketches: [sketch] });
  });

  it('a wrong token is a 401: REMOTE_REJECTED, not retryable', async () => {
    const memory = memoryAggregator();
    const base = await listen(http.createServer(koaCollector([memory]).callback()));
    const sender = httpAggregator({ url: `${base}/privacy-log/collect`, token: 'not-the-token-at-all' });
    const err = await sender.write({ events: [makeEvent()], sketches: [] }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: ERROR_CODES.REMOTE_REJECTED, retryable: false, details: { status: 401 } });
    expect((err as Error).message).toContain('token');
    expect((err as Error).message).not.toContain('not-the-token-at-all');
    expect(memory.events).toEqual([]);
  });

  it('a store failure at the collector is a 503: retryable, and succeeds once the store is back', async () => {
    let down = true;
    const memory = memoryAggregator();
    const flaky: Aggregator = {
      name: 'flaky',
      async write(batch) {
        if (down) throw new PrivacyLogError(ERROR_CODES.STORE_UNAVAILABLE, 'store down (test double)');
        await memory.write(batch);
      },
    };
    const base = await listen(http.createServer(koaCollector([flaky]).callback()));
    const sender = httpAggregator({ url: `${base}/privacy-log/collect`, token: TOKEN });
    const events = [makeEvent()];
    await expect(sender.write({ events, sketches: [] })).rejects.toMatchObject({
      code: ERROR_CODES.AGGREGATOR_FAILED,
      retryable: true,
      message: expect.stringContaining('503'),
    });
    down = false;
    await sender.write({ events, sketches: [] });
    expect(memory.events).toEqual(events);
  });

  it('a timeout, a refused connection and an abort are retryable failures', async () => {
    const hanging = await listen(http.createServer(() => {})); // never answers
    const slow = httpAggregator({ url: `${hanging}/c`, token: TOKEN, timeoutMs: 150 });
    await expect(slow.write({ events: [makeEvent()], sketches: [] })).rejects.toMatchObject({
      code: ERROR_CODES.AGGREGATOR_FAILED,
      retryable: true,
      message: expect.stringContaining('within 150 ms'),
    });

    const closed = http.createServer();
    const gone = await listen(closed);
    servers.pop();
    await new Promise((r) => closed.close(r));
    await expect(
      httpAggregator({ url: `${gone}/c`, token: TOKEN }).write({ events: [makeEvent()], sketches: [] }),
    ).rejects.toMatchObject({ retryable: true, message: expect.stringContaining('ECONNREFUSED') });

    const ac = new AbortController();
    const patient = httpAggregator({ url: `${hanging}/c`, token: TOKEN, timeoutMs: 10_000 });
    const pending = patient.write({ events: [makeEvent()], sketches: [] }, ac.signal);
    setTimeout(() => ac.abort(new Error('pipeline closing')), 50);
    await expect(pending).rejects.toMatchObject({ retryable: true, message: expect.stringContaining('aborted') });
  });

  it('through Koa: 413 over the limit, 401 without token, other paths pass through', async () => {
    const memory = memoryAggregator();
    const app = koaCollector([memory], 4096);
    const server = http.createServer(app.callback());
    await listen(server);
    const big = JSON.stringify({ events: Array.from({ length: 40 }, () => makeEvent()) });
    const tooBig = await request(server)
      .post('/privacy-log/collect')
      .set('authorization', `Bearer ${TOKEN}`)
      .set('content-type', 'application/json')
      .send(big);
    expect(tooBig.status).toBe(413);
    const noAuth = await request(server)
      .post('/privacy-log/collect')
      .set('content-type', 'application/json')
      .send('{}');
    expect(noAuth.status).toBe(401);
    expect((await request(server).get('/')).text).toBe('the site');
    const ok = await request(server)
      .post('/privacy-log/collect')
      .set('authorization', `Bearer ${TOKEN}`)
      .set('content-type', 'application/json')
      .send(JSON.stringify({ events: [makeEvent(), { broken: true }] }));
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ accepted: 1, rejected: [{ index: 1, reason: 'id: not a UUID' }] });
    expect(memory.events).toHaveLength(1);
  });

  it('counts bytes while reading: a chunked body without Content-Length is cut off at the limit', async () => {
    const memory = memoryAggregator();
    const collector = createCollector({ aggregators: [memory], auth: { token: TOKEN }, maxBodyBytes: 8192 });
    const base = await listen(http.createServer(collectorListener(collector)));
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.request(`${base}/privacy-log/collect`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${TOKEN}`,
          'content-type': 'application/json',
          'transfer-encoding': 'chunked',
        },
      });
      req.on('response', (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.write('{"events":[');
      const chunk = `${JSON.stringify(makeEvent())},`;
      let sent = 0;
      // Up to ~1 MB, far past the limit; stops as soon as the collector answers.
      const pump = () => {
        while (sent < 1_000_000 && req.write(chunk)) sent += chunk.length;
        if (sent < 1_000_000) req.once('drain', pump);
        else req.end(']}');
      };
      pump();
    });
    expect(status).toBe(413);
    expect(memory.events).toEqual([]);
    expect(collector.metrics().requests).toBe(0);
  });

  it('explains app.use(collectorRoutes) and a body parser mounted first', async () => {
    const wrong = new Koa();
    wrong.silent = true;
    wrong.use(collectorRoutes as never);
    const errors: unknown[] = [];
    wrong.on('error', (e) => errors.push(e));
    expect((await request(wrong.callback()).get('/')).status).toBe(500);
    expect(errors[0]).toMatchObject({ code: ERROR_CODES.NOT_CALLED });

    const parsed = new Koa();
    parsed.use(koaBody());
    parsed.use(collectorRoutes({ aggregators: [memoryAggregator()], auth: { token: TOKEN } }));
    const res = await request(parsed.callback())
      .post('/privacy-log/collect')
      .set('authorization', `Bearer ${TOKEN}`)
      .send({ events: [] });
    expect(res.status).toBe(500);
    expect(res.body.error).toContain('mount collectorRoutes before');
  });

  it("shares the day's visitor salt through the collector: first writer wins", async () => {
    const memory = memoryAggregator();
    const base = await listen(http.createServer(koaCollector([memory]).callback()));
    const a = httpAggregator({ url: `${base}/privacy-log/collect`, token: TOKEN });
    const b = httpAggregator({ url: `${base}/privacy-log/collect`, token: TOKEN, gzip: false });
    const today = new Date().toISOString().slice(0, 10);
    const first = 'a'.repeat(32);
    expect(await a.salt(today, first)).toBe(first);
    expect(await b.salt(today, 'b'.repeat(32))).toBe(first);
    expect(await memory.salt(today, 'c'.repeat(32))).toBe(first);
    await expect(a.salt('2001-01-01', first)).rejects.toMatchObject({
      code: ERROR_CODES.REMOTE_REJECTED,
      retryable: false,
    });
    await expect(a.salt(today, 'not-hex')).rejects.toMatchObject({ code: ERROR_CODES.REMOTE_REJECTED });
    const stranger = httpAggregator({ url: `${base}/privacy-log/collect`, token: 'a-wrong-token-of-some-length' });
    await expect(stranger.salt(today, first)).rejects.toMatchObject({ details: { status: 401 } });
  });

  it('without a salt-keeping store, the collector hands the candidate back', async () => {
    const keeperless: Aggregator = { name: 'plain', async write() {} };
    const base = await listen(http.createServer(koaCollector([keeperless]).callback()));
    const sender = httpAggregator({ url: `${base}/privacy-log/collect`, token: TOKEN });
    const today = new Date().toISOString().slice(0, 10);
    expect(await sender.salt(today, 'd'.repeat(32))).toBe('d'.repeat(32));
  });

  it('rejects bad options with coded errors', () => {
    expect(() => httpAggregator({ token: TOKEN })).toThrow(/"url"/);
    expect(() => httpAggregator({ url: 'file:///etc/passwd', token: TOKEN })).toThrow(/"url"/);
    expect(() => httpAggregator({ url: 'http://127.0.0.1/c' })).toThrow(/"token"/);
    expect(() => httpAggregator({ url: 'http://127.0.0.1/c', token: TOKEN, gzp: true } as never)).toThrow(
      /Did you mean "gzip"/,
    );
  });
});
