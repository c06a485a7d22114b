/**
 * Diagnostic: system calls, context switches and kernel time per request of the
 * HTTP configurations, under the same load as `npm run bench` (pinned server,
 * autocannon with the request mix in its own process, warm-up discarded).
 * `perf stat` counts syscall tracepoints on every thread of the server during
 * the measured run only; with --record, `perf record` samples the server's
 * main thread (user and kernel stacks) instead, for a kernel-side profile.
 * Linux and perf only; every configuration gets the same treatment.
 *
 *   npx tsx bench/lib/syscalls.ts [--only koa-bare,koa-privacy-log] [--rounds 2] [--duration 5]
 *                                 [--connections 10] [--record dir] [--rate 8000] [--variant name=dir]
 *
 * --rate paces autocannon at a fixed number of requests per second (open loop)
 * instead of as fast as the server answers: every configuration then serves the
 * same rate, so CPU per request compares the work itself rather than how busy
 * a faster server keeps the load generator. --variant also runs the privacy-log
 * configurations of --only from the source tree at dir, as `<id>@name`.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CONFIGS } from './configs.js';
import { runLoad } from './load.js';
import { detectPinning, LOAD_CORE, pinned, readProcCpuMs, SERVER_CORE, startServer, tsxNode } from './proc.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : (process.argv[i + 1] ?? fallback);
}

const SYSCALLS = [
  'writev',
  'write',
  'read',
  'epoll_wait',
  'epoll_pwait',
  'epoll_ctl',
  'futex',
  'pwrite64',
  'pread64',
  'fdatasync',
  'fsync',
  'lseek',
  'openat',
  'close',
  'mmap',
  'munmap',
  'madvise',
  'mprotect',
  'brk',
  'getrandom',
  'clock_gettime',
  'io_uring_enter',
  'accept4',
  'fcntl',
];
const EVENTS = [
  'raw_syscalls:sys_enter',
  ...SYSCALLS.map((s) => `syscalls:sys_enter_${s}`),
  'context-switches',
  'cpu-migrations',
  'sched:sched_wakeup',
];

interface CpuSplit {
  userMs: number;
  sysMs: number;
}

/** User and system CPU time of a live process, ms, from /proc/PID/stat (USER_HZ 100 assumed, as getconf says here). */
function readCpuSplit(pid: number): CpuSplit | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { userMs: Number(rest[11]) * 10, sysMs: Number(rest[12]) * 10 };
  } catch {
    return undefined;
  }
}

interface PerfCounts {
  /** event → thread name → count */
  byThread: Map<string, Map<string, number>>;
}

/** Parses `perf stat -x, --per-thread` output: thread,count,unit,event,… */
function parsePerf(text: string): PerfCounts {
  const byThread = new Map<string, Map<string, number>>();
  for (const line of text.split('\n')) {
    const f = line.split(',');
    if (f.length < 4) continue;
    const thread = (f[0] ?? '').replace(/-\d+$/, '');
    const n = Number(f[1]);
    const event = f[3] ?? '';
    if (!Number.isFinite(n) || !event) continue;
    let m = byThread.get(event);
    if (!m) {
      m = new Map();
      byThread.set(event, m);
    }
    m.set(thread, (m.get(thread) ?? 0) + n);
  }
  return { byThread };
}

function startPerf(argv: string[]): { stop(): Promise<string> } {
  const child = spawn('perf', argv, { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    err += d;
  });
  const closed = new Promise<void>((done) => child.once('close', () => done()));
  return {
    async stop() {
      child.kill('SIGINT');
      await closed;
      return err;
    },
  };
}

async function main(): Promise<void> {
  const only = arg('only', 'koa-bare,koa-privacy-log,koa-privacy-log-sink,koa-logger').split(',');
  const rounds = Number(arg('rounds', '2'));
  const duration = Number(arg('duration', '5'));
  const connections = Number(arg('connections', '10'));
  const recordDir = arg('record', '');
  const rate = Number(arg('rate', '0'));
  const variant = arg('variant', '');
  const eq = variant.indexOf('=');
  const variantName = eq > 0 ? variant.slice(0, eq) : '';
  const variantRoot = eq > 0 ? resolve(variant.slice(eq + 1)) : '';
  const ids = [...only];
  if (variantRoot) {
    for (const id of only) {
      const role = CONFIGS.find((c) => c.id === id)?.role;
      if (role === 'privacy-log' || role === 'diagnostic') ids.push(`${id}@${variantName}`);
    }
  }
  const pinning = detectPinning(2);
  const work = mkdtempSync(join(tmpdir(), 'privacy-log-syscalls-'));
  const rows: Array<Record<string, string | number>> = [];
  try {
    for (let r = 1; r <= rounds; r++) {
      for (const id of r % 2 ? ids : [...ids].reverse()) {
        const at = id.indexOf('@');
        const root = at < 0 ? ROOT : variantRoot;
        const base = at < 0 ? id : id.slice(0, at);
        // A configuration id, or `file.ts` / `file.ts:SPIN_US` for a server file of bench/http/ outside
        // the table (koa-bare-spin.ts: bare Koa burning SPIN_US of CPU per request, a control).
        const [file, spin] = base.includes('.ts') ? base.split(':') : [`${base}.ts`, undefined];
        if (!base.includes('.ts') && !CONFIGS.some((c) => c.id === base))
          throw new Error(`unknown configuration ${base}`);
        const server = await startServer(
          pinned(pinning, SERVER_CORE, tsxNode(join(root, 'bench', 'http', file as string))),
          {
            ...process.env,
            BENCH_WORKDIR: join(work, `${id.replace(/[^\w.-]/g, '_')}-${r}`),
            NODE_ENV: 'production',
            ...(spin ? { BENCH_SPIN_US: spin } : {}),
          },
        );
        let perf: { stop(): Promise<string> } | undefined;
        let cpu0 = 0;
        let split0: CpuSplit | undefined;
        const recordFile = recordDir ? join(resolve(recordDir), `${id}-r${r}.perf.data`) : '';
        if (recordFile) mkdirSync(dirname(recordFile), { recursive: true });
        const load = await runLoad(
          pinned(pinning, LOAD_CORE, tsxNode(join(ROOT, 'bench', 'lib', 'load-worker.ts'))),
          {
            url: `http://127.0.0.1:${server.port}`,
            connections,
            warmupSeconds: 2,
            durationSeconds: duration,
            ...(rate > 0 ? { overallRate: rate } : {}),
          },
          () => {
            cpu0 = readProcCpuMs(server.pid) ?? 0;
            split0 = readCpuSplit(server.pid);
            perf = recordFile
              ? startPerf(['record', '-q', '-g', '-e', 'cpu-clock', '-t', String(server.pid), '-o', recordFile])
              : startPerf(['stat', '-x,', '--per-thread', '-e', EVENTS.join(','), '-p', String(server.pid)]);
          },
        );
        const cpuMs = (readProcCpuMs(server.pid) ?? 0) - cpu0;
        const split1 = readCpuSplit(server.pid);
        const text = (await perf?.stop()) ?? '';
        await server.stop();
        const n = load.requests;
        const row: Record<string, string | number> = {
          config: id,
          round: r,
          rps: Math.round(load.requestsPerSecond),
          cpuUsPerReq: Math.round(((cpuMs * 1000) / n) * 10) / 10,
          userUs: split0 && split1 ? Math.round(((split1.userMs - split0.userMs) * 10000) / n) / 10 : Number.NaN,
          sysUs: split0 && split1 ? Math.round(((split1.sysMs - split0.sysMs) * 10000) / n) / 10 : Number.NaN,
          genCpuPct: Math.round((load.generatorCpuMs / load.elapsedMs) * 100),
        };
        if (!recordFile) {
          const counts = parsePerf(text).byThread;
          const per = (event: string, thread?: string) => {
            const m = counts.get(event);
            if (!m) return Number.NaN;
            let sum = 0;
            for (const [t, c] of m) if (thread === undefined || t === thread) sum += c;
            return Math.round((sum / n) * 1000) / 1000;
          };
          // The main thread is named after the process ('node'); the others are libuv and V8 workers.
          row.sys = per('raw_syscalls:sys_enter');
          row.sysMain = per('raw_syscalls:sys_enter', 'node');
          for (const s of SYSCALLS) {
            const v = per(`syscalls:sys_enter_${s}`);
            if (v > 0.0005) row[s] = v;
          }
          row.cs = per('context-switches');
          row.csMain = per('context-switches', 'node');
          row.wakeups = per('sched:sched_wakeup');
          row.threads = [...(counts.get('raw_syscalls:sys_enter') ?? new Map()).entries()]
            .filter(([, c]) => c / n > 0.001)
            .map(([t, c]) => `${t}:${Math.round((c / n) * 1000) / 1000}`)
            .join(' ');
        }
        rows.push(row);
        process.stdout.write(`${JSON.stringify(row)}\n`);
        await new Promise((done) => setTimeout(done, 500));
      }
    }
    // Medians over the rounds, per configuration.
    process.stdout.write('\nmedians: config, req/s, CPU µs/req (user + system), syscalls/req, context switches/req\n');
    const median = (xs: number[]) => {
      const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
      return s.length === 0
        ? Number.NaN
        : s.length % 2
          ? (s[s.length >> 1] as number)
          : ((s[s.length / 2 - 1] as number) + (s[s.length / 2] as number)) / 2;
    };
    for (const id of ids) {
      const mine = rows.filter((r) => r.config === id);
      const m = (k: string) => Math.round(median(mine.map((r) => Number(r[k]))) * 1000) / 1000;
      process.stdout.write(
        `${id.padEnd(34)} ${String(m('rps')).padStart(7)}  ${String(m('cpuUsPerReq')).padStart(5)} (${m('userUs')} + ${m('sysUs')})  ${m('sys')}  ${m('cs')}\n`,
      );
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
    if (recordDir) process.stdout.write(`perf data: ${readdirSync(resolve(recordDir)).join(', ')}\n`);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`syscalls failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
