/**
 * Winston transports from plain, serialisable descriptions — what the operator
 * configuration (src/config) validates into: console, a file rotated daily
 * (winston-daily-rotate-file), or an HTTP endpoint.
 */
import path from 'node:path';
import winston from 'winston';
import DailyRotateFile from 'winston-daily-rotate-file';
import type TransportStream from 'winston-transport';

/** winston's npm levels, most to least severe. */
export const LOG_LEVELS = ['error', 'warn', 'info', 'http', 'verbose', 'debug', 'silly'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const TRANSPORT_TYPES = ['console', 'file', 'http'] as const;
export type TransportType = (typeof TRANSPORT_TYPES)[number];

export const DEFAULT_FILE_NAME = 'access-%DATE%.log';
export const DEFAULT_DATE_PATTERN = 'YYYY-MM-DD';
export const DEFAULT_MAX_FILES = '30d';

export interface ConsoleTransportConfig {
  type: 'console';
  /** Least severe level this transport writes (default: every level). */
  level?: LogLevel;
  /** Default 'stdout'. */
  stream?: 'stdout' | 'stderr';
}

export interface FileTransportConfig {
  type: 'file';
  /** Directory of the log files; created if missing. */
  dir: string;
  /** File name with a `%DATE%` placeholder. Default {@link DEFAULT_FILE_NAME}. */
  filename?: string;
  /** moment.js pattern that sets the rotation period. Default {@link DEFAULT_DATE_PATTERN} (daily). */
  datePattern?: string;
  /** Files to keep: a count, or days as '14d'. Default {@link DEFAULT_MAX_FILES}. */
  maxFiles?: string | number;
  /** Also rotate when a file reaches this size: bytes, or '100k' / '50m' / '1g'. */
  maxSize?: string | number;
  /** gzip rotated files. Default false. */
  zippedArchive?: boolean;
  level?: LogLevel;
}

export interface HttpTransportConfig {
  type: 'http';
  /** http(s) URL each record is POSTed to as JSON `{ level, message }`. */
  url: string;
  /** Sent as `Authorization: Bearer <token>`. */
  token?: string;
  headers?: Record<string, string>;
  level?: LogLevel;
}

export type TransportConfig = ConsoleTransportConfig | FileTransportConfig | HttpTransportConfig;

/**
 * Builds the winston transport a description stands for.
 *
 * @example
 * const file = createTransport({ type: 'file', dir: '/var/log/oblachko', maxFiles: '14d' });
 */
export function createTransport(config: TransportConfig): TransportStream {
  switch (config.type) {
    case 'console':
      return new winston.transports.Console({
        level: config.level,
        stderrLevels: config.stream === 'stderr' ? [...LOG_LEVELS] : [],
      });
    case 'file':
      return new DailyRotateFile({
        level: config.level,
        dirname: config.dir,
        filename: config.filename ?? DEFAULT_FILE_NAME,
        datePattern: config.datePattern ?? DEFAULT_DATE_PATTERN,
        maxFiles: config.maxFiles ?? DEFAULT_MAX_FILES,
        maxSize: config.maxSize,
        zippedArchive: config.zippedArchive ?? false,
        auditFile: path.join(config.dir, '.privacy-log-audit.json'),
        utc: true,
      });
    case 'http': {
      const url = new URL(config.url);
      return new winston.transports.Http({
        level: config.level,
        ssl: url.protocol === 'https:',
        host: url.hostname.replace(/^\[|\]$/g, ''),
        port: url.port ? Number(url.port) : undefined,
        path: `${url.pathname}${url.search}`,
        auth: config.token ? { bearer: config.token } : undefined,
        headers: { ...config.headers },
      });
    }
  }
}
