/**
 * Reads a V8 .cpuprofile (node --cpu-prof) and prints the functions with the
 * most self time, and optionally the total (inclusive) time of each.
 *
 *   npx tsx bench/lib/profile-top.ts <file.cpuprofile> [top=30] [--filter substring]
 */
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface FunctionTime {
  name: string;
  selfMs: number;
  totalMs: number;
  selfShare: number;
}

function frameName(f: CallFrame): string {
  const url = f.url.startsWith('file://') ? relative(process.cwd(), f.url.slice(7)) : f.url;
  const fn = f.functionName || '(anonymous)';
  return url ? `${fn} ${url}:${f.lineNumber + 1}` : fn;
}

export function topFunctions(profile: Profile): FunctionTime[] {
  const byId = new Map<number, ProfileNode>();
  for (const n of profile.nodes) byId.set(n.id, n);
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const selfUs = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i] as number;
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  let all = 0;
  for (const [id, us] of selfUs) {
    all += us;
    const node = byId.get(id) as ProfileNode;
    const name = frameName(node.callFrame);
    self.set(name, (self.get(name) ?? 0) + us);
    // Inclusive time: once per distinct function on the stack.
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const n = frameName((byId.get(cur) as ProfileNode).callFrame);
      if (seen.has(n)) continue;
      seen.add(n);
      total.set(n, (total.get(n) ?? 0) + us);
    }
  }
  return [...total.keys()]
    .map((name) => ({
      name,
      selfMs: (self.get(name) ?? 0) / 1000,
      totalMs: (total.get(name) ?? 0) / 1000,
      selfShare: (self.get(name) ?? 0) / all,
    }))
    .sort((a, b) => b.selfMs - a.selfMs);
}

if (process.argv[1]?.endsWith('profile-top.ts')) {
  const file = process.argv[2];
  if (!file) throw new Error('usage: profile-top.ts <file.cpuprofile> [top] [--filter s] [--total]');
  const top = Number(process.argv[3] ?? 30) || 30;
  const fi = process.argv.indexOf('--filter');
  const filter = fi === -1 ? undefined : process.argv[fi + 1];
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  let rows = topFunctions(profile);
  if (process.argv.includes('--total')) rows = rows.sort((a, b) => b.totalMs - a.totalMs);
  if (filter) rows = rows.filter((r) => r.name.includes(filter));
  const wall = (profile.endTime - profile.startTime) / 1000;
  console.log(`profile ${file}: ${wall.toFixed(0)} ms`);
  console.log('  self ms   self %   total ms  function');
  for (const r of rows.slice(0, top)) {
    console.log(
      `${r.selfMs.toFixed(1).padStart(9)} ${(r.selfShare * 100).toFixed(1).padStart(7)}% ${r.totalMs.toFixed(1).padStart(10)}  ${r.name}`,
    );
  }
}
