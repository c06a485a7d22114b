/** The pipeline's public API. */
export { createPipeline, FORGOTTEN_SESSIONS_MAX } from './create-pipeline.js';
export {
  DEFAULT_ATTEMPT_TIMEOUT_MS,
  DEFAULT_BATCH_MAX_EVENTS,
  DEFAULT_BATCH_MAX_WAIT_MS,
  DEFAULT_CLOSE_TIMEOUT_MS,
  DEFAULT_ENRICH_TIMEOUT_MS,
  DEFAULT_FLUSH_TIMEOUT_MS,
  DEFAULT_FSYNC_INTERVAL_MS,
  DEFAULT_OVERFLOW,
  DEFAULT_QUEUE_MAX_EVENTS,
  DEFAULT_RETRY_INITIAL_MS,
  DEFAULT_RETRY_JITTER,
  DEFAULT_RETRY_MAX_ATTEMPTS,
  DEFAULT_RETRY_MAX_MS,
  DEFAULT_RETRY_MULTIPLIER,
  DEFAULT_SPOOL_DIR,
  DEFAULT_SPOOL_MAX_BYTES,
  DEFAULT_SPOOL_SEGMENT_BYTES,
  type OverflowPolicy,
  type PipelineOptions,
  type RetryOptions,
  type SpoolOptions,
} from './options.js';
export { PROMETHEUS_CONTENT_TYPE, prometheusMetrics } from './prometheus.js';
export {
  DEFAULT_SHUTDOWN_SIGNALS,
  DEFAULT_SHUTDOWN_TIMEOUT_MS,
  installShutdownHandlers,
  type ShutdownOptions,
} from './shutdown.js';
export type {
  AggregatorHealth,
  AggregatorMetrics,
  ClientEnrichment,
  Pipeline,
  PipelineHealth,
  PipelineMetrics,
} from './types.js';
