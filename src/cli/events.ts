/**
 * `privacy-log events`: the raw events a SQLite store holds, as JSON lines (or
 * one JSON array), optionally only a time range or one consenting session's —
 * what an operator inspects, and what a visitor asking "what do you hold about
 * me" is shown. Raw events live in encoded blocks (block-store.ts), so the
 * sqlite3 shell cannot show them.
 *
 * The store is opened read-only, in one read transaction (a consistent
 * snapshot while a collector keeps writing): the command never writes, never
 * migrates. Output is written a window of time at a time, each window holding
 * about `chunkEvents` events, so memory stays bounded whatever the store holds.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { storedEvents } from '../aggregators/sqlite/block-store.js';
import { EVENT_BLOCKS_SCHEMA_VERSION, SQLITE_MIGRATIONS } from '../aggregators/sqlite/migrations.js';
import { ERROR_CODES, PrivacyLogError } from '../errors.js';
import { isDay, startOfDay } from '../stats/time-range.js';
import { configuredStore } from './configured-store.js';

export const EVENTS_USAGE = `Usage: privacy-log events [store] [--from WHEN] [--to WHEN] [--session ID] [--format jsonl|json]

Prints the raw events a SQLite store holds (read-only: the store is never written).

Store (default: the first sqlite store in collector.aggregators, e.g. from
PRIVACY_LOG_COLLECTOR_AGGREGATORS=sqlite and PRIVACY_LOG_SQLITE_FILE):
  --sqlite FILE | --config FILE

  --from WHEN         only events at or after WHEN
  --to WHEN           only events before WHEN (exclusive)
                      WHEN: a day YYYY-MM-DD (00:00 UTC) or an ISO 8601 time
                      with a zone, e.g. 2026-11-24T15:00:00Z or 2026-11-24T18:00+03:00
  --session ID        only the events of this consenting session
  --format jsonl|json one event per line (default), or one JSON array

Events come out oldest window first, in the order stored within a window.
`;

/**
 * Events a window holds, about (a window is cut between blocks of ≤ 250 events).
 * 200 000 events to /dev/null, same session: 1 000–2 500 → 0.8–0.9 s, 147–157 MiB
 * peak RSS; 10 000 → 1.1–1.3 s, 242–271 MiB; one window → 1.5 s, 700 MiB.
 */
export const DEFAULT_CHUNK_EVENTS = 2000;

/** A time with its zone; captures the hour, the minute and the second (if any). */
const TIME = /^\d{4}-\d{2}-\d{2}T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2})$/;
const WHEN_FORMAT =
  'a day YYYY-MM-DD (00:00 UTC) or an ISO 8601 time with a zone, like 2026-11-24T15:00:00Z or 2026-11-24T18:00+03:00';

function usageError(message: string): PrivacyLogError {
  return new PrivacyLogError(ERROR_CODES.INVALID_OPTION, `privacy-log events: ${message}\n\n${EVENTS_USAGE}`, {
    retryable: false,
  });
}

/**
 * Epoch ms of a `--from`/`--to` value: a day is its 00:00 UTC; a time must
 * name its zone. Throws a usage error naming the format otherwise.
 *
 * @example
 * parseWhen('--from', '2026-11-24'); // Date.UTC(2026, 10, 24)
 * parseWhen('--to', '2026-11-24T18:00+03:00'); // Date.UTC(2026, 10, 24, 15)
 */
export function parseWhen(option: string, text: string): number {
  let ms = Number.NaN;
  // isDay, startOfDay and Date.parse read years 0000–0099 as written (Date.UTC would make them 1900–1999).
  const day = text.slice(0, 10);
  if (isDay(day)) {
    if (text.length === day.length) ms = startOfDay(day, 'UTC');
    else {
      const time = TIME.exec(text);
      if (time && Number(time[1]) < 24 && Number(time[2]) < 60 && Number(time[3] ?? 0) < 60) ms = Date.parse(text);
    }
  }
  if (!Number.isFinite(ms)) throw usageError(`${option} "${text}" is not ${WHEN_FORMAT}`);
  return Math.floor(ms);
}

/** What the events command was asked for. */
export interface EventsArgs {
  sqlite?: string;
  config?: string;
  /** Epoch ms, inclusive; -Infinity when not given. */
  from: number;
  /** Epoch ms, exclusive; Infinity when not given. */
  to: number;
  session?: string;
  format: 'jsonl' | 'json';
}

/**
 * Parses the events flags; bad usage throws a PrivacyLogError (exit code 2)
 * whose message ends with the usage text.
 *
 * @example
 * parseEventsArgs(['--sqlite', 'x.db', '--from', '2026-11-01', '--session', 's1']);
 */
export function parseEventsArgs(args: string[]): EventsArgs {
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        sqlite: { type: 'string' },
        config: { type: 'string', short: 'c' },
        from: { type: 'string' },
        to: { type: 'string' },
        session: { type: 'string' },
        format: { type: 'string' },
      },
    }).values;
  } catch (e) {
    throw usageError((e as Error).message);
  }
  const s = (k: string) => values[k] as string | undefined;
  const format = s('format') ?? 'jsonl';
  if (format !== 'jsonl' && format !== 'json') throw usageError(`--format must be jsonl or json, not "${format}"`);
  const out: EventsArgs = {
    from: s('from') === undefined ? Number.NEGATIVE_INFINITY : parseWhen('--from', s('from') as string),
    to: s('to') === undefined ? Number.POSITIVE_INFINITY : parseWhen('--to', s('to') as string),
    format,
  };
  if (out.from >= out.to) throw usageError(`--from (${s('from')}) must be before --to (${s('to')})`);
  if (s('sqlite') !== undefined) {
    if (s('sqlite') === '') throw usageError('--sqlite needs a file path');
    if (s('config') !== undefined) throw usageError('--sqlite and --config exclude each other');
    out.sqlite = s('sqlite');
  }
  if (s('config') !== undefined) out.config = s('config');
  if (s('session') !== undefined) {
    if (s('session') === '') throw usageError('--session needs a session id');
    out.session = s('session');
  }
  return out;
}

/** The store file: --sqlite, else the first sqlite store of the operator configuration (as `stats` finds it). */
function storeFile(args: EventsArgs, env: NodeJS.ProcessEnv): string {
  if (args.sqlite !== undefined) return args.sqlite;
  const first = configuredStore(args.config, env, ['sqlite'] as const);
  if (first?.file) return first.file;
  throw new PrivacyLogError(
    ERROR_CODES.INVALID_CONFIG,
    `privacy-log events: name the store with --sqlite FILE, or configure a sqlite store in collector.aggregators (e.g. PRIVACY_LOG_COLLECTOR_AGGREGATORS=sqlite PRIVACY_LOG_SQLITE_FILE=FILE). Only SQLite stores are read for now.\n\n${EVENTS_USAGE}`,
    { retryable: false },
  );
}

function unreadable(file: string, why: string, cause?: unknown): PrivacyLogError {
  return new PrivacyLogError(ERROR_CODES.STORE_UNAVAILABLE, `privacy-log events: cannot read "${file}": ${why}`, {
    retryable: false,
    ...(cause === undefined ? {} : { cause }),
    details: { file },
  });
}

/**
 * Opens a store read-only, checking it is a privacy-log store of the current
 * schema. Never creates, migrates or writes the file; every failure is a
 * STORE_UNAVAILABLE error (exit code 1) that says what to do.
 *
 * @example
 * const db = openStoreReadOnly('./data/privacy-log.db');
 * try { console.log(storedEvents(db).length); } finally { db.close(); }
 */
export function openStoreReadOnly(file: string): Database.Database {
  const full = path.resolve(file);
  if (!fs.existsSync(full)) throw unreadable(full, 'no such file (check the path: this command never creates a store)');
  let db: Database.Database;
  try {
    db = new Database(full, { readonly: true, fileMustExist: true, timeout: 5000 });
  } catch (err) {
    throw unreadable(full, `${(err as Error).message} (check the path and its permissions)`, err);
  }
  const current = SQLITE_MIGRATIONS.length;
  // Raw events have been read the same way since blocks came (later migrations left them alone).
  const oldest = EVENT_BLOCKS_SCHEMA_VERSION;
  try {
    const version = db.pragma('user_version', { simple: true }) as number;
    const tables = db.prepare("SELECT count(*) FROM sqlite_master WHERE name = 'event_blocks'").pluck().get() as number;
    if (version === 0) throw unreadable(full, 'it is not a privacy-log store (no schema version)');
    if (version < oldest)
      throw unreadable(
        full,
        `it holds schema version ${version}, older than this privacy-log reads (${oldest}). Open it once with the current privacy-log (start the app or \`privacy-log collect\` with it as the sqlite store), which migrates it in place; this command never writes to a store.`,
      );
    if (version > current)
      throw unreadable(
        full,
        `it holds schema version ${version}, newer than this privacy-log knows (${current}): upgrade privacy-log`,
      );
    if (tables !== 1) throw unreadable(full, 'it is not a privacy-log store (no event_blocks table)');
  } catch (err) {
    db.close();
    if (err instanceof PrivacyLogError) throw err;
    const msg = (err as Error).message;
    const why = /not a database|malformed/i.test(msg) ? `${msg} (it is not a valid SQLite database)` : msg;
    throw unreadable(full, why, err);
  }
  return db;
}

/** A block's time range clipped to the asked range ([lo, hi), hi exclusive) and its event count. */
export interface BlockSpan {
  lo: number;
  hi: number;
  n: number;
}

/**
 * Cuts the time covered by some blocks (sorted by `lo`) into disjoint
 * windows [from, to), oldest first, of about `chunkEvents` events each (a
 * window is cut only where a block starts). Every block's span lies in the
 * union of the windows. Time no block covers is left out, except with
 * `acrossGaps` (when `spans` are all the blocks of the range, a gap holds no
 * events), where windows span gaps until they hold `chunkEvents`: fewer
 * windows, so fewer queries, when blocks do not overlap in time.
 *
 * @example
 * const spans = [{ lo: 0, hi: 10, n: 5 }, { lo: 20, hi: 30, n: 5 }];
 * [...exportWindows(spans, 100)]; // [[0, 10], [20, 30]]
 * [...exportWindows(spans, 100, { acrossGaps: true })]; // [[0, 30]]
 */
export function* exportWindows(
  spans: Iterable<BlockSpan>,
  chunkEvents: number,
  options: { acrossGaps?: boolean } = {},
): Generator<[number, number]> {
  const acrossGaps = options.acrossGaps === true;
  let start: number | undefined;
  let end = 0;
  let count = 0;
  for (const b of spans) {
    if (start === undefined || (b.lo >= end && !(acrossGaps && count < chunkEvents))) {
      if (start !== undefined) yield [start, end];
      start = b.lo;
      end = b.hi;
      count = b.n;
      continue;
    }
    if (count >= chunkEvents && b.lo > start) {
      yield [start, b.lo];
      start = b.lo;
      count = 0;
    }
    if (b.hi > end) end = b.hi;
    count += b.n;
  }
  if (start !== undefined) yield [start, end];
}

/** Where the events go: text chunks, and (optionally) a wait for the reader to catch up. */
export interface EventsOutput {
  stdout: (text: string) => void;
  drain?: () => Promise<void>;
}

/**
 * Runs the events command: writes the events to `io.stdout` a window at a
 * time and resolves to how many were written.
 *
 * @example
 * await runEvents(['--sqlite', './data/privacy-log.db', '--session', 's1'], process.env, {
 *   stdout: (t) => process.stdout.write(t),
 * });
 */
export async function runEvents(
  args: string[],
  env: NodeJS.ProcessEnv,
  io: EventsOutput,
  options: { chunkEvents?: number } = {},
): Promise<number> {
  const asked = parseEventsArgs(args);
  const db = openStoreReadOnly(storeFile(asked, env));
  const chunkEvents = options.chunkEvents ?? DEFAULT_CHUNK_EVENTS;
  const { from, to, session } = asked;
  const json = asked.format === 'json';
  let written = 0;
  try {
    // One snapshot for the plan and every window: a writer's later commits are not seen.
    db.exec('BEGIN');
    // A session's blocks name it in their session list (JSON): the others need not be decoded.
    const spans = (
      session === undefined
        ? db.prepare('SELECT ts_min, ts_max, n FROM event_blocks WHERE ts_max >= ? AND ts_min < ? ORDER BY ts_min')
        : db.prepare(
            'SELECT ts_min, ts_max, n FROM event_blocks WHERE ts_max >= ? AND ts_min < ? AND instr(sessions, ?) > 0 ORDER BY ts_min',
          )
    )
      .raw()
      .all(...(session === undefined ? [from, to] : [from, to, JSON.stringify(session)])) as [number, number, number][];
    const clipped = spans.map(([tsMin, tsMax, n]) => ({
      lo: Math.max(tsMin, from),
      hi: Math.min(tsMax + 1, to),
      n,
    }));
    if (json) io.stdout('[');
    // Without --session the spans are every block of the range: a window may span time no block covers.
    for (const [lo, hi] of exportWindows(clipped, chunkEvents, { acrossGaps: session === undefined })) {
      const events = storedEvents(db, lo, hi, session);
      if (events.length === 0) continue;
      let text = '';
      for (const e of events) {
        text += json ? `${written === 0 ? '\n' : ',\n'}${JSON.stringify(e)}` : `${JSON.stringify(e)}\n`;
        written++;
      }
      io.stdout(text);
      await io.drain?.();
    }
    if (json) io.stdout(written === 0 ? ']\n' : '\n]\n');
  } finally {
    if (db.inTransaction) db.exec('ROLLBACK');
    db.close();
  }
  return written;
}
