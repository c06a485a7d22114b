/**
 * The stats engine: one query planner over a store's StatsBackend.
 *
 * Planning, in one place for every store:
 * - Counts come from rollups where they can answer exactly — the 15-minute
 *   rollup for unfiltered aggregates and timeseries (any time zone), the daily
 *   per-property rollup for whole UTC days of a breakdown (the partial days at
 *   the edges of a range in another time zone come from raw events) — and from
 *   raw events otherwise (filters across properties, session metrics).
 * - Visitors come from sketches (visitors.ts); session metrics from consenting
 *   sessions only.
 * - Breakdown rows with fewer than k visitors or events, and rows beyond the
 *   limit, fold into '(other)', which is itself dropped when below k.
 */
import type { SketchDimension } from '../aggregators/aggregator.js';
import type { CountRow, Grouping, SessionRow, StatsBackend } from './backend.js';
import { SLOT_MS, utcDay } from './event-columns.js';
import { matchesFilter } from './filter.js';
import type { HyperLogLog } from './hll.js';
import {
  type Filter,
  type Metric,
  OTHER,
  type Property,
  type StatsQuery,
  type StatsResult,
  type StatsRow,
} from './query.js';
import type { Counts } from './rollup.js';
import { type Bucket, bucketIndex, buckets } from './time-range.js';
import { type NormalizedQuery, normalizeQuery } from './validate-query.js';
import {
  clampVisitors,
  estimateVisitors,
  filterSets,
  RowVisitors,
  type SketchKey,
  VisitorCounter,
} from './visitors.js';

const DAY_MS = 86_400_000;
const SESSION_METRICS: readonly Metric[] = ['sessions', 'bounce_rate', 'visit_duration'];

interface Group extends Counts {
  sessions: number;
  bounces: number;
  durationMs: number;
  visitors: number;
}

function emptyGroup(): Group {
  return { events: 0, pageviews: 0, downloads: 0, sessions: 0, bounces: 0, durationMs: 0, visitors: 0 };
}

function addCounts(into: Counts, c: Counts): void {
  into.events += c.events;
  into.pageviews += c.pageviews;
  into.downloads += c.downloads;
}

function addSessions(into: Group, s: SessionRow | Group): void {
  into.sessions += s.sessions;
  into.bounces += s.bounces;
  into.durationMs += s.durationMs;
}

function toRow(g: Group, metrics: readonly Metric[]): StatsRow {
  const row: StatsRow = {};
  for (const m of metrics) {
    switch (m) {
      case 'pageviews':
        row.pageviews = g.pageviews;
        break;
      case 'downloads':
        row.downloads = g.downloads;
        break;
      case 'events':
        row.events = g.events;
        break;
      case 'visitors':
        row.visitors = g.visitors;
        break;
      case 'sessions':
        row.sessions = g.sessions;
        break;
      case 'bounce_rate':
        row.bounce_rate = g.sessions > 0 ? Math.round((100 * g.bounces) / g.sessions) : 0;
        break;
      case 'visit_duration':
        row.visit_duration = g.sessions > 0 ? Math.round(g.durationMs / g.sessions / 1000) : 0;
        break;
    }
  }
  return row;
}

/** Whole UTC days inside [from, to) and the partial edges around them. */
function splitWholeDays(
  from: number,
  to: number,
): { fromDay: string; toDay: string; edges: Array<[number, number]> } | undefined {
  const first = Math.ceil(from / DAY_MS) * DAY_MS;
  const last = Math.floor(to / DAY_MS) * DAY_MS;
  if (first >= last) return undefined;
  const edges: Array<[number, number]> = [];
  if (from < first) edges.push([from, first]);
  if (last < to) edges.push([last, to]);
  return { fromDay: utcDay(first), toDay: utcDay(last - 1), edges };
}

function slotAligned(from: number, to: number): boolean {
  return from % SLOT_MS === 0 && to % SLOT_MS === 0;
}

class QueryRun {
  constructor(
    private readonly backend: StatsBackend,
    private readonly q: NormalizedQuery,
  ) {}

  private raw(
    group: Grouping,
    filters: readonly Filter[] = this.q.filters,
    from = this.q.range.from,
    to = this.q.range.to,
  ) {
    return this.backend.rawCounts({ from, to, site: this.q.site, filters, includeBots: this.q.includeBots, group });
  }

  private sessionsBy(group: Grouping): Promise<SessionRow[]> {
    if (!this.q.metrics.some((m) => SESSION_METRICS.includes(m))) return Promise.resolve([]);
    const { range, site, filters, includeBots } = this.q;
    return this.backend.sessions({ from: range.from, to: range.to, site, filters, includeBots, group });
  }

  /** Counts per value of a property (absent values excluded), rollups for whole days when filters allow. */
  private async countsByProperty(property: Property): Promise<Map<string, Counts>> {
    const { range, filters } = this.q;
    const out = new Map<string, Counts>();
    const add = (rows: CountRow[]) => {
      for (const r of rows) {
        let c = out.get(r.key);
        if (c === undefined) {
          c = { events: 0, pageviews: 0, downloads: 0 };
          out.set(r.key, c);
        }
        addCounts(c, r);
      }
    };
    const split = filters.every((f) => f.property === property) ? splitWholeDays(range.from, range.to) : undefined;
    if (split === undefined) {
      add(await this.raw({ by: 'property', property }));
      return out;
    }
    const group: Grouping = { by: 'property', property };
    const parts = await Promise.all([
      this.backend.dayCounts({
        fromDay: split.fromDay,
        toDay: split.toDay,
        site: this.q.site,
        includeBots: this.q.includeBots,
        property,
      }),
      ...split.edges.map(([a, b]) => this.raw(group, [], a, b)),
    ]);
    for (const p of parts) add(p);
    for (const [value, c] of out) {
      if (c.events <= 0 || !filters.every((f) => matchesFilter(value, f))) out.delete(value);
    }
    return out;
  }

  /** Counts per 15-minute slot. */
  private async countsBySlot(): Promise<CountRow[]> {
    const { range, filters, site, includeBots } = this.q;
    if (filters.length === 0 && slotAligned(range.from, range.to)) {
      return this.backend.slotCounts({ fromSlot: range.from / SLOT_MS, toSlot: range.to / SLOT_MS, site, includeBots });
    }
    return this.raw({ by: 'slot' });
  }

  /** Load sketches: each dimension with only the listed values, or all of them when the list is undefined. */
  private async visitorsCounter(loads: ReadonlyArray<readonly [SketchDimension, string[] | undefined]>) {
    const { range, site } = this.q;
    const vc = new VisitorCounter(this.backend, utcDay(range.from), utcDay(range.to - 1), site);
    await Promise.all(loads.map(([d, values]) => vc.load(d, values)));
    return vc;
  }

  private filterSketches(vc: VisitorCounter, skip?: Property, fromDay?: string, toDay?: string) {
    const { pos, neg } = filterSets(this.q.filters, skip);
    return {
      pos: pos.map((k) => vc.sketch(k, fromDay, toDay)),
      neg: neg.map((k) => vc.sketch(k, fromDay, toDay)),
    };
  }

  /** The (dimension, values) filters need sketches of. */
  private filterLoads(skip?: Property): Array<[SketchDimension, string[]]> {
    const { pos, neg } = filterSets(this.q.filters, skip);
    const by = new Map<SketchDimension, string[]>();
    for (const key of [...pos, ...neg]) {
      const list = by.get(key.dimension) ?? [];
      list.push(key.value);
      by.set(key.dimension, list);
    }
    return [...by.entries()];
  }

  async aggregate(): Promise<StatsRow[]> {
    const { filters, metrics } = this.q;
    const total = emptyGroup();
    const single = filters.length > 0 && filters.every((f) => f.op === '==' && f.property === filters[0]!.property);
    const counts: Promise<Iterable<Counts>> =
      filters.length === 0
        ? this.countsBySlot()
        : single
          ? this.countsByProperty(filters[0]!.property).then((m) => m.values())
          : this.raw({ by: 'none' });
    // Asked for together: a store may answer both from one pass over its raw events.
    const [countRows, sessionRows] = await Promise.all([counts, this.sessionsBy({ by: 'none' })]);
    for (const c of countRows) addCounts(total, c);
    for (const s of sessionRows) addSessions(total, s);
    if (metrics.includes('visitors')) {
      const vc = await this.visitorsCounter([['site', ['']], ...this.filterLoads()]);
      const f = this.filterSketches(vc);
      const pos = f.pos.length > 0 ? f.pos : [vc.sketch({ dimension: 'site', value: '' })];
      total.visitors = estimateVisitors(pos, f.neg, total.events);
    }
    return [toRow(total, metrics)];
  }

  async timeseries(): Promise<StatsRow[]> {
    const { range, interval, timeZone, metrics } = this.q;
    const list = buckets(range, interval, timeZone);
    const groups = list.map(() => emptyGroup());
    const place = (slotKey: string): Group | undefined => {
      const i = bucketIndex(list, Number(slotKey) * SLOT_MS);
      return i < 0 ? undefined : groups[i];
    };
    const [countRows, sessionRows] = await Promise.all([this.countsBySlot(), this.sessionsBy({ by: 'slot' })]);
    for (const r of countRows) {
      const g = place(r.key);
      if (g) addCounts(g, r);
    }
    for (const s of sessionRows) {
      const g = place(s.key);
      if (g) addSessions(g, s);
    }
    if (metrics.includes('visitors')) {
      const vc = await this.visitorsCounter([['site', ['']], ...this.filterLoads()]);
      list.forEach((b: Bucket, i) => {
        const fromDay = utcDay(b.start);
        const toDay = utcDay(b.end - 1);
        const f = this.filterSketches(vc, undefined, fromDay, toDay);
        const pos = f.pos.length > 0 ? f.pos : [vc.sketch({ dimension: 'site', value: '' }, fromDay, toDay)];
        const g = groups[i]!;
        g.visitors = estimateVisitors(pos, f.neg, g.events);
      });
    }
    return list.map((b, i) => ({ date: b.date, ...toRow(groups[i]!, metrics) }));
  }

  async breakdown(): Promise<{ rows: StatsRow[]; suppressed: number }> {
    const { k, limit, metrics } = this.q;
    const property = this.q.property as Property;
    const [counts, sessionRows] = await Promise.all([
      this.countsByProperty(property),
      this.sessionsBy({ by: 'property', property }),
    ]);
    const sessions = new Map(sessionRows.map((s) => [s.key, s]));
    const hasSketch = property !== 'kind';

    const groups = new Map<string, Group>();
    for (const [value, c] of counts) {
      const g = emptyGroup();
      addCounts(g, c);
      const s = sessions.get(value);
      if (s) addSessions(g, s);
      groups.set(value, g);
    }

    // Events below k fold without needing a sketch.
    const folded: string[] = [];
    let candidates: string[] = [];
    for (const [value, g] of groups) (g.events >= k ? candidates : folded).push(value);

    let vc: VisitorCounter | undefined;
    let filterPos: HyperLogLog[] = [];
    let filterNeg: HyperLogLog[] = [];
    const rowKey = (value: string): SketchKey => ({ dimension: property as SketchDimension, value });
    if (hasSketch) {
      // Sketches of every value are needed only when some fold into '(other)'; else just the candidates.
      const needAll = folded.length > 0 || candidates.length > limit;
      vc = await this.visitorsCounter([
        [property as SketchDimension, needAll ? undefined : candidates],
        ...this.filterLoads(property),
      ]);
      const f = this.filterSketches(vc, property);
      filterPos = f.pos;
      filterNeg = f.neg;
      const unfiltered = filterPos.length === 0 && filterNeg.length === 0;
      // With filters, what does not depend on the row is estimated once; each row's sketch is made in the counter's scratch.
      const narrowed = unfiltered ? undefined : new RowVisitors(filterPos, filterNeg);
      for (const value of candidates) {
        const g = groups.get(value)!;
        // Without filters a row's visitors is its own sketch's estimate: no merged sketch is kept per row.
        g.visitors =
          narrowed === undefined
            ? clampVisitors(vc.estimate(rowKey(value)), g.events)
            : narrowed.estimate(vc.scratchSketch(rowKey(value)), g.events);
      }
      const kept = candidates.filter((v) => groups.get(v)!.visitors >= k);
      for (const v of candidates) if (groups.get(v)!.visitors < k) folded.push(v);
      candidates = kept;
    }

    const primary = metrics[0]!;
    const score = (g: Group) => toRow(g, [primary])[primary] ?? 0;
    candidates.sort((a, b) => {
      const ga = groups.get(a)!;
      const gb = groups.get(b)!;
      return score(gb) - score(ga) || gb.events - ga.events || (a < b ? -1 : a > b ? 1 : 0);
    });
    const shown = candidates.slice(0, limit);
    folded.push(...candidates.slice(limit));

    const rows: StatsRow[] = shown.map((value) => ({ value, ...toRow(groups.get(value)!, metrics) }));
    if (folded.length > 0) {
      const other = emptyGroup();
      for (const v of folded) {
        const g = groups.get(v)!;
        addCounts(other, g);
        addSessions(other, g);
      }
      let visitorsOk = true;
      if (vc !== undefined) {
        const merged = vc.union(property as SketchDimension, folded);
        other.visitors = estimateVisitors([merged, ...filterPos], filterNeg, other.events);
        visitorsOk = other.visitors >= k;
      }
      if (other.events >= k && visitorsOk) rows.push({ value: OTHER, ...toRow(other, metrics) });
    }
    return { rows, suppressed: folded.length };
  }
}

/**
 * A StatsSource over a store's backend primitives.
 *
 * @example
 * const source = createStatsEngine(backend);
 * const r = await source.query({ type: 'breakdown', period: '30d', metrics: ['visitors'], property: 'page' });
 */
export function createStatsEngine(
  backend: StatsBackend,
  now: () => number = Date.now,
): { query(q: StatsQuery): Promise<StatsResult> } {
  return {
    async query(q: StatsQuery): Promise<StatsResult> {
      const nq = normalizeQuery(q, now());
      const run = new QueryRun(backend, nq);
      const range = { from: new Date(nq.range.from).toISOString(), to: new Date(nq.range.to - 1).toISOString() };
      if (nq.type === 'aggregate') return { type: nq.type, range, results: await run.aggregate() };
      if (nq.type === 'timeseries') return { type: nq.type, range, results: await run.timeseries() };
      const { rows, suppressed } = await run.breakdown();
      return { type: nq.type, range, results: rows, suppressed };
    },
  };
}
