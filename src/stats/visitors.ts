/**
 * Unique visitors from the stored HyperLogLog sketches.
 *
 * - The sketches are per UTC day: a range's visitors merge the sketches of the
 *   UTC days it overlaps. A daily salt makes the same person a different item
 *   each day, so over several days the figure is visitor-days.
 * - Filters narrow visitors by set algebra on sketches: `==` intersects with
 *   the filter value's sketch, `!=` subtracts it, computed by
 *   inclusion–exclusion over sketch unions. That is an estimate whose absolute
 *   error grows with the larger set; filters on `kind` do not narrow visitors.
 */
import type { SketchDimension } from '../aggregators/aggregator.js';
import type { StatsBackend } from './backend.js';
import { HyperLogLog, unionEstimate, unionOf } from './hll.js';
import type { Filter, Property } from './query.js';

/** A set of visitors named by its sketch key. */
export interface SketchKey {
  dimension: SketchDimension;
  value: string;
}

/** Sketches of one dimension, per value, per UTC day. */
type DayBlobs = Map<string, Array<{ day: string; registers: Uint8Array }>>;

/**
 * Loads sketches once per (dimension) and merges them per (value, day range),
 * memoized for the duration of one query.
 */
export class VisitorCounter {
  private readonly loaded = new Map<string, DayBlobs>();
  private readonly merged = new Map<string, HyperLogLog>();
  /** Scratch for estimate(): one 16 KiB array per query, not one per breakdown row. */
  private scratch: HyperLogLog | undefined;

  constructor(
    private readonly backend: StatsBackend,
    private readonly fromDay: string,
    private readonly toDay: string,
    private readonly site: string | undefined,
  ) {}

  /** Fetch the sketches of a dimension (only `values` when given). */
  async load(dimension: SketchDimension, values?: readonly string[]): Promise<void> {
    if (this.loaded.has(dimension)) return;
    const rows = await this.backend.sketches({
      fromDay: this.fromDay,
      toDay: this.toDay,
      site: this.site,
      dimension,
      values,
    });
    const byValue: DayBlobs = new Map();
    for (const r of rows) {
      let list = byValue.get(r.value);
      if (list === undefined) {
        list = [];
        byValue.set(r.value, list);
      }
      list.push({ day: r.day, registers: r.registers });
    }
    this.loaded.set(dimension, byValue);
  }

  /** Merged sketch of a key over UTC days [fromDay, toDay]. Load its dimension first. */
  sketch(key: SketchKey, fromDay = this.fromDay, toDay = this.toDay): HyperLogLog {
    const id = `${key.dimension}\u0000${key.value}\u0000${fromDay}\u0000${toDay}`;
    let h = this.merged.get(id);
    if (h !== undefined) return h;
    h = new HyperLogLog();
    this.mergeDays(h, key, fromDay, toDay);
    this.merged.set(id, h);
    return h;
  }

  /**
   * The estimate of one key's merged sketch over the counter's whole range, with
   * no sketch kept: the same registers as sketch(key), merged in a reused scratch
   * array (a breakdown estimates hundreds of rows once each).
   */
  estimate(key: SketchKey): number {
    const kept = this.merged.get(`${key.dimension}\u0000${key.value}\u0000${this.fromDay}\u0000${this.toDay}`);
    if (kept !== undefined) return kept.estimate();
    return this.scratchSketch(key).estimate();
  }

  /**
   * The merged sketch of a key over the counter's whole range in the
   * counter's one scratch sketch, not kept: valid until the next call here or
   * to estimate() (a breakdown's rows are each needed once).
   */
  scratchSketch(key: SketchKey): HyperLogLog {
    const h = this.scratch ?? new HyperLogLog();
    this.scratch = h;
    h.clear();
    this.mergeDays(h, key, this.fromDay, this.toDay);
    return h;
  }

  /** Merge a loaded key's stored sketches of UTC days [fromDay, toDay] into `h`. */
  private mergeDays(h: HyperLogLog, key: SketchKey, fromDay: string, toDay: string): void {
    for (const b of this.loaded.get(key.dimension)?.get(key.value) ?? []) {
      if (b.day >= fromDay && b.day <= toDay) h.mergeEncoded(b.registers);
    }
  }

  /** One sketch merging several values of a dimension straight from the stored blobs (no per-value sketch). */
  union(
    dimension: SketchDimension,
    values: readonly string[],
    fromDay = this.fromDay,
    toDay = this.toDay,
  ): HyperLogLog {
    const h = new HyperLogLog();
    const byValue = this.loaded.get(dimension);
    if (byValue === undefined) return h;
    for (const v of values) {
      for (const b of byValue.get(v) ?? []) {
        if (b.day >= fromDay && b.day <= toDay) h.mergeEncoded(b.registers);
      }
    }
    return h;
  }

  /** Values of a loaded dimension that have any sketch. */
  values(dimension: SketchDimension): string[] {
    return [...(this.loaded.get(dimension)?.keys() ?? [])];
  }
}

/** The sketch keys filters narrow visitors by (filters on `kind`, or on `skip`, do not). */
export function filterSets(filters: readonly Filter[], skip?: Property): { pos: SketchKey[]; neg: SketchKey[] } {
  const pos: SketchKey[] = [];
  const neg: SketchKey[] = [];
  for (const f of filters) {
    if (f.property === 'kind' || f.property === skip) continue;
    const key: SketchKey = { dimension: f.property, value: f.value };
    (f.op === '==' ? pos : neg).push(key);
  }
  return { pos, neg };
}

/** |S1 ∩ … ∩ Sn| by inclusion–exclusion over unions. */
function intersection(sets: readonly HyperLogLog[]): number {
  if (sets.length === 1) return sets[0]!.estimate();
  let total = 0;
  const n = sets.length;
  for (let mask = 1; mask < 1 << n; mask++) {
    const members: HyperLogLog[] = [];
    for (let i = 0; i < n; i++) if (mask & (1 << i)) members.push(sets[i]!);
    const sign = members.length % 2 === 1 ? 1 : -1;
    total += sign * (members.length === 1 ? members[0]!.estimate() : unionOf(members).estimate());
  }
  return total;
}

/**
 * Estimated visitors in ∩pos minus ∪neg, rounded, never below 0 nor above
 * `cap` (the group's event count: every visitor made at least one event).
 */
export function estimateVisitors(pos: readonly HyperLogLog[], neg: readonly HyperLogLog[], cap: number): number {
  let v = intersection(pos);
  if (neg.length > 0) v -= intersection([...pos, unionOf(neg)]);
  return clampVisitors(v, cap);
}

/** |row ∩ S1 ∩ … ∩ Sn| as `intersection([row, ...fixed])` computes it, the terms without the row computed once. */
class RowIntersection {
  /** Per mask over `fixed` (bit i: fixed[i]): the estimate of their union, and the union itself (2+ sets). */
  private readonly estimates: number[] = [];
  private readonly unions: HyperLogLog[] = [];

  constructor(private readonly fixed: readonly HyperLogLog[]) {
    for (let m = 1; m < 1 << fixed.length; m++) {
      const members = fixed.filter((_, i) => m & (1 << i));
      const u = members.length === 1 ? members[0]! : unionOf(members);
      this.unions[m] = u;
      this.estimates[m] = u.estimate();
    }
  }

  /** The same terms, in the same order, as `intersection([row, ...fixed])`: the same number, bit for bit. */
  of(row: HyperLogLog): number {
    if (this.fixed.length === 0) return row.estimate();
    let total = 0;
    const n = this.fixed.length + 1;
    for (let mask = 1; mask < 1 << n; mask++) {
      let size = 0;
      for (let i = 0; i < n; i++) if (mask & (1 << i)) size++;
      const sign = size % 2 === 1 ? 1 : -1;
      const others = mask >> 1;
      // Bit 0 is the row: without it the term is the same for every row.
      const term =
        (mask & 1) === 0
          ? (this.estimates[others] as number)
          : others === 0
            ? row.estimate()
            : unionEstimate(row, this.unions[others] as HyperLogLog);
      total += sign * term;
    }
    return total;
  }
}

/**
 * `estimateVisitors([row, ...pos], neg, cap)` for many rows narrowed by the
 * same filters (a breakdown's rows): what does not depend on the row — the
 * filters' own estimates and unions — is computed once, and a row's union
 * with them is estimated without being made. The same numbers.
 *
 * @example
 * const visitors = new RowVisitors(filterPos, filterNeg);
 * for (const row of rows) row.visitors = visitors.estimate(rowSketch(row), row.events);
 */
export class RowVisitors {
  private readonly pos: RowIntersection;
  private readonly withNeg: RowIntersection | undefined;

  constructor(pos: readonly HyperLogLog[], neg: readonly HyperLogLog[]) {
    this.pos = new RowIntersection(pos);
    this.withNeg = neg.length > 0 ? new RowIntersection([...pos, unionOf(neg)]) : undefined;
  }

  estimate(row: HyperLogLog, cap: number): number {
    let v = this.pos.of(row);
    if (this.withNeg !== undefined) v -= this.withNeg.of(row);
    return clampVisitors(v, cap);
  }
}

/** A raw estimate rounded, never below 0 nor above `cap` (what estimateVisitors returns for one set). */
export function clampVisitors(v: number, cap: number): number {
  return Math.max(0, Math.min(cap, Math.round(v)));
}
