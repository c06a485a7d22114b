/**
 * The other bench/*.ts scripts (capture parsers, consent, pipeline, ingest,
 * query, enrichment…), run as child processes with a time bound; their output
 * goes into the report, parsed where it can be.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Pinning, pinned, runCommand, SERVER_CORE, tsxNode } from './proc.js';
import type { ScriptResult } from './results.js';

/** bench/*.ts files that are not scripts of their own: the runner and the hot path (run separately). */
const NOT_SCRIPTS = new Set(['run.ts', 'hot-path.ts']);
const FIGURE_RE =
  /\d[\d,._ ]*\s*(?:events?\/s|ev\/s|req\/s|ops\/s|rows\/s|\/s\b|µs|us\b|ns\b|ms\b|MiB|MB|KiB|kB|GiB|×|x\b|%)/;
const OUTPUT_TAIL = 6000;

/** The bench scripts present, sorted. */
export function listScripts(benchDir: string): string[] {
  return readdirSync(benchDir)
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts') && !f.startsWith('.') && !NOT_SCRIPTS.has(f))
    .sort();
}

/** The last line of `stdout` that parses as a JSON object. */
export function lastJson(stdout: string): unknown {
  const lines = stdout.trim().split('\n');
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = (lines[i] as string).trim();
    if (!line.startsWith('{')) continue;
    try {
      return JSON.parse(line);
    } catch {
      // not JSON after all
    }
  }
  const whole = stdout.trim();
  if (whole.startsWith('{')) {
    try {
      return JSON.parse(whole);
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** Lines of output carrying a figure with a unit, for the report's summary. */
export function figureLines(stdout: string, limit = 40): string[] {
  return stdout
    .split('\n')
    .map((l) => l.trimEnd())
    .filter((l) => l.length > 0 && l.length <= 200 && !l.trimStart().startsWith('{') && FIGURE_RE.test(l))
    .slice(0, limit);
}

export async function runScript(
  root: string,
  script: string,
  args: string[],
  pinning: Pinning,
  timeoutMs: number,
): Promise<ScriptResult> {
  const argv = pinned(pinning, SERVER_CORE, tsxNode(join(root, 'bench', script)));
  const r = await runCommand([...argv, ...args], { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1' }, timeoutMs);
  const ok = r.code === 0 && !r.timedOut;
  const json = lastJson(r.stdout);
  const output = ok ? r.stdout : `${r.stdout}\n--- stderr ---\n${r.stderr}`;
  return {
    script,
    args,
    code: r.code,
    timedOut: r.timedOut,
    elapsedMs: Math.round(r.elapsedMs),
    ...(json === undefined ? {} : { json }),
    figures: figureLines(r.stdout),
    output: output.length > OUTPUT_TAIL ? `…${output.slice(-OUTPUT_TAIL)}` : output,
  };
}
