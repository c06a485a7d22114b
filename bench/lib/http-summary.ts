/** Medians over the rounds of each configuration, and its ratios to the bare framework. */
import { type BenchConfig, bareOf } from './configs.js';
import type { HttpRun, HttpSummary } from './results.js';
import { median, round } from './stats.js';

export function summarize(configs: readonly BenchConfig[], runs: readonly HttpRun[]): HttpSummary[] {
  const base = configs.map((c) => {
    const mine = runs.filter((r) => r.config === c.id);
    const m = (pick: (r: HttpRun) => number | null) => median(mine.map((r) => pick(r) ?? Number.NaN));
    return {
      ...c,
      rounds: mine.length,
      requestsPerSecond: m((r) => r.requestsPerSecond),
      latencyP50Ms: m((r) => r.latencyP50Ms),
      latencyP99Ms: m((r) => r.latencyP99Ms),
      rssMiB: round(
        m((r) => r.rssMiB),
        1,
      ),
      serverCpuUsPerRequest: round(
        m((r) => r.serverCpuUsPerRequest),
        1,
      ),
      non2xx: mine.reduce((s, r) => s + r.non2xx, 0),
      errors: mine.reduce((s, r) => s + r.errors + r.timeouts, 0),
      generatorBusyPct: round(
        m((r) => (r.generatorCpuMs / r.elapsedMs) * 100),
        0,
      ),
    };
  });
  return base.map((s) => {
    const bare = base.find((b) => b.id === bareOf(s.framework));
    return {
      ...s,
      requestsPerSecond: round(s.requestsPerSecond, 0) ?? Number.NaN,
      latencyP50Ms: round(s.latencyP50Ms, 2) ?? Number.NaN,
      latencyP99Ms: round(s.latencyP99Ms, 2) ?? Number.NaN,
      ratioToBare: bare ? round(s.requestsPerSecond / bare.requestsPerSecond, 3) : null,
      p99DeltaMs: bare ? round(s.latencyP99Ms - bare.latencyP99Ms, 2) : null,
    };
  });
}
