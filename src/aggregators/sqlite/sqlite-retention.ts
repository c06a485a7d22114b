/**
 * The SQLite store's retention: raw events (their blocks and ids) and
 * `session_day` after `retentionDays`, rollups and sketches after
 * `rollupRetentionMonths`, salts after their day plus one. It runs off the
 * write path in short statements with a turn of the event loop between them.
 */
import type Database from 'better-sqlite3';
import { DAY_MS } from '../../stats/event-columns.js';
import { type Retention, retentionCutoffs, yieldTurn } from '../../stats/store-support.js';
import { type BlockStore, SessionSums } from './block-store.js';
import { bundleCount } from './sketch-bundle.js';
import type { SqliteBackend } from './sqlite-backend.js';

/**
 * session_day rows deleted per statement, a turn of the loop between them:
 * ≈ 1 ms (10 000 a statement, as PostgreSQL does, held the loop ≈ 20 ms).
 */
const RETENTION_SLICE = 500;

/** What one run deleted. */
export interface RetentionResult {
  events: number;
  rollups: number;
  sketches: number;
  salts: number;
}

/** What retention needs of the store. */
export interface RetentionDeps {
  db: Database.Database;
  blocks: BlockStore;
  backend: SqliteBackend;
  retention: Retention;
  /** Fold the journal inside the caller's transaction. */
  foldInside: () => void;
  /** Fold everything, in short transactions first (see sqliteAggregator's scheduled fold). */
  foldSoon: () => Promise<void>;
  /** A fold inside took every journal row: this process's in-memory sums are stale. */
  foldedAll: () => void;
  applySessions: (sums: SessionSums) => void;
  isClosed: () => boolean;
}

/**
 * Retention of one SQLite connection.
 *
 * @example
 * const retention = sqliteRetention({ db, blocks, backend, retention, foldInside, foldSoon, foldedAll, applySessions, isClosed });
 * await retention.run(Date.now());
 */
export function sqliteRetention(deps: RetentionDeps) {
  const { db, blocks, backend, isClosed } = deps;
  const hasPending = db.prepare('SELECT EXISTS (SELECT 1 FROM pending)').pluck();
  const expireSessionDays = db.prepare(
    `DELETE FROM session_day WHERE (session_id, day, site, bot) IN
     (SELECT session_id, day, site, bot FROM session_day WHERE day < ? LIMIT ${RETENTION_SLICE})`,
  );
  const clearSessionDay = db.prepare('DELETE FROM session_day WHERE day = ?');
  const expireDays = db.prepare('DELETE FROM rollup_day WHERE day < ?');
  const expireSlots = db.prepare('DELETE FROM rollup_slot WHERE slot < ?');
  const expireSketches = db.prepare('DELETE FROM sketches WHERE day < ?');
  // A bundle's header says how many sketches it holds; the count reports those.
  const expiredBundleHeads = db.prepare('SELECT substr(bundle, 1, 5) FROM sketch_days WHERE day < ?').pluck();
  const deleteBundles = db.prepare('DELETE FROM sketch_days WHERE day < ?');
  /** Delete the bundles of days before `day`; returns the sketches they held. */
  const expireBundles = db.transaction((day: string): number => {
    let n = 0;
    for (const head of expiredBundleHeads.all(day) as Uint8Array[]) n += bundleCount(head);
    deleteBundles.run(day);
    return n;
  });
  const deleteSalts = db.prepare('DELETE FROM salts WHERE day < ?');

  /**
   * One step: fold first when the journal is not empty (a replayed old event
   * may sit in a block not folded yet; its increments must count before the
   * block goes), then delete a few expired blocks.
   */
  const expireTx = db.transaction((before: number) => {
    const folded = hasPending.get() === 1;
    if (folded) deps.foldInside();
    return { ...blocks.expireSome(before), folded };
  });

  /**
   * The last step: blocks across the cutoff keep only later events, and the
   * day the cutoff falls in has its sessions summed again from the events
   * kept (after a fold, so no journal row adds them a second time).
   */
  const cutTx = db.transaction((before: number) => {
    deps.foldInside();
    const removed = blocks.cutAt(before);
    const cutoffDay = Math.floor(before / DAY_MS);
    clearSessionDay.run(cutoffDay);
    const sums = new SessionSums();
    blocks.sessionsInRange(cutoffDay * DAY_MS, (cutoffDay + 1) * DAY_MS, sums);
    deps.applySessions(sums);
    return removed;
  });

  return {
    /** Delete what has expired as of `now`; stops early (with what it did) when the store closes. */
    async run(now: number): Promise<RetentionResult> {
      const c = retentionCutoffs(now, deps.retention);
      const out: RetentionResult = { events: 0, rollups: 0, sketches: 0, salts: 0 };
      await deps.foldSoon();
      if (isClosed()) return out;
      for (let i = 0; i < 100_000 && !isClosed(); i++) {
        const step = expireTx.immediate(c.eventsBefore);
        if (step.folded) deps.foldedAll();
        out.events += step.events;
        if (!step.more) break;
        await yieldTurn();
      }
      if (isClosed()) return out;
      const cutoffDay = Math.floor(c.eventsBefore / DAY_MS);
      for (let i = 0; i < 100_000 && !isClosed(); i++) {
        if (expireSessionDays.run(cutoffDay).changes < RETENTION_SLICE) break;
        await yieldTurn();
      }
      if (isClosed()) return out;
      out.events += cutTx.immediate(c.eventsBefore);
      deps.foldedAll();
      // Rollups expire a day at a time in steady state: one statement each is short.
      out.rollups += expireDays.run(c.rollupDayBefore).changes;
      out.rollups += expireSlots.run(c.slotBefore).changes;
      out.sketches += expireSketches.run(c.rollupDayBefore).changes;
      out.sketches += expireBundles.immediate(c.rollupDayBefore);
      backend.clear();
      out.salts += deleteSalts.run(c.saltDayBefore).changes;
      return out;
    },
  };
}
