/**
 * ISP data from a MaxMind-format database (GeoLite2-ASN, GeoIP2-ISP, DB-IP
 * ASN Lite, or any mmdb with ASN records), read through the `maxmind` package.
 * The file is read once, synchronously, when the resolver is created, so a
 * missing or corrupt file stops startup with a coded error.
 */
import { readFileSync } from 'node:fs';
import { Reader } from 'maxmind';
import { assertKnownKeys, ERROR_CODES, invalidOption, PrivacyLogError } from '../errors.js';
import { ispName } from './isp-name.js';
import type { IspRecord, IspResolver } from './isp-resolver.js';
import { prefixText } from './routable-prefix.js';

/** Prefixes whose answers are kept in memory (results per /24 or /48, not per address). */
export const DEFAULT_MMDB_CACHE_SIZE = 10_000;

export interface MmdbIspOptions {
  /** Path of the .mmdb file. Required. */
  file?: string;
  /** Answers kept per routable prefix; 0 disables. Default {@link DEFAULT_MMDB_CACHE_SIZE}. */
  cacheSize?: number;
}

const KNOWN_KEYS = ['file', 'cacheSize'] as const;

/** Database types that carry no ASN data. */
const NOT_ASN = /^(GeoLite2|GeoIP2)-(City|Country|Anonymous-IP|Connection-Type|Domain)$/;

export interface MmdbIspResolver extends IspResolver {
  /** The database's metadata: type, build time, IP version. */
  readonly database: { type: string; buildEpoch: Date; ipVersion: number };
  close(): void;
}

function recordOf(value: unknown): IspRecord | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const r = value as Record<string, unknown>;
  let asn = r.autonomous_system_number;
  let name = r.autonomous_system_organization ?? r.isp ?? r.organization;
  if (asn === undefined && typeof r.asn === 'string' && /^AS\d{1,10}$/i.test(r.asn)) {
    // ipinfo-style records: { asn: 'AS13335', name|as_name: '…' }
    asn = Number(r.asn.slice(2));
    name = r.as_name ?? r.name;
  }
  if (typeof asn !== 'number' || !Number.isInteger(asn) || asn <= 0 || asn > 0xffffffff) return undefined;
  return Object.freeze({ isp: ispName(name, asn), asn });
}

/**
 * @example
 * const isp = mmdbIspResolver({ file: '/var/lib/GeoIP/GeoLite2-ASN.mmdb' });
 * const enricher = createEnricher({ isp });   // or enrich: { isp: { mmdb: '/var/lib/GeoIP/GeoLite2-ASN.mmdb' } }
 */
export function mmdbIspResolver(options: MmdbIspOptions): MmdbIspResolver {
  const where = 'mmdbIspResolver()';
  if (typeof options !== 'object' || options === null) throw invalidOption(where, 'options', 'an object with a file');
  assertKnownKeys(options, KNOWN_KEYS, where);
  const { file, cacheSize = DEFAULT_MMDB_CACHE_SIZE } = options;
  if (typeof file !== 'string' || file === '') throw invalidOption(where, 'file', 'the path of an .mmdb file');
  if (!Number.isInteger(cacheSize) || cacheSize < 0 || cacheSize > 10_000_000) {
    throw invalidOption(where, 'cacheSize', 'an integer from 0 to 10000000');
  }
  let reader: Reader<Record<string, unknown>> | undefined;
  try {
    const buf = readFileSync(file);
    if (buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b) throw new Error('the file is gzip-compressed');
    reader = new Reader<Record<string, unknown>>(buf);
  } catch (e) {
    throw new PrivacyLogError(
      ERROR_CODES.ENRICH_DATA,
      `${where}: cannot open the ASN database ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}. Check the path, and that it is an uncompressed MaxMind-format (.mmdb) ASN database such as GeoLite2-ASN.`,
      { cause: e, retryable: false, details: { file } },
    );
  }
  const meta = reader.metadata;
  if (NOT_ASN.test(meta.databaseType)) {
    throw new PrivacyLogError(
      ERROR_CODES.ENRICH_DATA,
      `${where}: ${file} is a ${meta.databaseType} database, which has no ASN data. Use an ASN database such as GeoLite2-ASN.`,
      { retryable: false, details: { file, databaseType: meta.databaseType } },
    );
  }
  const ipv4Only = meta.ipVersion === 4;
  const cache = new Map<number, IspRecord | null>();

  return {
    database: { type: meta.databaseType, buildEpoch: meta.buildEpoch, ipVersion: meta.ipVersion },
    lookup(family: 4 | 6, prefix: number): IspRecord | undefined {
      const r = reader;
      if (r === undefined || (family === 6 && ipv4Only)) return undefined;
      const key = family === 4 ? prefix : 281474976710656 + prefix;
      const hit = cache.get(key);
      if (hit !== undefined) return hit ?? undefined;
      let rec: IspRecord | undefined;
      try {
        rec = recordOf(r.get(prefixText(family, prefix)));
      } catch {
        rec = undefined; // a damaged tree: no ISP rather than a failed request
      }
      if (cacheSize > 0) {
        if (cache.size >= cacheSize) cache.delete(cache.keys().next().value as number);
        cache.set(key, rec ?? null);
      }
      return rec;
    },
    close(): void {
      reader = undefined;
      cache.clear();
    },
  };
}
