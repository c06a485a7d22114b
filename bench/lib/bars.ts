/** The DESIGN §12 bars checked against a run's figures, and the bars other scripts report. */
import type { BarCheck, HttpSummary, ScriptResult } from './results.js';

export function httpBars(summary: HttpSummary[] | undefined, hot: ScriptResult | null): BarCheck[] {
  const out: BarCheck[] = [];
  const get = (id: string) => summary?.find((s) => s.id === id);
  const koa = get('koa-privacy-log');
  if (koa && koa.ratioToBare !== null) {
    out.push({
      name: 'Koa + privacy-log req/s vs bare Koa',
      target: '≥ 0.85×',
      measured: `${koa.ratioToBare.toFixed(3)}×`,
      met: koa.ratioToBare >= 0.85,
    });
  }
  if (koa && koa.p99DeltaMs !== null) {
    out.push({
      name: 'Koa + privacy-log p99 vs bare Koa',
      target: '≤ +1 ms',
      measured: `${koa.p99DeltaMs >= 0 ? '+' : ''}${koa.p99DeltaMs.toFixed(2)} ms`,
      met: koa.p99DeltaMs <= 1,
    });
  }
  for (const [ours, peers] of [
    ['koa-privacy-log', ['koa-pino-logger', 'koa-logger']],
    ['express-privacy-log', ['morgan', 'pino-http', 'express-winston']],
  ] as const) {
    const mine = get(ours);
    for (const peerId of peers) {
      const peer = get(peerId);
      if (!mine || !peer) continue;
      out.push({
        name: `${mine.label} ahead of ${peer.label}`,
        target: 'more req/s',
        measured: `${mine.requestsPerSecond} vs ${peer.requestsPerSecond} req/s (${(mine.requestsPerSecond / peer.requestsPerSecond).toFixed(3)}×)`,
        met: mine.requestsPerSecond > peer.requestsPerSecond,
      });
    }
  }
  const hotJson = hot?.json as { perRequestUs?: number; budgetUs?: number } | undefined;
  if (typeof hotJson?.perRequestUs === 'number') {
    out.push({
      name: 'Hot path (consent + capture + push)',
      target: `≤ ${hotJson.budgetUs ?? 3} µs`,
      measured: `${hotJson.perRequestUs.toFixed(3)} µs`,
      met: hotJson.perRequestUs <= (hotJson.budgetUs ?? 3),
    });
  }
  return out;
}

/** Bars the other scripts report in their JSON summary (`bar: { …, met }` or `barMet`). */
export function scriptBars(scripts: readonly ScriptResult[]): BarCheck[] {
  const out: BarCheck[] = [];
  for (const s of scripts) {
    const j = s.json as { bar?: Record<string, unknown>; barMet?: unknown; deltaMs?: unknown } | undefined;
    if (j?.bar && typeof j.bar.met === 'boolean') {
      // `measured`, when a script gives it, says in words what the bar was judged on.
      const { met, measured, ...target } = j.bar;
      out.push({
        name: `bench/${s.script}`,
        target: Object.entries(target)
          .map(([k, v]) => `${k} ${v}`)
          .join(', '),
        measured:
          typeof measured === 'string' ? measured : measuredFor(j as Record<string, unknown>, Object.keys(target)[0]),
        met: met as boolean,
      });
    } else if (j && typeof j.barMet === 'boolean') {
      out.push({
        name: `bench/${s.script}`,
        target: 'its own bar',
        measured: typeof j.deltaMs === 'number' ? `Δ ${j.deltaMs.toFixed(3)} ms` : 'see its section below',
        met: j.barMet,
      });
    }
  }
  return out;
}

/**
 * The figure a script's bar is about, when its JSON names it alike: the bar key
 * `sqliteEventsPerSec` matches `sqliteAggregatorEventsPerSec` (same first and
 * last word). Otherwise a pointer to the script's section.
 */
function measuredFor(json: Record<string, unknown>, barKey: string | undefined): string {
  if (barKey) {
    const words = barKey.split(/(?=[A-Z])/);
    const first = words[0] ?? '';
    const last = words.at(-1) ?? '';
    for (const [k, v] of Object.entries(json)) {
      if (typeof v === 'number' && k !== barKey && k.startsWith(first) && k.endsWith(last)) return `${k} ${v}`;
    }
  }
  return 'see its section below';
}
