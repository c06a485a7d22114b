/**
 * loadOperatorConfig: the operator's configuration from a JSON file and/or
 * PRIVACY_LOG_* environment variables, validated once into typed options.
 * Every problem is an INVALID_CONFIG error that names the field — the dotted
 * path in the file, or the environment variable that set it — and, for a
 * misspelled key, the key that was probably meant.
 */
import fs from 'node:fs';
import type { z } from 'zod';
import type { TransportConfig } from '../access-log/transports.js';
import { didYouMean, ERROR_CODES, PrivacyLogError } from '../errors.js';
import { applyEnv, type Provenance } from './env.js';
import {
  type AccessLogConfig,
  type CollectorConfig,
  operatorConfigSchema,
  type ParsedOperatorConfig,
} from './schema.js';

export interface OperatorConfig {
  /** Present when the file or the environment configures an access log. */
  accessLog?: Omit<AccessLogConfig, 'transports'> & { transports: TransportConfig[] };
  collector: CollectorConfig;
  /** Where the configuration came from, for messages: the file path, if any. */
  file?: string;
}

export interface OperatorConfigSource {
  /** JSON file. Default: `env.PRIVACY_LOG_CONFIG`, else none. */
  file?: string;
  /** Environment. Default: `process.env`. */
  env?: NodeJS.ProcessEnv;
}

type Raw = Record<string, unknown>;

function configError(field: string, message: string, cause?: unknown, suggestion?: string): PrivacyLogError {
  return new PrivacyLogError(ERROR_CODES.INVALID_CONFIG, `privacy-log configuration: ${field} ${message}`, {
    retryable: false,
    cause,
    details: { field, ...(suggestion ? { suggestion } : {}) },
  });
}

function readFile(file: string, setBy: string): Raw {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    throw configError(setBy, `names a file that cannot be read (${code ?? 'error'}): ${file}. Check the path.`, cause);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (cause) {
    throw configError(setBy, `names a file that is not valid JSON: ${file} (${(cause as Error).message}).`, cause);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw configError(setBy, `names a file whose content is not a JSON object: ${file}.`);
  return parsed as Raw;
}

function dotted(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out === '' ? String(p) : `.${String(p)}`;
  return out;
}

/** The zod object schema that describes the value at `path` of `raw`, for "did you mean". */
function objectKeysAt(schema: z.ZodType, path: ReadonlyArray<PropertyKey>, raw: unknown): string[] | undefined {
  // biome-ignore lint/suspicious/noExplicitAny: walking zod's public-but-untyped definition tree
  let s: any = schema;
  let value: unknown = raw;
  const unwrap = () => {
    for (let i = 0; i < 8 && s?.def && ['optional', 'default', 'pipe', 'nullable'].includes(s.def.type); i++) {
      s = s.def.type === 'pipe' ? s.def.in : s.def.innerType;
    }
    if (s?.def?.type === 'union' && Array.isArray(s.def.options)) {
      const type = (value as Raw | undefined)?.type;
      // biome-ignore lint/suspicious/noExplicitAny: see above
      s = s.def.options.find((o: any) => o.shape?.type?.def?.values?.includes(type)) ?? s.def.options[0];
    }
  };
  unwrap();
  for (const p of path) {
    if (s?.def?.type === 'object') s = s.shape[p as string];
    else if (s?.def?.type === 'array') s = s.def.element;
    else return undefined;
    value = (value as Raw | undefined)?.[p as string];
    unwrap();
  }
  return s?.def?.type === 'object' ? Object.keys(s.shape) : undefined;
}

function originOf(field: string, origin: Provenance, file: string | undefined): string {
  let probe = field;
  // A field set by the environment, or the nearest enclosing one (an entry created by PRIVACY_LOG_TRANSPORTS).
  for (let i = 0; i < 16 && probe !== ''; i++) {
    const from = origin.get(probe);
    if (from) return from;
    const cut = Math.max(probe.lastIndexOf('.'), probe.lastIndexOf('['));
    probe = cut > 0 ? probe.slice(0, cut) : '';
  }
  return file ? `file ${file}` : 'defaults';
}

function toConfigError(error: z.ZodError, raw: Raw, origin: Provenance, file: string | undefined): PrivacyLogError {
  // A misspelled key usually explains the "missing" one next to it: report it first.
  const issue = (error.issues.find((i) => i.code === 'unrecognized_keys') ?? error.issues[0]) as z.core.$ZodIssue;
  const base = dotted(issue.path);
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0] as string;
    const field = base ? `${base}.${key}` : key;
    const known = objectKeysAt(operatorConfigSchema, issue.path, raw) ?? [];
    const hint = didYouMean(key, known);
    return configError(
      `${field} (from ${originOf(base, origin, file)})`,
      `is not a known setting.${hint ? ` Did you mean "${hint}"?` : ''}${known.length ? ` Known settings here: ${known.join(', ')}.` : ''}`,
      error,
      hint,
    );
  }
  if (issue.code === 'invalid_union' && 'discriminator' in issue && issue.discriminator === 'type') {
    const given = (issue as { input?: unknown }).input;
    const value = typeof given === 'string' ? given : String(lookup(raw, issue.path));
    const options = ((issue as { options?: unknown[] }).options ?? []).map(String);
    const hint = didYouMean(value, options);
    return configError(
      `${base} (from ${originOf(base, origin, file)})`,
      `is "${value}", which is not a known type.${hint ? ` Did you mean "${hint}"?` : ''} Use one of: ${options.join(', ')}.`,
      error,
      hint,
    );
  }
  const missing = issue.code === 'invalid_type' && lookup(raw, issue.path) === undefined;
  return configError(
    `${base || '(root)'} (from ${originOf(base, origin, file)})`,
    missing ? `is required (${issue.message}).` : `${issue.message}.`,
    error,
  );
}

function lookup(raw: unknown, path: ReadonlyArray<PropertyKey>): unknown {
  let v = raw;
  for (const p of path) v = (v as Raw | undefined)?.[p as string];
  return v;
}

/**
 * Loads and validates the operator configuration. The file (if any) is read
 * first, then every PRIVACY_LOG_* variable overrides the field it names.
 *
 * @example
 * // PRIVACY_LOG_TRANSPORTS=console,file PRIVACY_LOG_FILE_DIR=/var/log/oblachko
 * const config = loadOperatorConfig();
 * const access = config.accessLog && createAccessLogger(config.accessLog);
 *
 * @example
 * const config = loadOperatorConfig({ file: '/etc/privacy-log.json', env: {} });
 */
export function loadOperatorConfig(source: OperatorConfigSource = {}): OperatorConfig {
  const env = source.env ?? process.env;
  const file = source.file ?? (env.PRIVACY_LOG_CONFIG || undefined);
  const setBy = source.file !== undefined ? 'file' : 'PRIVACY_LOG_CONFIG';
  const raw: Raw = file !== undefined ? readFile(file, setBy) : {};
  const origin: Provenance = new Map();
  applyEnv(raw, env, origin);
  const result = operatorConfigSchema.safeParse(raw);
  if (!result.success) throw toConfigError(result.error, raw, origin, file);
  const parsed: ParsedOperatorConfig = result.data;
  return {
    ...(parsed.accessLog
      ? { accessLog: { ...parsed.accessLog, transports: parsed.accessLog.transports as TransportConfig[] } }
      : {}),
    collector: parsed.collector,
    ...(file !== undefined ? { file } : {}),
  };
}
