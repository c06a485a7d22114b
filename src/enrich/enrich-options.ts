/**
 * `EnrichOptions`: validated and resolved once, when the enricher is created.
 */
import { Resolver } from 'node:dns/promises';
import { assertKnownKeys, didYouMean, ERROR_CODES, invalidOption, PrivacyLogError } from '../errors.js';
import { asnTableIspResolver, findAsnDataDir } from './asn-table-isp-resolver.js';
import type { IspResolver } from './isp-resolver.js';
import { mmdbIspResolver } from './mmdb-isp-resolver.js';

/** Reverse-DNS settings. Every field optional. */
export interface DomainOptions {
  /** Longest wait for a PTR answer, in ms. Default {@link DEFAULT_DOMAIN_TIMEOUT_MS}. */
  timeoutMs?: number;
  /** Most PTR queries in flight at once; a new address beyond that gets no domain (counted as `saturated`). Default {@link DEFAULT_DOMAIN_CONCURRENCY}. */
  concurrency?: number;
  /** Most cached results (positive and negative). Default {@link DEFAULT_DOMAIN_CACHE_SIZE}. */
  cacheSize?: number;
  /** How long a found domain is reused, in ms. Default {@link DEFAULT_DOMAIN_TTL_MS}. */
  ttlMs?: number;
  /** How long "no domain" (NXDOMAIN, junk name, timeout, SERVFAIL) is reused, in ms. Default {@link DEFAULT_DOMAIN_NEGATIVE_TTL_MS}. */
  negativeTtlMs?: number;
  /** DNS servers ('127.0.0.1', '[::1]:5353', '10.0.0.2:53'). Default: the system's (/etc/resolv.conf). */
  servers?: string[];
}

/** Enrichment settings: `enrich` in `privacyLog()` options. Every field optional. */
export interface EnrichOptions {
  /**
   * Where ISP names and AS numbers come from:
   * - `'auto'` (default): the ASN table of the optional package `@ip-location-db/asn` if installed, else no ISP;
   * - `{ mmdb: path }`: a MaxMind-format ASN database (GeoLite2-ASN or similar) — preferred;
   * - an {@link IspResolver} of your own; `false`: no ISP.
   */
  isp?: false | 'auto' | { mmdb: string } | IspResolver;
  /**
   * Reverse DNS for the domain name. Off by default: a PTR query carries the
   * visitor's full address to the DNS server. `true` or `{ … }` turns it on.
   */
  domain?: boolean | DomainOptions;
}

export const DEFAULT_ISP = 'auto' as const;
/** Reverse DNS is off unless configured (see docs/privacy-model.md, Enrichment). */
export const DEFAULT_DOMAIN = false as const;
export const DEFAULT_DOMAIN_TIMEOUT_MS = 300;
export const DEFAULT_DOMAIN_CONCURRENCY = 16;
export const DEFAULT_DOMAIN_CACHE_SIZE = 10_000;
export const DEFAULT_DOMAIN_TTL_MS = 60 * 60 * 1000;
export const DEFAULT_DOMAIN_NEGATIVE_TTL_MS = 5 * 60 * 1000;

const ENRICH_KEYS = ['isp', 'domain'] as const;
const DOMAIN_KEYS = ['timeoutMs', 'concurrency', 'cacheSize', 'ttlMs', 'negativeTtlMs', 'servers'] as const;
const MMDB_KEYS = ['mmdb'] as const;
const WHERE = 'enrich';

export interface ResolvedDomainOptions {
  timeoutMs: number;
  concurrency: number;
  cacheSize: number;
  ttlMs: number;
  negativeTtlMs: number;
  servers: string[] | undefined;
}

export interface ResolvedEnrichOptions {
  isp: IspResolver | undefined;
  ispSource: 'asn-table' | 'mmdb' | 'custom' | 'none';
  /** true when the resolver was chosen by 'auto' (a failed load then only means "no ISP"). */
  ispAuto: boolean;
  domain: ResolvedDomainOptions | undefined;
}

function int(where: string, field: string, value: unknown, min: number, max: number, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalidOption(where, field, `an integer from ${min} to ${max}`);
  }
  return value;
}

function resolveDomain(value: unknown): ResolvedDomainOptions | undefined {
  if (value === undefined || value === false) return undefined;
  const o = value === true ? {} : value;
  if (typeof o !== 'object' || o === null || Array.isArray(o)) {
    throw invalidOption(WHERE, 'domain', 'false, true or an object such as { timeoutMs: 300 }');
  }
  assertKnownKeys(o, DOMAIN_KEYS, `${WHERE}.domain`);
  const d = o as DomainOptions;
  const where = `${WHERE}.domain`;
  const resolved: ResolvedDomainOptions = {
    timeoutMs: int(where, 'timeoutMs', d.timeoutMs, 1, 30_000, DEFAULT_DOMAIN_TIMEOUT_MS),
    concurrency: int(where, 'concurrency', d.concurrency, 1, 4096, DEFAULT_DOMAIN_CONCURRENCY),
    cacheSize: int(where, 'cacheSize', d.cacheSize, 1, 10_000_000, DEFAULT_DOMAIN_CACHE_SIZE),
    ttlMs: int(where, 'ttlMs', d.ttlMs, 0, 7 * 86_400_000, DEFAULT_DOMAIN_TTL_MS),
    negativeTtlMs: int(where, 'negativeTtlMs', d.negativeTtlMs, 0, 7 * 86_400_000, DEFAULT_DOMAIN_NEGATIVE_TTL_MS),
    servers: undefined,
  };
  if (d.servers !== undefined) {
    const expected = "a non-empty array of DNS server addresses such as ['127.0.0.1', '[::1]:5353']";
    if (!Array.isArray(d.servers) || d.servers.length === 0 || !d.servers.every((s) => typeof s === 'string')) {
      throw invalidOption(where, 'servers', expected);
    }
    try {
      new Resolver().setServers(d.servers);
    } catch (e) {
      throw invalidOption(where, 'servers', expected, e);
    }
    resolved.servers = [...d.servers];
  }
  return resolved;
}

function resolveIsp(value: unknown): Pick<ResolvedEnrichOptions, 'isp' | 'ispSource' | 'ispAuto'> {
  if (value === false) return { isp: undefined, ispSource: 'none', ispAuto: false };
  if (value === undefined || value === 'auto') {
    if (findAsnDataDir() === undefined) return { isp: undefined, ispSource: 'none', ispAuto: true };
    return { isp: asnTableIspResolver(), ispSource: 'asn-table', ispAuto: true };
  }
  if (typeof value === 'string') {
    const hint = value.endsWith('.mmdb')
      ? ` Did you mean { mmdb: '${value}' }?`
      : didYouMean(value, ['auto'])
        ? " Did you mean 'auto'?"
        : '';
    throw new PrivacyLogError(
      ERROR_CODES.INVALID_OPTION,
      `${WHERE}: option "isp" must be false, 'auto', { mmdb: path } or an IspResolver.${hint}`,
      { retryable: false, details: { option: 'isp' } },
    );
  }
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    if (typeof (value as { lookup?: unknown }).lookup === 'function') {
      return { isp: value as IspResolver, ispSource: 'custom', ispAuto: false };
    }
    assertKnownKeys(value, MMDB_KEYS, `${WHERE}.isp`);
    const file = (value as { mmdb?: unknown }).mmdb;
    if (typeof file !== 'string' || file === '')
      throw invalidOption(`${WHERE}.isp`, 'mmdb', 'the path of an .mmdb file');
    return { isp: mmdbIspResolver({ file }), ispSource: 'mmdb', ispAuto: false };
  }
  throw invalidOption(WHERE, 'isp', "false, 'auto', { mmdb: path } or an IspResolver");
}

/** Validates `EnrichOptions` and opens the ISP data. Throws coded errors. */
export function resolveEnrichOptions(options: unknown): ResolvedEnrichOptions {
  if (options === undefined) options = {};
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw invalidOption('createEnricher()', 'options', 'an object such as { isp: "auto", domain: false }');
  }
  assertKnownKeys(options, ENRICH_KEYS, WHERE);
  const o = options as EnrichOptions;
  // validate the domain options before opening any ISP data
  const domain = resolveDomain(o.domain);
  return { ...resolveIsp(o.isp), domain };
}
