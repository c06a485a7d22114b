/** Enrichment: ISP/ASN from the routable prefix, domain from reverse DNS. */
export { AsnTable, type AsnTableData, type AsnTableInput } from './asn-table.js';
export {
  ASN_DATA_PACKAGE,
  type AsnTableInfo,
  type AsnTableIspResolver,
  type AsnTableOptions,
  asnTableIspResolver,
  findAsnDataDir,
} from './asn-table-isp-resolver.js';
export { defaultCacheDir } from './cache-dir.js';
export {
  DEFAULT_DOMAIN,
  DEFAULT_DOMAIN_CACHE_SIZE,
  DEFAULT_DOMAIN_CONCURRENCY,
  DEFAULT_DOMAIN_NEGATIVE_TTL_MS,
  DEFAULT_DOMAIN_TIMEOUT_MS,
  DEFAULT_DOMAIN_TTL_MS,
  DEFAULT_ISP,
  type DomainOptions,
  type EnrichOptions,
} from './enrich-options.js';
export { createEnricher, type Enricher, type EnrichLookup, type EnrichMetrics } from './enricher.js';
export type { IspRecord, IspResolver } from './isp-resolver.js';
export {
  DEFAULT_MMDB_CACHE_SIZE,
  type MmdbIspOptions,
  type MmdbIspResolver,
  mmdbIspResolver,
} from './mmdb-isp-resolver.js';
export { NameTable } from './name-table.js';
export { registrableDomain } from './registrable-domain.js';
export { IPV4_ROUTABLE_PREFIX, IPV6_ROUTABLE_PREFIX, prefixText } from './routable-prefix.js';
