/**
 * The benchmark's arithmetic and its report: medians and ratios, the bars'
 * verdicts, the table, the generated docs/benchmarks.md (machine, versions,
 * date, the hand-written section kept) and the CPU profile summaries. The
 * runner itself is exercised end to end in test/integration/bench-run.test.ts.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { httpBars, scriptBars } from '../../../bench/lib/bars.js';
import { bareOf, CONFIGS, variantsOf } from '../../../bench/lib/configs.js';
import { summarize } from '../../../bench/lib/http-summary.js';
import { detectPinning, pinned } from '../../../bench/lib/proc.js';
import { areaOf, topFunctions } from '../../../bench/lib/profile-top.js';
import type { BenchResults, HttpRun, HttpSummary, ScriptResult } from '../../../bench/lib/results.js';
import { RESULTS_SCHEMA } from '../../../bench/lib/results.js';
import { figureLines, lastJson } from '../../../bench/lib/scripts.js';
import { median, round } from '../../../bench/lib/stats.js';
import { formatHttpTable } from '../../../bench/lib/table.js';
import {
  fence,
  HAND_END,
  HAND_START,
  handWritten,
  lostSomething,
  pipelineEvidence,
  renderBenchmarksDoc,
} from '../../../scripts/write-benchmarks-doc.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

function run(config: string, round: number, rps: number, p99: number, extra: Partial<HttpRun> = {}): HttpRun {
  return {
    config,
    round,
    slot: 0,
    requestsPerSecond: rps,
    latencyP50Ms: p99 / 4,
    latencyP99Ms: p99,
    latencyMeanMs: p99 / 3,
    requests: rps * 8,
    non2xx: 0,
    errors: 0,
    timeouts: 0,
    rssMiB: 100,
    peakRssMiB: 110,
    serverCpuUsPerRequest: 1e6 / rps,
    generatorCpuMs: 4000,
    elapsedMs: 8000,
    exit: null,
    ...extra,
  };
}

/** Three rounds of every configuration, the first and last figures around the median. */
function threeRounds(config: string, rps: number, p99: number): HttpRun[] {
  return [run(config, 1, rps * 1.1, p99 + 0.3), run(config, 2, rps, p99), run(config, 3, rps * 0.9, p99 - 0.2)];
}

const RUNS: HttpRun[] = [
  ...threeRounds('koa-bare', 50_000, 0.6),
  ...threeRounds('koa-privacy-log', 30_000, 1.6),
  ...threeRounds('koa-pino-logger', 26_000, 1.0),
  ...threeRounds('koa-logger', 33_000, 0.9),
  ...threeRounds('express-bare', 10_000, 6.6),
  ...threeRounds('express-privacy-log', 7_500, 7.3),
  ...threeRounds('morgan', 6_700, 7.7),
  ...threeRounds('pino-http', 6_500, 7.6),
  ...threeRounds('express-winston', 5_100, 7.6),
];

/** A script's result as the runner records it, with the JSON it printed. */
function scriptResult(script: string, json: unknown): ScriptResult {
  return { script, args: [], code: 0, timedOut: false, elapsedMs: 1, figures: [], output: '', json };
}

function summaryOf(id: string, s: readonly HttpSummary[]): HttpSummary {
  const found = s.find((x) => x.id === id);
  if (!found) throw new Error(`no summary for ${id}`);
  return found;
}

describe('median and round', () => {
  it('is the middle of the sorted finite values (the mean of the two middle ones for an even count)', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ noNaN: true, min: -1e9, max: 1e9 }), { minLength: 1, maxLength: 30 }), (xs) => {
        const sorted = [...xs].sort((a, b) => a - b);
        const mid = sorted.length >> 1;
        const expected = sorted.length % 2 ? sorted[mid] : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
        expect(median(xs)).toBe(expected);
        expect(median([Number.NaN, ...xs, Number.POSITIVE_INFINITY])).toBe(expected);
      }),
    );
  });

  it('ignores NaN and is NaN for no value; round keeps null for what is not a number', () => {
    expect(median([3, Number.NaN, 1])).toBe(2);
    expect(median([])).toBeNaN();
    expect(median([Number.NaN])).toBeNaN();
    expect(round(1.23456, 2)).toBe(1.23);
    expect(round(Number.NaN)).toBeNull();
  });
});

describe('summarize: medians over the rounds, ratios to the bare framework', () => {
  const s = summarize(CONFIGS, RUNS);

  it('takes the median of each figure and divides by the same framework’s bare medians', () => {
    const koa = summaryOf('koa-privacy-log', s);
    expect(koa.rounds).toBe(3);
    expect(koa.requestsPerSecond).toBe(30_000);
    expect(koa.latencyP99Ms).toBe(1.6);
    expect(koa.ratioToBare).toBe(0.6);
    expect(koa.p99DeltaMs).toBe(1);
    const express = summaryOf('express-privacy-log', s);
    expect(express.ratioToBare).toBe(0.75);
    expect(express.p99DeltaMs).toBe(0.7);
    expect(summaryOf('koa-bare', s).ratioToBare).toBe(1);
  });

  it('has no ratio for a configuration whose bare framework did not run, and counts failures', () => {
    const only = summarize(CONFIGS, [
      ...threeRounds('koa-privacy-log', 30_000, 1.6),
      run('koa-privacy-log', 4, 1, 1, { non2xx: 3, errors: 1, timeouts: 2 }),
    ]);
    const koa = summaryOf('koa-privacy-log', only);
    expect(koa.ratioToBare).toBeNull();
    expect(koa.p99DeltaMs).toBeNull();
    expect(koa.non2xx).toBe(3);
    expect(koa.errors).toBe(3);
    expect(summaryOf('koa-bare', only).rounds).toBe(0);
  });
});

describe('httpBars', () => {
  const names = (bars: ReturnType<typeof httpBars>) => Object.fromEntries(bars.map((b) => [b.name, b.met]));

  it('judges every bar of the issue: ratio, p99, each peer, the hot path', () => {
    const hot = scriptResult('hot-path.ts', { perRequestUs: 2.06, budgetUs: 3 });
    const bars = names(httpBars(summarize(CONFIGS, RUNS), hot));
    expect(bars).toEqual({
      'Koa + privacy-log req/s vs bare Koa': false,
      'Koa + privacy-log p99 vs bare Koa': true,
      'Koa + privacy-log (SQLite) ahead of Koa + koa-pino-logger': true,
      'Koa + privacy-log (SQLite) ahead of Koa + koa-logger': false,
      'Express + privacy-log (SQLite) ahead of Express + morgan': true,
      'Express + privacy-log (SQLite) ahead of Express + pino-http': true,
      'Express + privacy-log (SQLite) ahead of Express + express-winston': true,
      'Hot path (consent + capture + push)': true,
    });
  });

  it('meets a bar exactly at its edge, and not past it', () => {
    const at = (rps: number, p99: number) =>
      names(
        httpBars(summarize(CONFIGS, [run('koa-bare', 1, 100_000, 0.5), run('koa-privacy-log', 1, rps, p99)]), null),
      );
    expect(at(85_000, 1.5)).toMatchObject({
      'Koa + privacy-log req/s vs bare Koa': true,
      'Koa + privacy-log p99 vs bare Koa': true,
    });
    expect(at(84_900, 1.51)).toMatchObject({
      'Koa + privacy-log req/s vs bare Koa': false,
      'Koa + privacy-log p99 vs bare Koa': false,
    });
  });

  it('asks for strictly more requests than a peer', () => {
    const bars = httpBars(
      summarize(CONFIGS, [run('koa-privacy-log', 1, 30_000, 1), run('koa-logger', 1, 30_000, 1)]),
      null,
    );
    expect(bars.find((b) => b.name.endsWith('koa-logger'))?.met).toBe(false);
  });
});

describe('scriptBars', () => {
  const script = (json: unknown) => scriptResult('ingest.ts', json);

  it('reads a script’s own bar and the figure it was judged on', () => {
    const [said] = scriptBars([script({ bar: { pipelineEventsPerSec: 200_000, met: true, measured: '210k' } })]);
    expect(said).toEqual({
      name: 'bench/ingest.ts',
      target: 'pipelineEventsPerSec 200000',
      measured: '210k',
      met: true,
    });
    const [guessed] = scriptBars([
      script({ sqliteAggregatorEventsPerSec: 123, bar: { sqliteEventsPerSec: 100, met: false } }),
    ]);
    expect(guessed?.measured).toBe('sqliteAggregatorEventsPerSec 123');
    expect(guessed?.met).toBe(false);
    const [latency] = scriptBars([script({ barMet: true, deltaMs: 0.0791 })]);
    expect(latency?.measured).toBe('Δ 0.079 ms');
    expect(scriptBars([script({ nothing: 1 }), script(undefined)])).toEqual([]);
  });
});

describe('formatHttpTable', () => {
  it('shows every configuration, privacy-log’s in bold, failures flagged, missing figures as a dash', () => {
    const s = summarize(CONFIGS, [
      ...RUNS.filter((r) => r.config !== 'express-bare'),
      run('morgan', 4, 1, 1, { non2xx: 2 }),
    ]);
    const table = formatHttpTable(s);
    const lines = table.split('\n');
    expect(lines).toHaveLength(2 + CONFIGS.length);
    expect(table).toContain('| **Koa + privacy-log (SQLite)** | 30000 | 0.600 |');
    expect(table).toContain('| Express + morgan (non-2xx 2, errors 0) |');
    expect(lines.find((l) => l.startsWith('| Express + pino-http'))).toContain('| – |');
  });
});

describe('configurations', () => {
  it('are the ten the issue names, each with its server file', () => {
    const named = [
      'koa-bare',
      'koa-privacy-log',
      'koa-privacy-log-access-log',
      'koa-pino-logger',
      'koa-logger',
      'express-bare',
      'express-privacy-log',
      'morgan',
      'pino-http',
      'express-winston',
    ];
    const product = CONFIGS.filter((c) => c.role !== 'diagnostic').map((c) => c.id);
    expect(product.sort()).toEqual([...named].sort());
    for (const c of CONFIGS) expect(existsSync(join(ROOT, 'bench', 'http', `${c.id}.ts`)), c.id).toBe(true);
    expect(bareOf('koa')).toBe('koa-bare');
    expect(bareOf('express')).toBe('express-bare');
  });

  it('variants repeat privacy-log’s configurations only, from another tree', () => {
    const v = variantsOf(CONFIGS, 'before', '/elsewhere');
    expect(v.map((c) => c.id)).toEqual(
      CONFIGS.filter((c) => c.role === 'privacy-log' || c.role === 'diagnostic').map((c) => `${c.id}@before`),
    );
    for (const c of v) {
      expect(c.role).toBe('variant');
      expect(c.root).toBe('/elsewhere');
      expect(c.server && `${c.server}@before`).toBe(c.id);
    }
  });
});

describe('pinning', () => {
  it('prefixes taskset only when pinned, and says why not otherwise', () => {
    expect(pinned({ pinned: true }, 1, ['node', 'x.js'])).toEqual(['taskset', '-c', '1', 'node', 'x.js']);
    expect(pinned({ pinned: false, reason: 'r' }, 1, ['node', 'x.js'])).toEqual(['node', 'x.js']);
    const one = detectPinning(1);
    expect(one.pinned).toBe(false);
    expect(one.reason).toMatch(/core/);
  });
});

describe('script output', () => {
  it('takes the last JSON line and the lines with a figure', () => {
    expect(lastJson('a\n{"x":1}\nnot json {\n{"y":2}\n')).toEqual({ y: 2 });
    expect(lastJson('{"broken": \nplain')).toBeUndefined();
    expect(lastJson('{\n "whole": true\n}')).toEqual({ whole: true });
    const figures = figureLines('header\nthrough the pipeline: 210765 events/s\n{"a":1}\nplain words');
    expect(figures).toEqual(['through the pipeline: 210765 events/s']);
  });
});

// ---------------------------------------------------------------- the document

function account(requests: number, delivered = requests) {
  return {
    reason: 'SIGTERM',
    result: {
      capture: { requests, captured: requests, skipped: 0, failed: 0 },
      pipeline: { accepted: requests, delivered, dropped: 0, spooled: 0, invalid: 0 },
    },
  };
}

function results(over: Partial<BenchResults> = {}): BenchResults {
  const runs = RUNS.map((r) =>
    r.config.includes('privacy-log') ? { ...r, exit: account(Math.round(r.requests)) } : r,
  );
  return {
    schema: RESULTS_SCHEMA,
    date: '2026-11-25T05:00:00.000Z',
    totalMs: 540_000,
    revision: 'abc1234',
    machine: {
      cpuModel: 'Test CPU',
      cores: 2,
      nproc: 2,
      ramGiB: 23.5,
      kernel: '6.1.0',
      node: 'v20.20.2',
      loadAverage: [0.5, 0.4, 0.3],
      loadAverageEnd: [1, 0.9, 0.8],
    },
    versions: { 'privacy-log': '0.1.0', koa: '3.3.0', 'koa-logger': '4.0.0', morgan: '1.12.1' },
    pinning: { pinned: true, serverCore: 0, loadCore: 1 },
    settings: {
      rounds: 3,
      durationSeconds: 8,
      warmupSeconds: 2,
      connections: 10,
      configs: CONFIGS.map((c) => c.id),
      destinationPolicy: 'files.',
      requestMix: ['GET /'],
      handler: 'hello',
    },
    http: { runs, summary: summarize(CONFIGS, runs) },
    hotPath: null,
    scripts: [],
    bars: httpBars(summarize(CONFIGS, runs), null),
    ...over,
  };
}

describe('docs/benchmarks.md', () => {
  it('records the date, the machine, the versions, the pinning, the table and the bars', () => {
    const doc = renderBenchmarksDoc(results(), 'hand text');
    expect(doc).toContain('- Date: 2026-11-25T05:00:00.000Z (total 9.0 min); revision abc1234.');
    expect(doc).toContain('Test CPU, 2 cores');
    expect(doc).toContain('privacy-log 0.1.0, koa 3.3.0, koa-logger 4.0.0, morgan 1.12.1');
    expect(doc).toContain('every server on core 0, autocannon on core 1');
    for (const c of CONFIGS.filter((x) => x.role !== 'diagnostic')) expect(doc).toContain(c.label);
    expect(doc).toContain('| Koa + privacy-log req/s vs bare Koa | ≥ 0.85× | 0.600× | **no** |');
    expect(doc).toContain('| Koa + privacy-log p99 vs bare Koa | ≤ +1 ms | +1.00 ms | yes |');
    const unpinned = renderBenchmarksDoc(
      results({ pinning: { pinned: false, reason: 'taskset is not available', serverCore: null, loadCore: null } }),
      'x',
    );
    expect(unpinned).toContain('**not pinned** (taskset is not available)');
  });

  it('keeps the hand-written section word for word through a regeneration', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 200 }).filter((t) => t.trim() === t && !t.includes('<!--')),
        (hand) => {
          const once = renderBenchmarksDoc(results(), hand);
          expect(handWritten(once)).toBe(hand);
          expect(renderBenchmarksDoc(results(), handWritten(once))).toBe(once);
        },
      ),
    );
    expect(handWritten(undefined)).toMatch(/Not written yet/);
    expect(handWritten(`${HAND_END} backwards ${HAND_START}`)).toMatch(/Not written yet/);
  });

  it('refuses results of another schema', () => {
    expect(() => renderBenchmarksDoc({ ...results(), schema: 99 as typeof RESULTS_SCHEMA }, 'x')).toThrow(/schema 99/);
  });
});

describe('the servers’ own account of what they stored', () => {
  it('says every event was delivered only when every run shows it', () => {
    const good = pipelineEvidence(results());
    const servers = RUNS.filter((r) => r.config.includes('privacy-log')).length;
    expect(good).toContain(`In all ${servers} runs every request was captured`);
    const runs = results().http?.runs ?? [];
    const bad = runs.map((r) =>
      r.config === 'koa-privacy-log' && r.round === 2 ? { ...r, exit: account(1000, 990) } : r,
    );
    const lossy = pipelineEvidence(results({ http: { runs: bad, summary: [] } }));
    expect(lossy).toContain(`Not everything was delivered in 1 of ${servers} runs: koa-privacy-log (round 2)`);
  });

  it('counts as a loss any request not captured, any failure, drop, invalid or undelivered event', () => {
    // A whole account, then at most one of its counters moved.
    const FIELDS = [
      'requests',
      'captured',
      'skipped',
      'failed',
      'accepted',
      'delivered',
      'dropped',
      'invalid',
    ] as const;
    const cases = fc.record({
      captured: fc.nat(50),
      skipped: fc.nat(50),
      spooled: fc.nat(5),
      moved: fc.option(fc.constantFrom(...FIELDS), { nil: undefined }),
      by: fc.integer({ min: 1, max: 5 }),
    });
    fc.assert(
      fc.property(cases, ({ captured, skipped, spooled, moved, by }) => {
        const c: Record<(typeof FIELDS)[number], number> = {
          requests: captured + skipped,
          captured,
          skipped,
          failed: 0,
          accepted: captured,
          delivered: captured,
          dropped: 0,
          invalid: 0,
        };
        if (moved !== undefined) c[moved] += by;
        const a = {
          capture: { requests: c.requests, captured: c.captured, skipped: c.skipped, failed: c.failed },
          pipeline: { accepted: c.accepted, delivered: c.delivered, dropped: c.dropped, spooled, invalid: c.invalid },
        };
        expect(lostSomething(a)).toBe(moved !== undefined);
      }),
    );
    // Captured but never accepted by the pipeline, though all it accepted was delivered.
    expect(
      lostSomething({
        capture: { requests: 10, captured: 10, skipped: 0, failed: 0 },
        pipeline: { accepted: 8, delivered: 8, dropped: 0, spooled: 0, invalid: 0 },
      }),
    ).toBe(true);
  });
});

describe('CPU profiles', () => {
  /** root → handle (src/capture) → writev; root → (garbage collector); samples 1 ms apart. */
  const profile = {
    nodes: [
      { id: 1, callFrame: { functionName: '(root)', url: '', lineNumber: -1 }, children: [2, 4] },
      {
        id: 2,
        callFrame: { functionName: 'record', url: `file://${ROOT}/src/capture/capture.ts`, lineNumber: 0 },
        children: [3],
      },
      { id: 3, callFrame: { functionName: 'writev', url: '', lineNumber: -1 } },
      { id: 4, callFrame: { functionName: '(garbage collector)', url: '', lineNumber: -1 } },
    ],
    startTime: 0,
    endTime: 6000,
    samples: [2, 3, 3, 4, 2, 3],
    timeDeltas: [1000, 1000, 1000, 1000, 1000, 1000],
  };

  it('sums self and inclusive time inside the window only', () => {
    const all = topFunctions(profile);
    const byName = Object.fromEntries(all.map((f) => [f.name.split(' ')[0], f]));
    expect(byName.writev?.selfMs).toBe(3);
    expect(byName.record?.selfMs).toBe(2);
    expect(byName.record?.totalMs).toBe(5);
    expect(all.find((f) => f.name === '(garbage collector)')?.selfMs).toBe(1);
    const windowed = topFunctions(profile, { fromUs: 2500, toUs: 4500 });
    expect(windowed.reduce((s, f) => s + f.selfMs, 0)).toBe(2);
    expect(windowed.find((f) => f.name === 'writev')?.selfMs).toBe(1);
  });

  it('puts each function in the area its code lives in', () => {
    expect(areaOf('record src/capture/capture.ts:1')).toBe('privacy-log: capture, consent, adapter');
    expect(areaOf('insert src/aggregators/sqlite/block-store.ts:2')).toBe('privacy-log: store (aggregators, stats)');
    expect(areaOf('validateEvent src/event.ts:1')).toBe('privacy-log: event validation');
    expect(areaOf('push src/pipeline/create-pipeline.ts:1')).toBe('privacy-log: pipeline');
    expect(areaOf('(anonymous) node_modules/delegates/index.js:91')).toBe('Koa and its helpers');
    expect(areaOf('format node_modules/koa-logger/index.js:1')).toBe('peer logger');
    expect(areaOf('writev')).toBe('Node: HTTP, sockets, streams, events');
    expect(areaOf('(garbage collector)')).toBe('garbage collection');
    expect(areaOf('(idle)')).toBe('idle');
  });
});

describe('script output in the document', () => {
  it('keeps what a progress counter wrote last on its line, without colour codes', () => {
    const out = fence('\rgenerating: 1 / 3\rgenerating: 3 / 3\ndone in \u001b[32m2 s\u001b[0m\r\nlast\n');
    expect(out).toBe('```text\ngenerating: 3 / 3\ndone in 2 s\nlast\n```');
    expect(fence('')).toBe('```text\n(no output)\n```');
  });
});
