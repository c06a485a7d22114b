/**
 * Capture parsers, one by one (DESIGN §12: the whole capture hot path has 3 µs;
 * each parser aims at 0.3–0.5 µs). Caches warm, realistic inputs, ns per call:
 * the median of R timed loops of N calls, next to an empty call as a baseline
 * (on a loaded machine every figure grows with it). Then the worst cases, one
 * call each, uncached: 64 KiB User-Agents and the shapes of the ua-parser-js
 * ReDoS payloads, in ms.
 *
 *   npx tsx bench/capture-parsers.ts [--iterations N] [--repeats R]
 *
 * The last line is the figures as JSON, for bench/run.ts.
 */
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { createIpAnonymizer, normalizeAddress } from '../src/capture/anonymize-ip.js';
import { compileTrustProxy, resolveClientAddress } from '../src/capture/client-ip.js';
import { createDownloadDetector } from '../src/capture/download.js';
import { createKindClassifier } from '../src/capture/kind.js';
import { createReferrerReducer } from '../src/capture/referrer.js';
import { createUrlReducer } from '../src/capture/url.js';
import { createUserAgentParser } from '../src/capture/user-agent.js';
import { median } from './lib/stats.js';

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  const v = i === -1 ? Number.NaN : Number(process.argv[i + 1]);
  return Number.isInteger(v) && v > 0 ? v : fallback;
}

const ITERATIONS = flag('--iterations', 20_000);
const REPEATS = flag('--repeats', 15);

const CHROME =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
const HINTS = {
  secChUa: '"Google Chrome";v="131", "Chromium";v="131", "Not_A Brand";v="24"',
  secChUaPlatform: '"Windows"',
  secChUaMobile: '?0',
};
const AGENTS = [
  CHROME,
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1',
  'Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36',
];
const URLS = [
  '/',
  '/news/2024/11/open-day?utm_source=vk&utm_medium=post&fbclid=IwAR0abc',
  '/documents/annual-report-2024.pdf',
  '/groups/solnyshko',
  '/reset/3f2a9c8e7d6b5a4f3e2d1c0b?email=parent%40mail.ru',
];
const REFERERS = [
  'https://yandex.ru/search/?text=детский+сад+облачко',
  'https://oblachko.ru/news/2024/11/open-day?utm_source=x',
  'https://vk.com/wall-123_456',
  'https://www.google.com/',
];

/** ns per call of `fn(i)`: the median over REPEATS loops of ITERATIONS calls, after a warm-up. */
function nsPerOp(fn: (i: number) => unknown): number {
  let sink = 0;
  for (let i = 0; i < ITERATIONS; i++) sink += fn(i) === undefined ? 0 : 1;
  const samples: number[] = [];
  for (let r = 0; r < REPEATS; r++) {
    const t0 = performance.now();
    for (let i = 0; i < ITERATIONS; i++) sink += fn(i) === undefined ? 0 : 1;
    samples.push(((performance.now() - t0) * 1e6) / ITERATIONS);
  }
  if (sink < 0) console.log(sink); // keeps the calls from being optimized away
  return median(samples);
}

function msOnce(fn: () => unknown): number {
  const t0 = performance.now();
  fn();
  return performance.now() - t0;
}

const anonymize = createIpAnonymizer();
const trustLoopback = compileTrustProxy('loopback');
const trustHops = compileTrustProxy(1);
const trustNone = compileTrustProxy(false);
const parseAgent = createUserAgentParser();
const parseUncached = createUserAgentParser({ cacheSize: 0 });
const reduceUrl = createUrlReducer();
const reduceReferrer = createReferrerReducer();
const detectDownload = createDownloadDetector();
const classify = createKindClassifier();

const figures: Record<string, number> = {
  'baseline (empty call)': nsPerOp((i) => i),
  'resolveClientAddress, trust none': nsPerOp(() => resolveClientAddress('203.0.113.77', '198.51.100.7', trustNone)),
  'resolveClientAddress, 1 hop': nsPerOp(() => resolveClientAddress('127.0.0.1', '203.0.113.77', trustHops)),
  'resolveClientAddress, loopback CIDRs': nsPerOp(() =>
    resolveClientAddress('127.0.0.1', '203.0.113.77, 127.0.0.1', trustLoopback),
  ),
  'normalizeAddress IPv4': nsPerOp(() => normalizeAddress('203.0.113.77')),
  'anonymize IPv4': nsPerOp(() => anonymize('203.0.113.77')),
  'anonymize IPv4-mapped': nsPerOp(() => anonymize('::ffff:203.0.113.77')),
  'anonymize IPv6': nsPerOp(() => anonymize('2a00:1fa0:4a1:12::7c')),
  'user agent, warm cache': nsPerOp((i) => parseAgent(AGENTS[i & 3])),
  'user agent + client hints, warm cache': nsPerOp(() => parseAgent(CHROME, HINTS)),
  'user agent, uncached parse (cache miss)': nsPerOp((i) => parseUncached(AGENTS[i & 3])),
  'url reducer (mix)': nsPerOp((i) => reduceUrl(URLS[i % URLS.length] as string)),
  'referrer reducer (mix)': nsPerOp((i) => reduceReferrer(REFERERS[i & 3], 'oblachko.ru')),
  'download detector': nsPerOp((i) =>
    detectDownload({ path: URLS[i & 3] as string, status: 200, contentLength: 100, bytesSent: 100, finished: true }),
  ),
  'kind classifier': nsPerOp((i) =>
    classify({ method: 'GET', path: URLS[i & 3] as string, status: 200, contentType: 'text/html', isDownload: false }),
  ),
};

/**
 * A hostile input, uncached, once the regex engine has seen its shape: the first
 * call in a process also compiles the regexes it reaches (tens of ms, once), so
 * each payload runs once to warm up and is then timed again, through a parser
 * without a cache (the payloads differ only past the 512-character cap).
 */
function hostileMs(payload: string): number {
  const parse = createUserAgentParser({ cacheSize: 0 });
  parse(payload);
  return msOnce(() => parse(payload));
}

const firstHostile = msOnce(() => parseUncached(`Mozilla/5.0 ${'(b'.repeat(32 * 1024)}`));
const worst: Record<string, number> = {
  'first hostile UA in the process (compiles)': firstHostile,
  'UA 64 KiB "(a(a(a…"': hostileMs(`Mozilla/5.0 ${'(a'.repeat(32 * 1024)}`),
  'UA 64 KiB spaces': hostileMs(`${' '.repeat(65_536)}x`),
  'UA 64 KiB random printable': hostileMs(
    Array.from({ length: 65_536 }, (_, i) => String.fromCharCode(33 + ((i * 7919) % 94))).join(''),
  ),
  'UA ReDoS shape: Redmi + spaces': hostileMs(`Mozilla/5.0 (Linux; Android 9; Redmi Note${' '.repeat(60_000)}X`),
  'UA ReDoS shape: iphone os + digits': hostileMs(`iphone os ${'1'.repeat(60_000)}`),
  'UA ReDoS shape: MI repeated': hostileMs(`Mozilla/5.0 (Linux; Android 9; MI ${'MI '.repeat(20_000)}Build`),
  'URL 16 KiB': msOnce(() => createUrlReducer()(`/${'a1-'.repeat(5500)}?ref=${'x'.repeat(16_000)}`)),
  'X-Forwarded-For 16 KiB': msOnce(() => resolveClientAddress('127.0.0.1', '10.0.0.1, '.repeat(1600), trustLoopback)),
};

const [load1] = loadavg();
console.log(`capture parsers — ${ITERATIONS} calls × ${REPEATS} loops, median; load average ${load1?.toFixed(2)}`);
for (const [name, ns] of Object.entries(figures))
  console.log(`  ${name.padEnd(42)} ${ns.toFixed(0).padStart(7)} ns/op`);
console.log('worst cases, one call each:');
for (const [name, ms] of Object.entries(worst)) console.log(`  ${name.padEnd(42)} ${ms.toFixed(3).padStart(7)} ms`);
console.log(
  JSON.stringify({
    nsPerOp: Object.fromEntries(Object.entries(figures).map(([k, v]) => [k, Math.round(v)])),
    worstMs: Object.fromEntries(Object.entries(worst).map(([k, v]) => [k, Math.round(v * 1000) / 1000])),
    loadAverage: load1,
  }),
);
