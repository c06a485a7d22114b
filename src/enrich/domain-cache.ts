/**
 * A bounded LRU of registrable domains with per-entry expiry, keyed by a
 * number (the keyed hash of an address). `null` is a cached negative result.
 */

interface Entry {
  domain: string | null;
  expires: number;
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
  get(key: number, now: number): string | null | undefined {
    const e = this.map.get(key);
    if (e === undefined) return undefined;
    if (e.expires <= now) {
      this.map.delete(key);
      return undefined;
    }
    // most recently used goes last
    this.map.delete(key);
    this.map.set(key, e);
    return e.domain;
  }

  set(key: number, domain: string | null, ttlMs: number, now: number): void {
    if (this.maxSize <= 0 || ttlMs <= 0) return;
    this.map.delete(key);
    while (this.map.size >= this.maxSize) this.map.delete(this.map.keys().next().value as number);
    this.map.set(key, { domain, expires: now + ttlMs });
  }

  /** Keys and values, for inspection in tests: hashes and domains only. */
  entries(): Array<[number, string | null]> {
    return [...this.map].map(([k, e]) => [k, e.domain]);
  }

  clear(): void {
    this.map.clear();
  }
}
