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
