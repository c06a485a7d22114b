/**
 * The PRIVACY_LOG_* environment variables and how each maps onto the
 * configuration file's shape. Environment values override the file's.
 */
import { didYouMean, ERROR_CODES, PrivacyLogError } from '../errors.js';

/** Variable → what it sets (documented in docs/operators.md). */
export const ENV_VARS = {
  PRIVACY_LOG_CONFIG: 'path of the JSON configuration file',
  PRIVACY_LOG_ACCESS_LOG_FORMAT: 'accessLog.format',
  PRIVACY_LOG_ACCESS_LOG_LEVEL: 'accessLog.level',
  PRIVACY_LOG_TRANSPORTS: 'accessLog.transports: comma-separated types (console,file,http)',
  PRIVACY_LOG_CONSOLE_LEVEL: 'console transport: level',
  PRIVACY_LOG_CONSOLE_STREAM: 'console transport: stream',
  PRIVACY_LOG_FILE_DIR: 'file transport: dir',
  PRIVACY_LOG_FILE_NAME: 'file transport: filename',
  PRIVACY_LOG_FILE_DATE_PATTERN: 'file transport: datePattern',
  PRIVACY_LOG_FILE_MAX_FILES: 'file transport: maxFiles',
  PRIVACY_LOG_FILE_MAX_SIZE: 'file transport: maxSize',
  PRIVACY_LOG_FILE_ZIPPED_ARCHIVE: 'file transport: zippedArchive',
  PRIVACY_LOG_FILE_LEVEL: 'file transport: level',
  PRIVACY_LOG_HTTP_URL: 'http transport: url',
  PRIVACY_LOG_HTTP_TOKEN: 'http transport: token',
  PRIVACY_LOG_HTTP_LEVEL: 'http transport: level',
  PRIVACY_LOG_COLLECTOR_HOST: 'collector.host',
  PRIVACY_LOG_COLLECTOR_PORT: 'collector.port',
  PRIVACY_LOG_COLLECTOR_PATH: 'collector.path',
  PRIVACY_LOG_COLLECTOR_TOKEN: 'collector.token',
  PRIVACY_LOG_COLLECTOR_MAX_BODY_BYTES: 'collector.maxBodyBytes',
  PRIVACY_LOG_COLLECTOR_AGGREGATORS:
    'collector.aggregators: comma-separated types (postgres,sqlite,access-log,http,otlp)',
  PRIVACY_LOG_POSTGRES_URL: 'postgres aggregator: connectionString',
  PRIVACY_LOG_POSTGRES_SCHEMA: 'postgres aggregator: schema',
  PRIVACY_LOG_SQLITE_FILE: 'sqlite aggregator: file',
  PRIVACY_LOG_FORWARD_URL: 'http aggregator (forward to another collector): url',
  PRIVACY_LOG_FORWARD_TOKEN: 'http aggregator: token',
  PRIVACY_LOG_OTLP_URL: 'otlp aggregator: url',
  PRIVACY_LOG_OTLP_HEADERS: 'otlp aggregator: headers as name=value,name=value',
} as const;
export type EnvVar = keyof typeof ENV_VARS;
const ENV_NAMES = Object.keys(ENV_VARS) as EnvVar[];

/**
 * Variables with this prefix that belong to other parts of privacy-log or its
 * test tooling; never reported as misspellings.
 */
const FOREIGN_PREFIXES = ['PRIVACY_LOG_REQUIRE_'];

type Raw = Record<string, unknown>;

/** Where each configured value came from, by dotted path: 'PRIVACY_LOG_FILE_DIR' or 'file config.json'. */
export type Provenance = Map<string, string>;

function invalidEnv(name: string, message: string): PrivacyLogError {
  return new PrivacyLogError(ERROR_CODES.INVALID_CONFIG, `${name}: ${message}`, {
    retryable: false,
    details: { field: name },
  });
}

/** Throws INVALID_CONFIG for a PRIVACY_LOG_* variable that looks like a misspelling of a known one. */
export function assertKnownEnv(env: NodeJS.ProcessEnv): void {
  for (const name of Object.keys(env)) {
    if (!name.startsWith('PRIVACY_LOG_') || name in ENV_VARS) continue;
    if (FOREIGN_PREFIXES.some((p) => name.startsWith(p))) continue;
    const hint = didYouMean(name, ENV_NAMES);
    if (hint) {
      throw new PrivacyLogError(
        ERROR_CODES.INVALID_CONFIG,
        `${name}: unknown environment variable. Did you mean ${hint}? Rename it, or unset it.`,
        { retryable: false, details: { field: name, suggestion: hint } },
      );
    }
  }
}

function list(name: string, value: string): string[] {
  const items = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (items.length === 0) throw invalidEnv(name, 'must list at least one type, comma-separated');
  return items;
}

/** Numbers stay strings when they are not numbers, so the schema names the field in its error. */
function numberish(value: string): number | string {
  return /^\d+$/.test(value) ? Number(value) : value;
}

function booleanish(value: string): boolean | string {
  const v = value.trim().toLowerCase();
  if (v === 'true' || v === '1' || v === 'yes') return true;
  if (v === 'false' || v === '0' || v === 'no') return false;
  return value;
}

function headerList(name: string, value: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of value.split(',')) {
    if (pair.trim() === '') continue;
    const eq = pair.indexOf('=');
    if (eq <= 0) throw invalidEnv(name, 'must be name=value pairs separated by commas');
    out[pair.slice(0, eq).trim()] = pair.slice(eq + 1).trim();
  }
  return out;
}

function section(raw: Raw, key: string): Raw {
  const v = raw[key];
  if (typeof v === 'object' && v !== null && !Array.isArray(v)) return v as Raw;
  const fresh: Raw = {};
  raw[key] = fresh;
  return fresh;
}

/** Keeps the file's entries of the listed types (in the env's order), adding empty ones for the rest. */
function entriesOfTypes(existing: unknown, types: string[]): Raw[] {
  const pool = Array.isArray(existing) ? (existing.filter((x) => typeof x === 'object' && x !== null) as Raw[]) : [];
  return types.map((type) => {
    const i = pool.findIndex((x) => x.type === type);
    return i >= 0 ? (pool.splice(i, 1)[0] as Raw) : { type };
  });
}

interface EnvField {
  env: EnvVar;
  key: string;
  convert?: (name: string, value: string) => unknown;
}

const TRANSPORT_FIELDS: Record<string, EnvField[]> = {
  console: [
    { env: 'PRIVACY_LOG_CONSOLE_LEVEL', key: 'level' },
    { env: 'PRIVACY_LOG_CONSOLE_STREAM', key: 'stream' },
  ],
  file: [
    { env: 'PRIVACY_LOG_FILE_DIR', key: 'dir' },
    { env: 'PRIVACY_LOG_FILE_NAME', key: 'filename' },
    { env: 'PRIVACY_LOG_FILE_DATE_PATTERN', key: 'datePattern' },
    { env: 'PRIVACY_LOG_FILE_MAX_FILES', key: 'maxFiles', convert: (_, v) => numberish(v) },
    { env: 'PRIVACY_LOG_FILE_MAX_SIZE', key: 'maxSize', convert: (_, v) => numberish(v) },
    { env: 'PRIVACY_LOG_FILE_ZIPPED_ARCHIVE', key: 'zippedArchive', convert: (_, v) => booleanish(v) },
    { env: 'PRIVACY_LOG_FILE_LEVEL', key: 'level' },
  ],
  http: [
    { env: 'PRIVACY_LOG_HTTP_URL', key: 'url' },
    { env: 'PRIVACY_LOG_HTTP_TOKEN', key: 'token' },
    { env: 'PRIVACY_LOG_HTTP_LEVEL', key: 'level' },
  ],
};

const AGGREGATOR_FIELDS: Record<string, EnvField[]> = {
  postgres: [
    { env: 'PRIVACY_LOG_POSTGRES_URL', key: 'connectionString' },
    { env: 'PRIVACY_LOG_POSTGRES_SCHEMA', key: 'schema' },
  ],
  sqlite: [{ env: 'PRIVACY_LOG_SQLITE_FILE', key: 'file' }],
  http: [
    { env: 'PRIVACY_LOG_FORWARD_URL', key: 'url' },
    { env: 'PRIVACY_LOG_FORWARD_TOKEN', key: 'token' },
  ],
  otlp: [
    { env: 'PRIVACY_LOG_OTLP_URL', key: 'url' },
    { env: 'PRIVACY_LOG_OTLP_HEADERS', key: 'headers', convert: headerList },
  ],
};

function applyFields(
  env: NodeJS.ProcessEnv,
  entries: Raw[],
  fields: Record<string, EnvField[]>,
  base: string,
  origin: Provenance,
): void {
  entries.forEach((entry, i) => {
    // Own keys only: a type such as "toString" must not find Object.prototype's members.
    const type = String(entry.type);
    for (const f of Object.hasOwn(fields, type) ? (fields[type] ?? []) : []) {
      const value = env[f.env];
      if (value === undefined) continue;
      entry[f.key] = f.convert ? f.convert(f.env, value) : value;
      origin.set(`${base}[${i}].${f.key}`, f.env);
    }
  });
}

function setScalar(
  env: NodeJS.ProcessEnv,
  name: EnvVar,
  target: Raw,
  key: string,
  dotted: string,
  origin: Provenance,
  convert?: (v: string) => unknown,
): void {
  const value = env[name];
  if (value === undefined) return;
  target[key] = convert ? convert(value) : value;
  origin.set(dotted, name);
}

/**
 * Overlays the environment onto a raw configuration object (mutating it), and
 * records which variable set which field.
 */
export function applyEnv(raw: Raw, env: NodeJS.ProcessEnv, origin: Provenance): void {
  assertKnownEnv(env);
  const accessVars: EnvVar[] = [
    'PRIVACY_LOG_ACCESS_LOG_FORMAT',
    'PRIVACY_LOG_ACCESS_LOG_LEVEL',
    'PRIVACY_LOG_TRANSPORTS',
  ];
  if (accessVars.some((v) => env[v] !== undefined)) {
    const access = section(raw, 'accessLog');
    setScalar(env, 'PRIVACY_LOG_ACCESS_LOG_FORMAT', access, 'format', 'accessLog.format', origin);
    setScalar(env, 'PRIVACY_LOG_ACCESS_LOG_LEVEL', access, 'level', 'accessLog.level', origin);
    const types = env.PRIVACY_LOG_TRANSPORTS;
    if (types !== undefined) {
      const names = list('PRIVACY_LOG_TRANSPORTS', types);
      access.transports = entriesOfTypes(access.transports, names);
      names.forEach((_, i) => {
        origin.set(`accessLog.transports[${i}]`, 'PRIVACY_LOG_TRANSPORTS');
        origin.set(`accessLog.transports[${i}].type`, 'PRIVACY_LOG_TRANSPORTS');
      });
    }
  }
  const accessLog = raw.accessLog as Raw | undefined;
  if (accessLog && Array.isArray(accessLog.transports)) {
    applyFields(env, accessLog.transports as Raw[], TRANSPORT_FIELDS, 'accessLog.transports', origin);
  }

  const collectorVars = ENV_NAMES.filter((n) => n.startsWith('PRIVACY_LOG_COLLECTOR_'));
  if (collectorVars.some((v) => env[v] !== undefined)) {
    const c = section(raw, 'collector');
    setScalar(env, 'PRIVACY_LOG_COLLECTOR_HOST', c, 'host', 'collector.host', origin);
    setScalar(env, 'PRIVACY_LOG_COLLECTOR_PORT', c, 'port', 'collector.port', origin, numberish);
    setScalar(env, 'PRIVACY_LOG_COLLECTOR_PATH', c, 'path', 'collector.path', origin);
    setScalar(env, 'PRIVACY_LOG_COLLECTOR_TOKEN', c, 'token', 'collector.token', origin);
    setScalar(
      env,
      'PRIVACY_LOG_COLLECTOR_MAX_BODY_BYTES',
      c,
      'maxBodyBytes',
      'collector.maxBodyBytes',
      origin,
      numberish,
    );
    const types = env.PRIVACY_LOG_COLLECTOR_AGGREGATORS;
    if (types !== undefined) {
      const names = list('PRIVACY_LOG_COLLECTOR_AGGREGATORS', types);
      c.aggregators = entriesOfTypes(c.aggregators, names);
      names.forEach((_, i) => {
        origin.set(`collector.aggregators[${i}]`, 'PRIVACY_LOG_COLLECTOR_AGGREGATORS');
        origin.set(`collector.aggregators[${i}].type`, 'PRIVACY_LOG_COLLECTOR_AGGREGATORS');
      });
    }
  }
  const collector = raw.collector as Raw | undefined;
  if (collector && Array.isArray(collector.aggregators)) {
    applyFields(env, collector.aggregators as Raw[], AGGREGATOR_FIELDS, 'collector.aggregators', origin);
  }
}
