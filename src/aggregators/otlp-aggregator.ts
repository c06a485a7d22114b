/**
 * otlpAggregator: each event becomes an OpenTelemetry log record, exported
 * over OTLP/HTTP (JSON) to an OpenTelemetry Collector — and from there to Loki,
 * Elasticsearch, ClickHouse, Kafka… Attributes are the semantic-convention
 * names of `toOtelAttributes`.
 *
 * The OpenTelemetry packages are optional peer dependencies, imported lazily on
 * first use and typed structurally here, so nobody who does not use this
 * aggregator installs or loads them:
 *   npm install @opentelemetry/exporter-logs-otlp-http @opentelemetry/sdk-logs @opentelemetry/api-logs @opentelemetry/resources
 *
 * `write` resolves when the receiver has answered 2xx for the batch's export
 * request. 4xx (but 408/429) → REMOTE_REJECTED, not retryable; anything else →
 * AGGREGATOR_FAILED, retryable. (The exporter itself also retries 429/502/503/504
 * within `timeoutMs`.)
 */
import { createRequire } from 'node:module';
import { assertKnownKeys, ERROR_CODES, invalidOption, PrivacyLogError } from '../errors.js';
import { type PrivacyEvent, toOtelAttributes } from '../event.js';
import type { Aggregator, Batch } from './aggregator.js';

export const DEFAULT_OTLP_NAME = 'otlp';
export const DEFAULT_OTLP_TIMEOUT_MS = 10_000;
export const DEFAULT_OTLP_SERVICE_NAME = 'privacy-log';
/** The instrumentation scope of every record. */
export const OTLP_SCOPE_NAME = 'privacy-log';

/** The peers this aggregator needs. */
export const OTLP_PEERS = [
  '@opentelemetry/exporter-logs-otlp-http',
  '@opentelemetry/sdk-logs',
  '@opentelemetry/api-logs',
  '@opentelemetry/resources',
] as const;

export interface OtlpAggregatorOptions {
  /** OTLP/HTTP logs endpoint, e.g. 'http://127.0.0.1:4318/v1/logs'. Required. */
  url?: string;
  /** Extra request headers (tenant ids, API keys). */
  headers?: Record<string, string>;
  /** Bound on one export, the exporter's own retries included. Default {@link DEFAULT_OTLP_TIMEOUT_MS}. */
  timeoutMs?: number;
  /** Default 'none'. */
  compression?: 'gzip' | 'none';
  /** Resource attribute service.name. Default {@link DEFAULT_OTLP_SERVICE_NAME}. */
  serviceName?: string;
  /** More resource attributes (deployment.environment, host.name…). */
  resourceAttributes?: Record<string, string | number | boolean>;
  /** Name in pipeline metrics. Default {@link DEFAULT_OTLP_NAME}. */
  name?: string;
}

const KNOWN_KEYS = ['url', 'headers', 'timeoutMs', 'compression', 'serviceName', 'resourceAttributes', 'name'] as const;
const WHERE = 'otlpAggregator()';

/** OpenTelemetry severity numbers (logs data model). */
const SEVERITY = { INFO: 9, WARN: 13, ERROR: 17 } as const;

// Structural types for the parts of the OpenTelemetry packages used here.
interface ExportResultLike {
  code: number;
  error?: Error & { code?: number; data?: string };
}
interface LogRecordExporterLike {
  export(records: unknown[], done: (result: ExportResultLike) => void): void;
  shutdown(): Promise<void>;
}
interface OtelLoggerLike {
  emit(record: {
    timestamp?: number;
    observedTimestamp?: number;
    severityNumber?: number;
    severityText?: string;
    body?: string;
    eventName?: string;
    attributes?: Record<string, string | number | boolean>;
  }): void;
}
interface LoggerProviderLike {
  getLogger(name: string, version?: string): OtelLoggerLike;
  shutdown(): Promise<void>;
}
interface LogRecordProcessorLike {
  onEmit(record: unknown): void;
  forceFlush(): Promise<void>;
  shutdown(): Promise<void>;
}
interface OtelModules {
  OTLPLogExporter: new (config: {
    url: string;
    headers?: Record<string, string>;
    timeoutMillis?: number;
    compression?: string;
  }) => LogRecordExporterLike;
  LoggerProvider: new (config: { resource?: unknown; processors?: LogRecordProcessorLike[] }) => LoggerProviderLike;
  resourceFromAttributes: (attributes: Record<string, string | number | boolean>) => unknown;
}

function missing(peer: string, cause?: unknown): PrivacyLogError {
  return new PrivacyLogError(
    ERROR_CODES.MISSING_DEPENDENCY,
    `${WHERE} needs the optional peer dependency ${peer}. Install the OpenTelemetry packages: npm install ${OTLP_PEERS.join(' ')}`,
    { retryable: false, cause, details: { dependency: peer } },
  );
}

/**
 * Throws MISSING_DEPENDENCY unless every package in `peers` can be resolved
 * from here. Resolution only: nothing is loaded.
 */
export function assertPeersInstalled(peers: readonly string[]): void {
  const require = createRequire(import.meta.url);
  for (const peer of peers) {
    try {
      require.resolve(peer);
    } catch (cause) {
      throw missing(peer, cause);
    }
  }
}

async function loadOtel(): Promise<OtelModules> {
  const load = async (peer: string): Promise<Record<string, unknown>> => {
    try {
      return (await import(peer)) as Record<string, unknown>;
    } catch (cause) {
      throw missing(peer, cause);
    }
  };
  const [exporter, sdk, resources] = await Promise.all([
    load('@opentelemetry/exporter-logs-otlp-http'),
    load('@opentelemetry/sdk-logs'),
    load('@opentelemetry/resources'),
  ]);
  return {
    OTLPLogExporter: exporter.OTLPLogExporter as OtelModules['OTLPLogExporter'],
    LoggerProvider: sdk.LoggerProvider as OtelModules['LoggerProvider'],
    resourceFromAttributes: resources.resourceFromAttributes as OtelModules['resourceFromAttributes'],
  };
}

function severityOf(e: PrivacyEvent): { severityNumber: number; severityText: string } {
  if (e.response.status >= 500) return { severityNumber: SEVERITY.ERROR, severityText: 'ERROR' };
  if (e.response.status >= 400) return { severityNumber: SEVERITY.WARN, severityText: 'WARN' };
  return { severityNumber: SEVERITY.INFO, severityText: 'INFO' };
}

/**
 * @example
 * const pipeline = createPipeline({
 *   aggregators: [sqliteAggregator(), otlpAggregator({ url: 'http://127.0.0.1:4318/v1/logs' })],
 * });
 */
export function otlpAggregator(options: OtlpAggregatorOptions = {}): Aggregator & { close(): Promise<void> } {
  if (typeof options !== 'object' || options === null) throw invalidOption(WHERE, 'options', 'an object');
  assertKnownKeys(options, KNOWN_KEYS, WHERE);
  const { url } = options;
  if (typeof url !== 'string' || !URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol))
    throw invalidOption(
      WHERE,
      'url',
      "an http:// or https:// OTLP logs endpoint, e.g. 'http://127.0.0.1:4318/v1/logs'",
    );
  const headers = options.headers ?? {};
  if (typeof headers !== 'object' || headers === null || Object.values(headers).some((v) => typeof v !== 'string'))
    throw invalidOption(WHERE, 'headers', 'an object of string header values');
  const timeoutMs = options.timeoutMs ?? DEFAULT_OTLP_TIMEOUT_MS;
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) throw invalidOption(WHERE, 'timeoutMs', 'a positive integer');
  const compression = options.compression ?? 'none';
  if (compression !== 'gzip' && compression !== 'none') throw invalidOption(WHERE, 'compression', "'gzip' or 'none'");
  const serviceName = options.serviceName ?? DEFAULT_OTLP_SERVICE_NAME;
  if (typeof serviceName !== 'string' || serviceName === '')
    throw invalidOption(WHERE, 'serviceName', 'a non-empty string');
  const resourceAttributes = options.resourceAttributes ?? {};
  if (typeof resourceAttributes !== 'object' || resourceAttributes === null)
    throw invalidOption(WHERE, 'resourceAttributes', 'an object of attribute values');
  const name = options.name ?? DEFAULT_OTLP_NAME;
  if (typeof name !== 'string' || name === '') throw invalidOption(WHERE, 'name', 'a non-empty string');
  assertPeersInstalled(OTLP_PEERS);

  // Records emitted synchronously during one write() land here and are exported as that write's batch.
  const emitted: unknown[] = [];
  const collecting: LogRecordProcessorLike = {
    onEmit: (record) => {
      emitted.push(record);
    },
    forceFlush: async () => {},
    shutdown: async () => {},
  };
  let started:
    | Promise<{ exporter: LogRecordExporterLike; provider: LoggerProviderLike; logger: OtelLoggerLike }>
    | undefined;
  const start = () => {
    started ??= loadOtel().then((otel) => {
      const exporter = new otel.OTLPLogExporter({
        url,
        headers: { ...headers },
        timeoutMillis: timeoutMs,
        compression,
      });
      const provider = new otel.LoggerProvider({
        resource: otel.resourceFromAttributes({ 'service.name': serviceName, ...resourceAttributes }),
        processors: [collecting],
      });
      return { exporter, provider, logger: provider.getLogger(OTLP_SCOPE_NAME) };
    });
    // A failed load is not cached: the next write tries again.
    started.catch(() => {
      started = undefined;
    });
    return started;
  };
  let closed = false;

  const classify = (error: ExportResultLike['error']): PrivacyLogError => {
    const status = typeof error?.code === 'number' ? error.code : undefined;
    const detail = status ? `answered ${status}` : (error?.message ?? 'export failed');
    if (status !== undefined && status >= 400 && status < 500 && status !== 408 && status !== 429)
      return new PrivacyLogError(
        ERROR_CODES.REMOTE_REJECTED,
        `${name}: the OTLP receiver refused the logs (${detail}). Retrying cannot help; check the URL and headers.`,
        { retryable: false, cause: error, details: { status } },
      );
    return new PrivacyLogError(
      ERROR_CODES.AGGREGATOR_FAILED,
      `${name}: OTLP export failed (${detail}). The batch will be retried.`,
      {
        cause: error,
      },
    );
  };

  return {
    name,
    async write(batch: Batch, signal?: AbortSignal): Promise<void> {
      if (closed)
        throw new PrivacyLogError(ERROR_CODES.CLOSED, `${name}: the aggregator is closed; create a new one.`, {
          retryable: false,
        });
      if (batch.events.length === 0) return;
      const { exporter, logger } = await start();
      if (signal?.aborted)
        throw new PrivacyLogError(ERROR_CODES.AGGREGATOR_FAILED, `${name}: write aborted.`, { cause: signal.reason });
      const observed = Date.now();
      emitted.length = 0;
      for (const e of batch.events) {
        logger.emit({
          timestamp: Date.parse(e.time),
          observedTimestamp: observed,
          ...severityOf(e),
          body: `${e.request.method} ${e.request.path} ${e.response.status}`,
          eventName: `privacy_log.${e.kind}`,
          attributes: toOtelAttributes(e),
        });
      }
      const records = emitted.splice(0);
      await new Promise<void>((resolve, reject) => {
        const onAbort = () =>
          reject(
            new PrivacyLogError(ERROR_CODES.AGGREGATOR_FAILED, `${name}: write aborted.`, { cause: signal?.reason }),
          );
        signal?.addEventListener('abort', onAbort, { once: true });
        exporter.export(records, (result) => {
          signal?.removeEventListener('abort', onAbort);
          if (result.code === 0) resolve();
          else reject(classify(result.error));
        });
      });
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      if (!started) return;
      const s = await started.catch(() => undefined);
      if (s) await Promise.allSettled([s.provider.shutdown(), s.exporter.shutdown()]);
    },
  };
}
