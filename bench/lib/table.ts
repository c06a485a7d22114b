/** The HTTP results as a Markdown table (the console and docs/benchmarks.md show the same one). */
import type { HttpSummary } from './results.js';

function num(n: number | null | undefined, digits: number): string {
  return n === null || n === undefined || !Number.isFinite(n) ? '–' : n.toFixed(digits);
}

function signed(n: number | null | undefined, digits: number): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '–';
  return `${n >= 0 ? '+' : ''}${n.toFixed(digits)}`;
}

export function formatHttpTable(summary: readonly HttpSummary[]): string {
  const rows = [
    '| configuration | req/s | × bare | p50 ms | p99 ms | Δ p99 ms | RSS MiB | server CPU µs/req | generator CPU % | rounds |',
    '|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|',
  ];
  for (const s of summary) {
    const flagged = s.non2xx + s.errors > 0 ? ` (non-2xx ${s.non2xx}, errors ${s.errors})` : '';
    const name = s.role === 'privacy-log' ? `**${s.label}**` : s.label;
    rows.push(
      `| ${name}${flagged} | ${num(s.requestsPerSecond, 0)} | ${num(s.ratioToBare, 3)} | ${num(s.latencyP50Ms, 2)} | ` +
        `${num(s.latencyP99Ms, 2)} | ${signed(s.p99DeltaMs, 2)} | ${num(s.rssMiB, 1)} | ${num(s.serverCpuUsPerRequest, 1)} | ` +
        `${num(s.generatorBusyPct, 0)} | ${s.rounds} |`,
    );
  }
  return rows.join('\n');
}
