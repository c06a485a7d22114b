/**
 * Raw-event queries over event blocks: streaming equivalents of the memory
 * backend's rawCounts and sessions (src/stats/memory-backend.ts), fed one
 * decoded block at a time, in any order. A filter is evaluated against a
 * block's dictionary (its value looked up once per block), never per event;
 * events are then selected by comparing codes.
 */
import type { CountRow, RawSpec, SessionRow } from '../../stats/backend.js';
import { SLOT_MS } from '../../stats/event-columns.js';
import { type SessionSpan, sessionRowsOf } from '../../stats/memory-backend.js';
import type { Property } from '../../stats/query.js';
import type { QueryBlock } from './event-block.js';

/** Takes blocks overlapping the spec's range, in any order; result() answers for all of them. */
export interface BlockAccumulator<T> {
  add(b: QueryBlock): void;
  result(): T[];
}

type Codes = Uint16Array | Uint32Array;
const NONE = new Uint32Array(0);

/** Keeps the picked events whose code is (`equal`) or is not `code`; returns how many are left. */
function keep(picked: Uint32Array, m: number, codes: Codes, code: number, equal: boolean): number {
  let k = 0;
  if (equal) {
    for (let j = 0; j < m; j++) {
      const i = picked[j] as number;
      if (codes[i] === code) picked[k++] = i;
    }
  } else {
    for (let j = 0; j < m; j++) {
      const i = picked[j] as number;
      if (codes[i] !== code) picked[k++] = i;
    }
  }
  return k;
}

/** A function giving the indices of a block's events the spec selects (range, site, bots, filters). */
function selector(spec: RawSpec): (b: QueryBlock) => Uint32Array {
  let picked = new Uint32Array(256);
  const { from, to, includeBots, filters } = spec;
  return (b) => {
    const n = b.n;
    if (b.tsMax < from || b.tsMin >= to) return NONE;
    let site = 0;
    if (spec.site !== undefined) {
      site = b.codeOf(spec.site);
      if (site < 0) return NONE;
    }
    // One pass for time and bots, then one per condition over the events left.
    if (picked.length < n) picked = new Uint32Array(n);
    let m = 0;
    if (b.tsMin >= from && b.tsMax < to) {
      if (includeBots) for (; m < n; m++) picked[m] = m;
      else {
        const bot = b.bot;
        for (let i = 0; i < n; i++) if (bot[i] === 0) picked[m++] = i;
      }
    } else {
      const ts = b.ts;
      const bot = includeBots ? undefined : b.bot;
      for (let i = 0; i < n; i++) {
        const t = ts[i] as number;
        if (t >= from && t < to && (bot === undefined || bot[i] === 0)) picked[m++] = i;
      }
    }
    if (site > 0 && m > 0) m = keep(picked, m, b.code('site'), site, true);
    for (const f of filters) {
      if (m === 0) break;
      // Evaluated on the dictionary, not per event: a filter (matchesFilter) is an equality, which
      // holds for the value's entry alone, or an inequality, which holds for every other code,
      // 0 (no value) included. The property tests hold this to memoryBackend's answers.
      const hit = b.codeOf(f.value);
      if (f.op === '==') {
        if (hit < 0) return NONE;
        m = keep(picked, m, b.code(f.property), hit, true);
      } else if (f.op === '!=') {
        if (hit > 0) m = keep(picked, m, b.code(f.property), hit, false);
      } else {
        const op: never = f.op;
        throw new Error(`event block: no block selection for filter operator ${String(op)}`);
      }
    }
    return picked.subarray(0, m);
  };
}

function countRow(out: Map<string, CountRow>, key: string): CountRow {
  let c = out.get(key);
  if (c === undefined) {
    c = { key, events: 0, pageviews: 0, downloads: 0 };
    out.set(key, c);
  }
  return c;
}

/**
 * Events, pageviews and downloads per group among the events a RawSpec selects:
 * what `memoryBackend(...).rawCounts(spec)` answers for the same events.
 *
 * @example
 * const acc = blockCounts({ from, to, filters: [], includeBots: false, group: { by: 'property', property: 'page' } });
 * for (const row of blocksOverlapping(from, to)) acc.add(decodeQueryBlock(row.cols, row.dict));
 * const rows = acc.result();
 */
export function blockCounts(spec: RawSpec): BlockAccumulator<CountRow> {
  const select = selector(spec);
  const group = spec.group;
  const out = new Map<string, CountRow>();
  /** Per code of the grouped column: events, pageviews, downloads (property grouping). */
  let perCode = new Uint32Array(3 * 256);
  return {
    add(b) {
      const picked = select(b);
      if (picked.length === 0) return;
      const kinds = b.code('kind');
      const pv = b.codeOf('pageview');
      const dl = b.codeOf('download');
      if (group.by === 'none') {
        const c = countRow(out, '');
        for (let j = 0; j < picked.length; j++) {
          const k = kinds[picked[j] as number];
          if (k === pv) c.pageviews++;
          else if (k === dl) c.downloads++;
        }
        c.events += picked.length;
      } else if (group.by === 'slot') {
        const ts = b.ts;
        let slot = Number.NaN;
        let c: CountRow | undefined;
        for (let j = 0; j < picked.length; j++) {
          const i = picked[j] as number;
          const s = Math.floor((ts[i] as number) / SLOT_MS);
          if (s !== slot || c === undefined) {
            slot = s;
            c = countRow(out, String(s));
          }
          c.events++;
          const k = kinds[i];
          if (k === pv) c.pageviews++;
          else if (k === dl) c.downloads++;
        }
      } else {
        const codes = b.code(group.property);
        const size = b.dictSize + 1;
        if (perCode.length < 3 * size) perCode = new Uint32Array(3 * size);
        const counts = perCode;
        counts.fill(0, 0, 3 * size);
        for (let j = 0; j < picked.length; j++) {
          const i = picked[j] as number;
          const g = 3 * (codes[i] as number);
          counts[g] = (counts[g] as number) + 1;
          const k = kinds[i];
          if (k === pv) counts[g + 1] = (counts[g + 1] as number) + 1;
          else if (k === dl) counts[g + 2] = (counts[g + 2] as number) + 1;
        }
        // Code 0: the event has no value for the property, and no group (as in the memory backend).
        for (let k = 1; k < size; k++) {
          const events = counts[3 * k] as number;
          if (events === 0) continue;
          const c = countRow(out, b.entry(k));
          c.events += events;
          c.pageviews += counts[3 * k + 1] as number;
          c.downloads += counts[3 * k + 2] as number;
        }
      }
    },
    result() {
      return [...out.values()].map((c) => ({ ...c }));
    },
  };
}

const withoutSessions = () =>
  new Error(
    'event block: blockSessions needs blocks decoded with their sessions: decodeQueryBlock(cols, dict, sessions)',
  );

/**
 * Consenting sessions per group among the events a RawSpec selects: what
 * `memoryBackend(...).sessions(spec)` answers. A session spanning several
 * blocks is merged (first and last event, pageviews) before it is summed.
 * Blocks must be decoded with their sessions.
 *
 * @example
 * const acc = blockSessions(spec);
 * for (const row of blocksOverlapping(spec.from, spec.to)) acc.add(decodeQueryBlock(row.cols, row.dict, row.sessions));
 * const rows = acc.result();
 */
export function blockSessions(spec: RawSpec): BlockAccumulator<SessionRow> {
  const group = spec.group;
  if (group.by === 'property') return groupedSessions(spec, group.property);
  const select = selector(spec);
  /** Spans so far, keyed by session id. */
  const per = new Map<string, SessionSpan>();
  const merge = (id: string, key: string, pv: number, min: number, max: number) => {
    const s = per.get(id);
    if (s === undefined) per.set(id, { key, pv, min, max });
    else {
      s.pv += pv;
      if (min < s.min) s.min = min;
      if (max > s.max) s.max = max;
    }
  };
  // One block's spans per session code, in arrays reused between blocks (`stamp` tells which
  // entries belong to the current block).
  let stamp = new Uint32Array(256);
  let spanPv = new Uint32Array(256);
  let spanMin = new Float64Array(256);
  let spanMax = new Float64Array(256);
  let touched = new Uint32Array(256);
  let blockNo = 0;
  return {
    add(b) {
      const picked = select(b);
      if (picked.length === 0) return;
      const sess = b.session;
      const kinds = b.code('kind');
      const pv = b.codeOf('pageview');
      const width = b.sessionsSize + 1;
      let ts: Float64Array | undefined;
      if (stamp.length < width) {
        stamp = new Uint32Array(width);
        spanPv = new Uint32Array(width);
        spanMin = new Float64Array(width);
        spanMax = new Float64Array(width);
        touched = new Uint32Array(width);
        blockNo = 0;
      }
      blockNo++;
      let m = 0;
      for (let j = 0; j < picked.length; j++) {
        const i = picked[j] as number;
        const s = sess[i] as number;
        if (s === 0) continue;
        if (s >= width) throw withoutSessions();
        ts ??= b.ts;
        const t = ts[i] as number;
        if (stamp[s] !== blockNo) {
          stamp[s] = blockNo;
          spanPv[s] = 0;
          spanMin[s] = t;
          spanMax[s] = t;
          touched[m++] = s;
        } else if (t < (spanMin[s] as number)) spanMin[s] = t;
        else if (t > (spanMax[s] as number)) spanMax[s] = t;
        if (kinds[i] === pv) spanPv[s] = (spanPv[s] as number) + 1;
      }
      for (let j = 0; j < m; j++) {
        const s = touched[j] as number;
        merge(b.sessionEntry(s), '', spanPv[s] as number, spanMin[s] as number, spanMax[s] as number);
      }
    },
    result() {
      return sessionRowsOf(per.values(), group);
    },
  };
}

/**
 * blockSessions grouped by a property: a span per (value, session) kept in
 * typed arrays, found through small integer ids — each value and session
 * string of a block is looked up once per block, not once per event, and no
 * string or object is made per span (a joined key and a span object each
 * were most of a 30-day page breakdown with session metrics, and its garbage).
 */
function groupedSessions(spec: RawSpec, property: Property): BlockAccumulator<SessionRow> {
  const select = selector(spec);
  const groupIds = new Map<string, number>();
  const groupKeys: string[] = [];
  const sessionIds = new Map<string, number>();
  /** Per group id: session id → span index. */
  const spansOf: Array<Map<number, number>> = [];
  let spans = 0;
  let spanGroup = new Uint32Array(1024);
  let spanPv = new Uint32Array(1024);
  let spanMin = new Float64Array(1024);
  let spanMax = new Float64Array(1024);
  /** Per block: a code's group or session id, -1 until looked up. */
  let gidOf = new Int32Array(256);
  let sidOf = new Int32Array(256);
  const grow = () => {
    const size = spanGroup.length * 2;
    const g = new Uint32Array(size);
    const p = new Uint32Array(size);
    const lo = new Float64Array(size);
    const hi = new Float64Array(size);
    g.set(spanGroup);
    p.set(spanPv);
    lo.set(spanMin);
    hi.set(spanMax);
    [spanGroup, spanPv, spanMin, spanMax] = [g, p, lo, hi];
  };
  return {
    add(b) {
      const picked = select(b);
      if (picked.length === 0) return;
      const sess = b.session;
      const kinds = b.code('kind');
      const pv = b.codeOf('pageview');
      const groups = b.code(property);
      const width = b.sessionsSize + 1;
      const dictWidth = b.dictSize + 1;
      if (gidOf.length < dictWidth) gidOf = new Int32Array(dictWidth);
      gidOf.fill(-1, 0, dictWidth);
      if (sidOf.length < width) sidOf = new Int32Array(width);
      sidOf.fill(-1, 0, width);
      let ts: Float64Array | undefined;
      for (let j = 0; j < picked.length; j++) {
        const i = picked[j] as number;
        const s = sess[i] as number;
        if (s === 0) continue;
        if (s >= width) throw withoutSessions();
        const g = groups[i] as number;
        if (g === 0) continue;
        let gid = gidOf[g] as number;
        if (gid < 0) {
          const key = b.entry(g);
          gid = groupIds.get(key) ?? -1;
          if (gid < 0) {
            gid = groupKeys.push(key) - 1;
            groupIds.set(key, gid);
            spansOf.push(new Map());
          }
          gidOf[g] = gid;
        }
        let sid = sidOf[s] as number;
        if (sid < 0) {
          const id = b.sessionEntry(s);
          sid = sessionIds.get(id) ?? -1;
          if (sid < 0) {
            sid = sessionIds.size;
            sessionIds.set(id, sid);
          }
          sidOf[s] = sid;
        }
        ts ??= b.ts;
        const t = ts[i] as number;
        const bySession = spansOf[gid] as Map<number, number>;
        let k = bySession.get(sid);
        if (k === undefined) {
          if (spans === spanGroup.length) grow();
          k = spans++;
          bySession.set(sid, k);
          spanGroup[k] = gid;
          spanPv[k] = 0;
          spanMin[k] = t;
          spanMax[k] = t;
        } else if (t < (spanMin[k] as number)) spanMin[k] = t;
        else if (t > (spanMax[k] as number)) spanMax[k] = t;
        if (kinds[i] === pv) spanPv[k] = (spanPv[k] as number) + 1;
      }
    },
    result() {
      // sessionRowsOf's sums, per group id: every span one session, a bounce at one pageview or none.
      const rows: SessionRow[] = groupKeys.map((key) => ({ key, sessions: 0, bounces: 0, durationMs: 0 }));
      for (let k = 0; k < spans; k++) {
        const o = rows[spanGroup[k] as number] as SessionRow;
        o.sessions++;
        if ((spanPv[k] as number) <= 1) o.bounces++;
        o.durationMs += (spanMax[k] as number) - (spanMin[k] as number);
      }
      return rows.filter((r) => r.sessions > 0);
    },
  };
}
