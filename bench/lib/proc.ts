/**
 * Child processes for the runner: pinning with taskset, a server's lifecycle
 * (wait for BENCH_READY, read its RSS and CPU time from /proc, stop it with a
 * signal and collect BENCH_EXIT), and bounded one-shot commands.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** Cores the server and the load generator run on when pinning is possible. */
export const SERVER_CORE = 0;
export const LOAD_CORE = 1;

export interface Pinning {
  pinned: boolean;
  /** Why not, when not. */
  reason?: string;
}

/** taskset works and there are at least two cores to pin to. */
export function detectPinning(cores: number): Pinning {
  if (process.platform !== 'linux') return { pinned: false, reason: `platform ${process.platform}` };
  if (cores < 2) return { pinned: false, reason: `only ${cores} core(s)` };
  const probe = spawnSync('taskset', ['-c', String(LOAD_CORE), 'true'], { stdio: 'ignore', timeout: 5000 });
  if (probe.error || probe.status !== 0) return { pinned: false, reason: 'taskset is not available' };
  return { pinned: true };
}

/** The argv to run `argv` on `core` (or as it is, unpinned). */
export function pinned(pinning: Pinning, core: number, argv: string[]): string[] {
  return pinning.pinned ? ['taskset', '-c', String(core), ...argv] : argv;
}

/** Node with the tsx loader, so TypeScript sources run as they are. */
export function tsxNode(script: string, nodeFlags: readonly string[] = []): string[] {
  return [process.execPath, ...nodeFlags, '--import', 'tsx', script];
}

export interface ProcStatus {
  rssKiB: number;
  peakRssKiB: number;
}

/** VmRSS and VmHWM of a live process, from /proc/PID/status (Linux). */
export function readProcStatus(pid: number): ProcStatus | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = (field: string) => {
      const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text);
      return m ? Number(m[1]) : Number.NaN;
    };
    return { rssKiB: kib('VmRSS'), peakRssKiB: kib('VmHWM') };
  } catch {
    return undefined;
  }
}

let ticksPerSecond: number | undefined;
/** USER_HZ (getconf CLK_TCK; 100 on Linux unless told otherwise). */
function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8', timeout: 5000 });
    const n = Number(r.stdout?.trim());
    ticksPerSecond = Number.isFinite(n) && n > 0 ? n : 100;
  }
  return ticksPerSecond;
}

/** User + system CPU time of a live process, ms, from /proc/PID/stat (or of one of its threads, with `tid`). */
export function readProcCpuMs(pid: number, tid?: number): number | undefined {
  try {
    const stat = readFileSync(tid === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${tid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may contain spaces.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(rest[11]) + Number(rest[12]); // utime, stime (fields 14, 15)
    return (ticks / clockTicks()) * 1000;
  } catch {
    return undefined;
  }
}

export interface ServerProcess {
  child: ChildProcess;
  pid: number;
  port: number;
  stderr(): string;
  /** SIGTERM, then wait (bounded) for BENCH_EXIT; SIGKILL when it does not come. */
  stop(timeoutMs?: number): Promise<{ exit: unknown; code: number | null }>;
}

export function startServer(argv: string[], env: NodeJS.ProcessEnv, readyTimeoutMs = 30_000): Promise<ServerProcess> {
  const [cmd, ...args] = argv as [string, ...string[]];
  const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  let exitLine: unknown;
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    err = (err + d).slice(-8000);
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`server ${argv.join(' ')} not ready in ${readyTimeoutMs} ms\n${err}`));
    }, readyTimeoutMs);
    const early = (code: number | null) => {
      clearTimeout(timer);
      reject(new Error(`server ${argv.at(-1)} exited (${code}) before it was ready\n${err}`));
    };
    child.once('exit', early);
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      let nl = out.indexOf('\n');
      while (nl !== -1) {
        const line = out.slice(0, nl);
        out = out.slice(nl + 1);
        nl = out.indexOf('\n');
        if (line.startsWith('BENCH_READY ')) {
          clearTimeout(timer);
          child.off('exit', early);
          const port = Number(line.slice('BENCH_READY '.length));
          resolve({
            child,
            pid: child.pid as number,
            port,
            stderr: () => err,
            async stop(timeoutMs = 20_000) {
              child.kill('SIGTERM');
              const kill = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
              const code = await exited;
              clearTimeout(kill);
              return { exit: exitLine, code };
            },
          });
        } else if (line.startsWith('BENCH_EXIT ')) {
          try {
            exitLine = JSON.parse(line.slice('BENCH_EXIT '.length));
          } catch {
            exitLine = line;
          }
        }
      }
    });
  });
}

export interface CommandResult {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  elapsedMs: number;
  timedOut: boolean;
}

/** Run a command to completion, bounded by `timeoutMs` (SIGTERM, then SIGKILL). */
export function runCommand(argv: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<CommandResult> {
  const [cmd, ...args] = argv as [string, ...string[]];
  const t0 = performance.now();
  const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let timedOut = false;
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    stdout = (stdout + d).slice(-200_000);
  });
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr = (stderr + d).slice(-20_000);
  });
  const term = setTimeout(() => {
    timedOut = true;
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 5000).unref();
  }, timeoutMs);
  return new Promise((resolve) => {
    child.once('close', (code, signal) => {
      clearTimeout(term);
      resolve({ code, signal, stdout, stderr, elapsedMs: performance.now() - t0, timedOut });
    });
  });
}
