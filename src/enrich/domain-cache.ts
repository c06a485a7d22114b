/**
 * A bounded cache of registrable domains with per-entry expiry, keyed by part
 * of the keyed hash of an address (30 bits: a small integer, the fastest Map
 * key) and checked against 32 more bits of it. `null` is a cached negative.
 * Eviction is CLOCK (second chance): a hit only sets a flag, so the request
 * path never reorders the map; entries used since they were last passed over
 * survive an eviction round.
 */

interface Entry {
  /** The other bits of the keyed hash: a different address on the same slot is a miss. */
  check: number;
  domain: string | null;
  expires: number;
  /** Set on a hit; gives the entry a second chance at eviction (CLOCK, an LRU approximation). */
  used: boolean;
}

export class DomainCache {
  private readonly map = new Map<number, Entry>();
  readonly maxSize: number;

  constructor(maxSize: number) {
    this.maxSize = maxSize;
  }

  get size(): number {
    return this.map.size;
  }

  /** The cached domain, `null` for a cached negative, `undefined` on a miss or expiry. */
  get(key: number, check: number, now: number): string | null | undefined {
    const e = this.map.get(key);
    if (e === undefined || e.check !== check) return undefined;
    if (e.expires <= now) {
      this.map.delete(key);
      return undefined;
    }
    e.used = true;
    return e.domain;
  }

  set(key: number, check: number, domain: string | null, ttlMs: number, now: number): void {
    if (this.maxSize <= 0 || ttlMs <= 0) return;
    const existing = this.map.get(key);
    if (existing !== undefined) {
      existing.check = check;
      existing.used = false;
      existing.domain = domain;
      existing.expires = now + ttlMs;
      return;
    }
    // evict: the oldest entry not used since it was last passed over
    for (let budget = this.map.size; this.map.size >= this.maxSize; budget--) {
      const [oldKey, old] = this.map.entries().next().value as [number, Entry];
      this.map.delete(oldKey);
      if (old.used && budget > 0 && old.expires > now) {
        old.used = false;
        this.map.set(oldKey, old);
      }
    }
    this.map.set(key, { check, domain, expires: now + ttlMs, used: false });
  }

  /** Keys and values, for inspection in tests: hashes and domains only. */
  entries(): Array<[number, string | null]> {
    return [...this.map].map(([k, e]) => [k, e.domain]);
  }

  clear(): void {
    this.map.clear();
  }
}
