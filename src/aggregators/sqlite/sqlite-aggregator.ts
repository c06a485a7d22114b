/**
 * sqliteAggregator: the embedded default store (better-sqlite3, WAL).
 *
 * - Raw events: in blocks of up to 500 (block-store.ts), one block per write
 *   transaction; `INSERT OR IGNORE` of their ids keeps writes idempotent.
 * - Rollups (daily per property, 15-minute totals) count the events that were
 *   new, folded from a write journal off the write path, so they are exact and
 *   outlive the raw events (retentionDays) for rollupRetentionMonths.
 * - Sketches are merged per (day, site, dimension, value), max per register.
 * - Retention runs on a timer, off the write path, in small chunks.
 */
import { randomUUID } from 'node:crypto';
import { ERROR_CODES, invalidOption, isPrivacyLogError, PrivacyLogError } from '../../errors.js';
import type { PrivacyEvent } from '../../event.js';
import { createStatsEngine } from '../../stats/engine.js';
import type { EventRow } from '../../stats/event-columns.js';
import type { StatsQuery, StatsResult } from '../../stats/query.js';
import { RollupAccumulator } from '../../stats/rollup.js';
import { checkBatch, saltKeepFrom, yieldTurn } from '../../stats/store-support.js';
import { isDay } from '../../stats/time-range.js';
import type { Batch, StatsAggregator } from '../aggregator.js';
import { addBlockRollups } from './block-rollups.js';
import { blockStore, SessionSums } from './block-store.js';
import { type EncodedBlock, encodeBlock, type QueryBlock } from './event-block.js';
import { SLICE_MS, sketchDeltas } from './sketch-deltas.js';
import { sqliteBackend } from './sqlite-backend.js';
import { openSqliteStore, type SqliteAggregatorOptions } from './sqlite-open.js';
import { sqliteRetention } from './sqlite-retention.js';
import { walCheckpointer } from './wal-checkpointer.js';
import {
  decodeJournal,
  decodeLegacyJournal,
  encodeJournalSketches,
  FoldAccumulator,
  isLegacyJournal,
  type JournalSketches,
  journalBlock,
  journalPayload,
  journalPrefix,
  NO_JOURNAL_SKETCHES,
  SketchMerge,
  sumsForFold,
} from './write-journal.js';

export {
  DEFAULT_BUSY_TIMEOUT_MS,
  DEFAULT_SQLITE_FILE,
  DEFAULT_SQLITE_NAME,
  type SqliteAggregatorOptions,
} from './sqlite-open.js';

export interface SqliteAggregator extends StatsAggregator {
  /** The resolved database file. */
  readonly file: string;
  forget(sessionId: string): Promise<number>;
  /**
   * The raw events stored with a time in [from, to) (epoch ms; all by
   * default), exactly as they were written — what the store holds, for an
   * operator to inspect or export. Raw events are kept in encoded blocks, so
   * this (not SQL) is how to read them. The whole range is held in memory:
   * for large exports, `privacy-log events` streams them.
   *
   * @example
   * const today = await store.readEvents({ from: Date.parse('2026-03-10'), to: Date.parse('2026-03-11') });
   */
  readEvents(range?: { from?: number; to?: number }): Promise<PrivacyEvent[]>;
  salt(day: string, candidate: string): Promise<string>;
  query(q: StatsQuery): Promise<StatsResult>;
  /** Delete what retention says has expired, as of `now`. Runs by itself every retentionIntervalMs. */
  runRetention(now?: number): Promise<{ events: number; rollups: number; sketches: number; salts: number }>;
  close(): Promise<void>;
}

/**
 * Events per write transaction, and so per block (a pipeline batch is 500 by
 * default: one block). A slice is encoded in one turn of the event loop and
 * stored in the next, so a request waits behind at most one of the two
 * (≈ 1 ms each on the development VM). Slices of 250, encoded and stored in
 * one turn, cost about the same CPU with twice the blocks, commits and
 * journal rows.
 */
const WRITE_SLICE_ROWS = 500;
/** Journal rows whose blocks' sessions one step sums before a scheduled fold (≈ 4 × 500 events). */
const SESSION_SLICE_JOURNAL_ROWS = 4;

/** One slice of a batch, encoded outside its transaction (in the turn before it). */
interface EncodedSlice {
  rows: readonly EventRow[];
  events: readonly PrivacyEvent[];
  /** Undefined for an empty batch (it journals its sketches only). */
  block: EncodedBlock | undefined;
  /** The batch's sketch updates on its last slice, none on the others. */
  journal: JournalSketches;
}

/** Encode rows [from, end) of a checked batch; the last slice carries the batch's sketch updates. */
function encodeSlice(b: ReturnType<typeof checkBatch>, from: number, end: number): EncodedSlice {
  const whole = from === 0 && end === b.rows.length;
  const rows = whole ? b.rows : b.rows.slice(from, end);
  const events = whole ? b.events : b.events.slice(from, end);
  return {
    rows,
    events,
    block: rows.length === 0 ? undefined : encodeBlock(rows, events),
    journal: end === b.rows.length ? encodeJournalSketches(b.sketches) : NO_JOURNAL_SKETCHES,
  };
}

/** What one write transaction did. */
interface WriteSlice {
  /** The block of the events actually inserted (replayed ids are left out), decoded for counting. */
  stored: QueryBlock | undefined;
  /** The journal row written (0: none, nothing to journal). */
  journalId: number;
}

/**
 * Fold the write journal into rollups and sketches after this many batches,
 * off the write path (reads fold first, so results never lag). A fold costs
 * about the same for 20 batches as for 100 — one upsert per distinct rollup
 * key, session day and sketch key — so folding rarely is cheaper: 100
 * instead of 20 took ≈ 1 µs off every event, 200 instead of 100 another
 * 5–8 % of the pipeline's whole cost (fourth session, pinned to one core,
 * close included), for a last fold transaction of ≈ 4 instead of ≈ 2.5 ms
 * (it holds only the rollups: the sketch deltas and sessions drain before it
 * in ≈ 1 ms steps).
 */
export const FOLD_EVERY_BATCHES = 200;
/** Compact sketch deltas into their bundles after this many folds (≈ 600 batches) or delta rows, off the write path. */
const COMPACT_EVERY_FOLDS = 3;
const COMPACT_DELTA_ROWS = 5000;

/**
 * @example
 * const store = sqliteAggregator({ file: './data/privacy-log.db', retentionDays: 30 });
 * const pipeline = createPipeline({ aggregators: [store] });
 * const top = await store.query({ type: 'breakdown', period: '30d', metrics: ['visitors'], property: 'page' });
 */
export function sqliteAggregator(options: SqliteAggregatorOptions = {}): SqliteAggregator {
  const { db, file, name, busyTimeoutMs, retention, inMemory } = openSqliteStore(options);

  const upsertDay = db.prepare(
    `INSERT INTO rollup_day (dimension, day, site, value, bot, events, pageviews, downloads) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (dimension, day, site, value, bot) DO UPDATE SET
       events = events + excluded.events, pageviews = pageviews + excluded.pageviews, downloads = downloads + excluded.downloads`,
  );
  const upsertSlot = db.prepare(
    `INSERT INTO rollup_slot (slot, site, bot, events, pageviews, downloads) VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT (slot, site, bot) DO UPDATE SET
       events = events + excluded.events, pageviews = pageviews + excluded.pageviews, downloads = downloads + excluded.downloads`,
  );
  const insertPending = db.prepare('INSERT INTO pending (payload) VALUES (?)');
  // Which journal rows are this writer's, without reading their payloads (a fold from the in-memory sums needs none).
  const pendingRows = db.prepare('SELECT id, substr(payload, 1, ?) = ? AS mine FROM pending WHERE id <= ? ORDER BY id');
  const payloadOf = db.prepare('SELECT payload FROM pending WHERE id = ?').pluck();
  const deletePending = db.prepare('DELETE FROM pending WHERE id <= ?');
  const insertSalt = db.prepare('INSERT OR IGNORE INTO salts (day, salt) VALUES (?, ?)');
  const getSalt = db.prepare('SELECT salt FROM salts WHERE day = ?').pluck();
  const deleteSalts = db.prepare('DELETE FROM salts WHERE day < ?');
  const deleteZeroDays = db.prepare('DELETE FROM rollup_day WHERE events <= 0');
  const deleteZeroSlots = db.prepare('DELETE FROM rollup_slot WHERE events <= 0');
  // Session metrics' table (migration 4): per (session, UTC day, site, bot), summed from the blocks a fold brings.
  const upsertSessionDay = db.prepare(
    `INSERT INTO session_day (session_id, day, site, bot, first_ts, last_ts, pageviews) VALUES (?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (session_id, day, site, bot) DO UPDATE SET first_ts = min(first_ts, excluded.first_ts),
       last_ts = max(last_ts, excluded.last_ts), pageviews = pageviews + excluded.pageviews`,
  );
  // The blocks named by journal rows (after, upTo] whose sessions are not summed yet (0: the row names none;
  // the caller skips those, so each payload's JSON is parsed once, not in the WHERE clause again).
  const unsummedBlocks = db
    .prepare(
      `SELECT payload ->> '$.b' FROM pending WHERE id > ? AND id <= ? AND payload NOT LIKE '{"d":%'
       AND id NOT IN (SELECT id FROM session_folded)`,
    )
    .pluck();
  const markSessionsFolded = db.prepare(
    'INSERT OR IGNORE INTO session_folded (id) SELECT id FROM pending WHERE id > ? AND id <= ?',
  );
  const clearSessionsFolded = db.prepare('DELETE FROM session_folded WHERE id <= ?');
  const pendingIds = db.prepare('SELECT id FROM pending WHERE id <= ? ORDER BY id').pluck();
  const maxPendingId = db.prepare('SELECT max(id) FROM pending').pluck();
  const forgetSessionDays = db.prepare('DELETE FROM session_day WHERE session_id = ?');
  const sessionDaysOf = db.prepare('SELECT DISTINCT day FROM session_day WHERE session_id = ?').pluck();

  const blocks = blockStore(db);
  const applySessions = (sums: SessionSums) => {
    for (const d of sums.values())
      upsertSessionDay.run(d.sessionId, d.day, d.site, d.bot, d.first, d.last, d.pageviews);
  };
  /** Sum into session_day the sessions of the blocks named by journal rows (after, upTo], except those summed already. */
  const foldSessions = (after: number, upTo: number) => {
    const sums = new SessionSums();
    const named = (unsummedBlocks.all(after, upTo) as unknown[]).map(journalBlock).filter((b) => b > 0);
    blocks.sumSessions(named, sums);
    applySessions(sums);
  };
  const applyRollups = (acc: RollupAccumulator) => {
    const inc = acc.result();
    for (const d of inc.days)
      upsertDay.run(d.dimension, d.day, d.site, d.value, d.bot ? 1 : 0, d.events, d.pageviews, d.downloads);
    for (const x of inc.slots) upsertSlot.run(x.slot, x.site, x.bot ? 1 : 0, x.events, x.pageviews, x.downloads);
  };

  const backend = sqliteBackend(db, blocks);
  // A private in-memory database has no write-ahead log to checkpoint.
  const checkpointer = inMemory ? undefined : walCheckpointer(db, file, busyTimeoutMs);
  /** write() calls still running (close waits for them). */
  const writing = new Set<Promise<void>>();

  const deltas = sketchDeltas(db, backend, () => checkpointer?.committed());
  let batchesSinceCompaction = 0;

  let batchesSinceFold = 0;

  // This connection's committed, unfolded batches, summed in memory; its journal rows start with `prefix`.
  const token = randomUUID();
  const prefix = journalPrefix(token);
  let pendingSums = new FoldAccumulator();
  /**
   * A scheduled fold's share: the sums of this connection's journal rows up
   * to `upTo` (every row in the journal when the fold was scheduled), taken
   * out of pendingSums so that batches written meanwhile go to a fresh one.
   * The fold's final transaction then holds only what was there when it was
   * scheduled, and the drains before it have nothing added under them.
   */
  let frozen: { sums: FoldAccumulator; upTo: number } | undefined;

  /**
   * The write path's transaction for one slice of a batch, encoded in the
   * turn before (`slice`): its block (block-store.ts) and one journal row
   * naming the block, with the batch's sketch updates on its last slice.
   * `stored` is the block of the events actually inserted (replayed ids are
   * left out); `journaled` is false when there was nothing to journal.
   */
  const writeTx = db.transaction((slice: EncodedSlice): WriteSlice => {
    const inserted = blocks.insert(slice.rows, slice.events, slice.block);
    if (inserted.block === 0 && slice.journal.keys.length === 0) return { stored: undefined, journalId: 0 };
    const id = insertPending.run(journalPayload(token, inserted.block, slice.journal)).lastInsertRowid;
    return { stored: inserted.stored, journalId: Number(id) };
  });

  /**
   * Before a scheduled fold: sum the sessions of the blocks named by journal
   * rows `ids[from]`.. into session_day and note those journal rows, until
   * SLICE_MS has passed; returns where to go on. Each journal row's sessions
   * are added in the transaction that notes it, and the fold skips noted
   * rows, so they are counted once; the fold's own transaction keeps only
   * what is left.
   */
  const sessionsTx = db.transaction((ids: readonly number[], from: number): number => {
    const started = performance.now();
    let i = from;
    while (i < ids.length) {
      const after = i === 0 ? 0 : ids[i - 1]!;
      const upTo = ids[Math.min(ids.length, i + SESSION_SLICE_JOURNAL_ROWS) - 1]!;
      foldSessions(after, upTo);
      markSessionsFolded.run(after, upTo);
      i = Math.min(ids.length, i + SESSION_SLICE_JOURNAL_ROWS);
      if (performance.now() - started >= SLICE_MS) break;
    }
    return i;
  });

  /**
   * Fold the journal (every row, or the rows up to `upTo`) into rollups,
   * sketches and session_day, each key applied once. This connection's rows
   * are taken from the in-memory sums when all of them are still there
   * (sumsForFold); rows written by another connection (or ours, when another
   * connection folded some of them) are decoded: their rollup increments are
   * recomputed from the blocks they name, their sketch updates merged.
   * Sessions always come from the blocks. Sketch merges are idempotent (max),
   * so merging decoded rows into the in-memory sketches is safe even if this
   * transaction fails.
   */
  const foldTx = db.transaction((upTo?: number) => {
    const pend = pendingRows.all(prefix.length, prefix, upTo ?? Number.MAX_SAFE_INTEGER) as Array<{
      id: number;
      mine: 0 | 1;
    }>;
    if (pend.length === 0) return 0;
    const sums = sumsForFold(pend, upTo, frozen, pendingSums);
    const useSums = sums !== undefined;
    const sketches = sums?.[0]?.sketches ?? new SketchMerge();
    let foreign: RollupAccumulator | undefined;
    for (const p of pend) {
      if (useSums && p.mine === 1) continue;
      const payload = payloadOf.get(p.id) as string;
      if (isLegacyJournal(payload)) {
        const legacy = decodeLegacyJournal(payload, sketches);
        for (const d of legacy.d) upsertDay.run(...d);
        for (const x of legacy.s) upsertSlot.run(...x);
        continue;
      }
      const { block } = decodeJournal(payload, sketches);
      if (block === 0) continue;
      const q = blocks.countsOf(block);
      if (q === undefined) continue;
      foreign ??= new RollupAccumulator();
      addBlockRollups(foreign, q);
    }
    if (foreign !== undefined) applyRollups(foreign);
    for (const a of sums ?? []) {
      applyRollups(a.rollups);
      if (a.sketches !== sketches) for (const m of a.sketches.entries) deltas.append(m);
    }
    for (const m of sketches.entries) deltas.append(m);
    const lastId = pend[pend.length - 1]!.id;
    foldSessions(0, lastId);
    clearSessionsFolded.run(lastId);
    deletePending.run(lastId);
    if (!useSums) sketches.release();
    return pend.length;
  });
  /** Forget every in-memory sum (every row of ours is folded now, by us or by another connection). */
  const clearSums = () => {
    pendingSums.clear();
    frozen?.sums.clear();
    frozen = undefined;
  };
  /** Fold the whole journal, then forget the in-memory sums. */
  const fold = () => {
    foldTx.immediate();
    clearSums();
    checkpointer?.committed();
  };
  /** A scheduled fold's last step: the journal rows up to `frozen.upTo`, then forget the frozen sums. */
  const foldFrozen = () => {
    if (frozen === undefined) return;
    foldTx.immediate(frozen.upTo);
    frozen.sums.clear();
    frozen = undefined;
    checkpointer?.committed();
  };

  /**
   * Take a session's events out of their blocks and their increments out of
   * the rollups, in one transaction, after a fold (so session_day names every
   * day the session has events on, and no journal row names them unfolded).
   */
  const forgetTx = db.transaction((sessionId: string) => {
    foldTx();
    const gone = new RollupAccumulator();
    const n = blocks.forget(sessionId, sessionDaysOf.all(sessionId) as number[], gone);
    applyRollups(gone);
    forgetSessionDays.run(sessionId);
    deleteZeroDays.run();
    deleteZeroSlots.run();
    return n;
  });

  const saltTx = db.transaction((day: string, candidate: string) => {
    deleteSalts.run(saltKeepFrom(day));
    insertSalt.run(day, candidate);
    return getSalt.get(day) as string;
  });

  const engine = createStatsEngine(backend);
  let closed = false;
  let retentionRunning: Promise<unknown> | undefined;

  const assertOpen = (op: string) => {
    if (closed) {
      throw new PrivacyLogError(ERROR_CODES.CLOSED, `${name}: ${op}() after close(); create a new aggregator.`, {
        retryable: false,
      });
    }
  };

  const failed = (op: string, err: unknown) =>
    isPrivacyLogError(err)
      ? err
      : new PrivacyLogError(
          ERROR_CODES.AGGREGATOR_FAILED,
          `${name}: ${op} failed: ${err instanceof Error ? err.message : String(err)} — it will be retried; check disk space and permissions of ${file}.`,
          { cause: err, retryable: true },
        );

  let compacting: Promise<void> | undefined;
  let folding: Promise<void> | undefined;
  const afterFold = () => {
    batchesSinceCompaction++;
    if (batchesSinceCompaction >= COMPACT_EVERY_FOLDS || deltas.deltaRows >= COMPACT_DELTA_ROWS) scheduleCompaction();
  };
  /** Fold now (reads call this first, so results always include every stored batch). */
  const foldNow = () => {
    batchesSinceFold = 0;
    fold();
    afterFold();
  };
  /**
   * Sum the sessions of the journal rows up to `upTo` into session_day in
   * short transactions, a turn of the loop between them (stops if a fold by
   * a read took the rows meanwhile: the rows it finds are gone).
   */
  async function drainSessions(upTo: number): Promise<void> {
    const ids = pendingIds.all(upTo) as number[];
    for (let i = 0; i < ids.length && !closed && frozen !== undefined; ) {
      i = sessionsTx.immediate(ids, i);
      checkpointer?.committed();
      await yieldTurn();
    }
  }
  /**
   * Every FOLD_EVERY_BATCHES batches: freeze the sums of the journal as it is
   * now (later batches go to a fresh pendingSums), append their sketch deltas
   * and sum their sessions in short transactions, then fold those rows — a
   * transaction holding only their rollups and whatever the drains left.
   */
  const scheduleFold = () => {
    if (folding || closed) return;
    if (frozen === undefined) {
      const upTo = maxPendingId.get() as number | null;
      if (upTo === null) return;
      frozen = { sums: pendingSums, upTo };
      pendingSums = new FoldAccumulator();
    }
    batchesSinceFold = 0;
    const { sums, upTo } = frozen;
    folding = yieldTurn()
      // The frozen sketch deltas first, in short transactions (a fold by a read in between empties the list).
      .then(() => deltas.drain(sums.sketches.entries, () => closed))
      .then(() => drainSessions(upTo))
      .then(() => {
        if (closed || frozen === undefined) return;
        foldFrozen();
        afterFold();
      })
      .catch(() => {
        // Left in the journal: the next fold (or read) retries it.
      })
      .finally(() => {
        folding = undefined;
      });
  };
  /**
   * Fold everything, in short steps first: a scheduled fold of the journal as
   * it is (or the one already running), then at once what came meanwhile. A
   * read or a retention run waits for this instead of folding a whole
   * backlog of batches in one transaction.
   */
  const foldSoon = async () => {
    scheduleFold();
    await folding;
    if (!closed) foldNow();
  };
  const scheduleCompaction = () => {
    if (compacting || closed) return;
    compacting = yieldTurn()
      .then(() => {
        batchesSinceCompaction = 0;
        // close() waits for this before closing the database, so it runs to the end.
        return deltas.compact();
      })
      .finally(() => {
        compacting = undefined;
      });
  };

  const retentionRun = sqliteRetention({
    db,
    blocks,
    backend,
    retention,
    foldInside: () => foldTx(),
    foldSoon,
    // A fold inside took every journal row (as forget's does): the in-memory sums are stale.
    foldedAll: clearSums,
    applySessions,
    isClosed: () => closed,
  });
  async function runRetention(now = Date.now()) {
    assertOpen('runRetention');
    return retentionRun.run(now);
  }

  const tick = () => {
    if (closed || retentionRunning) return;
    retentionRunning = runRetention()
      .catch(() => {
        // Retention is retried at the next tick; a failure here never affects writes.
      })
      .finally(() => {
        retentionRunning = undefined;
      });
  };
  const timer = setInterval(tick, retention.retentionIntervalMs);
  timer.unref();
  const first = setTimeout(tick, 1000);
  first.unref();

  return {
    name,
    file,
    describe: () => ({
      kind: 'sqlite',
      location: file,
      retentionDays: retention.retentionDays,
      rollupRetentionMonths: retention.rollupRetentionMonths,
    }),
    async write(batch: Batch): Promise<void> {
      assertOpen('write');
      const b = checkBatch(name, batch, { ordered: false });
      // A large batch is written as several short transactions with a turn of the event loop between
      // them. If one fails, the batch is rejected and retried whole: the slices already committed are
      // exact on their own (each journals what it inserted) and their ids are ignored by the retry.
      // Each slice is encoded in one turn and stored in the next, so neither holds the event loop long;
      // the first is encoded a turn after this check (a pipeline hands the batch over in the turn that
      // built its sketch updates).
      const done = (async () => {
        let from = 0;
        do {
          await yieldTurn();
          const end = Math.min(b.rows.length, from + WRITE_SLICE_ROWS);
          let slice: EncodedSlice;
          try {
            slice = encodeSlice(b, from, end);
          } catch (err) {
            throw failed('write', err);
          }
          await yieldTurn();
          let written: WriteSlice;
          try {
            written = writeTx.immediate(slice);
          } catch (err) {
            throw failed('write', err);
          }
          checkpointer?.committed();
          if (written.journalId !== 0) pendingSums.add(written.stored, slice.journal, written.journalId);
          from = end;
        } while (from < b.rows.length);
      })();
      writing.add(done);
      try {
        await done;
      } finally {
        writing.delete(done);
      }
      batchesSinceFold++;
      if (batchesSinceFold >= FOLD_EVERY_BATCHES) scheduleFold();
    },
    async forget(sessionId: string): Promise<number> {
      assertOpen('forget');
      if (typeof sessionId !== 'string' || sessionId.length === 0)
        throw invalidOption(`${name}.forget()`, 'sessionId', 'a non-empty string');
      const done = (async () => {
        try {
          const n = forgetTx.immediate(sessionId);
          clearSums();
          return n;
        } catch (err) {
          throw failed('forget', err);
        }
      })();
      // close() waits for it like for a write.
      const settled = done.then(
        () => undefined,
        () => undefined,
      );
      writing.add(settled);
      try {
        return await done;
      } finally {
        writing.delete(settled);
      }
    },
    async readEvents(range: { from?: number; to?: number } = {}): Promise<PrivacyEvent[]> {
      assertOpen('readEvents');
      const from = range.from ?? Number.NEGATIVE_INFINITY;
      const to = range.to ?? Number.POSITIVE_INFINITY;
      if (Number.isNaN(from) || Number.isNaN(to) || typeof from !== 'number' || typeof to !== 'number')
        throw invalidOption(`${name}.readEvents()`, 'range', '{ from?, to? } in epoch milliseconds');
      try {
        return blocks.events(from, to);
      } catch (err) {
        throw failed('readEvents', err);
      }
    },
    async salt(day: string, candidate: string): Promise<string> {
      assertOpen('salt');
      if (!isDay(day)) throw invalidOption(`${name}.salt()`, 'day', 'a day YYYY-MM-DD');
      if (typeof candidate !== 'string' || candidate.length === 0)
        throw invalidOption(`${name}.salt()`, 'candidate', 'a non-empty string');
      try {
        return saltTx(day, candidate);
      } catch (err) {
        throw failed('salt', err);
      }
    },
    async query(q: StatsQuery): Promise<StatsResult> {
      assertOpen('query');
      try {
        await foldSoon();
      } catch (err) {
        throw failed('query', err);
      }
      // Closed while the fold's steps yielded: a coded CLOSED error rather than a closed connection's.
      assertOpen('query');
      return engine.query(q);
    },
    runRetention,
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      clearInterval(timer);
      clearTimeout(first);
      // Writes in progress finish their slices (the database stays open until they have).
      await Promise.allSettled([...writing]);
      await retentionRunning;
      await folding;
      try {
        fold();
      } catch {
        // The journal stays in the file; the next open folds it before any read.
      }
      await compacting;
      try {
        deltas.compactNow();
      } catch {
        // Uncompacted deltas stay valid: readers merge every row of a key.
      }
      await checkpointer?.close();
      try {
        // Lets SQLite's planner learn the data's shape (cheap; recommended before closing).
        db.pragma('optimize');
      } catch {
        // Only a planner hint.
      }
      db.close();
    },
  };
}
