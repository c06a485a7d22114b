/** The machine, the versions and the moment of a benchmark run. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { join } from 'node:path';

export interface MachineInfo {
  cpuModel: string;
  cores: number;
  nproc: number | null;
  ramGiB: number;
  kernel: string;
  node: string;
  loadAverage: number[];
}

function command(cmd: string, args: string[]): string | undefined {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', timeout: 5000, stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
}

export function machineInfo(): MachineInfo {
  const list = cpus();
  const nproc = Number(command('nproc', []));
  return {
    cpuModel: list[0]?.model ?? 'unknown',
    cores: list.length,
    nproc: Number.isFinite(nproc) && nproc > 0 ? nproc : null,
    ramGiB: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
    kernel: release(),
    node: process.version,
    loadAverage: loadavg().map((l) => Math.round(l * 100) / 100),
  };
}

/** Installed versions of the packages a run depends on. */
export const MEASURED_PACKAGES = [
  'koa',
  'express',
  'better-sqlite3',
  'winston',
  'autocannon',
  'koa-pino-logger',
  'koa-logger',
  'morgan',
  'pino-http',
  'pino',
  'express-winston',
  'tsx',
] as const;

export function packageVersions(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const own = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { name: string; version: string };
  out[own.name] = own.version;
  for (const name of MEASURED_PACKAGES) {
    try {
      const pkg = JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')) as {
        version: string;
      };
      out[name] = pkg.version;
    } catch {
      out[name] = 'not installed';
    }
  }
  return out;
}

/** The commit measured, with '+dirty' when the tree has uncommitted changes. */
export function gitRevision(root: string): string {
  const rev = command('git', ['-C', root, 'rev-parse', '--short', 'HEAD']) ?? 'unknown';
  const dirty = command('git', ['-C', root, 'status', '--porcelain', '--untracked-files=no']);
  return dirty ? `${rev}+dirty` : rev;
}
