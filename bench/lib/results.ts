/** The shape of bench/results/latest.json, written by bench/run.ts and read by scripts/write-benchmarks-doc.ts. */
import type { BenchConfig } from './configs.js';
import type { MachineInfo } from './machine.js';
import type { Pinning } from './proc.js';
import type { ProfileSummary } from './profile-top.js';

export const RESULTS_SCHEMA = 1;

export interface HttpRun {
  config: string;
  round: number;
  /** Position of this run within its round (the order rotates each round). */
  slot: number;
  requestsPerSecond: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  latencyMeanMs: number;
  requests: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  /** VmRSS of the server at the end of the measured run, MiB. */
  rssMiB: number | null;
  /** VmHWM (peak RSS) of the server, MiB. */
  peakRssMiB: number | null;
  /** Server CPU time (user + system) per request served during warm-up and run, µs. */
  serverCpuUsPerRequest: number | null;
  generatorCpuMs: number;
  elapsedMs: number;
  /** What the server printed on exit (privacy-log: capture counters and pipeline metrics). */
  exit: unknown;
  /** With --cpu-prof: where the profiles are, and the measured run's window on the profiles' clock (µs). */
  profile?: { dir: string; windowUs: [number, number] };
}

export interface HttpSummary extends BenchConfig {
  rounds: number;
  requestsPerSecond: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  rssMiB: number | null;
  serverCpuUsPerRequest: number | null;
  /** Median req/s over the bare framework's median req/s. */
  ratioToBare: number | null;
  /** Median p99 minus the bare framework's median p99, ms. */
  p99DeltaMs: number | null;
  non2xx: number;
  errors: number;
  /** The load generator's CPU time over the run's wall time, %: near 100 means the generator, not the server, set the pace. */
  generatorBusyPct: number | null;
}

export interface ScriptResult {
  script: string;
  args: string[];
  code: number | null;
  timedOut: boolean;
  elapsedMs: number;
  /** The last JSON object printed on stdout, when the script prints one. */
  json?: unknown;
  /** Lines of stdout that carry a figure with a unit. */
  figures: string[];
  /** The tail of stdout (and of stderr on failure). */
  output: string;
  /** Set when the result was taken over from an earlier session (`--reuse-scripts`): that session's date. */
  reusedFrom?: string;
}

export interface BarCheck {
  name: string;
  target: string;
  measured: string;
  met: boolean | null;
}

export interface BenchResults {
  schema: typeof RESULTS_SCHEMA;
  date: string;
  totalMs: number;
  revision: string;
  machine: MachineInfo & { loadAverageEnd: number[] };
  versions: Record<string, string>;
  pinning: Pinning & { serverCore: number | null; loadCore: number | null };
  settings: {
    rounds: number;
    durationSeconds: number;
    warmupSeconds: number;
    connections: number;
    configs: string[];
    destinationPolicy: string;
    requestMix: string[];
    handler: string;
  };
  http: { runs: HttpRun[]; summary: HttpSummary[]; profiles?: ProfileSummary[] } | null;
  hotPath: ScriptResult | null;
  /** bench/lib/loop-stall.ts with SQLite and with an in-memory sink (absent in older results). */
  loopStall?: ScriptResult[];
  scripts: ScriptResult[];
  bars: BarCheck[];
}
