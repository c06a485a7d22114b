/**
 * The SQLite write journal: one row per write slice, written in the slice's
 * transaction, saying what folding must add — the block of events the slice
 * inserted (their rollup increments and sessions are recomputed from it) and
 * the batch's sketch updates as packed register pairs. The writing process
 * also sums the same increments in memory (`FoldAccumulator`) and folds from
 * there; journal rows are decoded (and their blocks counted) only when another
 * connection wrote them or folded some of ours (a restart after a crash, or
 * two processes on one file).
 */
import type { SketchUpdate } from '../../aggregators/aggregator.js';
import { HLL_MAX_RANK, HLL_REGISTERS, HyperLogLog, SPARSE_MAX_PAIRS } from '../../stats/hll.js';
import { RollupAccumulator } from '../../stats/rollup.js';
import { addBlockRollups } from './block-rollups.js';
import type { QueryBlock } from './event-block.js';

/** A sketch key: dimension, day, site, value. */
export type SketchKey = readonly [string, string, string, string];

/** Bytes per packed register pair: index (2 bytes, big-endian), rank. */
const PAIR_BYTES = 3;
/** HyperLogLog's sparse storage form: this byte, then sorted pairs of PAIR_BYTES. */
const FORMAT_SPARSE = 1;

/** A journal row's payload as stored (JSON text). `w` comes first so a writer can recognise its rows by prefix. */
interface JournalPayload {
  /** The writer's token. */
  w: string;
  /** The event block the slice inserted (0 when none: every id was stored before, or only sketches). */
  b: number;
  /** Sketch keys with how many packed pairs of `r` each one owns, in order. */
  k: Array<[string, string, string, string, number]>;
  /** Packed register pairs, base64. */
  r: string;
}

/** An integer register index and rank in range (`x >>> 0 === x` only holds for integers 0..2^32-1, never for NaN or non-numbers). */
const validPair = (i: number, r: number) =>
  i >>> 0 === i && i < HLL_REGISTERS && r >>> 0 === r && r >= 1 && r <= HLL_MAX_RANK;

/** The prefix every payload of this writer starts with. */
export function journalPrefix(token: string): string {
  return `{"w":${JSON.stringify(token)},`;
}

/**
 * A journal row's sketch part, encoded ahead of its transaction: JSON text of
 * `k` and `r`, and the same keys and packed pairs for the in-memory sums.
 */
export interface JournalSketches {
  readonly k: string;
  readonly r: string;
  readonly keys: JournalPayload['k'];
  /** Packed valid pairs (index high byte, low byte, rank), `keys[i][4]` of them per key, in order. */
  readonly pairs: Uint8Array;
}

/** No sketch updates (every slice of a batch but the last). */
export const NO_JOURNAL_SKETCHES: JournalSketches = { k: '[]', r: '""', keys: [], pairs: new Uint8Array(0) };

/** Encode the sketch part of a journal row. Pairs a sketch cannot hold are left out (the merge would ignore them). */
export function encodeJournalSketches(sketches: readonly SketchUpdate[]): JournalSketches {
  if (sketches.length === 0) return NO_JOURNAL_SKETCHES;
  let total = 0;
  for (const u of sketches) total += u.registers.length;
  const bytes = Buffer.allocUnsafe(total * PAIR_BYTES);
  const keys: JournalPayload['k'] = new Array(sketches.length);
  let o = 0;
  for (let s = 0; s < sketches.length; s++) {
    const u = sketches[s]!;
    let n = 0;
    const regs = u.registers;
    for (let p = 0; p < regs.length; p++) {
      const i = regs[p]![0];
      const r = regs[p]![1];
      if (!validPair(i, r)) continue;
      bytes[o] = i >> 8;
      bytes[o + 1] = i & 0xff;
      bytes[o + 2] = r;
      o += PAIR_BYTES;
      n++;
    }
    keys[s] = [u.dimension, u.day, u.site, u.value, n];
  }
  return {
    k: JSON.stringify(keys),
    // Base64 needs no JSON escaping: quoting it is its JSON text.
    r: `"${bytes.toString('base64', 0, o)}"`,
    keys,
    pairs: bytes.subarray(0, o),
  };
}

/** A journal row's payload: the writer's token first (its rows are recognised by that prefix), then the rest. */
export function journalPayload(token: string, block: number, sketches: JournalSketches): string {
  return `${journalPrefix(token)}"k":${sketches.k},"r":${sketches.r},"b":${block}}`;
}

/** A journal row's block id as stored (`b`): a positive number names a block, anything else none (0). */
export function journalBlock(b: unknown): number {
  return typeof b === 'number' && b > 0 ? b : 0;
}

/** Decode a journal row: its event block (0: none), and its sketch updates merged into `into`. */
export function decodeJournal(payload: string, into: SketchMerge): { block: number } {
  const j = JSON.parse(payload) as JournalPayload;
  const bytes = Buffer.from(j.r, 'base64');
  let o = 0;
  for (const [dimension, day, site, value, n] of j.k) {
    const hll = into.sketch([dimension, day, site, value]);
    const count = Math.max(0, Math.min(n, Math.floor((bytes.length - o) / PAIR_BYTES)));
    hll.addPacked(bytes, o, count);
    o += count * PAIR_BYTES;
  }
  return { block: journalBlock(j.b) };
}

/** A journal row of schema version 1 (before migration 2): rollup increments and sketch blobs, base64. */
interface LegacyJournal {
  d: Array<[string, string, string, string, number, number, number, number]>;
  s: Array<[number, string, number, number, number, number]>;
  k: Array<[string, string, string, string, string]>;
}

/** Whether a payload is a version-1 journal row (left by a crash of an older privacy-log). */
export const isLegacyJournal = (payload: string) => payload.startsWith('{"d":');

/** Decode a version-1 journal row: its rollup rows as stored (for the upserts), its sketches merged into `into`. */
export function decodeLegacyJournal(payload: string, into: SketchMerge): Pick<LegacyJournal, 'd' | 's'> {
  const j = JSON.parse(payload) as LegacyJournal;
  for (const [dimension, day, site, value, b64] of j.k)
    into.sketch([dimension, day, site, value]).mergeEncoded(Buffer.from(b64, 'base64'));
  return { d: j.d, s: j.s };
}

/** Rank bits of a packed pair (ranks go up to 51 < 64). */
const RANK_BITS = 6;
/** Pairs a delta keeps before it merges them down to one per register (bounds its memory). */
const MIN_COMPACT_PAIRS = 2048;
/** One dense register array shared by every delta: merging one key at a time keeps it in cache. */
const scratch = new Uint8Array(HLL_REGISTERS);
/**
 * Raised registers after which a delta keeps its own dense array instead of
 * pairs: a busy key (a whole day's visitors) then costs one comparison per
 * pair, where re-sorting its pairs at every compaction cost ≈ 0.5 µs of every
 * event's write. 1024 registers of pairs take about as much memory as the
 * 16 KiB array; quiet keys stay pairs.
 */
const DENSE_AT = 1024;

/**
 * The registers a fold adds to one key, as a list of packed valid pairs
 * (index << 6 | rank): appending is sequential and cheap, where raising
 * registers in a dense 16 KiB array per key missed the cache on almost every
 * pair. The pairs are merged (max per register) through one shared array
 * when encoded, or when the list grows past twice what it held after the last
 * merge; a key with DENSE_AT raised registers switches to a dense array of
 * its own. Encodes exactly as `HyperLogLog.encode()`.
 */
export class SketchDelta {
  private pairs: number[] = [];
  private compactAt = MIN_COMPACT_PAIRS;
  private dense: Uint8Array | undefined;

  /** Raise one register; out-of-range pairs are ignored (they cannot come from a 64-bit hash). */
  add(index: number, rank: number): void {
    if (!validPair(index, rank)) return;
    const d = this.dense;
    if (d !== undefined) {
      if (d[index]! < rank) d[index] = rank;
      return;
    }
    this.pairs.push((index << RANK_BITS) | rank);
    if (this.pairs.length >= this.compactAt) this.compact();
  }

  /** Raise registers from `count` packed pairs of `bytes` at `at` (index high byte, low byte, rank). */
  addPacked(bytes: Uint8Array, at: number, count: number): void {
    const d = this.dense;
    const end = at + count * PAIR_BYTES;
    if (d !== undefined) {
      for (let o = at; o < end; o += PAIR_BYTES) {
        const i = (bytes[o]! << 8) | bytes[o + 1]!;
        const r = bytes[o + 2]!;
        if (validPair(i, r) && d[i]! < r) d[i] = r;
      }
      return;
    }
    const out = this.pairs;
    for (let o = at; o < end; o += PAIR_BYTES) {
      const i = (bytes[o]! << 8) | bytes[o + 1]!;
      const r = bytes[o + 2]!;
      if (validPair(i, r)) out.push((i << RANK_BITS) | r);
    }
    if (out.length >= this.compactAt) this.compact();
  }

  /** Merge a stored blob (either encoding). */
  mergeEncoded(blob: Uint8Array): void {
    const h = HyperLogLog.decode(blob);
    for (let i = 0; i < HLL_REGISTERS; i++) if (h.registers[i] !== 0) this.add(i, h.registers[i]!);
  }

  isEmpty(): boolean {
    return this.pairs.length === 0 && this.dense === undefined;
  }

  /** Merge the pairs into `scratch`; returns the raised registers, ascending. The caller zeroes them. */
  private spread(): Uint16Array {
    const touched: number[] = [];
    const list = this.pairs;
    for (let k = 0; k < list.length; k++) {
      const p = list[k]!;
      const i = p >>> RANK_BITS;
      const r = p & ((1 << RANK_BITS) - 1);
      const cur = scratch[i]!;
      if (cur < r) {
        if (cur === 0) touched.push(i);
        scratch[i] = r;
      }
    }
    return Uint16Array.from(touched).sort();
  }

  /** One pair per raised register, or the dense array once there are DENSE_AT of them. */
  private compact(): void {
    const idx = this.spread();
    if (idx.length >= DENSE_AT) {
      this.dense = scratch.slice();
      for (let k = 0; k < idx.length; k++) scratch[idx[k]!] = 0;
      this.pairs = [];
      return;
    }
    const out: number[] = new Array(idx.length);
    for (let k = 0; k < idx.length; k++) {
      const i = idx[k]!;
      out[k] = (i << RANK_BITS) | scratch[i]!;
      scratch[i] = 0;
    }
    this.pairs = out;
    this.compactAt = Math.max(MIN_COMPACT_PAIRS, out.length * 2);
  }

  /** The storage form, byte for byte what `HyperLogLog.encode()` gives for the same registers. */
  encode(): Uint8Array {
    if (this.dense !== undefined) return new HyperLogLog(this.dense).encode();
    const idx = this.spread();
    let out: Uint8Array;
    if (idx.length > SPARSE_MAX_PAIRS) {
      out = new HyperLogLog(scratch.slice()).encode();
    } else {
      out = new Uint8Array(1 + idx.length * PAIR_BYTES);
      out[0] = FORMAT_SPARSE;
      for (let k = 0, o = 1; k < idx.length; k++, o += PAIR_BYTES) {
        const i = idx[k]!;
        out[o] = i >> 8;
        out[o + 1] = i & 0xff;
        out[o + 2] = scratch[i]!;
      }
    }
    for (let k = 0; k < idx.length; k++) scratch[idx[k]!] = 0;
    return out;
  }

  /** Drop every pair: the delta is empty afterwards. */
  release(): void {
    this.pairs = [];
    this.compactAt = MIN_COMPACT_PAIRS;
    this.dense = undefined;
  }
}

/** One key's merged delta. */
export interface SketchEntry {
  readonly key: SketchKey;
  readonly hll: SketchDelta;
}

/**
 * Sketch updates merged per key (max per register). Keys are looked up in
 * nested maps by their four parts — the strings of a batch come with their
 * hashes computed, where a joined key string costs a new string and its hash
 * on every update.
 */
export class SketchMerge {
  private readonly tree = new Map<string, Map<string, Map<string, Map<string, SketchEntry>>>>();
  /** Every key merged so far, in first-seen order. */
  readonly entries: SketchEntry[] = [];

  /** The merged delta of a key, created empty. */
  sketch(key: SketchKey): SketchDelta {
    return this.entry(key[0], key[1], key[2], key[3]).hll;
  }

  private entry(dimension: string, day: string, site: string, value: string): SketchEntry {
    let byDay = this.tree.get(dimension);
    if (byDay === undefined) {
      byDay = new Map();
      this.tree.set(dimension, byDay);
    }
    let bySite = byDay.get(day);
    if (bySite === undefined) {
      bySite = new Map();
      byDay.set(day, bySite);
    }
    let byValue = bySite.get(site);
    if (byValue === undefined) {
      byValue = new Map();
      bySite.set(site, byValue);
    }
    let e = byValue.get(value);
    if (e === undefined) {
      e = { key: [dimension, day, site, value], hll: new SketchDelta() };
      byValue.set(value, e);
      this.entries.push(e);
    }
    return e;
  }

  /** Merge a journal row's packed sketch part (what encodeJournalSketches made). */
  addPacked(sketches: JournalSketches): void {
    let o = 0;
    for (const [dimension, day, site, value, n] of sketches.keys) {
      this.entry(dimension, day, site, value).hll.addPacked(sketches.pairs, o, n);
      o += n * PAIR_BYTES;
    }
  }

  /** Forget every key (after a fold). */
  release(): void {
    for (const e of this.entries) e.hll.release();
    this.tree.clear();
    this.entries.length = 0;
  }
}

/**
 * What this process's committed, not yet folded batches add: rollup
 * increments and sketch merges, summed as batches commit, plus the ids of the
 * journal rows they wrote (to check at fold time that all are still there).
 */
export class FoldAccumulator {
  rollups = new RollupAccumulator();
  sketches = new SketchMerge();
  /** Journal row ids, in the order written. */
  ids: number[] = [];

  /** A committed slice: its block's rollups and its journal row's sketch part, journaled as row `id`. */
  add(inserted: QueryBlock | undefined, sketches: JournalSketches, id: number): void {
    if (inserted !== undefined) addBlockRollups(this.rollups, inserted);
    if (sketches.keys.length > 0) this.sketches.addPacked(sketches);
    this.ids.push(id);
  }

  /** Journal rows summed. */
  get rows(): number {
    return this.ids.length;
  }

  clear(): void {
    this.rollups = new RollupAccumulator();
    this.sketches.release();
    this.sketches = new SketchMerge();
    this.ids = [];
  }
}

/** A journal row as a fold lists it: its id, and whether this connection wrote it. */
export interface PendingRow {
  id: number;
  mine: 0 | 1;
}

/**
 * Which in-memory sums a fold may use for this connection's journal rows in
 * `pend` (ordered by id), or undefined when it must decode them from the
 * journal. A whole fold (`upTo` undefined) takes every row: all of the
 * frozen and pending sums must still be there, as many rows as they summed.
 * A scheduled fold takes the rows up to `upTo`: exactly the frozen sums'
 * rows, and none of the pending sums' — a row id is used again once another
 * connection has folded the whole journal, and then ids alone could match.
 *
 * @example
 * const sums = sumsForFold(pend, frozen?.upTo, frozen, pendingSums); // undefined: decode every row
 */
export function sumsForFold(
  pend: readonly PendingRow[],
  upTo: number | undefined,
  frozen: { sums: FoldAccumulator } | undefined,
  pending: FoldAccumulator,
): FoldAccumulator[] | undefined {
  if (upTo === undefined) {
    const all = frozen === undefined ? [pending] : [frozen.sums, pending];
    let mine = 0;
    for (const p of pend) mine += p.mine;
    let summed = 0;
    for (const a of all) summed += a.rows;
    return mine === summed ? all : undefined;
  }
  if (frozen === undefined) return undefined;
  const want = frozen.sums.ids;
  let k = 0;
  for (const p of pend) if (p.mine === 1 && want[k++] !== p.id) return undefined;
  if (k !== want.length) return undefined;
  for (const id of pending.ids) if (id <= upTo) return undefined;
  return [frozen.sums];
}
