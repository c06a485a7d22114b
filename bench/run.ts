/**
 * `npm run bench`: privacy-log side by side with the peers (DESIGN §12).
 *
 * Every configuration in bench/lib/configs.ts is a server file under
 * bench/http/ serving the same hello-world page. For each round, in an order
 * that rotates between rounds, each server is started on its own (pinned to
 * core 0 when taskset is available), warmed up and loaded by autocannon in a
 * separate process (pinned to core 1), then stopped. Medians over the rounds
 * go into a table with each configuration's ratio to its bare framework.
 * Then the hot-path micro-benchmark and the other bench/*.ts scripts run, and
 * everything is written to bench/results/latest.json (see
 * scripts/write-benchmarks-doc.ts for docs/benchmarks.md).
 *
 *   npm run bench -- [--rounds 3] [--duration 8] [--warmup 2] [--connections 10]
 *                    [--only koa-bare,koa-privacy-log] [--no-http] [--no-hot-path]
 *                    [--no-scripts] [--scripts ingest.ts,query.ts | all] [--script-timeout 300]
 *                    [--reuse-scripts bench/results/scripts.json] [--reuse-http bench/results/http.json]
 *                    [--diagnostics] [--cpu-prof koa-privacy-log] [--variant before=/tmp/tree]
 *                    [--out bench/results/latest.json] [--doc]
 *
 * --variant name=dir also runs every selected privacy-log configuration from the
 * source tree at dir (its own bench/http/ server file and library sources, this
 * tree's node_modules), as `<id>@name`: a before/after comparison in one session.
 *
 * Each flag also reads from the environment: BENCH_ROUNDS, BENCH_DURATION,
 * BENCH_WARMUP, BENCH_CONNECTIONS, BENCH_ONLY, BENCH_SCRIPT_TIMEOUT.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { httpBars, scriptBars } from './lib/bars.js';
import { type BenchConfig, bareOf, CONFIGS, variantsOf } from './lib/configs.js';
import { HELLO_HTML } from './lib/hello.js';
import { summarize } from './lib/http-summary.js';
import { runLoad } from './lib/load.js';
import { gitRevision, machineInfo, packageVersions } from './lib/machine.js';
import {
  detectPinning,
  LOAD_CORE,
  pinned,
  readProcCpuMs,
  readProcStatus,
  SERVER_CORE,
  startServer,
  tsxNode,
} from './lib/proc.js';
import { type ProfileSummary, summarizeProfile } from './lib/profile-top.js';
import { REQUEST_MIX } from './lib/request-mix.js';
import type { BenchResults, HttpRun, HttpSummary, ScriptResult } from './lib/results.js';
import { RESULTS_SCHEMA } from './lib/results.js';
import { listScripts, runScript } from './lib/scripts.js';
import { round } from './lib/stats.js';
import { formatHttpTable } from './lib/table.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const DEFAULTS = { rounds: 3, duration: 8, warmup: 2, connections: 10, scriptTimeout: 300 };
/**
 * The other scripts a default run includes (the ones DESIGN §12 names: ingest,
 * and the pipeline with an aggregator down), so `npm run bench` stays near ten
 * minutes; `--scripts all` runs every bench/*.ts script.
 */
const DEFAULT_SCRIPTS = ['ingest.ts', 'pipeline-latency.ts', 'pipeline-outage-rss.ts'] as const;
/** Pause between two runs, so the previous server's sockets and files settle. */
const GAP_MS = 500;
const MiB = 1024;

// ---------------------------------------------------------------- arguments

function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  if (i !== -1) return process.argv[i + 1];
  const eq = process.argv.find((a) => a.startsWith(`--${name}=`));
  return eq?.slice(name.length + 3);
}

function numberOption(name: string, env: string, fallback: number, min: number, max: number): number {
  const raw = argValue(name) ?? process.env[env];
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min || n > max) {
    throw new Error(`--${name} (${env}) must be a number from ${min} to ${max}, got ${JSON.stringify(raw)}`);
  }
  return n;
}

function listOption(name: string, env?: string): string[] | undefined {
  const raw = argValue(name) ?? (env ? process.env[env] : undefined);
  return raw === undefined
    ? undefined
    : raw
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
}

const has = (name: string) => process.argv.includes(`--${name}`);

const rounds = numberOption('rounds', 'BENCH_ROUNDS', DEFAULTS.rounds, 1, 50);
const durationSeconds = numberOption('duration', 'BENCH_DURATION', DEFAULTS.duration, 1, 600);
const warmupSeconds = numberOption('warmup', 'BENCH_WARMUP', DEFAULTS.warmup, 0, 120);
const connections = numberOption('connections', 'BENCH_CONNECTIONS', DEFAULTS.connections, 1, 1000);
const scriptTimeoutMs = numberOption('script-timeout', 'BENCH_SCRIPT_TIMEOUT', DEFAULTS.scriptTimeout, 5, 3600) * 1000;
const only = listOption('only', 'BENCH_ONLY');
const onlyScripts = listOption('scripts');
const cpuProf = listOption('cpu-prof') ?? [];
const outFile = resolve(ROOT, argValue('out') ?? 'bench/results/latest.json');
const variant = argValue('variant');
if (variant !== undefined && !/^[A-Za-z0-9._-]+=.+$/.test(variant)) throw new Error('--variant takes name=dir');

for (const id of only ?? []) {
  if (!CONFIGS.some((c) => c.id === id)) {
    throw new Error(`unknown configuration ${JSON.stringify(id)}; known: ${CONFIGS.map((c) => c.id).join(', ')}`);
  }
}

/** The selected configurations, with the bare framework of each (ratios need it). */
function selectedConfigs(): BenchConfig[] {
  // Diagnostic configurations run when named in --only, or with --diagnostics.
  let list = CONFIGS.filter((c) => c.role !== 'diagnostic' || has('diagnostics'));
  if (only) {
    const ids = new Set(only);
    for (const c of CONFIGS) if (ids.has(c.id)) ids.add(bareOf(c.framework));
    list = CONFIGS.filter((c) => ids.has(c.id));
  }
  if (variant) {
    const eq = variant.indexOf('=');
    list.push(...variantsOf(list, variant.slice(0, eq), resolve(variant.slice(eq + 1))));
  }
  return list;
}

// ---------------------------------------------------------------- HTTP runs

/** CLOCK_MONOTONIC in µs: the clock of V8's CPU profiles (startTime, timeDeltas), to cut a profile to the measured run. */
function monotonicUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

const machine = machineInfo();
const pinning = detectPinning(machine.nproc ?? machine.cores);

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

/** One GET of the first request of the mix: the server must answer the hello page. */
function sanityCheck(port: number): Promise<void> {
  const first = REQUEST_MIX[0];
  return new Promise((resolveCheck, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path: first?.path ?? '/', headers: first?.headers ?? {}, timeout: 5000 },
      (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (d: string) => {
          body += d;
        });
        res.on('end', () =>
          res.statusCode === 200 && body === HELLO_HTML
            ? resolveCheck()
            : reject(new Error(`sanity check: status ${res.statusCode}, body ${JSON.stringify(body.slice(0, 120))}`)),
        );
      },
    );
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('sanity check timed out')));
    req.end();
  });
}

async function runOne(config: BenchConfig, roundNo: number, slot: number, workRoot: string): Promise<HttpRun> {
  const workdir = join(workRoot, `${config.id}-r${roundNo}`);
  // One directory per run: Node writes one profile per thread (the tsx loader has its own);
  // the main thread's file is the one whose name has thread id 0 (CPU.<date>.<pid>.0.<seq>.cpuprofile).
  const profDir = join(ROOT, 'bench', 'results', 'profiles', `${config.id}-r${roundNo}`);
  const nodeFlags = cpuProf.includes(config.id) ? ['--cpu-prof', '--cpu-prof-dir', profDir] : [];
  if (nodeFlags.length) mkdirSync(profDir, { recursive: true });
  const server = await startServer(
    pinned(
      pinning,
      SERVER_CORE,
      tsxNode(join(config.root ?? ROOT, 'bench', 'http', `${config.server ?? config.id}.ts`), nodeFlags),
    ),
    {
      ...process.env,
      BENCH_WORKDIR: workdir,
      BENCH_MAX_LIFETIME_MS: String((warmupSeconds + durationSeconds) * 1000 + 120_000),
      NODE_ENV: 'production',
    },
  );
  try {
    await sanityCheck(server.port);
    let cpuAtWarm: number | undefined;
    let warmAtUs: number | undefined;
    const load = await runLoad(
      pinned(pinning, LOAD_CORE, tsxNode(join(ROOT, 'bench', 'lib', 'load-worker.ts'))),
      { url: `http://127.0.0.1:${server.port}`, connections, warmupSeconds, durationSeconds },
      () => {
        cpuAtWarm = readProcCpuMs(server.pid);
        warmAtUs = monotonicUs();
      },
    );
    const endAtUs = monotonicUs();
    const cpuAtEnd = readProcCpuMs(server.pid);
    const status = readProcStatus(server.pid);
    const stopped = await server.stop();
    const cpuUs =
      cpuAtWarm !== undefined && cpuAtEnd !== undefined && load.requests > 0
        ? ((cpuAtEnd - cpuAtWarm) * 1000) / load.requests
        : Number.NaN;
    return {
      config: config.id,
      round: roundNo,
      slot,
      requestsPerSecond: load.requestsPerSecond,
      latencyP50Ms: load.latencyP50Ms,
      latencyP99Ms: load.latencyP99Ms,
      latencyMeanMs: load.latencyMeanMs,
      requests: load.requests,
      non2xx: load.non2xx,
      errors: load.errors,
      timeouts: load.timeouts,
      rssMiB: status ? round(status.rssKiB / MiB, 1) : null,
      peakRssMiB: status ? round(status.peakRssKiB / MiB, 1) : null,
      serverCpuUsPerRequest: round(cpuUs, 1),
      generatorCpuMs: Math.round(load.generatorCpuMs),
      elapsedMs: Math.round(load.elapsedMs),
      exit: stopped.exit ?? { code: stopped.code, stderr: server.stderr().slice(-1000) },
      ...(nodeFlags.length && warmAtUs !== undefined
        ? { profile: { dir: relative(ROOT, profDir), windowUs: [warmAtUs, endAtUs] as [number, number] } }
        : {}),
    };
  } catch (err) {
    await server.stop(5000);
    throw err;
  }
}

async function runHttp(configs: readonly BenchConfig[]): Promise<{ runs: HttpRun[]; summary: HttpSummary[] }> {
  const workRoot = mkdtempSync(join(tmpdir(), 'privacy-log-bench-'));
  const runs: HttpRun[] = [];
  const step = Math.max(1, Math.ceil(configs.length / rounds));
  try {
    for (let r = 1; r <= rounds; r++) {
      const shift = ((r - 1) * step) % configs.length;
      const order = [...configs.slice(shift), ...configs.slice(0, shift)];
      for (let slot = 0; slot < order.length; slot++) {
        const config = order[slot] as BenchConfig;
        const run = await runOne(config, r, slot, workRoot);
        runs.push(run);
        log(
          `round ${r}/${rounds} ${config.id.padEnd(28)} ${run.requestsPerSecond.toFixed(0).padStart(7)} req/s` +
            `  p50 ${run.latencyP50Ms} ms  p99 ${run.latencyP99Ms} ms  rss ${run.rssMiB} MiB` +
            `  cpu ${run.serverCpuUsPerRequest} µs/req${run.non2xx || run.errors ? `  non2xx ${run.non2xx} errors ${run.errors}` : ''}`,
        );
        await new Promise((done) => setTimeout(done, GAP_MS));
      }
    }
  } finally {
    rmSync(workRoot, { recursive: true, force: true });
  }
  return { runs, summary: summarize(configs, runs), ...(cpuProf.length ? { profiles: profileSummaries(runs) } : {}) };
}

/** The main-thread profile of every profiled run, cut to its measured window. */
function profileSummaries(runs: readonly HttpRun[]): ProfileSummary[] {
  const out: ProfileSummary[] = [];
  for (const run of runs) {
    if (!run.profile) continue;
    const dir = join(ROOT, run.profile.dir);
    // Node names the main thread's file CPU.<date>.<pid>.0.<seq>.cpuprofile (thread id 0).
    const main = readdirSync(dir).find((f) => /^CPU\.\d+\.\d+\.\d+\.0\.\d+\.cpuprofile$/.test(f));
    if (!main) continue;
    out.push(summarizeProfile(join(dir, main), run.config, run.round, run.profile.windowUs, run.requests));
  }
  return out;
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  const started = Date.now();
  const configs = selectedConfigs();
  log(
    `privacy-log bench: ${machine.cpuModel}, ${machine.nproc ?? machine.cores} cores, load ${machine.loadAverage.join(' ')}; ` +
      (pinning.pinned
        ? `server on core ${SERVER_CORE}, autocannon on core ${LOAD_CORE} (taskset)`
        : `NOT pinned: ${pinning.reason}`),
  );
  // --reuse-http: the HTTP table and the hot path of an earlier session of this machine; only the scripts run now.
  const reuseHttp = argValue('reuse-http');
  const earlierHttp =
    reuseHttp === undefined ? undefined : (JSON.parse(readFileSync(resolve(ROOT, reuseHttp), 'utf8')) as BenchResults);
  if (earlierHttp) log(`reused the HTTP runs and the hot path of ${reuseHttp} (${earlierHttp.date})`);
  const http = earlierHttp ? earlierHttp.http : has('no-http') ? null : await runHttp(configs);

  const hotPath = earlierHttp
    ? earlierHttp.hotPath
    : has('no-hot-path')
      ? null
      : await runScript(ROOT, 'hot-path.ts', ['--json'], pinning, scriptTimeoutMs);
  if (hotPath) log(`hot-path.ts: exit ${hotPath.code} in ${hotPath.elapsedMs} ms`);

  // Event-loop stalls of the request thread with the default store, with an in-memory sink, and with
  // a hung aggregator (every batch spooled): the robust figure behind the hanging-vs-healthy p99 bar.
  const loopStall: ScriptResult[] = earlierHttp
    ? (earlierHttp.loopStall ?? [])
    : has('no-hot-path')
      ? []
      : [
          await runScript(ROOT, 'lib/loop-stall.ts', ['sqlite', '8', '--json'], pinning, scriptTimeoutMs),
          await runScript(ROOT, 'lib/loop-stall.ts', ['sink', '8', '--json'], pinning, scriptTimeoutMs),
          await runScript(ROOT, 'lib/loop-stall.ts', ['hanging', '8', '--json'], pinning, scriptTimeoutMs),
        ];

  const scripts: ScriptResult[] = [];
  const reuse = argValue('reuse-scripts');
  if (reuse !== undefined) {
    // The other scripts' results of an earlier session (e.g. run while nothing else was measured).
    const earlier = JSON.parse(readFileSync(resolve(ROOT, reuse), 'utf8')) as BenchResults;
    for (const s of earlier.scripts) scripts.push({ ...s, reusedFrom: earlier.date });
    log(`reused ${earlier.scripts.length} script results from ${reuse} (${earlier.date})`);
  } else if (!has('no-scripts')) {
    const wanted = onlyScripts ?? [...DEFAULT_SCRIPTS];
    const names = listScripts(join(ROOT, 'bench')).filter((s) => wanted.includes('all') || wanted.includes(s));
    for (const script of names) {
      const result = await runScript(ROOT, script, [], pinning, scriptTimeoutMs);
      scripts.push(result);
      log(`${script}: exit ${result.code}${result.timedOut ? ' (timed out)' : ''} in ${result.elapsedMs} ms`);
    }
  }

  const results: BenchResults = {
    schema: RESULTS_SCHEMA,
    date: new Date(started).toISOString(),
    totalMs: Date.now() - started,
    revision: gitRevision(ROOT),
    machine: { ...machine, loadAverageEnd: machineInfo().loadAverage },
    versions: packageVersions(ROOT),
    pinning: {
      ...pinning,
      serverCore: pinning.pinned ? SERVER_CORE : null,
      loadCore: pinning.pinned ? LOAD_CORE : null,
    },
    settings: {
      rounds,
      durationSeconds,
      warmupSeconds,
      connections,
      configs: configs.map((c) => c.id),
      destinationPolicy:
        'Every logger writes to a file in a fresh temporary directory through its own standard file or stream option ' +
        '(pino: pino.destination(file), its asynchronous default; koa-logger: transporter → fs.WriteStream; morgan: ' +
        'stream → fs.WriteStream; express-winston: winston File transport; privacy-log: SQLite ./data/privacy-log.db ' +
        'and, for the access-log configuration, winston daily-rotate file). Nothing is written to stdout.',
      requestMix: REQUEST_MIX.map((r) => `${r.method} ${r.path} — ${r.headers['user-agent']?.slice(0, 60)}…`),
      handler: 'the same HTML hello-world page (text/html, 78 bytes) in every configuration',
    },
    http,
    hotPath,
    loopStall,
    scripts,
    bars: [...httpBars(http?.summary, hotPath), ...scriptBars(scripts)],
  };
  if (earlierHttp) {
    // The run is the earlier one (its date, machine, settings, pinning), with today's scripts.
    Object.assign(results, {
      date: earlierHttp.date,
      machine: earlierHttp.machine,
      versions: earlierHttp.versions,
      revision: earlierHttp.revision,
      pinning: earlierHttp.pinning,
      settings: earlierHttp.settings,
      totalMs: earlierHttp.totalMs + results.totalMs,
    });
    for (const s of results.scripts) s.reusedFrom ??= new Date(started).toISOString();
  }
  mkdirSync(dirname(outFile), { recursive: true });
  writeFileSync(outFile, `${JSON.stringify(results, null, 2)}\n`);

  if (http) process.stdout.write(`\n${formatHttpTable(http.summary)}\n`);
  for (const b of results.bars) {
    process.stdout.write(
      `${b.met ? 'MET ' : b.met === false ? 'MISS' : '    '}  ${b.name}: ${b.measured} (target ${b.target})\n`,
    );
  }
  process.stdout.write(`\nwritten ${outFile} in ${Math.round(results.totalMs / 1000)} s\n`);

  if (has('doc')) {
    const { writeBenchmarksDoc } = await import('../scripts/write-benchmarks-doc.js');
    const doc = writeBenchmarksDoc(outFile, join(ROOT, 'docs', 'benchmarks.md'));
    process.stdout.write(`regenerated ${doc}\n`);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
