/**
 * The enricher: ISP/ASN from the routable prefix and the registrable domain
 * from reverse DNS, for one client address, inside capture (DESIGN §2, §5).
 */
import type { ClientEnrichment } from '../pipeline/types.js';
import { type EnrichOptions, resolveEnrichOptions } from './enrich-options.js';
import type { IspRecord } from './isp-resolver.js';
import { type DomainCounters, ReverseDnsLookup } from './reverse-dns-lookup.js';
import { ipv4Prefix, ipv6Prefix, parseIPv4, parseIPv6 } from './routable-prefix.js';
import { isSkippedIPv4, isSkippedIPv6 } from './special-ranges.js';

/** What `lookup` knows at once, plus the reverse-DNS answer still to come. */
export interface EnrichLookup {
  isp?: string;
  asn?: number;
  domain?: string;
  /**
   * Set while reverse DNS runs: resolves (never rejects) within the timeout
   * with everything known, the domain included when found.
   */
  pending?: Promise<ClientEnrichment>;
}

export interface EnrichMetrics extends DomainCounters {
  /** lookup() calls. */
  lookups: number;
  /** Addresses in private, loopback, link-local, unique-local, CGNAT, documentation or reserved ranges: not looked up. */
  skipped: number;
  /** lookup() calls with a string that is not an address of the given family. */
  invalid: number;
  /** Lookups that found an ISP. */
  ispFound: number;
  /** Domain results held in the cache. */
  cacheSize: number;
  /** PTR queries running. */
  inFlight: number;
  isp: {
    source: 'asn-table' | 'mmdb' | 'custom' | 'none';
    state: 'loading' | 'ready' | 'failed' | 'none';
    error?: string;
  };
}

export interface Enricher {
  /**
   * Synchronous and cheap. `address` is the full, normalized client address
   * (IPv4-mapped IPv6 already converted). Returns undefined when nothing is
   * known and nothing is pending.
   */
  lookup(address: string, family: 4 | 6): EnrichLookup | undefined;
  /**
   * The same lookup for an address capture has parsed already: 8 groups of 16
   * bits (IPv4 in groups 6–7), as `parseAddressInto` writes them. `groups` is only read.
   */
  lookupParsed(groups: Uint16Array, family: 4 | 6): EnrichLookup | undefined;
  /** Resolves once the ISP data is loaded. Rejects (ENRICH_DATA) when explicitly configured data cannot be loaded. */
  ready(): Promise<void>;
  /** Cancels running PTR queries, drops the cache, releases the ISP data. Idempotent. */
  close(): Promise<void>;
  metrics(): EnrichMetrics;
}

function withDomain(base: ClientEnrichment, domain: string | undefined): ClientEnrichment {
  if (domain === undefined) return base;
  return { ...base, domain };
}

/**
 * Creates the enricher once, at startup. Options are validated here; a missing
 * or corrupt mmdb throws a coded ENRICH_DATA error.
 *
 * @example
 * const enricher = createEnricher({ isp: { mmdb: './GeoLite2-ASN.mmdb' }, domain: { timeoutMs: 300 } });
 * await enricher.ready();
 * const found = enricher.lookup('95.31.1.2', 4);
 * // { isp: 'PJSC Rostelecom', asn: 12389, pending: Promise<{ isp, asn, domain: 'rostelecom.ru' }> }
 */
export function createEnricher(options?: EnrichOptions): Enricher {
  const resolved = resolveEnrichOptions(options);
  const isp = resolved.isp;
  const counters: EnrichMetrics = {
    lookups: 0,
    hits: 0,
    misses: 0,
    timeouts: 0,
    errors: 0,
    notFound: 0,
    rejected: 0,
    saturated: 0,
    skipped: 0,
    invalid: 0,
    ispFound: 0,
    cacheSize: 0,
    inFlight: 0,
    isp: { source: resolved.ispSource, state: isp === undefined ? 'none' : 'loading' },
  };
  const dns = resolved.domain === undefined ? undefined : new ReverseDnsLookup(resolved.domain, counters);
  const words = new Uint32Array(4);
  let closed = false;

  const ispReady: Promise<void> = (async () => {
    if (isp === undefined) return;
    try {
      await isp.ready?.();
      counters.isp.state = 'ready';
    } catch (e) {
      counters.isp.state = 'failed';
      counters.isp.error = (e as { code?: string }).code ?? 'error';
      if (!resolved.ispAuto) throw e;
    }
  })();
  ispReady.catch(() => {});

  /** The lookup proper, on the address's words (IPv4 in words[3], words[2] = 0xffff). */
  function lookupWords(family: 4 | 6): EnrichLookup | undefined {
    let skip: boolean;
    let prefix: number;
    if (family === 4) {
      const a = words[3] as number;
      skip = isSkippedIPv4(a);
      prefix = ipv4Prefix(a);
    } else {
      skip = isSkippedIPv6(words);
      prefix = ipv6Prefix(words);
    }
    if (skip) {
      counters.skipped++;
      return undefined;
    }
    let rec: IspRecord | undefined;
    if (isp !== undefined) {
      try {
        rec = isp.lookup(family, prefix);
      } catch {
        rec = undefined; // a custom resolver must not fail the request
      }
      if (rec !== undefined) counters.ispFound++;
    }
    if (dns === undefined) return rec === undefined ? undefined : { isp: rec.isp, asn: rec.asn };
    const found = dns.lookup(family, words);
    if (typeof found === 'string') {
      return rec === undefined ? { domain: found } : { isp: rec.isp, asn: rec.asn, domain: found };
    }
    if (found === null || found === undefined) {
      return rec === undefined ? undefined : { isp: rec.isp, asn: rec.asn };
    }
    const base: ClientEnrichment = rec === undefined ? {} : { isp: rec.isp, asn: rec.asn };
    const pending = found.then((domain) => withDomain(base, domain));
    return rec === undefined ? { pending } : { isp: rec.isp, asn: rec.asn, pending };
  }

  return {
    lookup(address: string, family: 4 | 6): EnrichLookup | undefined {
      if (closed) return undefined;
      counters.lookups++;
      try {
        if (family === 4) {
          const a = typeof address === 'string' ? parseIPv4(address) : -1;
          if (a < 0) {
            counters.invalid++;
            return undefined;
          }
          words[0] = 0;
          words[1] = 0;
          words[2] = 0xffff;
          words[3] = a;
        } else if (!(family === 6 && typeof address === 'string' && parseIPv6(address, words))) {
          counters.invalid++;
          return undefined;
        }
        return lookupWords(family);
      } finally {
        words.fill(0);
      }
    },
    lookupParsed(groups: Uint16Array, family: 4 | 6): EnrichLookup | undefined {
      if (closed) return undefined;
      counters.lookups++;
      if ((family !== 4 && family !== 6) || !(groups instanceof Uint16Array) || groups.length < 8) {
        counters.invalid++;
        return undefined;
      }
      try {
        if (family === 4) {
          words[0] = 0;
          words[1] = 0;
          words[2] = 0xffff;
          words[3] = (((groups[6] as number) << 16) | (groups[7] as number)) >>> 0;
        } else {
          words[0] = (((groups[0] as number) << 16) | (groups[1] as number)) >>> 0;
          words[1] = (((groups[2] as number) << 16) | (groups[3] as number)) >>> 0;
          words[2] = (((groups[4] as number) << 16) | (groups[5] as number)) >>> 0;
          words[3] = (((groups[6] as number) << 16) | (groups[7] as number)) >>> 0;
        }
        return lookupWords(family);
      } finally {
        words.fill(0);
      }
    },
    ready: () => ispReady,
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      dns?.close();
      isp?.close?.();
    },
    metrics(): EnrichMetrics {
      return {
        ...counters,
        cacheSize: dns?.cache.size ?? 0,
        inFlight: dns?.pending ?? 0,
        isp: { ...counters.isp },
      };
    },
  };
}
