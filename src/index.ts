/**
 * privacy-log — the framework-free public API. Adapters live at
 * `privacy-log/koa` and `privacy-log/express`.
 */

// Access logs, operator configuration, the collector
export { type AccessLogger, type AccessLoggerOptions, createAccessLogger } from './access-log/access-logger.js';
export { ACCESS_LOG_FORMATS, type AccessLogFormat } from './access-log/formats.js';
// Aggregators
export type {
  Aggregator,
  AggregatorDescription,
  Batch,
  SketchDimension,
  SketchUpdate,
  StatsAggregator,
} from './aggregators/aggregator.js';
export { SKETCH_DIMENSIONS, SKETCH_PRECISION } from './aggregators/aggregator.js';
export { type HttpAggregatorOptions, httpAggregator } from './aggregators/http-aggregator.js';
export {
  type MemoryAggregator,
  type MemoryAggregatorOptions,
  memoryAggregator,
} from './aggregators/memory-aggregator.js';
export { type OtlpAggregatorOptions, otlpAggregator } from './aggregators/otlp-aggregator.js';
export {
  type PostgresAggregator,
  type PostgresAggregatorOptions,
  postgresAggregator,
} from './aggregators/postgres/postgres-aggregator.js';
export {
  type SqliteAggregator,
  type SqliteAggregatorOptions,
  sqliteAggregator,
} from './aggregators/sqlite/sqlite-aggregator.js';
export { type WinstonAggregatorOptions, winstonAggregator } from './aggregators/winston-aggregator.js';
// Capture defaults, to extend through options.capture (e.g. searchHosts: [...DEFAULT_SEARCH_HOSTS, 'search.example'])
export { DEFAULT_DOWNLOAD_EXTENSIONS } from './capture/download.js';
export { DEFAULT_API_PREFIXES, DEFAULT_ASSET_EXTENSIONS } from './capture/kind.js';
export { DEFAULT_SEARCH_HOSTS, DEFAULT_SOCIAL_HOSTS } from './capture/referrer.js';
export { type Collector, type CollectorOptions, createCollector } from './collector/collector.js';
export { loadOperatorConfig, type OperatorConfig } from './config/load-operator-config.js';
// Consent
export {
  type Consent,
  type ConsentOptions,
  type ConsentState,
  createConsent,
  decodeConsentCookie,
  encodeConsentCookie,
} from './consent/index.js';
// Enrichment
export {
  asnTableIspResolver,
  createEnricher,
  type Enricher,
  type EnrichOptions,
  type IspResolver,
  mmdbIspResolver,
} from './enrich/index.js';
export { ERROR_CODES, type ErrorCode, isPrivacyLogError, PrivacyLogError } from './errors.js';
// The event contract
export {
  CONSENT_SOURCES,
  CONSENT_VALUES,
  DEVICE_CLASSES,
  EVENT_KINDS,
  EVENT_LIMITS,
  type EventKind,
  isPrivacyEvent,
  type OtelAttributes,
  type PrivacyEvent,
  REFERRER_TYPES,
  toOtelAttributes,
  validateEvent,
} from './event.js';
// Options and the framework-free core (for adapters to other frameworks)
export type { CaptureOptions, PrivacyLogOptions, RoutesOptions } from './options.js';
// Pipeline
export * from './pipeline/index.js';
export {
  type CaptureMetrics,
  createPrivacyLog,
  type PrivacyLogCore,
  type PrivacyLogDescription,
  type PrivacyRequestState,
} from './privacy-log.js';
export type { StatsBackend } from './stats/backend.js';
export { createStatsEngine } from './stats/engine.js';
export { parseFilter } from './stats/filter.js';
export {
  createStatsHandler,
  type StatsAuthOptions,
  type StatsHandler,
  type StatsHandlerOptions,
} from './stats/http/handler.js';
// Stats
export {
  DEFAULT_K,
  type Filter,
  INTERVALS,
  type Interval,
  METRICS,
  type Metric,
  OTHER,
  PERIODS,
  type Period,
  PROPERTIES,
  type Property,
  QUERY_TYPES,
  type QueryType,
  type StatsQuery,
  type StatsResult,
  type StatsRow,
  type StatsSource,
} from './stats/query.js';
