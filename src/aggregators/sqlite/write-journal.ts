/**
 * The SQLite write journal: one row per batch, written in the batch's
 * transaction, saying what folding must add — the range of event rows the
 * batch inserted (their rollup increments are recomputed from those rows) and
 * its sketch updates as packed register pairs. The writing process also sums
 * the same increments in memory (`FoldAccumulator`) and folds from there; the
 * rows are read back only when another connection wrote them or folded some
 * of ours (a restart after a crash, or two processes on one file).
 */
import type { SketchUpdate } from '../../aggregators/aggregator.js';
import type { EventRow } from '../../stats/event-columns.js';
import { HLL_MAX_RANK, HLL_REGISTERS, HyperLogLog, SPARSE_MAX_PAIRS } from '../../stats/hll.js';
import { RollupAccumulator } from '../../stats/rollup.js';

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
  /** First and last `events.seq` the batch inserted (0, 0 when none). */
  f: number;
  l: number;
  /** Sketch keys with how many packed pairs of `r` each one owns, in order. */
  k: Array<[string, string, string, string, number]>;
  /** Packed register pairs, base64. */
  r: string;
}

const validPair = (i: number, r: number) =>
  Number.isInteger(i) && i >= 0 && i < HLL_REGISTERS && Number.isInteger(r) && r >= 1 && r <= HLL_MAX_RANK;

/** The prefix every payload of this writer starts with. */
export function journalPrefix(token: string): string {
  return `{"w":${JSON.stringify(token)},`;
}

/** Encode a batch's journal row. Pairs a sketch cannot hold are left out (the merge would ignore them). */
export function encodeJournal(
  token: string,
  firstSeq: number,
  lastSeq: number,
  sketches: readonly SketchUpdate[],
): string {
  let total = 0;
  for (const u of sketches) total += u.registers.length;
  const bytes = Buffer.allocUnsafe(total * PAIR_BYTES);
  const keys: JournalPayload['k'] = new Array(sketches.length);
  let o = 0;
  for (let s = 0; s < sketches.length; s++) {
    const u = sketches[s]!;
    let n = 0;
    for (const [i, r] of u.registers) {
      if (!validPair(i, r)) continue;
      bytes[o] = i >> 8;
      bytes[o + 1] = i & 0xff;
      bytes[o + 2] = r;
      o += PAIR_BYTES;
      n++;
    }
    keys[s] = [u.dimension, u.day, u.site, u.value, n];
  }
  const payload: JournalPayload = { w: token, f: firstSeq, l: lastSeq, k: keys, r: bytes.toString('base64', 0, o) };
  return JSON.stringify(payload);
}

/** Decode a journal row: its event row range, and its sketch updates merged into `into`. */
export function decodeJournal(payload: string, into: SketchMerge): { firstSeq: number; lastSeq: number } {
  const j = JSON.parse(payload) as JournalPayload;
  const bytes = Buffer.from(j.r, 'base64');
  let o = 0;
  for (const [dimension, day, site, value, n] of j.k) {
    const hll = into.sketch([dimension, day, site, value]);
    for (let p = 0; p < n && o + 2 < bytes.length; p++, o += PAIR_BYTES)
      hll.add((bytes[o]! << 8) | bytes[o + 1]!, bytes[o + 2]!);
  }
  return { firstSeq: j.f, lastSeq: j.l };
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

/** Dense register arrays kept for reuse between folds (16 KiB each), so folding allocates none in steady state. */
const POOL_MAX = 256;
const pool: Uint8Array[] = [];

/**
 * The registers a fold adds to one key: dense for O(1) merges, with the list
 * of registers it raised from zero so that encoding and reuse cost what was
 * touched, not 16 384 registers. Encodes exactly as `HyperLogLog.encode()`.
 */
export class SketchDelta {
  private regs: Uint8Array | undefined;
  private readonly touched: number[] = [];

  /** Raise one register; out-of-range pairs are ignored (they cannot come from a 64-bit hash). */
  add(index: number, rank: number): void {
    if (!validPair(index, rank)) return;
    this.regs ??= pool.pop() ?? new Uint8Array(HLL_REGISTERS);
    const regs = this.regs;
    const cur = regs[index]!;
    if (cur < rank) {
      if (cur === 0) this.touched.push(index);
      regs[index] = rank;
    }
  }

  addPairs(pairs: ReadonlyArray<readonly [number, number]>): void {
    for (const [i, r] of pairs) this.add(i, r);
  }

  /** Merge a stored blob (either encoding). */
  mergeEncoded(blob: Uint8Array): void {
    const h = HyperLogLog.decode(blob);
    for (let i = 0; i < HLL_REGISTERS; i++) if (h.registers[i] !== 0) this.add(i, h.registers[i]!);
  }

  isEmpty(): boolean {
    return this.touched.length === 0;
  }

  /** The storage form, byte for byte what `HyperLogLog.encode()` gives for the same registers. */
  encode(): Uint8Array {
    const regs = this.regs;
    if (regs === undefined || this.touched.length > SPARSE_MAX_PAIRS) return new HyperLogLog(regs?.slice()).encode();
    const idx = Uint16Array.from(this.touched).sort();
    const out = new Uint8Array(1 + idx.length * PAIR_BYTES);
    out[0] = FORMAT_SPARSE;
    for (let k = 0, o = 1; k < idx.length; k++, o += PAIR_BYTES) {
      const i = idx[k]!;
      out[o] = i >> 8;
      out[o + 1] = i & 0xff;
      out[o + 2] = regs[i]!;
    }
    return out;
  }

  /** Zero what was touched and hand the array back for reuse; the delta is empty afterwards. */
  release(): void {
    const regs = this.regs;
    if (regs === undefined) return;
    for (const i of this.touched) regs[i] = 0;
    this.touched.length = 0;
    this.regs = undefined;
    if (pool.length < POOL_MAX) pool.push(regs);
  }
}

/** Sketch updates merged per key (max per register). */
export class SketchMerge {
  readonly byKey = new Map<string, { key: SketchKey; hll: SketchDelta }>();

  /** The merged delta of a key, created empty. */
  sketch(key: SketchKey): SketchDelta {
    const k = `${key[0]}\u0000${key[1]}\u0000${key[2]}\u0000${key[3]}`;
    let m = this.byKey.get(k);
    if (m === undefined) {
      m = { key, hll: new SketchDelta() };
      this.byKey.set(k, m);
    }
    return m.hll;
  }

  add(updates: readonly SketchUpdate[]): void {
    for (const u of updates) this.sketch([u.dimension, u.day, u.site, u.value]).addPairs(u.registers);
  }

  /** Return every delta's registers to the pool (after a fold, or to drop the merge). */
  release(): void {
    for (const m of this.byKey.values()) m.hll.release();
    this.byKey.clear();
  }
}

/**
 * What this process's committed, not yet folded batches add: rollup
 * increments and sketch merges, summed as batches commit, plus how many
 * journal rows they wrote (to check at fold time that all are still there).
 */
export class FoldAccumulator {
  rollups = new RollupAccumulator();
  sketches = new SketchMerge();
  rows = 0;

  add(inserted: readonly EventRow[], sketches: readonly SketchUpdate[]): void {
    if (inserted.length > 0) this.rollups.add(inserted);
    if (sketches.length > 0) this.sketches.add(sketches);
    this.rows++;
  }

  clear(): void {
    this.rollups = new RollupAccumulator();
    this.sketches.release();
    this.sketches = new SketchMerge();
    this.rows = 0;
  }
}
