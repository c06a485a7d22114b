/**
 * A small bounded cache for the capture step's reductions (URL → path and
 * allow-listed query, Referer → referrer), so a page seen again costs one hash
 * instead of a parse.
 *
 * Privacy: the keys are 53-bit hashes of the raw inputs under a random
 * per-process seed — never the inputs — and the values are the reduced,
 * already-anonymized results. Nothing raw (query values, full referrers) is
 * kept. Two generations bound the size: when the young one is full it becomes
 * the old one and the previous old one is dropped.
 */
import { randomBytes } from 'node:crypto';

export const DEFAULT_HASHED_CACHE_SIZE = 2000;

export interface HashedCache<V> {
  /** The key of one or two strings (cheap: two multiply-xor lanes, two UTF-16 units a step). */
  key(a: string, b?: string): number;
  get(key: number): V | undefined;
  set(key: number, value: V): void;
}

/**
 * @example
 * const cache = createHashedCache<{ path: string }>(2000);
 * const k = cache.key(rawUrl);
 * let hit = cache.get(k);
 * if (hit === undefined) cache.set(k, (hit = reduce(rawUrl)));
 */
export function createHashedCache<V>(size: number = DEFAULT_HASHED_CACHE_SIZE): HashedCache<V> {
  const generation = Math.max(1, Math.ceil(size / 2));
  const seed = randomBytes(8);
  const seed1 = seed.readUInt32LE(0);
  const seed2 = seed.readUInt32LE(4);
  let young = new Map<number, V>();
  let old = new Map<number, V>();
  let h1 = 0;
  let h2 = 0;

  const mix = (s: string, tag: number): void => {
    h1 = Math.imul(h1 ^ tag, 0x01000193);
    h2 = Math.imul(h2 ^ tag, 0x5bd1e995);
    const n = s.length;
    let i = 0;
    for (; i + 1 < n; i += 2) {
      const c = s.charCodeAt(i) | (s.charCodeAt(i + 1) << 16);
      h1 = Math.imul(h1 ^ c, 0x01000193);
      h2 = Math.imul((h2 ^ c) + (h2 >>> 15), 0x5bd1e995);
    }
    if (i < n) {
      const c = s.charCodeAt(i);
      h1 = Math.imul(h1 ^ c, 0x01000193);
      h2 = Math.imul((h2 ^ c) + (h2 >>> 15), 0x5bd1e995);
    }
    // The length goes in last, so 'a' + 'b' and 'ab' + '' differ.
    h1 = Math.imul(h1 ^ n, 0x01000193);
    h2 = Math.imul(h2 ^ n, 0x5bd1e995);
  };
  const fmix = (h: number): number => {
    let x = h ^ (h >>> 16);
    x = Math.imul(x, 0x85ebca6b);
    x ^= x >>> 13;
    x = Math.imul(x, 0xc2b2ae35);
    return (x ^ (x >>> 16)) >>> 0;
  };

  return {
    key(a: string, b?: string): number {
      h1 = seed1;
      h2 = seed2;
      mix(a, 1);
      if (b !== undefined) mix(b, 2);
      const k = fmix(h1) * 2097152 + (fmix(h2) >>> 11);
      h1 = 0;
      h2 = 0;
      return k;
    },
    get(key: number): V | undefined {
      const hit = young.get(key);
      if (hit !== undefined) return hit;
      const aged = old.get(key);
      if (aged !== undefined) this.set(key, aged);
      return aged;
    },
    set(key: number, value: V): void {
      if (young.size >= generation) {
        old = young;
        young = new Map();
      }
      young.set(key, value);
    },
  };
}
