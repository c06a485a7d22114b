/**
 * HyperLogLog with precision 14 (16 384 registers): the unique-visitor sketch
 * (DESIGN §7). One implementation serves the memory, SQLite and PostgreSQL
 * stores, so the same registers always give the same estimate everywhere.
 *
 * - Merge: the maximum per register (idempotent, commutative).
 * - Estimate: linear counting while it is below the HLL++ threshold for p=14
 *   (11 500), else Ertl's improved raw estimator, which needs no empirical bias
 *   table ("New cardinality estimation algorithms for HyperLogLog sketches",
 *   2017). Relative standard error ≈ 1.04/√m ≈ 0.81 %; below a few hundred
 *   distinct items the result is almost always exact or off by one.
 * - Storage: sparse (index, rank) pairs while small (3 bytes a register),
 *   dense (one byte a register, 16 KiB) once that is smaller.
 */
import { SKETCH_PRECISION } from '../aggregators/aggregator.js';

/** Number of registers: 2^14. */
export const HLL_REGISTERS = 1 << SKETCH_PRECISION;
/** Largest rank a 64-bit hash can give at p=14: 64 - 14 + 1. */
export const HLL_MAX_RANK = 64 - SKETCH_PRECISION + 1;
/** HLL++'s switch-over point from linear counting for p=14. */
export const LINEAR_COUNTING_THRESHOLD = 11_500;

const FORMAT_SPARSE = 1;
const FORMAT_DENSE = 2;
const PAIR_BYTES = 3;
/** Above this many non-zero registers the dense form is smaller. */
export const SPARSE_MAX_PAIRS = Math.floor(HLL_REGISTERS / PAIR_BYTES);

/** A register pair as it travels in a SketchUpdate. */
export type RegisterPair = readonly [number, number];

function validPair(index: number, rank: number): boolean {
  return (
    Number.isInteger(index) &&
    index >= 0 &&
    index < HLL_REGISTERS &&
    Number.isInteger(rank) &&
    rank >= 1 &&
    rank <= HLL_MAX_RANK
  );
}

/**
 * A dense HyperLogLog sketch.
 *
 * @example
 * const h = new HyperLogLog();
 * h.add(markIndex(mark), markRank(mark));
 * h.mergeEncoded(storedBlob);
 * const visitors = h.estimate();
 */
export class HyperLogLog {
  readonly registers: Uint8Array;
  /** Registers above zero, kept up to date so small sketches estimate without a scan. */
  private nonZero: number;

  constructor(registers?: Uint8Array) {
    this.registers = registers ?? new Uint8Array(HLL_REGISTERS);
    let n = 0;
    if (registers) for (let i = 0; i < HLL_REGISTERS; i++) if (registers[i] !== 0) n++;
    this.nonZero = n;
  }

  /** Raise one register; out-of-range pairs are ignored (they cannot come from a 64-bit hash). */
  add(index: number, rank: number): void {
    if (!validPair(index, rank)) return;
    const cur = this.registers[index]!;
    if (cur < rank) {
      if (cur === 0) this.nonZero++;
      this.registers[index] = rank;
    }
  }

  addPairs(pairs: ReadonlyArray<RegisterPair>): void {
    for (const [i, r] of pairs) this.add(i, r);
  }

  merge(other: HyperLogLog): void {
    const a = this.registers;
    const b = other.registers;
    let n = this.nonZero;
    for (let i = 0; i < HLL_REGISTERS; i++) {
      const r = b[i]!;
      if (r > a[i]!) {
        if (a[i] === 0) n++;
        a[i] = r;
      }
    }
    this.nonZero = n;
  }

  /** Merge a stored blob (either encoding) into this sketch. */
  mergeEncoded(blob: Uint8Array): void {
    const a = this.registers;
    let n = this.nonZero;
    if (blob[0] === FORMAT_DENSE) {
      for (let i = 0; i < HLL_REGISTERS; i++) {
        const r = blob[i + 1]!;
        if (r > a[i]!) {
          if (a[i] === 0) n++;
          a[i] = r;
        }
      }
    } else {
      for (let o = 1; o + 2 < blob.length; o += PAIR_BYTES) {
        const idx = (blob[o]! << 8) | blob[o + 1]!;
        const r = blob[o + 2]!;
        if (idx < HLL_REGISTERS && r > a[idx]!) {
          if (a[idx] === 0) n++;
          a[idx] = r;
        }
      }
    }
    this.nonZero = n;
  }

  /** Back to empty (reuse one sketch as scratch instead of allocating 16 KiB per estimate). */
  clear(): void {
    this.registers.fill(0);
    this.nonZero = 0;
  }

  clone(): HyperLogLog {
    return new HyperLogLog(this.registers.slice());
  }

  isEmpty(): boolean {
    return this.nonZero === 0;
  }

  /** The compact storage form. */
  encode(): Uint8Array {
    let n = 0;
    for (let i = 0; i < HLL_REGISTERS; i++) if (this.registers[i] !== 0) n++;
    if (n > SPARSE_MAX_PAIRS) {
      const out = new Uint8Array(HLL_REGISTERS + 1);
      out[0] = FORMAT_DENSE;
      out.set(this.registers, 1);
      return out;
    }
    const out = new Uint8Array(1 + n * PAIR_BYTES);
    out[0] = FORMAT_SPARSE;
    let o = 1;
    for (let i = 0; i < HLL_REGISTERS; i++) {
      const r = this.registers[i]!;
      if (r === 0) continue;
      out[o] = i >> 8;
      out[o + 1] = i & 0xff;
      out[o + 2] = r;
      o += PAIR_BYTES;
    }
    return out;
  }

  static decode(blob: Uint8Array): HyperLogLog {
    const h = new HyperLogLog();
    h.mergeEncoded(blob);
    return h;
  }

  /** The estimated number of distinct items added. */
  estimate(): number {
    if (this.nonZero === 0) return 0;
    if (this.nonZero < HLL_REGISTERS) {
      // Linear counting needs only the number of empty registers.
      const lc = HLL_REGISTERS * Math.log(HLL_REGISTERS / (HLL_REGISTERS - this.nonZero));
      if (lc <= LINEAR_COUNTING_THRESHOLD) return lc;
    }
    const hist = new Array<number>(HIST_SIZE).fill(0);
    for (let i = 0; i < HLL_REGISTERS; i++) hist[Math.min(this.registers[i]!, HIST_SIZE - 1)]!++;
    return estimateOfHistogram(hist);
  }
}

/** Registers' values counted: 0..q, and q + 1 for every value above q. */
const HIST_SIZE = 64 - SKETCH_PRECISION + 2;

/** The estimate from the histogram of the registers' values (Ertl's improved estimator, linear counting below its threshold). */
function estimateOfHistogram(hist: readonly number[]): number {
  const m = HLL_REGISTERS;
  const q = HIST_SIZE - 2;
  const zeros = hist[0]!;
  if (zeros === m) return 0;
  if (zeros > 0) {
    const lc = m * Math.log(m / zeros);
    if (lc <= LINEAR_COUNTING_THRESHOLD) return lc;
  }
  let z = m * tau(1 - hist[q + 1]! / m);
  for (let k = q; k >= 1; k--) z = 0.5 * (z + hist[k]!);
  z += m * sigma(zeros / m);
  return (m * m) / (2 * Math.LN2 * z);
}

/**
 * `unionOf([a, b]).estimate()`, the same number, in one pass over the two
 * sketches and without making the union (a breakdown row narrowed by a
 * filter needs it for every row).
 */
export function unionEstimate(a: HyperLogLog, b: HyperLogLog): number {
  const ra = a.registers;
  const rb = b.registers;
  const hist = new Array<number>(HIST_SIZE).fill(0);
  for (let i = 0; i < HLL_REGISTERS; i++) hist[Math.min(Math.max(ra[i]!, rb[i]!), HIST_SIZE - 1)]!++;
  // The histogram's own empty-register count gives the same linear counting estimate() checks first.
  return estimateOfHistogram(hist);
}

function sigma(x: number): number {
  if (x === 1) return Number.POSITIVE_INFINITY;
  let y = 1;
  let z = x;
  let prev: number;
  let xx = x;
  do {
    xx *= xx;
    prev = z;
    z += xx * y;
    y += y;
  } while (z !== prev);
  return z;
}

function tau(x: number): number {
  if (x === 0 || x === 1) return 0;
  let y = 1;
  let z = 1 - x;
  let prev: number;
  let xx = x;
  do {
    xx = Math.sqrt(xx);
    prev = z;
    y *= 0.5;
    z -= (1 - xx) ** 2 * y;
  } while (z !== prev);
  return z / 3;
}

/** Sorted, de-duplicated (max rank) pairs, invalid ones dropped. Sorted valid input (the pipeline's) is used as is. */
function normalizePairs(pairs: ReadonlyArray<RegisterPair>): ReadonlyArray<RegisterPair> {
  let ok = true;
  let prev = -1;
  for (const [i, r] of pairs) {
    if (i <= prev || !validPair(i, r)) {
      ok = false;
      break;
    }
    prev = i;
  }
  if (ok) return pairs;
  const byIndex = new Map<number, number>();
  for (const [i, r] of pairs) {
    if (!validPair(i, r)) continue;
    const cur = byIndex.get(i);
    if (cur === undefined || r > cur) byIndex.set(i, r);
  }
  return [...byIndex.entries()].sort((a, b) => a[0] - b[0]);
}

/**
 * Merge register pairs into a stored blob (or none) and return the new blob —
 * the very same object when no register rose, so a store can skip the write.
 * Cheap for the write path: a sparse blob is merged as two sorted lists, a
 * dense one is patched in a copy only when something changes.
 *
 * @example
 * const next = mergePairsIntoBlob(row?.registers, update.registers);
 * if (next !== row?.registers) save(next);
 */
export function mergePairsIntoBlob(blob: Uint8Array | undefined, pairs: ReadonlyArray<RegisterPair>): Uint8Array {
  const add = normalizePairs(pairs);
  if (blob !== undefined && blob[0] === FORMAT_DENSE) {
    let out: Uint8Array | undefined;
    for (const [i, r] of add) {
      if (r > (out ?? blob)[i + 1]!) {
        out ??= blob.slice();
        out[i + 1] = r;
      }
    }
    return out ?? blob;
  }
  let changed = blob === undefined;
  let o = 1;
  let j = 0;
  const len = blob === undefined ? 0 : blob.length;
  const m = pairScratch(len + add.length * PAIR_BYTES);
  let w = 0;
  const put = (index: number, rank: number) => {
    m[w] = index >> 8;
    m[w + 1] = index & 0xff;
    m[w + 2] = rank;
    w += PAIR_BYTES;
  };
  while (o + 2 < len || j < add.length) {
    const bi = o + 2 < len ? (blob![o]! << 8) | blob![o + 1]! : Number.POSITIVE_INFINITY;
    const ai = j < add.length ? add[j]![0] : Number.POSITIVE_INFINITY;
    if (bi < ai) {
      put(bi, blob![o + 2]!);
      o += PAIR_BYTES;
    } else if (ai < bi) {
      put(ai, add[j]![1]);
      changed = true;
      j++;
    } else {
      const br = blob![o + 2]!;
      const ar = add[j]![1];
      if (ar > br) changed = true;
      put(ai, Math.max(ar, br));
      o += PAIR_BYTES;
      j++;
    }
  }
  if (!changed && blob !== undefined) return blob;
  return blobOfPairBytes(m, w);
}

/** Pair bytes merged before the result's size is known, shared by every merge (grown as needed). */
let mergeScratch = new Uint8Array(1024 * PAIR_BYTES);
function pairScratch(bytes: number): Uint8Array {
  if (mergeScratch.length < bytes) mergeScratch = new Uint8Array(Math.max(bytes, mergeScratch.length * 2));
  return mergeScratch;
}

/** The blob of the ascending packed pairs in m[0, w): dense past the sparse limit, else sparse. */
function blobOfPairBytes(m: Uint8Array, w: number): Uint8Array {
  if (w / PAIR_BYTES > SPARSE_MAX_PAIRS) {
    const out = new Uint8Array(HLL_REGISTERS + 1);
    out[0] = FORMAT_DENSE;
    for (let k = 0; k < w; k += PAIR_BYTES) out[((m[k]! << 8) | m[k + 1]!) + 1] = m[k + 2]!;
    return out;
  }
  const out = new Uint8Array(1 + w);
  out[0] = FORMAT_SPARSE;
  out.set(m.subarray(0, w), 1);
  return out;
}

/** The register pairs of a stored blob. */
export function pairsOfBlob(blob: Uint8Array): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  if (blob[0] === FORMAT_DENSE) {
    for (let i = 0; i < HLL_REGISTERS; i++) if (blob[i + 1]! > 0) out.push([i, blob[i + 1]!]);
    return out;
  }
  for (let o = 1; o + 2 < blob.length; o += PAIR_BYTES) out.push([(blob[o]! << 8) | blob[o + 1]!, blob[o + 2]!]);
  return out;
}

/** The number of pairs of a sparse blob whose pairs are strictly ascending and valid, or -1 for any other blob. */
function sparsePairs(blob: Uint8Array): number {
  if (blob[0] !== FORMAT_SPARSE || (blob.length - 1) % PAIR_BYTES !== 0) return -1;
  let prev = -1;
  for (let o = 1; o < blob.length; o += PAIR_BYTES) {
    const i = (blob[o]! << 8) | blob[o + 1]!;
    const r = blob[o + 2]!;
    if (i <= prev || i >= HLL_REGISTERS || r < 1 || r > HLL_MAX_RANK) return -1;
    prev = i;
  }
  return (blob.length - 1) / PAIR_BYTES;
}

const isDense = (blob: Uint8Array) => blob[0] === FORMAT_DENSE && blob.length === HLL_REGISTERS + 1;

/** `base` (dense) raised by the valid registers of `add` (dense or a checked sparse blob); `base` itself if none rose. */
function raiseDense(base: Uint8Array, add: Uint8Array): Uint8Array {
  let out: Uint8Array | undefined;
  if (add[0] === FORMAT_DENSE) {
    for (let i = 1; i <= HLL_REGISTERS; i++) {
      const r = add[i]!;
      if (r > (out ?? base)[i]! && r <= HLL_MAX_RANK) {
        out ??= base.slice();
        out[i] = r;
      }
    }
    return out ?? base;
  }
  for (let o = 1; o < add.length; o += PAIR_BYTES) {
    const i = ((add[o]! << 8) | add[o + 1]!) + 1;
    const r = add[o + 2]!;
    if (r > (out ?? base)[i]!) {
      out ??= base.slice();
      out[i] = r;
    }
  }
  return out ?? base;
}

/** Two checked sparse blobs merged; `a` itself when `b` raised nothing. */
function mergeSparse(a: Uint8Array, b: Uint8Array): Uint8Array {
  const m = pairScratch(a.length + b.length);
  let o = 1;
  let p = 1;
  let w = 0;
  let changed = false;
  while (o < a.length || p < b.length) {
    const ai = o < a.length ? (a[o]! << 8) | a[o + 1]! : HLL_REGISTERS;
    const bi = p < b.length ? (b[p]! << 8) | b[p + 1]! : HLL_REGISTERS;
    if (ai < bi) {
      m[w] = a[o]!;
      m[w + 1] = a[o + 1]!;
      m[w + 2] = a[o + 2]!;
      o += PAIR_BYTES;
    } else {
      const ar = ai === bi ? a[o + 2]! : 0;
      const br = b[p + 2]!;
      if (br > ar) changed = true;
      m[w] = b[p]!;
      m[w + 1] = b[p + 1]!;
      m[w + 2] = Math.max(br, ar);
      if (ai === bi) o += PAIR_BYTES;
      p += PAIR_BYTES;
    }
    w += PAIR_BYTES;
  }
  if (!changed) return a;
  return blobOfPairBytes(m, w);
}

/** A new blob holding the valid registers of a dense blob: dense, or sparse when few enough are set. */
function canonicalOfDense(b: Uint8Array): Uint8Array {
  const m = pairScratch(HLL_REGISTERS * PAIR_BYTES);
  let w = 0;
  for (let i = 0; i < HLL_REGISTERS; i++) {
    const r = b[i + 1]!;
    if (r < 1 || r > HLL_MAX_RANK) continue;
    m[w] = i >> 8;
    m[w + 1] = i & 0xff;
    m[w + 2] = r;
    w += PAIR_BYTES;
  }
  return blobOfPairBytes(m, w);
}

/**
 * Merge two stored blobs (max per register) into a new blob (or `a` itself
 * when `b` raised nothing, as `mergePairsIntoBlob` does). Well-formed blobs —
 * every blob this package writes — are merged byte by byte; anything else (a
 * corrupt or foreign blob) goes through the pair lists, which drop invalid
 * pairs. Both give the same bytes.
 */
export function mergeBlobs(a: Uint8Array | undefined, b: Uint8Array): Uint8Array {
  if (a === undefined) {
    if (isDense(b)) return canonicalOfDense(b);
    const n = sparsePairs(b);
    if (n >= 0 && n <= SPARSE_MAX_PAIRS) return b.slice();
  } else {
    const bDense = isDense(b);
    const bSparse = !bDense && sparsePairs(b) >= 0;
    if (isDense(a) && (bDense || bSparse)) return raiseDense(a, b);
    if (a[0] !== FORMAT_DENSE && sparsePairs(a) >= 0) {
      if (bSparse) return mergeSparse(a, b);
      if (bDense) return raiseDense(b, a);
    }
  }
  if (a === undefined) return mergePairsIntoBlob(undefined, pairsOfBlob(b));
  if (a[0] === FORMAT_DENSE || b[0] !== FORMAT_DENSE) return mergePairsIntoBlob(a, pairsOfBlob(b));
  return mergePairsIntoBlob(b, pairsOfBlob(a));
}

/** Merge several sketches into a new one (inputs untouched). */
export function unionOf(sketches: readonly HyperLogLog[]): HyperLogLog {
  const out = new HyperLogLog();
  for (const s of sketches) out.merge(s);
  return out;
}
