/**
 * The collector's own aggregators, built from the operator configuration.
 * Backends are imported lazily, so a collector writing to PostgreSQL never
 * loads SQLite and the reverse.
 */
import type { Aggregator } from '../aggregators/aggregator.js';
import type { OperatorConfig } from '../config/load-operator-config.js';
import type { CollectorAggregatorConfig } from '../config/schema.js';
import { ERROR_CODES, PrivacyLogError } from '../errors.js';

async function build(config: CollectorAggregatorConfig, index: number, operator: OperatorConfig): Promise<Aggregator> {
  switch (config.type) {
    case 'postgres': {
      const { postgresAggregator } = await import('../aggregators/postgres/postgres-aggregator.js');
      return postgresAggregator({
        connectionString: config.connectionString,
        ...(config.schema ? { schema: config.schema } : {}),
      });
    }
    case 'sqlite': {
      const { sqliteAggregator } = await import('../aggregators/sqlite/sqlite-aggregator.js');
      return sqliteAggregator({ file: config.file });
    }
    case 'access-log': {
      if (!operator.accessLog)
        throw new PrivacyLogError(
          ERROR_CODES.INVALID_CONFIG,
          `privacy-log configuration: collector.aggregators[${index}] is "access-log", but no access log is configured. Add an "accessLog" section or set PRIVACY_LOG_TRANSPORTS.`,
          { retryable: false, details: { field: `collector.aggregators[${index}]` } },
        );
      const { winstonAggregator } = await import('../aggregators/winston-aggregator.js');
      return winstonAggregator({
        name: 'access-log',
        format: operator.accessLog.format,
        level: operator.accessLog.level,
        transports: operator.accessLog.transports,
      });
    }
    case 'http': {
      const { httpAggregator } = await import('../aggregators/http-aggregator.js');
      return httpAggregator({
        url: config.url,
        token: config.token,
        ...(config.gzip !== undefined ? { gzip: config.gzip } : {}),
        ...(config.timeoutMs !== undefined ? { timeoutMs: config.timeoutMs } : {}),
      });
    }
    case 'otlp': {
      const { otlpAggregator } = await import('../aggregators/otlp-aggregator.js');
      return otlpAggregator({
        url: config.url,
        ...(config.headers ? { headers: config.headers } : {}),
        ...(config.timeoutMs !== undefined ? { timeoutMs: config.timeoutMs } : {}),
      });
    }
  }
}

/**
 * Builds every configured collector aggregator; if one fails, closes those
 * already built and rethrows.
 */
export async function buildCollectorAggregators(operator: OperatorConfig): Promise<Aggregator[]> {
  const built: Aggregator[] = [];
  try {
    for (const [i, c] of operator.collector.aggregators.entries()) built.push(await build(c, i, operator));
    return built;
  } catch (e) {
    await Promise.allSettled(built.map((a) => a.close?.()));
    throw e;
  }
}
