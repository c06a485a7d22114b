/**
 * Regenerates docs/benchmarks.md from bench/results/latest.json (written by
 * `npm run bench`). Everything is generated except the hand-written section
 * between the HAND_START and HAND_END markers, which is carried over from the
 * current file.
 *
 *   npx tsx scripts/write-benchmarks-doc.ts [results.json] [docs/benchmarks.md] [profile.json]
 *
 * profile.json (default bench/results/profile.json when present) is a run made
 * with --cpu-prof; its profiles are rendered in their own section.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { ProfileSummary } from '../bench/lib/profile-top.js';
import type { BenchResults, HttpRun, ScriptResult } from '../bench/lib/results.js';
import { RESULTS_SCHEMA } from '../bench/lib/results.js';
import { formatHttpTable } from '../bench/lib/table.js';

export const HAND_START = '<!-- hand-written:start (kept by scripts/write-benchmarks-doc.ts) -->';
export const HAND_END = '<!-- hand-written:end -->';
/** Terminal colour codes some scripts print (ESC [ … m). */
const ANSI_SGR = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g');
const PLACEHOLDER = '_Not written yet: what the profile showed, what each change gained._';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** The hand-written section of an existing document, markers excluded. */
export function handWritten(doc: string | undefined): string {
  if (!doc) return PLACEHOLDER;
  const a = doc.indexOf(HAND_START);
  const b = doc.indexOf(HAND_END);
  if (a === -1 || b === -1 || b < a) return PLACEHOLDER;
  return doc.slice(a + HAND_START.length, b).trim() || PLACEHOLDER;
}

/**
 * A script's output as a terminal showed it, fenced: colour codes dropped, and
 * of a line a progress counter rewrote with carriage returns, only what was
 * written last.
 */
export function fence(text: string): string {
  const body = text
    .replace(ANSI_SGR, '')
    .split('\n')
    .map((line) => {
      const l = line.endsWith('\r') ? line.slice(0, -1) : line;
      return l.slice(l.lastIndexOf('\r') + 1);
    })
    .join('\n')
    .trimEnd();
  return ['```text', body.length ? body : '(no output)', '```'].join('\n');
}

function scriptSection(s: ScriptResult): string {
  const status = s.timedOut
    ? `Timed out after ${(s.elapsedMs / 1000).toFixed(0)} s`
    : s.code === 0
      ? `Ran in ${(s.elapsedMs / 1000).toFixed(1)} s`
      : `Failed (exit ${s.code}) after ${(s.elapsedMs / 1000).toFixed(1)} s`;
  const when = s.reusedFrom ? ` Measured in the session of ${s.reusedFrom} on the same machine.` : '';
  const lines = [
    `### \`bench/${s.script}\`${s.args.length ? ` ${s.args.join(' ')}` : ''}`,
    '',
    `${status}.${when}`,
    '',
  ];
  lines.push(fence(s.output));
  return lines.join('\n');
}

function hotPathSection(hot: ScriptResult | null): string {
  if (!hot) return '_Not run (`--no-hot-path`)._';
  const j = hot.json as
    | {
        budgetUs: number;
        iterations: number;
        repeats: number;
        perRequestUs: number;
        minUs: number;
        maxUs: number;
        withDeliveryUs: number;
        stages: { consentUs: number; captureUs: number; pushUs: number };
        sink: { events: number; batches: number };
        pipeline: { dropped: number; invalid: number };
      }
    | undefined;
  if (!j || typeof j.perRequestUs !== 'number') return `\`bench/hot-path.ts\` did not report.\n\n${fence(hot.output)}`;
  const f = (n: number) => n.toFixed(3);
  return [
    '`bench/hot-path.ts`: consent + capture (trusted X-Forwarded-For, truncation, user agent with client hints,',
    'referrer, URL reduction, kind, visitor mark, ISP lookup) + `pipeline.push`, built as `src/privacy-log.ts`',
    'builds them, over the same request mix as the HTTP run, caches warm; the pipeline delivers into an in-memory',
    `counting sink. Median of ${j.repeats} loops of ${j.iterations} requests.`,
    '',
    '| measure | µs per request |',
    '|---|--:|',
    `| **whole hot path** (budget ${j.budgetUs} µs) | **${f(j.perRequestUs)}** (min ${f(j.minUs)}, max ${f(j.maxUs)}) |`,
    `| consent alone | ${f(j.stages.consentUs)} |`,
    `| capture alone | ${f(j.stages.captureUs)} |`,
    `| push alone | ${f(j.stages.pushUs)} |`,
    `| whole path + delivery to the sink, amortized | ${f(j.withDeliveryUs)} |`,
    '',
    `Delivered ${j.sink.events} events in ${j.sink.batches} batches; dropped ${j.pipeline.dropped}, invalid ${j.pipeline.invalid}.`,
  ].join('\n');
}

/** A privacy-log server's own account of one run, as it printed it on exit (bench/lib/pipeline-report.ts). */
interface ServerAccount {
  capture: { requests: number; captured: number; skipped: number; failed: number };
  pipeline: { accepted: number; delivered: number; dropped: number; spooled: number; invalid: number };
}

export function accountOf(run: HttpRun): ServerAccount | undefined {
  const result = (run.exit as { result?: Partial<ServerAccount> } | undefined)?.result;
  return result?.capture && result.pipeline ? (result as ServerAccount) : undefined;
}

/**
 * Whether a server lost anything: every request captured (or skipped on
 * purpose), none failed, and after close() every accepted event delivered to
 * every aggregator, none dropped or invalid.
 */
export function lostSomething(a: ServerAccount): boolean {
  const c = a.capture;
  const p = a.pipeline;
  return (
    c.failed !== 0 ||
    c.captured + c.skipped !== c.requests ||
    p.accepted !== c.captured ||
    p.delivered !== p.accepted ||
    p.dropped !== 0 ||
    p.invalid !== 0
  );
}

export function pipelineEvidence(r: BenchResults): string {
  if (!r.http) return '';
  const rows: string[] = [];
  const lossy: string[] = [];
  for (const run of r.http.runs) {
    const a = accountOf(run);
    if (!a) continue;
    const c = a.capture;
    const p = a.pipeline;
    if (lostSomething(a)) lossy.push(`${run.config} (round ${run.round})`);
    rows.push(
      `| ${run.config} | ${run.round} | ${c.requests} | ${c.captured} | ${c.failed} | ${p.accepted} | ${p.delivered} | ${p.spooled} | ${p.dropped} | ${p.invalid} |`,
    );
  }
  if (rows.length === 0) return '';
  const verdict =
    lossy.length === 0
      ? `In all ${rows.length} runs every request was captured and, after \`close()\`, every accepted event was delivered.`
      : `**Not everything was delivered in ${lossy.length} of ${rows.length} runs: ${lossy.join(', ')}.**`;
  return [
    '<details><summary>privacy-log servers: capture counters and pipeline metrics after close()</summary>',
    '',
    'Every request of warm-up and run, as counted by the server itself. An event counts as delivered once every',
    `aggregator of the server stored it. ${verdict}`,
    '',
    '| server | round | requests | captured | failed | accepted | delivered | spooled | dropped | invalid |',
    '|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|',
    ...rows,
    '',
    '</details>',
  ].join('\n');
}

function profileSection(profiles: readonly ProfileSummary[], source: string): string {
  if (profiles.length === 0) return '';
  const configs = profiles.map((p) => `${p.config} (r${p.round})`);
  const areas = [...new Set(profiles.flatMap((p) => p.areas.map((a) => a.area)))];
  const out = [
    `Main-thread CPU profiles (\`node --cpu-prof\`) of ${source}, cut to the measured run (warm-up and start-up`,
    'left out), self time by where the code lives, in µs per request served. The profiler itself slows the',
    'server down a little; the kernel side of the sockets (softirq) is not in a V8 profile.',
    '',
    `| area | ${configs.join(' | ')} |`,
    `|---|${configs.map(() => '--:').join('|')}|`,
  ];
  for (const area of areas) {
    const cells = profiles.map((p) => {
      const a = p.areas.find((x) => x.area === area);
      return a ? a.usPerRequest.toFixed(1) : '–';
    });
    out.push(`| ${area} | ${cells.join(' | ')} |`);
  }
  out.push(`| **busy, total** | ${profiles.map((p) => `**${p.busyUsPerRequest.toFixed(1)}**`).join(' | ')} |`, '');
  for (const p of profiles) {
    out.push(
      `<details><summary>Top functions: ${p.config} (round ${p.round}, ${p.requests} requests)</summary>`,
      '',
      '| self µs/req | total µs/req | function |',
      '|--:|--:|---|',
      ...p.top.map(
        (t) =>
          `| ${t.selfUsPerRequest.toFixed(2)} | ${t.totalUsPerRequest.toFixed(2)} | \`${t.name.replace(/\|/g, '\\|')}\` |`,
      ),
      '',
      '</details>',
      '',
    );
  }
  return out.join('\n');
}

export function renderBenchmarksDoc(r: BenchResults, hand: string, profiled?: BenchResults): string {
  if (r.schema !== RESULTS_SCHEMA) throw new Error(`results schema ${r.schema}, expected ${RESULTS_SCHEMA}`);
  const m = r.machine;
  const versions = Object.entries(r.versions)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  const out: string[] = [
    '# Benchmarks',
    '',
    '<!-- Generated by scripts/write-benchmarks-doc.ts from bench/results/latest.json.',
    '     Edit only the hand-written section; everything else is regenerated. -->',
    '',
    'How to reproduce: `npm run bench` (add `-- --doc` to regenerate this file, or run',
    '`npx tsx scripts/write-benchmarks-doc.ts` afterwards). Flags: `--rounds`, `--duration`, `--warmup`,',
    '`--connections`, `--only`, `--diagnostics`, `--no-http`, `--no-scripts`, `--scripts all`, `--cpu-prof <config>`,',
    '`--variant name=<source tree>` (before/after in one session, with `bench/lib/snapshot-tree.ts`); see `bench/run.ts`.',
    '',
    '## The run',
    '',
    `- Date: ${r.date} (total ${(r.totalMs / 60_000).toFixed(1)} min); revision ${r.revision}.`,
    `- Machine: ${m.cpuModel}, ${m.cores} cores (\`nproc\` ${m.nproc ?? '?'}), ${m.ramGiB} GiB RAM, Linux ${m.kernel}; load average ${m.loadAverage.join(' / ')} at the start, ${m.loadAverageEnd.join(' / ')} at the end.`,
    `- Node ${m.node}; ${versions}.`,
    r.pinning.pinned
      ? `- Pinning: every server on core ${r.pinning.serverCore}, autocannon on core ${r.pinning.loadCore} (\`taskset -c\`).`
      : `- Pinning: **not pinned** (${r.pinning.reason}); server and load generator shared the cores.`,
    `- Load: autocannon in its own process, ${r.settings.connections} connections, loopback only; per configuration and round a fresh server, ${r.settings.warmupSeconds} s warm-up (discarded), ${r.settings.durationSeconds} s measured; ${r.settings.rounds} rounds, the order rotating between rounds; figures are medians over the rounds, ratios are median over median.`,
    `- Handler: ${r.settings.handler}.`,
    `- Destinations: ${r.settings.destinationPolicy}`,
    `- Requests, cycled on every connection: ${r.settings.requestMix.map((s) => `\`${s}\``).join('; ')} (see \`bench/lib/request-mix.ts\`: consent cookies granted/denied/none with Sec-GPC, client hints, X-Forwarded-For from the trusted loopback proxy).`,
    '',
  ];

  out.push('## Side by side', '');
  if (r.http) {
    out.push(
      formatHttpTable(r.http.summary),
      '',
      "× bare: requests/s over the bare framework of the same row. Δ p99: p99 minus the bare framework's p99.",
      "RSS: the server's VmRSS at the end of its measured run. Server CPU: the server process's user + system time",
      'during the measured run divided by the requests served (the server is pinned to one core, so this is',
      'the inverse of its throughput when the core is saturated).',
      '',
    );
    const ev = pipelineEvidence(r);
    if (ev) out.push(ev, '');
    out.push(
      '<details><summary>Every run</summary>',
      '',
      '| round | slot | configuration | req/s | p50 ms | p99 ms | RSS MiB | CPU µs/req | generator CPU ms |',
      '|--:|--:|---|--:|--:|--:|--:|--:|--:|',
      ...r.http.runs.map(
        (x) =>
          `| ${x.round} | ${x.slot} | ${x.config} | ${x.requestsPerSecond.toFixed(0)} | ${x.latencyP50Ms} | ${x.latencyP99Ms} | ${x.rssMiB ?? '–'} | ${x.serverCpuUsPerRequest ?? '–'} | ${x.generatorCpuMs} |`,
      ),
      '',
      '</details>',
      '',
    );
  } else out.push('_Not run in this session (`--no-http`)._', '');

  out.push('## The bars (DESIGN §12)', '');
  if (r.bars.length) {
    out.push('| bar | target | measured | met |', '|---|---|---|:-:|');
    for (const b of r.bars)
      out.push(`| ${b.name} | ${b.target} | ${b.measured} | ${b.met ? 'yes' : b.met === false ? '**no**' : '–'} |`);
  } else out.push('_No bar could be checked in this run._');
  out.push('');

  const prof = profiled?.http?.profiles ?? r.http?.profiles ?? [];
  if (prof.length) {
    const source = profiled ? `a separate profiling run (${profiled.date}, same machine)` : 'this run';
    out.push('## Profiles', '', profileSection(prof, source), '');
  }

  out.push('## Hot path', '', hotPathSection(r.hotPath), '');

  const stalls = (r.loopStall ?? [])
    .map(
      (x) => x.json as { store: string; events: number; usPerEvent: number; gapMs: Record<string, number> } | undefined,
    )
    .filter((x) => x !== undefined);
  if (stalls.length) {
    out.push(
      '## Event-loop stalls on the request thread',
      '',
      '`bench/lib/loop-stall.ts`: 10 requests of the mix captured and pushed on every turn of the event loop for 8 s,',
      'the pipeline delivering on the same thread (as in the server). A request arriving during a long turn waits for it.',
      '',
      '| store | events | µs per event, delivery included | gap p50 ms | gap p99 ms | gap p99.9 ms | max ms |',
      '|---|--:|--:|--:|--:|--:|--:|',
      ...stalls.map(
        (x) =>
          `| ${x.store} | ${x.events} | ${x.usPerEvent} | ${x.gapMs.p50} | ${x.gapMs.p99} | ${x.gapMs.p999} | ${x.gapMs.max} |`,
      ),
      '',
    );
  }

  out.push('## What the profile showed and what each change gained', '', HAND_START, hand, HAND_END, '');

  out.push('## Other benchmark scripts', '');
  if (r.scripts.length === 0) out.push('_None run in this session (`--no-scripts`)._', '');
  for (const s of r.scripts) out.push(scriptSection(s), '');
  return `${out.join('\n').trimEnd()}\n`;
}

/** Reads the results and the current document, writes the new one; returns its path. */
export function writeBenchmarksDoc(resultsFile: string, docFile: string, profileFile?: string): string {
  const results = JSON.parse(readFileSync(resultsFile, 'utf8')) as BenchResults;
  const profiled = profileFile ? (JSON.parse(readFileSync(profileFile, 'utf8')) as BenchResults) : undefined;
  const current = existsSync(docFile) ? readFileSync(docFile, 'utf8') : undefined;
  writeFileSync(docFile, renderBenchmarksDoc(results, handWritten(current), profiled));
  return docFile;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const resultsFile = resolve(process.argv[2] ?? `${ROOT}/bench/results/latest.json`);
  const docFile = resolve(process.argv[3] ?? `${ROOT}/docs/benchmarks.md`);
  const profileFile =
    process.argv[4] ??
    (existsSync(`${ROOT}/bench/results/profile.json`) ? `${ROOT}/bench/results/profile.json` : undefined);
  process.stdout.write(`${writeBenchmarksDoc(resultsFile, docFile, profileFile)}\n`);
}
