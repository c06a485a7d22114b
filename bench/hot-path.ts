/**
 * Hot-path micro-benchmark (DESIGN §12, budget ≤ 3 µs per request): the one
 * pass over the request's raw header lines + consent +
 * capture (client address with a trusted proxy, truncation, user agent with
 * client hints, referrer, URL reduction, kind, visitor mark, ISP lookup) +
 * pipeline.push, built from the same parts and options as src/privacy-log.ts,
 * over the realistic request mix of bench/lib/request-mix.ts, caches warm. The
 * pipeline delivers into an in-memory counting sink.
 *
 *   npx tsx bench/hot-path.ts [--json] [--iterations N] [--repeats R]
 *
 * Figures: µs per request for the whole path (median of R timed loops of N
 * requests; the pipeline drains between loops, outside the timing) as wall
 * time and as the process's CPU time (which a busy machine disturbs less),
 * each stage alone, and the whole path including the pipeline's delivery to
 * the sink.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { performance } from 'node:perf_hooks';
import { createCapture, type RequestFacts, type ResponseFacts } from '../src/capture/capture.js';
import { compileTrustProxy } from '../src/capture/client-ip.js';
import { createVisitorHasher } from '../src/capture/visitor-hash.js';
import { type ConsentState, createConsent } from '../src/consent/consent.js';
import { createEnricher } from '../src/enrich/enricher.js';
import type { PrivacyEvent } from '../src/event.js';
import { readRawHeaders } from '../src/http/request-headers.js';
import { resolvePrivacyLogOptions } from '../src/options.js';
import { createPipeline } from '../src/pipeline/create-pipeline.js';
import { countingSink } from './lib/counting-sink.js';
import { REQUEST_MIX } from './lib/request-mix.js';
import { median } from './lib/stats.js';

export const HOT_PATH_BUDGET_US = 3;
const DEFAULT_ITERATIONS = 4_000;
const DEFAULT_REPEATS = 60;
const WARMUP_ITERATIONS = 100_000;

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  const v = i === -1 ? Number.NaN : Number(process.argv[i + 1]);
  return Number.isInteger(v) && v > 0 ? v : fallback;
}

const json = process.argv.includes('--json');
const iterations = flag('--iterations', DEFAULT_ITERATIONS);
const repeats = flag('--repeats', DEFAULT_REPEATS);

// The same composition as createPrivacyLog() with { trustProxy: 'loopback' }.
const o = resolvePrivacyLogOptions({ trustProxy: 'loopback' });
const trust = compileTrustProxy(o.trustProxy);
const consent = createConsent(o.consent);
const sink = countingSink();
const pipeline = createPipeline({ aggregators: [sink], spool: false });
const hasher = createVisitorHasher({ saltSource: (day, candidate) => pipeline.salt(day, candidate) });
const enricher = createEnricher(o.enrich);
const capture = createCapture({
  site: o.site,
  trust,
  ip: o.ip,
  queryAllowList: o.queryAllowList,
  downloadExtensions: o.downloadExtensions,
  kinds: o.kinds,
  ignore: o.ignore,
  hasher,
  enricher,
});

interface Prepared {
  url: string;
  /** The header lines as Node's parser hands them over (req.rawHeaders). */
  raw: string[];
  headers: IncomingHttpHeaders;
  cookie: string | undefined;
  gpc: string | undefined;
  dnt: string | undefined;
}
const requests: Prepared[] = REQUEST_MIX.map((r) => ({
  url: r.path,
  raw: Object.entries(r.headers).flat(),
  headers: { ...r.headers },
  cookie: r.headers.cookie,
  gpc: r.headers['sec-gpc'],
  dnt: r.headers.dnt,
}));
const MASK = requests.length - 1; // the mix has a power-of-two length
if ((requests.length & MASK) !== 0) throw new Error('the request mix must have a power-of-two length');
const response: ResponseFacts = {
  status: 200,
  contentLength: 78,
  contentType: 'text/html; charset=utf-8',
  finished: true,
  durationMs: 0.25,
};

let sinkHole = 0;

/** What begin() and finish() do per request (reading the raw header lines included), minus Node's response-header calls. */
function oneRequest(i: number): void {
  const r = requests[i & MASK] as Prepared;
  const headers = readRawHeaders(r.raw);
  const startMs = Date.now();
  let state: ConsentState = consent.resolve(headers.cookie, headers.secGpc, headers.dnt, startMs);
  if (state.analytics === 'granted') {
    const sessionId = state.sessionId ?? consent.newSessionId();
    if (!state.sessionId) state = { ...state, sessionId };
    sinkHole += consent.sessionCookie(sessionId, false).length;
  }
  const facts: RequestFacts = {
    method: 'GET',
    url: r.url,
    headers,
    socketAddress: '127.0.0.1',
    startMs,
  };
  const captured = capture.record(facts, response, state);
  if (captured) pipeline.push(captured.event, captured.visitor, captured.enrichment);
}

function drain(): Promise<void> {
  return pipeline.flush({ timeoutMs: 10_000 });
}

function cpuUs(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

async function timeWholePath(): Promise<{ perRequestUs: number[]; cpuPerRequestUs: number[]; withDeliveryUs: number }> {
  const perRequestUs: number[] = [];
  const cpuPerRequestUs: number[] = [];
  const t0 = performance.now();
  for (let rep = 0; rep < repeats; rep++) {
    const cpu0 = cpuUs();
    const start = performance.now();
    for (let i = 0; i < iterations; i++) oneRequest(i);
    perRequestUs.push(((performance.now() - start) * 1000) / iterations);
    cpuPerRequestUs.push((cpuUs() - cpu0) / iterations);
    await drain();
  }
  const withDeliveryUs = ((performance.now() - t0) * 1000) / (iterations * repeats);
  return { perRequestUs, cpuPerRequestUs, withDeliveryUs };
}

function timeStage(fn: (i: number) => void): number {
  const samples: number[] = [];
  for (let rep = 0; rep < Math.min(repeats, 20); rep++) {
    const start = performance.now();
    for (let i = 0; i < iterations; i++) fn(i);
    samples.push(((performance.now() - start) * 1000) / iterations);
  }
  return median(samples);
}

async function main() {
  await hasher.ready().catch(() => undefined);
  // Warm the JIT and every cache (user-agent, ISP, visitor salt).
  for (let done = 0; done < WARMUP_ITERATIONS; done += iterations) {
    for (let i = 0; i < iterations; i++) oneRequest(i);
    await drain();
  }
  const whole = await timeWholePath();

  // Each stage alone, on the same inputs.
  const states = requests.map((r) => consent.resolve(r.cookie, r.gpc, r.dnt));
  const consentUs = timeStage((i) => {
    const r = requests[i & MASK] as Prepared;
    sinkHole += consent.resolve(r.cookie, r.gpc, r.dnt).policyVersion.length;
  });
  const facts = requests.map((r) => ({
    method: 'GET',
    url: r.url,
    headers: readRawHeaders(r.raw),
    socketAddress: '127.0.0.1',
    startMs: Date.now(),
  }));
  const captureUs = timeStage((i) => {
    const c = capture.record(facts[i & MASK] as RequestFacts, response, states[i & MASK] as ConsentState);
    sinkHole += c ? 1 : 0;
  });
  const events: PrivacyEvent[] = [];
  for (let i = 0; i < iterations; i++) {
    const c = capture.record(facts[i & MASK] as RequestFacts, response, states[i & MASK] as ConsentState);
    if (c) events.push(c.event);
  }
  const pushSamples: number[] = [];
  for (let rep = 0; rep < Math.min(repeats, 20); rep++) {
    const start = performance.now();
    for (const e of events) pipeline.push(e, 1);
    pushSamples.push(((performance.now() - start) * 1000) / events.length);
    await drain();
  }
  const pushUs = median(pushSamples);
  await pipeline.close({ timeoutMs: 10_000 });
  hasher.close();
  await enricher.close();

  const metrics = pipeline.metrics();
  const result = {
    budgetUs: HOT_PATH_BUDGET_US,
    iterations,
    repeats,
    perRequestUs: median(whole.perRequestUs),
    minUs: Math.min(...whole.perRequestUs),
    maxUs: Math.max(...whole.perRequestUs),
    cpuPerRequestUs: median(whole.cpuPerRequestUs),
    withDeliveryUs: whole.withDeliveryUs,
    stages: { consentUs, captureUs, pushUs },
    sink: { events: sink.events, batches: sink.batches, sketches: sink.sketches },
    pipeline: metrics,
    withinBudget: median(whole.perRequestUs) <= HOT_PATH_BUDGET_US,
    checksum: sinkHole > 0,
  };
  if (json) {
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return;
  }
  const f = (n: number) => n.toFixed(3);
  console.log(`hot path (consent + capture + push), ${repeats} × ${iterations} requests of the mix, caches warm:`);
  console.log(
    `  per request        ${f(result.perRequestUs)} µs (median; min ${f(result.minUs)}, max ${f(result.maxUs)}) — budget ${HOT_PATH_BUDGET_US} µs: ${result.withinBudget ? 'within' : 'OVER'}`,
  );
  console.log(
    `  CPU time           ${f(result.cpuPerRequestUs)} µs per request (median; process CPU, robust to a busy machine)`,
  );
  console.log(`  incl. delivery     ${f(result.withDeliveryUs)} µs (pipeline batching + in-memory sink, amortized)`);
  console.log(`  consent alone      ${f(consentUs)} µs`);
  console.log(`  capture alone      ${f(captureUs)} µs`);
  console.log(`  push alone         ${f(pushUs)} µs`);
  console.log(
    `  delivered to sink  ${sink.events} events in ${sink.batches} batches; pipeline dropped ${metrics.dropped}, invalid ${metrics.invalid}`,
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
