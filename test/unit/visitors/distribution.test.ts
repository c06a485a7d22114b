import { describe, expect, it } from 'vitest';
import { createVisitorHasher } from '../../../src/capture/visitor-hash.js';
import { markIndex, markRank } from '../../../src/stats/visitor-mark.js';

/**
 * Distribution sanity over 100k random visitors: register indexes uniform,
 * ranks geometric (P(rank = k) = 2^-k). Bounds are ~6 standard deviations, so a
 * correct hash fails them with negligible probability while a biased
 * derivation (wrong bits, off-by-one rank) fails them for certain.
 */
describe('visitor mark distribution', () => {
  const N = 100_000;
  const hasher = createVisitorHasher();
  const indexCounts = new Uint32Array(16_384);
  const rankCounts = new Uint32Array(52);
  const uas = [
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
    'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1',
    'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0',
  ];
  const now = Date.now();
  for (let i = 0; i < N; i++) {
    const r = (Math.random() * 2 ** 32) >>> 0;
    const address = `${r >>> 24}.${(r >>> 16) & 255}.${(r >>> 8) & 255}.${r & 255}`;
    const m = hasher.mark(address, uas[i % 3] as string, 'oblachko', now);
    indexCounts[markIndex(m)]! += 1;
    rankCounts[markRank(m)]! += 1;
  }
  hasher.close();

  it('spreads visitors uniformly over the 16384 registers (chi-square)', () => {
    const expected = N / 16_384;
    let chi2 = 0;
    for (const c of indexCounts) chi2 += (c - expected) ** 2 / expected;
    const dof = 16_383;
    expect(Math.abs(chi2 - dof)).toBeLessThan(6 * Math.sqrt(2 * dof));
    // The top bits of the index, coarsely: 16 buckets of 1024 registers.
    for (let b = 0; b < 16; b++) {
      let sum = 0;
      for (let i = b * 1024; i < (b + 1) * 1024; i++) sum += indexCounts[i] as number;
      expect(Math.abs(sum - N / 16)).toBeLessThan(6 * Math.sqrt((N / 16) * (15 / 16)));
    }
  });

  it('gives ranks a geometric distribution starting at 1', () => {
    expect(rankCounts[0]).toBe(0);
    for (let k = 1; k <= 10; k++) {
      const p = 2 ** -k;
      const expected = N * p;
      expect(Math.abs((rankCounts[k] as number) - expected), `rank ${k}`).toBeLessThan(
        6 * Math.sqrt(N * p * (1 - p)) + 1,
      );
    }
    let high = 0;
    for (let k = 25; k <= 51; k++) high += rankCounts[k] as number;
    expect(high).toBeLessThanOrEqual(2); // P(rank >= 25) = 2^-24 per visitor
  });
});
