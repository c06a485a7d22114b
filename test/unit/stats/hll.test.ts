import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  HLL_MAX_RANK,
  HLL_REGISTERS,
  HyperLogLog,
  mergeBlobs,
  mergePairsIntoBlob,
  pairsOfBlob,
  SPARSE_MAX_PAIRS,
} from '../../../src/stats/hll.js';

function mix32(x: number): number {
  let h = x | 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

function hashString(s: string, seed: number): number {
  let h = seed;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return mix32(h);
}

/** index + rank of a 64-bit hash (two 32-bit halves), as capture computes them: top 14 bits, then leading zeros + 1. */
function pair(item: string): [number, number] {
  const hi = hashString(item, 0x811c9dc5);
  const lo = hashString(item, 0x2545f491);
  const index = hi >>> 18;
  const restHi = hi & 0x3ffff; // 18 bits, then 32 bits of lo: 50 bits
  const rank = restHi !== 0 ? Math.clz32(restHi) - 14 + 1 : lo !== 0 ? 18 + Math.clz32(lo) + 1 : 51;
  return [index, rank];
}

const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));

function sketchOf(n: number, prefix = 'item'): HyperLogLog {
  const h = new HyperLogLog();
  for (let i = 0; i < n; i++) h.add(...pair(`${prefix}-${i}`));
  return h;
}

describe('HyperLogLog (p=14)', () => {
  it('estimates 0 for an empty sketch and small counts almost exactly', () => {
    expect(new HyperLogLog().estimate()).toBe(0);
    for (const n of [1, 2, 10, 100, 1000]) {
      expect(Math.abs(sketchOf(n).estimate() - n)).toBeLessThanOrEqual(Math.max(1, n * 0.01));
    }
  });

  it('stays within 3 standard errors (±2.5 %) from 10k to 300k distinct items', () => {
    for (const n of [10_000, 40_000, 100_000, 300_000]) {
      const e = sketchOf(n).estimate();
      expect(Math.abs(e - n) / n).toBeLessThan(0.025);
    }
  });

  it('merge is the max per register: commutative, idempotent, and equals the sketch of the union', () => {
    const a = sketchOf(3000, 'a');
    const b = sketchOf(2000, 'b');
    const ab = a.clone();
    ab.merge(b);
    const ba = b.clone();
    ba.merge(a);
    expect(same(ab.registers, ba.registers)).toBe(true);
    const again = ab.clone();
    again.merge(b);
    expect(same(again.registers, ab.registers)).toBe(true);
    const union = sketchOf(3000, 'a');
    for (let i = 0; i < 2000; i++) union.add(...pair(`b-${i}`));
    expect(same(ab.registers, union.registers)).toBe(true);
  });

  it('encodes sparse while small and dense (16 KiB + 1) when large, both round-trip', () => {
    const small = sketchOf(100);
    const enc = small.encode();
    expect(enc[0]).toBe(1);
    expect(enc.length).toBeLessThan(400);
    expect(same(HyperLogLog.decode(enc).registers, small.registers)).toBe(true);
    const big = sketchOf(50_000);
    const dense = big.encode();
    expect(dense[0]).toBe(2);
    expect(dense.length).toBe(HLL_REGISTERS + 1);
    expect(same(HyperLogLog.decode(dense).registers, big.registers)).toBe(true);
  });

  it('ignores register pairs no 64-bit hash can produce', () => {
    const h = new HyperLogLog();
    h.add(-1, 3);
    h.add(HLL_REGISTERS, 3);
    h.add(5, 0);
    h.add(5, HLL_MAX_RANK + 1);
    h.add(1.5, 2);
    expect(h.isEmpty()).toBe(true);
  });

  it('mergePairsIntoBlob equals merging dense sketches, for any pairs and any order (property)', () => {
    const pairArb = fc.tuple(fc.integer({ min: -2, max: HLL_REGISTERS + 2 }), fc.integer({ min: -1, max: 53 }));
    fc.assert(
      fc.property(fc.array(fc.array(pairArb, { maxLength: 400 }), { maxLength: 6 }), (updates) => {
        let blob: Uint8Array | undefined;
        const ref = new HyperLogLog();
        for (const u of updates) {
          blob = mergePairsIntoBlob(blob, u);
          ref.addPairs(u);
        }
        const got = blob === undefined ? new HyperLogLog() : HyperLogLog.decode(blob);
        expect(same(got.registers, ref.registers)).toBe(true);
      }),
      { numRuns: 150 },
    );
  });

  it('returns the same blob object when no register rises, so stores can skip the write', () => {
    const blob = mergePairsIntoBlob(undefined, [
      [1, 3],
      [7, 2],
    ]);
    expect(mergePairsIntoBlob(blob, [[1, 2]])).toBe(blob);
    expect(mergePairsIntoBlob(blob, [[1, 4]])).not.toBe(blob);
    const dense = sketchOf(40_000).encode();
    const [i, r] = pairsOfBlob(dense)[0]!;
    expect(mergePairsIntoBlob(dense, [[i, r]])).toBe(dense);
  });

  it('switches to dense past the sparse limit and merges blobs of either form', () => {
    const pairs = Array.from({ length: SPARSE_MAX_PAIRS + 1 }, (_, i) => [i, 1] as [number, number]);
    expect(mergePairsIntoBlob(undefined, pairs)[0]).toBe(2);
    const a = sketchOf(30_000, 'x').encode();
    const b = sketchOf(50, 'y').encode();
    const ref = HyperLogLog.decode(a);
    ref.mergeEncoded(b);
    expect(same(HyperLogLog.decode(mergeBlobs(a, b)).registers, ref.registers)).toBe(true);
    expect(same(HyperLogLog.decode(mergeBlobs(b, a)).registers, ref.registers)).toBe(true);
    expect(same(HyperLogLog.decode(mergeBlobs(undefined, b)).registers, HyperLogLog.decode(b).registers)).toBe(true);
  });
});

describe('mergeBlobs (byte-level merge)', () => {
  /** The pair-list merge the byte-level one replaces, kept here as the reference. */
  const byPairs = (a: Uint8Array | undefined, b: Uint8Array): Uint8Array => {
    if (a === undefined) return mergePairsIntoBlob(undefined, pairsOfBlob(b));
    if (a[0] === 2 || b[0] !== 2) return mergePairsIntoBlob(a, pairsOfBlob(b));
    return mergePairsIntoBlob(b, pairsOfBlob(a));
  };
  const pairs = (max: number) =>
    fc.array(fc.tuple(fc.oneof(fc.nat(63), fc.nat(HLL_REGISTERS - 1)), fc.integer({ min: 1, max: HLL_MAX_RANK })), {
      maxLength: max,
    });
  // Large blobs built once: just under and just over the sparse limit (so the second is dense), and a full one.
  const spread = (n: number) =>
    mergePairsIntoBlob(
      undefined,
      Array.from({ length: n }, (_, i) => [i * 3, 1 + (i % 9)] as [number, number]),
    );
  const large = [spread(SPARSE_MAX_PAIRS - 3), spread(SPARSE_MAX_PAIRS + 3), sketchOf(60_000, 'big').encode()];
  // Blobs as this package writes them: small sparse ones, and the large ones raised by a few pairs.
  const written = fc.oneof(
    pairs(60).map((p) => mergePairsIntoBlob(undefined, p)),
    fc.tuple(fc.constantFrom(...large), pairs(8)).map(([blob, p]) => mergePairsIntoBlob(blob, p)),
  );
  // Damaged: any bytes after a format byte, or a written blob with one byte overwritten (a rank past 51, an index
  // out of order or out of range, a format byte changed).
  // A sparse blob past the sparse limit (this package never writes one; another writer might).
  const oversized = new Uint8Array(1 + (SPARSE_MAX_PAIRS + 3) * 3);
  oversized[0] = 1;
  for (let k = 0; k < SPARSE_MAX_PAIRS + 3; k++) {
    oversized[1 + k * 3] = (k * 2) >> 8;
    oversized[2 + k * 3] = (k * 2) & 0xff;
    oversized[3 + k * 3] = 1 + (k % 7);
  }
  const damaged = fc.oneof(
    fc.constant(oversized),
    fc.uint8Array({ maxLength: 40 }).map((u) => Uint8Array.of(1, ...u)),
    fc.uint8Array({ maxLength: 40 }).map((u) => Uint8Array.of(2, ...u)),
    fc.tuple(written, fc.nat(), fc.oneof(fc.integer({ min: 52, max: 255 }), fc.nat(255))).map(([w, at, v]) => {
      const c = w.slice();
      c[at % c.length] = v;
      return c;
    }),
  );
  const blob = fc.oneof({ weight: 3, arbitrary: written }, { weight: 2, arbitrary: damaged });

  it('gives byte for byte what merging pair lists gave, for any two blobs (property)', () => {
    fc.assert(
      fc.property(fc.option(blob, { nil: undefined, freq: 3 }), blob, (a, b) => {
        const want = byPairs(a, b);
        const got = mergeBlobs(a, b);
        expect(Buffer.compare(got, want)).toBe(0);
        // `a` comes back itself exactly when the reference says nothing rose.
        expect(got === a).toBe(want === a);
      }),
      { numRuns: 1000 },
    );
  });
});
