/**
 * Reverse DNS with a cache keyed by a keyed hash of the address, a hard
 * timeout, bounded concurrency and one query per address at a time. The
 * address reaches the DNS query and nothing else: not the cache, not results,
 * not errors (resolver errors name the query, so only their `code` is read).
 */
import { Resolver } from 'node:dns/promises';
import { DomainCache } from './domain-cache.js';
import type { ResolvedDomainOptions } from './enrich-options.js';
import { registrableDomain } from './registrable-domain.js';
import { lastHashHigh, randomSipKey, type SipKey, sipHash128 } from './siphash.js';

/** Counters shared with the enricher's metrics. */
export interface DomainCounters {
  hits: number;
  misses: number;
  timeouts: number;
  errors: number;
  notFound: number;
  rejected: number;
  saturated: number;
}

/**
 * A query may run this many times `timeoutMs`: the request stops waiting at
 * `timeoutMs`, but a late answer still fills the cache for the next request.
 */
export const LATE_ANSWER_FACTOR = 4;

/** Resolver error codes that mean "this address has no PTR". */
const NOT_FOUND = new Set(['ENOTFOUND', 'ENODATA']);

const HEX = '0123456789abcdef';

/**
 * The PTR query name of an address: `4.3.2.1.in-addr.arpa`, or the 32
 * reversed nibbles under `ip6.arpa`. (Querying PTR directly rather than
 * through `reverse()` keeps SERVFAIL apart from NXDOMAIN and skips /etc/hosts.)
 */
export function arpaName(family: 4 | 6, words: Uint32Array): string {
  if (family === 4) {
    const a = words[3] as number;
    return `${a & 255}.${(a >>> 8) & 255}.${(a >>> 16) & 255}.${a >>> 24}.in-addr.arpa`;
  }
  let s = '';
  for (let i = 3; i >= 0; i--) {
    const w = words[i] as number;
    for (let shift = 0; shift < 32; shift += 4) s += `${HEX[(w >>> shift) & 15]}.`;
  }
  return `${s}ip6.arpa`;
}

export class ReverseDnsLookup {
  readonly cache: DomainCache;
  private readonly key: SipKey = randomSipKey();
  private readonly inFlight = new Map<number, Promise<string | undefined>>();
  private readonly resolver: Resolver;
  private readonly options: ResolvedDomainOptions;
  private readonly counters: DomainCounters;
  private closed = false;

  constructor(options: ResolvedDomainOptions, counters: DomainCounters) {
    this.options = options;
    this.counters = counters;
    this.cache = new DomainCache(options.cacheSize);
    this.resolver = new Resolver({ timeout: options.timeoutMs * LATE_ANSWER_FACTOR, tries: 1 });
    if (options.servers !== undefined) this.resolver.setServers(options.servers);
  }

  get pending(): number {
    return this.inFlight.size;
  }

  /**
   * The domain of an address: a string or `null` (cached negative) at once, a
   * promise of the answer while a query runs, or `undefined` when the
   * concurrency bound is reached. `words` are the address's four big-endian
   * 32-bit words (IPv4 in the last one, as `::ffff:a.b.c.d`).
   */
  lookup(family: 4 | 6, words: Uint32Array): string | null | Promise<string | undefined> | undefined {
    const lo = sipHash128(this.key, words[0] as number, words[1] as number, words[2] as number, words[3] as number);
    const check = lastHashHigh;
    const slot = lo & 0x3fffffff; // a small integer: the fastest Map key
    const cached = this.cache.get(slot, check, Date.now());
    if (cached !== undefined) {
      this.counters.hits++;
      return cached;
    }
    const key = (check & 0x1fffff) * 4294967296 + lo; // 53 bits for the in-flight map (misses only)
    const running = this.inFlight.get(key);
    if (running !== undefined) {
      this.counters.misses++;
      return running;
    }
    if (this.inFlight.size >= this.options.concurrency || this.closed) {
      this.counters.saturated++;
      return undefined;
    }
    this.counters.misses++;
    const query = this.query(family, words.slice(), key, slot, check);
    this.inFlight.set(key, query);
    return query;
  }

  private query(
    family: 4 | 6,
    words: Uint32Array,
    key: number,
    slot: number,
    check: number,
  ): Promise<string | undefined> {
    const { timeoutMs, ttlMs, negativeTtlMs } = this.options;
    return new Promise<string | undefined>((resolve) => {
      let answered = false;
      const timer = setTimeout(() => {
        if (answered) return;
        answered = true;
        this.counters.timeouts++;
        if (!this.closed) this.cache.set(slot, check, null, negativeTtlMs, Date.now());
        resolve(undefined);
      }, timeoutMs);
      timer.unref();
      const settle = (domain: string | undefined): void => {
        this.inFlight.delete(key);
        if (answered) return;
        answered = true;
        clearTimeout(timer);
        resolve(domain);
      };
      this.resolver.resolvePtr(arpaName(family, words)).then(
        (names) => {
          let domain: string | undefined;
          for (const name of names) {
            domain = registrableDomain(name, family, words);
            if (domain !== undefined) break;
          }
          if (domain === undefined) {
            if (names.length === 0) this.counters.notFound++;
            else this.counters.rejected++;
          }
          // a late answer still warms the cache for the next request
          if (!this.closed)
            this.cache.set(slot, check, domain ?? null, domain === undefined ? negativeTtlMs : ttlMs, Date.now());
          settle(domain);
        },
        (err: unknown) => {
          const code = (err as { code?: unknown } | null)?.code;
          if (typeof code === 'string' && NOT_FOUND.has(code)) this.counters.notFound++;
          else if (code === 'ETIMEOUT' && !answered) this.counters.timeouts++;
          else if (code !== 'ETIMEOUT' && code !== 'ECANCELLED') this.counters.errors++;
          if (!this.closed) this.cache.set(slot, check, null, negativeTtlMs, Date.now());
          settle(undefined);
        },
      );
    });
  }

  /** Cancels running queries (their promises resolve without a domain) and drops the cache. */
  close(): void {
    this.closed = true;
    this.resolver.cancel();
    this.cache.clear();
  }
}
