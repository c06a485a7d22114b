/**
 * Generated datasets for the conformance suite: valid events plus the sketch
 * updates a pipeline would build for them from visitor marks.
 */
import { createHash, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import type { Batch, SketchUpdate } from '../../src/aggregators/aggregator.js';
import type { PrivacyEvent } from '../../src/event.js';
import { markIndex, markRank, packMark, sketchKeysOf } from '../../src/stats/visitor-mark.js';

/** A visitor mark as capture would compute it: top 14 bits → index, leading zeros of the rest + 1 → rank. */
export function visitorMark(visitor: string, day: string): number {
  const h = createHash('sha256').update(`${day}|${visitor}`).digest();
  const x = h.readBigUInt64BE(0);
  const index = Number(x >> 50n);
  let rest = x & ((1n << 50n) - 1n);
  let rank = 1;
  while (rank <= 50 && (rest & (1n << 49n)) === 0n) {
    rank++;
    rest <<= 1n;
  }
  return packMark(index, Math.min(rank, 51));
}

/** Sketch updates for events with their visitors, as the pipeline builds them. */
export function sketchUpdatesFor(events: readonly PrivacyEvent[], visitors: readonly string[]): SketchUpdate[] {
  const maps = new Map<string, { u: Omit<SketchUpdate, 'registers'>; regs: Map<number, number> }>();
  events.forEach((e, i) => {
    const day = e.time.slice(0, 10);
    const mark = visitorMark(`${visitors[i]}|${e.site}`, day);
    for (const [dimension, value] of sketchKeysOf(e)) {
      const key = `${day}\u0000${e.site}\u0000${dimension}\u0000${value}`;
      let m = maps.get(key);
      if (m === undefined) {
        m = { u: { day, site: e.site, dimension, value }, regs: new Map() };
        maps.set(key, m);
      }
      const idx = markIndex(mark);
      m.regs.set(idx, Math.max(m.regs.get(idx) ?? 0, markRank(mark)));
    }
  });
  return [...maps.values()].map(({ u, regs }) => ({ ...u, registers: [...regs.entries()] }));
}

/** A UUIDv7 for an instant (time-ordered, as capture makes them). */
export function uuidv7(ts: number): string {
  const r = randomBytes(10).toString('hex');
  const t = ts.toString(16).padStart(12, '0');
  const variant = ((Number.parseInt(r[3]!, 16) & 0x3) | 0x8).toString(16);
  return `${t.slice(0, 8)}-${t.slice(8, 12)}-7${r.slice(0, 3)}-${variant}${r.slice(4, 7)}-${r.slice(8, 20)}`;
}

export interface EventSpec {
  time: string;
  site?: string;
  kind?: PrivacyEvent['kind'];
  path?: string;
  browser?: string;
  os?: string;
  device?: PrivacyEvent['agent']['device'];
  bot?: boolean;
  referrer?: string;
  isp?: string;
  domain?: string;
  file?: string;
  session?: string;
}

export function makeEvent(s: EventSpec): PrivacyEvent {
  const kind = s.kind ?? (s.file ? 'download' : 'pageview');
  const e: PrivacyEvent = {
    id: uuidv7(Date.parse(s.time)),
    time: s.time,
    site: s.site ?? 'oblachko',
    kind,
    request: { method: 'GET', path: s.path ?? '/' },
    response: { status: 200, bytes: 512, durationMs: 3.5 },
    client: { address: '203.0.113.0', prefixLength: 24 },
    agent: { device: s.device ?? (s.bot ? 'bot' : 'desktop'), bot: s.bot ?? false },
    consent: s.session
      ? { analytics: 'granted', source: 'choice', policyVersion: '1' }
      : { analytics: 'unset', source: 'default' },
  };
  if (s.browser) e.agent.browser = s.browser;
  if (s.os) e.agent.os = s.os;
  if (s.isp) e.client.isp = s.isp;
  if (s.domain) e.client.domain = s.domain;
  if (s.referrer) e.referrer = { host: s.referrer, type: 'external' };
  if (s.file) e.download = { file: s.file, complete: true };
  if (s.session) e.session = { id: s.session };
  return e;
}

/** The reference day generated datasets are placed around. */
export const BASE_DAY = '2026-03-10';

export interface Dataset {
  events: PrivacyEvent[];
  visitors: string[];
}

export function batchOf(d: Dataset, from = 0, to = d.events.length): Batch {
  const events = d.events.slice(from, to);
  return { events, sketches: sketchUpdatesFor(events, d.visitors.slice(from, to)) };
}

const PAGES = ['/', '/news', '/menu', '/contacts', '/группы', '/files'];
const BROWSERS = ['Chrome', 'Firefox', 'Safari', 'Yandex', undefined];
const OSES = ['Windows', 'Android', 'iOS', 'Linux'];
const REFERRERS = ['yandex.ru', 'google.com', 'vk.com', undefined, undefined];
const ISPS = ['Rostelecom', 'MTS', undefined];

/** fast-check: a dataset of up to `max` events over ±9 days around BASE_DAY, with few enough values that groups pass k. */
export function datasetArbitrary(max = 300): fc.Arbitrary<Dataset> {
  const rec = fc.record({
    day: fc.integer({ min: -9, max: 1 }),
    minute: fc.integer({ min: 0, max: 1439 }),
    kind: fc.constantFrom('pageview', 'pageview', 'pageview', 'download', 'api', 'asset'),
    page: fc.integer({ min: 0, max: PAGES.length - 1 }),
    browser: fc.integer({ min: 0, max: BROWSERS.length - 1 }),
    os: fc.integer({ min: 0, max: OSES.length - 1 }),
    referrer: fc.integer({ min: 0, max: REFERRERS.length - 1 }),
    isp: fc.integer({ min: 0, max: ISPS.length - 1 }),
    visitor: fc.integer({ min: 0, max: 40 }),
    bot: fc.integer({ min: 0, max: 19 }).map((n) => n === 0),
    session: fc.option(fc.integer({ min: 0, max: 15 }), { freq: 2 }),
    site: fc.constantFrom('oblachko', 'oblachko', 'other.example'),
  });
  return fc.array(rec, { minLength: 1, maxLength: max, size: 'large' }).map((recs) => {
    const base = Date.parse(`${BASE_DAY}T00:00:00.000Z`);
    const events: PrivacyEvent[] = [];
    const visitors: string[] = [];
    for (const r of recs) {
      const t = new Date(base + r.day * 86_400_000 + r.minute * 60_000 + (r.visitor % 7) * 1000).toISOString();
      events.push(
        makeEvent({
          time: t,
          site: r.site,
          kind: r.kind as PrivacyEvent['kind'],
          path: r.kind === 'download' ? '/files/menu.pdf' : PAGES[r.page],
          file: r.kind === 'download' ? 'menu.pdf' : undefined,
          browser: r.bot ? 'Googlebot' : BROWSERS[r.browser],
          os: OSES[r.os],
          bot: r.bot,
          referrer: REFERRERS[r.referrer],
          isp: ISPS[r.isp],
          session: r.session === null || r.bot ? undefined : `s${r.session}-${r.day}`,
        }),
      );
      visitors.push(`v${r.visitor}`);
    }
    return { events, visitors };
  });
}

/** A small deterministic PRNG (mulberry32), so synthetic data is reproducible. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Synthetic traffic for benchmarks: `n` events spread evenly over `days` days
 * ending at `end`, with a skewed page popularity, a few browsers, referrers,
 * ISPs, 5 % downloads, 2 % bots and a fifth of visitors consenting.
 */
export function syntheticDataset(n: number, days: number, end: number, seed = 1): Dataset {
  const rnd = prng(seed);
  const pick = <T>(list: readonly T[]) => list[Math.floor(rnd() * list.length)]!;
  const skew = (max: number) => Math.floor(max * rnd() ** 3);
  const browsers = ['Chrome', 'Chrome', 'Chrome', 'Firefox', 'Safari', 'Safari', 'Yandex', 'Edge', 'Samsung Internet'];
  const oses = ['Windows', 'Android', 'Android', 'iOS', 'macOS', 'Linux'];
  const refs = ['yandex.ru', 'google.com', 'vk.com', 'mail.ru', 'ok.ru', 't.me', 'dzen.ru'];
  const isps = ['Rostelecom', 'MTS', 'Beeline', 'MegaFon', 'Tele2', 'ER-Telecom', 'Dom.ru'];
  const start = end - days * 86_400_000;
  const events: PrivacyEvent[] = new Array(n);
  const visitors: string[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const ts = start + Math.floor((i / n) * days * 86_400_000);
    const visitor = Math.floor(rnd() * 20_000);
    const bot = rnd() < 0.02;
    const download = !bot && rnd() < 0.05;
    events[i] = makeEvent({
      time: new Date(ts).toISOString(),
      kind: download ? 'download' : 'pageview',
      path: download ? '/files/menu.pdf' : `/page/${skew(300)}`,
      file: download ? `doc-${skew(40)}.pdf` : undefined,
      browser: bot ? 'Googlebot' : pick(browsers),
      os: pick(oses),
      device: bot ? 'bot' : rnd() < 0.55 ? 'mobile' : 'desktop',
      bot,
      referrer: rnd() < 0.3 ? pick(refs) : undefined,
      isp: pick(isps),
      domain: rnd() < 0.5 ? `${pick(['rt', 'mts', 'beeline', 'megafon'])}.ru` : undefined,
      session: !bot && visitor % 5 === 0 ? `s${visitor}-${Math.floor(ts / 86_400_000)}` : undefined,
    });
    visitors[i] = `v${visitor}`;
  }
  return { events, visitors };
}
