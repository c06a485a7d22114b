/**
 * StatsBackend over rows held in memory: the reference the SQL stores are
 * tested against (the conformance suite checks they agree). It answers the
 * rollup primitives from raw rows, which is exact because rollups are exact.
 */
import type {
  CountRow,
  DaySpec,
  Grouping,
  RawSpec,
  SessionRow,
  SketchRow,
  SketchSpec,
  SlotSpec,
  StatsBackend,
} from './backend.js';
import { type EventRow, SLOT_MS } from './event-columns.js';
import { matchesFilter } from './filter.js';

/** Sketch blobs keyed by `${dimension}\0${day}\0${site}\0${value}`. */
export type SketchStore = Map<string, Uint8Array>;

export function sketchStoreKey(dimension: string, day: string, site: string, value: string): string {
  return `${dimension}\u0000${day}\u0000${site}\u0000${value}`;
}

function selected(rows: Iterable<EventRow>, spec: Omit<RawSpec, 'group'>): EventRow[] {
  const out: EventRow[] = [];
  for (const r of rows) {
    if (r.ts < spec.from || r.ts >= spec.to) continue;
    if (spec.site !== undefined && r.site !== spec.site) continue;
    if (!spec.includeBots && r.bot) continue;
    if (!spec.filters.every((f) => matchesFilter(r[f.property], f))) continue;
    out.push(r);
  }
  return out;
}

function keyOf(r: EventRow, group: Grouping): string | undefined {
  if (group.by === 'none') return '';
  if (group.by === 'slot') return String(Math.floor(r.ts / SLOT_MS));
  return r[group.property];
}

function count(rows: readonly EventRow[], group: Grouping): CountRow[] {
  const out = new Map<string, CountRow>();
  for (const r of rows) {
    const key = keyOf(r, group);
    if (key === undefined) continue;
    let c = out.get(key);
    if (c === undefined) {
      c = { key, events: 0, pageviews: 0, downloads: 0 };
      out.set(key, c);
    }
    c.events++;
    if (r.kind === 'pageview') c.pageviews++;
    if (r.kind === 'download') c.downloads++;
  }
  return [...out.values()];
}

/** One session's span within a group: its group key, pageviews, first and last event. */
export interface SessionSpan {
  key: string;
  pv: number;
  min: number;
  max: number;
}

/**
 * Session rows from sessions' spans: per group key (for slot grouping, the
 * slot of the session's first event) how many sessions, how many bounced (at
 * most one pageview), and their summed duration. Every store's raw session
 * query ends here, so they all count alike.
 *
 * @example
 * sessionRowsOf([{ key: '', pv: 1, min: 0, max: 60_000 }], { by: 'none' });
 * // [{ key: '', sessions: 1, bounces: 1, durationMs: 60000 }]
 */
export function sessionRowsOf(spans: Iterable<SessionSpan>, group: Grouping): SessionRow[] {
  const out = new Map<string, SessionRow>();
  for (const s of spans) {
    const key = group.by === 'slot' ? String(Math.floor(s.min / SLOT_MS)) : s.key;
    let o = out.get(key);
    if (o === undefined) {
      o = { key, sessions: 0, bounces: 0, durationMs: 0 };
      out.set(key, o);
    }
    o.sessions++;
    if (s.pv <= 1) o.bounces++;
    o.durationMs += s.max - s.min;
  }
  return [...out.values()];
}

/**
 * @example
 * const backend = memoryBackend(() => rows.values(), sketches);
 * const source = createStatsEngine(backend);
 */
export function memoryBackend(rows: () => Iterable<EventRow>, sketches: SketchStore): StatsBackend {
  return {
    async rawCounts(spec: RawSpec) {
      return count(selected(rows(), spec), spec.group);
    },
    async sessions(spec: RawSpec): Promise<SessionRow[]> {
      const per = new Map<string, { key: string; pv: number; min: number; max: number }>();
      for (const r of selected(rows(), spec)) {
        if (r.sessionId === undefined) continue;
        const gk = spec.group.by === 'property' ? r[spec.group.property] : '';
        if (gk === undefined) continue;
        const id = `${gk}\u0000${r.sessionId}`;
        let s = per.get(id);
        if (s === undefined) {
          s = { key: gk, pv: 0, min: r.ts, max: r.ts };
          per.set(id, s);
        }
        if (r.kind === 'pageview') s.pv++;
        if (r.ts < s.min) s.min = r.ts;
        if (r.ts > s.max) s.max = r.ts;
      }
      return sessionRowsOf(per.values(), spec.group);
    },
    async dayCounts(spec: DaySpec) {
      const from = Date.parse(`${spec.fromDay}T00:00:00.000Z`);
      const to = Date.parse(`${spec.toDay}T00:00:00.000Z`) + 86_400_000;
      const picked = selected(rows(), { from, to, site: spec.site, filters: [], includeBots: spec.includeBots });
      return count(picked, { by: 'property', property: spec.property });
    },
    async slotCounts(spec: SlotSpec) {
      const picked = selected(rows(), {
        from: spec.fromSlot * SLOT_MS,
        to: spec.toSlot * SLOT_MS,
        site: spec.site,
        filters: [],
        includeBots: spec.includeBots,
      });
      return count(picked, { by: 'slot' });
    },
    async sketches(spec: SketchSpec): Promise<SketchRow[]> {
      const values = spec.values === undefined ? undefined : new Set(spec.values);
      const out: SketchRow[] = [];
      for (const [key, registers] of sketches) {
        const [dimension, day, site, value] = key.split('\u0000') as [string, string, string, string];
        if (dimension !== spec.dimension || day < spec.fromDay || day > spec.toDay) continue;
        if (spec.site !== undefined && site !== spec.site) continue;
        if (values !== undefined && !values.has(value)) continue;
        out.push({ day, value, registers });
      }
      return out;
    },
  };
}
