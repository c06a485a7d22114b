/**
 * Reads a V8 .cpuprofile (node --cpu-prof) and prints the functions with the
 * most self time, and optionally the total (inclusive) time of each.
 *
 *   npx tsx bench/lib/profile-top.ts <file.cpuprofile> [top=30] [--filter substring]
 *                                    [--skip-ms N | --window fromUs,toUs] [--requests N] [--total] [--areas]
 *
 * --skip-ms drops the first N ms (start-up and module loading); --areas sums
 * self time by where the code lives (privacy-log, better-sqlite3, Koa, Node's
 * HTTP stack, garbage collection, idle…).
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

/** Where a frame's code lives, for --areas. */
export function areaOf(name: string): string {
  if (name.startsWith('(idle)')) return 'idle';
  if (name.startsWith('(garbage collector)')) return 'garbage collection';
  if (name.startsWith('(program)')) return 'V8/native (program)';
  if (/ (src|middleware)\//.test(name)) {
    if (/ src\/aggregators\//.test(name) || / src\/stats\//.test(name))
      return 'privacy-log: store (aggregators, stats)';
    if (/ src\/pipeline\//.test(name)) return 'privacy-log: pipeline';
    if (/ src\/event\.ts/.test(name)) return 'privacy-log: event validation';
    return 'privacy-log: capture, consent, adapter';
  }
  if (name.includes('better-sqlite3')) return 'better-sqlite3 (JS side)';
  if (
    /node_modules\/(koa|koa-compose|delegates|on-finished|ee-first|mime-types|statuses|http-errors|cookies|accepts|type-is|content-type|vary|encodeurl|escape-html|destroy|only|fresh|depd)\//.test(
      name,
    )
  )
    return 'Koa and its helpers';
  if (
    /node_modules\/(express|router|finalhandler|send|etag|body-parser|qs|parseurl|proxy-addr|forwarded|serve-static|range-parser|merge-descriptors|cookie-signature|setprototypeof)\//.test(
      name,
    )
  )
    return 'Express and its helpers';
  if (/node_modules\/(ua-parser-js|isbot|tldts|ipaddr\.js)\//.test(name))
    return 'parsers (ua-parser-js, isbot, tldts, ipaddr.js)';
  if (
    /node_modules\/(winston|logform|triple-beam|winston-transport|readable-stream|winston-daily-rotate-file|file-stream-rotator)/.test(
      name,
    )
  )
    return 'winston';
  if (/node_modules\/(pino|sonic-boom|pino-http|koa-pino-logger|koa-logger|morgan|express-winston)/.test(name))
    return 'peer logger';
  if (
    name.includes('tsx/dist') ||
    /esm\/(hooks|worker|loader|resolve|utils)|modules\/cjs|cjs-module-lexer|bootstrap\/realm|pre_execution/.test(name)
  )
    return 'module loading (start-up)';
  if (
    /node:(_http|net|stream|internal\/streams|internal\/stream_base|events|internal\/process\/task_queues|internal\/timers|timers|internal\/http|internal\/url|buffer)/.test(
      name,
    ) ||
    /^(writev|writeUtf8String|writeBuffer|createWriteWrap|runMicrotasks|close|read|shutdown)\b/.test(name)
  )
    return 'Node: HTTP, sockets, streams, events';
  return 'other';
}

/** Samples taken inside [from, to] (µs on the profile's clock); `skipMs` counts from the profile's start instead. */
export interface SampleWindow {
  skipMs?: number;
  fromUs?: number;
  toUs?: number;
}

export function topFunctions(profile: Profile, skip: number | SampleWindow = 0): FunctionTime[] {
  const w: SampleWindow = typeof skip === 'number' ? { skipMs: skip } : skip;
  const fromUs = w.fromUs ?? profile.startTime + (w.skipMs ?? 0) * 1000;
  const toUs = w.toUs ?? Number.POSITIVE_INFINITY;
  const byId = new Map<number, ProfileNode>();
  for (const n of profile.nodes) byId.set(n.id, n);
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const selfUs = new Map<number, number>();
  let at = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    at += profile.timeDeltas[i] ?? 0;
    if (at < fromUs || at > toUs) continue;
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

export interface ProfileSummary {
  config: string;
  round: number;
  requests: number;
  busyUsPerRequest: number;
  areas: Array<{ area: string; usPerRequest: number; share: number }>;
  top: Array<{ name: string; selfUsPerRequest: number; totalUsPerRequest: number }>;
}

/**
 * The main thread's profile of one run, cut to the measured window, as µs per
 * request by area and for the top functions.
 */
export function summarizeProfile(
  file: string,
  config: string,
  round: number,
  windowUs: [number, number],
  requests: number,
  topN = 15,
): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const rows = topFunctions(profile, { fromUs: windowUs[0], toUs: windowUs[1] });
  const areas = new Map<string, number>();
  let busy = 0;
  for (const r of rows) {
    const a = areaOf(r.name);
    areas.set(a, (areas.get(a) ?? 0) + r.selfMs);
    if (a !== 'idle') busy += r.selfMs;
  }
  const us = (ms: number) => Math.round(((ms * 1000) / requests) * 100) / 100;
  return {
    config,
    round,
    requests,
    busyUsPerRequest: us(busy),
    areas: [...areas]
      .filter(([a]) => a !== 'idle')
      .sort((x, y) => y[1] - x[1])
      .map(([area, ms]) => ({ area, usPerRequest: us(ms), share: Math.round((ms / busy) * 1000) / 1000 })),
    top: rows
      .filter((r) => areaOf(r.name) !== 'idle')
      .slice(0, topN)
      .map((r) => ({ name: r.name, selfUsPerRequest: us(r.selfMs), totalUsPerRequest: us(r.totalMs) })),
  };
}

if (process.argv[1]?.endsWith('profile-top.ts')) {
  const file = process.argv[2];
  if (!file) throw new Error('usage: profile-top.ts <file.cpuprofile> [top] [--filter s] [--total]');
  const top = Number(process.argv[3] ?? 30) || 30;
  const fi = process.argv.indexOf('--filter');
  const filter = fi === -1 ? undefined : process.argv[fi + 1];
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const si = process.argv.indexOf('--skip-ms');
  const skipMs = si === -1 ? 0 : Number(process.argv[si + 1]) || 0;
  const wi = process.argv.indexOf('--window');
  const win = wi === -1 ? undefined : (process.argv[wi + 1] ?? '').split(',').map(Number);
  const ri = process.argv.indexOf('--requests');
  const requests = ri === -1 ? 0 : Number(process.argv[ri + 1]) || 0;
  let rows = topFunctions(profile, win ? { fromUs: win[0], toUs: win[1] } : skipMs);
  if (process.argv.includes('--areas')) {
    const areas = new Map<string, number>();
    let busy = 0;
    for (const r of rows) {
      const a = areaOf(r.name);
      areas.set(a, (areas.get(a) ?? 0) + r.selfMs);
      if (a !== 'idle') busy += r.selfMs;
    }
    console.log(
      `areas (self time; % of non-idle time${requests ? `; µs per request over ${requests} requests` : ''}):`,
    );
    for (const [a, ms] of [...areas].sort((x, y) => y[1] - x[1])) {
      const share = a === 'idle' ? '      ' : `${((ms / busy) * 100).toFixed(1).padStart(5)}%`;
      const perRequest = requests ? ` ${((ms * 1000) / requests).toFixed(1).padStart(7)} µs/req` : '';
      console.log(`${ms.toFixed(0).padStart(9)} ms ${share}${perRequest}  ${a}`);
    }
    if (requests)
      console.log(`${busy.toFixed(0).padStart(9)} ms busy: ${((busy * 1000) / requests).toFixed(1)} µs per request`);
  }
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
