/**
 * Opening a SQLite store: its options checked (coded errors naming the
 * option), the file created or opened in WAL mode, migrated, and proved
 * writable before the first batch — every failure a STORE_UNAVAILABLE error
 * that says what to do.
 */
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { assertKnownKeys, ERROR_CODES, invalidOption, PrivacyLogError } from '../../errors.js';
import { checkRetention, type RetentionOptions } from '../../stats/store-support.js';
import { migrate, SQLITE_MIGRATIONS } from './migrations.js';

export interface SqliteAggregatorOptions extends RetentionOptions {
  /** Database file. Default './data/privacy-log.db' (the directory is created). ':memory:' for a private in-memory database. */
  file?: string;
  /** Name in pipeline metrics. Default 'sqlite'. */
  name?: string;
  /** How long to wait for a lock held by another connection. Default 5000 ms. */
  busyTimeoutMs?: number;
  /** 'normal' (default; WAL survives a process crash) or 'full' (also survives power loss, slower). */
  synchronous?: 'normal' | 'full';
}

export const DEFAULT_SQLITE_FILE = './data/privacy-log.db';
export const DEFAULT_SQLITE_NAME = 'sqlite';
export const DEFAULT_BUSY_TIMEOUT_MS = 5000;

const OPTION_KEYS = [
  'file',
  'name',
  'busyTimeoutMs',
  'synchronous',
  'retentionDays',
  'rollupRetentionMonths',
  'retentionIntervalMs',
] as const;

const WHERE = 'sqliteAggregator()';

/**
 * The error for a store that cannot be opened, with what to do. `upgradingFrom`:
 * the schema version a failed migration started from (it was rolled back).
 */
function unavailable(file: string, cause: unknown, upgradingFrom?: number): PrivacyLogError {
  const code = (cause as { code?: string })?.code ?? '';
  const msg = cause instanceof Error ? cause.message : String(cause);
  let todo = 'check the path, its permissions and free disk space';
  // Only SQLite's own words for a damaged file: "malformed JSON" from a migration is not one.
  if (/NOTADB|CORRUPT/.test(code) || /not a database|disk image is malformed/i.test(msg))
    todo =
      'the file is not a valid SQLite database: move it aside (keep it for inspection) and restart to create a new one';
  else if (/BUSY|LOCKED/.test(code)) todo = 'another process holds a lock on it: stop that process or use another file';
  else if (/READONLY|CANTOPEN|EACCES|EROFS|EPERM/.test(code) || /read-?only|permission/i.test(msg))
    todo = 'the file or its directory is not writable: fix the permissions or choose a writable "file" option';
  else if (upgradingFrom !== undefined)
    todo = `upgrading it from schema version ${upgradingFrom} to ${SQLITE_MIGRATIONS.length} failed and was rolled back, so the file is unchanged: keep it (it holds the data) and report this error with the privacy-log version`;
  return new PrivacyLogError(ERROR_CODES.STORE_UNAVAILABLE, `${WHERE}: cannot open "${file}": ${msg} — ${todo}.`, {
    cause,
    retryable: false,
    details: { file, sqliteCode: code },
  });
}

/** An open, migrated, writable store and its resolved options. */
export interface OpenedSqliteStore {
  db: Database.Database;
  file: string;
  name: string;
  busyTimeoutMs: number;
  retention: ReturnType<typeof checkRetention>;
  inMemory: boolean;
}

/**
 * @example
 * const { db, file } = openSqliteStore({ file: './data/privacy-log.db' });
 */
export function openSqliteStore(options: SqliteAggregatorOptions): OpenedSqliteStore {
  if (typeof options !== 'object' || options === null) throw invalidOption(WHERE, 'options', 'an object');
  assertKnownKeys(options, OPTION_KEYS, WHERE);
  const fileOpt = options.file ?? DEFAULT_SQLITE_FILE;
  if (typeof fileOpt !== 'string' || fileOpt.length === 0) throw invalidOption(WHERE, 'file', 'a non-empty path');
  const name = options.name ?? DEFAULT_SQLITE_NAME;
  if (typeof name !== 'string' || name.length === 0) throw invalidOption(WHERE, 'name', 'a non-empty string');
  const busyTimeoutMs = options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS;
  if (!Number.isInteger(busyTimeoutMs) || busyTimeoutMs < 0 || busyTimeoutMs > 600_000)
    throw invalidOption(WHERE, 'busyTimeoutMs', 'an integer from 0 to 600000');
  const synchronous = options.synchronous ?? 'normal';
  if (synchronous !== 'normal' && synchronous !== 'full')
    throw invalidOption(WHERE, 'synchronous', '"normal" or "full"');
  const retention = checkRetention(WHERE, options);
  const inMemory = fileOpt === ':memory:';
  const file = inMemory ? fileOpt : resolve(fileOpt);

  let db: Database.Database;
  try {
    if (!inMemory) mkdirSync(dirname(file), { recursive: true });
    db = new Database(file, { timeout: busyTimeoutMs });
  } catch (err) {
    throw unavailable(file, err);
  }
  let upgradingFrom: number | undefined;
  try {
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
    db.pragma('foreign_keys = OFF');
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > 0 && version < SQLITE_MIGRATIONS.length) upgradingFrom = version;
    migrate(db);
    upgradingFrom = undefined;
    // Prove we can write now rather than at the first batch (locked or read-only files fail here).
    db.prepare('BEGIN IMMEDIATE').run();
    db.prepare('COMMIT').run();
  } catch (err) {
    db.close();
    throw unavailable(file, err, upgradingFrom);
  }
  return { db, file, name, busyTimeoutMs, retention, inMemory };
}
