/**
 * Raw-event counts over event blocks: the streaming equivalent of the memory
 * backend's rawCounts (src/stats/memory-backend.ts; sessions are in
 * event-block-sessions.ts), fed one decoded block at a time, in any order. A filter is evaluated against a
 * block's dictionary (its value looked up once per block), never per event;
 * events are then selected by comparing codes.
 */
import type { CountRow, RawSpec } from '../../stats/backend.js';
import { SLOT_MS } from '../../stats/event-columns.js';
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

/** A function giving the indices of a block's events the spec selects (range, site, bots, filters): a view of a buffer reused by the next call. */
export function selector(spec: RawSpec): (b: QueryBlock) => Uint32Array {
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
