/**
 * p99 request latency of Koa + privacy-log while the aggregator hangs (every
 * write never settles until the pipeline aborts it), against the same server
 * with a healthy aggregator. Bar: within +1 ms. Both servers are started in
 * alternating rounds, pinned to their own core when taskset works, and loaded
 * by the shared autocannon worker (bench/lib/load-worker.ts) on the other core.
 *
 *   npx tsx bench/pipeline-latency.ts [rounds=3] [seconds=6] [warmup=2] [connections=10]
 *
 * The same file is the server when PIPELINE_BENCH_SERVER is 'healthy' or 'hanging'.
 * Prints figures, then one JSON line.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const mode = process.env.PIPELINE_BENCH_SERVER;

async function server(hanging: boolean): Promise<void> {
  const { default: Koa } = await import('koa');
  const { privacyLog } = await import('../middleware/koa.js');
  const { helloKoa } = await import('./lib/hello.js');
  const { pipelineReport } = await import('./lib/pipeline-report.js');
  const { serve, workDir } = await import('./lib/serve.js');
  const { countingSink } = await import('./lib/counting-sink.js');
  type Batch = import('../src/aggregators/aggregator.js').Batch;
  workDir();
  const healthy = countingSink('sink');
  /** Test double for a hung destination: a write only ends when the pipeline aborts it. */
  const hung = {
    name: 'sink',
    write(_batch: Batch, signal?: AbortSignal): Promise<void> {
      return new Promise((_resolve, reject) => {
        signal?.addEventListener('abort', () => reject(signal.reason), { once: true });
      });
    },
  };
  const app = new Koa();
  const privacy = privacyLog({
    trustProxy: 'loopback',
    aggregators: [hanging ? hung : healthy],
    onError: () => undefined,
  });
  app.use(privacy);
  app.use(helloKoa);
  serve(app.callback(), { onClose: () => pipelineReport(privacy) });
}

async function runner(): Promise<void> {
  const { detectPinning, LOAD_CORE, pinned, SERVER_CORE, startServer, tsxNode } = await import('./lib/proc.js');
  const { runLoad } = await import('./lib/load.js');
  const [rounds = 3, seconds = 6, warmup = 2, connections = 10] = process.argv.slice(2).map(Number);
  const self = fileURLToPath(import.meta.url);
  const worker = fileURLToPath(new URL('./lib/load-worker.ts', import.meta.url));
  const pinning = detectPinning(cpus().length);
  const p99: Record<'healthy' | 'hanging', number[]> = { healthy: [], hanging: [] };
  const rps: Record<'healthy' | 'hanging', number[]> = { healthy: [], hanging: [] };
  const exits: unknown[] = [];
  for (let r = 0; r < rounds; r++) {
    const order: Array<'healthy' | 'hanging'> = r % 2 === 0 ? ['healthy', 'hanging'] : ['hanging', 'healthy'];
    for (const m of order) {
      const work = mkdtempSync(join(tmpdir(), `privacy-log-latency-${m}-`));
      try {
        const srv = await startServer(pinned(pinning, SERVER_CORE, tsxNode(self)), {
          ...process.env,
          PIPELINE_BENCH_SERVER: m,
          BENCH_WORKDIR: work,
        });
        const res = await runLoad(
          pinned(pinning, LOAD_CORE, tsxNode(worker)),
          { url: `http://127.0.0.1:${srv.port}`, connections, warmupSeconds: warmup, durationSeconds: seconds },
          () => undefined,
        );
        const stop = await srv.stop(20_000);
        exits.push({ mode: m, exit: stop.exit });
        p99[m].push(res.latencyP99Ms);
        rps[m].push(res.requestsPerSecond);
        console.log(
          `round ${r + 1} ${m}: p99 ${res.latencyP99Ms.toFixed(3)} ms, ${Math.round(res.requestsPerSecond)} req/s`,
        );
      } finally {
        rmSync(work, { recursive: true, force: true });
      }
    }
  }
  const median = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2
      ? (s[(s.length - 1) / 2] as number)
      : ((s[s.length / 2 - 1] as number) + (s[s.length / 2] as number)) / 2;
  };
  const healthy = median(p99.healthy);
  const hanging = median(p99.hanging);
  const delta = hanging - healthy;
  console.log(`p99 with a healthy aggregator: ${healthy.toFixed(3)} ms (median of ${rounds})`);
  console.log(`p99 with a hanging aggregator: ${hanging.toFixed(3)} ms`);
  console.log(
    `difference: ${delta >= 0 ? '+' : ''}${delta.toFixed(3)} ms (bar: within +1 ms) — ${delta <= 1 ? 'met' : 'NOT met'}`,
  );
  console.log(
    JSON.stringify({
      p99HealthyMs: healthy,
      p99HangingMs: hanging,
      deltaMs: delta,
      barMet: delta <= 1,
      rpsHealthy: median(rps.healthy),
      rpsHanging: median(rps.hanging),
      rounds,
      seconds,
      pinned: pinning.pinned,
      exits,
    }),
  );
}

if (mode === 'healthy' || mode === 'hanging') await server(mode === 'hanging');
else await runner();
