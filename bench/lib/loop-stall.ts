/**
 * Event-loop stalls on the request path's thread: capture + push for 10
 * requests of the mix on every turn of the loop, for a few seconds, with the
 * pipeline delivering to SQLite (the default store), to an in-memory sink, or
 * to an aggregator that hangs (every write waits until the pipeline aborts it),
 * so that the lane spools every batch to a spool in a temporary directory.
 * The gaps between turns are what a request arriving meanwhile waits for: their
 * p99 is where privacy-log's p99 over bare Koa comes from.
 *
 *   npx tsx bench/lib/loop-stall.ts [sqlite|sink|hanging] [seconds=8] [--json]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Aggregator } from '../../src/aggregators/aggregator.js';
import { sqliteAggregator } from '../../src/aggregators/sqlite/sqlite-aggregator.js';
import { createCapture, type RequestFacts, type ResponseFacts } from '../../src/capture/capture.js';
import { compileTrustProxy } from '../../src/capture/client-ip.js';
import { createVisitorHasher } from '../../src/capture/visitor-hash.js';
import { createConsent } from '../../src/consent/consent.js';
import { resolvePrivacyLogOptions } from '../../src/options.js';
import { createPipeline } from '../../src/pipeline/create-pipeline.js';
import { countingSink } from './counting-sink.js';
import { REQUEST_MIX } from './request-mix.js';

const REQUESTS_PER_TURN = 10;

export interface LoopStallResult {
  store: StallStore;
  seconds: number;
  events: number;
  /** Wall time per captured event, the pipeline's delivery included, µs. */
  usPerEvent: number;
  gapMs: { p50: number; p99: number; p999: number; max: number };
}

export type StallStore = 'sqlite' | 'sink' | 'hanging';

/** Test double for a hung destination: a write only ends when the pipeline aborts it. */
function hungAggregator(): Aggregator {
  return {
    name: 'hung',
    write(_batch, signal?: AbortSignal): Promise<void> {
      return new Promise((_resolve, reject) => {
        signal?.addEventListener('abort', () => reject(signal.reason), { once: true });
      });
    },
  };
}

export async function loopStall(store: StallStore, seconds: number): Promise<LoopStallResult> {
  const o = resolvePrivacyLogOptions({ trustProxy: 'loopback' });
  const hasher = createVisitorHasher({});
  await hasher.ready();
  const capture = createCapture({
    site: o.site,
    trust: compileTrustProxy(o.trustProxy),
    ip: o.ip,
    queryAllowList: o.queryAllowList,
    downloadExtensions: o.downloadExtensions,
    kinds: o.kinds,
    ignore: o.ignore,
    hasher,
    enricher: undefined,
  });
  const consent = createConsent(o.consent);
  const requests: RequestFacts[] = REQUEST_MIX.map((r) => ({
    method: 'GET',
    url: r.path,
    headers: { ...r.headers },
    socketAddress: '127.0.0.1',
    startMs: Date.now(),
  }));
  const states = REQUEST_MIX.map((r) => consent.resolve(r.headers.cookie, r.headers['sec-gpc'], r.headers.dnt));
  const response: ResponseFacts = {
    status: 200,
    contentLength: 78,
    contentType: 'text/html; charset=utf-8',
    finished: true,
    durationMs: 0.25,
  };
  const dir = mkdtempSync(join(tmpdir(), 'privacy-log-stall-'));
  const sink: Aggregator =
    store === 'sink'
      ? countingSink()
      : store === 'hanging'
        ? hungAggregator()
        : sqliteAggregator({ file: join(dir, 'stall.db') });
  const pipeline = createPipeline({
    aggregators: [sink],
    spool: store === 'hanging' ? { dir: join(dir, 'spool') } : false,
    ...(store === 'hanging' ? { onError: () => undefined } : {}),
  });
  const gaps: number[] = [];
  let events = 0;
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  let last = t0;
  await new Promise<void>((done) => {
    const turn = () => {
      gaps.push(performance.now() - last);
      for (let k = 0; k < REQUESTS_PER_TURN; k++, events++) {
        const i = events & 3;
        const req = requests[i] as RequestFacts;
        req.startMs = Date.now();
        const c = capture.record(req, response, states[i] as (typeof states)[number]);
        if (c) pipeline.push(c.event, c.visitor, c.enrichment);
      }
      last = performance.now();
      if (last < end) setImmediate(turn);
      else done();
    };
    setImmediate(turn);
  });
  const loopElapsed = performance.now() - t0;
  // A hung store would hold close() for retry.attemptTimeoutMs: cut it short (what is left is spooled).
  await pipeline.close({ timeoutMs: store === 'hanging' ? 1000 : 30_000 }).catch(() => undefined);
  // With a hung store nothing is delivered: the figure is the loop's own time per event.
  const elapsed = store === 'hanging' ? loopElapsed : performance.now() - t0;
  hasher.close();
  rmSync(dir, { recursive: true, force: true });
  gaps.sort((a, b) => a - b);
  const q = (p: number) =>
    Math.round((gaps[Math.min(gaps.length - 1, Math.floor(p * gaps.length))] ?? 0) * 1000) / 1000;
  return {
    store,
    seconds,
    events,
    usPerEvent: Math.round(((elapsed * 1000) / events) * 100) / 100,
    gapMs: { p50: q(0.5), p99: q(0.99), p999: q(0.999), max: q(1) },
  };
}

if (process.argv[1]?.endsWith('loop-stall.ts')) {
  const arg = process.argv[2];
  const store: StallStore = arg === 'sink' || arg === 'hanging' ? arg : 'sqlite';
  const seconds = Number(process.argv[3]) > 0 ? Number(process.argv[3]) : 8;
  const r = await loopStall(store, seconds);
  if (process.argv.includes('--json')) process.stdout.write(`${JSON.stringify(r)}\n`);
  else {
    console.log(
      `${store}: ${r.events} events in ${seconds} s (${r.usPerEvent} µs each, delivery included); ` +
        `gaps between event-loop turns: p50 ${r.gapMs.p50} ms, p99 ${r.gapMs.p99} ms, p99.9 ${r.gapMs.p999} ms, max ${r.gapMs.max} ms`,
    );
  }
}
