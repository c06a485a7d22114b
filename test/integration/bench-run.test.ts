/**
 * `npm run bench` end to end, cut short: every configuration of the issue
 * (the bare frameworks, privacy-log's three and the five peers) started as its
 * own server, checked to serve the hello page, loaded by autocannon in its own
 * process on loopback for one second, stopped; then the results file and the
 * document rendered from it. Speed is not judged here (benchmarks are not
 * timed tests); that the run works, counts what it should and loses nothing is.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { CONFIGS } from '../../bench/lib/configs.js';
import { tsxNode } from '../../bench/lib/proc.js';
import type { BenchResults } from '../../bench/lib/results.js';
import { lastJson } from '../../bench/lib/scripts.js';
import { accountOf, lostSomething, renderBenchmarksDoc } from '../../scripts/write-benchmarks-doc.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const work = mkdtempSync(join(tmpdir(), 'privacy-log-bench-test-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A bench script run as the runner runs it (Node with the tsx loader). */
function tsx(script: string, args: string[], timeoutMs: number) {
  const [node, ...argv] = tsxNode(script);
  return spawnSync(node as string, [...argv, ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: timeoutMs,
    env: { ...process.env, NODE_ENV: 'production' },
  });
}

describe('npm run bench (one short round of every configuration)', () => {
  const out = join(work, 'latest.json');
  let results: BenchResults;

  it('runs every configuration to the end and writes its results', () => {
    const r = tsx(
      'bench/run.ts',
      ['--rounds', '1', '--duration', '1', '--warmup', '1', '--no-scripts', '--no-hot-path', '--out', out],
      150_000,
    );
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
    results = JSON.parse(readFileSync(out, 'utf8')) as BenchResults;
    const product = CONFIGS.filter((c) => c.role !== 'diagnostic').map((c) => c.id);
    expect(results.settings.configs).toEqual(product);
    expect(results.http?.runs.map((x) => x.config).sort()).toEqual([...product].sort());
  }, 160_000);

  it('served every request of every configuration with the page, with CPU and memory read', () => {
    for (const run of results.http?.runs ?? []) {
      expect(run.requests, run.config).toBeGreaterThan(100);
      expect(run.non2xx + run.errors + run.timeouts, run.config).toBe(0);
      expect(run.rssMiB, run.config).toBeGreaterThan(10);
      expect(run.serverCpuUsPerRequest, run.config).toBeGreaterThan(0);
      expect(run.latencyP99Ms, run.config).toBeGreaterThanOrEqual(run.latencyP50Ms);
    }
    const summary = results.http?.summary ?? [];
    expect(summary.every((s) => s.ratioToBare !== null && s.ratioToBare > 0)).toBe(true);
  });

  it('has each privacy-log server account for every request, all of it delivered after close()', () => {
    const ours = (results.http?.runs ?? []).filter((x) => x.config.includes('privacy-log'));
    expect(ours.map((x) => x.config).sort()).toEqual([
      'express-privacy-log',
      'koa-privacy-log',
      'koa-privacy-log-access-log',
    ]);
    for (const run of ours) {
      const account = accountOf(run);
      if (!account) throw new Error(`${run.config} printed no account on exit: ${JSON.stringify(run.exit)}`);
      // Warm-up, the sanity check and the measured run: at least what autocannon counted.
      expect(account.capture.requests, run.config).toBeGreaterThanOrEqual(run.requests);
      expect(lostSomething(account), `${run.config}: ${JSON.stringify(account)}`).toBe(false);
    }
  });

  it('judges the bars and says whether and how it pinned', () => {
    expect(results.bars.map((b) => b.name)).toEqual([
      'Koa + privacy-log req/s vs bare Koa',
      'Koa + privacy-log p99 vs bare Koa',
      'Koa + privacy-log (SQLite) ahead of Koa + koa-pino-logger',
      'Koa + privacy-log (SQLite) ahead of Koa + koa-logger',
      'Express + privacy-log (SQLite) ahead of Express + morgan',
      'Express + privacy-log (SQLite) ahead of Express + pino-http',
      'Express + privacy-log (SQLite) ahead of Express + express-winston',
    ]);
    for (const b of results.bars) expect(typeof b.met, b.name).toBe('boolean');
    if (results.pinning.pinned) expect([results.pinning.serverCore, results.pinning.loadCore]).toEqual([0, 1]);
    else expect(results.pinning.reason).toMatch(/\S/);
    for (const p of ['koa', 'express', 'autocannon', 'koa-logger', 'koa-pino-logger', 'morgan', 'pino-http'])
      expect(results.versions[p], p).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('renders the document from the results', () => {
    const doc = renderBenchmarksDoc(results, 'hand-written text');
    expect(doc).toContain(`- Date: ${results.date}`);
    for (const s of results.http?.summary ?? []) expect(doc).toContain(s.label);
    expect(doc).toContain('every request was captured');
    expect(doc).toContain('hand-written text');
  });
});

describe('bench/hot-path.ts', () => {
  it('reports the hot path per request and delivers every event it pushed', () => {
    const r = tsx('bench/hot-path.ts', ['--json', '--iterations', '400', '--repeats', '3'], 120_000);
    expect(r.status, r.stderr).toBe(0);
    const j = lastJson(r.stdout) as {
      budgetUs: number;
      perRequestUs: number;
      stages: { consentUs: number; captureUs: number; pushUs: number };
      sink: { events: number };
      pipeline: { dropped: number; invalid: number };
    };
    expect(j.budgetUs).toBe(3);
    expect(j.perRequestUs).toBeGreaterThan(0);
    for (const v of Object.values(j.stages)) expect(v).toBeGreaterThan(0);
    expect(j.sink.events).toBeGreaterThan(400 * 3);
    expect(j.pipeline.dropped + j.pipeline.invalid).toBe(0);
  }, 130_000);
});
