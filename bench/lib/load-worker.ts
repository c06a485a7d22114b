/**
 * The load generator, run by bench/run.ts as its own process (pinned to its
 * own core when taskset is available): autocannon against one server on
 * loopback, a warm-up whose figures are discarded, then the measured run.
 *
 * Input: BENCH_LOAD (JSON of LoadSpec). Output on stdout: WARMED when the warm-up
 * is over, then one JSON line (LoadResult).
 */
import autocannon, { type Result } from 'autocannon';
import { REQUEST_MIX } from './request-mix.js';

export interface LoadSpec {
  url: string;
  connections: number;
  warmupSeconds: number;
  durationSeconds: number;
  /** Requests per second across all connections (open-loop pacing); absent: as fast as the server answers. */
  overallRate?: number;
}

export interface LoadResult {
  requestsPerSecond: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  latencyP999Ms?: number;
  latencyMeanMs: number;
  requests: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  /** CPU time the generator itself used during the measured run, ms (to spot a saturated generator). */
  generatorCpuMs: number;
  elapsedMs: number;
}

/**
 * Response times in ms with sub-millisecond resolution. autocannon's own
 * histogram keeps whole milliseconds, too coarse for a "+1 ms" bar, so the
 * measured run records every response time from its `response` event.
 */
class Latencies {
  private values = new Float64Array(1 << 18);
  private n = 0;
  add(ms: number): void {
    if (this.n === this.values.length) {
      const bigger = new Float64Array(this.values.length * 2);
      bigger.set(this.values);
      this.values = bigger;
    }
    this.values[this.n++] = ms;
  }
  percentile(p: number): number {
    if (this.n === 0) return Number.NaN;
    const sorted = this.values.subarray(0, this.n).sort();
    return sorted[Math.min(this.n - 1, Math.ceil((p / 100) * this.n) - 1)] as number;
  }
  mean(): number {
    let sum = 0;
    for (let i = 0; i < this.n; i++) sum += this.values[i] as number;
    return this.n ? sum / this.n : Number.NaN;
  }
}

function run(
  url: string,
  connections: number,
  duration: number,
  latencies?: Latencies,
  overallRate?: number,
): Promise<Result> {
  return new Promise((resolve, reject) => {
    const tracker = autocannon(
      { url, connections, duration, requests: REQUEST_MIX, ...(overallRate ? { overallRate } : {}) },
      (err, result) => (err ? reject(err) : resolve(result)),
    );
    if (latencies) {
      tracker.on('response', (_client: unknown, _status: number, _bytes: number, responseTime: number) =>
        latencies.add(responseTime),
      );
    }
  });
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.env.BENCH_LOAD ?? '') as LoadSpec;
  if (!spec.url.startsWith('http://127.0.0.1:')) throw new Error('the load generator only targets loopback');
  if (spec.warmupSeconds > 0) await run(spec.url, spec.connections, spec.warmupSeconds, undefined, spec.overallRate);
  process.stdout.write('WARMED\n');
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const latencies = new Latencies();
  const r = await run(spec.url, spec.connections, spec.durationSeconds, latencies, spec.overallRate);
  const cpu = process.cpuUsage(cpu0);
  const out: LoadResult = {
    requestsPerSecond: r.requests.average,
    latencyP50Ms: Math.round(latencies.percentile(50) * 1000) / 1000,
    latencyP99Ms: Math.round(latencies.percentile(99) * 1000) / 1000,
    latencyP999Ms: Math.round(latencies.percentile(99.9) * 1000) / 1000,
    latencyMeanMs: Math.round(latencies.mean() * 1000) / 1000,
    requests: r.requests.total,
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
    generatorCpuMs: (cpu.user + cpu.system) / 1000,
    elapsedMs: performance.now() - t0,
  };
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`load worker failed: ${String(err)}\n`);
  process.exit(1);
});
