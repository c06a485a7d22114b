import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { createAccessLogger } from '../../../src/access-log/access-logger.js';
import { ENV_VARS } from '../../../src/config/env.js';
import { loadOperatorConfig } from '../../../src/config/load-operator-config.js';
import { DEFAULT_COLLECTOR_PATH, DEFAULT_COLLECTOR_PORT } from '../../../src/config/schema.js';
import { ERROR_CODES, PrivacyLogError } from '../../../src/errors.js';

const dirs: string[] = [];
function tempDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'privacy-log-config-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function writeConfig(value: unknown): string {
  const file = path.join(tempDir(), 'privacy-log.json');
  fs.writeFileSync(file, typeof value === 'string' ? value : JSON.stringify(value));
  return file;
}

/** Runs the loader and returns its INVALID_CONFIG error (failing the test if there is none). */
function configError(source: Parameters<typeof loadOperatorConfig>[0]): PrivacyLogError {
  try {
    loadOperatorConfig(source);
  } catch (e) {
    expect((e as PrivacyLogError).code).toBe(ERROR_CODES.INVALID_CONFIG);
    expect((e as PrivacyLogError).retryable).toBe(false);
    return e as PrivacyLogError;
  }
  throw new Error('expected loadOperatorConfig to throw');
}

describe('loadOperatorConfig: valid sources', () => {
  it('with nothing configured: no access log, collector defaults', () => {
    const config = loadOperatorConfig({ env: {} });
    expect(config.accessLog).toBeUndefined();
    expect(config.collector).toMatchObject({
      host: '127.0.0.1',
      port: DEFAULT_COLLECTOR_PORT,
      path: DEFAULT_COLLECTOR_PATH,
      aggregators: [],
    });
    expect(config.collector.token).toBeUndefined();
  });

  it('reads every transport from the environment', () => {
    const dir = tempDir();
    const config = loadOperatorConfig({
      env: {
        PRIVACY_LOG_ACCESS_LOG_FORMAT: 'json',
        PRIVACY_LOG_TRANSPORTS: 'console, file,http',
        PRIVACY_LOG_CONSOLE_STREAM: 'stderr',
        PRIVACY_LOG_FILE_DIR: path.join(dir, 'logs', 'access'),
        PRIVACY_LOG_FILE_MAX_FILES: '14d',
        PRIVACY_LOG_FILE_MAX_SIZE: '1048576',
        PRIVACY_LOG_FILE_ZIPPED_ARCHIVE: 'true',
        PRIVACY_LOG_HTTP_URL: 'http://127.0.0.1:9/ingest',
        PRIVACY_LOG_HTTP_TOKEN: 'secret',
        PRIVACY_LOG_HTTP_LEVEL: 'warn',
        PRIVACY_LOG_REQUIRE_POSTGRES: '1',
      },
    });
    expect(config.accessLog).toEqual({
      format: 'json',
      level: 'info',
      transports: [
        { type: 'console', stream: 'stderr' },
        { type: 'file', dir: path.join(dir, 'logs', 'access'), maxFiles: '14d', maxSize: 1048576, zippedArchive: true },
        { type: 'http', url: 'http://127.0.0.1:9/ingest', token: 'secret', level: 'warn' },
      ],
    });
  });

  it('reads a JSON file, and the environment overrides it field by field', () => {
    const dir = tempDir();
    const file = writeConfig({
      accessLog: { format: 'common', transports: [{ type: 'file', dir, maxFiles: 7 }] },
      collector: {
        port: 9000,
        token: 'a-long-enough-token-0123',
        aggregators: [{ type: 'postgres', connectionString: 'postgres://localhost/test' }],
      },
    });
    const config = loadOperatorConfig({
      file,
      env: {
        PRIVACY_LOG_ACCESS_LOG_LEVEL: 'http',
        PRIVACY_LOG_COLLECTOR_PORT: '9100',
        PRIVACY_LOG_FILE_MAX_FILES: '3',
      },
    });
    expect(config.file).toBe(file);
    expect(config.accessLog).toEqual({
      format: 'common',
      level: 'http',
      transports: [{ type: 'file', dir, maxFiles: 3 }],
    });
    expect(config.collector.port).toBe(9100);
    expect(config.collector.aggregators).toEqual([{ type: 'postgres', connectionString: 'postgres://localhost/test' }]);
  });

  it('finds the file through PRIVACY_LOG_CONFIG and configures collector aggregators from the environment', () => {
    const file = writeConfig({ collector: { token: 'a-long-enough-token-0123' } });
    const sqlite = path.join(tempDir(), 'collector.db');
    const config = loadOperatorConfig({
      env: {
        PRIVACY_LOG_CONFIG: file,
        PRIVACY_LOG_COLLECTOR_AGGREGATORS: 'sqlite,otlp',
        PRIVACY_LOG_SQLITE_FILE: sqlite,
        PRIVACY_LOG_OTLP_URL: 'http://127.0.0.1:4318/v1/logs',
        PRIVACY_LOG_OTLP_HEADERS: 'x-tenant=oblachko, x-env = prod',
      },
    });
    expect(config.collector.aggregators).toEqual([
      { type: 'sqlite', file: sqlite },
      { type: 'otlp', url: 'http://127.0.0.1:4318/v1/logs', headers: { 'x-tenant': 'oblachko', 'x-env': 'prod' } },
    ]);
  });

  it('yields options createAccessLogger accepts as they are', async () => {
    const dir = tempDir();
    const config = loadOperatorConfig({ env: { PRIVACY_LOG_TRANSPORTS: 'file', PRIVACY_LOG_FILE_DIR: dir } });
    const logger = createAccessLogger(config.accessLog);
    await logger.close();
    expect(logger.format).toBe('combined');
  });
});

describe('loadOperatorConfig: coded errors that name the field', () => {
  it('an unknown transport type, with a suggestion', () => {
    const e = configError({ env: { PRIVACY_LOG_TRANSPORTS: 'console,fil' } });
    expect(e.message).toContain('accessLog.transports[1].type');
    expect(e.message).toContain('PRIVACY_LOG_TRANSPORTS');
    expect(e.message).toContain('Did you mean "file"?');
    expect(configError({ env: { PRIVACY_LOG_TRANSPORTS: 'syslog' } }).message).toMatch(/"syslog".*console, file, http/);
  });

  it('a bad level', () => {
    const e = configError({ env: { PRIVACY_LOG_TRANSPORTS: 'console', PRIVACY_LOG_CONSOLE_LEVEL: 'loud' } });
    expect(e.message).toContain('accessLog.transports[0].level (from PRIVACY_LOG_CONSOLE_LEVEL)');
    expect(configError({ env: { PRIVACY_LOG_ACCESS_LOG_LEVEL: 'critical' } }).message).toContain('accessLog.level');
  });

  it('a bad path: a file where a directory is needed, an unwritable place, an empty path', () => {
    const dir = tempDir();
    const plainFile = path.join(dir, 'not-a-dir');
    fs.writeFileSync(plainFile, '');
    const e = configError({
      env: { PRIVACY_LOG_TRANSPORTS: 'file', PRIVACY_LOG_FILE_DIR: path.join(plainFile, 'logs') },
    });
    expect(e.message).toContain('accessLog.transports[0].dir (from PRIVACY_LOG_FILE_DIR)');
    expect(e.message).toContain('is not a directory');
    expect(configError({ env: { PRIVACY_LOG_TRANSPORTS: 'file', PRIVACY_LOG_FILE_DIR: '' } }).message).toContain(
      'accessLog.transports[0].dir',
    );
    expect(configError({ env: { PRIVACY_LOG_TRANSPORTS: 'file' } }).message).toContain('accessLog.transports[0].dir');
    const fromFile = configError({
      file: writeConfig({ accessLog: { transports: [{ type: 'file', dir: plainFile }] } }),
    });
    expect(fromFile.message).toMatch(/accessLog\.transports\[0\]\.dir \(from file .*privacy-log\.json\)/);
    const sqlite = configError({
      env: { PRIVACY_LOG_COLLECTOR_AGGREGATORS: 'sqlite', PRIVACY_LOG_SQLITE_FILE: path.join(plainFile, 'x.db') },
    });
    expect(sqlite.message).toContain('collector.aggregators[0].file (from PRIVACY_LOG_SQLITE_FILE)');
  });

  it('a misspelled key in the file, with "did you mean"', () => {
    const e = configError({ file: writeConfig({ accessLog: { formt: 'json' } }) });
    expect(e.message).toContain('accessLog.formt');
    expect(e.message).toContain('Did you mean "format"?');
    expect(e.details).toMatchObject({ suggestion: 'format' });
    const inTransport = configError({
      file: writeConfig({ accessLog: { transports: [{ type: 'file', dirr: '/tmp' }] } }),
    });
    expect(inTransport.message).toContain('Did you mean "dir"?');
    expect(configError({ file: writeConfig({ colector: {} }) }).message).toContain('Did you mean "collector"?');
  });

  it('a misspelled environment variable, with "did you mean"', () => {
    const e = configError({ env: { PRIVACY_LOG_TRANSPORT: 'console' } });
    expect(e.message).toContain('PRIVACY_LOG_TRANSPORT');
    expect(e.message).toContain('Did you mean PRIVACY_LOG_TRANSPORTS?');
  });

  it('a bad number, URL, or short token', () => {
    expect(configError({ env: { PRIVACY_LOG_COLLECTOR_PORT: 'eighty' } }).message).toContain(
      'collector.port (from PRIVACY_LOG_COLLECTOR_PORT)',
    );
    expect(configError({ env: { PRIVACY_LOG_COLLECTOR_PORT: '70000' } }).message).toContain('collector.port');
    expect(
      configError({ env: { PRIVACY_LOG_TRANSPORTS: 'http', PRIVACY_LOG_HTTP_URL: 'ftp://example.org' } }).message,
    ).toContain('http:// or https://');
    expect(configError({ env: { PRIVACY_LOG_COLLECTOR_TOKEN: 'short' } }).message).toContain('collector.token');
    expect(
      configError({ env: { PRIVACY_LOG_COLLECTOR_AGGREGATORS: 'otlp', PRIVACY_LOG_OTLP_HEADERS: 'nope' } }).message,
    ).toContain('PRIVACY_LOG_OTLP_HEADERS');
  });

  it('an unreadable or malformed file', () => {
    const missing = configError({ file: path.join(tempDir(), 'missing.json') });
    expect(missing.message).toContain('ENOENT');
    expect(missing.cause).toBeInstanceOf(Error);
    expect(configError({ file: writeConfig('{ not json') }).message).toContain('not valid JSON');
    expect(configError({ file: writeConfig('[1,2]') }).message).toContain('not a JSON object');
    expect(configError({ env: { PRIVACY_LOG_CONFIG: path.join(tempDir(), 'nope.json') } }).message).toContain(
      'PRIVACY_LOG_CONFIG',
    );
  });
});

describe('loadOperatorConfig: property', () => {
  const names = Object.keys(ENV_VARS).filter((n) => n !== 'PRIVACY_LOG_CONFIG');
  const value = fc.oneof(
    fc.string({ maxLength: 30 }),
    fc.constantFrom('console,file', 'http', 'postgres,sqlite', 'info', 'json', '8080', 'true', 'x=y', '', ' , '),
  );

  it('any PRIVACY_LOG_* environment yields a config or an INVALID_CONFIG error, nothing else', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom(...names), value, { maxKeys: 6 }), (env) => {
        try {
          const config = loadOperatorConfig({ env });
          expect(config.collector.port).toBeGreaterThanOrEqual(0);
        } catch (e) {
          expect(e).toBeInstanceOf(PrivacyLogError);
          expect((e as PrivacyLogError).code).toBe(ERROR_CODES.INVALID_CONFIG);
          expect((e as PrivacyLogError).message).toMatch(/^(privacy-log configuration: |PRIVACY_LOG_)/);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('any JSON file yields a config or an INVALID_CONFIG error, nothing else', () => {
    const dir = tempDir();
    const file = path.join(dir, 'c.json');
    const shaped = fc.record(
      {
        accessLog: fc.record(
          { format: value, level: value, transports: fc.array(fc.record({ type: value, dir: value })) },
          { requiredKeys: [] },
        ),
        collector: fc.record(
          { port: fc.oneof(fc.integer(), value), token: value, aggregators: fc.array(fc.record({ type: value })) },
          { requiredKeys: [] },
        ),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(
        fc.oneof(
          fc.json(),
          shaped.map((o) => JSON.stringify(o)),
        ),
        (text) => {
          fs.writeFileSync(file, text);
          try {
            loadOperatorConfig({ file, env: {} });
          } catch (e) {
            expect((e as PrivacyLogError).code).toBe(ERROR_CODES.INVALID_CONFIG);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('loadOperatorConfig: names of Object.prototype members', () => {
  it.each(['toString', 'constructor', '__proto__', 'hasOwnProperty'])(
    'a transport of type %j is an INVALID_CONFIG error, not a crash',
    (type) => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'privacy-log-proto-'));
      try {
        const file = path.join(dir, 'config.json');
        fs.writeFileSync(file, JSON.stringify({ accessLog: { transports: [{ type, dir: 'logs' }] } }));
        expect(() => loadOperatorConfig({ file, env: {} })).toThrowError(
          expect.objectContaining({ code: ERROR_CODES.INVALID_CONFIG }),
        );
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});
