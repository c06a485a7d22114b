/**
 * `privacy-log collect`: the collector as a plain node:http server, configured
 * from the operator configuration (file and PRIVACY_LOG_* variables), writing
 * to its own aggregators, with a graceful shutdown.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Aggregator } from '../aggregators/aggregator.js';
import { type Collector, createCollector } from '../collector/collector.js';
import { collectorListener } from '../collector/receive.js';
import { loadOperatorConfig, type OperatorConfig } from '../config/load-operator-config.js';
import { ERROR_CODES, PrivacyLogError } from '../errors.js';
import { buildCollectorAggregators } from './build-aggregators.js';

/** How long in-flight requests get to finish on shutdown before their connections are cut. */
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 10_000;

export interface CollectorServerOptions {
  /** Default: `loadOperatorConfig()` (PRIVACY_LOG_CONFIG and the PRIVACY_LOG_* variables). */
  config?: OperatorConfig;
  /** Aggregators to use instead of the configured ones (they are closed on shutdown). */
  aggregators?: Aggregator[];
  shutdownTimeoutMs?: number;
}

export interface CollectorServer {
  /** e.g. http://127.0.0.1:8787/privacy-log/collect */
  readonly url: string;
  readonly server: http.Server;
  readonly collector: Collector;
  readonly aggregators: readonly Aggregator[];
  /** Stops accepting, lets in-flight requests finish (bounded), closes the aggregators. Idempotent. */
  close(): Promise<void>;
}

function configError(field: string, message: string, cause?: unknown): PrivacyLogError {
  return new PrivacyLogError(ERROR_CODES.INVALID_CONFIG, `privacy-log configuration: ${field} ${message}`, {
    retryable: false,
    cause,
    details: { field },
  });
}

/**
 * @example
 * const server = await startCollectorServer(); // configured from PRIVACY_LOG_* variables
 * process.once('SIGTERM', () => server.close());
 */
export async function startCollectorServer(options: CollectorServerOptions = {}): Promise<CollectorServer> {
  const config = options.config ?? loadOperatorConfig();
  const c = config.collector;
  if (!c.token)
    throw configError('collector.token (PRIVACY_LOG_COLLECTOR_TOKEN)', 'is required: the collector never runs open.');
  if (!options.aggregators && c.aggregators.length === 0)
    throw configError(
      'collector.aggregators (PRIVACY_LOG_COLLECTOR_AGGREGATORS)',
      'is empty: name where the collector stores, e.g. postgres or sqlite.',
    );
  const aggregators = options.aggregators ?? (await buildCollectorAggregators(config));
  const collector = createCollector({
    aggregators,
    auth: { token: c.token },
    path: c.path,
    maxBodyBytes: c.maxBodyBytes,
  });
  const server = http.createServer(collectorListener(collector));
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(c.port, c.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (cause) {
    await collector.close();
    throw configError(
      'collector.host/port',
      `cannot be listened on (${(cause as NodeJS.ErrnoException).code ?? 'error'}): ${c.host}:${c.port}.`,
      cause,
    );
  }
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const timeoutMs = options.shutdownTimeoutMs ?? DEFAULT_SHUTDOWN_TIMEOUT_MS;
  let closing: Promise<void> | undefined;

  return {
    url: `http://${host}:${address.port}${c.path}`,
    server,
    collector,
    aggregators,
    close(): Promise<void> {
      closing ??= (async () => {
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          stopped,
          new Promise<void>((resolve) => {
            timer = setTimeout(() => {
              server.closeAllConnections();
              resolve();
            }, timeoutMs);
          }),
        ]);
        clearTimeout(timer);
        await collector.close();
      })();
      return closing;
    },
  };
}
