import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ERROR_CODES, isPrivacyLogError, type PrivacyLogError } from '../../../src/errors.js';
import { createPipeline } from '../../../src/pipeline/create-pipeline.js';
import type { Pipeline } from '../../../src/pipeline/types.js';
import { packMark } from '../../../src/stats/visitor-mark.js';
import { eventOf, invariantViolation, sinkDouble, until } from './doubles.js';

const dirs: string[] = [];
const pipelines: Pipeline[] = [];
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'pl-pipe-'));
  dirs.push(d);
  return d;
}
function track(p: Pipeline): Pipeline {
  pipelines.push(p);
  return p;
}
/** Pushes n events, `perTurn` per event-loop turn, as requests would arrive. */
async function pushInTurns(p: Pipeline, n: number, perTurn: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    p.push(eventOf(i));
    if ((i + 1) % perTurn === 0) await new Promise((r) => setImmediate(r));
  }
}
afterEach(async () => {
  for (const p of pipelines.splice(0)) await p.close({ timeoutMs: 200 }).catch(() => undefined);
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('createPipeline: batching and fan-out', () => {
  it('delivers every pushed event to every aggregator, cut by size', async () => {
    const a = sinkDouble('a');
    const b = sinkDouble('b');
    const p = track(createPipeline({ aggregators: [a, b], batch: { maxEvents: 10, maxWaitMs: 60_000 }, spool: false }));
    for (let i = 0; i < 25; i++) expect(p.push(eventOf(i))).toBe(true);
    await until(() => a.stored.size === 20 && b.stored.size === 20);
    expect(a.writes).toBe(2); // two full batches; the last 5 wait for the timer or a flush
    await p.flush();
    expect(a.stored.size).toBe(25);
    expect(b.stored.size).toBe(25);
    const m = p.metrics();
    expect(m).toMatchObject({ accepted: 25, delivered: 25, queued: 0, dropped: 0, spoolPending: 0, invalid: 0 });
    expect(invariantViolation(m)).toBeUndefined();
  });

  it('cuts a batch after maxWaitMs without a flush', async () => {
    const a = sinkDouble('a');
    const p = track(createPipeline({ aggregators: [a], batch: { maxEvents: 100, maxWaitMs: 20 }, spool: false }));
    p.push(eventOf(1));
    p.push(eventOf(2));
    await until(() => a.stored.size === 2, 2000);
    expect(a.writes).toBe(1);
  });

  it('rejects invalid events at the door, counts them, and reports only the field name', async () => {
    const errors: PrivacyLogError[] = [];
    const a = sinkDouble('a');
    const p = track(createPipeline({ aggregators: [a], spool: false, onError: (e) => errors.push(e) }));
    const bad = { ...eventOf(1), client: { address: '198.51.100.77', prefixLength: 999 } };
    expect(p.push(bad)).toBe(false);
    expect(p.push(null as never)).toBe(false);
    expect(p.metrics().invalid).toBe(2);
    expect(p.metrics().accepted).toBe(0);
    expect(errors[0]?.code).toBe(ERROR_CODES.INVALID_EVENT);
    expect(errors[0]?.message).toContain('client.prefixLength');
    expect(errors[0]?.message).not.toContain('198.51.100.77');
  });

  it('never throws from push, even for hostile values', () => {
    const p = track(createPipeline({ spool: false, onError: () => undefined }));
    const hostile = new Proxy(
      {},
      {
        get() {
          throw new Error('boom');
        },
      },
    );
    expect(() => p.push(hostile as never)).not.toThrow();
    expect(p.push(hostile as never)).toBe(false);
  });

  it('folds visitor marks into sketches and never puts them on events', async () => {
    const a = sinkDouble('a');
    const p = track(createPipeline({ aggregators: [a], spool: false }));
    p.push(eventOf(1), packMark(5, 3));
    p.push(eventOf(2), packMark(5, 7)); // same register: max wins
    p.push(eventOf(3), packMark(9, 2));
    p.push(eventOf(4)); // no mark
    await p.flush();
    const site = a.sketches.filter((s) => s.dimension === 'site');
    expect(site).toHaveLength(1);
    expect(site[0]).toMatchObject({ day: '2026-11-24', site: 'oblachko', value: '' });
    expect(site[0]?.registers).toEqual([
      [5, 7],
      [9, 2],
    ]);
    const device = a.sketches.find((s) => s.dimension === 'device');
    expect(device?.value).toBe('desktop');
    for (const e of a.stored.values()) expect(JSON.stringify(e)).not.toMatch(/mark|visitor/);
  });

  it('builds a batch once for every aggregator, when the first one takes it', async () => {
    const seen: Array<{ name: string; batch: unknown }> = [];
    const spy = (name: string) => {
      const sink = sinkDouble(name);
      const write = sink.write.bind(sink);
      sink.write = (batch, signal) => {
        seen.push({ name, batch });
        return write(batch, signal);
      };
      return sink;
    };
    const a = spy('a');
    const b = spy('b');
    const p = track(createPipeline({ aggregators: [a, b], spool: false }));
    p.push(eventOf(1), packMark(5, 3));
    p.push(eventOf(2), packMark(9, 2));
    await p.flush();
    expect(seen.map((s) => s.name).sort()).toEqual(['a', 'b']);
    // One object for both lanes: the sketches were built once.
    expect(seen[0]?.batch).toBe(seen[1]?.batch);
    expect(a.sketches.find((s) => s.dimension === 'site')?.registers).toEqual([
      [5, 3],
      [9, 2],
    ]);
    expect(b.sketches).toEqual(a.sketches);
  });

  it('merges enrichment into copies of events, waiting at most enrichTimeoutMs', async () => {
    const a = sinkDouble('a');
    const p = track(createPipeline({ aggregators: [a], spool: false, enrichTimeoutMs: 50 }));
    const original = eventOf(1);
    p.push(original, undefined, Promise.resolve({ isp: 'Rostelecom', asn: 12389, domain: 'rostelecom.ru' }));
    p.push(eventOf(2), undefined, new Promise(() => undefined)); // never resolves
    p.push(eventOf(3), undefined, Promise.reject(new Error('dns failed')));
    const started = Date.now();
    await p.flush();
    expect(Date.now() - started).toBeLessThan(1000);
    expect(a.stored.get(original.id)?.client).toEqual({
      address: '203.0.113.0',
      prefixLength: 24,
      isp: 'Rostelecom',
      asn: 12389,
      domain: 'rostelecom.ru',
    });
    expect(original.client.isp).toBeUndefined(); // the pushed event is never mutated
    expect(a.stored.get(eventOf(2).id)?.client.isp).toBeUndefined();
    expect(a.stored.size).toBe(3);
    // enrichment feeds the isp/domain sketches when a mark is present
  });

  it('a slow aggregator does not hold back a fast one', async () => {
    const fast = sinkDouble('fast');
    const slow = sinkDouble('slow', 'hang');
    const p = track(
      createPipeline({
        aggregators: [slow, fast],
        batch: { maxEvents: 5, maxWaitMs: 5 },
        retry: { attemptTimeoutMs: 60_000 },
        spool: false,
      }),
    );
    for (let i = 0; i < 20; i++) p.push(eventOf(i));
    await until(() => fast.stored.size === 20, 2000);
    const m = p.metrics();
    expect(m.aggregators.fast?.delivered).toBe(20);
    expect(m.aggregators.slow?.delivered).toBe(0);
    expect(m.queued).toBe(20); // top-level: still held in memory for "slow"
    expect(invariantViolation(m)).toBeUndefined();
  });
});

describe('retry, refusal and health', () => {
  it('retries with backoff, then delivers; health shows the failing streak', async () => {
    const a = sinkDouble('a');
    a.failUntil = Date.now() + 150;
    const p = track(
      createPipeline({
        aggregators: [a],
        batch: { maxEvents: 2, maxWaitMs: 5 },
        retry: { initialMs: 20, maxMs: 50, maxAttempts: 50 },
        spool: false,
        onError: () => undefined,
      }),
    );
    p.push(eventOf(1));
    p.push(eventOf(2));
    await until(() => p.health().ok === false, 1000);
    const h = p.health().aggregators[0];
    expect(h?.failingSince).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(h?.lastError?.message).toContain('simulated outage');
    await until(() => a.stored.size === 2, 3000);
    expect(p.health().ok).toBe(true);
    const m = p.metrics();
    expect(m.retried).toBeGreaterThan(0);
    expect(m.aggregators.a?.failures).toBeGreaterThan(0);
    expect(m.delivered).toBe(2);
  });

  it('does not retry a non-retryable error: dead-letters, counts as dropped, reports', async () => {
    const errors: PrivacyLogError[] = [];
    const a = sinkDouble('a', 'refuse');
    const p = track(
      createPipeline({
        aggregators: [a],
        spool: { dir: tmp() },
        retry: { initialMs: 1 },
        onError: (e) => errors.push(e),
      }),
    );
    p.push(eventOf(1));
    p.push(eventOf(2));
    await p.flush();
    expect(a.writes).toBe(1);
    const m = p.metrics();
    expect(m).toMatchObject({ accepted: 2, dropped: 2, delivered: 0, retried: 0 });
    expect(m.aggregators.a?.deadLettered).toBe(1);
    expect(errors.some((e) => e.code === ERROR_CODES.AGGREGATOR_FAILED && /retry cannot fix/.test(e.message))).toBe(
      true,
    );
  });

  it('without a spool, exhausted retries drop the batch and report it', async () => {
    const errors: PrivacyLogError[] = [];
    const a = sinkDouble('a', 'fail');
    const p = track(
      createPipeline({
        aggregators: [a],
        spool: false,
        retry: { initialMs: 1, maxMs: 2, maxAttempts: 3 },
        onError: (e) => errors.push(e),
      }),
    );
    p.push(eventOf(1));
    await p.flush();
    expect(a.writes).toBeGreaterThanOrEqual(1);
    expect(p.metrics()).toMatchObject({ accepted: 1, dropped: 1, queued: 0 });
    expect(errors.some((e) => /there is no spool/.test(e.message))).toBe(true);
  });
});

describe('flush and close', () => {
  it('flush rejects with TIMEOUT when a hanging aggregator holds events; nothing is lost', async () => {
    const a = sinkDouble('a', 'hang');
    const p = track(createPipeline({ aggregators: [a], spool: false, retry: { attemptTimeoutMs: 60_000 } }));
    p.push(eventOf(1));
    const err = await p.flush({ timeoutMs: 50 }).catch((e: unknown) => e);
    expect(isPrivacyLogError(err, ERROR_CODES.TIMEOUT)).toBe(true);
    expect(p.metrics().queued).toBe(1);
  });

  it('close is idempotent, spools what a hanging aggregator holds, and push afterwards returns false', async () => {
    const dir = tmp();
    const errors: PrivacyLogError[] = [];
    const a = sinkDouble('a', 'hang');
    const p = createPipeline({
      aggregators: [a],
      spool: { dir },
      retry: { attemptTimeoutMs: 60_000 },
      onError: (e) => errors.push(e),
    });
    for (let i = 0; i < 3; i++) p.push(eventOf(i));
    const c1 = p.close({ timeoutMs: 100 });
    const c2 = p.close();
    expect(c2).toBe(c1);
    await c1;
    expect(a.closed).toBe(true);
    expect(p.metrics()).toMatchObject({ accepted: 3, spoolPending: 3, queued: 0, dropped: 0 });
    expect(errors.some((e) => e.code === ERROR_CODES.TIMEOUT)).toBe(true);
    expect(p.push(eventOf(9))).toBe(false);
    expect(p.metrics()).toMatchObject({ accepted: 4, dropped: 1 });
    expect(errors.some((e) => e.code === ERROR_CODES.CLOSED)).toBe(true);
    expect(invariantViolation(p.metrics())).toBeUndefined();

    // A restart with the same spool replays them.
    const b = sinkDouble('a');
    const q = track(createPipeline({ aggregators: [b], spool: { dir } }));
    expect(q.metrics()).toMatchObject({ accepted: 3, recovered: 3, spoolPending: 3 });
    await until(() => b.stored.size === 3, 3000);
    await until(() => q.metrics().spoolPending === 0, 3000);
    expect(q.metrics()).toMatchObject({ accepted: 3, delivered: 3, replayed: 3 });
  });

  it('close does not wait out a stuck enrichment beyond its deadline, and keeps the event', async () => {
    const a = sinkDouble('a');
    const p = createPipeline({
      aggregators: [a],
      spool: { dir: tmp() },
      enrichTimeoutMs: 60_000,
      onError: () => undefined,
    });
    p.push(eventOf(1), undefined, new Promise(() => undefined));
    const started = Date.now();
    await p.close({ timeoutMs: 200 });
    expect(Date.now() - started).toBeLessThan(5000);
    const m = p.metrics();
    expect(m.dropped).toBe(0);
    expect(m.queued).toBe(0);
    expect(m.delivered + m.spoolPending).toBe(1);
  });

  it('close rejects with TIMEOUT when events could not be kept (no spool)', async () => {
    const a = sinkDouble('a', 'hang');
    const p = createPipeline({
      aggregators: [a],
      spool: false,
      retry: { attemptTimeoutMs: 60_000 },
      onError: () => undefined,
    });
    p.push(eventOf(1));
    const err = await p.close({ timeoutMs: 50 }).catch((e: unknown) => e);
    expect(isPrivacyLogError(err, ERROR_CODES.TIMEOUT)).toBe(true);
    expect(p.metrics()).toMatchObject({ accepted: 1, dropped: 1, queued: 0 });
  });
});

describe('overflow', () => {
  it("'drop-newest' drops batches for a lane that is behind, and counts them", async () => {
    const errors: PrivacyLogError[] = [];
    const slow = sinkDouble('slow', 'hang');
    const p = track(
      createPipeline({
        aggregators: [slow],
        batch: { maxEvents: 10, maxWaitMs: 1 },
        queue: { maxEvents: 30, overflow: 'drop-newest' },
        retry: { attemptTimeoutMs: 60_000 },
        spool: false,
        onError: (e) => errors.push(e),
      }),
    );
    await pushInTurns(p, 100, 10);
    await until(() => p.metrics().aggregators.slow?.dropped === 70, 2000);
    const m = p.metrics();
    expect(m.queued).toBe(30);
    expect(m.dropped).toBe(70);
    expect(errors.every((e) => !/queue is full/.test(e.message))).toBe(true); // the lane dropped, not the door
    expect(errors.some((e) => /drop-newest/.test(e.message))).toBe(true);
    expect(invariantViolation(m)).toBeUndefined();
  });

  it("'spool' moves a lane's backlog to disk instead", async () => {
    const slow = sinkDouble('slow', 'hang');
    const p = track(
      createPipeline({
        aggregators: [slow],
        batch: { maxEvents: 10, maxWaitMs: 1 },
        queue: { maxEvents: 30, overflow: 'spool' },
        retry: { attemptTimeoutMs: 60_000 },
        spool: { dir: tmp() },
        onError: () => undefined,
      }),
    );
    await pushInTurns(p, 100, 10);
    await until(() => p.metrics().spoolPending === 90, 2000);
    const m = p.metrics();
    expect(m.queued).toBe(10); // the batch in flight
    expect(m.dropped).toBe(0);
    expect(m.aggregators.slow?.spoolBytes).toBeGreaterThan(0);
    expect(invariantViolation(m)).toBeUndefined();
  });

  it('the door itself is bounded: beyond queue.maxEvents unbatched events, push returns false', () => {
    const p = track(
      createPipeline({
        batch: { maxEvents: 10, maxWaitMs: 60_000 },
        queue: { maxEvents: 10 },
        spool: false,
        onError: () => undefined,
      }),
    );
    let accepted = 0;
    for (let i = 0; i < 25; i++) if (p.push(eventOf(i))) accepted++;
    // the first cut happens synchronously at 10 events but is prepared on a later turn
    expect(accepted).toBe(10);
    expect(p.metrics()).toMatchObject({ accepted: 25, dropped: 15, queued: 10 });
  });
});

describe('spool limits and hanging sinks', () => {
  it('evicts the oldest spool segment at maxBytes: counted as dropped, reported, invariant kept', async () => {
    const errors: PrivacyLogError[] = [];
    const down = sinkDouble('down', 'fail');
    const p = track(
      createPipeline({
        aggregators: [down],
        batch: { maxEvents: 20, maxWaitMs: 1 },
        retry: { initialMs: 1, maxMs: 60_000, maxAttempts: 1 },
        spool: { dir: tmp(), maxBytes: 64 * 1024, segmentBytes: 16 * 1024 },
        onError: (e) => errors.push(e),
      }),
    );
    await pushInTurns(p, 2000, 20);
    await p.flush();
    const m = p.metrics();
    const lane = m.aggregators.down;
    expect(lane?.evicted).toBeGreaterThan(0);
    expect(m.dropped).toBe((lane?.evicted ?? 0) * 20);
    expect(m.spoolPending).toBe(2000 - m.dropped);
    expect(lane?.spoolBytes).toBeLessThanOrEqual(64 * 1024 + 16 * 1024);
    expect(invariantViolation(m)).toBeUndefined();
    expect(errors.some((e) => /reached spool.maxBytes/.test(e.message))).toBe(true);
  });

  it('aborts a hanging write after attemptTimeoutMs, spools, and replays once the sink answers', async () => {
    const sink = sinkDouble('sink', 'hang');
    const p = track(
      createPipeline({
        aggregators: [sink],
        batch: { maxEvents: 5, maxWaitMs: 1 },
        retry: { initialMs: 1, maxMs: 20, maxAttempts: 2, attemptTimeoutMs: 20 },
        spool: { dir: tmp() },
        onError: () => undefined,
      }),
    );
    for (let i = 0; i < 10; i++) p.push(eventOf(i));
    await until(() => p.metrics().spoolPending === 10, 3000);
    expect(p.health().aggregators[0]?.lastError?.code).toBe(ERROR_CODES.TIMEOUT);
    sink.mode = 'ok';
    await until(() => p.metrics().delivered === 10, 3000);
    expect(sink.stored.size).toBe(10);
    expect(p.metrics()).toMatchObject({ spooled: 10, replayed: 10, dropped: 0, queued: 0, spoolPending: 0 });
  });
});
