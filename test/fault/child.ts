/** Spawns test/fault/fixtures/load-child.ts under tsx and follows its "A <accepted> <spooled>" lines. */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface LoadChild {
  proc: ChildProcess;
  /** The last reported [accepted, spooled]. */
  last: () => [number, number];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const FIXTURE = fileURLToPath(new URL('./fixtures/load-child.ts', import.meta.url));

export function spawnLoadChild(env: Record<string, string>): LoadChild {
  const proc = spawn(process.execPath, ['--import', 'tsx', FIXTURE], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let last: [number, number] = [0, 0];
  let buf = '';
  proc.stdout?.setEncoding('utf8');
  proc.stdout?.on('data', (chunk: string) => {
    buf += chunk;
    const lines = buf.split('\n');
    buf = lines.pop() ?? '';
    for (const line of lines) {
      const m = /^A (\d+) (\d+)$/.exec(line);
      if (m) last = [Number(m[1]), Number(m[2])];
    }
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    proc.on('exit', (code, signal) => resolve({ code, signal }));
  });
  return { proc, last: () => last, exited };
}
