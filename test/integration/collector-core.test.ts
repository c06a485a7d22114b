import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it, onTestFinished } from 'vitest';
import type { Aggregator, Batch, SketchUpdate } from '../../src/aggregators/aggregator.js';
import { memoryAggregator } from '../../src/aggregators/memory-aggregator.js';
import { type CollectorRequest, createCollector } from '../../src/collector/collector.js';
import { validateSketch } from '../../src/collector/validate-sketch.js';
import { ERROR_CODES, PrivacyLogError } from '../../src/errors.js';
import { createPipeline } from '../../src/pipeline/index.js';
import { makeEvent } from '../unit/access-log/fixtures.js';

const TOKEN = 'collector-test-token-0123456789';
const PATH = '/privacy-log/collect';

function request(body: unknown, headers: Record<string, string> = {}, raw?: Buffer): CollectorRequest {
  return {
    method: 'POST',
    path: PATH,
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', ...headers },
    body: raw ?? Buffer.from(JSON.stringify(body)),
  };
}

const sketch = (over: Partial<SketchUpdate> = {}): SketchUpdate => ({
  day: '2026-11-24',
  site: 'oblachko',
  dimension: 'site',
  value: '',
  registers: [
    [5, 3],
    [16383, 1],
  ],
  ...over,
});

/** Test double: a store that is down. */
function downStore(retryable = true): Aggregator {
  return {
    name: 'down',
    async write() {
      throw new PrivacyLogError(ERROR_CODES.AGGREGATOR_FAILED, 'down', { retryable });
    },
  };
}

describe('createCollector().handle', () => {
  it('stores a valid batch in every aggregator and answers 200 with the counts', async () => {
    const a = memoryAggregator();
    const b = memoryAggregator({ name: 'second' });
    const collector = createCollector({ aggregators: [a, b], auth: { token: TOKEN } });
    const events = [makeEvent(), makeEvent()];
    const res = await collector.handle(request({ events, sketches: [sketch()] }));
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toEqual({ accepted: 2, sketches: 1, rejected: [], rejectedSketches: [] });
    expect(a.events).toEqual(events);
    expect(b.events).toEqual(events);
    expect(collector.metrics()).toMatchObject({ batches: 1, events: 2, sketches: 1, rejected: 0 });
  });

  it('rejects invalid events with the reason and stores the valid ones of the same batch', async () => {
    const memory = memoryAggregator();
    const collector = createCollector({ aggregators: [memory], auth: { token: TOKEN } });
    const good = makeEvent();
    const badIp = { ...makeEvent(), client: { address: '203.0.113.7', prefixLength: 128 } };
    const badKind = { ...makeEvent(), kind: 'visit' };
    const res = await collector.handle(
      request({
        events: [badIp, good, 'nonsense', badKind],
        sketches: [sketch(), sketch({ dimension: 'colour' as never })],
      }),
    );
    expect(res.status).toBe(200);
    const body = JSON.parse(res.body);
    expect(body.accepted).toBe(1);
    expect(body.rejected).toEqual([
      { index: 0, id: badIp.id, reason: expect.stringContaining('client.prefixLength') },
      { index: 2, reason: 'event: not an object' },
      { index: 3, id: badKind.id, reason: expect.stringContaining('kind') },
    ]);
    expect(body.rejectedSketches).toEqual([{ index: 1, reason: expect.stringContaining('sketch.dimension') }]);
    expect(memory.events).toEqual([good]);
  });

  it("stores only the contract's fields: anything else a sender attaches is dropped", async () => {
    const memory = memoryAggregator();
    const collector = createCollector({ aggregators: [memory], auth: { token: TOKEN } });
    const clean = makeEvent({ session: { id: 's1' }, consent: { analytics: 'granted', source: 'choice' } });
    const smuggled = {
      ...clean,
      fullIp: '203.0.113.77',
      client: { ...clean.client, rawAddress: '203.0.113.77' },
      agent: { ...clean.agent, userAgent: 'Mozilla/5.0 (X11; Linux x86_64) secret build 1234' },
      session: { id: 's1', cookie: 'privacy_session=abc' },
    };
    const sk = { ...sketch(), extra: 'x' };
    const res = await collector.handle(request({ events: [smuggled], sketches: [sk] }));
    expect(res.status).toBe(200);
    expect(memory.events).toEqual([clean]);
    expect(JSON.stringify(memory.events)).not.toContain('203.0.113.77');
  });

  it('answers 422 when every event is invalid, storing nothing', async () => {
    const memory = memoryAggregator();
    const collector = createCollector({ aggregators: [memory], auth: { token: TOKEN } });
    const res = await collector.handle(request({ events: [{ id: 'x' }] }));
    expect(res.status).toBe(422);
    expect(JSON.parse(res.body).rejected).toEqual([{ index: 0, reason: 'id: not a UUID' }]);
    expect(memory.events).toEqual([]);
  });

  it('is idempotent: a retried batch stores nothing twice', async () => {
    const memory = memoryAggregator();
    const collector = createCollector({ aggregators: [memory], auth: { token: TOKEN } });
    const events = [makeEvent(), makeEvent()];
    await collector.handle(request({ events }));
    await collector.handle(request({ events }));
    expect(memory.events).toHaveLength(2);
  });

  it('requires the bearer token', async () => {
    const memory = memoryAggregator();
    const collector = createCollector({ aggregators: [memory], auth: { token: TOKEN } });
    const body = { events: [makeEvent()] };
    for (const authorization of [undefined, 'Bearer wrong', `Bearer ${TOKEN}x`, `Basic ${TOKEN}`, `Bearer`, TOKEN]) {
      const headers: Record<string, string> = authorization === undefined ? {} : { authorization };
      const req = request(body);
      req.headers = { 'content-type': 'application/json', ...headers };
      const res = await collector.handle(req);
      expect(res.status).toBe(401);
      expect(res.headers['www-authenticate']).toContain('Bearer');
    }
    expect(memory.events).toEqual([]);
    expect(collector.metrics().unauthorized).toBe(6);
    expect((await collector.handle(request(body, { authorization: `bearer  ${TOKEN}` }))).status).toBe(200);
  });

  it('answers 413 for a body over the limit, announced or counted, raw or decompressed', async () => {
    const memory = memoryAggregator();
    const collector = createCollector({ aggregators: [memory], auth: { token: TOKEN }, maxBodyBytes: 2048 });
    const big = { events: Array.from({ length: 20 }, () => makeEvent()) };
    expect((await collector.handle(request(big, { 'content-length': '999999' }))).status).toBe(413);
    expect((await collector.handle(request(big))).status).toBe(413);
    // A zip bomb: 10 MB of zeros in a few kilobytes of gzip.
    const bomb = gzipSync(Buffer.alloc(10_000_000, 0x20));
    expect(bomb.length).toBeLessThan(2048 * 8);
    const small = createCollector({ aggregators: [memory], auth: { token: TOKEN }, maxBodyBytes: 64 * 1024 });
    const res = await small.handle(request(undefined, { 'content-encoding': 'gzip' }, bomb));
    expect(res.status).toBe(413);
    expect(JSON.parse(res.body).error).toContain('decompressed');
    expect(memory.events).toEqual([]);
  });

  it('accepts gzip bodies', async () => {
    const memory = memoryAggregator();
    const collector = createCollector({ aggregators: [memory], auth: { token: TOKEN } });
    const events = [makeEvent()];
    const res = await collector.handle(
      request(undefined, { 'content-encoding': 'gzip' }, gzipSync(JSON.stringify({ events, sketches: [] }))),
    );
    expect(res.status).toBe(200);
    expect(memory.events).toEqual(events);
  });

  it('answers 400, 404, 405 and 415 for what it cannot take', async () => {
    const collector = createCollector({ aggregators: [memoryAggregator()], auth: { token: TOKEN } });
    const raw = (text: string) => request(undefined, {}, Buffer.from(text));
    expect((await collector.handle(raw('{"events":'))).status).toBe(400);
    expect((await collector.handle(raw('[]'))).status).toBe(400);
    expect((await collector.handle(raw('{"events":{}}'))).status).toBe(400);
    expect((await collector.handle(raw('{"events":[],"sketches":1}'))).status).toBe(400);
    expect(
      (await collector.handle(request(undefined, { 'content-encoding': 'gzip' }, Buffer.from('not gzip')))).status,
    ).toBe(400);
    expect((await collector.handle({ ...request({ events: [] }), path: '/other' })).status).toBe(404);
    const get = await collector.handle({ ...request({ events: [] }), method: 'GET' });
    expect(get.status).toBe(405);
    expect(get.headers.allow).toBe('POST');
    expect((await collector.handle(request({ events: [] }, { 'content-encoding': 'br' }))).status).toBe(415);
    expect((await collector.handle(request({ events: [] }, { 'content-type': 'text/plain' }))).status).toBe(415);
    expect((await collector.handle(request({ events: [] }))).status).toBe(200);
  });

  it('answers 503 with Retry-After when a store fails, so the sender retries', async () => {
    const memory = memoryAggregator();
    const collector = createCollector({ aggregators: [memory, downStore()], auth: { token: TOKEN } });
    const res = await collector.handle(request({ events: [makeEvent()] }));
    expect(res.status).toBe(503);
    expect(res.headers['retry-after']).toBe('5');
    expect(JSON.parse(res.body).error).toContain('down: PRIVACY_LOG_E_AGGREGATOR_FAILED');
    expect(collector.metrics().storeFailures).toBe(1);
  });

  it('refuses after close with 503 and closes its aggregators', async () => {
    const memory = memoryAggregator();
    const collector = createCollector({ aggregators: [memory], auth: { token: TOKEN } });
    await collector.close();
    await collector.close();
    expect((await collector.handle(request({ events: [makeEvent()] }))).status).toBe(503);
    await expect(memory.write({ events: [makeEvent()], sketches: [] } as Batch)).rejects.toMatchObject({
      code: ERROR_CODES.CLOSED,
    });
  });

  it('rejects bad options with coded errors', () => {
    const agg = [memoryAggregator()];
    expect(() => createCollector({ aggregators: agg })).toThrow(/"auth.token"/);
    expect(() => createCollector({ aggregators: agg, auth: { token: 'short' } })).toThrow(/at least 16/);
    expect(() => createCollector({ auth: { token: TOKEN } })).toThrow(/"aggregators"/);
    expect(() => createCollector({ aggregators: agg, auth: { token: TOKEN }, maxBodyByte: 1 } as never)).toThrow(
      /Did you mean "maxBodyBytes"/,
    );
    expect(() => createCollector({ aggregators: agg, auth: { token: TOKEN }, path: 'collect' })).toThrow(/"path"/);
  });

  it('property: any body, any headers — a coded HTTP answer, never a throw', async () => {
    const memory = memoryAggregator();
    const collector = createCollector({ aggregators: [memory], auth: { token: TOKEN }, maxBodyBytes: 4096 });
    const jsonish = fc.oneof(
      fc.json().map((j) => Buffer.from(j)),
      fc.uint8Array({ maxLength: 300 }).map((u) => Buffer.from(u)),
      fc
        .record({
          events: fc.array(fc.anything(), { maxLength: 4 }),
          sketches: fc.array(fc.anything(), { maxLength: 3 }),
        })
        .map((o) => Buffer.from(JSON.stringify(o) ?? 'null')),
    );
    await fc.assert(
      fc.asyncProperty(jsonish, fc.constantFrom('identity', 'gzip', undefined), async (body, enc) => {
        const res = await collector.handle(request(undefined, enc ? { 'content-encoding': enc } : {}, body));
        expect([200, 400, 413, 422]).toContain(res.status);
        expect(() => JSON.parse(res.body)).not.toThrow();
      }),
      { numRuns: 300 },
    );
  });
});

describe('validateSketch', () => {
  it('accepts a well-formed update and names the field of a bad one', () => {
    expect(validateSketch(sketch())).toBeUndefined();
    expect(validateSketch(sketch({ day: '2026-13-45' }))).toContain('sketch.day');
    expect(validateSketch(sketch({ site: '' }))).toContain('sketch.site');
    expect(validateSketch(sketch({ value: 'a\nb' }))).toContain('sketch.value');
    expect(validateSketch(sketch({ registers: [[16384, 1]] }))).toContain('index');
    expect(validateSketch(sketch({ registers: [[1, 0]] }))).toContain('rank');
    expect(validateSketch(sketch({ registers: [[1, 2, 3]] as never }))).toContain('pairs');
    expect(validateSketch(null)).toBe('sketch: not an object');
  });
});

describe('createCollector({ pipeline })', () => {
  it('pushes valid events through the pipeline and answers once they are flushed', async () => {
    const memory = memoryAggregator();
    const spool = fs.mkdtempSync(path.join(os.tmpdir(), 'privacy-log-collector-spool-'));
    onTestFinished(() => fs.rmSync(spool, { recursive: true, force: true }));
    const pipeline = createPipeline({
      aggregators: [memory],
      batch: { maxEvents: 10, maxWaitMs: 20 },
      spool: { dir: spool },
    });
    const collector = createCollector({ pipeline, auth: { token: TOKEN } });
    const events = Array.from({ length: 25 }, () => makeEvent());
    const res = await collector.handle(request({ events: [...events, { nope: 1 }], sketches: [sketch()] }));
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toMatchObject({ accepted: 25, sketches: 1, rejected: [{ index: 25 }] });
    expect(memory.events).toHaveLength(25);
    const stats = await memory.query({
      type: 'aggregate',
      period: 'custom',
      from: '2026-11-24',
      to: '2026-11-24',
      metrics: ['pageviews', 'visitors'],
    });
    expect(stats.results).toEqual([{ pageviews: 25, visitors: 2 }]);
    await collector.close();
    expect(pipeline.metrics().delivered).toBe(25);
  });
});
