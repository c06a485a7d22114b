/**
 * p99 request latency of Koa + privacy-log while the aggregator hangs (every
 * write never settles until the pipeline aborts it, so the lane spools every
 * batch), against the same server with a healthy aggregator. Bar (DESIGN §12):
 * the hanging server's p99 within +1 ms of the healthy one's.
 *
 * Rounds alternate (the order of the modes flips every round); every round starts
 * fresh servers, pinned to their own core when taskset works, loaded by the shared
 * autocannon worker (bench/lib/load-worker.ts) on the other core. The verdict is the
 * median over rounds of the paired difference (hanging − healthy in the same round,
 * so slow drifts of the machine cancel), reported with its spread (min–max), the
 * median p99 of each mode, the server's CPU time per request, and the load average
 * before and after. Reported for a saturating load (every connection sends its next
 * request on the answer) and, with PIPELINE_BENCH_RATE, for a fixed request rate.
 *
 *   npx tsx bench/pipeline-latency.ts [rounds=8] [seconds=6] [warmup=2] [connections=10]
 *
 * Env: PIPELINE_BENCH_RATE=<requests/s> paces the load (open loop) instead of
 * saturating the server. PIPELINE_BENCH_TREES="after=/path/a,before=/path/b"
 * compares checkouts: each round runs both modes in every tree (order rotated), the
 * server being that tree's copy of this file.
 *
 * The same file is the server when PIPELINE_BENCH_SERVER is 'healthy' or 'hanging'.
 * Prints figures, then one JSON line.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
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

type Mode = 'healthy' | 'hanging';
interface RunFigures {
  p99: number;
  p999: number;
  rps: number;
  cpuUsPerRequest: number;
}

async function runner(): Promise<void> {
  const { detectPinning, LOAD_CORE, pinned, readProcCpuMs, SERVER_CORE, startServer, tsxNode } = await import(
    './lib/proc.js'
  );
  const { runLoad } = await import('./lib/load.js');
  const { median } = await import('./lib/stats.js');
  const [rounds = 8, seconds = 6, warmup = 2, connections = 10] = process.argv.slice(2).map(Number);
  const rate = Number(process.env.PIPELINE_BENCH_RATE ?? 0) || undefined;
  const self = fileURLToPath(import.meta.url);
  const trees = (process.env.PIPELINE_BENCH_TREES ?? '')
    .split(',')
    .filter(Boolean)
    .map((spec) => {
      const [name, dir] = spec.split('=') as [string, string];
      return { name, script: join(dir, 'bench', 'pipeline-latency.ts') };
    });
  if (trees.length === 0) trees.push({ name: 'this', script: self });
  const worker = fileURLToPath(new URL('./lib/load-worker.ts', import.meta.url));
  const pinning = detectPinning(cpus().length);
  const loadBefore = loadavg();
  const key = (tree: string, m: Mode) => `${tree}/${m}`;
  const figures = new Map<string, RunFigures[]>();
  const exits: unknown[] = [];
  const configs = trees.flatMap((t) => (['healthy', 'hanging'] as const).map((m) => ({ tree: t, mode: m })));
  for (let r = 0; r < rounds; r++) {
    // Rotate the order every round so that no configuration always runs first or last.
    const order = configs.map((_, i) => configs[(i + r) % configs.length] as (typeof configs)[number]);
    if (r % 2 === 1) order.reverse();
    for (const { tree, mode: m } of order) {
      const work = mkdtempSync(join(tmpdir(), `privacy-log-latency-${m}-`));
      try {
        const srv = await startServer(pinned(pinning, SERVER_CORE, tsxNode(tree.script)), {
          ...process.env,
          PIPELINE_BENCH_SERVER: m,
          BENCH_WORKDIR: work,
        });
        let cpuAtWarm: number | undefined;
        const res = await runLoad(
          pinned(pinning, LOAD_CORE, tsxNode(worker)),
          {
            url: `http://127.0.0.1:${srv.port}`,
            connections,
            warmupSeconds: warmup,
            durationSeconds: seconds,
            ...(rate ? { overallRate: rate } : {}),
          },
          () => {
            cpuAtWarm = readProcCpuMs(srv.pid);
          },
        );
        const cpuAtEnd = readProcCpuMs(srv.pid);
        const stop = await srv.stop(20_000);
        exits.push({ tree: tree.name, mode: m, exit: stop.exit });
        const f: RunFigures = {
          p99: res.latencyP99Ms,
          p999: res.latencyP999Ms ?? Number.NaN,
          rps: res.requestsPerSecond,
          cpuUsPerRequest:
            cpuAtWarm !== undefined && cpuAtEnd !== undefined && res.requests > 0
              ? ((cpuAtEnd - cpuAtWarm) * 1000) / res.requests
              : Number.NaN,
        };
        const list = figures.get(key(tree.name, m)) ?? [];
        list.push(f);
        figures.set(key(tree.name, m), list);
        console.log(
          `round ${r + 1} ${tree.name}/${m}: p99 ${f.p99.toFixed(3)} ms, p99.9 ${f.p999.toFixed(3)} ms, ${Math.round(f.rps)} req/s, server CPU ${f.cpuUsPerRequest.toFixed(1)} µs/request`,
        );
      } finally {
        rmSync(work, { recursive: true, force: true });
      }
    }
  }
  const loadAfter = loadavg();
  const fmt = (n: number, d = 3) => (Number.isFinite(n) ? n.toFixed(d) : 'n/a');
  const spread = (xs: number[]) => `${fmt(Math.min(...xs))}–${fmt(Math.max(...xs))}`;
  const summary: Record<string, unknown> = {};
  console.log(
    `\n${rounds} alternating rounds of ${seconds} s (after ${warmup} s warm-up), ${connections} connections, ${
      rate ? `paced at ${rate} requests/s` : 'saturating'
    }; pinned: ${pinning.pinned}; load average before ${loadBefore.map((l) => l.toFixed(2)).join(' ')}, after ${loadAfter
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  for (const t of trees) {
    const healthy = figures.get(key(t.name, 'healthy')) ?? [];
    const hanging = figures.get(key(t.name, 'hanging')) ?? [];
    const deltas = healthy.map((h, i) => (hanging[i]?.p99 ?? Number.NaN) - h.p99);
    const d = median(deltas);
    const per = (xs: RunFigures[], f: keyof RunFigures) => xs.map((x) => x[f]);
    console.log(`[${t.name}]`);
    for (const [label, xs] of [
      ['healthy', healthy],
      ['hanging', hanging],
    ] as const) {
      console.log(
        `  ${label}: p99 median ${fmt(median(per(xs, 'p99')))} ms (min–max ${spread(per(xs, 'p99'))}), p99.9 median ${fmt(
          median(per(xs, 'p999')),
        )} ms, ${Math.round(median(per(xs, 'rps')))} req/s, server CPU ${fmt(median(per(xs, 'cpuUsPerRequest')), 1)} µs/request`,
      );
    }
    console.log(
      `  bar (hanging p99 − healthy p99, paired per round, median of ${deltas.length}): ${d >= 0 ? '+' : ''}${fmt(
        d,
      )} ms (min–max ${spread(deltas)}); within +1 ms: ${d <= 1 ? 'met' : 'NOT met'}`,
    );
    summary[t.name] = {
      p99HealthyMs: median(per(healthy, 'p99')),
      p99HangingMs: median(per(hanging, 'p99')),
      p99HealthyRangeMs: [Math.min(...per(healthy, 'p99')), Math.max(...per(healthy, 'p99'))],
      p99HangingRangeMs: [Math.min(...per(hanging, 'p99')), Math.max(...per(hanging, 'p99'))],
      p999HealthyMs: median(per(healthy, 'p999')),
      p999HangingMs: median(per(hanging, 'p999')),
      deltaMs: d,
      deltasMs: deltas,
      barMet: d <= 1,
      rpsHealthy: median(per(healthy, 'rps')),
      rpsHanging: median(per(hanging, 'rps')),
      cpuUsPerRequestHealthy: median(per(healthy, 'cpuUsPerRequest')),
      cpuUsPerRequestHanging: median(per(hanging, 'cpuUsPerRequest')),
    };
  }
  // The first tree's verdict at the top level, where bench/run.ts (lib/bars.ts) reads it.
  const first = summary[trees[0]?.name ?? ''] as { deltaMs: number; barMet: boolean };
  console.log(
    JSON.stringify({
      deltaMs: first.deltaMs,
      barMet: first.barMet,
      rounds,
      seconds,
      warmup,
      connections,
      rate: rate ?? null,
      pinned: pinning.pinned,
      loadAverageBefore: loadBefore,
      loadAverageAfter: loadAfter,
      trees: summary,
      // Each run's own accounting after close (the full per-run metrics stay out: they would bury the figures).
      invariantHeldInEveryRun: exits.every((x) => invariantHolds(x)),
      runs: exits.length,
    }),
  );
}

/** accepted = delivered + dropped + queued + spoolPending, for the pipeline a run reported at close. */
function invariantHolds(x: unknown): boolean {
  type Counts = { accepted: number; delivered: number; dropped: number; queued: number; spoolPending: number };
  const p = (x as { exit?: { result?: { pipeline?: Counts } } })?.exit?.result?.pipeline;
  return p !== undefined && p.accepted === p.delivered + p.dropped + p.queued + p.spoolPending;
}

if (mode === 'healthy' || mode === 'hanging') await server(mode === 'hanging');
else await runner();
