/**
 * Session metrics over event blocks: the streaming equivalent of the memory
 * backend's `sessions` (src/stats/memory-backend.ts), fed one decoded block
 * at a time, in any order, selected as event-block-query.ts selects them.
 */
import type { RawSpec, SessionRow } from '../../stats/backend.js';
import { type SessionSpan, sessionRowsOf } from '../../stats/memory-backend.js';
import type { Property } from '../../stats/query.js';
import type { QueryBlock } from './event-block.js';
import { type BlockAccumulator, selector } from './event-block-query.js';

/** What both accumulators read of a block: the selected events (none: undefined), session and kind codes. */
function sessionColumns(b: QueryBlock, select: (b: QueryBlock) => Uint32Array) {
  const picked = select(b);
  if (picked.length === 0) return undefined;
  return { picked, sess: b.session, kinds: b.code('kind'), pv: b.codeOf('pageview'), width: b.sessionsSize + 1 };
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
      const c = sessionColumns(b, select);
      if (c === undefined) return;
      const { picked, sess, kinds, pv, width } = c;
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
      const c = sessionColumns(b, select);
      if (c === undefined) return;
      const { picked, sess, kinds, pv, width } = c;
      const groups = b.code(property);
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
