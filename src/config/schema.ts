/**
 * The operator configuration schema (zod): what a JSON file or the
 * PRIVACY_LOG_* environment variables may say, validated into typed options
 * with the defaults filled in.
 */
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { ACCESS_LOG_FORMATS } from '../access-log/formats.js';
import { LOG_LEVELS } from '../access-log/transports.js';
import { DEFAULT_COLLECTOR_PATH, DEFAULT_MAX_BODY_BYTES, MIN_COLLECTOR_TOKEN_LENGTH } from '../collector/collector.js';

export const DEFAULT_COLLECTOR_HOST = '127.0.0.1';
export const DEFAULT_COLLECTOR_PORT = 8787;
export {
  DEFAULT_COLLECTOR_PATH,
  DEFAULT_MAX_BODY_BYTES as DEFAULT_COLLECTOR_MAX_BODY_BYTES,
  MIN_COLLECTOR_TOKEN_LENGTH as MIN_TOKEN_LENGTH,
};

export const COLLECTOR_AGGREGATOR_TYPES = ['postgres', 'sqlite', 'access-log', 'http', 'otlp'] as const;
export type CollectorAggregatorType = (typeof COLLECTOR_AGGREGATOR_TYPES)[number];

/** Why a path cannot be used for writing, or undefined when it can. */
export function unwritableDirReason(dir: string): string | undefined {
  let current = path.resolve(dir);
  // The directory may not exist yet: its nearest existing ancestor must be a writable directory.
  for (let i = 0; i < 64; i++) {
    let st: fs.Stats | undefined;
    try {
      st = fs.statSync(current);
    } catch {
      st = undefined;
    }
    if (st) {
      if (!st.isDirectory()) return `${current} exists and is not a directory`;
      try {
        fs.accessSync(current, fs.constants.W_OK);
      } catch {
        return `${current} is not writable by this process`;
      }
      return undefined;
    }
    const parent = path.dirname(current);
    if (parent === current) break;
    current = parent;
  }
  return `no existing directory above ${dir}`;
}

const pathString = z
  .string()
  .min(1, 'must be a non-empty path')
  .refine((p) => !p.includes('\0'), 'must not contain a NUL character');

const writableDir = pathString.superRefine((dir, ctx) => {
  if (dir.includes('\0')) return;
  const reason = unwritableDirReason(dir);
  if (reason) ctx.addIssue({ code: 'custom', message: `is not a usable directory: ${reason}` });
});

const writableFile = pathString.superRefine((file, ctx) => {
  if (file.includes('\0')) return;
  try {
    if (fs.statSync(file).isDirectory()) {
      ctx.addIssue({ code: 'custom', message: `is a directory, not a file: ${file}` });
      return;
    }
  } catch {
    // does not exist yet: its directory must be writable
  }
  const reason = unwritableDirReason(path.dirname(file));
  if (reason) ctx.addIssue({ code: 'custom', message: `cannot be created: ${reason}` });
});

const httpUrl = z
  .string()
  .refine((u) => URL.canParse(u) && /^https?:$/.test(new URL(u).protocol), 'must be an http:// or https:// URL');

const token = z.string().min(MIN_COLLECTOR_TOKEN_LENGTH, `must be at least ${MIN_COLLECTOR_TOKEN_LENGTH} characters`);
const level = z.enum(LOG_LEVELS);
const headers = z.record(z.string(), z.string());

export const consoleTransportSchema = z.strictObject({
  type: z.literal('console'),
  level: level.optional(),
  stream: z.enum(['stdout', 'stderr']).optional(),
});

export const fileTransportSchema = z.strictObject({
  type: z.literal('file'),
  dir: writableDir,
  filename: z
    .string()
    .regex(/^[^/\\\0]+$/, 'must be a file name without directories')
    .refine((f) => f.includes('%DATE%'), 'must contain the %DATE% placeholder')
    .optional(),
  datePattern: z.string().min(1).optional(),
  maxFiles: z
    .union([z.number().int().positive(), z.string().regex(/^\d+d?$/, "must be a count or days like '14d'")])
    .optional(),
  maxSize: z
    .union([z.number().int().positive(), z.string().regex(/^\d+[kmg]?$/i, "must be bytes or a size like '100m'")])
    .optional(),
  zippedArchive: z.boolean().optional(),
  level: level.optional(),
});

export const httpTransportSchema = z.strictObject({
  type: z.literal('http'),
  url: httpUrl,
  token: z.string().min(1).optional(),
  headers: headers.optional(),
  level: level.optional(),
});

export const transportSchema = z.discriminatedUnion('type', [
  consoleTransportSchema,
  fileTransportSchema,
  httpTransportSchema,
]);

export const accessLogSchema = z.strictObject({
  format: z.enum(ACCESS_LOG_FORMATS).default('combined'),
  level: level.default('info'),
  transports: z
    .array(transportSchema)
    .min(1, 'must list at least one transport')
    .default([{ type: 'console' }]),
});

export const collectorAggregatorSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('postgres'),
    connectionString: z.string().min(1),
    schema: z.string().min(1).optional(),
  }),
  z.strictObject({ type: z.literal('sqlite'), file: writableFile }),
  /** Writes every received event to the access log configured in `accessLog`. */
  z.strictObject({ type: z.literal('access-log') }),
  z.strictObject({
    type: z.literal('http'),
    url: httpUrl,
    token: z.string().min(1),
    gzip: z.boolean().optional(),
    timeoutMs: z.number().int().positive().optional(),
  }),
  z.strictObject({
    type: z.literal('otlp'),
    url: httpUrl,
    headers: headers.optional(),
    timeoutMs: z.number().int().positive().optional(),
  }),
]);

export const collectorSchema = z.strictObject({
  host: z.string().min(1).default(DEFAULT_COLLECTOR_HOST),
  port: z.number().int().min(0).max(65535).default(DEFAULT_COLLECTOR_PORT),
  path: z
    .string()
    .regex(/^\/[^\s?#]*$/, "must start with '/' and hold no spaces, '?' or '#'")
    .default(DEFAULT_COLLECTOR_PATH),
  token: token.optional(),
  maxBodyBytes: z.number().int().min(1024).max(1_073_741_824).default(DEFAULT_MAX_BODY_BYTES),
  aggregators: z.array(collectorAggregatorSchema).default([]),
});

export const operatorConfigSchema = z.strictObject({
  accessLog: accessLogSchema.optional(),
  collector: collectorSchema.default(() => collectorSchema.parse({})),
});

export type OperatorConfigInput = z.input<typeof operatorConfigSchema>;
export type ParsedOperatorConfig = z.output<typeof operatorConfigSchema>;
export type CollectorAggregatorConfig = z.output<typeof collectorAggregatorSchema>;
export type AccessLogConfig = z.output<typeof accessLogSchema>;
export type CollectorConfig = z.output<typeof collectorSchema>;
