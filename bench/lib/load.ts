/**
 * Starts the load worker (bench/lib/load-worker.ts) as its own process and
 * waits for its result, bounded in time. `onWarm` runs when the warm-up ends
 * (the worker prints WARMED), so the runner can sample the server there.
 */
import { spawn } from 'node:child_process';
import type { LoadResult, LoadSpec } from './load-worker.js';

export function runLoad(argv: string[], spec: LoadSpec, onWarm: () => void): Promise<LoadResult> {
  const [cmd, ...args] = argv as [string, ...string[]];
  const child = spawn(cmd, args, {
    env: { ...process.env, BENCH_LOAD: JSON.stringify(spec) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const limitMs = (spec.warmupSeconds + spec.durationSeconds) * 1000 + 60_000;
  let out = '';
  let err = '';
  let result: LoadResult | undefined;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`load generator did not finish in ${limitMs} ms`));
    }, limitMs);
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      err = (err + d).slice(-4000);
    });
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      let nl = out.indexOf('\n');
      while (nl !== -1) {
        const line = out.slice(0, nl).trim();
        out = out.slice(nl + 1);
        nl = out.indexOf('\n');
        if (line === 'WARMED') onWarm();
        else if (line.startsWith('{')) result = JSON.parse(line) as LoadResult;
      }
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      if (code === 0 && result) resolve(result);
      else reject(new Error(`load generator failed (exit ${code})\n${err}`));
    });
  });
}
